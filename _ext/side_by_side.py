"""Sphinx extension for this book: paired TensorFlow / PyTorch cells, and a "last verified" line on each chapter.

Loaded through ``sphinx.local_extensions`` in ``_config.yml``. It changes the document tree (and drops duplicate
scripts, see below); the browser side (the Both / TensorFlow / PyTorch switch, the tabs on narrow screens, the
column layout) lives in ``_static/side-by-side.js`` and ``_static/side-by-side.css``, which Jupyter Book adds to
every page.

Pairs
    A code cell tagged ``tensorflow`` that is immediately followed on the page by a code cell tagged ``pytorch``
    (nothing rendered between them) is wrapped as ``div.fw-pair > div.fw-grid > (cell, cell)``. Nothing is removed
    or reordered, so the search index, copy buttons and the notebook itself are unaffected; a page without such a
    pair is left exactly as it was.

Last verified
    A notebook page gets one line under its title naming the date and the versions it was last executed with:
    the date and versions of this build when the page was executed during the build (``make book-online``),
    otherwise the ``last_verified`` record that ``tools/execute_chapters.py`` writes into the notebook's metadata.
    A notebook without that record gets no line.

Duplicate scripts
    Under Jupyter Book 1, sphinx-thebe registers its inline configuration script twice, and the second copy stops
    with "Identifier 'THEBE_JS_URL' has already been declared" on every page (one copy has filename ``None``,
    the other ``""``, so Sphinx does not see them as the same). Identical inline scripts are dropped from each
    page's ``script_files``.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging

__all__ = ["describe_record", "wrap_pairs"]

logger = logging.getLogger(__name__)

PAIR_CLASS = "fw-pair"
GRID_CLASS = "fw-grid"
LAST_VERIFIED_CLASS = "last-verified"
RECORD_KEY = "last_verified"  # notebook metadata key written by tools/execute_chapters.py

# package name -> what the line calls it, in the order the line lists them
PACKAGES = {"tensorflow": "TensorFlow", "keras": "Keras", "torch": "PyTorch", "numpy": "NumPy", "python": "Python"}
DATA_WORDS = {"sample": "the bundled MNIST sample", "full": "full MNIST"}


# --- pairs ----------------------------------------------------------------------------------------------------------


def _is_code_cell(node: nodes.Node, tag: str) -> bool:
    """True for a myst-nb code cell that carries *tag* and not the other framework's tag."""
    if not isinstance(node, nodes.container) or node.get("nb_element") != "cell_code":
        return False
    classes = node.get("classes", [])
    other = "tag_pytorch" if tag == "tensorflow" else "tag_tensorflow"
    return f"tag_{tag}" in classes and other not in classes


def wrap_pairs(doctree: nodes.Node) -> int:
    """Wrap each adjacent (``tensorflow``, ``pytorch``) pair of code cells; return the number of pairs."""
    count = 0
    for parent in list(doctree.findall(nodes.Element)):
        index = 0
        while index < len(parent.children) - 1:
            first, second = parent.children[index], parent.children[index + 1]
            if _is_code_cell(first, "tensorflow") and _is_code_cell(second, "pytorch"):
                grid = nodes.container("", classes=[GRID_CLASS])
                pair = nodes.container("", grid, classes=[PAIR_CLASS])
                parent.remove(second)
                parent.replace(first, pair)
                grid += [first, second]
                count += 1
            index += 1
    return count


# --- last verified --------------------------------------------------------------------------------------------------


def _installed_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        if name == "python":
            continue
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return versions


def describe_record(record: dict[str, Any]) -> str | None:
    """The sentence for a ``last_verified`` record (``date``, ``versions``, optional ``data`` and ``when``).

    Returns None for a record without a usable date or versions, so that a malformed record shows nothing rather
    than something wrong.
    """
    date = str(record.get("date") or "")
    versions = record.get("versions") or {}
    try:
        _dt.date.fromisoformat(date)
    except ValueError:
        return None
    listed = [f"{label} {versions[name]}" for name, label in PACKAGES.items() if versions.get(name)]
    if not listed:
        return None
    where = "executed for this build" if record.get("when") == "build" else None
    data = DATA_WORDS.get(record.get("data", ""))
    details = ", ".join(part for part in (where, f"on {data}" if data else None) if part)
    sentence = f"Last verified on {date} with " + ", ".join(listed[:-1]) + f" and {listed[-1]}"
    return sentence + (f" ({details})." if details else ".")


def _record_for(app: Sphinx, docname: str) -> dict[str, Any] | None:
    source = Path(app.env.doc2path(docname))
    if source.suffix != ".ipynb":
        return None
    try:  # executed during this build (execute_notebooks: force): this build's date and versions
        from myst_nb.sphinx_ import NbMetadataCollector

        executed = NbMetadataCollector.get_exec_data(app.env, docname)
    except ImportError:  # pragma: no cover - myst-nb is always there in a Jupyter Book
        executed = None
    if executed and executed.get("succeeded"):
        when = _dt.datetime.fromtimestamp(executed["mtime"], tz=_dt.timezone.utc).date().isoformat()
        data = os.environ.get("TUTORIAL_DATA", "auto")
        return {"date": when, "versions": _installed_versions(), "data": data, "when": "build"}
    try:
        record = json.loads(source.read_text(encoding="utf-8")).get("metadata", {}).get(RECORD_KEY)
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def add_last_verified(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    record = _record_for(app, docname)
    text = describe_record(record) if record else None
    if text is None:
        if str(app.env.doc2path(docname)).endswith(".ipynb"):
            logger.info(f"[side_by_side] {docname}: no '{RECORD_KEY}' record in the notebook metadata (run make sync)")
        return
    title = next(iter(doctree.findall(nodes.title)), None)
    if title is None or title.parent is None:
        return
    line = nodes.paragraph("", text, classes=[LAST_VERIFIED_CLASS])
    title.parent.insert(title.parent.index(title) + 1, line)


def on_doctree_resolved(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    wrap_pairs(doctree)
    add_last_verified(app, doctree, docname)


def drop_duplicate_scripts(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    seen, unique = set(), []
    for script in scripts:
        attributes = sorted((k, str(v)) for k, v in (getattr(script, "attributes", None) or {}).items())
        key = (str(getattr(script, "filename", script) or ""), tuple(attributes))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("doctree-resolved", on_doctree_resolved)
    app.connect("html-page-context", drop_duplicate_scripts)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
