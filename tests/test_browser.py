"""The built book as readers get it (``make test-browser``, which builds the book first).

Static checks of ``_build/html`` (always run):
    every page of ``_toc.yml`` was built; each chapter page shows outputs and figures, offers its ``.ipynb`` for
    download, has one Colab link that points at its committed notebook on the repository and branch of
    ``_config.yml``, wraps its paired cells, and carries the "last verified" line its notebook records; every
    internal link, image, script and anchor resolves.

In headless Chromium (Debian's package, driven by Playwright; skipped with a message when either is missing):
    the pages are served over a local HTTP server and every request outside it is aborted (MathJax and fonts
    from CDNs are unreachable offline); every page shows its outputs with no script error and every image loads;
    the framework switch (Both / TensorFlow / PyTorch) hides and shows the right cells, lays pairs out in two
    columns on a wide screen and as tabs on a narrow one, and persists across pages; search finds a chapter; copy
    buttons copy; figures sit on white in dark mode. Screenshots go to ``_build/screenshots/`` (see its README.txt).

``BOOK_HTML=/path/to/html`` checks another build (used to show that a broken switch or link fails these tests).
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest
from _book import (
    ROOT,
    SCREENSHOTS,
    cell_source,
    colab_url,
    read_notebook,
    toc_chapters,
    toc_files,
)

bs4 = pytest.importorskip("bs4")

pytestmark = pytest.mark.browser

HTML = Path(os.environ.get("BOOK_HTML") or ROOT / "_build" / "html")
PAGES = toc_files()
CHAPTERS = toc_chapters()
WIDE = {"width": 1400, "height": 900}
NARROW = {"width": 420, "height": 860}
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _html_path(page: str) -> Path:
    return HTML / f"{page}.html"


@functools.cache
def _soup(path: Path):
    return bs4.BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def _tags(cell: dict) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def expected_pairs(notebook: dict) -> int:
    """Pairs the page must show: a ``tensorflow`` code cell directly followed by a ``pytorch`` one among the cells
    that appear on the page (the same rule as _ext/side_by_side.py, applied to the notebook)."""
    shown = []
    for cell in notebook["cells"]:
        tags = _tags(cell)
        if "remove-cell" in tags or (cell["cell_type"] == "code" and {"remove-input", "remove-output"} <= tags):
            continue
        if cell["cell_type"] != "code" and not cell_source(cell).strip():
            continue
        shown.append(cell)

    def framework(cell: dict) -> str | None:
        tags = _tags(cell) & {"tensorflow", "pytorch"}
        return tags.pop() if cell["cell_type"] == "code" and len(tags) == 1 else None

    count, index = 0, 0
    while index < len(shown) - 1:
        if framework(shown[index]) == "tensorflow" and framework(shown[index + 1]) == "pytorch":
            count += 1
            index += 2
        else:
            index += 1
    return count


def _image_outputs(notebook: dict) -> int:
    count = 0
    for cell in notebook["cells"]:
        tags = _tags(cell)
        if cell["cell_type"] != "code" or tags & {"remove-cell", "remove-output"}:
            continue
        count += sum(1 for out in cell.get("outputs", []) if "image/png" in out.get("data", {}))
    return count


# --- static checks of the built HTML -------------------------------------------------------------------------------


def test_every_toc_page_was_built():
    missing = [page for page in PAGES if not _html_path(page).is_file()]
    assert not missing, f"not built (run `make book`): {missing} in {HTML}"
    assert CHAPTERS, "no chapter notebooks in _toc.yml"


@pytest.mark.parametrize("page", CHAPTERS)
def test_chapter_page_shows_outputs_and_figures(page):
    soup = _soup(_html_path(page))
    assert soup.select("div.cell_output"), f"{page}: no cell outputs on the page"
    images = soup.select("div.cell_output img")
    assert len(images) >= _image_outputs(read_notebook(ROOT / f"{page}.ipynb")), f"{page}: figures missing"
    title = soup.select_one("article h1")
    assert title and re.match(r"\d+(\.\d+)*\.\s", title.get_text(" ", strip=True)), "chapters are numbered"


@pytest.mark.parametrize("page", CHAPTERS)
def test_colab_link_points_at_the_committed_notebook(page):
    links = [a["href"] for a in _soup(_html_path(page)).select("a[href]") if "colab.research.google.com" in a["href"]]
    assert links == [colab_url(page)], f"{page}: Colab links {links}, expected [{colab_url(page)}]"
    notebook = ROOT / f"{page}.ipynb"
    assert notebook.is_file()
    if shutil.which("git") and (ROOT / ".git").exists():
        tracked = subprocess.run(
            ["git", "ls-files", "--error-unmatch", f"{page}.ipynb"], cwd=ROOT, capture_output=True, text=True
        )
        assert tracked.returncode == 0, f"{page}.ipynb is not committed: Colab would open a missing file"


@pytest.mark.parametrize("page", CHAPTERS)
def test_download_button_offers_the_notebook(page):
    soup = _soup(_html_path(page))
    button = soup.select_one("a.btn-download-source-button")
    assert button is not None, f"{page}: no download button"
    target = (_html_path(page).parent / button["href"]).resolve()
    assert target.suffix == ".ipynb" and target.is_file(), button["href"]
    downloaded = json.loads(target.read_text(encoding="utf-8"))
    committed = read_notebook(ROOT / f"{page}.ipynb")
    assert [cell_source(c) for c in downloaded["cells"]] == [cell_source(c) for c in committed["cells"]]


@pytest.mark.parametrize("page", CHAPTERS)
def test_paired_cells_are_wrapped(page):
    soup = _soup(_html_path(page))
    pairs = soup.select("div.fw-pair")
    assert len(pairs) == expected_pairs(read_notebook(ROOT / f"{page}.ipynb")), f"{page}: pairs on the page"
    for pair in pairs:
        cells = pair.select_one("div.fw-grid").find_all("div", recursive=False)
        assert [("tag_tensorflow" in c["class"], "tag_pytorch" in c["class"]) for c in cells] == [
            (True, False),
            (False, True),
        ]


def test_pages_without_pairs_are_untouched():
    for page in PAGES:
        if page in CHAPTERS and expected_pairs(read_notebook(ROOT / f"{page}.ipynb")):
            continue
        html = _html_path(page).read_text(encoding="utf-8")
        assert "fw-pair" not in html and "fw-grid" not in html, page


@pytest.mark.parametrize("page", CHAPTERS)
def test_last_verified_line(page):
    record = read_notebook(ROOT / f"{page}.ipynb")["metadata"].get("last_verified")
    line = _soup(_html_path(page)).select_one("p.last-verified")
    if record is None:
        assert line is None or "executed for this build" in line.get_text(), "a line without a record"
        return
    assert line is not None, f"{page}: the notebook records last_verified but the page does not show it"
    text = line.get_text(" ", strip=True)
    assert text.startswith("Last verified on "), text
    if "executed for this build" not in text:  # else: make book-online, which states the build's own date
        assert record["date"] in text and record["versions"]["tensorflow"] in text, text
    previous = line.find_previous_sibling()
    assert previous is not None and previous.name == "h1", "the line sits right under the chapter title"


def _internal_targets(page_path: Path):
    """(attribute value, file, fragment) for every internal href/src on a page."""
    base = "http://book.invalid/" + page_path.relative_to(HTML).as_posix()
    soup = _soup(page_path)
    for tag, attribute in (("a", "href"), ("link", "href"), ("img", "src"), ("script", "src")):
        for element in soup.find_all(tag):
            value = element.get(attribute)
            if not value or value.startswith(("mailto:", "javascript:", "data:")):
                continue
            url = urlsplit(urljoin(base, value))
            if url.netloc != "book.invalid":
                continue  # external: not checked offline
            path = unquote(url.path).lstrip("/")
            target = HTML / (path + "index.html" if path.endswith("/") or not path else path)
            yield value, target, url.fragment


def _ids(path: Path) -> set[str]:
    soup = _soup(path)
    return {el["id"] for el in soup.find_all(id=True)} | {el["name"] for el in soup.find_all("a", attrs={"name": True})}


@pytest.mark.parametrize("page", PAGES)
def test_internal_links_images_and_anchors_resolve(page):
    broken = []
    for value, target, fragment in _internal_targets(_html_path(page)):
        if not target.is_file():
            broken.append(f"{value} (no file {target.relative_to(HTML)})")
        elif fragment and target.suffix == ".html" and fragment not in _ids(target):
            broken.append(f"{value} (no anchor #{fragment})")
    assert not broken, f"{page}: broken links:\n" + "\n".join(broken)


# --- in headless Chromium ------------------------------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture(scope="module")
def origin():
    if not HTML.is_dir():
        pytest.fail(f"{HTML} does not exist: run `make book`")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(HTML)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    if "CHROMIUM" in os.environ:  # set by the Makefile (empty when it found none)
        chromium = os.environ["CHROMIUM"]
    else:
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        pytest.skip("SKIPPED: browser test (chromium not found: apt-get install chromium, or set CHROMIUM=/path)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("SKIPPED: browser test (the playwright Python package is not installed: make install)")
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    SCREENSHOTS.mkdir(parents=True)
    (SCREENSHOTS / "README.txt").write_text(
        "Screenshots written by tests/test_browser.py (make test-browser), from the book in _build/html:\n"
        "  <page>--wide-top.png            1400 px wide, top of each page of the table of contents\n"
        "  <chapter>--wide-<mode>.png      1400 px, first paired cells with the switch on both|tensorflow|pytorch\n"
        "  <chapter>--narrow-<mode>.png    420 px, the same; 'both' shows tabs (tab-tensorflow, tab-pytorch)\n"
        "  <chapter>--wide-dark.png        1400 px in dark mode: the first figure, or the first pair\n",
        encoding="utf-8",
    )
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def open_page(browser, origin):
    """``open_page(path, viewport, dark=False)``: a page in a fresh browser context (fresh localStorage)."""
    contexts = []

    def open_(path: str, viewport: dict, *, dark: bool = False):
        context = browser.new_context(viewport=viewport, color_scheme="dark" if dark else "light")
        contexts.append(context)
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=origin.rstrip("/"))
        if dark:
            context.add_init_script("window.localStorage.setItem('theme', 'dark');")
        # offline: anything outside the local server (MathJax, fonts from CDNs) is aborted, never waited for
        context.route(
            "**/*", lambda route: route.continue_() if route.request.url.startswith(origin) else route.abort()
        )
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.goto(origin + path)
        return page

    yield open_
    for context in contexts:
        context.close()


def _shot(page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def _slug(page: str) -> str:
    return page.replace("/", "_")


def _visible(page, selector: str) -> int:
    return page.evaluate(
        "s => Array.from(document.querySelectorAll(s)).filter(e => e.checkVisibility()).length", selector
    )


def _pair_pages() -> list[str]:
    return [page for page in CHAPTERS if expected_pairs(read_notebook(ROOT / f"{page}.ipynb"))]


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_in_chromium(page, open_page, origin):
    tab = open_page(f"{page}.html", WIDE)
    tab.wait_for_function("Array.from(document.images).every(image => image.complete)")
    images = tab.evaluate(
        "o => Array.from(document.images).filter(i => i.src.startsWith(o)).map(i => [i.src, i.naturalWidth])", origin
    )
    broken = [src for src, width in images if width == 0]
    assert not broken, f"{page}: images that did not load: {broken}"
    _shot(tab, f"{_slug(page)}--wide-top")
    if page in CHAPTERS:
        assert _visible(tab, "div.cell_output") > 0, f"{page}: no output is displayed"
        figures = _visible(tab, "div.cell_output img")
        assert figures >= min(1, _image_outputs(read_notebook(ROOT / f"{page}.ipynb"))), f"{page}: figures hidden"
        tab.click(".dropdown-launch-buttons button")
        colab = tab.locator("a[href*='colab.research.google.com']")
        assert colab.count() == 1 and colab.is_visible()
        assert colab.get_attribute("href") == colab_url(page)
    assert not tab.errors, f"{page}: script errors {tab.errors}"


def test_switch_on_a_wide_screen_and_across_pages(open_page, origin):
    pages = _pair_pages()
    if not pages:
        pytest.skip("no chapter in the toc has paired cells")
    first = pages[0]
    tab = open_page(f"{first}.html", WIDE)
    assert tab.evaluate("document.documentElement.dataset.fw") == "both"
    assert _visible(tab, ".fw-switch--header") == 1 and _visible(tab, ".fw-switch--inline") == 0
    pairs = tab.locator(".fw-pair").count()
    assert pairs == expected_pairs(read_notebook(ROOT / f"{first}.ipynb"))
    pair = tab.locator(".fw-pair").first
    pair.scroll_into_view_if_needed()
    tab.evaluate("window.scrollBy(0, -150)")

    # Both: every pair shows both cells, in two columns, and no tab bar
    assert _visible(tab, ".fw-grid > .tag_tensorflow") == pairs and _visible(tab, ".fw-grid > .tag_pytorch") == pairs
    assert _visible(tab, ".fw-tabs") == 0
    left = pair.locator(".fw-grid > .tag_tensorflow").bounding_box()
    right = pair.locator(".fw-grid > .tag_pytorch").bounding_box()
    assert left["x"] + left["width"] <= right["x"] + 1 and abs(left["y"] - right["y"]) < 30, (left, right)
    _shot(tab, f"{_slug(first)}--wide-both")
    unpaired = tab.evaluate(
        "Array.from(document.querySelectorAll('.cell.tag_tensorflow, .cell.tag_pytorch'))"
        ".filter(c => !c.parentElement.classList.contains('fw-grid')).length"
    )

    for mode, shown, hidden in (("tensorflow", "tensorflow", "pytorch"), ("pytorch", "pytorch", "tensorflow")):
        tab.click(f".fw-switch--header button[data-fw='{mode}']")
        assert _visible(tab, f".fw-grid > .tag_{shown}") == pairs, mode
        assert _visible(tab, f".fw-grid > .tag_{hidden}") == 0, mode
        assert tab.get_attribute(f".fw-switch--header button[data-fw='{mode}']", "aria-pressed") == "true"
        assert tab.evaluate("localStorage.getItem('tfpt-framework')") == mode
        visible_unpaired = tab.evaluate(
            "Array.from(document.querySelectorAll('.cell.tag_tensorflow, .cell.tag_pytorch'))"
            ".filter(c => !c.parentElement.classList.contains('fw-grid') && c.checkVisibility()).length"
        )
        assert visible_unpaired == unpaired, "a cell without a twin is never hidden"
        pair.scroll_into_view_if_needed()
        tab.evaluate("window.scrollBy(0, -150)")
        _shot(tab, f"{_slug(first)}--wide-{mode}")

    # PyTorch is remembered: on a page without pairs (no switch, nothing changed) and back on a chapter
    others = [page for page in PAGES if page not in pages]
    if others:
        tab.goto(origin + f"{others[0]}.html")
        assert tab.evaluate("document.documentElement.dataset.fw") == "pytorch"
        assert tab.locator(".fw-switch").count() == 0 and tab.locator(".fw-tabs").count() == 0
    for page in [*pages[1:], first]:
        tab.goto(origin + f"{page}.html")
        assert _visible(tab, ".fw-grid > .tag_tensorflow") == 0, f"{page}: PyTorch choice not remembered"
        assert _visible(tab, ".fw-grid > .tag_pytorch") == tab.locator(".fw-pair").count()
        assert tab.get_attribute(".fw-switch--header button[data-fw='pytorch']", "aria-pressed") == "true"
    tab.click(".fw-switch--header button[data-fw='both']")
    assert tab.evaluate("localStorage.getItem('tfpt-framework')") == "both"
    assert not tab.errors, tab.errors


def test_tabs_and_switch_on_a_narrow_screen(open_page):
    pages = _pair_pages()
    if not pages:
        pytest.skip("no chapter in the toc has paired cells")
    first = pages[0]
    tab = open_page(f"{first}.html", NARROW)
    pairs = tab.locator(".fw-pair").count()
    assert _visible(tab, ".fw-switch--inline") == 1 and _visible(tab, ".fw-switch--header") == 0
    width = tab.evaluate("document.documentElement.scrollWidth")
    assert width <= NARROW["width"] + 1, f"the page scrolls sideways at {NARROW['width']} px ({width} px wide)"

    pair = tab.locator(".fw-pair").first
    pair.scroll_into_view_if_needed()
    tab.evaluate("window.scrollBy(0, -120)")
    assert _visible(tab, ".fw-tabs") == pairs, "Both on a narrow screen: each pair gets tabs"
    assert _visible(tab, ".fw-grid > .tag_tensorflow") == pairs and _visible(tab, ".fw-grid > .tag_pytorch") == 0
    _shot(tab, f"{_slug(first)}--narrow-both-tab-tensorflow")
    pair.locator(".fw-tabs button[data-fw='pytorch']").click()
    assert _visible(tab, ".fw-grid > .tag_pytorch") == pairs and _visible(tab, ".fw-grid > .tag_tensorflow") == 0
    assert pair.locator(".fw-tabs button[data-fw='pytorch']").get_attribute("aria-selected") == "true"
    _shot(tab, f"{_slug(first)}--narrow-both-tab-pytorch")

    for mode, other in (("tensorflow", "pytorch"), ("pytorch", "tensorflow")):
        tab.click(f".fw-switch--inline button[data-fw='{mode}']")
        assert _visible(tab, ".fw-tabs") == 0, "one framework: no tabs"
        assert _visible(tab, f".fw-grid > .tag_{mode}") == pairs and _visible(tab, f".fw-grid > .tag_{other}") == 0
        pair.scroll_into_view_if_needed()
        tab.evaluate("window.scrollBy(0, -120)")
        _shot(tab, f"{_slug(first)}--narrow-{mode}")
    tab.reload()
    assert tab.evaluate("document.documentElement.dataset.fw") == "pytorch", "the choice survives a reload"
    assert not tab.errors, tab.errors


def test_copy_button_copies_a_paired_cell(open_page):
    pages = _pair_pages()
    page = pages[0] if pages else CHAPTERS[0]
    tab = open_page(f"{page}.html", WIDE)
    cell = tab.locator(".fw-grid > .tag_pytorch" if pages else "div.cell").first
    cell.scroll_into_view_if_needed()
    cell.locator("div.highlight").first.hover()
    cell.locator("button.copybtn").first.click()
    copied = tab.evaluate("navigator.clipboard.readText()")
    code = cell.locator(".cell_input pre").first.inner_text()
    assert copied.strip() and copied.strip() == code.strip()
    assert tab.locator("button.copybtn").count() >= tab.locator("div.cell_input").count()


def test_search_finds_a_chapter(open_page):
    page = CHAPTERS[0]
    title = _soup(_html_path(page)).select_one("article h1").get_text(" ", strip=True)
    word = max(re.findall(r"[A-Za-z]{5,}", title), key=len)
    tab = open_page(f"search.html?q={word}", WIDE)
    link = tab.locator(f"#search-results a[href*='{page}.html']").first
    link.wait_for(timeout=15_000)
    assert link.is_visible(), f"searching {word!r} does not list {page}"


def test_figures_on_white_in_dark_mode(open_page, origin):
    page = next(
        (p for p in CHAPTERS if _image_outputs(read_notebook(ROOT / f"{p}.ipynb"))),
        None,
    )
    if page is None:
        pytest.skip("no chapter in the toc has a figure")
    tab = open_page(f"{page}.html", WIDE, dark=True)
    assert tab.evaluate("document.documentElement.dataset.theme") == "dark"
    figure = tab.locator("div.cell_output img").first
    figure.scroll_into_view_if_needed()
    tab.evaluate("window.scrollBy(0, -100)")
    background = figure.evaluate("img => getComputedStyle(img).backgroundColor")
    assert background == "rgb(255, 255, 255)", background
    _shot(tab, f"{_slug(page)}--wide-dark")
    pages = _pair_pages()
    if pages:  # the pairs, their labels and the switch on the dark theme
        tab.goto(origin + f"{pages[0]}.html")
        tab.locator(".fw-pair").first.scroll_into_view_if_needed()
        tab.evaluate("window.scrollBy(0, -150)")
        _shot(tab, f"{_slug(pages[0])}--wide-dark")
