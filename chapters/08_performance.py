# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     notebook_metadata_filter: kernelspec,jupytext,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% tags=["remove-cell"]
# Colab only: install the book's helper package, tutorial_utils, from the book's
# repository. It reinstalls none of TensorFlow, PyTorch or NumPy and needs no restart.
# Anywhere else this cell does nothing.
import os
import subprocess
import sys

BOOK_REPOSITORY = "https://github.com/tf-pt-book/tensorflow-pytorch-side-by-side"
BOOK_BRANCH = "main"
if "google.colab" in sys.modules or os.environ.get("TUTORIAL_FORCE_COLAB") == "1":
    source = os.environ.get(
        "TUTORIAL_INSTALL_SOURCE", f"git+{BOOK_REPOSITORY}@{BOOK_BRANCH}"
    )
    package = f"tfpt-tutorial-utils @ {source}"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", package]
    subprocess.run(pip, check=True)

# %% [markdown]
# (ch-performance)=
# # Performance, measured: TensorFlow and PyTorch on the hardware at hand
#
# Section 5 of the article (未来发展趋势与挑战, "future trends and challenges") predicts that growing models "will
# need higher-performance computing devices and more efficient algorithms" (需要更高性能的计算设备和更高效的算法). It
# gives no number, for either framework. This chapter measures, on whatever machine runs it (a 2-core CPU in this
# book's tests, a GPU on Colab), how fast the hardware multiplies matrices; how close each framework's training loops
# come to that ceiling, for chapter 04's MLP and for a small CNN; what `tf.function`, XLA and `torch.compile` buy, and
# what they cost before the first step; how fast a single prediction is; and whether the input pipeline keeps up. It
# also checks a promise this book makes: that the loops it teaches in {ref}`ch-code-examples` (Keras `fit` and an
# explicit PyTorch loop) are fast ones.
#
# :::{admonition} Learning goals
# :class: tip
# - time deep-learning code so that the numbers mean something: warm-up, repetitions, medians and quartiles, the same
#   thread count for both frameworks, and a first call timed on its own;
# - count a model's FLOPs, and express training speed as a share of the machine's matrix-multiply ceiling;
# - explain why small batches leave most of that ceiling unused, and read a profiler summary of one training step in
#   each framework;
# - know what `tf.function`, `jit_compile=True` and `torch.compile` change, and what each costs up front;
# - tell when the input pipeline, not the model, limits training.
# :::
#
# **Prerequisites:** {ref}`ch-code-examples` (the two training loops measured here) and {ref}`ch-graphs-autodiff`
# (what `tf.function` traces). **Runs in:** about 90 s on a 2-core CPU, in a reduced configuration; `make bench` runs
# the full one, designed to take at most 10 minutes on an idle 2-core CPU.

# %% [markdown]
# ## Setup
#
# Besides the usual imports, the setup gives both frameworks the same number of CPU threads: all the cores this
# process may use. TensorFlow accepts a thread count only before it runs its first operation
# ([`tf.config.threading`][tf-threads]), PyTorch before any parallel work ([`torch.set_num_threads`][pt-threads]), so
# `set_threads` comes right after the imports. The measurements themselves run in separate processes, which set the
# same count again.
#
# [tf-threads]: https://www.tensorflow.org/api_docs/python/tf/config/threading/set_intra_op_parallelism_threads
# [pt-threads]: https://pytorch.org/docs/stable/generated/torch.set_num_threads.html

# %% tags=["nbval-ignore-output"]
import tutorial_utils as tu

import torch
import tensorflow as tf
import keras
import inspect
import tempfile
import numpy as np
from IPython.display import Markdown, display
from tutorial_utils import benchmarks as bench

threads = bench.default_threads()
threads_set = bench.set_threads(threads)
tu.use_book_style()
info = tu.describe_environment()
print(f"Both frameworks use {threads} intra-op threads: {threads_set}")

# %%
assert keras.backend.backend() == "tensorflow", (
    "restart the kernel without KERAS_BACKEND=torch"
)
assert threads_set == {"pytorch": threads, "tensorflow": threads}, threads_set
device_pt = tu.torch_device()
device_tf = tu.tf_device()
tu.seed_everything(0, deterministic=False)  # deterministic kernels can be slower

# %% [markdown]
# `deterministic=False`: this chapter measures speed, and deterministic kernels may be slower
# ([PyTorch](https://pytorch.org/docs/stable/notes/randomness.html),
# [TensorFlow](https://www.tensorflow.org/api_docs/python/tf/config/experimental/enable_op_determinism)).
#
# ## How this page measures
#
# Timing deep-learning code goes wrong in a few well-known ways: the first call includes tracing and compiling; one
# run is noise; GPU work is asynchronous, so a clock read before the device finishes measures nothing; and two
# frameworks in one process compete for the same cores. The measurements here (module
# `tutorial_utils.benchmarks`, shared with `make bench`) avoid each:
#
# - **A process per framework.** `run_suite` measures NumPy, then PyTorch, then TensorFlow, each in a fresh Python
#   process with the same number of intra-op threads. Neither framework's thread pool can take cores from the other,
#   and TensorFlow's thread setting is made before its first operation.
# - **The first call on its own.** Every measurement times its first call separately (it includes tracing, compiling
#   and building; see {ref}`sec-perf-compile`), then runs warm-up repetitions, then the
#   timed ones. Results are **medians**, with the quartiles as spread. A measurement stops repeating after three
#   repetitions once it has used its time budget.
# - **Steady-state steps.** One training repetition is a fixed number of steps (at least 4, more at small batch
#   sizes) drawn from the same input pipeline as chapter 04: `to_tf_dataset` (shuffle, batch, prefetch) for
#   TensorFlow, `to_torch_loader` (a `DataLoader` over a `TensorDataset`) for PyTorch, over 8,192 MNIST images and
#   repeated without end, so that the cost of starting each epoch is spread as in a long run. 8,192 is a multiple of
#   every batch size, so that no epoch ends in a smaller batch: each new input shape makes `tf.function` trace again
#   and XLA and `torch.compile` compile again.
# - **Waiting for the device.** Each repetition ends by turning its mean loss into a Python float, which waits for
#   every queued operation; on a GPU, matrix-multiply timings call `torch.cuda.synchronize()` or
#   `tf.test.experimental.sync_devices()`.
#
# Timings differ from run to run and from machine to machine, so the book's tests never compare them and never fail
# on them. Run this page on an otherwise idle machine: anything else using the cores slows both frameworks, and not
# by the same amount. Below, `config` is the reduced configuration that fits this page's time budget; replace
# `reduced` by `full` to measure what `make bench` measures. What the reduced configuration leaves out:

