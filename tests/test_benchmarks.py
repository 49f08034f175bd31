"""Unit tests of the pure logic in tutorial_utils.benchmarks: statistics, FLOP counting, weight layouts, the
configuration, the results schema and the headline numbers. Nothing here times anything or imports a framework."""

from __future__ import annotations

import ast
import copy
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tutorial_utils import benchmarks as bench

ROOT = Path(__file__).resolve().parents[1]


# --- statistics -------------------------------------------------------------------------------------------------


def test_summarize_median_and_quartiles():
    stats = bench.summarize([5.0, 1.0, 4.0, 2.0, 3.0])
    assert stats["median"] == 3.0
    assert (stats["q1"], stats["q3"]) == (2.0, 4.0)  # inclusive quartiles of 1..5
    assert (stats["min"], stats["max"], stats["n"]) == (1.0, 5.0, 5)
    assert stats["values"] == [5.0, 1.0, 4.0, 2.0, 3.0]  # kept in measurement order


def test_summarize_even_count_and_single_value():
    assert bench.summarize([1, 2, 3, 10])["median"] == 2.5
    one = bench.summarize([7])
    assert one["median"] == one["q1"] == one["q3"] == 7.0


@pytest.mark.parametrize("bad", [[], [1.0, float("nan")], [float("inf")]])
def test_summarize_rejects_empty_and_non_finite(bad):
    with pytest.raises(ValueError):
        bench.summarize(bad)


def test_fit_step_time_recovers_overhead_and_slope():
    batches = [32, 64, 128, 256]
    times = [0.002 + b * 1e-5 for b in batches]
    overhead, per_sample = bench.fit_step_time(batches, times)
    assert overhead == pytest.approx(0.002)
    assert per_sample == pytest.approx(1e-5)
    with pytest.raises(ValueError, match="two distinct"):
        bench.fit_step_time([64, 64], [1.0, 1.0])
    with pytest.raises(ValueError, match="same length"):
        bench.fit_step_time([1, 2], [1.0])


# --- FLOPs ------------------------------------------------------------------------------------------------------


def test_mlp_flops_match_the_formula():
    dense = [(784, 128), (128, 128), (128, 10)]
    assert bench.forward_flops("mlp") == sum(2 * a * b for a, b in dense) == 236_032
    # backward: two products per layer, except the first layer's input gradient
    assert bench.training_flops("mlp") == 3 * 236_032 - 2 * 784 * 128


def test_cnn_shapes_and_flops():
    conv1, conv2, dense = bench.layers("cnn")
    assert (conv1.h_out, conv1.n_in, conv1.n_out) == (26, 1, 16)  # 28 - 3 + 1
    assert (conv2.h_out, conv2.n_in, conv2.n_out) == (11, 16, 32)  # pool 26 -> 13, conv 13 -> 11
    assert (dense.n_in, dense.n_out) == (5 * 5 * 32, 10)  # pool 11 -> 5
    assert conv1.flops == 2 * 26 * 26 * 16 * 1 * 3 * 3
    assert conv2.flops == 2 * 11 * 11 * 32 * 16 * 3 * 3
    assert bench.forward_flops("cnn") == conv1.flops + conv2.flops + dense.flops
    assert bench.training_flops("cnn") == 3 * bench.forward_flops("cnn") - conv1.flops


def test_unknown_model_is_rejected():
    with pytest.raises(ValueError, match="mlp, cnn"):
        bench.layers("resnet")


# --- shared initial weights -------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", bench.MODELS)
def test_initial_weights_are_glorot_and_reproducible(model):
    weights = bench.initial_weights(model, seed=3)
    again = bench.initial_weights(model, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(weights, again))
    for kernel, bias in zip(weights[0::2], weights[1::2]):
        receptive = int(np.prod(kernel.shape[:-2])) if kernel.ndim > 2 else 1
        limit = np.sqrt(6 / ((kernel.shape[-2] + kernel.shape[-1]) * receptive))
        assert kernel.dtype == np.float32 and np.abs(kernel).max() <= limit
        assert not bias.any()


