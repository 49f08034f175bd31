"""Every chapter as Colab sees it (``make test-colab``; slow: it executes every chapter once more).

On Colab a reader opens one ``.ipynb`` from GitHub: no checkout around it, no ``tutorial_utils`` installed, and the
first cell installs the helpers with pip. This test reproduces that for each ``chapters/*.ipynb``:

* the notebook is copied alone into an empty folder, which is the kernel's working directory;
* the kernel's environment forces Colab detection (``TUTORIAL_FORCE_COLAB=1``) and points the install at a copy of
  this checkout (``TUTORIAL_INSTALL_SOURCE=file://...``) instead of GitHub, so the setup cell really runs pip;
* pip installs into a folder of its own (``PIP_TARGET``, first on the kernel's ``PYTHONPATH``), so the project's
  editable install in ``.venv`` is neither used nor touched, and offline (``--no-build-isolation``, no index);
* the notebook runs to the end in that one kernel (no restart), then a probe asserts that ``tutorial_utils`` came
  from the fresh install, that pip installed nothing else (no numpy, TensorFlow or PyTorch), and that nothing was
  written next to the notebook.

Excluded from ``make test-unit`` (``--ignore``) so that ``make test`` runs it once, as ``make test-colab``.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from importlib import metadata
from pathlib import Path

import pytest
import tomllib
from _book import NOTEBOOKS, ROOT

nbformat = pytest.importorskip("nbformat", reason="SKIPPED: Colab run (nbformat not installed)")
nbclient = pytest.importorskip("nbclient", reason="SKIPPED: Colab run (nbclient not installed)")
pytest.importorskip("ipykernel", reason="SKIPPED: Colab run (ipykernel not installed)")

pytestmark = pytest.mark.slow

PACKAGE = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["name"]
PROBE = """\
import importlib.metadata, json, sys
import tutorial_utils
print("COLAB-PROBE " + json.dumps({
    "file": tutorial_utils.__file__,
    "in_colab": tutorial_utils.in_colab(),
    "dist_files": str(importlib.metadata.distribution(PACKAGE).locate_file("")),
}))
""".replace("PACKAGE", repr(PACKAGE))


def _offline_build_possible() -> bool:
    """pyproject.toml needs setuptools>=77; with it in this environment pip can build without reaching PyPI."""
    try:
        major = int(metadata.version("setuptools").split(".")[0])
    except (metadata.PackageNotFoundError, ValueError):
        return False
    return major >= 77


@pytest.fixture(scope="module")
def source_tree(tmp_path_factory) -> Path:
    """A copy of what pip needs from this checkout (pip builds in place and would leave build/ in the checkout)."""
    tree = tmp_path_factory.mktemp("checkout")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, tree / name)
    shutil.copytree(ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"))
    return tree


def _kernel_env(tmp_path: Path, source: Path, site: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PIP_", "TUTORIAL_"))}
    env.pop("KERAS_BACKEND", None)
    env.update(
        {
            "TUTORIAL_FORCE_COLAB": "1",
            "TUTORIAL_INSTALL_SOURCE": source.as_uri(),
            "TUTORIAL_DATA": "sample",
            "TUTORIAL_CACHE_DIR": str(tmp_path / "cache"),
            "PYTHONPATH": str(site),
            "PIP_TARGET": str(site),
            "PIP_NO_CACHE_DIR": "1",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "MPLCONFIGDIR": str(tmp_path / "matplotlib"),
            "KERAS_HOME": str(tmp_path / "keras"),
        }
    )
    if _offline_build_possible():
        # pip's double negative: PIP_NO_BUILD_ISOLATION=0 means --no-build-isolation (build with this
        # environment's setuptools), and with it pip needs no index at all.
        env.update({"PIP_NO_BUILD_ISOLATION": "0", "PIP_NO_INDEX": "1"})
    return env


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_chapter_runs_alone_as_on_colab(path, tmp_path, source_tree):
    folder = tmp_path / "content"  # Colab's working directory is /content
    site = tmp_path / "site"
    folder.mkdir()
    site.mkdir()  # exists before the kernel starts, so that it is on sys.path from the start
    copy = folder / path.name
    shutil.copy2(path, copy)

    notebook = nbformat.read(copy, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(PROBE))  # in memory only: the copy on disk stays as committed
    client = nbclient.NotebookClient(
        notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    )
    client.execute(env=_kernel_env(tmp_path, source_tree, site))

    outputs = notebook.cells[-1].outputs
    text = "".join(out.get("text", "") for out in outputs if out.output_type == "stream")
    assert "COLAB-PROBE " in text, f"the probe printed nothing: {outputs}"
    probe = json.loads(text.split("COLAB-PROBE ", 1)[1].splitlines()[0])

    assert probe["in_colab"] is True
    assert Path(probe["file"]).is_relative_to(site), (
        f"tutorial_utils was imported from {probe['file']}, not from the setup cell's install in {site}"
    )
    assert Path(probe["dist_files"]).resolve() == site.resolve(), probe
    installed = sorted(entry.name for entry in site.iterdir() if entry.name != "__pycache__")
    assert all(name.startswith(("tutorial_utils", "tfpt_tutorial_utils")) for name in installed), (
        f"the setup cell installed more than the helpers: {installed}"
    )
    assert any(name.endswith(".dist-info") for name in installed), installed
    left = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p != copy)
    assert left == [], f"{path.name} wrote next to itself on Colab: {left}"
    assert copy.read_bytes() == path.read_bytes(), "the notebook itself must not change"


def test_the_kernel_is_this_interpreter():
    """The kernelspec ``python3`` resolves to the interpreter running the tests (so TF and torch are found)."""
    from jupyter_client.kernelspec import KernelSpecManager

    argv = KernelSpecManager().get_kernel_spec("python3").argv
    assert argv[0] in ("python", "python3", sys.executable) or Path(argv[0]).resolve() == Path(sys.executable).resolve()
