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
# (ch-trends-scale)=
# # Scale: mixed precision, compilation and data-parallel training
#
# Section 5 of the article (未来发展趋势与挑战, "future trends and challenges") opens with a forecast: deep
# learning models will keep growing in size and complexity, "which needs higher-performance computing devices and
# more efficient algorithms". It names no technique. Both frameworks now ship three standard answers, and this chapter
# runs each of them in TensorFlow and in PyTorch:
#
# - **mixed precision**: compute in 16-bit floats and keep the weights in 32-bit floats (`keras.mixed_precision`,
#   `torch.autocast`);
# - **compilation**: turn Python code into fused machine code (XLA through `tf.function(jit_compile=True)`,
#   TorchInductor through `torch.compile`);
# - **data-parallel training**: several processes, each with a copy of the model and a slice of every batch, that
#   combine their gradients before each update (`tf.distribute.MultiWorkerMirroredStrategy`,
#   `torch.nn.parallel.DistributedDataParallel`).
#
# All of it runs here on a CPU, with two worker processes on one machine, so that the book's tests can execute it.
# The code is the code you would run on GPUs; where something changes for GPUs, the text says what. Every section
# checks that the faster or bigger setup computes what the plain one computes, within a tolerance stated in the cell.
#
# :::{admonition} Learning goals
# :class: tip
# - read off which dtype a mixed-precision model uses for its weights, activations, loss and gradients, in Keras and
#   in PyTorch, and explain why float16 needs loss scaling and bfloat16 does not;
# - compile an element-wise function and a training step with XLA and with `torch.compile`, check the results against
#   eager execution, and measure compile time and step time separately;
# - launch two-process data-parallel training with `torchrun` and `DistributedDataParallel`, and with `TF_CONFIG` and
#   `MultiWorkerMirroredStrategy`, and show that it produces the model one process produces with the same global
#   batch.
# :::
#
# **Prerequisites:** {ref}`ch-code-examples` (the MLP and its training loop in both frameworks);
# {ref}`ch-graphs-autodiff` helps with the compilation section. **Runs in:** one to two minutes on a 2-core CPU, most
# of it spent compiling C++ and starting worker processes.

# %% [markdown]
# ## Setup
#
# The usual opening: `tutorial_utils` first, PyTorch before TensorFlow, then the environment report (not compared by
# the tests, since it differs between machines). The second cell also makes float32 mean float32 on every machine:
# on NVIDIA GPUs from the Ampere generation on, TensorFlow runs float32 matrix products in the faster, less precise
# TensorFloat-32 mode unless told otherwise
# ([`enable_tensor_float_32_execution`](https://www.tensorflow.org/api_docs/python/tf/config/experimental/enable_tensor_float_32_execution)),
# while PyTorch leaves that mode off for matrix products by default
# ([CUDA semantics](https://docs.pytorch.org/docs/stable/notes/cuda.html)). The comparisons below assume full float32.

# %% tags=["nbval-ignore-output"]
import tutorial_utils as tu

import torch
import keras  # Keras 3 on the TensorFlow backend: this imports TensorFlow
import tensorflow as tf
import numpy as np
import matplotlib.pyplot as plt

tu.use_book_style()
info = tu.describe_environment()

# %%
assert keras.backend.backend() == "tensorflow", (
    "restart the kernel without KERAS_BACKEND=torch"
)
device_pt = tu.torch_device()
device_tf = tu.tf_device()
seed = 0
tu.seed_everything(seed)
tf.config.experimental.enable_tensor_float_32_execution(False)  # full float32 on GPUs

# %% [markdown]
# ## One model and one batch for the whole chapter
#
# This chapter is about mechanics, not accuracy, so it uses the bundled MNIST sample on every machine: 2,048
# training digits, flattened to 784 values in [0, 1]. The model is a small version of chapter 4's MLP, 784-64-10.
# Keras creates the initial weights (seeded Glorot-uniform); PyTorch receives a copy, kernels transposed, so that
# every run below starts from the same point.

# %%
data = tu.load_mnist("sample")
x_np = tu.preprocess(data.x_train[:2048])
y_np = data.y_train[:2048].astype(np.int64)
hidden, lr = 64, 0.1
x_batch, y_batch = x_np[:256], y_np[:256]  # the batch that the inspections below use
x_np.shape, y_np.shape


# %% tags=["tensorflow"]
def build_mlp_tf():
    return keras.Sequential(
        [
            keras.Input(shape=(784,)),
            keras.layers.Dense(hidden, activation="relu"),
            keras.layers.Dense(10),  # logits
        ]
    )


model_tf = build_mlp_tf()
init_weights = model_tf.get_weights()  # [W1, b1, W2, b2]: the start of every run
loss_fn_tf = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
[w.shape for w in init_weights]


# %% tags=["pytorch"]
class MLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(784, hidden)
        self.fc2 = torch.nn.Linear(hidden, 10)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))  # logits


def build_mlp_pt(weights):
    """An MLP holding Keras-layout weights [W1, b1, W2, b2] (kernels transposed)."""
    model = MLP()
    with torch.no_grad():
        for layer, kernel, bias in (
            (model.fc1, *weights[:2]),
            (model.fc2, *weights[2:]),
        ):
            layer.weight.copy_(torch.from_numpy(kernel.T))
            layer.bias.copy_(torch.from_numpy(bias))
    return model


model_pt = build_mlp_pt(init_weights)
loss_fn_pt = torch.nn.CrossEntropyLoss()
[tuple(p.shape) for p in model_pt.parameters()]

# %%
with torch.no_grad():
    logits_pt = model_pt(torch.from_numpy(x_batch)).numpy()
np.testing.assert_allclose(model_tf(x_batch).numpy(), logits_pt, rtol=1e-5, atol=1e-5)
print("same weights, same logits (rtol 1e-5)")

# %% [markdown]
# (sec-mixed-precision)=
# ## Mixed precision
#
# ### Three float formats
#
# A float spends its bits on a sign, an exponent (the range) and a mantissa (the precision). The two 16-bit formats
# split their bits differently:
#
# - **float16** (IEEE half precision) keeps 10 mantissa bits but only 5 exponent bits: nothing above 65,504, and
#   magnitudes below $2^{-14}$ lose precision ("subnormal" numbers) until, below $2^{-24}$, they become zero.
# - **bfloat16** ("brain floating point") keeps float32's 8 exponent bits, hence its range, and only 7 mantissa bits:
#   about two to three significant decimal digits.
#
# Each framework describes the formats in its own way: PyTorch with `torch.finfo`, TensorFlow through the NumPy types
# of its dtypes (`tf.bfloat16.as_numpy_dtype` is a type from `ml_dtypes`, a package TensorFlow depends on).

# %% tags=["tensorflow"]
import ml_dtypes  # NumPy types for bfloat16 and friends; TensorFlow depends on it

format_names = ("float32", "float16", "bfloat16")


def describe_format_tf(name):
    info = ml_dtypes.finfo(tf.as_dtype(name).as_numpy_dtype)
    return {
        "bits": info.bits,
        "exponent bits": info.nexp,
        "mantissa bits": info.nmant,
        "largest": float(info.max),
        "smallest normal": float(info.smallest_normal),
        "smallest subnormal": float(info.smallest_subnormal),
        "epsilon": float(info.eps),
    }


formats_tf = {name: describe_format_tf(name) for name in format_names}

# %% tags=["pytorch"]
import math


def describe_format_pt(name):
    info = torch.finfo(getattr(torch, name))
    mantissa = round(-math.log2(info.eps))  # eps = 2**-mantissa_bits
    return {
        "bits": info.bits,
        "exponent bits": info.bits - 1 - mantissa,
        "mantissa bits": mantissa,
        "largest": info.max,
        "smallest normal": info.smallest_normal,
        "smallest subnormal": info.smallest_normal * info.eps,
        "epsilon": info.eps,
    }


formats_pt = {name: describe_format_pt(name) for name in format_names}

# %%
assert formats_tf == formats_pt, (formats_tf, formats_pt)
header = ("bits", "exp", "mant", "largest", "min normal", "min subnorm", "epsilon")
print(f"{'':<9}{header[0]:>5}{header[1]:>4}{header[2]:>5}", end="")
print("".join(f"{h:>12}" for h in header[3:]))
for name, row in formats_pt.items():
    values = list(row.values())
    print(f"{name:<9}{values[0]:>5}{values[1]:>4}{values[2]:>5}", end="")
    print("".join(f"{v:>12.4g}" for v in values[3:]))
print("TensorFlow (ml_dtypes) and PyTorch (torch.finfo) agree on every entry")

# %% [markdown]
# Two consequences to keep in mind for the rest of the section. A float16 gradient smaller than $2^{-24} \approx 6
# \times 10^{-8}$ is zero. A bfloat16 number carries a relative rounding error of up to $2^{-8}$ (half its epsilon,
# 0.4 %), and such errors add up through a computation, so checks of bfloat16 results need tolerances of a few percent
# rather than the $10^{-5}$ used elsewhere in this book.
#
# What 16 bits buy is speed and memory. Half the bytes means half the memory for activations and half the memory
# traffic, and "NVIDIA GPUs can run operations in float16 faster than in float32, and TPUs and supporting Intel CPUs
# can run operations in bfloat16 faster than float32"
# ([TensorFlow mixed precision guide](https://www.tensorflow.org/guide/mixed_precision)); Keras quotes "more than 3
# times on modern GPUs and 60% on TPUs" ([Keras mixed precision API](https://keras.io/api/mixed_precision/)). The
# name bfloat16 comes from Google Brain, where the format was conceived for TPUs
# ([Google Cloud blog](https://cloud.google.com/blog/products/ai-machine-learning/bfloat16-the-secret-to-high-performance-on-cloud-tpus)).
#
# ### What each framework keeps in 16 bits
#
# Mixed precision does not turn the model into a 16-bit model. In Keras a **dtype policy** gives every layer two
# dtypes: the *variable dtype* its weights are stored in and the *compute dtype* it calculates in; `"mixed_bfloat16"`
# and `"mixed_float16"` mean float32 variables and 16-bit computation
# ([Keras mixed precision API](https://keras.io/api/mixed_precision/policy/),
# [TensorFlow mixed precision guide](https://www.tensorflow.org/guide/mixed_precision)). The global policy is read when
# a layer is *created*, and it is global, so the helper below sets it only around model construction and restores it
# afterwards. In PyTorch the model stays float32 and **`torch.autocast`** decides per operation: inside the block,
# matrix multiplications run in the 16-bit dtype and operations that need range or precision, such as losses, run in
# float32 ([PyTorch `torch.amp` documentation](https://docs.pytorch.org/docs/stable/amp.html)).
#
# The two cells below run one forward and backward pass on the CPU under each 16-bit dtype and under plain float32,
# and record the dtype of everything involved.