def test_mlp_torch_layout_is_the_transpose():
    weights = bench.initial_weights("mlp")
    converted = bench.to_torch_weights("mlp", weights)
    for keras_w, torch_w in zip(weights, converted):
        np.testing.assert_array_equal(keras_w.T if keras_w.ndim == 2 else keras_w, torch_w)


def test_cnn_dense_rows_follow_the_flatten_order():
    """Keras flattens an (h, w, c) feature map; PyTorch flattens (c, h, w). The converted dense weight must give
    the same logits on the same feature map, flattened each framework's way."""
    weights = bench.initial_weights("cnn")
    converted = bench.to_torch_weights("cnn", weights)
    h, w, c = 5, 5, 32
    features = np.random.default_rng(0).normal(size=(h, w, c)).astype(np.float32)
    logits_keras = features.reshape(-1) @ weights[-2]
    logits_torch = converted[-2] @ features.transpose(2, 0, 1).reshape(-1)
    np.testing.assert_allclose(logits_keras, logits_torch, rtol=1e-5, atol=1e-6)
    assert converted[0].shape == (16, 1, 3, 3) and converted[2].shape == (32, 16, 3, 3)


# --- configuration ----------------------------------------------------------------------------------------------


def test_full_and_reduced_configurations_are_valid():
    full, reduced = bench.BenchConfig.full(threads=2), bench.BenchConfig.reduced(threads=2)
    assert full.notes() == []
    assert reduced.notes(), "the reduced configuration must say what it leaves out"
    assert min(full.batch_sizes) == 32 and max(full.batch_sizes) == 1024
    assert len(full.training_plan()) == len(bench.MODELS) * len(bench.TRAIN_CONFIGS) * len(full.batch_sizes)


def test_training_plan_puts_the_featured_batch_first_and_honours_limits():
    config = bench.BenchConfig.reduced(threads=1)
    plan = config.training_plan("pytorch")
    assert plan[0] == ("mlp", "torch_eager", bench.FEATURED_BATCH)
    assert [b for m, c, b in plan if c == "torch_compile"] == [bench.FEATURED_BATCH]
    assert all(c != "torch_compile" for m, c, b in plan if m == "cnn")
    tf_configs = {c for _, c, _ in config.training_plan("tensorflow")}
    assert tf_configs == {"tf_eager", "tf_function", "tf_xla", "keras_fit", "keras_fit_xla"}


def test_steps_per_rep():
    full = bench.BenchConfig.full(threads=1)
    assert full.steps_per_rep("mlp", 32) == 8192 // 32
    assert full.steps_per_rep("mlp", 1024) == 8  # 8192 // 1024
    assert full.steps_per_rep("cnn", 1024) == full.min_steps == 4  # 2048 // 1024 = 2 is below min_steps


def test_config_round_trips_through_json():
    config = bench.BenchConfig.reduced(threads=2)
    assert bench.BenchConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"threads": 0}, "threads"),
        ({"mode": "quick"}, "mode"),
        ({"models": ("mlp", "resnet")}, "unknown models"),
        ({"train_configs": ("jax_jit",)}, "unknown training configurations"),
        ({"batch_sizes": (48, 64)}, "not a multiple"),
        ({"samples_per_rep": {"mlp": 0, "cnn": 64}}, "samples_per_rep"),
        ({"min_steps": 0}, "min_steps"),
        ({"batch_sizes": (32, 128)}, "chapter 04's batch size"),
        ({"repeats": 2}, "at least 3"),
        ({"limits": {"torch_compile": (96,)}}, "not in batch_sizes"),
        ({"limits": {"gpu": (64,)}}, "neither a model"),
        ({"skip": (("mlp", "fast"),)}, "pairs"),
        ({"warmup": -1}, "warmup"),
    ],
)
def test_invalid_configurations_are_rejected(change, message):
    values = {**bench.BenchConfig.full(threads=2).to_dict(), **change}
    with pytest.raises(ValueError, match=message):
        bench.BenchConfig.from_dict(values)


def test_unknown_config_keys_are_rejected():
    with pytest.raises(ValueError, match="unknown BenchConfig keys"):
        bench.BenchConfig.from_dict({"speed": "fast"})