# %%
config = bench.BenchConfig.reduced(threads)
for note in config.notes():
    print("-", note)

# %% [markdown]
# ## Counting the work
#
# A dense layer with `in` inputs and `out` outputs does `in × out` multiply-adds per sample, which is
# `2 × in × out` floating-point operations (FLOPs). A convolution with a `k × k` kernel does
# `2 × H_out × W_out × C_out × C_in × k × k`. The backward pass computes, per layer, the gradient with respect to
# the weights and the gradient with respect to the layer's input: two products of the same size as the forward one.
# The first layer needs no input gradient (its input is data), so one training step costs
#
# $$\text{training FLOPs} = 3 \times \text{forward FLOPs} - \text{forward FLOPs of the first layer}.$$
#
# The common rule of thumb "training ≈ 3 × forward", used to define *model FLOPs utilisation* in the PaLM paper
# ([Chowdhery et al. 2022, appendix B](https://arxiv.org/abs/2204.02311)) and behind the "6 N FLOPs per token" of
# [Kaplan et al. 2020](https://arxiv.org/abs/2001.08361), counts that first-layer gradient too. For chapter 04's MLP
# the first layer holds most of the weights, so the rule overstates the work by {glue:text}`ch08_rule_mlp` (the CNN:
# {glue:text}`ch08_rule_cnn`); this chapter uses the exact count. Bias additions, activations, pooling and the
# optimizer's update are left out of both: they grow with the number of activations or parameters, not with their
# products.

# %%
for name in bench.MODELS:
    print(f"{name.upper()}:")
    for layer in bench.layers(name):
        shape = (
            f"{layer.n_in} -> {layer.n_out}"
            if layer.kind == "dense"
            else f"{layer.k}x{layer.k}, {layer.n_in} -> {layer.n_out} channels,"
            f" {layer.h_out}x{layer.w_out} out"
        )
        print(f"  {layer.kind:<6}{shape:<44}{layer.flops:>12,} FLOPs/sample")
    print(
        f"  forward {bench.forward_flops(name):,}, "
        f"training step {bench.training_flops(name):,} FLOPs/sample"
    )
    rule = 3 * bench.forward_flops(name) / bench.training_flops(name) - 1
    print(f"  the 3 x forward rule overstates the training step by {rule:.0%}")

# %% tags=["hide-input", "nbval-ignore-output"]
for name in bench.MODELS:  # quoted in the text above
    rule = 3 * bench.forward_flops(name) / bench.training_flops(name) - 1
    tu.glue(f"ch08_rule_{name}", f"{rule:.0%}")

# %% [markdown]
# PyTorch can count the same thing while the model runs: `torch.utils.flop_counter.FlopCounterMode` adds up the
# FLOPs of every matrix multiply and convolution it sees, forward and backward. The check below runs both models on a
# batch of eight and fails if the counter disagrees with the formulas above by a single FLOP.

# %%
from torch.utils.flop_counter import FlopCounterMode

for name in bench.MODELS:
    model_pt = bench.build_torch_model(name)
    X = torch.zeros(8, 784) if name == "mlp" else torch.zeros(8, 1, 28, 28)
    y = torch.zeros(8, dtype=torch.long)
    with FlopCounterMode(display=False) as forward_count:
        model_pt(X)
    with FlopCounterMode(display=False) as training_count:
        torch.nn.functional.cross_entropy(model_pt(X), y).backward()
    assert forward_count.get_total_flops() == 8 * bench.forward_flops(name)
    assert training_count.get_total_flops() == 8 * bench.training_flops(name)
    print(f"{name.upper()}: FlopCounterMode agrees with the formulas")

# %% [markdown]
# ## The code being timed
#
# Seven training configurations, all doing the same work per step: forward pass, cross-entropy on logits, gradients,
# an Adam update (learning rate $10^{-3}$, $\epsilon = 10^{-7}$, as in chapter 04), and the mean loss and accuracy
# over the steps run. Both frameworks start from the same initial weights (Glorot-uniform kernels and zero biases,
# drawn once with NumPy and copied into each framework's layout) and see the same MNIST images.
#
# | configuration | what runs |
# |---|---|
# | TF eager loop | `train_step` below, called as it is: every operation dispatched from Python |
# | TF `tf.function` loop | `tf.function(train_step)`: traced once into a graph ([guide][tf-function]) |
# | TF `tf.function(jit_compile=True)` | the same graph compiled by XLA, which fuses operations ([XLA][xla]) |
# | **Keras fit** (featured) | chapter 04's `model.compile(...)` and `model.fit(dataset, ...)`, defaults kept |
# | Keras fit, `jit_compile=True` | the same, with `model.compile(..., jit_compile=True)` |
# | **PyTorch eager loop** (featured) | chapter 04's `train_epoch`, unchanged |
# | PyTorch `torch.compile` | the same loop over `torch.compile(model)` ([tutorial][pt-compile]) |
#
# [tf-function]: https://www.tensorflow.org/guide/function
# [xla]: https://openxla.org/xla/tf2xla
# [pt-compile]: https://pytorch.org/tutorials/intermediate/torch_compile_tutorial.html
#
# The code, printed from the module that `make bench` and this page run. TensorFlow's three custom loops share
# `tf_train_step` and differ only in how they wrap it. The loop keeps each step's loss and count of correct
# predictions as tensors and converts them once, at the end of the pass, so that it never waits for the device in
# the middle. The PyTorch loop is chapter 04's `train_epoch` (a test in `tests/test_benchmarks.py` fails if the two
# ever differ): it calls `.item()` after every step, as most PyTorch code does.


# %%
def show_code(*functions):
    """The source of *functions*, displayed as a code block."""
    source = "\n\n".join(inspect.getsource(function) for function in functions)
    return Markdown(f"```python\n{source}```")


# %% tags=["tensorflow"]
show_code(bench.tf_train_step, bench.tf_train_epoch)

# %% tags=["pytorch"]
show_code(bench.torch_train_epoch)

