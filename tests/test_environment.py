"""Environment report, version drift, Colab detection, packaging rules and run_isolated."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

import tutorial_utils as tu
from tutorial_utils import environment as env

ROOT = Path(__file__).resolve().parents[1]


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==([^\s;]+)", line)
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def test_tested_versions_match_the_pins():
    pins = _pins()
    for name in ("numpy", "torch", "tensorflow", "keras"):
        assert pins[name] == tu.TESTED_WITH[name], name
    assert pins["jupyter-book"] == "1.0.4.post1"


def test_helper_package_pins_no_framework():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = project["dependencies"]
    assert not any(re.match(r"(tensorflow|torch|keras|jax)\b", dep) for dep in deps), deps
    assert all(not re.search(r"[<>=~!]", dep) for dep in deps), f"unpinned only: {deps}"


def test_import_loads_no_framework():
    code = "import sys, tutorial_utils; print(sorted(m for m in ('torch', 'tensorflow', 'keras') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_drift_hint_names_package_and_versions(monkeypatch):
    found = {"numpy": "2.4.6", "torch": "2.11.0+cu128", "tensorflow": "2.20.0", "keras": "3.15.1"}
    monkeypatch.setattr(env, "_installed", lambda name: found.get(name))
    monkeypatch.setattr(env.platform, "python_version", lambda: "3.11.9")
    hints = env.version_drift()
    assert len(hints) == 2
    assert hints[0].startswith("torch 2.11.0+cu128 differs from the tested 2.13.0")
    assert hints[1].startswith("tensorflow 2.20.0 differs from the tested 2.21.0")


def test_no_drift_for_patch_or_local_versions(monkeypatch):
    found = {"numpy": "2.4.9", "torch": "2.13.1+cu128", "tensorflow": "2.21.0", "keras": "3.15.4"}
    monkeypatch.setattr(env, "_installed", lambda name: found.get(name))
    monkeypatch.setattr(env.platform, "python_version", lambda: "3.11.2")
    assert env.version_drift() == []


def test_colab_detection(monkeypatch):
    monkeypatch.delenv(env.COLAB_ENV, raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert not tu.in_colab()
    monkeypatch.setenv(env.COLAB_ENV, "1")
    assert tu.in_colab()


@pytest.mark.slow
def test_describe_environment_reports_both_frameworks(capsys, monkeypatch):
    pytest.importorskip("torch")
    pytest.importorskip("tensorflow")
    monkeypatch.delenv("TUTORIAL_DEVICE", raising=False)
    info = tu.describe_environment()
    out = capsys.readouterr().out
    assert info["keras_backend"] == "tensorflow"
    for name in ("numpy", "torch", "tensorflow", "keras"):
        assert re.search(rf"^{name}\s+\S+\s+{re.escape(tu.TESTED_WITH[name])}$", out, re.M), name
    assert "PyTorch device:" in out and "TensorFlow device:" in out


# --- run_isolated -------------------------------------------------------------------------------------------------


def test_run_isolated_returns_the_result_and_sees_env():
    result = tu.run_isolated("import os\nemit_result({'v': os.environ['PROBE'], 'n': [1, 2]})", env={"PROBE": "x"})
    assert result == {"v": "x", "n": [1, 2]}


def test_run_isolated_reports_the_child_error():
    with pytest.raises(tu.IsolatedRunError, match=r"status 1:(.|\n)*ZeroDivisionError"):
        tu.run_isolated("1 / 0")


def test_run_isolated_without_result_is_an_error():
    with pytest.raises(tu.IsolatedRunError, match="without printing a result"):
        tu.run_isolated("print('hello')")


def test_run_isolated_timeout():
    with pytest.raises(tu.IsolatedRunError, match="did not finish within 1 s"):
        tu.run_isolated("import time; time.sleep(10)", timeout=1)
