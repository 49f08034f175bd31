"""glue() writes what myst-nb's {glue} roles read; read_glued() reads it back from a stored notebook."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tutorial_utils as tu
from tutorial_utils import results as g


@pytest.fixture
def captured(monkeypatch):
    shown = []
    import IPython.display

    monkeypatch.setattr(IPython.display, "display", lambda bundle, raw, metadata: shown.append((bundle, metadata)))
    return shown


def test_hidden_glue_matches_myst_nb_format(captured):
    tu.glue("ch04_acc_tf", np.float32(0.5))
    bundle, metadata = captured[0]
    assert bundle == {"application/papermill.record/text/plain": "0.5"}
    assert metadata == {"scrapbook": {"name": "ch04_acc_tf", "mime_prefix": "application/papermill.record/"}}


def test_displayed_glue_and_strings(captured):
    tu.glue("ch04_note", "13,755", display=True)
    assert captured[0][0] == {"text/plain": "'13,755'"}  # quoted: myst-nb literal_evals it back to the string


@pytest.mark.parametrize("bad_name", ["1abc", "with space", "a-b"])
def test_bad_name_is_rejected(bad_name):
    with pytest.raises(ValueError, match="must be an identifier"):
        tu.glue(bad_name, 1)


def test_non_finite_numbers_are_refused():
    with pytest.raises(ValueError, match="non-finite"):
        g._text(float("nan"))


def test_read_glued_round_trip(tmp_path):
    outputs = [
        {"output_type": "display_data", "metadata": {"scrapbook": {"name": "a", "mime_prefix": g.GLUE_PREFIX}},
         "data": {g.GLUE_PREFIX + "text/plain": ["0.", "25"]}},
        {"output_type": "display_data", "metadata": {"scrapbook": {"name": "b", "mime_prefix": ""}},
         "data": {"text/plain": "'13,755'"}},
        {"output_type": "stream", "name": "stdout", "text": "not glue"},
    ]  # fmt: skip
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps({"cells": [{"cell_type": "code", "outputs": outputs}, {"cell_type": "markdown"}]}))
    assert tu.read_glued(path) == {"a": "0.25", "b": "13,755"}


@pytest.mark.parametrize("value", ["13,755", "1e-3", "95.2%", "TF 2.21, torch 2.13"])
def test_myst_nb_renders_glued_strings_verbatim(value):
    """myst-nb's {glue:text} literal_evals the stored text: a string must come back as itself, not a tuple."""
    format_plain_text = pytest.importorskip("myst_nb.core.variables").format_plain_text
    assert format_plain_text(g._text(value), "") == value


def test_myst_nb_formats_glued_numbers():
    format_plain_text = pytest.importorskip("myst_nb.core.variables").format_plain_text
    assert format_plain_text(g._text(np.float64(13755.4)), ",.0f") == "13,755"
