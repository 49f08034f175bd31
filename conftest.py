"""pytest configuration shared by the unit tests and nbval.

nbval compares every stored output of a chapter with a fresh run, except stderr: TensorFlow writes its C++
start-up lines there in some kernels and not in others (ipykernel does not capture file-descriptor output under
pytest), and Python warnings carry a kernel-specific temporary path. The committed notebooks hold no stderr
(tools/execute_chapters.py drops it); a chapter that wants a warning on the page prints it to stdout.
"""

from __future__ import annotations


def pytest_collectstart(collector):
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("stderr",)