# %% tags=["tensorflow"]
import contextlib


@contextlib.contextmanager
def keras_policy(name):
    """Set Keras's global dtype policy inside the block only (it is global state)."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def dtype_name(x):
    return keras.backend.standardize_dtype(x.dtype)


def inspect_tf(policy):
    """One forward/backward pass on the CPU under a Keras dtype policy."""
    with keras_policy(policy):
        model = build_mlp_tf()  # the layers take the policy now, when they are created
    model.set_weights(init_weights)
    with tf.device("/CPU:0"), tf.GradientTape() as tape:
        activations = model.layers[0](x_batch)
        logits = model.layers[1](activations)
        loss = loss_fn_tf(y_batch, logits)
    grads = tape.gradient(loss, model.trainable_variables)
    dtypes = {
        "weights": dtype_name(model.layers[0].kernel),
        "activations": dtype_name(activations),
        "logits": dtype_name(logits),
        "loss": dtype_name(loss),
        "gradients": dtype_name(grads[0]),
    }
    grads = [g.numpy() for g in grads]
    logits = tf.cast(logits, tf.float32).numpy()
    return {"dtypes": dtypes, "loss": float(loss), "logits": logits, "grads": grads}


policies_tf = {
    "float32": "float32",
    "bfloat16": "mixed_bfloat16",
    "float16": "mixed_float16",
}
runs_tf = {short: inspect_tf(policy) for short, policy in policies_tf.items()}
assert keras.mixed_precision.global_policy().name == "float32"  # restored


# %% tags=["pytorch"]
def inspect_pt(dtype):
    """One forward/backward pass on the CPU, autocast to *dtype* unless float32."""
    model = build_mlp_pt(init_weights)
    X, y = torch.from_numpy(x_batch), torch.from_numpy(y_batch)
    with torch.autocast(device_type="cpu", dtype=dtype, enabled=dtype != torch.float32):
        activations = torch.relu(model.fc1(X))
        logits = model.fc2(activations)
        loss = loss_fn_pt(logits, y)
    loss.backward()
    dtypes = {
        "weights": str(model.fc1.weight.dtype).removeprefix("torch."),
        "activations": str(activations.dtype).removeprefix("torch."),
        "logits": str(logits.dtype).removeprefix("torch."),
        "loss": str(loss.dtype).removeprefix("torch."),
        "gradients": str(model.fc1.weight.grad.dtype).removeprefix("torch."),
    }
    grads = [model.fc1.weight.grad.T, model.fc1.bias.grad]
    grads += [model.fc2.weight.grad.T, model.fc2.bias.grad]
    grads = [g.numpy() for g in grads]  # Keras layout
    logits = logits.detach().float().numpy()
    return {"dtypes": dtypes, "loss": loss.item(), "logits": logits, "grads": grads}


runs_pt = {name: inspect_pt(getattr(torch, name)) for name in format_names}

# %% [markdown]
# The dtypes, side by side:

# %%
print(f"{'':<24}" + "".join(f"{c:>12}" for c in runs_pt["float32"]["dtypes"]))
for short in ("bfloat16", "float16"):
    for label, dtypes in (
        (f"Keras {policies_tf[short]!r}", runs_tf[short]["dtypes"]),
        (f"torch autocast {short}", runs_pt[short]["dtypes"]),
    ):
        print(f"{label:<24}" + "".join(f"{d:>12}" for d in dtypes.values()))
    assert runs_tf[short]["dtypes"] == runs_pt[short]["dtypes"]
print("the two frameworks keep the same tensors in 16 bits")

# %% [markdown]
# Read the table from left to right. The **weights** stay float32: they are the "master copy" that the optimizer
# updates, because an update of $10^{-4}$ relative to a weight would be rounded away in 16 bits (the first of the three
# techniques of [Micikevicius et al., 2018](https://arxiv.org/abs/1710.03740)). The **activations and logits** are
# 16-bit: each layer casts its float32 weights to the compute dtype and multiplies in 16 bits. The **loss** is float32:
# Keras computes losses in float32, and autocast runs `cross_entropy` in float32 (it keeps a list of such operations).
# The **gradients** that reach the optimizer are float32 again, because they are gradients with respect to float32
# variables; the backward pass through each 16-bit matrix multiplication, however, ran in 16 bits, and that is where
# float16 can lose small values.
#
# How much does 16-bit computation change the result? Two measures, relative to the float32 run of the same model on
# the same batch: the largest error in any of the 2,560 logits, relative to the largest logit, and the error in the
# loss. Each format's tolerance is a few of its epsilons.

# %%
ref_tf, ref_pt = runs_tf["float32"], runs_pt["float32"]
np.testing.assert_allclose(ref_tf["loss"], ref_pt["loss"], rtol=1e-5)
scale_of_logits = np.abs(ref_pt["logits"]).max()
tolerance = {"bfloat16": 4 * 2**-7, "float16": 4 * 2**-10}  # 4 epsilon
errors = {}
for short, tol in tolerance.items():
    for framework, runs, ref in (("tf", runs_tf, ref_tf), ("pt", runs_pt, ref_pt)):
        logit_err = np.abs(runs[short]["logits"] - ref["logits"]).max()
        loss_err = abs(runs[short]["loss"] / ref["loss"] - 1)
        assert logit_err / scale_of_logits < tol and loss_err < tol, (short, framework)
        errors[framework, short] = (logit_err / scale_of_logits, loss_err)
print(f"float32 loss {ref_pt['loss']:.3f} in both frameworks; 16-bit logits and losses")
print("within 4 epsilon of float32 (bfloat16: 3.1%, float16: 0.39%), in both")

# %% tags=["nbval-ignore-output"]
for (framework, short), (logit_err, loss_err) in errors.items():
    tu.glue(f"ch05_logit_err_{framework}_{short}", f"{logit_err:.2%}")
    tu.glue(f"ch05_loss_err_{framework}_{short}", f"{loss_err:.1e}")
    print(f"{framework} {short:<9} logits {logit_err:.3%}  loss {loss_err:.2e}")

# %% [markdown]
# On this machine the bfloat16 logits were off by up to {glue:text}`ch05_logit_err_tf_bfloat16` (TensorFlow) and
# {glue:text}`ch05_logit_err_pt_bfloat16` (PyTorch) of the largest logit, the float16 logits by
# {glue:text}`ch05_logit_err_tf_float16` and {glue:text}`ch05_logit_err_pt_float16`: float16's three extra mantissa
# bits make it eight times more precise than bfloat16, as long as the numbers stay inside its range. The losses came
# much closer to float32 (relative errors of {glue:text}`ch05_loss_err_tf_bfloat16` and
# {glue:text}`ch05_loss_err_pt_bfloat16` with bfloat16): the loss is a mean over 256 examples, and independent
# rounding errors largely cancel in a mean.
#
# ### Why float16 needs loss scaling
#
# Range is float16's weakness. Cast a few small gradient-sized numbers to float16 and back: $10^{-7}$ is a subnormal
# that comes back 19 % too large, and $10^{-8}$ becomes zero. Multiply them by $2^{16}$ before the cast and divide by
# $2^{16}$ after it, in float32, and they survive with float16's normal precision. That is **loss scaling**: multiply
# the loss by a factor $S$ before the backward pass, so that by the chain rule every gradient is $S$ times larger
# while it travels through float16 operations, then divide the float32 gradients by $S$ before the update
# ([Micikevicius et al., 2018](https://arxiv.org/abs/1710.03740), section 3.2).

# %% tags=["tensorflow"]
small_np = np.array([1e-3, 1e-5, 1e-7, 1e-8, 1e-9], dtype=np.float32)
scale = 2.0**16
plain_tf = tf.cast(tf.cast(small_np, tf.float16), tf.float32)
scaled_tf = tf.cast(tf.cast(small_np * scale, tf.float16), tf.float32) / scale

# %% tags=["pytorch"]
plain_pt = torch.from_numpy(small_np).half().float()
scaled_pt = (torch.from_numpy(small_np) * scale).half().float() / scale

# %%
np.testing.assert_array_equal(plain_tf.numpy(), plain_pt.numpy())
np.testing.assert_array_equal(scaled_tf.numpy(), scaled_pt.numpy())
assert plain_pt[3] == 0 and plain_pt[4] == 0  # flushed to zero
np.testing.assert_allclose(scaled_pt.numpy(), small_np, rtol=2**-11)  # half an epsilon
print(f"{'float32':>10}{'via float16':>16}{'scaled by 2**16':>18}")
for value, plain, scaled in zip(small_np, plain_pt.numpy(), scaled_pt.numpy()):
    print(f"{value:>10.0e}{plain:>16.6e}{scaled:>18.6e}")
print("the same in both frameworks (IEEE 754 rounding); with scaling,")
print("every value survives with float16's relative precision")

# %% [markdown]
# Where do real gradients lie? The histogram shows the float32 gradients of this chapter's MLP for one batch at
# initialisation (the two frameworks' gradients agree, checked below), on a log scale, against float16's limits. This
# is a proxy: in float16 training it is the intermediate gradients inside the backward pass that must fit, and the
# paper's Figure 3 shows a detection network (SSD) many of whose activation gradients lay below float16's range and
# became zeros.

# %%
for g_tf, g_pt in zip(runs_tf["float32"]["grads"], runs_pt["float32"]["grads"]):
    np.testing.assert_allclose(g_tf, g_pt, rtol=1e-4, atol=1e-6)
magnitudes = np.abs(np.concatenate([g.ravel() for g in runs_pt["float32"]["grads"]]))
magnitudes = magnitudes[magnitudes > 0]
log2_mag = np.log2(magnitudes)
f16 = formats_pt["float16"]
lost = np.mean(magnitudes < f16["smallest subnormal"])
subnormal = np.mean(magnitudes < f16["smallest normal"]) - lost  # fraction

fig, ax = plt.subplots(figsize=(9, 3.5))
bins = np.arange(-40, 20, 0.5)
ax.hist(log2_mag, bins=bins, color=tu.FRAMEWORK_COLORS["pytorch"], label="gradients")
ax.hist(log2_mag + 16, bins=bins, histtype="step", color="black", label="× 2**16")
ax.axvspan(-40, -24, color="#D55E00", alpha=0.15, label="zero in float16")
ax.axvspan(-24, -14, color="#E69F00", alpha=0.15, label="subnormal in float16")
ax.axvline(math.log2(f16["largest"]), color="#D55E00", ls="--", label="float16 max")
ax.set(xlabel="log2 |gradient|", ylabel="weight entries", xlim=(-40, 20))
ax.set_title("Weight gradients of the MLP (one batch, float32) against float16's range")
ax.legend(fontsize=8, loc="upper left")
fig.tight_layout()

# %% tags=["nbval-ignore-output"]
n_lost = int(np.sum(magnitudes < f16["smallest subnormal"]))
tu.glue("ch05_grad_lost", f"{n_lost:,} of {magnitudes.size:,}")
tu.glue("ch05_grad_subnormal", f"{subnormal:.1%}")
print(f"below 2**-24: {n_lost} of {magnitudes.size}; subnormal: {subnormal:.2%}")

# %% [markdown]
# For this shallow network, {glue:text}`ch05_grad_lost` nonzero gradient entries would be zero in float16, and
# {glue:text}`ch05_grad_subnormal` of them would be subnormal, with fewer significant bits. Multiplied by $2^{16}$
# (the black outline) they all fit, far below float16's maximum. Deeper networks, smaller batches and losses averaged
# over more elements push gradients further left.
#
# Scaling too much overflows instead: a gradient above 65,504 becomes `inf`. Both frameworks therefore scale
# **dynamically** and with the same rule: start with a large scale; when a step produces an `inf` or `NaN` gradient,
# skip the update and halve the scale; after 2,000 consecutive good steps, double it. Keras wraps the optimizer in a
# [`LossScaleOptimizer`](https://keras.io/api/optimizers/loss_scale_optimizer/); PyTorch has
# [`torch.amp.GradScaler`](https://docs.pytorch.org/docs/stable/amp.html#gradient-scaling). Their defaults:

# %% tags=["tensorflow"]
import inspect

lso_defaults = inspect.signature(keras.optimizers.LossScaleOptimizer).parameters
for name in ("initial_scale", "dynamic_growth_steps"):
    print(f"{name}: {lso_defaults[name].default}")
with keras_policy("mixed_float16"):
    auto_wrapped = build_mlp_tf()
auto_wrapped.compile(optimizer=keras.optimizers.SGD(lr), loss=loss_fn_tf)
print("compile() wrapped SGD in:", type(auto_wrapped.optimizer).__name__)

# %% tags=["pytorch"]
scaler_defaults = inspect.signature(torch.amp.GradScaler).parameters
for name in ("init_scale", "growth_interval", "growth_factor", "backoff_factor"):
    print(f"{name}: {scaler_defaults[name].default}")

# %% [markdown]
# Keras starts at $2^{15}$, PyTorch at $2^{16}$; both grow every 2,000 good steps. Keras's `Model.compile` wraps the
# optimizer by itself when the model's policy is `mixed_float16` (and not for `mixed_bfloat16`); in PyTorch you create
# the scaler and call it in the loop. To watch the dynamic rule work, start both at an absurd $2^{40}$ and train the
# MLP in float16 on the CPU. Each step records the scale after the update and whether the weights changed. In a
# custom Keras loop, `optimizer.scale_loss` multiplies the loss and `optimizer.apply` unscales, checks and applies the
# gradients; in PyTorch, `scaler.scale(loss).backward()`, `scaler.step(optimizer)` and `scaler.update()` do the same
# three things.

# %% tags=["tensorflow"]
with keras_policy("mixed_float16"):
    model_f16_tf = build_mlp_tf()
model_f16_tf.set_weights(init_weights)
optimizer_tf = keras.optimizers.LossScaleOptimizer(
    keras.optimizers.SGD(lr), initial_scale=2.0**40
)
scales_tf = []
with tf.device("/CPU:0"):
    for _ in range(24):
        with tf.GradientTape() as tape:
            loss = loss_fn_tf(y_batch, model_f16_tf(x_batch))
            scaled_loss = optimizer_tf.scale_loss(loss)  # loss * scale
        grads = tape.gradient(scaled_loss, model_f16_tf.trainable_variables)
        before = model_f16_tf.layers[0].kernel.numpy()
        optimizer_tf.apply(grads, model_f16_tf.trainable_variables)  # unscale + check
        updated = not np.array_equal(before, model_f16_tf.layers[0].kernel.numpy())
        scales_tf.append((int(math.log2(float(optimizer_tf.dynamic_scale))), updated))

# %% tags=["pytorch"]
model_f16_pt = build_mlp_pt(init_weights)
optimizer_pt = torch.optim.SGD(model_f16_pt.parameters(), lr=lr)
scaler = torch.amp.GradScaler("cpu", init_scale=2.0**40)
X, y = torch.from_numpy(x_batch), torch.from_numpy(y_batch)
scales_pt = []
for _ in range(24):
    optimizer_pt.zero_grad()
    with torch.autocast(device_type="cpu", dtype=torch.float16):
        loss = loss_fn_pt(model_f16_pt(X), y)
    scaler.scale(loss).backward()  # backward pass of loss * scale
    before = model_f16_pt.fc1.weight.detach().clone()
    scaler.step(optimizer_pt)  # unscales; skips the step if a gradient is inf/NaN
    scaler.update()  # halves the scale after a skipped step
    updated = not torch.equal(before, model_f16_pt.fc1.weight)
    scales_pt.append((int(math.log2(scaler.get_scale())), updated))

# %%
skipped_tf = sum(not updated for _, updated in scales_tf)
skipped_pt = sum(not updated for _, updated in scales_pt)
assert scales_tf == scales_pt, (scales_tf, scales_pt)
assert all(not updated for _, updated in scales_pt[:skipped_pt])  # skips come first
tu.glue("ch05_skipped", skipped_pt)
print("step  log2(scale) after it  weights updated   (same in both frameworks)")
for step, (log2_scale, updated) in enumerate(scales_pt, start=1):
    if step <= 2 or step >= skipped_pt - 1:
        print(f"{step:>4}{log2_scale:>22}  {updated!s:>15}")
    elif step == 3:
        print(f"{'...':>4}{'...':>22}  {'...':>15}")

# %% [markdown]
# Both frameworks made exactly the same decisions: {glue:text}`ch05_skipped` skipped steps, one halving each, until the
# largest gradient computed in float16 fitted below 65,504. A skipped step costs a forward and backward pass and
# nothing else, which is why the default starting scale is generous.
#
# ### Training with the precision this machine supports
#
# What to use where: the TensorFlow guide quoted above names float16 for NVIDIA GPUs and bfloat16 for TPUs and
# supporting CPUs. Recent NVIDIA GPUs run bfloat16 too (`torch.cuda.is_bf16_supported()` says whether yours does),
# and then no loss scaling is needed. On CPUs, the `torch.amp` documentation's recipe is bfloat16 through autocast
# alone, without a scaler ([`torch.amp`](https://docs.pytorch.org/docs/stable/amp.html)). The cell below picks float16
# with loss scaling when a CUDA GPU is present (a Colab T4, say) and bfloat16 otherwise, and says which.

# %% tags=["nbval-ignore-output"]
use_float16 = device_pt.type == "cuda"
amp_dtype_pt = torch.float16 if use_float16 else torch.bfloat16
policy_tf = "mixed_float16" if use_float16 else "mixed_bfloat16"
print(
    f"PyTorch on {device_pt}: autocast to {amp_dtype_pt},"
    f" GradScaler {'on' if use_float16 else 'off'}"
)
print(f"TensorFlow on {device_tf}: policy {policy_tf!r}")

# %% [markdown]
# The training code is the everyday form of the above, two epochs over the 2,048 digits with SGD, once with mixed
# precision and once in float32 for reference. Keras needs only the policy; `compile` adds the loss scaling when the
# policy asks for float16. In PyTorch, `GradScaler(enabled=False)` turns the scaler's three calls into plain
# `backward()` and `step()`, so one loop serves both cases.


# %% tags=["tensorflow"]
def fit_tf(policy, epochs=2):
    with keras_policy(policy):
        model = build_mlp_tf()
    model.set_weights(init_weights)
    model.compile(optimizer=keras.optimizers.SGD(lr), loss=loss_fn_tf)
    with tf.device(device_tf):
        history = model.fit(
            x_np, y_np, batch_size=64, epochs=epochs, shuffle=False, verbose=0
        )
    return model, history.history["loss"]


mixed_model_tf, mixed_losses_tf = fit_tf(policy_tf)
ref_model_tf, ref_losses_tf = fit_tf("float32")


# %% tags=["pytorch"]
def fit_pt(amp_dtype, epochs=2):
    model = build_mlp_pt(init_weights).to(device_pt)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    use_scaler = amp_dtype == torch.float16
    scaler = torch.amp.GradScaler(device_pt.type, enabled=use_scaler)
    loader = tu.to_torch_loader(x_np, y_np, batch_size=64)
    losses = []
    for _ in range(epochs):
        total = 0.0
        for X, y in loader:
            X, y = X.to(device_pt), y.to(device_pt)
            optimizer.zero_grad()
            with torch.autocast(
                device_type=device_pt.type,
                dtype=amp_dtype,
                enabled=amp_dtype != torch.float32,
            ):
                loss = loss_fn_pt(model(X), y)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            total += loss.item()
        losses.append(total / len(loader))
    return model, losses


mixed_model_pt, mixed_losses_pt = fit_pt(amp_dtype_pt)
ref_model_pt, ref_losses_pt = fit_pt(torch.float32)

# %% tags=["nbval-ignore-output"]
print(f"optimizer Keras built: {type(mixed_model_tf.optimizer).__name__}")
for name, mixed, ref in (
    ("TensorFlow", mixed_losses_tf, ref_losses_tf),
    ("PyTorch", mixed_losses_pt, ref_losses_pt),
):
    print(f"{name:<11} mean train loss per epoch: mixed {np.round(mixed, 4)}", end="")
    print(f"  float32 {np.round(ref, 4)}")

# %% [markdown]
# The log depends on the device, so the tests check what must hold instead: the mixed-precision runs keep float32
# weights, Keras wrapped the optimizer exactly when float16 was chosen, and every epoch's loss stays within 2 % of the
# float32 run's (the two runs round differently at every step, so their paths drift apart slowly; 2 % allows for that
# drift over 64 steps, and for float16 as well as bfloat16).

# %%
assert mixed_model_tf.layers[0].kernel.dtype == "float32"
assert mixed_model_pt.fc1.weight.dtype == torch.float32
wrapped = isinstance(mixed_model_tf.optimizer, keras.optimizers.LossScaleOptimizer)
assert wrapped == use_float16
np.testing.assert_allclose(mixed_losses_tf, ref_losses_tf, rtol=0.02)
np.testing.assert_allclose(mixed_losses_pt, ref_losses_pt, rtol=0.02)
np.testing.assert_allclose(ref_losses_tf, ref_losses_pt, rtol=1e-4)
print("mixed precision trains like float32 (2% per epoch), weights stay float32;")
print("the two frameworks' float32 runs agree to 1e-4")

# %% [markdown]
# Does 16-bit arithmetic pay on this machine? A 1024 × 1024 matrix product, the operation autocast moves to 16 bits,
# timed as the median of 10 repetitions in each framework, in float32 and in the dtype chosen above:

# %% tags=["nbval-ignore-output"]
import statistics
import time


def median_ms(fn, repeats=20, warmup=3):
    """Median wall time of fn() in milliseconds; fn must wait for its result."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def sync_pt():
    if device_pt.type == "cuda":
        torch.cuda.synchronize()