def test_low_precision_from_cpu_flags():
    assert bench.low_precision_from_flags({"avx2", "avx512_bf16"}) == {"bfloat16": "avx512_bf16", "float16": None}
    assert bench.low_precision_from_flags({"amx_bf16", "amx_fp16", "avx512_bf16"}) == {
        "bfloat16": "amx_bf16",
        "float16": "amx_fp16",
    }
    assert bench.low_precision_from_flags(set()) == {"bfloat16": None, "float16": None}


# --- results: schema, derived numbers, headline ------------------------------------------------------------------


def _stats(value):
    return bench.summarize([value * 0.9, value, value * 1.1])


def _synthetic_results():
    """Results shaped like run_suite's, with made-up numbers (no timing involved)."""
    speeds = {
        "tf_eager": 1_000.0,
        "tf_function": 20_000.0,
        "tf_xla": 40_000.0,
        "keras_fit": 16_000.0,
        "keras_fit_xla": 35_000.0,
        "torch_eager": 25_000.0,
        "torch_compile": 30_000.0,
    }
    training = []
    for batch, scale in ((64, 1.0), (1024, 4.0)):
        for config, sps in speeds.items():
            training.append(
                {
                    "framework": bench.TRAIN_CONFIGS[config][0],
                    "model": "mlp",
                    "config": config,
                    "batch_size": batch,
                    "steps_per_rep": 32,
                    "samples_per_s": _stats(sps * scale),
                    "step_ms": _stats(1000 * batch / (sps * scale)),
                    "first_call_s": 1.0,
                    "compile_s": 0.9,
                    "warmup_s": [1.0],
                    "check_losses": [2.3, 2.1],
                }
            )
    matmul = [
        {"framework": fw, "dtype": "float32", "n": n, "gflops": _stats(g), "first_call_s": 0.1, "corner": [[1.0]]}
        for fw, g in (("numpy", 40.0), ("pytorch", 50.0), ("tensorflow", 45.0))
        for n in (256, 1024)
    ]
    results = {
        "schema": bench.SCHEMA,
        "mode": "reduced",
        "created": "2026-01-01T00:00:00+00:00",
        "settings": bench.BenchConfig.reduced(threads=2).to_dict(),
        "notes": [],
        "machine": {"threads": 2, "cpu": "test CPU"},
        "flops": {},
        "processes": {"pytorch": {"device": "cpu"}, "tensorflow": {"device": "/CPU:0"}},
        "matmul": matmul,
        "training": training,
        "inference": [],
        "pipelines": [],
        "errors": [],
        "elapsed_s": 1.0,
    }
    return bench.derive(results), speeds


def test_derive_adds_ceiling_gflops_and_utilisation():
    results, speeds = _synthetic_results()
    assert results["ceiling"]["pytorch"]["float32"] == 50.0
    entry = next(e for e in results["training"] if e["config"] == "keras_fit" and e["batch_size"] == 64)
    expected = speeds["keras_fit"] * bench.training_flops("mlp") / 1e9
    assert entry["gflops"] == pytest.approx(expected)
    assert entry["utilisation"] == pytest.approx(expected / 45.0)
    bench.validate_results(results)


def test_headline_ratios_and_featured_slowdown():
    results, speeds = _synthetic_results()
    at64 = results["headline"]["models"]["mlp"]["64"]
    assert at64["tf_over_pt"]["eager"] == pytest.approx(speeds["tf_eager"] / speeds["torch_eager"])
    assert at64["tf_over_pt"]["featured"] == pytest.approx(speeds["keras_fit"] / speeds["torch_eager"])
    assert at64["tf_over_pt"]["compiled"] == pytest.approx(speeds["tf_xla"] / speeds["torch_compile"])
    assert at64["tf_over_pt"]["fastest"] == pytest.approx(speeds["tf_xla"] / speeds["torch_compile"])
    tf_featured = at64["featured"]["tensorflow"]
    assert tf_featured["fastest"] == "tf_xla"
    assert tf_featured["slowdown"] == pytest.approx(40_000 / 16_000)
    assert at64["featured"]["pytorch"]["slowdown"] == pytest.approx(30_000 / 25_000)
    assert set(results["headline"]["models"]["mlp"]) == {"64", "1024"}
    assert "NOT within 1.5x" in bench.summary_text(results)  # Keras fit is 2.5x slower than XLA here


