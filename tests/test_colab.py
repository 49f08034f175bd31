"""The Colab setup cell of every chapter, and the launch configuration it must agree with (fast, no kernel).

``_config.yml`` is the one place that names the repository and branch: the launch buttons are built from it, and
every chapter's first cell must install ``tutorial_utils`` from the same repository and branch. Running a chapter
as Colab would is ``tests/test_colab_run.py`` (``make test-colab``); the links on the built pages are checked by
``tests/test_browser.py``.
"""

from __future__ import annotations

import subprocess
import sys
import types

import pytest
import tomllib
from _book import (
    NOTEBOOKS,
    ROOT,
    cell_source,
    colab_url,
    config,
    read_notebook,
    repository,
    setup_cell,
    string_constants,
)

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
PACKAGE = PROJECT["name"]
IDS = [path.stem for path in NOTEBOOKS]


def test_there_are_chapters():
    assert NOTEBOOKS, f"no chapters/NN_topic.ipynb in {ROOT / 'chapters'}"


def test_launch_configuration_points_at_this_repository():
    url, branch, book = repository()
    assert url.startswith("https://github.com/") and url.count("/") == 4, f"Colab opens GitHub repositories: {url}"
    assert branch and " " not in branch
    assert config()["launch_buttons"]["colab_url"].rstrip("/") == "https://colab.research.google.com"
    # path_to_book is where _config.yml sits inside the repository; this book is at the repository root
    assert (ROOT / book / "_config.yml").is_file(), f"path_to_book {book!r} does not lead to _config.yml"
    link = colab_url("chapters/04_code_examples")
    assert "//" not in link.removeprefix("https://"), link
    assert link.endswith(f"/blob/{branch}/chapters/04_code_examples.ipynb")


def test_package_metadata_names_the_same_repository_and_site():
    url, _, _ = repository()
    owner, name = url.removeprefix("https://github.com/").split("/")
    assert PROJECT["urls"]["Source"].rstrip("/") == url
    assert PROJECT["urls"]["Book"].rstrip("/") == f"https://{owner.lower()}.github.io/{name}", "the GitHub Pages site"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_setup_cell_comes_first_and_is_hidden(path):
    cell = setup_cell(read_notebook(path))
    assert cell["cell_type"] == "code", "the first cell must be the Colab setup cell (see chapters/04)"
    assert "remove-cell" in cell["metadata"].get("tags", []), "the setup cell is tagged remove-cell"
    assert "BOOK_REPOSITORY" in cell_source(cell)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_setup_cell_names_the_configured_repository_and_branch(path):
    constants = string_constants(cell_source(setup_cell(read_notebook(path))))
    url, branch, _ = repository()
    assert constants.get("BOOK_REPOSITORY") == url, (
        f"{path.name}: BOOK_REPOSITORY = {constants.get('BOOK_REPOSITORY')!r}, _config.yml repository.url = {url!r}"
    )
    assert constants.get("BOOK_BRANCH") == branch, (
        f"{path.name}: BOOK_BRANCH = {constants.get('BOOK_BRANCH')!r}, _config.yml repository.branch = {branch!r}"
    )


def test_every_chapter_carries_the_same_setup_cell():
    cells = {path.name: cell_source(setup_cell(read_notebook(path))).strip() for path in NOTEBOOKS}
    reference = max(set(cells.values()), key=list(cells.values()).count)
    different = sorted(name for name, source in cells.items() if source != reference)
    assert not different, f"setup cell differs from the other chapters' (copy it from chapters/04): {different}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_asks_colab_for_a_gpu(path):
    metadata = read_notebook(path)["metadata"]
    assert metadata.get("accelerator") == "GPU"
    assert metadata.get("colab", {}).get("gpuType"), "colab.gpuType names the GPU to request"


# --- what the setup cell does (its code, executed here with pip replaced by a recorder) -----------------------------


@pytest.fixture
def pip_calls(monkeypatch):
    calls = []

    def record(command, **kwargs):
        calls.append(list(command))
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(subprocess, "run", record)
    monkeypatch.delenv("TUTORIAL_FORCE_COLAB", raising=False)
    monkeypatch.delenv("TUTORIAL_INSTALL_SOURCE", raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    return calls


def _run_setup_cell(path):
    exec(compile(cell_source(setup_cell(read_notebook(path))), f"{path.name}[0]", "exec"), {})


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_setup_cell_does_nothing_outside_colab(path, pip_calls):
    _run_setup_cell(path)
    assert pip_calls == []


@pytest.mark.parametrize("how", ["google.colab imported", "TUTORIAL_FORCE_COLAB=1"])
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_setup_cell_on_colab_installs_only_the_helpers(path, pip_calls, monkeypatch, how):
    if how == "google.colab imported":
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.setenv("TUTORIAL_FORCE_COLAB", "1")
    _run_setup_cell(path)
    assert len(pip_calls) == 1, pip_calls
    command = pip_calls[0]
    url, branch, _ = repository()
    assert command[:4] == [sys.executable, "-m", "pip", "install"], "pip of the running kernel"
    assert "--no-deps" in command, "must not let pip touch Colab's numpy, TensorFlow or PyTorch"
    assert command[-1] == f"{PACKAGE} @ git+{url}@{branch}"
    for forbidden in ("--upgrade", "-U", "--force-reinstall", "--user"):
        assert forbidden not in command
    assert not [arg for arg in command[4:-1] if not arg.startswith("-")], f"installs only the helpers: {command}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_install_source_can_be_redirected_for_tests(path, pip_calls, monkeypatch):
    monkeypatch.setenv("TUTORIAL_FORCE_COLAB", "1")
    monkeypatch.setenv("TUTORIAL_INSTALL_SOURCE", "file:///somewhere/checkout")
    _run_setup_cell(path)
    assert pip_calls[0][-1] == f"{PACKAGE} @ file:///somewhere/checkout"