# %% [markdown]
# Keras's `compile` has a `jit_compile` argument whose default, `"auto"`, "enables XLA compilation if the model
# supports it" ([Keras `Model.compile`](https://keras.io/api/models/model_training_apis/#compile-method)). The
# documentation does not say that "auto" also looks at the hardware: on a machine without a GPU it turns XLA off
# (`_resolve_auto_jit_compile` in `keras/src/trainers/trainer.py`). So chapter 04's `fit` runs a plain `tf.function`
# on a CPU and an XLA-compiled one on Colab's GPU. The check:

# %% tags=["tensorflow"]
model_tf = bench.build_keras_model("mlp")
model_tf.compile(
    optimizer="adam",
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
gpus_tf = tf.config.list_physical_devices("GPU")
assert model_tf.jit_compile == bool(gpus_tf), (model_tf.jit_compile, gpus_tf)
print("checked: compile()'s default uses XLA if and only if TensorFlow sees a GPU")

# %% [markdown]
# ## Running the measurements
#
# One call runs everything: three processes, one after the other. It prints one line per measurement while it runs
# (the lines vary, so the tests do not compare them); `results` is the same dictionary that `make bench` saves as
# JSON.

# %% tags=["nbval-ignore-output"]
results = bench.run_suite(config)
machine = results["machine"]
print(
    f"{results['elapsed_s']:.0f} s on {machine['cpu']} ({machine['cpu_count']} CPUs), "
    f"{machine['threads']} threads per framework; PyTorch on "
    f"{results['processes']['pytorch']['device']}, TensorFlow on "
    f"{results['processes']['tensorflow']['device']}"
)
print("Warning:", bench.busy_warning(results) or "none, the machine was idle enough")
tu.glue("ch08_threads", str(machine["threads"]))
tu.glue("ch08_cpu", machine["cpu"])

# %% [markdown]
# What must hold on every run: the results follow the schema `make bench` writes, nothing failed, and every planned
# measurement is there.

# %%
bench.validate_results(results)
assert not results["errors"], results["errors"]
measured = {(e["model"], e["config"], e["batch_size"]) for e in results["training"]}
assert measured == set(config.training_plan()), set(config.training_plan()) - measured
print(
    f"{len(results['training'])} training, {len(results['inference'])} inference and "
    f"{len(results['pipelines'])} input-pipeline measurements, none failed"
)

# %% [markdown]
# ## The ceiling: how fast this machine multiplies matrices
#
# Dense layers and convolutions are matrix multiplies underneath, so the speed of one large matrix multiply is the
# most a training step can hope for. Multiplying two $n \times n$ matrices takes $2n^3$ FLOPs; dividing by the time
# gives GFLOP/s. NumPy, PyTorch and TensorFlow each call an optimised library (NumPy its bundled BLAS, PyTorch and
# TensorFlow oneDNN or MKL on a CPU, cuBLAS on an NVIDIA GPU), and small matrices do not keep the hardware busy.
# The ceiling used below is each framework's best median in float32. Where the hardware has native 16-bit
# arithmetic (a CPU with `avx512_bf16` or `amx_bf16`, any recent GPU), the same multiply is also timed in bfloat16 or
# float16, to show how much higher the ceiling moves if a model can use them ({ref}`ch-trends-scale` trains that way).

# %% tags=["hide-input", "nbval-ignore-output"] mystnb={"markdown_format": "gfm"}
display(Markdown(bench.table_matmul(results)))
ceiling = results["headline"]["ceiling_float32"]
for framework in ("numpy", "pytorch", "tensorflow"):
    tu.glue(f"ch08_ceiling_{framework}", f"{ceiling[framework]:.0f}")
low = {
    (e["framework"], e["dtype"]): results["ceiling"][e["framework"]][e["dtype"]]
    for e in results["matmul"]
    if e["dtype"] != "float32"
}
print(f"float32 ceilings (GFLOP/s): {ceiling}")
print(
    f"16-bit ceilings (GFLOP/s): {low or 'not measured: no native 16-bit arithmetic'}"
)

# %%
fig = bench.plot_ceiling(results)

# %% [markdown]
# On this run the float32 ceiling is {glue:text}`ch08_ceiling_numpy` GFLOP/s in NumPy,
# {glue:text}`ch08_ceiling_pytorch` in PyTorch and {glue:text}`ch08_ceiling_tensorflow` in TensorFlow, with
# {glue:text}`ch08_threads` threads. Are the three computing the same product? The check recomputes a corner of every
# product in float64 from the same seeded inputs, and compares: float32 results to float32 round-off, 16-bit results
# to within what their 8-bit (bfloat16) or 11-bit (float16) significands allow.

# %%
tf32 = results["processes"]["tensorflow"]["tensor_float_32"] and bool(gpus_tf)
for e in results["matmul"]:
    a, b = bench.matmul_inputs(e["n"], config.seed)  # the inputs every process used
    exact = a[:2].astype(np.float64) @ b[:, :2].astype(np.float64)
    if e["dtype"] == "float32" and not (tf32 and e["framework"] == "tensorflow"):
        np.testing.assert_allclose(e["corner"], exact, rtol=1e-4, atol=1e-4)
    else:  # 16-bit inputs, or TensorFloat-32: about 3 significant digits per product
        np.testing.assert_allclose(e["corner"], exact, atol=4e-3 * np.sqrt(e["n"]))
print("checked: every framework and dtype computes the same matrix product")

# %% [markdown]
# ## Do all configurations compute the same training step?
#
# Before comparing speeds, make sure the seven configurations do the same work. Each measurement starts with two
# training steps on the same fixed batch from the same initial weights, and records both losses. The first loss
# depends only on the forward pass: it must agree across all seven configurations and both frameworks. The second
# loss comes after one Adam update: it must agree exactly within each framework (so eager, graph, XLA and
# `torch.compile` compute the same update) and closely across the two, which place Adam's $\epsilon$ differently:
# Keras adds it to $\sqrt{v}$ before the bias correction ("epsilon hat" in
# [its documentation](https://keras.io/api/optimizers/adam/)), PyTorch to $\sqrt{\hat v}$ after it
# ([`torch.optim.Adam`](https://pytorch.org/docs/stable/generated/torch.optim.Adam.html)).

# %%
by_case = {}
for e in results["training"]:
    by_case.setdefault((e["model"], e["batch_size"]), []).append(e)
for entries in by_case.values():
    first = [e["check_losses"][0] for e in entries]
    np.testing.assert_allclose(first, first[0], rtol=1e-5)
    for framework in ("tensorflow", "pytorch"):
        second = [e["check_losses"][1] for e in entries if e["framework"] == framework]
        np.testing.assert_allclose(second, second[0], rtol=1e-5)
    second = [e["check_losses"][1] for e in entries]
    np.testing.assert_allclose(second, second[0], rtol=1e-3)
configs_checked = sorted({e["config"] for e in results["training"]})
print(f"checked: {len(configs_checked)} configurations compute the same training step")

# %% [markdown]
# ## Training throughput
#
# The figure shows each configuration's achieved GFLOP/s (samples per second times the training FLOPs per sample)
# against the batch size, with each framework's float32 matrix-multiply ceiling as a dashed line of its colour; the
# featured loops are drawn thicker.

# %%
fig = bench.plot_training(results)

# %%
for e in results["training"]:
    assert e["samples_per_s"]["median"] > 0 and 0 < e["utilisation"] < 2, e
print("checked: every throughput is positive and below twice the ceiling")


def entry(model, config_name, batch):
    """The training measurement of one configuration, or None if it was not run."""
    found = [
        e
        for e in results["training"]
        if (e["model"], e["config"], e["batch_size"]) == (model, config_name, batch)
    ]
    return found[0] if found else None


# %% [markdown]
# The tables give the numbers: samples per second (median) for every configuration and batch size, and in brackets
# the share of the framework's float32 matrix-multiply ceiling that the step's FLOPs reach.

# %% tags=["hide-input", "nbval-ignore-output"] mystnb={"markdown_format": "gfm"}
display(Markdown("**MLP**\n\n" + bench.table_training(results, "mlp")))
display(Markdown("**CNN**\n\n" + bench.table_training(results, "cnn")))
largest = max(config.batch_sizes)
featured_64 = {fw: entry("mlp", c, 64) for fw, c in bench.FEATURED.items()}
featured_big = {fw: entry("mlp", c, largest) for fw, c in bench.FEATURED.items()}
for fw in bench.FEATURED:
    tu.glue(f"ch08_sps64_{fw}", f"{featured_64[fw]['samples_per_s']['median']:,.0f}")
    tu.glue(f"ch08_util64_{fw}", f"{featured_64[fw]['utilisation']:.1%}")
    tu.glue(f"ch08_utilbig_{fw}", f"{featured_big[fw]['utilisation']:.0%}")
tu.glue("ch08_largest", str(largest))
smallest = min(config.batch_sizes)
gains = [
    entry("mlp", c, largest)["samples_per_s"]["median"]
    / entry("mlp", c, smallest)["samples_per_s"]["median"]
    for c in bench.TRAIN_CONFIGS
    if entry("mlp", c, largest) and entry("mlp", c, smallest)
]
tu.glue("ch08_small", str(smallest))
tu.glue("ch08_gain_min", f"{min(gains):.1f}")
tu.glue("ch08_gain_max", f"{max(gains):.1f}")
best_util = max(results["training"], key=lambda e: e["utilisation"])
tu.glue("ch08_best_util", f"{best_util['utilisation']:.0%}")
tu.glue(
    "ch08_best_util_case",
    f"{bench.TRAIN_CONFIGS[best_util['config']][1]}, {best_util['model'].upper()}, "
    f"batch {best_util['batch_size']}",
)
step_flops = 64 * bench.training_flops("mlp")
tu.glue("ch08_step_mflop", f"{step_flops / 1e6:.1f}")
ideal_ms = 1000 * step_flops / (results["ceiling"]["pytorch"]["float32"] * 1e9)
tu.glue("ch08_ideal_ms", f"{ideal_ms:.2f}")
tu.glue("ch08_step_ms_pt", f"{featured_64['pytorch']['step_ms']['median']:.2f}")
print({fw: round(e["utilisation"], 4) for fw, e in featured_64.items()})

# %% [markdown]
# At chapter 04's batch size of 64, Keras `fit` trains the MLP at {glue:text}`ch08_sps64_tensorflow` samples/s
# ({glue:text}`ch08_util64_tensorflow` of TensorFlow's ceiling) and the PyTorch loop at
# {glue:text}`ch08_sps64_pytorch` samples/s ({glue:text}`ch08_util64_pytorch` of PyTorch's). At batch
# {glue:text}`ch08_largest` the same loops reach {glue:text}`ch08_utilbig_tensorflow` and
# {glue:text}`ch08_utilbig_pytorch`. The best share on the page is {glue:text}`ch08_best_util`
# ({glue:text}`ch08_best_util_case`). Small batches leave most of the machine idle; the next section shows why.
#
# ## Why small batches sit far below the ceiling
#
# A training step has two kinds of cost. One grows with the batch: the multiply-adds. The other does not: Python
# running the loop, the framework dispatching each operation (a dense layer is a matrix multiply, a bias add and an
# activation; the backward pass and Adam's update add dozens more small operations per step, one or more per
# parameter tensor), and the data pipeline handing over a batch. With 64 samples of the MLP, the arithmetic is
# {glue:text}`ch08_step_mflop` million FLOPs, which PyTorch's ceiling on this machine would finish in
# {glue:text}`ch08_ideal_ms` ms; the measured step takes {glue:text}`ch08_step_ms_pt` ms. The plot shows the
# milliseconds per step against the batch size, and as a dashed black line the time the step's FLOPs alone would take
# at the framework's matrix-multiply ceiling. The gap at the left is per-step overhead.

# %%
fig = bench.plot_step_time(results, "mlp")

# %% [markdown]
# Fitting a straight line, step time = overhead + batch size × time per sample, to the featured loops' medians puts a
# number on the fixed part:

# %% tags=["nbval-ignore-output"]
for fw, config_name in bench.FEATURED.items():
    points = sorted(
        (e["batch_size"], e["step_ms"]["median"] / 1000)
        for e in results["training"]
        if e["model"] == "mlp" and e["config"] == config_name
    )
    overhead, per_sample = bench.fit_step_time(*zip(*points))
    tu.glue(f"ch08_overhead_{fw}", f"{overhead * 1e6:,.0f}")
    tu.glue(f"ch08_per_sample_{fw}", f"{per_sample * 1e6:.2f}")
    print(
        f"{bench.TRAIN_CONFIGS[config_name][1]}: overhead {overhead * 1e6:,.0f} µs "
        f"per step, {per_sample * 1e6:.2f} µs per sample"
    )

# %% [markdown]
# Keras `fit` spends about {glue:text}`ch08_overhead_tensorflow` µs per step whatever the batch, and
# {glue:text}`ch08_per_sample_tensorflow` µs per sample; the PyTorch loop {glue:text}`ch08_overhead_pytorch` µs and
# {glue:text}`ch08_per_sample_pytorch` µs. (A least-squares line through medians is a summary, not a model of the
# hardware: caches make the per-sample cost change with the batch size, and the intercept can come out small or
# even negative when they do.) Larger batches spread the fixed part over more samples, which is why throughput rises
# with the batch size until the arithmetic dominates. Compilers attack the fixed part from the other side: XLA and
# `torch.compile` fuse the small operations into fewer, larger ones.
#
# ### Where one step goes: a profiler for each framework
#
# A profiler lists the operations a step ran and the time each took. Both frameworks have one. PyTorch's
# [`torch.profiler`](https://pytorch.org/docs/stable/profiler.html) returns its summary directly
# (`key_averages()`). TensorFlow's [`tf.profiler.experimental`](https://www.tensorflow.org/guide/profiler) writes a
# trace (an `XSpace` protocol buffer, `*.xplane.pb`) meant for TensorBoard's Profile tab; TensorFlow 2.21 no longer
# installs TensorBoard ([release notes](https://github.com/tensorflow/tensorflow/releases/tag/v2.21.0)), so
# `bench.xplane_op_summary` reads the trace with the message class that TensorFlow ships
# (`tensorflow.tsl.profiler.protobuf.xplane_pb2`, an internal module) and adds up the time of each operation type.
# Each cell below warms up with one epoch and profiles the next: 32 steps of chapter 04's loop, batch 64.

# %% tags=["tensorflow"]
weights = bench.initial_weights("mlp")
x_np, y_np = bench.bench_arrays("mlp", "tensorflow", 2048)
model_tf = bench.build_keras_model("mlp", weights)
model_tf.compile(
    optimizer=keras.optimizers.Adam(learning_rate=1e-3, epsilon=1e-7),
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
train_ds = tu.to_tf_dataset(x_np, y_np, batch_size=64, shuffle=True, seed=0)
model_tf.fit(train_ds, epochs=1, verbose=0, shuffle=False)  # warm-up: traces
logdir = tempfile.mkdtemp()
tf.profiler.experimental.start(logdir)
model_tf.fit(train_ds, epochs=1, verbose=0, shuffle=False)
tf.profiler.experimental.stop()
profile_tf = bench.xplane_op_summary(logdir, top=8)

# %% tags=["pytorch"]
model_pt = bench.build_torch_model("mlp", weights).to(device_pt)
loss_fn = torch.nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model_pt.parameters(), lr=1e-3, eps=1e-7)
train_loader = tu.to_torch_loader(x_np, y_np, batch_size=64, shuffle=True, seed=0)
bench.torch_train_epoch(model_pt, train_loader, loss_fn, optimizer, device_pt)
activities = [torch.profiler.ProfilerActivity.CPU]
if device_pt.type == "cuda":
    activities.append(torch.profiler.ProfilerActivity.CUDA)
with torch.profiler.profile(activities=activities) as prof:
    bench.torch_train_epoch(model_pt, train_loader, loss_fn, optimizer, device_pt)
profile_pt = bench.torch_profile_summary(prof, top=8, device=device_pt.type == "cuda")

# %% [markdown]
# The eight most expensive entries of each, by the time spent in the entry itself. TensorFlow's summary counts
# operations only (on every executor thread, summed). PyTorch's also has ranges that PyTorch records around Python
# code, such as `Optimizer.step#Adam.step` and `enumerate(DataLoader)#...__next__`: their own time is Python running
# inside them, outside any operation.

# %% tags=["hide-input", "nbval-ignore-output"] mystnb={"markdown_format": "gfm"}
display(Markdown("**TensorFlow (Keras fit)**\n\n" + bench.table_profile(profile_tf)))
display(Markdown("**PyTorch (eager loop)**\n\n" + bench.table_profile(profile_pt)))
matmul_ops_tf = ("MatMul", "_MklMatMul", "_MklNativeFusedMatMul", "_FusedMatMul")
matmul_ops_pt = ("aten::mm", "aten::addmm", "aten::matmul", "aten::linear")
share_tf = sum(r["share"] for r in profile_tf if r["op"] in matmul_ops_tf)
share_pt = sum(r["share"] for r in profile_pt if r["op"] in matmul_ops_pt)
tu.glue("ch08_matmul_share_tf", f"{share_tf:.0%}")
tu.glue("ch08_matmul_share_pt", f"{share_pt:.0%}")
print(
    f"matrix multiplies: TensorFlow {share_tf:.0%}, PyTorch {share_pt:.0%} of op time"
)

# %% [markdown]
# Which entries lead varies from run to run; what must hold is that matrix multiplies are among the most expensive
# operations in both frameworks:

# %%
top_tf = [r["op"] for r in profile_tf][:4]
top_pt = [r["op"] for r in profile_pt if r["op"].startswith("aten::")][:4]
if device_pt.type == "cpu" and device_tf == "/CPU:0":
    assert any(op in matmul_ops_tf for op in top_tf), top_tf
    assert any(op in matmul_ops_pt for op in top_pt), top_pt
    print("checked: a matrix multiply is among the four most expensive ops in both")
else:  # on a GPU, kernels have other names and TensorFlow's host trace shows launches
    print("not checked on a GPU: read the tables above")

# %% [markdown]
# In this run, matrix multiplies take {glue:text}`ch08_matmul_share_tf` of TensorFlow's operation time and
# {glue:text}`ch08_matmul_share_pt` of PyTorch's. The rest is small work: Adam's element-wise updates (`Sqrt`,
# `RealDiv`, `AssignSubVariableOp` in TensorFlow; `aten::sqrt`, `aten::lerp_`, `aten::addcdiv_` in PyTorch, one set
# per parameter tensor), the loss and its gradient, ReLU and its gradient. Each of those operations moves memory and
# does little arithmetic, and each costs a dispatch. Then there is Python: the loop itself, Adam's bookkeeping in
# `Optimizer.step`, and in PyTorch the `DataLoader`, which indexes the dataset once per sample (each `aten::select`
# in the table is one such index; see the input-pipeline section below). That is the overhead the fitted line
# measured.
#
# (sec-perf-compile)=
# ## Compile and trace time
#
# The configurations that compile pay before their first step. The figure shows, at batch 64, how much longer the
# first training step took than a normal one: for `tf.function`, the tracing; for XLA and `torch.compile`, tracing
# plus compiling; for Keras `fit`, building its training function. The eager loops pay least: in PyTorch almost
# nothing, in TensorFlow the one-off setup of the first eager call.

# %%
fig = bench.plot_compile(results, batch=64)

# %% tags=["hide-input", "nbval-ignore-output"]
first_call = {
    c: entry("mlp", c, 64)["compile_s"]
    for c in ("tf_function", "tf_xla", "keras_fit", "torch_compile")
    if entry("mlp", c, 64) is not None
}
cache = results["processes"]["pytorch"]["compile_cache"]
tu.glue("ch08_compile_torch", f"{first_call['torch_compile']:.0f}")
tu.glue("ch08_compile_xla", f"{first_call['tf_xla']:.1f}")
tu.glue("ch08_compile_tf_function", f"{first_call['tf_function']:.1f}")
tu.glue("ch08_cache", "already held compiled code" if cache["warm"] else "was empty")
recompile_xla = {
    e["batch_size"]: round(e["compile_s"], 1)
    for e in results["training"]
    if e["config"] == "keras_fit_xla" and e["model"] == "mlp"
}
print({c: round(v, 2) for c, v in first_call.items()}, cache)
print("Keras fit with XLA, first step at each batch size (s):", recompile_xla)

# %% [markdown]
# On this run, `torch.compile` needed {glue:text}`ch08_compile_torch` s before its first step (its on-disk cache
# {glue:text}`ch08_cache`), XLA {glue:text}`ch08_compile_xla` s and `tf.function` {glue:text}`ch08_compile_tf_function`
# s. On a CPU, `torch.compile`'s default backend, TorchInductor, generates C++ for the model and its backward pass
# and compiles it with the system's C++ compiler. From an empty cache that is the slow part, and `make bench`
# measures it that way. Inductor keeps compiled graphs on disk (by default in a folder under the system's
# temporary directory) and reuses them in later processes when the graph and input shapes match
# ([compile-time caching](https://pytorch.org/tutorials/recipes/torch_compile_caching_configuration_tutorial.html)),
# so a second run of this page compiles much faster. Each new input shape costs again. XLA compiles once per shape:
# the last line above shows Keras `fit` with `jit_compile=True` paying again at a new batch size. `torch.compile`
# recompiles when a shape changes, and after the first such change compiles a version with a dynamic batch dimension
# ([recompilation](https://pytorch.org/docs/stable/compile/programming_model.recompilation.html)). A last, smaller
# batch per epoch is a new shape: drop it (`drop_remainder=True`, `drop_last=True`) when compiling.
#
# ## Inference: one sample, and many
#
# Serving a model asks two questions: how long one prediction takes (latency, batch 1) and how many samples per
# second a large batch gets through (throughput). For Keras, `model.predict` is the method chapter 04 uses; its
# documentation says it "is designed for batch processing of large numbers of inputs" and recommends calling the
# model directly, `model(x)`, for a few inputs
# ([Keras `predict`](https://keras.io/api/models/model_training_apis/#predict-method)). Both are measured, with a
# `tf.function` and an XLA version of the call; PyTorch runs the model under `torch.no_grad()`. Every call returns
# a NumPy array or a CPU tensor, so the device has finished.

# %% tags=["hide-input", "nbval-ignore-output"] mystnb={"markdown_format": "gfm"}
display(Markdown(bench.table_inference(results)))
latency = {
    e["config"]: e["latency_ms"]["median"]
    for e in results["inference"]
    if e["model"] == "mlp" and e["batch_size"] == 1
}
tu.glue("ch08_latency_predict", f"{latency['keras_predict']:.1f}")
tu.glue("ch08_latency_call", f"{latency['tf_call']:.2f}")
tu.glue("ch08_latency_function", f"{latency['tf_function']:.2f}")
tu.glue("ch08_latency_torch", f"{latency['torch_eager']:.2f}")
print({c: round(v, 3) for c, v in latency.items()})

# %%
fig = bench.plot_inference(results)

# %% [markdown]
# One MLP prediction takes {glue:text}`ch08_latency_predict` ms through `predict`, {glue:text}`ch08_latency_call` ms
# through `model(x)`, {glue:text}`ch08_latency_function` ms through a `tf.function`, and
# {glue:text}`ch08_latency_torch` ms in PyTorch. Every call of `predict` creates a new iterator over batches of its
# input and a new list of callbacks (`predict` in `keras/src/backend/tensorflow/trainer.py`): work that a single
# sample cannot amortise. The check: all configurations return the same logits for the first sample.

# %%
for name in {e["model"] for e in results["inference"]}:
    logits = [e["first_logits"] for e in results["inference"] if e["model"] == name]
    np.testing.assert_allclose(logits, [logits[0]] * len(logits), rtol=1e-4, atol=1e-5)
print("checked: every inference configuration returns the same logits")

# %% [markdown]
# ## Input pipelines: does the data keep up?
#
# A training loop can go no faster than its input pipeline. This section times the pipelines alone, with no model:
# an epoch of 8,192 shuffled MNIST rows, batch by batch. Chapter 04's pipelines both handle one sample at a time.
# `tf.data`'s `shuffle` keeps a buffer of single elements and `batch` stacks them; a `DataLoader` with a batch size
# asks its dataset for each index separately and then collates the list, unless the dataset implements
# `__getitems__`, which `TensorDataset` does not
# ([`torch.utils.data`, automatic batching](https://pytorch.org/docs/stable/data.html#automatic-batching-default)).
# The alternatives fetch a whole batch in one indexing operation: shuffle the indices and `tf.gather` a batch
# ([`tf.data` performance guide](https://www.tensorflow.org/guide/data_performance), "vectorizing mapping"), or give
# the `DataLoader` a `BatchSampler` as its sampler and `batch_size=None`, so that the dataset is indexed with a list
# of indices.

# %% tags=["hide-input", "nbval-ignore-output"] mystnb={"markdown_format": "gfm"}
display(Markdown(bench.table_pipelines(results)))
pipe = {
    (e["pipeline"], e["batch_size"]): e["samples_per_s"]["median"]
    for e in results["pipelines"]
}
big = max(config.pipeline_batch_sizes)
tu.glue("ch08_pipe_big", str(big))
for name in bench.PIPELINES:
    tu.glue(f"ch08_pipe_{name}", f"{pipe[name, big]:,.0f}")
print({k: round(v) for k, v in pipe.items()})

# %%
fig = bench.plot_pipelines(results)

# %% [markdown]
# At batch {glue:text}`ch08_pipe_big`, chapter 04's `DataLoader` delivers {glue:text}`ch08_pipe_dataloader`
# samples/s and the batched one {glue:text}`ch08_pipe_dataloader_batched`; `tf.data` delivers
# {glue:text}`ch08_pipe_tf_data` samples/s element by element and {glue:text}`ch08_pipe_tf_data_gather` with
# gathered batches. Compare the dotted lines, the featured loops' training throughput: where a pipeline's bar is not
# far above its framework's line, the pipeline takes a large share of each step. `tf.data` prepares batches on its
# own threads while the model trains (`prefetch`); a `DataLoader` without worker processes prepares them in the loop's
# own thread, between steps. Whatever the order, every pipeline must deliver each of the 8,192 samples exactly once
# per epoch; the check compares each epoch's sums of pixels and labels with NumPy's:

# %%
x_all, y_all = bench.bench_arrays(
    "mlp", "pytorch", results["pipelines"][0]["samples_per_epoch"]
)
for e in results["pipelines"]:
    np.testing.assert_allclose(
        e["checksum"][0], x_all.astype(np.float64).sum(), rtol=1e-9
    )
    assert e["checksum"][1] == int(y_all.sum()), e
print("checked: every pipeline delivers every sample once per epoch")

# %% [markdown]
# ## Are the book's loops the fast ones?
#
# This book teaches Keras `fit` and the explicit PyTorch loop of chapter 04. The table compares each with the fastest
# configuration of its own framework at the same batch size; the book's promise is a ratio of at most 1.5.

# %% tags=["hide-input", "nbval-ignore-output"] mystnb={"markdown_format": "gfm"}
ADVICE = {  # the change to the featured loop that each alternative stands for
    "keras_fit_xla": "pass jit_compile=True to model.compile",
    "tf_function": "write a custom loop over tf.function(tf_train_step(...))",
    "tf_xla": "write a custom loop over tf.function(..., jit_compile=True)",
    "tf_eager": "run the custom loop eagerly",
    "torch_compile": "train torch.compile(model) instead of model",
}
NAMES = {"tensorflow": "TensorFlow", "pytorch": "PyTorch"}


def recommendation(framework):
    """What the measurements say about *framework*'s featured loop, in one sentence."""
    verdict = bench.featured_verdict(results, framework)
    featured = bench.TRAIN_CONFIGS[bench.FEATURED[framework]][1]
    fastest = f"the fastest {NAMES[framework]} configuration"
    if verdict["within"]:
        return f"{featured} is within 1.5x of {fastest} in every case of the table"
    cases = ", ".join(
        f"the {model.upper()} at batch {batch} ({ratio:.2f}x)"
        for model, batch, _, ratio in verdict["cases"]
    )
    text = f"{featured} is more than 1.5x slower than {fastest} for {cases}"
    if verdict["instead"]:
        text += (
            f"; on this machine, {ADVICE[verdict['instead']]}: that comes within 1.5x "
            f"in every case ({verdict['instead_slowdown']:.2f}x at worst)"
        )
    return text


display(Markdown(bench.table_featured(results)))
for fw in ("tensorflow", "pytorch"):
    tu.glue(f"ch08_recommend_{fw}", recommendation(fw))
    print(recommendation(fw))

# %% [markdown]
# The table covers each model at chapter 04's batch size and at the largest measured. Its verdict on this run:
#
# - **TensorFlow:** {glue:text}`ch08_recommend_tensorflow`.
# - **PyTorch:** {glue:text}`ch08_recommend_pytorch`.
#
# Reading the training table above along these lines:
#
# - **Keras `fit` is the default to keep, and `jit_compile` is its knob.** On a GPU, `compile`'s default already
#   turns XLA on; on a CPU it does not. Compare the two Keras rows to see what `jit_compile=True` does on this machine:
#   XLA fuses the many small operations of a step, which helps most where the fixed per-step cost dominates. `fit`
#   also updates its loss and accuracy metric variables every step, small work that the custom loop leaves out.
# - **The plain PyTorch loop is the default to keep.** `torch.compile(model)` is one line, but its compile time is
#   paid before the first step ({glue:text}`ch08_compile_torch` s on this run), so it pays only when training runs
#   long enough for the faster steps to make up for it, and only if its steps are faster: compare the two PyTorch
#   rows.
# - **The batch size matters more than any of these.** From batch {glue:text}`ch08_small` to
#   {glue:text}`ch08_largest`, the MLP's throughput grows by a factor of {glue:text}`ch08_gain_min` to
#   {glue:text}`ch08_gain_max` across the configurations measured at both, because the per-step overhead is shared
#   by more samples. But the batch size also changes the optimisation, so choose it for the model first and for speed
#   second.
#
# ## The headline numbers
#
# The closing numbers of this run: for each model at chapter 04's batch size and at the largest measured, the
# TensorFlow/PyTorch throughput ratio for comparable configurations (eager loops; featured loops; XLA against
# `torch.compile`; and each framework's fastest), and each configuration's share of its framework's float32
# matrix-multiply ceiling.

# %% tags=["hide-input", "nbval-ignore-output"] mystnb={"markdown_format": "gfm"}
display(Markdown(bench.table_headline(results)))
ratios_64 = results["headline"]["models"]["mlp"]["64"]["tf_over_pt"]
for pair in ("eager", "featured", "fastest"):
    tu.glue(f"ch08_ratio_{pair}", f"{ratios_64[pair]:.2f}")
print(
    "MLP, batch 64, TF/PyTorch:",
    ", ".join(f"{k} {v:.2f}" for k, v in ratios_64.items()),
)

# %% [markdown]
# For the MLP at batch 64, TensorFlow's throughput divided by PyTorch's is {glue:text}`ch08_ratio_eager` for the
# eager loops, {glue:text}`ch08_ratio_featured` for the featured loops and {glue:text}`ch08_ratio_fastest` for each
# framework's fastest configuration, on {glue:text}`ch08_cpu` with {glue:text}`ch08_threads` threads; against each
# framework's own matrix-multiply ceiling, Keras `fit` reaches {glue:text}`ch08_util64_tensorflow` and the PyTorch
# loop {glue:text}`ch08_util64_pytorch`. These are this machine's numbers, not a verdict on the frameworks: another
# CPU, a GPU, other versions or a larger model give other ratios, which is why `make bench` exists.
#
# ### Measuring on your machine: `make bench`
#
# `make bench` runs the full configuration (both models at batch sizes 32 to 1024, every configuration; inference
# for both models including `torch.compile`; larger matrices) from a fresh `torch.compile` cache, and writes
# `_build/bench/results.json` (the `results` dictionary of this page, with the machine, versions, thread count and
# date, and the load average, which says whether anything else was running) and one PNG per figure, and prints the
# headline numbers and how long it took. On Colab, open this chapter on a GPU runtime, set
# `config = bench.BenchConfig.full()`, and run it: it measures the GPU, and adds float16 and, where the GPU supports
# it, bfloat16 to the ceiling. On a GPU, mind that TensorFlow runs float32 matrix multiplies as
# TensorFloat-32 by default ([`enable_tensor_float_32_execution`][tf-tf32]) and PyTorch does not
# ([TF32 on Ampere and later][pt-tf32]), so their float32 ceilings measure different arithmetic; `results.json`
# records both settings.
#
# [tf-tf32]: https://www.tensorflow.org/api_docs/python/tf/config/experimental/enable_tensor_float_32_execution
# [pt-tf32]: https://pytorch.org/docs/stable/notes/cuda.html#tensorfloat-32-tf32-on-ampere-and-later-devices
#
# ## Summary
#
# - Measure with care: first call apart, warm-up, repetitions, medians and quartiles, the same threads for both
#   frameworks, one process each, and results turned into Python numbers before the clock stops.
# - A training step costs a fixed overhead plus arithmetic. At chapter 04's batch size the overhead dominates the
#   MLP: on this run Keras `fit` used {glue:text}`ch08_util64_tensorflow` of TensorFlow's matrix-multiply ceiling and
#   the PyTorch loop {glue:text}`ch08_util64_pytorch` of PyTorch's. Larger batches raise that share.
# - The profilers agree on where the time goes: matrix multiplies are among the most expensive operations, and many
#   small element-wise operations (Adam's update, the loss, activations), each paying a dispatch, take much of the
#   rest.
# - Compilation is paid before the first step: on this run {glue:text}`ch08_compile_tf_function` s for
#   `tf.function`, {glue:text}`ch08_compile_xla` s for XLA and {glue:text}`ch08_compile_torch` s for `torch.compile`
#   (whose cache {glue:text}`ch08_cache`); each new input shape can cost again.
# - For one prediction, call the model (or a `tf.function`), not `predict`.
# - The book's loops are the right defaults; the page states how far each is from its framework's fastest
#   configuration on the machine that ran it, and which one-line change closes the gap.
#
# ## Exercises
#
# 1. Count the training FLOPs per sample of a 784-256-10 MLP by the formula, and check your count with
#    `FlopCounterMode`.
# 2. A `tf.function` traces again for every new input shape. Count the traces
#    (`experimental_get_tracing_count()`) of a function run over 1,000 samples in batches of 64, with and without
#    `drop_remainder=True`, and with `reduce_retracing=True`.
# 3. Show that the batched `DataLoader` of the pipeline section indexes its dataset once per batch while chapter 04's
#    indexes it once per sample, and that both deliver every sample exactly once per epoch.

# %% tags=["hide-cell"]
# Solution 1: two dense layers; the first needs no input gradient.
flops_forward = 2 * 784 * 256 + 2 * 256 * 10
flops_training = 3 * flops_forward - 2 * 784 * 256
wide_pt = torch.nn.Sequential(
    torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10)
)
with FlopCounterMode(display=False) as count:
    torch.nn.functional.cross_entropy(
        wide_pt(torch.zeros(1, 784)), torch.zeros(1, dtype=torch.long)
    ).backward()
