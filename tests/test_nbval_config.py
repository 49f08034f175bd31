"""The nbval settings used by `make test` compare what they should: a changed output fails, stderr does not.

Runs nbval on two tiny notebooks (no framework involved) with the repository's conftest.py and sanitize file.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _notebook(stored_stdout: str, stderr: str | None = None) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("import sys\nprint(6 * 7)\nprint('noise', file=sys.stderr)")
    cell.execution_count = 1
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=stored_stdout)]
    if stderr is not None:
        cell.outputs.append(nbformat.v4.new_output("stream", name="stderr", text=stderr))
    nb = nbformat.v4.new_notebook(cells=[cell])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def _run_nbval(tmp_path: Path, notebook: nbformat.NotebookNode) -> subprocess.CompletedProcess:
    (tmp_path / "conftest.py").write_text((ROOT / "conftest.py").read_text())
    path = tmp_path / "probe.ipynb"
    nbformat.write(notebook, path)
    sanitize = str(ROOT / "tests" / "sanitize.cfg")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval", "--nbval-current-env",
               "--nbval-sanitize-with", sanitize, "--rootdir", str(tmp_path), str(path)]  # fmt: skip
    return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_matching_output_passes_whatever_stderr_says(tmp_path):
    result = _run_nbval(tmp_path, _notebook("42\n", stderr="TensorFlow start-up noise\n"))
    assert result.returncode == 0, result.stdout[-2000:]


@pytest.mark.slow
def test_changed_output_fails(tmp_path):
    result = _run_nbval(tmp_path, _notebook("41\n"))
    assert result.returncode == 1, result.stdout[-2000:]
    assert "mismatch 'stdout'" in result.stdout
