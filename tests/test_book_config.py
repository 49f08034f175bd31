"""The book's own machinery, without building it: the Sphinx extension (pairs, "last verified" line), the online
build's configuration, the record written by ``make sync``, and the configuration and workflows that use them."""

from __future__ import annotations

import datetime
import importlib.util
import os
import sys
from pathlib import Path

import pytest
import yaml
from _book import NOTEBOOKS, ROOT, config, read_notebook, repository
from docutils import nodes

# Once every committed chapter has been re-synced with tools/execute_chapters.py (which writes the record), set this
# to True so that a chapter committed without its "last verified" record fails.
REQUIRE_LAST_VERIFIED = True


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(path.stem, module)
    spec.loader.exec_module(module)
    return module


side_by_side = _load(ROOT / "_ext" / "side_by_side.py")
online = _load(ROOT / "_ext" / "online_config.py")


# --- pairs ----------------------------------------------------------------------------------------------------------


def _cell(*tags: str) -> nodes.container:
    return nodes.container("", nodes.literal_block("", "x = 1"), nb_element="cell_code",
                           classes=["cell", *[f"tag_{t}" for t in tags]])  # fmt: skip


def _layout(parent: nodes.Element) -> list:
    out = []
    for child in parent.children:
        if "fw-pair" in child.get("classes", []):
            grid = child.children[0]
            assert grid["classes"] == ["fw-grid"]
            out.append(tuple(_layout(grid)))
        elif isinstance(child, nodes.container):
            out.append("+".join(c.removeprefix("tag_") for c in child["classes"][1:]) or "cell")
        else:
            out.append(child.tagname)
    return out


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (["tensorflow", "pytorch"], [("tensorflow", "pytorch")]),
        (["tensorflow", "tensorflow", "pytorch"], ["tensorflow", ("tensorflow", "pytorch")]),
        (["pytorch", "tensorflow"], ["pytorch", "tensorflow"]),
        (["tensorflow", "pytorch", "pytorch"], [("tensorflow", "pytorch"), "pytorch"]),
        (["tensorflow", "pytorch", "tensorflow", "pytorch"], [("tensorflow", "pytorch"), ("tensorflow", "pytorch")]),
        (["tensorflow", "paragraph", "pytorch"], ["tensorflow", "paragraph", "pytorch"]),
        (["tensorflow", "", "pytorch"], ["tensorflow", "cell", "pytorch"]),
        (["tensorflow+pytorch", "pytorch"], ["tensorflow+pytorch", "pytorch"]),
        ([], []),
    ],
)
def test_wrap_pairs_pairs_adjacent_cells_only(cells, expected):
    section = nodes.section()
    for item in cells:
        section += nodes.paragraph("", "text") if item == "paragraph" else _cell(*filter(None, item.split("+")))
    count = side_by_side.wrap_pairs(section)
    assert _layout(section) == expected
    assert count == sum(isinstance(e, tuple) for e in expected)


def test_wrap_pairs_keeps_every_node_and_its_text():
    section = nodes.section()
    section += [_cell("tensorflow"), _cell("pytorch", "nbval-ignore-output"), nodes.paragraph("", "after")]
    before = section.astext()
    side_by_side.wrap_pairs(section)
    assert section.astext() == before
    assert len(list(section.findall(nodes.literal_block))) == 2


def test_wrap_pairs_ignores_containers_that_are_not_code_cells():
    section = nodes.section()
    section += [nodes.container("", classes=["tag_tensorflow"]), _cell("pytorch")]
    assert side_by_side.wrap_pairs(section) == 0


# --- last verified --------------------------------------------------------------------------------------------------

VERSIONS = {"python": "3.11.7", "numpy": "2.4.6", "tensorflow": "2.21.0", "keras": "3.15.1", "torch": "2.13.0+cpu"}


def test_last_verified_sentence():
    text = side_by_side.describe_record({"date": "2026-11-30", "versions": VERSIONS, "data": "sample"})
    assert text == (
        "Last verified on 2026-11-30 with TensorFlow 2.21.0, Keras 3.15.1, PyTorch 2.13.0+cpu, NumPy 2.4.6 and "
        "Python 3.11.7 (on the bundled MNIST sample)."
    )


def test_last_verified_sentence_for_an_online_build():
    record = {"date": "2026-12-01", "versions": VERSIONS, "data": "full", "when": "build"}
    assert side_by_side.describe_record(record).endswith("(executed for this build, on full MNIST).")
    record["data"] = "auto"
    assert side_by_side.describe_record(record).endswith("(executed for this build).")