a_np = np.random.default_rng(seed).standard_normal((1024, 1024), dtype=np.float32)
low_name = str(amp_dtype_pt).removeprefix("torch.")
matmul_ms = {}
with tf.device(device_tf):
    for name in ("float32", low_name):
        a_tf = tf.cast(tf.constant(a_np), name)
        matmul_ms["TensorFlow", name] = median_ms(lambda a=a_tf: (a @ a).numpy(), 10)
for name in ("float32", low_name):
    a_pt = torch.from_numpy(a_np).to(device_pt, getattr(torch, name))
    matmul_ms["PyTorch", name] = median_ms(lambda a=a_pt: (a @ a, sync_pt()), 10)
threads = f"PyTorch {torch.get_num_threads()} threads, TensorFlow intra-op " + str(
    tf.config.threading.get_intra_op_parallelism_threads() or "auto"
)
print(f"{os.cpu_count()} CPU cores; {threads}")
for (framework, name), ms in matmul_ms.items():
    print(f"{framework:<11} {name:<9} {ms:8.2f} ms")
for framework in ("TensorFlow", "PyTorch"):
    ratio = matmul_ms[framework, "float32"] / matmul_ms[framework, low_name]
    tu.glue(f"ch05_matmul_speedup_{framework.lower()}", f"{ratio:.1f}")
