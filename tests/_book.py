"""What the book-level tests share: the configuration, the chapters, the pages of the table of contents.

Everything is derived from ``_config.yml``, ``_toc.yml`` and ``chapters/*.ipynb``, so a new chapter is covered as
soon as it is committed and listed in the toc.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
HTML = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
NOTEBOOKS = sorted(CHAPTERS.glob("[0-9][0-9]_*.ipynb"))


def config() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


def repository() -> tuple[str, str, str]:
    """``(url, branch, path_to_book)`` from ``_config.yml``: the one place that names them."""
    repo = config()["repository"]
    return repo["url"].rstrip("/"), str(repo["branch"]), str(repo.get("path_to_book") or "").strip("/")


def toc_files() -> list[str]:
    """Every document of ``_toc.yml`` in reading order, root first, without suffix (``"chapters/04_code_examples"``)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    found = [toc["root"]]

    def walk(entries: list[dict[str, Any]]) -> None:
        for entry in entries or []:
            if "file" in entry:
                found.append(str(entry["file"]).removesuffix(".ipynb").removesuffix(".md"))
            for key in ("parts", "chapters", "sections"):
                walk(entry.get(key, []))

    walk(toc.get("parts", []))
    walk(toc.get("chapters", []))
    walk(toc.get("sections", []))
    return found


def toc_chapters() -> list[str]:
    """The toc entries that are notebooks (the chapters), in reading order."""
    return [name for name in toc_files() if (ROOT / f"{name}.ipynb").is_file()]


def colab_url(pagename: str) -> str:
    """The Colab link the launch button must show for a page: the committed notebook on the configured branch."""
    url, branch, book = repository()
    owner_repo = url.removeprefix("https://github.com/")
    colab = config()["launch_buttons"]["colab_url"].rstrip("/")
    path = f"{book}/{pagename}.ipynb" if book else f"{pagename}.ipynb"
    return f"{colab}/github/{owner_repo}/blob/{branch}/{path}"


def read_notebook(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def setup_cell(notebook: dict[str, Any]) -> dict[str, Any]:
    return notebook["cells"][0]


def cell_source(cell: dict[str, Any]) -> str:
    source = cell["source"]
    return source if isinstance(source, str) else "".join(source)


def string_constants(source: str) -> dict[str, str]:
    """Module-level ``NAME = "text"`` assignments of a cell."""
    constants = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    constants[target.id] = node.value.value
    return constants
