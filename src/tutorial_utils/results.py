"""Numbers that the prose quotes, and that later chapters gather, stored in the notebook's own outputs.

:func:`glue` writes a value into a cell's output in the format of ``myst_nb.glue`` (so that the rendered book can
quote it with ``{glue:text}`key``` or ``{glue}`key```) without needing myst-nb, which Colab does not have.
:func:`read_glued` reads those values back from a committed notebook: the summary chapter uses it to gather results
from the chapters that measured them, instead of retyping numbers.
"""

from __future__ import annotations

import ast
import json
import math
from pathlib import Path
from typing import Any

__all__ = ["GLUE_PREFIX", "glue", "read_glued"]

GLUE_PREFIX = "application/papermill.record/"  # the MIME prefix myst-nb and scrapbook use for hidden glue


def _text(value: Any) -> str:
    if isinstance(value, str):
        # quoted, as IPython would: myst-nb's {glue:text} runs ast.literal_eval on the stored text, which turns an
        # unquoted "23,867" into the tuple (23, 867) and an unquoted "1e-3" into a float
        return repr(value)
    if isinstance(value, bool) or value is None:
        return str(value)
    if hasattr(value, "item") and callable(value.item):  # NumPy / framework scalars: no np.float64(...) repr
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"refusing to glue a non-finite number: {value!r}")
    return repr(value)


def glue(name: str, value: Any, *, display: bool = False) -> None:
    """Store *value* under *name* in this cell's output (shown in place too, with *display*).

    Strings and numbers are stored as their Python repr (NumPy scalars are converted first), which is what
    myst-nb's ``{glue:text}`` expects: a string renders as it is, a number can take a format (``{glue:text}`key:.1f```).
    Names are ``[a-zA-Z_][a-zA-Z0-9_]*``, unique within a notebook; use a chapter prefix (``ch04_acc_tf``).
    """
    from IPython.display import display as ipy_display

    if not name.isidentifier():
        raise ValueError(f"glue name {name!r} must be an identifier such as ch04_acc_tf")
    prefix = "" if display else GLUE_PREFIX
    bundle = {f"{prefix}text/plain": _text(value)}
    ipy_display(bundle, raw=True, metadata={"scrapbook": {"name": name, "mime_prefix": prefix}})


def read_glued(notebook: str | Path) -> dict[str, str]:
    """Every glued value in a stored notebook (``.ipynb``), as ``{name: text}`` (strings unquoted, numbers as their
    repr). Raises FileNotFoundError."""
    cells = json.loads(Path(notebook).read_text(encoding="utf-8"))["cells"]
    found: dict[str, str] = {}
    for cell in cells:
        for output in cell.get("outputs", []):
            record = output.get("metadata", {}).get("scrapbook")
            if not record:
                continue
            text = output.get("data", {}).get(f"{record.get('mime_prefix', '')}text/plain")
            if text is not None:
                text = "".join(text) if isinstance(text, list) else text
                if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
                    text = ast.literal_eval(text)
                found[record["name"]] = text
    return found