tu.glue("ch05_low_dtype", low_name)

# %% [markdown]
# Here the {glue:text}`ch05_low_dtype` product ran {glue:text}`ch05_matmul_speedup_tensorflow` times as fast as
# float32 in TensorFlow and {glue:text}`ch05_matmul_speedup_pytorch` times as fast in PyTorch (a ratio below 1 means
# slower). Whether 16 bits pay off is a property of the hardware: CPUs without native bfloat16 instructions emulate
# it and lose, GPUs with tensor cores gain several-fold. Measure on yours.

# %% [markdown]
# (sec-compilation)=
# ## Compilation: XLA and TorchInductor
#
# An eager framework runs one operation at a time: each operation reads its inputs from memory, computes, and writes
# its output back, and Python dispatches the next one. A compiler sees the whole function and can **fuse** a chain of
# element-wise operations into a single loop that reads the input once and writes the output once. TensorFlow's
# compiler is XLA, switched on per function with
# [`tf.function(jit_compile=True)`](https://www.tensorflow.org/api_docs/python/tf/function)
# ([XLA documentation](https://openxla.org/xla/tf2xla)). PyTorch's is
# [`torch.compile`](https://docs.pytorch.org/docs/stable/generated/torch.compile.html): TorchDynamo captures the
# Python function as a graph, AOTAutograd derives the backward graph, and TorchInductor, the default backend,
# generates code: Triton kernels on GPUs and C++/OpenMP on CPUs, which it compiles with the system's C++ compiler
# ([`torch.compiler` overview](https://docs.pytorch.org/docs/stable/torch.compiler.html)).
#
# ### Fusing an element-wise chain
#
# The tanh approximation of the GELU activation is eight element-wise operations. Run eagerly, each one makes a pass
# over memory; compiled, they should become one. The inputs are $2^{20}$ random values shared by both frameworks.
#
# TorchInductor keeps compiled code in an on-disk cache, so only the first compilation on a machine pays the full
# price. To measure that price honestly, the PyTorch cell points the cache at a fresh empty folder
# (`TORCHINDUCTOR_CACHE_DIR`) before compiling.

# %% tags=["tensorflow"]
import re


