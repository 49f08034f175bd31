"""Regenerate chapter notebooks from their percent-format sources and execute them (``make sync``).

For each ``chapters/NN_topic.py`` given (default: all), this

1. reads the ``.py`` (the source of truth) with jupytext;
2. executes it top to bottom in a fresh ``python3`` kernel, in the ``chapters/`` folder, as CI would;
3. drops stderr streams from the outputs (TensorFlow's C++ start-up lines depend on the machine and the way the
   kernel was started; nbval does not compare stderr either) and execution timestamps;
4. sets the notebook metadata every chapter shares (kernelspec, Colab's GPU runtime request) and records what it
   was executed with (``last_verified``: date, versions, data source), which the book shows under the chapter title;
5. writes ``NN_topic.ipynb`` beside it, and reports the execution time.

The ``.py`` is never written, so an edit there cannot be lost to a stale notebook (jupytext ``--sync`` decides by
modification time, which a ``git checkout`` scrambles).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import sys
import time
from importlib import metadata
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
TIMINGS = ROOT / "_build" / "chapter_timings.json"

NOTEBOOK_METADATA = {
    "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"},
    "language_info": {"name": "python"},
    "accelerator": "GPU",  # Colab opens the notebook on a GPU runtime
    "colab": {"gpuType": "T4", "provenance": []},
}


# The packages named in the "last verified" record (and on the page, by _ext/side_by_side.py).
VERIFIED_PACKAGES = ("numpy", "tensorflow", "keras", "torch")


def verification_record() -> dict:
    """What a chapter is executed with: today's date (UTC), the installed versions, the MNIST source.

    The kernel runs this same interpreter (kernelspec ``python3``), so the versions are the kernel's.
    """
    versions = {"python": platform.python_version()}
    for name in VERIFIED_PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).date().isoformat(),
        "versions": versions,
        "data": os.environ.get("TUTORIAL_DATA", "auto"),
    }


def _build_order(path: Path) -> tuple[bool, str]:
    """The summary chapter reads the other chapters' executed notebooks, so it is executed after all of them."""
    return (path.stem.endswith("_summary"), path.name)


def chapter_sources(paths: list[str]) -> list[Path]:
    """The chapter ``.py`` files to build: the given ones, else every ``chapters/NN_*.py`` (the summary last)."""
    if not paths:
        found = sorted(CHAPTERS.glob("[0-9][0-9]_*.py"), key=_build_order)
        if not found:
            raise SystemExit(f"no chapter sources (NN_topic.py) in {CHAPTERS}")
        return found
    sources = []
    for raw in paths:
        path = Path(raw).resolve()
        if path.suffix == ".ipynb":
            path = path.with_suffix(".py")
        if not path.is_file() or path.parent != CHAPTERS:
            raise SystemExit(f"{raw}: not a chapter source; expected chapters/NN_topic.py")
        sources.append(path)
    return sorted(sources, key=_build_order)


def clean_outputs(notebook: nbformat.NotebookNode) -> None:
    """Remove stderr streams and per-cell execution timestamps, and merge consecutive stdout streams, in place."""
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        outputs: list[nbformat.NotebookNode] = []
        for out in cell.outputs:
            if out.output_type == "stream" and out.name == "stderr":
                continue
            if out.output_type == "stream" and outputs and outputs[-1].output_type == "stream":
                outputs[-1].text += out.text
            else:
                outputs.append(out)
        cell.outputs = outputs


def build(source: Path, timeout: int) -> float:
    """Execute one chapter and write its ``.ipynb``; return the execution time in seconds."""
    notebook = jupytext.read(source)
    notebook.metadata.update(json.loads(json.dumps(NOTEBOOK_METADATA)))
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(CHAPTERS)}},
        record_timing=False,
    )
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    clean_outputs(notebook)
    notebook.metadata["last_verified"] = verification_record()
    target = source.with_suffix(".ipynb")
    jupytext.write(notebook, target, fmt="ipynb")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", help="chapters/NN_topic.py files (default: all)")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell (default 900)")
    args = parser.parse_args(argv)
    timings = json.loads(TIMINGS.read_text()) if TIMINGS.is_file() else {}
    for source in chapter_sources(args.chapters):
        print(f"executing {source.relative_to(ROOT)} ...", flush=True)
        elapsed = build(source, args.timeout)
        timings[source.stem] = round(elapsed, 1)
        print(f"  wrote {source.with_suffix('.ipynb').relative_to(ROOT)} in {elapsed:.1f} s", flush=True)
    TIMINGS.parent.mkdir(exist_ok=True)
    TIMINGS.write_text(json.dumps(timings, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
