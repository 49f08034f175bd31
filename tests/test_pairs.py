"""Every chapter is a pair: chapters/NN_topic.py (the source) and NN_topic.ipynb (with outputs), with identical cells.

A notebook edited without its .py, or a .py edited without `make sync`, fails here. So does a notebook that was
committed without being executed, since nbval would then compare nothing.
"""

from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat
import pytest

CHAPTERS = Path(__file__).resolve().parents[1] / "chapters"
SOURCES = sorted(CHAPTERS.glob("*.py"))
NOTEBOOKS = sorted(CHAPTERS.glob("*.ipynb"))


def _cells(notebook):
    return [(cell.cell_type, cell.source.strip(), sorted(cell.metadata.get("tags", []))) for cell in notebook.cells]


def test_chapters_exist():
    assert SOURCES, f"no chapter sources in {CHAPTERS}"
    assert NOTEBOOKS, f"no notebooks in {CHAPTERS}"


def test_every_notebook_has_a_source():
    orphans = [nb.name for nb in NOTEBOOKS if not nb.with_suffix(".py").is_file()]
    assert not orphans, f"notebooks without a .py source: {orphans}"


@pytest.mark.parametrize("source", SOURCES, ids=[s.stem for s in SOURCES])
def test_source_and_notebook_have_identical_cells(source):
    assert source.name[:2].isdigit() and source.name[2] == "_", f"{source.name}: expected NN_topic.py"
    notebook_path = source.with_suffix(".ipynb")
    assert notebook_path.is_file(), (
        f"{source.name} has no notebook twin; run `make sync CHAPTERS=chapters/{source.name}`"
    )
    from_py = _cells(jupytext.read(source))
    from_nb = _cells(jupytext.read(notebook_path))
    assert len(from_py) == len(from_nb), f"{source.name}: {len(from_py)} cells, notebook has {len(from_nb)}"
    for index, (a, b) in enumerate(zip(from_py, from_nb)):
        assert a == b, (
            f"{source.name}: cell {index} differs from the notebook; run `make sync CHAPTERS=chapters/{source.name}`"
        )


@pytest.mark.parametrize("notebook_path", NOTEBOOKS, ids=[n.stem for n in NOTEBOOKS])
def test_notebook_is_executed_and_ready_for_colab(notebook_path):
    notebook = nbformat.read(notebook_path, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(cell.execution_count is not None for cell in code), "commit the executed notebook"
    counts = [cell.execution_count for cell in code]
    assert counts == list(range(1, len(code) + 1)), "executed top to bottom in one fresh kernel"
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    assert notebook.metadata.get("accelerator") == "GPU", "Colab should open the chapter on a GPU runtime"
    stderr = [o for cell in code for o in cell.outputs if o.output_type == "stream" and o.name == "stderr"]
    assert not stderr, "stderr (TensorFlow start-up noise) must not be stored"
    errors = [o for cell in code for o in cell.outputs if o.output_type == "error"]
    tagged = [cell for cell in code if "raises-exception" in cell.metadata.get("tags", [])]
    assert len(errors) == len(tagged), "only cells tagged raises-exception may store an error"


@pytest.mark.parametrize("source", SOURCES, ids=[s.stem for s in SOURCES])
def test_code_fits_the_page(source):
    """The book's text column shows about 88 monospace characters; longer code lines scroll sideways."""
    notebook = jupytext.read(source)
    long_lines = [
        f"cell {index}: {line[:60]}..."
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code"
        for line in cell.source.splitlines()
        if len(line) > 88
    ]
    assert not long_lines, "code lines over 88 characters:\n" + "\n".join(long_lines)


@pytest.mark.parametrize("source", SOURCES, ids=[s.stem for s in SOURCES])
def test_chapter_has_label_title_summary_and_exercises(source):
    notebook = jupytext.read(source)
    markdown = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    first = next(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    assert first.startswith("(ch-") and ")=\n# " in first, "a chapter opens with a (ch-label)= and its # title"
    assert "## Summary" in markdown and "## Exercises" in markdown