def gelu_tanh_tf(x):
    return 0.5 * x * (1.0 + tf.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


gelu_xla = tf.function(gelu_tanh_tf, jit_compile=True)
v_np = np.random.default_rng(seed).standard_normal(2**20, dtype=np.float32)
with tf.device(device_tf):
    v_tf = tf.constant(v_np)
    start = time.perf_counter()
    out_xla = gelu_xla(v_tf).numpy()
    first_call_s = {("gelu", "TensorFlow XLA"): time.perf_counter() - start}
    out_eager_tf = gelu_tanh_tf(v_tf).numpy()
hlo = gelu_xla.experimental_get_compiler_ir(v_tf)(stage="hlo")
optimized = gelu_xla.experimental_get_compiler_ir(v_tf)(stage="optimized_hlo")
elementwise = r"= f32\[1048576\]\{0\} (?:multiply|add|tanh|power)\("
entry = optimized[optimized.index("ENTRY") :]
print("HLO element-wise ops:", len(re.findall(elementwise, hlo)))
print("fusions after XLA optimises:", entry.count(" fusion("))

# %% tags=["pytorch"]
import pathlib
import tempfile


def gelu_tanh_pt(x):
    return (
        0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
    )


cache_folder = tempfile.TemporaryDirectory(prefix="inductor-cache-")  # removed at exit
inductor_cache = pathlib.Path(cache_folder.name)
os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(inductor_cache)  # empty: a cold start
gelu_compiled = torch.compile(gelu_tanh_pt, fullgraph=True)
v_pt = torch.from_numpy(v_np).to(device_pt)
start = time.perf_counter()
out_compiled = gelu_compiled(v_pt).cpu().numpy()
first_call_s["gelu", "PyTorch, empty cache"] = time.perf_counter() - start
out_eager_pt = gelu_tanh_pt(v_pt).cpu().numpy()
kernels = set()
for path in inductor_cache.rglob("*.py"):
    kernels |= set(re.findall(r"\b(?:cpp|triton)_\w*fused\w*", path.read_text()))
print("kernels Inductor generated:")
print("\n".join(sorted(kernels)))

# %% [markdown]
# XLA turned eight element-wise instructions into a single fusion; Inductor generated a single kernel whose name lists
# the operations it fused. Fusion changes the order of some floating-point operations, so the compiled results are
# compared with the eager ones, and with the other framework's, within a few float32 epsilons:

# %%
np.testing.assert_allclose(out_xla, out_eager_tf, rtol=1e-5, atol=1e-6)
np.testing.assert_allclose(out_compiled, out_eager_pt, rtol=1e-5, atol=1e-6)
np.testing.assert_allclose(out_eager_tf, out_eager_pt, rtol=1e-5, atol=1e-6)
assert entry.count(" fusion(") == 1 and len(kernels) == 1
print("compiled = eager (rtol 1e-5) in both frameworks, and TF = PyTorch;")
print("each compiler fused the whole chain into one kernel")

# %% [markdown]
# ### Compiling a training step
#
# The realistic use is a whole training step: forward pass, loss, backward pass, update. In TensorFlow the step is a
# Python function wrapped in `tf.function`, with or without `jit_compile=True` (plain `tf.function` builds a graph
# and runs it with TensorFlow's own kernels, see {ref}`ch-graphs-autodiff`). In PyTorch one compiles the model, and
# Inductor compiles its forward and backward graphs; the optimizer step and the loop stay in Python. Each variant
# trains a fresh copy of the MLP from the same weights for 20 steps on the same batches of 64.


# %% tags=["tensorflow"]
def make_step_tf(model, optimizer):
    def train_step(X, y):
        with tf.GradientTape() as tape:
            loss = loss_fn_tf(y, model(X, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    return train_step


batches = [(x_np[i : i + 64], y_np[i : i + 64]) for i in range(0, 20 * 64, 64)]
batches_tf = [(tf.constant(X), tf.constant(y)) for X, y in batches]
wrappers_tf = {
    "TensorFlow eager": lambda f: f,
    "TensorFlow tf.function": tf.function,
    "TensorFlow XLA": lambda f: tf.function(f, jit_compile=True),
}
trained_tf, steps_tf = {}, {}
with tf.device(device_tf):
    for name, wrap in wrappers_tf.items():
        model = build_mlp_tf()
        model.set_weights(init_weights)
        step = wrap(make_step_tf(model, keras.optimizers.SGD(lr)))
        start = time.perf_counter()
        float(step(*batches_tf[0]))
        first_call_s["step", name] = time.perf_counter() - start
        for X, y in batches_tf[1:]:
            step(X, y)
        trained_tf[name], steps_tf[name] = model.get_weights(), step


# %% tags=["pytorch"]
def make_step_pt(model, optimizer):
    def train_step(X, y):
        optimizer.zero_grad()
        loss = loss_fn_pt(model(X), y)
        loss.backward()
        optimizer.step()
        return loss

    return train_step


batches_pt = [
    (torch.from_numpy(X).to(device_pt), torch.from_numpy(y).to(device_pt))
    for X, y in batches
]
wrappers_pt = {
    "PyTorch eager": lambda m: m,
    "PyTorch torch.compile": lambda m: torch.compile(m, fullgraph=True),
}
trained_pt, steps_pt = {}, {}
for name, wrap in wrappers_pt.items():
    net = build_mlp_pt(init_weights).to(device_pt)
    step = make_step_pt(wrap(net), torch.optim.SGD(net.parameters(), lr=lr))
    start = time.perf_counter()
    step(*batches_pt[0]).item()
    first_call_s["step", name] = time.perf_counter() - start
    for X, y in batches_pt[1:]:
        step(X, y)
    trained_pt[name] = [p.detach().cpu().numpy() for p in net.parameters()]
    steps_pt[name] = step

# %% [markdown]
# After 20 steps, the compiled runs must hold the weights the eager runs hold (Keras layout for both, so the last
# assertion can also compare the frameworks):

# %%
for weights in trained_tf.values():
    for w, w_ref in zip(weights, trained_tf["TensorFlow eager"]):
        np.testing.assert_allclose(w, w_ref, rtol=1e-4, atol=1e-6)
w_compiled = trained_pt["PyTorch torch.compile"]
w_eager = trained_pt["PyTorch eager"]
for w, w_ref, w_keras in zip(w_compiled, w_eager, trained_tf["TensorFlow eager"]):
    np.testing.assert_allclose(w, w_ref, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(
        w_ref.T if w_ref.ndim == 2 else w_ref, w_keras, atol=1e-5
    )
print("after 20 steps: tf.function and XLA = eager TensorFlow, torch.compile = eager")
print("PyTorch (rtol 1e-4, atol 1e-6), and the two frameworks agree to 1e-5")

# %% [markdown]
# ### What compilation costs and what it saves
#
# Two numbers matter: the **compile time**, paid on the first call (and again whenever the input shapes or dtypes
# change, see the exercises), and the **steady-state time** per call afterwards. The next cell measures both: first
# calls were timed above; steady-state times are medians of 20 calls after a warm-up. It also recompiles the GELU after
# `torch.compiler.reset()`, which clears PyTorch's in-memory state but not the on-disk cache: the cost of compiling
# again on a machine that has compiled the same code before.

# %% tags=["nbval-ignore-output"]
step_ms = {}
with tf.device(device_tf):
    step_ms["gelu", "TensorFlow eager"] = median_ms(lambda: gelu_tanh_tf(v_tf).numpy())
    step_ms["gelu", "TensorFlow XLA"] = median_ms(lambda: gelu_xla(v_tf).numpy())
    for name, step in steps_tf.items():
        step_ms["step", name] = median_ms(lambda f=step: float(f(*batches_tf[0])))
step_ms["gelu", "PyTorch eager"] = median_ms(lambda: (gelu_tanh_pt(v_pt), sync_pt()))
step_ms["gelu", "PyTorch torch.compile"] = median_ms(
    lambda: (gelu_compiled(v_pt), sync_pt())
)
for name, step in steps_pt.items():
    step_ms["step", name] = median_ms(lambda f=step: f(*batches_pt[0]).item())
torch.compiler.reset()  # forget compiled code in memory; the disk cache stays
start = time.perf_counter()
torch.compile(gelu_tanh_pt, fullgraph=True)(v_pt)
first_call_s["gelu", "PyTorch, warm cache"] = time.perf_counter() - start

print(f"{os.cpu_count()} CPU cores; {threads}")
labels = {"gelu": "GELU on 2**20 values", "step": "MLP training step"}
print("first call (trace + compile + run):")
for (what, name), seconds in first_call_s.items():
    print(f"  {labels[what]:<22} {name:<24} {seconds:8.2f} s")
print("steady state, median of 20 calls:")
for (what, name), ms in step_ms.items():
    print(f"  {labels[what]:<22} {name:<24} {ms:8.3f} ms")

# %% [markdown]
# The same numbers as a picture (log scale):

# %%
colors = tu.FRAMEWORK_COLORS
fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
for ax, what, title in (
    (axes[0], "gelu", "GELU on 2**20 values"),
    (axes[1], "step", "MLP training step (batch 64)"),
):
    names = [name for (w, name) in step_ms if w == what]
    values = [step_ms[what, name] for name in names]
    bar_colors = [
        colors["tensorflow" if n.startswith("TensorFlow") else "pytorch"] for n in names
    ]
    ax.barh(names, values, color=bar_colors)
    ax.set_xscale("log")
    ax.invert_yaxis()
    ax.set(title=title, xlabel="median time per call (ms)")
    for i, value in enumerate(values):
        ax.text(value, i, f" {value:.2g}", va="center", fontsize=8)
fig.tight_layout()

# %% tags=["nbval-ignore-output"]
ratios = {
    "xla_gelu": ("gelu", "TensorFlow eager", "TensorFlow XLA"),
    "inductor_gelu": ("gelu", "PyTorch eager", "PyTorch torch.compile"),
    "graph_step": ("step", "TensorFlow eager", "TensorFlow tf.function"),
    "xla_step": ("step", "TensorFlow tf.function", "TensorFlow XLA"),
    "inductor_step": ("step", "PyTorch eager", "PyTorch torch.compile"),
}
for key, (what, before, after) in ratios.items():
    tu.glue(
        f"ch05_{key}_speedup", f"{step_ms[what, before] / step_ms[what, after]:.1f}"
    )
for key, name in (("tf", "TensorFlow eager"), ("pt", "PyTorch eager")):
    tu.glue(f"ch05_eager_step_ms_{key}", f"{step_ms['step', name]:.1f}")
for key, (what, name, digits) in {
    "xla_first_s": ("gelu", "TensorFlow XLA", 1),
    "inductor_cold_s": ("gelu", "PyTorch, empty cache", 0),
    "inductor_warm_s": ("gelu", "PyTorch, warm cache", 1),
    "torch_step_compile_s": ("step", "PyTorch torch.compile", 1),
    "xla_step_compile_s": ("step", "TensorFlow XLA", 1),
}.items():
    tu.glue(f"ch05_{key}", f"{first_call_s[what, name]:.{digits}f}")

# %% [markdown]
# On this run, the fused GELU ran {glue:text}`ch05_xla_gelu_speedup` times as fast as eager TensorFlow under XLA and
# {glue:text}`ch05_inductor_gelu_speedup` times as fast as eager PyTorch under Inductor. The training step tells a
# different story (a factor below 1 means slower). In TensorFlow most of the gain comes from running the step as a
# graph at all: `tf.function` made it {glue:text}`ch05_graph_step_speedup` times as fast as eager execution, which
# took {glue:text}`ch05_eager_step_ms_tf` ms per step against PyTorch's {glue:text}`ch05_eager_step_ms_pt` ms; XLA
# then changed the graph's time by a factor of {glue:text}`ch05_xla_step_speedup`, and `torch.compile` changed
# PyTorch's eager time by a factor of {glue:text}`ch05_inductor_step_speedup`. The step's time goes into two matrix
# products that every variant hands to the same optimised libraries, so there is little to fuse, and at this size the
# fixed cost of each call (checking that the compiled code still applies, launching it) is comparable to the work.
#
# The compile cost is where the two compilers differ most on a CPU. XLA compiled the GELU in
# {glue:text}`ch05_xla_first_s` s and the training step in {glue:text}`ch05_xla_step_compile_s` s. Inductor's first
# compilation, with an empty cache, took {glue:text}`ch05_inductor_cold_s` s: it probes the CPU's vector instructions
# by compiling small test programs and builds each kernel with the system's C++ compiler (`g++` here). The MLP's
# forward and backward graphs then took {glue:text}`ch05_torch_step_compile_s` s, and compiling the GELU again with
# the cache warm {glue:text}`ch05_inductor_warm_s` s. So compile once and run many times: compilation pays off for long
# training runs and for models rich in element-wise work (normalisations, activations, attention masks), and it is a
# poor trade for a quick experiment with a small model. Timings vary between runs, and other processes on the machine
# inflate them; the tests never compare them.

# %% [markdown]
# (sec-data-parallel)=
# ## Data-parallel training on two processes
#
# Data parallelism is the standard way to train on more than one device. Each worker process holds a full copy of the
# model. At every step, each worker takes its own slice of the global batch, computes the loss and the gradients on
# that slice, and then all workers **all-reduce** the gradients: each ends up with the sum (or the mean) over all
# workers, so each applies the same update and the copies stay identical. With $K$ workers and a global batch of $B$
# examples, each worker processes $B/K$ examples per step.
#
# If the loss is a mean over the batch, the mean of the $K$ workers' gradients (each a mean over $B/K$ examples)
# equals the gradient of the mean over all $B$ examples. Two workers with global batch 64 should therefore train the
# same model as one process with batch 64, up to floating-point rounding. The rest of this chapter shows it with each
# framework's own engine:
#
# | | TensorFlow | PyTorch |
# |---|---|---|
# | start the workers | yourself, one process each | `torchrun` starts them |
# | who is who | `TF_CONFIG`: all workers' addresses, its index | `RANK`, `WORLD_SIZE`, `MASTER_ADDR/PORT` |
# | engine | `MultiWorkerMirroredStrategy` | `DistributedDataParallel` |
# | communication | collective ops over gRPC (`RING`) or NCCL | `gloo` (CPU) or `nccl` (GPU) |
# | split the data | `dataset.shard(K, r)`: examples $r, r+K, \dots$ | `DistributedSampler`: the same |
# | loss on a worker | sum of per-example losses / *global* batch | mean over the local batch |
# | combine gradients | the optimizer sums them over replicas | `backward()` averages them |
#
# The references for each side are the [`torchrun`](https://docs.pytorch.org/docs/stable/elastic/run.html) and
# [DDP](https://docs.pytorch.org/docs/stable/notes/ddp.html) documentation, and TensorFlow's
# [multi-worker tutorial](https://www.tensorflow.org/tutorials/distribute/multi_worker_with_ctl) and
# [distributed training guide](https://www.tensorflow.org/guide/distributed_training).
#
# Both sides below use the same data, the same initial weights and the same plain SGD, so the two frameworks should
# also agree with each other.
#
# ### The data and the starting point, on disk
#
# Workers are separate processes; they read their inputs from files. The next cell writes 1,024 digits, their
# indices (so each worker can report which examples it trained on) and the initial weights into a temporary folder,
# with the settings both sides share.

# %%
import json

work_folder = tempfile.TemporaryDirectory(prefix="ch05-workers-")  # removed at exit
workdir = pathlib.Path(work_folder.name)
n_examples, global_batch, num_workers, epochs = 1024, 64, 2, 2
np.savez(
    workdir / "data.npz",
    x=x_np[:n_examples],
    y=y_np[:n_examples],
    ids=np.arange(n_examples),
    **dict(zip(("w1", "b1", "w2", "b2"), init_weights)),
)
config = {"global_batch": global_batch, "lr": lr, "epochs": epochs, "hidden": hidden}
(workdir / "config.json").write_text(json.dumps(config))
sorted(p.name for p in workdir.iterdir())

# %% [markdown]
# ### The worker programs
#
# Each worker is an ordinary function, shown here and saved to a file below. Both set their thread count to one: two
# workers share this machine's CPU cores, and without the limit each would start a thread per core and they would
# fight for them.
#
# The TensorFlow worker creates the strategy first: `MultiWorkerMirroredStrategy` reads `TF_CONFIG`, starts this
# worker's server and connects it to the other workers. The dataset comes from
# `distribute_datasets_from_function`, which hands each worker an `InputContext` and, unlike
# `experimental_distribute_dataset`, neither shards nor batches for you: the function shards by worker and batches by
# the per-replica batch size, 64 / 2 = 32
# ([tf.distribute input guide](https://www.tensorflow.org/tutorials/distribute/input)). `strategy.run` executes the
# step on this worker's replica; Keras's optimizer, asked to apply gradients inside it, first **sums** them over all
# replicas (`keras/src/backend/tensorflow/optimizer.py` in the Keras source), which is why the loss is divided by the
# global batch size rather than the local one
# ([`tf.nn.compute_average_loss`](https://www.tensorflow.org/api_docs/python/tf/nn/compute_average_loss)).
#
# The PyTorch worker joins the process group (`init_process_group` reads the variables `torchrun` sets), builds a
# `DistributedSampler` and wraps the model in `DistributedDataParallel`. DDP hooks into autograd: during `backward()`,
# as gradients become ready, it all-reduces them in buckets and divides by the number of workers, so that after
# `backward()` every worker holds the **mean** gradient
# ([DDP design notes](https://docs.pytorch.org/docs/stable/notes/ddp.html)). The loss stays an ordinary mean over the
# local batch.


# %% tags=["tensorflow"]
def tf_worker(workdir):
    """One MultiWorkerMirroredStrategy worker: trains, then saves its results."""
    import json
    import os
    import time

    import numpy as np
    import tensorflow as tf
    import keras

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    with open(os.path.join(workdir, "config.json")) as f:
        cfg = json.load(f)
    arrays = np.load(os.path.join(workdir, "data.npz"))
    index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]

    # Reads TF_CONFIG, starts this worker's server, connects to the other workers.
    communication = tf.distribute.experimental.CommunicationOptions(
        implementation=tf.distribute.experimental.CommunicationImplementation.RING
    )
    strategy = tf.distribute.MultiWorkerMirroredStrategy(
        communication_options=communication
    )

    def dataset_fn(context):  # called on every worker with that worker's context
        examples = (arrays["x"], arrays["y"], arrays["ids"])
        dataset = tf.data.Dataset.from_tensor_slices(examples)
        dataset = dataset.shard(context.num_input_pipelines, context.input_pipeline_id)
        return dataset.batch(context.get_per_replica_batch_size(cfg["global_batch"]))

    dataset = strategy.distribute_datasets_from_function(dataset_fn)
    with strategy.scope():  # variables created here are mirrored on every replica
        model = keras.Sequential(
            [
                keras.Input(shape=(784,)),
                keras.layers.Dense(cfg["hidden"], activation="relu"),
                keras.layers.Dense(10),
            ]
        )
        model.set_weights([arrays[k] for k in ("w1", "b1", "w2", "b2")])
        optimizer = keras.optimizers.SGD(cfg["lr"])

    def replica_step(X, y):
        with tf.GradientTape() as tape:
            logits = model(X, training=True)
            per_example = keras.losses.sparse_categorical_crossentropy(
                y, logits, from_logits=True
            )
            loss = tf.nn.compute_average_loss(
                per_example, global_batch_size=cfg["global_batch"]
            )
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))  # sums grads
        return tf.reduce_mean(per_example)  # this worker's mean loss, for the log

    @tf.function
    def train_step(X, y):
        return strategy.run(replica_step, args=(X, y))

    def local(value):
        return strategy.experimental_local_results(value)[0].numpy()

    losses, ids = [], []
    start = time.perf_counter()
    for _ in range(cfg["epochs"]):
        for X, y, batch_ids in dataset:
            losses.append(local(train_step(X, y)))
            ids.append(local(batch_ids))
    seconds = time.perf_counter() - start
    weights = dict(zip(("w1", "b1", "w2", "b2"), model.get_weights()))
    path = os.path.join(workdir, f"tf_worker{index}.npz")
    np.savez(path, losses=losses, ids=ids, seconds=seconds, **weights)


# %% tags=["pytorch"]
def torch_worker(workdir):
    """One DistributedDataParallel worker, started by torchrun: trains, saves."""
    import json
    import os
    import time

    import numpy as np
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel
    from torch.utils.data import DataLoader, TensorDataset
    from torch.utils.data.distributed import DistributedSampler

    torch.set_num_threads(1)
    with open(os.path.join(workdir, "config.json")) as f:
        cfg = json.load(f)
    arrays = np.load(os.path.join(workdir, "data.npz"))

    dist.init_process_group(backend="gloo")  # reads RANK, WORLD_SIZE, MASTER_ADDR/PORT
    rank, world_size = dist.get_rank(), dist.get_world_size()
    dataset = TensorDataset(*(torch.from_numpy(arrays[k]) for k in ("x", "y", "ids")))
    sampler = DistributedSampler(dataset, world_size, rank, shuffle=False)
    loader = DataLoader(
        dataset, batch_size=cfg["global_batch"] // world_size, sampler=sampler
    )
    model = torch.nn.Sequential(
        torch.nn.Linear(784, cfg["hidden"]),
        torch.nn.ReLU(),
        torch.nn.Linear(cfg["hidden"], 10),
    )
    with torch.no_grad():  # the same starting point as every other run
        for layer, w, b in ((model[0], "w1", "b1"), (model[2], "w2", "b2")):
            layer.weight.copy_(torch.from_numpy(arrays[w].T))
            layer.bias.copy_(torch.from_numpy(arrays[b]))
    ddp_model = DistributedDataParallel(model)  # on GPUs: device_ids=[local_rank]
    optimizer = torch.optim.SGD(ddp_model.parameters(), lr=cfg["lr"])
    loss_fn = torch.nn.CrossEntropyLoss()

    losses, ids = [], []
    start = time.perf_counter()
    for epoch in range(cfg["epochs"]):
        sampler.set_epoch(epoch)  # reshuffles when shuffle=True; harmless here
        for X, y, batch_ids in loader:
            optimizer.zero_grad()
            loss = loss_fn(ddp_model(X), y)  # mean over this worker's 32 examples
            loss.backward()  # DDP averages the gradients over all workers here
            optimizer.step()
            losses.append(loss.item())
            ids.append(batch_ids.numpy())
    seconds = time.perf_counter() - start
    weights = {
        "w1": model[0].weight.detach().numpy().T,
        "b1": model[0].bias.detach().numpy(),
        "w2": model[2].weight.detach().numpy().T,
        "b2": model[2].bias.detach().numpy(),
    }
    path = os.path.join(workdir, f"torch_rank{rank}.npz")
    np.savez(path, losses=losses, ids=ids, seconds=seconds, **weights)
    dist.destroy_process_group()


# %% [markdown]
# ### Starting the workers
#
# Distributed workers wait for each other, so they must all be started before any of them can finish, and a worker
# whose partner has died waits until it times out. The helper below starts every command at once, sends each one's
# output to a log file, and waits for all of them. If one fails, it stops the others and raises an error that quotes
# the end of the failed worker's log; if they run past the time limit, it stops them all. Each command runs in a new
# process session, so that stopping it also stops the processes it started (`torchrun` starts the PyTorch workers).
#
# Workers find each other through TCP ports on `127.0.0.1`. `free_ports` asks the operating system for unused ones by
# binding to port 0; there is a small window in which another program could take the port before the worker binds
# it, a risk that a cluster scheduler removes by assigning ports itself.

# %%
import pprint
import signal
import socket
import textwrap


def write_worker(fn):
    """Save the function *fn* as a script that calls it with the work folder."""
    script = workdir / f"{fn.__name__}.py"
    call = "\n\nif __name__ == '__main__':\n    import sys\n\n"
    call += f"    {fn.__name__}(sys.argv[1])\n"
    script.write_text(inspect.getsource(fn) + call)
    return str(script)


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def launch(jobs, timeout=300):
    """Start {name: (command, extra_env)} jobs at once and wait for all of them.

    Returns the wall time in seconds. Each job's output goes to workdir/name.log. If a
    job fails or time runs out, stops every job and raises with the end of its log.
    """
    procs = {}
    start = time.perf_counter()
    with contextlib.ExitStack() as logs:
        try:
            for name, (command, extra_env) in jobs.items():
                log = logs.enter_context(open(workdir / f"{name}.log", "w"))
                procs[name] = subprocess.Popen(
                    command,
                    cwd=workdir,
                    env={**os.environ, **extra_env},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # own process group, stopped as a whole
                )
            while True:
                codes = {name: proc.poll() for name, proc in procs.items()}
                failed = [name for name, code in codes.items() if code not in (None, 0)]
                if failed:
                    log_tail = (workdir / f"{failed[0]}.log").read_text().splitlines()
                    raise RuntimeError(
                        f"{failed[0]} exited with status {codes[failed[0]]}:\n"
                        + "\n".join(log_tail[-15:])
                    )
                if all(code == 0 for code in codes.values()):
                    return time.perf_counter() - start
                if time.perf_counter() - start > timeout:
                    raise TimeoutError(f"still running after {timeout} s: {codes}")
                time.sleep(0.1)
        finally:  # stop whatever is still running, whatever happened
            for proc in procs.values():
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()


# %% [markdown]
# The TensorFlow side: two commands, identical except for `TF_CONFIG`, which lists both workers and tells each one
# its index. Worker 0 is also the *chief*, the one that would write checkpoints. The PyTorch side: one `torchrun`
# command (`python -m torch.distributed.run` is the same program) that starts two workers and gives each its rank;
# `OMP_NUM_THREADS=1` is what `torchrun` would set by itself, with a warning, when it starts several workers on one
# machine. The in-Python alternative to `torchrun` is `torch.multiprocessing.spawn`, which calls a function once per
# rank in new processes and leaves setting `MASTER_ADDR`, `MASTER_PORT` and the rank to you
# ([DDP tutorial](https://docs.pytorch.org/tutorials/intermediate/ddp_tutorial.html)). Both sides hide any GPU from
# the workers (`CUDA_VISIBLE_DEVICES=""`): on a machine with one GPU, two workers would otherwise compete for it, the
# same precaution the TensorFlow tutorial takes.

# %% tags=["tensorflow", "nbval-ignore-output"]
tf_script = write_worker(tf_worker)
cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(num_workers)]}
tf_jobs = {}
for index in range(num_workers):
    tf_config = {"cluster": cluster, "task": {"type": "worker", "index": index}}
    env = {"TF_CONFIG": json.dumps(tf_config), "CUDA_VISIBLE_DEVICES": ""}
    env["KERAS_BACKEND"] = "tensorflow"
    tf_jobs[f"tf_worker{index}"] = ([sys.executable, tf_script, str(workdir)], env)
