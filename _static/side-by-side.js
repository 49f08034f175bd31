/*
 * TensorFlow and PyTorch, side by side: the framework switch.
 *
 * _ext/side_by_side.py wraps each adjacent (tensorflow, pytorch) pair of code cells in
 * div.fw-pair > div.fw-grid. This script
 *   - sets <html data-fw="both|tensorflow|pytorch"> from localStorage before the page is drawn, so the
 *     choice is remembered across pages (and across open tabs, through the storage event);
 *   - adds, on pages that have pairs, a switch (Both / TensorFlow / PyTorch) to the article header (under
 *     the title on narrow screens) and a tab bar to each pair; side-by-side.css shows the tab bar only when a pair is too narrow for two columns.
 * It only adds elements and attributes: no text is removed, so search, copy buttons and launch buttons are
 * untouched. A page without pairs gets no switch.
 */
(function () {
  "use strict";

  var MODE_KEY = "tfpt-framework";
  var TAB_KEY = "tfpt-framework-tab";
  var MODES = ["both", "tensorflow", "pytorch"];
  var TABS = ["tensorflow", "pytorch"];
  var LABELS = { both: "Both", tensorflow: "TensorFlow", pytorch: "PyTorch" };
  var root = document.documentElement;

  function load(key, allowed, fallback) {
    try {
      var value = window.localStorage.getItem(key);
      return allowed.indexOf(value) >= 0 ? value : fallback;
    } catch (err) {
      return fallback; // storage disabled: the switch still works on this page
    }
  }

  function save(key, value) {
    try {
      window.localStorage.setItem(key, value);
    } catch (err) {
      /* storage disabled */
    }
  }

  function refresh() {
    var mode = root.getAttribute("data-fw");
    var tab = root.getAttribute("data-fw-tab");
    document.querySelectorAll(".fw-switch button").forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.dataset.fw === mode));
    });
    document.querySelectorAll(".fw-tabs button").forEach(function (button) {
      var selected = button.dataset.fw === tab;
      button.setAttribute("aria-selected", String(selected));
      button.tabIndex = selected ? 0 : -1;
    });
  }

  function apply(mode, tab) {
    root.setAttribute("data-fw", mode);
    root.setAttribute("data-fw-tab", tab);
    refresh();
  }

  function setMode(mode) {
    save(MODE_KEY, mode);
    apply(mode, root.getAttribute("data-fw-tab"));
  }

  function setTab(tab) {
    save(TAB_KEY, tab);
    apply(root.getAttribute("data-fw"), tab);
  }

  function makeButton(fw, attrs, onClick) {
    var button = document.createElement("button");
    button.type = "button";
    button.dataset.fw = fw;
    button.textContent = LABELS[fw];
    Object.keys(attrs).forEach(function (name) {
      button.setAttribute(name, attrs[name]);
    });
    button.addEventListener("click", function () {
      onClick(fw);
    });
    return button;
  }

  function addTabs(pair) {
    var bar = document.createElement("div");
    bar.className = "fw-tabs";
    bar.setAttribute("role", "tablist");
    bar.setAttribute("aria-label", "Framework");
    TABS.forEach(function (fw) {
      bar.appendChild(makeButton(fw, { role: "tab", class: "fw-tab" }, setTab));
    });
    bar.addEventListener("keydown", function (event) {
      if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
      var next = root.getAttribute("data-fw-tab") === "tensorflow" ? "pytorch" : "tensorflow";
      setTab(next);
      bar.querySelector('[data-fw="' + next + '"]').focus();
    });
    pair.insertBefore(bar, pair.firstChild);
  }

  function makeSwitch(where) {
    var group = document.createElement("div");
    group.className = "fw-switch fw-switch--" + where;
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "Show the code of");
    group.title = "Show both frameworks, or one side of each side-by-side pair (remembered across pages)";
    MODES.forEach(function (fw) {
      group.appendChild(makeButton(fw, { class: "fw-switch-button" }, setMode));
    });
    return group;
  }

  // Two copies of the switch, kept in step by refresh(): one in the sticky article header (wide screens), one
  // under the chapter title (narrow screens, where the header has no room); side-by-side.css shows one of them.
  function addSwitches() {
    var header = document.querySelector(".article-header-buttons");
    if (header) header.insertBefore(makeSwitch("header"), header.firstChild);
    var title = document.querySelector("article h1");
    var anchor = title;
    if (title && title.nextElementSibling && title.nextElementSibling.classList.contains("last-verified")) {
      anchor = title.nextElementSibling;
    }
    var inline = makeSwitch(header ? "inline" : "inline fw-switch--always");
    if (anchor) {
      anchor.insertAdjacentElement("afterend", inline);
    } else {
      var first = document.querySelector(".fw-pair");
      first.parentNode.insertBefore(inline, first);
    }
  }

  apply(load(MODE_KEY, MODES, "both"), load(TAB_KEY, TABS, "tensorflow"));

  window.addEventListener("storage", function (event) {
    if (event.key === MODE_KEY || event.key === TAB_KEY) {
      apply(load(MODE_KEY, MODES, "both"), load(TAB_KEY, TABS, "tensorflow"));
    }
  });

  function init() {
    var pairs = document.querySelectorAll(".fw-pair");
    if (!pairs.length) return;
    pairs.forEach(addTabs);
    addSwitches();
    refresh();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