def test_featured_verdict_suggests_the_closest_alternative():
    results, speeds = _synthetic_results()
    verdict = bench.featured_verdict(results, "tensorflow")
    assert not verdict["within"]
    assert [(m, b, c) for m, b, c, _ in verdict["cases"]] == [("mlp", 64, "tf_xla"), ("mlp", 1024, "tf_xla")]
    # Keras fit with jit_compile=True is the closest alternative, and it is within 1.5x of XLA's custom loop
    assert verdict["instead"] == "keras_fit_xla"
    assert verdict["instead_slowdown"] == pytest.approx(speeds["tf_xla"] / speeds["keras_fit_xla"])
    del speeds["keras_fit_xla"]
    results["training"] = [e for e in results["training"] if e["config"] != "keras_fit_xla"]
    bench.derive(results)  # without it, tf.function (2x slower than XLA) is out: XLA's loop itself is suggested
    assert bench.featured_verdict(results, "tensorflow")["instead"] == "tf_xla"
    assert bench.featured_verdict(results, "pytorch") == {
        "within": True,
        "cases": [],
        "instead": None,
        "instead_slowdown": None,
    }


def test_busy_warning_uses_the_load_average():
    results, _ = _synthetic_results()
    results["machine"].update(load_before=0.2, load_after=0.9)
    assert bench.busy_warning(results) is None  # below half of 2 threads
    results["machine"]["load_after"] = 3.5
    assert "load average up to 3.5" in bench.busy_warning(results)
    assert "WARNING: the machine was busy" in bench.summary_text(results)


def test_validate_results_reports_every_problem():
    results, _ = _synthetic_results()
    broken = copy.deepcopy(results)
    del broken["machine"]["threads"]
    broken["training"][0]["config"] = "jax_jit"
    broken["training"][1]["samples_per_s"]["median"] = -1.0
    del broken["matmul"][0]["gflops"]
    with pytest.raises(ValueError) as info:
        bench.validate_results(broken)
    text = str(info.value)
    for expected in ("machine.threads", "unknown name 'jax_jit'", "positive finite", "matmul[0]: missing"):
        assert expected in text


def test_validate_results_rejects_a_wrong_schema_and_framework_mismatch():
    results, _ = _synthetic_results()
    results["schema"] = "other/0"
    results["training"][0]["framework"] = "pytorch"  # tf_eager is TensorFlow's
    with pytest.raises(ValueError, match="schema is 'other/0'") as info:
        bench.validate_results(results)
    assert "does not belong to 'pytorch'" in str(info.value)


def test_markdown_table():
    table = bench.markdown_table(["config", "samples/s"], [["a|b", "1,000"]])
    assert table.splitlines() == ["| config | samples/s |", "|:--|--:|", "| a\\|b | 1,000 |"]
    with pytest.raises(ValueError, match="cells"):
        bench.markdown_table(["a", "b"], [["only one"]])


# --- the module's contract ----------------------------------------------------------------------------------------


def test_importing_the_module_loads_no_framework():
    code = "import sys, tutorial_utils.benchmarks; print(sorted({'torch', 'tensorflow', 'keras'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def _function_body(source: str, name: str) -> list[str]:
    """The statements of function *name* in *source*, without its docstring, as normalised source lines."""
    tree = ast.parse(source)
    node = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == name)
    body = node.body[1:] if isinstance(node.body[0], ast.Expr) else node.body
    return [ast.unparse(statement) for statement in body]


def test_featured_pytorch_loop_is_chapter_04s_train_epoch():
    """The benchmark times chapter 04's loop exactly: same statements as its train_epoch."""
    chapter = (ROOT / "chapters" / "04_code_examples.py").read_text(encoding="utf-8")
    module = (ROOT / "src" / "tutorial_utils" / "benchmarks.py").read_text(encoding="utf-8")
    assert _function_body(module, "torch_train_epoch") == _function_body(chapter, "train_epoch")