pprint.pprint(tf_config, width=44)  # the last worker's
wall_s = {"TensorFlow": launch(tf_jobs)}

# %% tags=["pytorch", "nbval-ignore-output"]
torch_script = write_worker(torch_worker)
(master_port,) = free_ports(1)
torchrun = [sys.executable, "-m", "torch.distributed.run"]  # the `torchrun` command
torchrun += ["--nnodes=1", f"--nproc-per-node={num_workers}"]
torchrun += ["--master-addr=127.0.0.1", f"--master-port={master_port}"]
env = {"OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
torch_jobs = {"torchrun": ([*torchrun, torch_script, str(workdir)], env)}
print(textwrap.fill(" ".join(["torchrun", *torchrun[3:], "..."]), 44))
wall_s["PyTorch"] = launch(torch_jobs)

# %% [markdown]
# Both cells print the configuration they started the workers with. The port numbers change from run to run, so the
# tests do not compare these outputs; the cells must succeed, and the checks below compare what the workers produced.
#
# ### The single-process baseline
#
# The reference: one process, the same 1,024 examples in the same order, batches of 64, the same weights and
# optimizer, in a plain training loop.


# %% tags=["tensorflow"]
def train_single_tf():
    model = build_mlp_tf()
    model.set_weights(init_weights)
    optimizer = keras.optimizers.SGD(lr)
    step = tf.function(make_step_tf(model, optimizer))
    losses = []
    with tf.device("/CPU:0"):
        for _ in range(epochs):
            for i in range(0, n_examples, global_batch):
                X = tf.constant(x_np[i : i + global_batch])
                y = tf.constant(y_np[i : i + global_batch])
                losses.append(float(step(X, y)))
    return model.get_weights(), np.array(losses)


start = time.perf_counter()
single_weights_tf, single_losses_tf = train_single_tf()
single_s = {"TensorFlow": time.perf_counter() - start}


# %% tags=["pytorch"]
def train_single_pt():
    model = build_mlp_pt(init_weights)
    step = make_step_pt(model, torch.optim.SGD(model.parameters(), lr=lr))
    x_all, y_all = (
        torch.from_numpy(x_np[:n_examples]),
        torch.from_numpy(y_np[:n_examples]),
    )
    losses = []
    for _ in range(epochs):
        for i in range(0, n_examples, global_batch):
            losses.append(
                step(x_all[i : i + global_batch], y_all[i : i + global_batch]).item()
            )
    weights = [p.detach().numpy() for p in model.parameters()]
    return [w.T if w.ndim == 2 else w for w in weights], np.array(losses)


start = time.perf_counter()
single_weights_pt, single_losses_pt = train_single_pt()
single_s["PyTorch"] = time.perf_counter() - start

# %% [markdown]
# ### Same global batch, same model
#
# Now the comparison, in four parts:
#
# 1. **Sharding.** At every step the two workers' examples are disjoint and together form exactly the batch that the
#    single process used at that step (worker 0 the even positions, worker 1 the odd ones).
# 2. **Replicas in sync.** Both workers end with bit-for-bit identical weights: they applied the same all-reduced
#    gradients to the same starting point.
# 3. **Same model as one process.** The distributed weights equal the single-process weights within `atol=1e-6`. Exact
#    equality is not expected: one process sums the 64 examples' gradient contributions inside one matrix product,
#    the workers sum 32 each and then add the two partial sums, and floating-point addition is not associative. The
#    last-bit differences this leaves are then carried forward by every later step.
# 4. **Same loss.** At every step, the mean of the two workers' local losses equals the single process's loss.

# %%
names = ("w1", "b1", "w2", "b2")
results = {
    "TensorFlow": [np.load(workdir / f"tf_worker{i}.npz") for i in range(num_workers)],
    "PyTorch": [np.load(workdir / f"torch_rank{r}.npz") for r in range(num_workers)],
}
single = {
    "TensorFlow": (single_weights_tf, single_losses_tf),
    "PyTorch": (single_weights_pt, single_losses_pt),
}
steps_per_epoch = n_examples // global_batch
max_diff = {}
for framework, (w0, w1) in results.items():
    for step in range(epochs * steps_per_epoch):  # 1. sharding
        first = (step % steps_per_epoch) * global_batch
        together = np.sort(np.concatenate([w0["ids"][step], w1["ids"][step]]))
        np.testing.assert_array_equal(together, np.arange(first, first + global_batch))
        assert np.all(w0["ids"][step] % 2 == 0) and np.all(w1["ids"][step] % 2 == 1)
    single_weights, single_losses = single[framework]
    for k, w_single in zip(names, single_weights):
        np.testing.assert_array_equal(w0[k], w1[k])  # 2. replicas identical
        np.testing.assert_allclose(w0[k], w_single, rtol=1e-5, atol=1e-6)  # 3.
        max_diff[framework, k] = np.abs(w0[k] - w_single).max()
    mean_loss = (w0["losses"] + w1["losses"]) / 2  # 4.
    np.testing.assert_allclose(mean_loss, single_losses, rtol=1e-5)
    print(f"{framework}: 2 workers x 32 examples = 1 process x 64 examples")
for k in names:  # and the two frameworks' distributed runs agree with each other
    np.testing.assert_allclose(
        results["TensorFlow"][0][k], results["PyTorch"][0][k], atol=1e-5
    )
print("TensorFlow's and PyTorch's distributed models agree to 1e-5")

# %% tags=["nbval-ignore-output"]
largest = {fw: max(v for (f, _), v in max_diff.items() if f == fw) for fw in results}
for framework, diff in largest.items():
    tu.glue(f"ch05_dist_diff_{framework.lower()}", f"{diff:.0e}")
    seconds = float(results[framework][0]["seconds"])
    tu.glue(f"ch05_wall_{framework.lower()}", f"{wall_s[framework]:.0f}")
    tu.glue(f"ch05_train_{framework.lower()}", f"{seconds:.2f}")
    tu.glue(f"ch05_single_{framework.lower()}", f"{single_s[framework]:.2f}")
    print(f"{framework}: largest |distributed - single| weight difference {diff:.1e}")
    print(
        f"  2 workers: {wall_s[framework]:.1f} s from launch to exit, {seconds:.2f} s"
    )
    print(f"  of it in the training loop; 1 process: {single_s[framework]:.2f} s")

# %% [markdown]
# The largest weight difference between the distributed and the single-process model was
# {glue:text}`ch05_dist_diff_tensorflow` in TensorFlow and {glue:text}`ch05_dist_diff_pytorch` in PyTorch, the size
# of float32 rounding. The picture shows the same agreement step by step: each worker's loss on its own 32 examples
# (thin lines) wanders around the single process's loss on all 64 (thick line), and their mean (dots) lands on it.

# %%
fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), sharey=True)
for ax, (framework, (w0, w1)) in zip(axes, results.items()):
    color = colors[framework.lower()]
    steps = np.arange(1, len(w0["losses"]) + 1)
    ax.plot(
        steps,
        single[framework][1],
        color=color,
        lw=3,
        alpha=0.5,
        label="1 process, batch 64",
    )
    ax.plot(steps, w0["losses"], color=color, lw=0.8, ls="--", label="worker 0, its 32")
    ax.plot(steps, w1["losses"], color=color, lw=0.8, ls=":", label="worker 1, its 32")
    ax.plot(
        steps,
        (w0["losses"] + w1["losses"]) / 2,
        "o",
        color="black",
        ms=2.5,
        label="mean of the workers",
    )
    ax.set(title=framework, xlabel="step")
    ax.legend(fontsize=8)
