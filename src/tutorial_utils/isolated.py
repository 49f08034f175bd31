"""Run a piece of Python in a fresh interpreter and get a JSON result back.

Some comparisons need a process of their own: Keras fixes its backend when it is first imported, and distributed
training starts several workers. The child uses the same interpreter (``sys.executable``) and environment as the
notebook, plus the overrides given.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

__all__ = ["RESULT_PREFIX", "IsolatedRunError", "run_isolated"]

RESULT_PREFIX = "__RESULT__"


class IsolatedRunError(RuntimeError):
    """The child process failed, timed out, or printed no result line."""


def run_isolated(code: str, *, env: Mapping[str, str] | None = None, timeout: float = 300.0) -> Any:
    """Run *code* with ``python -c`` in a new process and return the JSON value it reports.

    The code reports its result by printing one line ``__RESULT__<json>`` (use ``emit_result`` defined in the
    child's globals: ``emit_result({"loss": 0.1})``). *env* entries are added to the current environment.
    Raises :class:`IsolatedRunError` with the end of the child's stderr when it fails, times out or reports nothing.
    """
    prelude = (
        "import json as _json\n"
        f"def emit_result(value):\n    print({RESULT_PREFIX!r} + _json.dumps(value), flush=True)\n"
    )
    child_env = {**os.environ, **(env or {})}
    try:
        proc = subprocess.run(
            [sys.executable, "-c", prelude + code],
            env=child_env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        raise IsolatedRunError(f"the child process did not finish within {timeout:.0f} s") from exc
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise IsolatedRunError(f"the child process exited with status {proc.returncode}:\n{tail}")
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    raise IsolatedRunError("the child process finished without printing a result (call emit_result(...))")