@pytest.mark.parametrize(
    "record",
    [{}, {"date": "yesterday", "versions": VERSIONS}, {"date": "2026-11-30"}, {"date": "2026-11-30", "versions": {}}],
)
def test_a_malformed_record_shows_nothing(record):
    assert side_by_side.describe_record(record) is None


def test_execute_chapters_writes_a_record_the_book_can_show(monkeypatch):
    monkeypatch.setenv("TUTORIAL_DATA", "sample")
    tool = _load(ROOT / "tools" / "execute_chapters.py")
    record = tool.verification_record()
    assert datetime.date.fromisoformat(record["date"]) <= datetime.datetime.now(datetime.timezone.utc).date()
    assert record["data"] == "sample"
    assert set(record["versions"]) >= {"python", "numpy"}
    sentence = side_by_side.describe_record(record)
    assert sentence.startswith(f"Last verified on {record['date']} with ")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_chapter_records_when_it_was_verified(path):
    record = read_notebook(path)["metadata"].get("last_verified")
    if record is None:
        if REQUIRE_LAST_VERIFIED:
            pytest.fail(f"{path.name} has no last_verified record: run `make sync CHAPTERS=chapters/{path.stem}.py`")
        pytest.skip(f"{path.name}: no last_verified record yet (re-sync it with make sync)")
    assert side_by_side.describe_record(record), f"{path.name}: malformed last_verified record {record}"
    assert {"tensorflow", "torch", "keras", "numpy"} <= set(record["versions"])


# --- configuration --------------------------------------------------------------------------------------------------


def test_the_extension_and_its_static_files_are_configured():
    cfg = config()
    extensions = cfg["sphinx"]["local_extensions"]
    assert (ROOT / extensions["side_by_side"] / "side_by_side.py").is_file()
    for name in ("side-by-side.js", "side-by-side.css"):
        assert (ROOT / "_static" / name).is_file(), name  # Jupyter Book adds every _static/*.js|css to each page
    assert cfg["sphinx"]["config"]["html_theme_options"]["navbar_persistent"] == []
    assert cfg["execute"]["execute_notebooks"] == "off", "make book renders the committed, tested outputs"


def test_chapters_are_numbered():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    assert toc["parts"] and all(part.get("numbered") for part in toc["parts"])


def test_online_config_forces_execution_and_keeps_the_rest():
    original = config()
    generated = online.online_config()
    assert generated["execute"]["execute_notebooks"] == "force"
    path = Path(generated["sphinx"]["local_extensions"]["side_by_side"])
    assert path.is_absolute() and (path / "side_by_side.py").is_file()
    for key in original:
        if key not in ("execute", "sphinx"):
            assert generated[key] == original[key], key
    rest = {k: v for k, v in original["execute"].items() if k != "execute_notebooks"}
    assert {k: v for k, v in generated["execute"].items() if k != "execute_notebooks"} == rest


def test_online_config_file_is_valid_yaml(tmp_path):
    target = tmp_path / "online" / "_config.yml"
    assert online.main([str(target)]) == 0
    assert yaml.safe_load(target.read_text()) == online.online_config()


# --- the workflows call the Makefile ----------------------------------------------------------------------------


def _workflow(name: str) -> dict:
    data = yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


def _runs(workflow: dict) -> list[str]:
    return [step["run"] for job in workflow["jobs"].values() for step in job.get("steps", []) if "run" in step]


def test_pages_workflow_builds_with_make_on_the_configured_branch():
    workflow = _workflow("pages.yml")
    assert workflow["on"]["push"]["branches"] == [repository()[1]]
    assert "make book-online" in _runs(workflow)
    uses = [step.get("uses", "") for job in workflow["jobs"].values() for step in job["steps"]]
    assert any(u.startswith("actions/upload-pages-artifact@") for u in uses)
    assert any(u.startswith("actions/deploy-pages@") for u in uses)
    assert workflow["permissions"]["pages"] == "write" and workflow["permissions"]["id-token"] == "write"


def test_test_workflow_runs_make_test_on_pull_requests():
    workflow = _workflow("test.yml")
    assert "pull_request" in workflow["on"]
    assert "make test" in _runs(workflow)


def test_ci_script_runs_make_test():
    script = ROOT / ".ci" / "run"
    assert os.access(script, os.X_OK)
    assert script.read_text().rstrip().endswith("make test")