axes[0].set_ylabel("training loss")
fig.tight_layout()

# %% [markdown]
# ### What the timings say, and what changes on GPUs
#
# From launch to exit the two workers took {glue:text}`ch05_wall_tensorflow` s (TensorFlow) and
# {glue:text}`ch05_wall_pytorch` s (PyTorch), of which the training loops took {glue:text}`ch05_train_tensorflow` s and
# {glue:text}`ch05_train_pytorch` s; the single process trained the same model in {glue:text}`ch05_single_tensorflow`
# s and {glue:text}`ch05_single_pytorch` s, inside an already running kernel. The rest of the launch time is starting
# Python processes, importing the frameworks and connecting the workers. On one machine's CPU cores two workers split
# the same cores and add communication, so this section shows correctness, not speed. Data parallelism pays when each
# worker has its own accelerator and the computation per step dwarfs the all-reduce, whose cost grows with the number
# of parameters, not with the batch.
#
# On several GPUs the same programs need small changes:
#
# - **PyTorch**: `backend="nccl"`; each worker picks its GPU from the `LOCAL_RANK` variable that `torchrun` sets,
#   `torch.cuda.set_device(local_rank)`, moves the model there and wraps it with
#   `DistributedDataParallel(model, device_ids=[local_rank])`; launch with `--nproc-per-node` equal to the number of
#   GPUs, and on several machines add `--nnodes` and a rendezvous address
#   ([DDP tutorial](https://docs.pytorch.org/tutorials/intermediate/ddp_tutorial.html)). One process per GPU is the
#   recommended layout, also on a single machine: the older single-process `torch.nn.DataParallel` documents that
#   `DistributedDataParallel` should be used instead.
# - **TensorFlow**: do not hide the GPUs. One worker runs per *machine* and mirrors the model on all of that
#   machine's GPUs (`num_replicas_in_sync` becomes workers × GPUs); choose `CommunicationImplementation.NCCL`; list
#   the machines' addresses in `TF_CONFIG`. On a single machine with several GPUs, `tf.distribute.MirroredStrategy`
#   needs no `TF_CONFIG` at all ([distributed training guide](https://www.tensorflow.org/guide/distributed_training)).
#
# Keep the global batch in mind when scaling out. With $K$ workers and an unchanged per-worker batch, the global batch
# grows $K$-fold, and the learning rate usually has to follow (the linear scaling rule of
# [Goyal et al., 2017](https://arxiv.org/abs/1706.02677)). To reproduce a single-device run exactly, as here, divide
# the batch instead.