assert count.get_total_flops() == flops_training
print(f"training step: {flops_training:,} FLOPs per sample, as FlopCounterMode counts")


# %% tags=["hide-cell"]
# Solution 2: the last batch of 1000 = 15 x 64 + 40 is a new shape.
def traces(dataset, **options):
    step = tf.function(lambda x: tf.reduce_sum(x), **options)
    for x_batch in dataset:
        step(x_batch)
    return step.experimental_get_tracing_count()


rows = tf.data.Dataset.from_tensor_slices(tf.zeros((1000, 4)))
counts = {
    "ragged last batch": traces(rows.batch(64)),
    "drop_remainder=True": traces(rows.batch(64, drop_remainder=True)),
    "reduce_retracing=True": traces(rows.batch(64), reduce_retracing=True),
}
assert counts == {
    "ragged last batch": 2,
    "drop_remainder=True": 1,
    "reduce_retracing=True": 2,
}, counts
print(counts)
# reduce_retracing still traces twice here, but its second trace has a batch dimension
# of None, which later batch sizes reuse; without it, every new batch size traces again.

# %% tags=["hide-cell"]
# Solution 3: count the calls to the dataset's __getitem__.
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, TensorDataset


class CountingDataset(TensorDataset):
    calls = 0

    def __getitem__(self, index):
        CountingDataset.calls += 1
        return super().__getitem__(index)


rows_pt = CountingDataset(torch.arange(1000.0).reshape(-1, 1))
sampler = BatchSampler(RandomSampler(rows_pt), batch_size=64, drop_last=False)
loaders = {
    "chapter 04": DataLoader(rows_pt, batch_size=64, shuffle=True),
    "batched": DataLoader(rows_pt, batch_size=None, sampler=sampler),
}
for name, loader in loaders.items():
    CountingDataset.calls = 0
    seen = torch.cat([batch[0] for batch in loader]).flatten()
    assert torch.equal(seen.sort().values, torch.arange(1000.0))
    print(f"{name}: {CountingDataset.calls} dataset calls for 1000 samples")