# %% [markdown]
# ## Side by side
#
# | Task | TensorFlow / Keras | PyTorch |
# |---|---|---|
# | mixed precision | `set_global_policy("mixed_bfloat16")`, global | `with torch.autocast(...)`, per block |
# | stays float32 | variables, losses | parameters, autocast's float32 ops (losses) |
# | float16 loss scaling | `LossScaleOptimizer` (added by `compile`), $2^{15}$ | `torch.amp.GradScaler`, $2^{16}$ |
# | compile | `tf.function(f, jit_compile=True)` (XLA) | `torch.compile(f)` (Inductor) |
# | inspect compiled code | `f.experimental_get_compiler_ir(x)(stage=...)` | `TORCH_LOGS="output_code"` |
# | first compile here | {glue:text}`ch05_xla_first_s` s | {glue:text}`ch05_inductor_cold_s` s (empty cache) |
# | start workers | one process each, with `TF_CONFIG` | `torchrun --nproc-per-node=K` |
# | data parallelism | `strategy.scope()`, `strategy.run` | `init_process_group`, `DistributedDataParallel` |
# | sharding | `distribute_datasets_from_function`, `shard` | `DistributedSampler`, `set_epoch` |
# | gradient reduction | sum; loss / global batch | mean; loss is the local mean |
#
# ## Summary
#
# - Mixed precision keeps weights, losses and the gradients that reach the optimizer in float32 and computes the
#   layers in 16 bits, in both frameworks. Results stay within a few epsilons of the 16-bit format (bfloat16 logits
#   here within {glue:text}`ch05_logit_err_pt_bfloat16` of float32). float16 needs dynamic loss scaling, and both
#   frameworks implement the same skip-and-halve rule.
# - XLA and TorchInductor both fused an eight-operation element-wise chain into one kernel with results equal to eager
#   execution within float32 rounding. The payoff depends on the model: large for element-wise chains, small for a
#   step dominated by matrix products. On this CPU, Inductor's first compilation took {glue:text}`ch05_inductor_cold_s`
#   s, XLA's {glue:text}`ch05_xla_first_s` s.
# - Two workers with a global batch of 64 trained the same model as one process with batch 64, in both frameworks,
#   to within float32 rounding; PyTorch averages gradients in `backward()`, TensorFlow sums them in the optimizer and
#   divides the loss by the global batch.
#
# ## Exercises
#
# 1. The [TensorFlow mixed precision guide](https://www.tensorflow.org/guide/mixed_precision) recommends computing a
#    model's final softmax in float32, for numerical stability. Under `mixed_bfloat16`, give the MLP's last layer
#    `dtype="float32"` and check that the logits are float32 while the hidden activations are bfloat16. How do you get
#    the same in PyTorch inside an autocast block?
# 2. A compiled function is specialised to the shapes it has seen. Call an XLA-compiled function and a
#    `torch.compile`-d function with batches of 100, 50 and 25 rows and count how often each compiles
#    (`experimental_get_tracing_count()` in TensorFlow; a custom `torch.compile` backend that records each graph it
#    receives in PyTorch). Then make each compile only once.
# 3. DDP averages gradients. Show, on one process, that the mean of two half-batch gradients equals the full-batch
#    gradient when the loss is a mean, and what happens with `CrossEntropyLoss(reduction="sum")`.
# 4. Using the gradient magnitudes of the histogram above, find the range of power-of-two loss scales for which no
#    nonzero gradient is zero in float16 and none overflows.

# %% tags=["hide-cell"]
# Solution 1: the last layer's dtype policy overrides the global one.
with keras_policy("mixed_bfloat16"):
    safe_tf = keras.Sequential(
        [
            keras.Input(shape=(784,)),
            keras.layers.Dense(hidden, activation="relu"),
            keras.layers.Dense(10, dtype="float32"),
        ]
    )
hidden_tf = safe_tf.layers[0](x_batch)
assert hidden_tf.dtype == tf.bfloat16 and safe_tf(x_batch).dtype == tf.float32
# PyTorch: leave autocast for the last layer and cast its input back to float32.
safe_pt = build_mlp_pt(init_weights)
with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
    hidden_pt = torch.relu(safe_pt.fc1(torch.from_numpy(x_batch)))
    with torch.autocast(device_type="cpu", enabled=False):
        logits_safe_pt = safe_pt.fc2(hidden_pt.float())
assert hidden_pt.dtype == torch.bfloat16 and logits_safe_pt.dtype == torch.float32
print("hidden bfloat16, logits float32 in both frameworks")

# %% tags=["hide-cell"]
# Solution 2: count compilations per batch size, then compile for any batch size.
# (Batch sizes equal to another dimension, such as 64 = hidden, would make PyTorch
# assume the two are always equal, "duck sizing", and recompile when they are not.)
weight_np = init_weights[0]
shapes = (100, 50, 25)

xla_fn = tf.function(lambda x: tf.nn.relu(x @ weight_np), jit_compile=True)
for n in shapes:
    xla_fn(x_np[:n])
xla_any = tf.function(
    lambda x: tf.nn.relu(x @ weight_np),
    jit_compile=True,
    input_signature=[tf.TensorSpec([None, 784], tf.float32)],  # any batch size
)
for n in shapes:
    xla_any(x_np[:n])

graphs = []


def counting_backend(graph_module, example_inputs):
    graphs.append(graph_module)
    return graph_module.forward  # run the captured graph as it is, uncompiled


weight_pt = torch.from_numpy(weight_np)
for dynamic in (None, True):  # None: PyTorch's default, True: dynamic from the start
    torch.compiler.reset()
    graphs.clear()
    fn = torch.compile(
        lambda x: torch.relu(x @ weight_pt), backend=counting_backend, dynamic=dynamic
    )
    for n in shapes:
        fn(torch.from_numpy(x_np[:n]))
    print(f"torch.compile(dynamic={dynamic}): {len(graphs)} graph(s) for 3 batch sizes")
print("XLA, fixed shapes:", xla_fn.experimental_get_tracing_count(), "compilations")
print("XLA, input_signature [None, 784]:", xla_any.experimental_get_tracing_count())
assert xla_fn.experimental_get_tracing_count() == 3
assert xla_any.experimental_get_tracing_count() == 1 and len(graphs) == 1
# PyTorch recompiles once, at the second shape, and then treats the batch dimension
# as symbolic ("automatic dynamic shapes"); dynamic=True skips the specialised graph.


# %% tags=["hide-cell"]
# Solution 3: the averaging identity behind DDP, on one process.
def grads_of(loss_fn, X, y):
    model = build_mlp_pt(init_weights)
    loss_fn(model(X), y).backward()
    return [p.grad.clone() for p in model.parameters()]


X, y = torch.from_numpy(x_batch[:64]), torch.from_numpy(y_batch[:64])
halves = [(X[0::2], y[0::2]), (X[1::2], y[1::2])]  # worker 0 and worker 1
for reduction in ("mean", "sum"):
    loss_fn = torch.nn.CrossEntropyLoss(reduction=reduction)
    full = grads_of(loss_fn, X, y)
    averaged = [
        (a + b) / 2 for a, b in zip(*(grads_of(loss_fn, Xh, yh) for Xh, yh in halves))
    ]
    ratio = (full[0].norm() / averaged[0].norm()).item()
    print(f"reduction={reduction!r}: full-batch gradient / DDP's average = {ratio:.3f}")
    for g_full, g_avg in zip(full, averaged):
        factor = 1 if reduction == "mean" else 2
        torch.testing.assert_close(g_full, factor * g_avg, rtol=1e-4, atol=1e-6)
# With a summed loss, DDP's average is half the single-process gradient: use mean
# losses, or scale the learning rate, exactly as the DDP documentation warns.

# %% tags=["hide-cell"]
# Solution 4: smallest scale that lifts every gradient above 2**-24, largest that
# keeps every gradient below float16's maximum.
lowest = math.ceil(math.log2(f16["smallest subnormal"] / magnitudes.min()))
highest = math.floor(math.log2(f16["largest"] / magnitudes.max()))
for power in (lowest, highest):
    scaled_np = (magnitudes * 2.0**power).astype(np.float16)
    assert np.all(scaled_np > 0) and np.all(np.isfinite(scaled_np)), power
print(f"any scale from 2**{lowest} to 2**{highest} works for these gradients;")
print("the intermediate gradients inside the backward pass narrow this range")

# %% tags=["remove-cell"]
# Tidy up: delete the workers' folder and the compiler cache this chapter created.
os.environ.pop("TORCHINDUCTOR_CACHE_DIR", None)
work_folder.cleanup()
cache_folder.cleanup()
