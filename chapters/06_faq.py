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
# (ch-faq)=
# # Frequently asked questions, answered by code that runs
#
# Section 6 of the article (附录常见问题与解答, "appendix: frequently asked questions and answers") is empty: it says
# "for frequently asked questions and answers, see the following articles:" (常见问题与解答可以参考以下文章) and
# lists none. This chapter fills it with the questions
# that people who use both frameworks actually ask, the ones that cost an afternoon the first time. Each answer is
# short, links to the official documentation, and comes with a cell that demonstrates it (TensorFlow first, then
# PyTorch, where both apply) and a check cell that fails the build if the answer ever stops being true.
#
# :::{admonition} Learning goals
# :class: tip
# - recognise the symptoms of the common cross-framework mistakes (a loss stuck at 1.46, a dtype error from NumPy,
#   predictions that change after `model.eval()`, gradients that keep growing) and know the fix for each;
# - move data layouts, weights, checkpoints and batch-norm settings between Keras and PyTorch with identical
#   results, proved by a check;
# - control the shared resources of one Python process: GPU memory, CPU threads, random seeds, the global
#   mixed-precision policy and the installed versions.
# :::
#
# **Prerequisites:** {ref}`ch-code-examples` (the MLP in both frameworks). The questions are independent: jump to
# the one you need. **Runs in:** under a minute on a 2-core laptop CPU.
#
# The questions, by area:
#
# - **Environment:** {ref}`GPU memory <faq-gpu-memory>` · {ref}`CPU threads <faq-threads>` ·
#   {ref}`versions on Colab <faq-versions>` · {ref}`reproducibility <faq-reproducibility>` ·
#   {ref}`GPU results that differ <faq-tf32>`
# - **Data:** {ref}`float64 from NumPy <faq-float64>` · {ref}`NHWC and NCHW <faq-layout>`
# - **Models:** {ref}`parameter counts <faq-params>` · {ref}`training vs inference mode <faq-modes>` ·
#   {ref}`eval() and no_grad() <faq-no-grad>`
# - **Training:** {ref}`loss stuck at 1.46 <faq-double-softmax>` · {ref}`zero_grad() <faq-zero-grad>` ·
#   {ref}`gradient accumulation <faq-accumulation>` · {ref}`mixed precision <faq-mixed-precision>` ·
#   {ref}`tf.function retracing <faq-retracing>`
# - **Files:** {ref}`saving and loading <faq-saving>` · {ref}`porting weights <faq-porting>`

# %% [markdown]
# ## Setup
#
# The same setup as every chapter: the helpers first (they set TensorFlow's environment defaults), PyTorch before
# TensorFlow, then a report of the versions and devices found. The report varies from machine to machine, so the
# test suite does not compare it.

# %% tags=["nbval-ignore-output"]
import tutorial_utils as tu

import torch
import keras  # Keras 3 on the TensorFlow backend: this imports TensorFlow
import tensorflow as tf
import numpy as np
import matplotlib.pyplot as plt

import copy
import os
import tempfile
import time
from importlib import metadata
from pathlib import Path

tu.use_book_style()
info = tu.describe_environment()

# %%
assert keras.backend.backend() == "tensorflow", (
    "restart the kernel without KERAS_BACKEND=torch"
)
device_pt = tu.torch_device()
device_tf = tu.tf_device()
tu.seed_everything(0)
rng = np.random.default_rng(0)  # every NumPy input below comes from this generator
# This chapter builds many small Keras models, and each one traces new graphs, which
# TensorFlow's logger reports as "retracing" (see the question on tf.function below).
tf.get_logger().setLevel("ERROR")

# %% [markdown]
# ## Environment
#
# (faq-gpu-memory)=
# ### TensorFlow takes the whole GPU and PyTorch runs out of memory. What do I do?
#
# "For GPUs, TensorFlow will allocate all the memory by default, unless changed with
# `tf.config.experimental.set_memory_growth`"
# ([`tf.config.experimental.get_memory_info`](https://www.tensorflow.org/api_docs/python/tf/config/experimental/get_memory_info)),
# and it keeps that memory for the lifetime of the process, as TensorFlow's maintainers explain in
# [tensorflow#17048](https://github.com/tensorflow/tensorflow/issues/17048). In one Colab kernel that leaves PyTorch
# almost nothing, and its first `.to("cuda")` fails with `CUDA out of memory`. Two fixes, both before TensorFlow
# touches the GPU:
#
# - set the environment variable `TF_FORCE_GPU_ALLOW_GROWTH=true` before `import tensorflow`
#   ([TensorFlow GPU guide](https://www.tensorflow.org/guide/gpu#limiting_gpu_memory_growth)); `import tutorial_utils`
#   does this, unless you set it yourself;
# - or call [`tf.config.experimental.set_memory_growth(gpu, True)`](https://www.tensorflow.org/api_docs/python/tf/config/experimental/set_memory_growth)
#   for each GPU, which is what `tu.configure_tensorflow()` does. After TensorFlow has initialised the GPU, the call
#   raises `RuntimeError` ("Runtime is already initialized"), and only a restart helps.
#
# `tf.config.set_visible_devices([], "GPU")` keeps TensorFlow off the GPU altogether. PyTorch allocates lazily, but
# its caching allocator keeps freed blocks for reuse: `torch.cuda.memory_allocated()` counts what tensors use,
# `torch.cuda.memory_reserved()` what the allocator holds, and `torch.cuda.empty_cache()` returns the unused part
# ([PyTorch CUDA memory management](https://pytorch.org/docs/stable/notes/cuda.html#memory-management)). So PyTorch
# can hand memory back to TensorFlow, but TensorFlow never hands any back.
#
# The next two cells report each framework's GPU memory after allocating 64 MiB. This page was produced on a CPU,
# so they say so; on a Colab GPU they print the numbers.

# %% tags=["tensorflow", "nbval-ignore-output"]
gpus_tf = tf.config.list_physical_devices("GPU")
print("TF_FORCE_GPU_ALLOW_GROWTH =", os.environ.get("TF_FORCE_GPU_ALLOW_GROWTH"))
if gpus_tf:
    growth_tf = [tf.config.experimental.get_memory_growth(gpu) for gpu in gpus_tf]
    with tf.device(device_tf):
        block_tf = tf.ones((16, 1024, 1024))  # 64 MiB of float32
    memory_tf = tf.config.experimental.get_memory_info("GPU:0")
    print(f"memory growth per GPU: {growth_tf}")
    print(f"TensorFlow holds {memory_tf['current'] / 2**20:.0f} MiB on GPU:0")
else:
    print("TensorFlow sees no GPU here: there is no GPU memory to configure.")

# %% tags=["pytorch", "nbval-ignore-output"]
if torch.cuda.is_available():
    block_pt = torch.ones((16, 1024, 1024), device="cuda")  # 64 MiB of float32
    allocated = torch.cuda.memory_allocated() / 2**20
    reserved = torch.cuda.memory_reserved() / 2**20
    print(
        f"PyTorch tensors use {allocated:.0f} MiB;"
        f" its allocator holds {reserved:.0f} MiB"
    )
    free, total = torch.cuda.mem_get_info()
    print(f"free on the device: {free / 2**30:.1f} of {total / 2**30:.1f} GiB")
else:
    print("PyTorch sees no CUDA GPU here: nothing to share.")

# %% [markdown]
# What must hold on any machine: every GPU TensorFlow sees has memory growth on, so PyTorch can still allocate.

# %%
assert all(tf.config.experimental.get_memory_growth(gpu) for gpu in gpus_tf)
print("checked: memory growth is on for every GPU TensorFlow sees")

# %% [markdown]
# (faq-threads)=
# ### How many CPU threads do the two frameworks use, and how do I change it?
#
# Each framework has its own thread pools: one for parallelism *inside* an operation (a matrix product split over
# cores) and one for running independent operations at the same time. TensorFlow reports 0, which means "the system
# picks an appropriate number", and fixes its pools when it runs its first operation. Before that,
# [`tf.config.threading.set_intra_op_parallelism_threads`](https://www.tensorflow.org/api_docs/python/tf/config/threading/set_intra_op_parallelism_threads)
# takes effect; after it, the call raises. PyTorch's [`torch.set_num_threads`](https://pytorch.org/docs/stable/generated/torch.set_num_threads.html)
# never raises and, as the measurement below shows, changes the pool even late, but its documentation asks you to
# call it "before running eager, JIT or autograd code" to be sure it applies
# ([CPU threading notes](https://pytorch.org/docs/stable/notes/cpu_threading_torchscript_inference.html)). Each
# framework's default depends on the machine; the report in the setup cell prints PyTorch's. With both
# frameworks in one process, each sizes its pool for the whole machine, so they compete when both are busy. To limit
# TensorFlow, set its threads in the first cell, right after the imports and before any TensorFlow operation.

# %% tags=["tensorflow"]
tf.constant(1.0) + 1.0  # any operation starts TensorFlow's runtime, if nothing has yet
print("intra-op threads:", tf.config.threading.get_intra_op_parallelism_threads())
print("inter-op threads:", tf.config.threading.get_inter_op_parallelism_threads())
try:
    tf.config.threading.set_intra_op_parallelism_threads(1)
except RuntimeError as err:
    print("RuntimeError:", err)

# %% [markdown]
# PyTorch can change its pool on the fly, which makes the effect easy to measure: the median time of a 512 × 512
# matrix product with one thread and with all of them. On an idle machine with several cores, more threads are
# faster; on a busy or small machine they can be slower, because the threads wait for cores that other work holds.
# Timings vary with the machine and its load, so the test suite does not compare them.

# %% tags=["pytorch", "nbval-ignore-output"]
threads_before = torch.get_num_threads()
print(f"torch intra-op threads: {threads_before}, inter-op threads:", end=" ")
print(torch.get_num_interop_threads())
a_pt = torch.randn(512, 512)


def median_matmul_ms(threads, repeats=20):
    torch.set_num_threads(threads)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a_pt @ a_pt
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


matmul_ms = {n: median_matmul_ms(n) for n in sorted({1, threads_before})}
torch.set_num_threads(threads_before)
for n, ms in matmul_ms.items():
    print(f"{n} thread(s): {ms:.2f} ms per 512 x 512 matmul (median of 20)")

# %%
assert torch.get_num_threads() == threads_before
assert tf.config.threading.get_intra_op_parallelism_threads() == 0
print("checked: PyTorch's thread count is restored; TensorFlow's was never changed")

# %% [markdown]
# (faq-versions)=
# ### The numbers on Colab differ from the ones in this book. Is something broken?
#
# Probably not. Colab updates its preinstalled TensorFlow, PyTorch and NumPy on its own schedule; the package lists of
# each image are published in [googlecolab/backend-info](https://github.com/googlecolab/backend-info), and a notebook
# can be pinned to one of several past runtime versions
# ([Colab runtime-version FAQ](https://research.google.com/colaboratory/runtime-version-faq.html)). Printed numbers,
# warnings and timings may change with the versions; the check cells say what must hold everywhere.
# `tu.describe_environment()` prints the versions found next to the ones this book was tested with, and
# `tu.version_drift()` returns one hint per package whose major.minor version differs.
#
# Two habits avoid most version trouble on Colab:
#
# - install helpers **without** their dependencies, so that pip does not replace Colab's CUDA builds of the
#   frameworks: `%pip install --no-deps "tfpt-tutorial-utils @ git+https://..."` (what this chapter's hidden first
#   cell does; [pip's `--no-deps`](https://pip.pypa.io/en/stable/cli/pip_install/#cmdoption-no-deps));
# - do not upgrade TensorFlow, PyTorch or NumPy in a running kernel. Python keeps the modules it has already
#   imported, so the kernel runs the old code with the new files on disk until you restart the session. The cell
#   below detects that state: it compares each imported module's `__version__` with the installed distribution.


# %%
def stale_imports(modules):
    """Modules whose imported version differs from the installed one (restart!)."""
    stale = []
    for module in modules:
        try:
            installed = metadata.version(module.__name__)
        except metadata.PackageNotFoundError:  # e.g. installed as tensorflow-cpu
            continue
        if installed != module.__version__:
            stale.append(
                f"{module.__name__}: imported {module.__version__},"
                f" installed {installed}"
            )
    return stale


print("tested with:", ", ".join(f"{k} {v}" for k, v in tu.TESTED_WITH.items()))
print("drift:", tu.version_drift() or "none, this kernel runs the tested versions")
print("stale imports:", stale_imports([np, torch, tf, keras]) or "none")

# %% [markdown]
# (faq-reproducibility)=
# ### How do I make a run reproducible?
#
# Seed every generator that the run draws from, in each framework, and ask for deterministic kernels:
#
# - Keras: [`keras.utils.set_random_seed(s)`](https://keras.io/api/utils/python_utils/#setrandomseed-function) seeds
#   Python, NumPy and the backend; [`tf.config.experimental.enable_op_determinism()`](https://www.tensorflow.org/api_docs/python/tf/config/experimental/enable_op_determinism)
#   makes TensorFlow choose deterministic kernels, or raise for an operation that has none;
# - PyTorch: [`torch.manual_seed(s)`](https://pytorch.org/docs/stable/notes/randomness.html) seeds the CPU and
#   every CUDA device; [`torch.use_deterministic_algorithms(True)`](https://pytorch.org/docs/stable/generated/torch.use_deterministic_algorithms.html)
#   does what `enable_op_determinism` does; give a `DataLoader` its own seeded `generator` (and a `worker_init_fn`
#   for worker processes), so that its order does not depend on whatever else drew random numbers.
#
# `tu.seed_everything(seed)` does all of this for both frameworks; this chapter called it in the setup cell. The
# cells below train a tiny classifier with dropout and a shuffled dataset twice from the same seed, and once from
# another seed.

# %%
x_np = rng.normal(size=(64, 8)).astype(np.float32)  # shared input for this section
y_np = (x_np.sum(axis=1) > 0).astype(np.int64)


# %% tags=["tensorflow"]
def train_tf(seed, epochs=1):
    keras.utils.set_random_seed(seed)  # Python, NumPy and TensorFlow
    model = keras.Sequential(
        [
            keras.Input(shape=(8,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(2),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.1),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    data = tu.to_tf_dataset(x_np, y_np, batch_size=16, shuffle=True, seed=seed)
    model.fit(data, epochs=epochs, shuffle=False, verbose=0)
    return model.get_weights()


runs_tf = {
    "seed 1, run 1": train_tf(1),
    "seed 1, run 2": train_tf(1),
    "seed 2": train_tf(2),
}


# %% tags=["pytorch"]
def train_pt(seed, epochs=1):
    torch.manual_seed(seed)  # initial weights and dropout masks
    model = torch.nn.Sequential(
        torch.nn.Linear(8, 16),
        torch.nn.ReLU(),
        torch.nn.Dropout(0.5),
        torch.nn.Linear(16, 2),
    ).to(device_pt)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loader = tu.to_torch_loader(x_np, y_np, batch_size=16, shuffle=True, seed=seed)
    model.train()
    for _ in range(epochs):
        for X, y in loader:
            X, y = X.to(device_pt), y.to(device_pt)
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(X), y).backward()
            optimizer.step()
    return [p.detach().cpu().numpy() for p in model.parameters()]


runs_pt = {
    "seed 1, run 1": train_pt(1),
    "seed 1, run 2": train_pt(1),
    "seed 2": train_pt(2),
}

# %% [markdown]
# Same seed, bit-for-bit the same weights; another seed, other weights. Across frameworks, the same seed gives
# nothing alike: the initialisers and the random generators differ, so a Keras model and a PyTorch model never start
# from the same weights unless you copy them ({ref}`faq-porting`). Even from identical weights, their kernels add
# numbers in different orders, so compare the two frameworks with a tolerance, never bit for bit. And
# `keras.utils.set_random_seed` does not seed PyTorch when Keras runs on TensorFlow, as the last lines show: seed
# both.


# %%
def identical(a, b):
    return all(np.array_equal(p, q) for p, q in zip(a, b))


for name, runs in (("TensorFlow", runs_tf), ("PyTorch", runs_pt)):
    assert identical(runs["seed 1, run 1"], runs["seed 1, run 2"]), name
    assert not identical(runs["seed 1, run 1"], runs["seed 2"]), name
    print(f"{name}: same seed -> identical weights; other seed -> different weights")

keras.utils.set_random_seed(0)
first = torch.rand(3)
keras.utils.set_random_seed(0)
second = torch.rand(3)
print("keras.utils.set_random_seed also seeds torch:", torch.equal(first, second))

# %% [markdown]
# (faq-tf32)=
# ### On a GPU, TensorFlow and PyTorch disagree in the third digit. Which one is wrong?
#
# Usually neither: they round differently. On NVIDIA GPUs from the Ampere generation on (A100, L4, H100, ...),
# TensorFlow runs `float32` matrix products and convolutions in TensorFloat-32: "TensorFloat-32 is enabled by
# default", and inputs are "rounded from 23 bits of precision to 10 bits"
# ([`tf.config.experimental.enable_tensor_float_32_execution`](https://www.tensorflow.org/api_docs/python/tf/config/experimental/enable_tensor_float_32_execution)).
# PyTorch computes `float32` matrix products in full precision by default (the default changed in version 1.12), but
# allows TF32 in cuDNN convolutions ([PyTorch CUDA semantics](https://pytorch.org/docs/stable/notes/cuda.html),
# section "TensorFloat-32 (TF32) on Ampere (and later) devices").
# CPUs and older GPUs, such as Colab's T4, compute in full `float32` whatever the flags say. The cells below print
# the flags and switch TF32 off in TensorFlow for the rest of this chapter, so that its cross-framework checks hold
# on any GPU; a NumPy emulation then shows what the rounding costs in a 256 × 256 matrix product.

# %% tags=["tensorflow"]
tf32_default = tf.config.experimental.tensor_float_32_execution_enabled()
tf.config.experimental.enable_tensor_float_32_execution(False)  # for this chapter
print(f"TensorFlow allows TF32 by default: {tf32_default}; now:", end=" ")
print(tf.config.experimental.tensor_float_32_execution_enabled())

# %% tags=["pytorch"]
print("PyTorch allows TF32 in matrix products:", torch.backends.cuda.matmul.allow_tf32)
print("PyTorch allows TF32 in cuDNN convolutions:", torch.backends.cudnn.allow_tf32)


# %%
def round_to_tf32(a):
    """Round float32 values to TF32's 10-bit mantissa (an emulation in NumPy)."""
    bits = np.asarray(a, dtype=np.float32).view(np.uint32)
    return ((bits + np.uint32(0x1000)) & np.uint32(0xFFFFE000)).view(np.float32)


a_np = rng.normal(size=(256, 256)).astype(np.float32)
b_np = rng.normal(size=(256, 256)).astype(np.float32)
exact = a_np.astype(np.float64) @ b_np.astype(np.float64)
tf32_product = round_to_tf32(a_np).astype(np.float64) @ round_to_tf32(b_np).astype(
    np.float64
)
err_f32 = np.abs(a_np @ b_np - exact).max() / np.abs(exact).max()
err_tf32 = np.abs(tf32_product - exact).max() / np.abs(exact).max()
assert err_f32 < 1e-5 < 1e-4 < err_tf32
print(f"largest relative error: float32 below 1e-5, TF32 inputs {err_tf32:.1e}")

# %% [markdown]
# ## Data
#
# (faq-float64)=
# ### Why do I get a dtype error when I feed a NumPy array?
#
# NumPy creates `float64` arrays by default; both frameworks compute in `float32` by default, and both keep the
# array's dtype when they convert it: `tf.constant(a)` and `torch.from_numpy(a)` (which even shares the memory,
# [`torch.from_numpy`](https://pytorch.org/docs/stable/generated/torch.from_numpy.html)) give `float64` tensors. What
# happens next differs:
#
# - **Keras layers** cast floating-point inputs to their compute dtype, so a `Dense` layer quietly accepts `float64`
#   and returns `float32` (see [Keras dtype policies](https://keras.io/api/mixed_precision/policy/)). Raw TensorFlow
#   operations do not convert at all: "by default, TensorFlow raises errors instead of promoting types for mixed type
#   operations" ([TensorFlow type promotion guide](https://www.tensorflow.org/guide/tf_numpy_type_promotion)).
# - **PyTorch modules** do not cast: `nn.Linear` on a `float64` tensor raises. PyTorch arithmetic, on the other hand,
#   *promotes* silently ([type promotion](https://pytorch.org/docs/stable/tensor_attributes.html#type-promotion-doc)):
#   `float32 + float64` is `float64`, so a `float64` tensor can spread through a computation and make it slower.

# %% tags=["tensorflow"]
x64_np = rng.random((2, 3))  # float64, NumPy's default
x64_tf = tf.constant(x64_np)
dense_tf = keras.layers.Dense(2)
print(
    f"tf.constant keeps {x64_tf.dtype.name};"
    f" Dense returns {dense_tf(x64_tf).dtype.name}"
)
try:
    x64_tf + tf.ones((2, 3))  # float64 + float32
except tf.errors.InvalidArgumentError as err:
    print("InvalidArgumentError:", err.message.split(" [Op")[0])

# %% tags=["pytorch"]
x64_pt = torch.from_numpy(x64_np)
linear_pt = torch.nn.Linear(3, 2)
print(f"torch.from_numpy keeps {x64_pt.dtype}; float32 + float64 gives", end=" ")
print((torch.ones(2, 3) + x64_pt).dtype)
try:
    linear_pt(x64_pt)
except RuntimeError as err:
    print("RuntimeError:", err)

# %% [markdown]
# The fix is the same in both: convert once, where the data enters, with `astype(np.float32)` (this book's
# `tu.preprocess` does it for MNIST). Then neither framework has anything to cast or promote.

# %%
x32_np = x64_np.astype(np.float32)
assert dense_tf(x32_np).dtype == "float32"
assert linear_pt(torch.from_numpy(x32_np)).dtype == torch.float32
assert (torch.ones(2, 3) + torch.from_numpy(x32_np)).dtype == torch.float32
print("checked: float32 input stays float32 in both frameworks")

# %% [markdown]
# (faq-layout)=
# ### My images are NHWC in TensorFlow and NCHW in PyTorch. How do I port a convolution?
#
# Keras puts channels last by default: images are `(batch, height, width, channels)` and a `Conv2D` kernel is
# `(kernel_h, kernel_w, in_channels, out_channels)`, "HWIO"
# ([Keras `Conv2D`](https://keras.io/api/layers/convolution_layers/convolution2d/); `data_format="channels_first"`
# switches the layer to NCHW). PyTorch puts channels first: images are `(batch, channels, height, width)` and a
# `Conv2d` weight is `(out_channels, in_channels, kernel_h, kernel_w)`, "OIHW"
# ([PyTorch `Conv2d`](https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html)). Porting needs two
# transpositions: the input `permute(0, 3, 1, 2)` and the kernel `permute(3, 2, 0, 1)`. PyTorch's
# [`channels_last` memory format](https://pytorch.org/tutorials/intermediate/memory_format_tutorial.html) changes
# only how a tensor is stored, not its shape or indexing, so it changes none of this.

# %% tags=["tensorflow"]
print("Keras image_data_format:", keras.config.image_data_format())
images_np = rng.random((2, 6, 6, 3), dtype=np.float32)  # NHWC
conv_tf = keras.layers.Conv2D(4, kernel_size=3, padding="same")
out_tf = conv_tf(images_np)
kernel_tf, bias_tf = conv_tf.get_weights()
print(
    f"input {images_np.shape}, kernel {kernel_tf.shape}, output {tuple(out_tf.shape)}"
)

# %% tags=["pytorch"]
conv_pt = torch.nn.Conv2d(3, 4, kernel_size=3, padding="same")
kernel_pt = torch.from_numpy(kernel_tf).permute(3, 2, 0, 1)  # HWIO -> OIHW
with torch.no_grad():
    conv_pt.weight.copy_(kernel_pt)
    conv_pt.bias.copy_(torch.from_numpy(bias_tf))
images_pt = torch.from_numpy(images_np).permute(0, 3, 1, 2)  # NHWC -> NCHW
with torch.no_grad():
    out_pt = conv_pt(images_pt)
print(
    f"input {tuple(images_pt.shape)}, weight {tuple(conv_pt.weight.shape)},"
    f" output {tuple(out_pt.shape)}"
)

# %%
np.testing.assert_allclose(
    out_pt.permute(0, 2, 3, 1).numpy(), out_tf.numpy(), rtol=1e-5, atol=1e-6
)
print("checked: the ported convolution gives the same feature maps (atol 1e-6)")

# %% [markdown]
# Two more traps when porting a convolutional network. First, `padding="same"` with a stride of 2: TensorFlow pads
# more on the bottom and right when the total padding is odd, while PyTorch refuses `"same"` for strided
# convolutions, so you pad explicitly (`torch.nn.functional.pad`) to match. Second, a `Flatten` before a dense layer
# flattens `(H, W, C)` in Keras and `(C, H, W)` in PyTorch, so the dense layer's input rows come in a different
# order (exercise 1 below ports such a network).

# %%
try:
    torch.nn.Conv2d(3, 4, kernel_size=3, stride=2, padding="same")
except ValueError as err:
    print("ValueError:", err)

# %% [markdown]
# ## Models
#
# (faq-params)=
# ### How do I count parameters, and why do the counts differ?
#
# Keras has `model.count_params()` and `model.summary()`; PyTorch has no built-in counter, and the idiom is
# `sum(p.numel() for p in model.parameters())`. The two disagree on models with batch normalisation, because they
# count different things: Keras counts every weight, including the *non-trainable* moving mean and variance, while
# PyTorch keeps those statistics as **buffers**, which `parameters()` leaves out
# ([`Module.register_buffer`](https://pytorch.org/docs/stable/generated/torch.nn.Module.html#torch.nn.Module.register_buffer)).
# PyTorch also keeps a step counter, `num_batches_tracked`, among the buffers.

# %% tags=["tensorflow"]
counted_tf = keras.Sequential(
    [keras.Input(shape=(4,)), keras.layers.Dense(3), keras.layers.BatchNormalization()]
)
trainable_tf = sum(int(np.prod(w.shape)) for w in counted_tf.trainable_weights)
print(
    f"count_params(): {counted_tf.count_params()}, of which trainable: {trainable_tf}"
)
print("non-trainable:", [w.path for w in counted_tf.non_trainable_weights])

# %% tags=["pytorch"]
counted_pt = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
params_pt = sum(p.numel() for p in counted_pt.parameters())
all_trainable = all(p.requires_grad for p in counted_pt.parameters())
print(f"parameters: {params_pt}, all trainable: {all_trainable}")
print("buffers:", {name: tuple(b.shape) for name, b in counted_pt.named_buffers()})

# %%
float_buffers = sum(
    b.numel() for b in counted_pt.buffers() if b.dtype.is_floating_point
)
assert trainable_tf == params_pt
assert counted_tf.count_params() == params_pt + float_buffers
print("checked: Keras's count = PyTorch's parameters + the running mean and variance")

# %% [markdown]
# (faq-modes)=
# ### Why do my predictions change between training and inference?
#
# Dropout and batch normalisation behave differently while training. Dropout zeroes a random fraction `rate` of its
# inputs and scales the rest by `1 / (1 - rate)`; at inference it does nothing. Batch norm normalises with the
# statistics of the current batch while training, and with moving averages of them at inference. The frameworks
# switch between the two differently:
#
# - **Keras** passes a `training` argument down the model: `fit` calls it with `training=True`; `predict`,
#   `evaluate` and a plain call `model(x)` use `training=False`
#   ([Keras `Dropout`](https://keras.io/api/layers/regularization_layers/dropout/),
#   [`BatchNormalization`](https://keras.io/api/layers/normalization_layers/batch_normalization/)).
# - **PyTorch** keeps a mode flag on every module: `model.train()` sets it, `model.eval()` clears it, and a freshly
#   built module **starts in training mode**
#   ([`Module.eval`](https://pytorch.org/docs/stable/generated/torch.nn.Module.html#torch.nn.Module.eval)). Forget
#   `model.eval()` before predicting, and dropout makes the predictions random while batch norm makes each one
#   depend on the rest of the batch.

# %% tags=["tensorflow"]
ones_np = np.ones((1, 1000), dtype=np.float32)
dropout_tf = keras.layers.Dropout(0.5)
for training in (True, False):
    values = np.unique(dropout_tf(ones_np, training=training).numpy())
    print(f"Dropout(0.5), training={training!s:<5}: output values {values.tolist()}")

# %% tags=["pytorch"]
dropout_pt = torch.nn.Dropout(0.5)
print("a new module is in training mode:", dropout_pt.training)
for mode in ("train", "eval"):
    getattr(dropout_pt, mode)()
    values = torch.unique(dropout_pt(torch.from_numpy(ones_np)))
    print(f"Dropout(0.5) after .{mode}(): output values {values.tolist()}")

# %% [markdown]
# Batch norm is where the conventions really part. The word *momentum* means opposite things: in Keras,
# `moving_mean = momentum * moving_mean + (1 - momentum) * batch_mean` with a default of 0.99, so each batch
# contributes 1 % of the new average; in PyTorch, `running_mean = (1 - momentum) * running_mean + momentum *
# batch_mean` with a default of 0.1, so each batch contributes 10 %
# ([PyTorch `BatchNorm1d`](https://pytorch.org/docs/stable/generated/torch.nn.BatchNorm1d.html): "This momentum
# argument is different from one used in optimizer classes and the conventional notion of momentum"). The defaults
# for epsilon differ too. The cells below print the defaults, then feed one batch with mean 5 through a fresh
# layer in each mode: after one step, inference still uses moving averages near their initial values (mean 0,
# variance 1), which is why a model trained for only a few steps predicts badly in inference mode.

# %% tags=["tensorflow"]
x_bn = rng.normal(loc=5.0, scale=3.0, size=(8, 4)).astype(np.float32)
bn_tf = keras.layers.BatchNormalization()
print(f"Keras defaults: momentum={bn_tf.momentum}, epsilon={bn_tf.epsilon}")
train_out_tf = bn_tf(x_bn, training=True)
infer_out_tf = bn_tf(x_bn, training=False)
means_tf = [
    round(float(out.numpy().mean()), 3) + 0.0 for out in (train_out_tf, infer_out_tf)
]
print(f"output mean: training {means_tf[0]:.3f}, inference {means_tf[1]:.3f}")
print(f"moving mean after one batch: {bn_tf.moving_mean.numpy().mean():.3f}")

# %% tags=["pytorch"]
bn_pt = torch.nn.BatchNorm1d(4)
print(f"PyTorch defaults: momentum={bn_pt.momentum}, eps={bn_pt.eps}")
x_bn_pt = torch.from_numpy(x_bn)
with torch.no_grad():
    train_out_pt = bn_pt.train()(x_bn_pt)
    infer_out_pt = bn_pt.eval()(x_bn_pt)
means_pt = [round(out.mean().item(), 3) + 0.0 for out in (train_out_pt, infer_out_pt)]
print(f"output mean: training {means_pt[0]:.3f}, inference {means_pt[1]:.3f}")
print(f"running mean after one batch: {bn_pt.running_mean.mean():.3f}")

# %% [markdown]
# To make the two layers agree, convert the momentum (`keras_momentum = 1 - torch_momentum`) and set the same
# epsilon. One difference remains, and no argument removes it: for the running variance, PyTorch uses the unbiased
# estimate of the batch variance (divided by $n - 1$), Keras the biased one (divided by $n$), as the PyTorch page
# states. The check below proves all three statements on the batch above.

# %%
n = len(x_bn)
matched_tf = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5)
matched_pt = torch.nn.BatchNorm1d(4, momentum=0.1, eps=1e-5).train()
out_matched_tf = matched_tf(x_bn, training=True).numpy()
with torch.no_grad():
    out_matched_pt = matched_pt(x_bn_pt).numpy()
np.testing.assert_allclose(out_matched_tf, out_matched_pt, rtol=1e-5, atol=1e-5)
np.testing.assert_allclose(
    matched_tf.moving_mean.numpy(), matched_pt.running_mean.numpy(), rtol=1e-6
)
var_biased = x_bn.var(axis=0)
np.testing.assert_allclose(
    matched_tf.moving_variance.numpy(), 0.9 + 0.1 * var_biased, rtol=1e-5
)
np.testing.assert_allclose(
    matched_pt.running_var.numpy(), 0.9 + 0.1 * var_biased * n / (n - 1), rtol=1e-5
)
print("checked: same outputs and moving means; variances differ by n/(n-1)")

# %% [markdown]
# (faq-no-grad)=
# ### Do I need `model.eval()` *and* `torch.no_grad()`?
#
# Yes, for inference you want both, because they do different things
# ([PyTorch autograd notes](https://pytorch.org/docs/stable/notes/autograd.html#locally-disabling-gradient-computation)):
# `model.eval()` switches layers such as dropout and batch norm to their inference behaviour and has no effect on
# autograd; `torch.no_grad()` (or the stricter `torch.inference_mode()`) stops autograd from recording the
# computation, which saves memory and time, and changes no layer. Keras needs neither: outside a `GradientTape`
# nothing is recorded, and `predict` runs in inference mode.

# %% tags=["pytorch"]
modes_pt = torch.nn.Sequential(torch.nn.Linear(4, 64), torch.nn.Dropout(0.5))
x_modes = torch.ones(1, 4)


def describe(eval_mode, no_grad):
    modes_pt.train(not eval_mode)
    with torch.set_grad_enabled(not no_grad):
        first, second = modes_pt(x_modes), modes_pt(x_modes)
    return first.requires_grad, torch.equal(first, second)


modes = {(e, g): describe(e, g) for e in (False, True) for g in (False, True)}
print("eval()  no_grad() | records graph  same output twice")
for (e, g), (records, same) in modes.items():
    print(f"{e!s:<7} {g!s:<9} | {records!s:<14} {same}")

# %%
assert modes[True, True] == (False, True)  # inference: no graph, deterministic
assert modes[True, False] == (True, True)  # eval() alone still records a graph
assert modes[False, True] == (False, False)  # no_grad() alone still drops out
print("checked: only eval() + no_grad() gives a deterministic output without a graph")

# %% [markdown]
# ## Training
#
# (faq-double-softmax)=
# ### My loss is stuck around 1.46 and will not go down. Why?
#
# With ten classes, a cross-entropy that never gets below about 1.46 is the signature of a **double softmax**: the model
# ends in a softmax and the loss applies another one. PyTorch's `nn.CrossEntropyLoss` expects "unnormalized logits"
# ([docs](https://pytorch.org/docs/stable/generated/torch.nn.CrossEntropyLoss.html)), and so does Keras's loss with
# `from_logits=True`. Probabilities in $[0, 1]$ treated as logits can never make one class much likelier than
# the others: even for a perfect one-hot prediction the loss stays at $\log(1 + (C-1)/e)$, about 1.4612 for
# $C = 10$. The article's code has exactly this bug; {ref}`ch-code-examples` measures what it costs, and shows
# that Keras on the TensorFlow backend repairs it with a warning when the softmax is a Keras one. A softmax from
# outside Keras, as below, is not repaired.
#
# The cells compute the loss of an ever more confident, correct prediction: logits $s$ for the right class and 0
# for the others, with $s$ from 0 to 12.

# %% tags=["tensorflow"]
classes = 10
scales = np.linspace(0.0, 12.0, 25, dtype=np.float32)
labels_np = np.arange(classes)
xent_tf = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
correct_tf, double_tf = [], []
for s in scales:
    logits_tf = s * tf.one_hot(labels_np, classes)
    correct_tf.append(float(xent_tf(labels_np, logits_tf)))
    double_tf.append(float(xent_tf(labels_np, tf.nn.softmax(logits_tf))))

# %% tags=["pytorch"]
labels_pt = torch.arange(classes)
correct_pt, double_pt = [], []
for s in scales:
    logits_pt = float(s) * torch.nn.functional.one_hot(labels_pt, classes).float()
    correct_pt.append(torch.nn.functional.cross_entropy(logits_pt, labels_pt).item())
    double_pt.append(
        torch.nn.functional.cross_entropy(logits_pt.softmax(dim=1), labels_pt).item()
    )

# %%
floor = float(np.log1p((classes - 1) / np.e))
np.testing.assert_allclose(correct_tf, correct_pt, rtol=1e-5, atol=1e-6)
np.testing.assert_allclose(double_tf, double_pt, rtol=1e-5, atol=1e-6)
assert min(double_pt) > floor - 1e-6 and correct_pt[-1] < 1e-3
print(f"floor log(1 + 9/e) = {floor:.4f}")
print(
    f"at s = 12: correct loss {correct_pt[-1]:.1e}, double softmax {double_pt[-1]:.4f}"
)

# %%
colors = tu.FRAMEWORK_COLORS
fig, ax = plt.subplots(figsize=(9, 3.5))
for name, correct, double, style in (
    ("TensorFlow", correct_tf, double_tf, "-"),
    ("PyTorch", correct_pt, double_pt, ":"),
):
    color = colors[name.lower()]
    ax.plot(
        scales, correct, style, color=color, lw=2, label=f"{name}: logits to the loss"
    )
    ax.plot(
        scales,
        double,
        style,
        color=color,
        lw=2,
        alpha=0.6,
        label=f"{name}: softmax, then the loss",
    )
ax.axhline(floor, color="grey", lw=1, ls="--")
ax.annotate(
    "floor log(1 + 9/e) ≈ 1.461",
    (12, floor),
    xytext=(0, 6),
    textcoords="offset points",
    ha="right",
    fontsize=9,
)
ax.set(
    xlabel="logit of the correct class (others 0)",
    ylabel="cross-entropy",
    title="A correct prediction grows more confident: the double softmax cannot follow",
)
ax.legend(fontsize=8, ncol=2)
fig.tight_layout()

# %% [markdown]
# The two frameworks' curves coincide (the check above proves it). The fix: no activation on the last layer, and
# softmax only when you want probabilities to report.
#
# (faq-zero-grad)=
# ### My PyTorch model does not learn, or its loss explodes. Did I forget `zero_grad()`?
#
# Possibly. The two frameworks hand gradients back differently. `tape.gradient` in TensorFlow *returns* fresh
# gradients each time. PyTorch's `backward()` *adds* them to each parameter's `.grad`
# ([`Tensor.backward`](https://pytorch.org/docs/stable/generated/torch.Tensor.backward.html): "This function
# accumulates gradients in the leaves - you might need to zero `.grad` attributes or set them to `None` before
# calling it"). Without `optimizer.zero_grad()` every step uses the sum of all gradients so far.

# %% tags=["tensorflow"]
w_tf = tf.Variable(1.0)
grads_tf = []
for _ in range(3):
    with tf.GradientTape() as tape:
        loss = 3.0 * w_tf
    grads_tf.append(float(tape.gradient(loss, w_tf)))
print("gradient returned at each step:", grads_tf)

# %% tags=["pytorch"]
w_pt = torch.tensor(1.0, requires_grad=True)
grads_pt = []
for _ in range(3):
    loss = 3.0 * w_pt
    loss.backward()  # adds 3 to w_pt.grad
    grads_pt.append(w_pt.grad.item())
print(".grad after each backward():  ", grads_pt)
torch.optim.SGD([w_pt], lr=0.1).zero_grad()
print(".grad after zero_grad():      ", w_pt.grad)

# %% [markdown]
# Since PyTorch 2.0 `zero_grad()` sets `.grad` to `None` rather than to zeros
# ([`Optimizer.zero_grad`](https://pytorch.org/docs/stable/generated/torch.optim.Optimizer.zero_grad.html),
# `set_to_none=True`). What forgetting it does to training: fifty SGD steps of a linear regression, with and without
# the call.


# %%
def fit_linear_regression(zero_grad, steps=50):
    torch.manual_seed(0)
    X = torch.randn(64, 4)
    y = X @ torch.tensor([[1.0], [2.0], [-1.0], [0.5]])
    model = torch.nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    for _ in range(steps):
        if zero_grad:
            optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(X), y)
        loss.backward()
        optimizer.step()
    return loss.item()


loss_with, loss_without = fit_linear_regression(True), fit_linear_regression(False)
assert grads_tf == [3.0, 3.0, 3.0] and grads_pt == [3.0, 6.0, 9.0]
assert loss_without > 100 * loss_with
print(f"final loss with zero_grad(): {loss_with:.1e}; without: {loss_without:.2f}")

# %% [markdown]
# (faq-accumulation)=
# ### My batch does not fit in memory. How do I accumulate gradients?
#
# Split the batch into $k$ micro-batches, add up their gradients, and take one optimiser step. If the loss is a mean
# over the batch (the default in both frameworks) and the micro-batches have equal size, divide each micro-batch loss
# by $k$: the sum of the $k$ micro-batch means divided by $k$ is the mean over the whole batch. Layers that look at
# the batch (batch norm) still see only micro-batches, so accumulation is exact only for models without them.
#
# - **Keras 3** has it built in: every optimiser takes `gradient_accumulation_steps`, and then "variables will not
#   be updated at every step; instead they will be updated every `gradient_accumulation_steps` steps, using the
#   average value of the gradients since the last update"
#   ([Keras optimizers](https://keras.io/api/optimizers/)). With a `GradientTape` loop you add up the gradients
#   yourself.
# - **PyTorch** accumulates by default (previous question): call `backward()` on each micro-batch and `step()` once.
#
# Each cell below takes one step on a batch of 32 and one step accumulated over 4 micro-batches of 8, from the same
# initial weights.

# %%
x_acc = rng.normal(size=(32, 4)).astype(np.float32)  # shared input for this section
y_acc = rng.normal(size=(32, 1)).astype(np.float32)
k = 4


# %% tags=["tensorflow"]
def small_net_tf():
    keras.utils.set_random_seed(1)
    return keras.Sequential(
        [
            keras.Input(shape=(4,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(1),
        ]
    )


def one_step_tf(batch_size, accumulation_steps=None):
    model = small_net_tf()
    model.compile(
        optimizer=keras.optimizers.SGD(
            learning_rate=0.1, gradient_accumulation_steps=accumulation_steps
        ),
        loss="mse",
    )
    model.fit(x_acc, y_acc, batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
    return model.get_weights()


full_batch_tf = one_step_tf(batch_size=32)
accumulated_tf = one_step_tf(batch_size=8, accumulation_steps=k)


# %% tags=["pytorch"]
def small_net_pt():
    torch.manual_seed(1)
    return torch.nn.Sequential(
        torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1)
    ).to(device_pt)


def one_step_pt(micro_batches):
    model = small_net_pt()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    optimizer.zero_grad()
    X, y = torch.from_numpy(x_acc).to(device_pt), torch.from_numpy(y_acc).to(device_pt)
    for X_micro, y_micro in zip(X.chunk(micro_batches), y.chunk(micro_batches)):
        loss = torch.nn.functional.mse_loss(model(X_micro), y_micro)
        (loss / micro_batches).backward()  # mean over the whole batch
    optimizer.step()
    return [p.detach().cpu().numpy() for p in model.parameters()]


full_batch_pt = one_step_pt(micro_batches=1)
accumulated_pt = one_step_pt(micro_batches=k)

# %%
for full, accumulated, initial in (
    (full_batch_tf, accumulated_tf, small_net_tf().get_weights()),
    (
        full_batch_pt,
        accumulated_pt,
        [p.detach().cpu().numpy() for p in small_net_pt().parameters()],
    ),
):
    for a, b in zip(full, accumulated):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert not identical(full, initial)  # a step was really taken
print(
    f"checked: {k} accumulated micro-batches of 8 = one step on 32, in both frameworks"
)

# %% [markdown]
# (faq-mixed-precision)=
# ### Mixed precision gives me `inf`, `NaN` or zero gradients. What went wrong?
#
# `float16` has a narrow range: its largest value is 65,504, its smallest normal value $2^{-14} \approx 6.1 \cdot
# 10^{-5}$, and below $2^{-24} \approx 6 \cdot 10^{-8}$ everything becomes zero. Activations that overflow become
# `inf` (and then `NaN`); small gradients underflow to zero and those weights stop learning. Mixed precision
# therefore keeps three things in `float32`
# ([TensorFlow mixed-precision guide](https://www.tensorflow.org/guide/mixed_precision),
# [PyTorch AMP](https://pytorch.org/docs/stable/amp.html)):
#
# 1. **the weights**: layers compute in `float16` but store and update `float32` variables;
# 2. **numerically sensitive operations**: softmax, log, losses and reductions. PyTorch's `autocast` has a list of
#    operations it runs in `float32`; in Keras you give the last layer (or its activation) `dtype="float32"`;
# 3. **the gradients' range**, by *loss scaling*: multiply the loss by a large factor before the backward pass so
#    small gradients stay representable, divide the gradients by it before the update, and lower the factor when
#    `inf` appears. Keras's `compile` wraps the optimiser in a `LossScaleOptimizer` under the `mixed_float16`
#    policy ([Keras mixed precision](https://keras.io/api/mixed_precision/)); in PyTorch you use
#    `torch.amp.GradScaler` yourself. `bfloat16` has `float32`'s range and needs no loss scaling, at the cost of
#    fewer significant digits.
#
# One Keras-specific trap: the dtype policy is **global**. `set_global_policy("mixed_float16")` affects every layer
# built afterwards, in every model of the process, so restore the previous policy when you are done, as below.
# {ref}`ch-trends-scale` measures what mixed precision gains.

# %% tags=["tensorflow"]
print("float16 of 70000 and 1e-8:", tf.cast([70000.0, 1e-8], tf.float16).numpy())
previous_policy = keras.config.dtype_policy()
keras.mixed_precision.set_global_policy("mixed_float16")
try:
    mp_tf = keras.Sequential(
        [
            keras.Input(shape=(4,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(3, dtype="float32"),  # logits and loss in float32
        ]
    )
    mp_tf.compile(
        optimizer=keras.optimizers.SGD(),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    hidden_tf, head_tf = mp_tf.layers
    hidden_out_tf = hidden_tf(np.ones((1, 4), dtype=np.float32))
    print(f"hidden layer: computes in {hidden_out_tf.dtype.name},", end=" ")
    print(f"stores {hidden_tf.kernel.dtype}; last layer: {head_tf.compute_dtype}")
    print(f"optimizer: {type(mp_tf.optimizer).__name__},", end=" ")
    print(f"initial loss scale {float(mp_tf.optimizer.initial_scale):g}")
finally:
    keras.mixed_precision.set_global_policy(previous_policy)
print("global policy restored to:", keras.config.dtype_policy().name)

# %% tags=["pytorch"]
print("float16 of 70000 and 1e-8:", torch.tensor([70000.0, 1e-8]).half())
mp_pt = torch.nn.Linear(4, 3).to(device_pt)
targets_pt = torch.tensor([0, 1], device=device_pt)
with torch.autocast(device_type=device_pt.type, dtype=torch.float16):
    logits_mp_pt = mp_pt(torch.ones(2, 4, device=device_pt))
    loss_mp_pt = torch.nn.functional.cross_entropy(logits_mp_pt, targets_pt)
print(
    f"linear: computes in {logits_mp_pt.dtype}, stores {mp_pt.weight.dtype};", end=" "
)
print(f"cross_entropy: {loss_mp_pt.dtype}")
scaler = torch.amp.GradScaler(device_pt.type)
print(f"GradScaler: initial loss scale {scaler.get_scale():g}")

# %% [markdown]
# How much does loss scaling matter? The next cell trains a small MLP on 128 MNIST digits for 60 SGD steps in
# `float32`, then computes the same gradients in `float16`, once as is and once with the loss multiplied by $2^{16}$
# (PyTorch's initial scale), and counts the gradient entries that are non-zero in `float32` but zero in `float16`.
# The histogram shows where the `float32` gradients lie, before and after scaling, against `float16`'s range.

# %% tags=["pytorch"]
mnist = tu.load_mnist("sample", verbose=False)
X_mp = torch.from_numpy(tu.preprocess(mnist.x_train[:128])).to(device_pt)
y_mp = torch.from_numpy(mnist.y_train[:128].astype(np.int64)).to(device_pt)
torch.manual_seed(0)
mlp_mp = torch.nn.Sequential(
    torch.nn.Linear(784, 64),
    torch.nn.ReLU(),
    torch.nn.Linear(64, 64),
    torch.nn.ReLU(),
    torch.nn.Linear(64, 10),
).to(device_pt)
optimizer_mp = torch.optim.SGD(mlp_mp.parameters(), lr=0.5)
for _ in range(60):
    optimizer_mp.zero_grad()
    torch.nn.functional.cross_entropy(mlp_mp(X_mp), y_mp).backward()
    optimizer_mp.step()


def flat_gradients(model, X, scale=1.0):
    """All parameter gradients as one float32 vector, computed in model's dtype."""
    model.zero_grad()
    loss = torch.nn.functional.cross_entropy(model(X).float(), y_mp)
    (loss * scale).backward()
    return torch.cat([p.grad.float().flatten() for p in model.parameters()]) / scale


grad32 = flat_gradients(mlp_mp, X_mp)
mlp_half = copy.deepcopy(mlp_mp).half()
grad16 = flat_gradients(mlp_half, X_mp.half())
grad16_scaled = flat_gradients(mlp_half, X_mp.half(), scale=2.0**16)
nonzero = grad32 != 0
lost = {
    name: ((g == 0) & nonzero).float().mean().item() / nonzero.float().mean().item()
    for name, g in (("float16", grad16), ("float16, loss x 2^16", grad16_scaled))
}

# %% tags=["nbval-ignore-output"]
magnitudes = np.log2(grad32[nonzero].abs().cpu().numpy())
subnormal = float(np.mean(magnitudes < -14))
fig, ax = plt.subplots(figsize=(9, 3.5))
bins = np.arange(-36, 20, 0.5)
ax.hist(magnitudes, bins=bins, color=colors["pytorch"], alpha=0.8, label="gradients")
ax.hist(
    magnitudes + 16,
    bins=bins,
    color=colors["other"],
    alpha=0.6,
    label="gradients x 2^16 (loss scaling)",
)
top = ax.get_ylim()[1]
for start, end, shade, text in (
    (bins[0], -24, 0.15, "float16:\nzero"),
    (-24, -14, 0.06, "subnormal:\nfewer bits"),
    (np.log2(65504.0), bins[-1], 0.15, "inf"),
):
    ax.axvspan(start, end, color="black", alpha=shade, lw=0)
    ax.text((start + end) / 2, top * 0.97, text, ha="center", va="top", fontsize=8)
ax.set(
    xlabel="log2 |gradient entry|",
    ylabel="entries",
    title="Gradients of a small MNIST MLP against float16's range",
)
ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(0.0, 0.55))
fig.tight_layout()
for name, fraction in lost.items():
    print(f"{name:<22} zeroes {fraction:.3%} of the non-zero float32 gradient entries")
print(f"{subnormal:.0%} of the entries lie in float16's subnormal range or below")
tu.glue("ch06_fp16_lost", f"{lost['float16']:.2%}")
tu.glue("ch06_fp16_lost_scaled", f"{lost['float16, loss x 2^16']:.3%}")
tu.glue("ch06_fp16_subnormal", f"{subnormal:.0%}")

# %% [markdown]
# On this run `float16` zeroes {glue:text}`ch06_fp16_lost` of the gradient entries that `float32` computes, and with
# loss scaling {glue:text}`ch06_fp16_lost_scaled`. Underflow is not the only cost: {glue:text}`ch06_fp16_subnormal`
# of the entries fall below $2^{-14}$, where `float16` keeps fewer significant bits, and scaling by $2^{16}$ moves
# almost all of them back into the normal range. The exact fractions vary with the machine; the check below holds
# on any.

# %%
assert lost["float16, loss x 2^16"] < lost["float16"]
assert torch.isfinite(grad16_scaled).all()
print("checked: loss scaling loses fewer gradient entries and causes no overflow")

# %% [markdown]
# (faq-retracing)=
# ### Why does `tf.function` warn about retracing?
#
# A `tf.function` traces its Python body into a graph once per *input signature*. A tensor argument is described by
# its dtype and shape, but a Python number is part of the signature by value, so a loop that passes `step` as a Python
# `int` builds a new graph on every call. When that happens often, TensorFlow's logger prints a warning that the calls
# "triggered tf.function retracing" and names three usual causes: creating a `tf.function` repeatedly in a loop,
# passing tensors of changing shapes, and passing Python objects instead of tensors
# ([TensorFlow guide: controlling retracing](https://www.tensorflow.org/guide/function#controlling_retracing)).
# Pass tensors, fix an `input_signature`, or use `reduce_retracing=True`. The first cause is harmless when you build
# several models on purpose, as this chapter does (each Keras model traces its own training function), which is why
# its setup cell raised the logger's level to `ERROR`. PyTorch's eager mode has nothing to trace; its compiler,
# `torch.compile`, recompiles in similar situations. {ref}`ch-graphs-autodiff` explains tracing.


# %% tags=["tensorflow"]
@tf.function
def double(x):
    return 2 * x


for step in range(3):
    double(step)  # Python ints: one graph per value
traces_python = double.experimental_get_tracing_count()
for step in range(3):
    double(tf.constant(step))  # int32 scalar tensors: one graph for all
traces_tensor = double.experimental_get_tracing_count() - traces_python
print(
    f"3 calls with Python ints: {traces_python} traces; with tensors: {traces_tensor}"
)

# %%
assert (traces_python, traces_tensor) == (3, 1)
print("checked: Python numbers retrace, tensors of one dtype and shape do not")

# %% [markdown]
# ## Files
#
# (faq-saving)=
# ### How do I save and load a model?
#
# | Task | Keras 3 | PyTorch |
# |---|---|---|
# | save | `model.save("m.keras")`: model, weights, optimiser | `torch.save(model.state_dict(), "m.pt")`: weights |
# | load | `keras.models.load_model("m.keras")` | build the model, `load_state_dict(torch.load("m.pt"))` |
# | serve without the Python code | `model.export("dir")`: a SavedModel | `torch.export` or ONNX (not covered here) |
#
# Keras 3 saves only to `.keras` (or the legacy `.h5`); a path without one of these extensions raises and points to
# `model.export()` for SavedModels ([Keras saving guide](https://keras.io/guides/serialization_and_saving/),
# [`Model.export`](https://keras.io/api/models/model_saving_apis/export/)). PyTorch saves the `state_dict`, a
# dictionary of tensors, and leaves the architecture to your code
# ([saving and loading models](https://pytorch.org/tutorials/beginner/saving_loading_models.html)). `torch.load`
# unpickles, and unpickling can run arbitrary code, so since PyTorch 2.6 it defaults to `weights_only=True`, which
# loads tensors, plain containers and numbers but refuses any other class
# ([`torch.load`](https://pytorch.org/docs/stable/generated/torch.load.html),
# [serialization notes](https://pytorch.org/docs/stable/notes/serialization.html#weights-only)). The cells below
# save and reload in both frameworks, and show the error that an old checkpoint with a custom class now raises.

# %%
workdir = Path(
    tempfile.mkdtemp(prefix="ch06_")
)  # a fresh folder; nothing is written elsewhere
x_save = rng.random((5, 4), dtype=np.float32)

# %% tags=["tensorflow"]
saved_tf = keras.Sequential(
    [
        keras.Input(shape=(4,)),
        keras.layers.Dense(8, activation="relu"),
        keras.layers.Dense(2),
    ]
)
saved_tf.save(workdir / "model.keras")
restored_tf = keras.models.load_model(workdir / "model.keras")
saved_tf.export(workdir / "saved_model", verbose=False)
serving_tf = tf.saved_model.load(workdir / "saved_model")  # no Keras code needed
print("SavedModel files:", sorted(p.name for p in (workdir / "saved_model").iterdir()))
try:
    saved_tf.save(workdir / "model")
except ValueError as err:
    print("ValueError:", str(err).split(". ")[0] + ".")


# %% tags=["pytorch"]
def make_net_pt():
    return torch.nn.Sequential(
        torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2)
    )


saved_pt = make_net_pt()
torch.save(saved_pt.state_dict(), workdir / "model.pt")
restored_pt = make_net_pt()
restored_pt.load_state_dict(torch.load(workdir / "model.pt", weights_only=True))
print("state_dict keys:", list(restored_pt.state_dict()))


class TrainingConfig:  # any class of your own, pickled into a checkpoint
    def __init__(self, lr):
        self.lr = lr


torch.save(
    {"model": saved_pt.state_dict(), "config": TrainingConfig(0.1)}, workdir / "old.pt"
)
try:
    torch.load(workdir / "old.pt")  # weights_only=True is the default
except Exception as err:  # pickle.UnpicklingError
    lines = [line.strip() for line in str(err).splitlines()]
    print(type(err).__name__ + ":", lines[0].split(",")[0])
    print(next(line for line in lines if "GLOBAL" in line).split(". ")[0])
    print(next(line for line in lines if "weights_only" in line).split(". ")[0])
torch.save({"model": saved_pt.state_dict(), "config": {"lr": 0.1}}, workdir / "new.pt")
checkpoint = torch.load(workdir / "new.pt", weights_only=True)  # plain dict: fine
print("config loaded with weights_only=True:", checkpoint["config"])

# %% [markdown]
# The fix for such a checkpoint is to store configuration as plain Python values, as in the last lines, or to
# allow-list your class with `torch.serialization.add_safe_globals([TrainingConfig])`. Load with
# `weights_only=False` only files you trust. The check: every reloaded model predicts exactly what the saved one
# did.

# %%
reference_tf = saved_tf.predict(x_save, verbose=0)
np.testing.assert_array_equal(restored_tf.predict(x_save, verbose=0), reference_tf)
np.testing.assert_allclose(serving_tf.serve(x_save).numpy(), reference_tf, rtol=1e-6)
with torch.no_grad():
    reference_pt = saved_pt(torch.from_numpy(x_save))
    np.testing.assert_array_equal(restored_pt(torch.from_numpy(x_save)), reference_pt)
print("checked: .keras, SavedModel and state_dict round trips predict the same")

# %% [markdown]
# (faq-porting)=
# ### How do I move trained weights from one framework to the other?
#
# Layer by layer, minding the layouts. A Keras `Dense` kernel is `(in, out)` and computes `x @ W + b`; a PyTorch
# `Linear` weight is `(out, in)` and computes `x @ W.T + b`
# ([Keras `Dense`](https://keras.io/api/layers/core_layers/dense/),
# [PyTorch `Linear`](https://pytorch.org/docs/stable/generated/torch.nn.Linear.html)), so each kernel is transposed
# and each bias copied as it is. Convolutions need the permutation of {ref}`faq-layout`, and batch norm the four
# arrays (`gamma`, `beta`, moving mean and variance ↔ `weight`, `bias`, `running_mean`, `running_var`). The two
# functions below port a whole multilayer perceptron of `Dense`/`Linear` layers with ReLU or no activation, in
# either direction, and refuse anything else rather than port it wrongly.


# %%
def keras_mlp_to_torch(model_tf):
    """A torch.nn.Sequential computing what a Keras Sequential of Dense layers does."""
    layers = []
    for dense in model_tf.layers:
        if not isinstance(dense, keras.layers.Dense):
            raise TypeError(f"cannot port {type(dense).__name__}")
        kernel, bias = dense.get_weights()
        linear = torch.nn.Linear(*kernel.shape)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(kernel.T))  # (in, out) -> (out, in)
            linear.bias.copy_(torch.from_numpy(bias))
        layers.append(linear)
        activation = dense.get_config()["activation"]
        if activation == "relu":
            layers.append(torch.nn.ReLU())
        elif activation != "linear":
            raise ValueError(f"no PyTorch twin for activation {activation!r}")
    return torch.nn.Sequential(*layers)


def torch_mlp_to_keras(model_pt):
    """A Keras Sequential computing what a torch Sequential of Linear/ReLU does."""
    modules = list(model_pt)
    layers, weights = [keras.Input(shape=(modules[0].in_features,))], []
    for i, module in enumerate(modules):
        if isinstance(module, torch.nn.ReLU):
            continue
        if not isinstance(module, torch.nn.Linear):
            raise TypeError(f"cannot port {type(module).__name__}")
        followed_by_relu = i + 1 < len(modules) and isinstance(
            modules[i + 1], torch.nn.ReLU
        )
        layers.append(
            keras.layers.Dense(
                module.out_features, activation="relu" if followed_by_relu else None
            )
        )
        weights += [
            module.weight.detach().cpu().numpy().T,  # (out, in) -> (in, out)
            module.bias.detach().cpu().numpy(),
        ]
    model_tf = keras.Sequential(layers)
    model_tf.set_weights(weights)
    return model_tf


# %% [markdown]
# A round trip with trained weights: Keras trains an MNIST classifier for one epoch and the weights go to PyTorch;
# PyTorch trains the copy a little further and the weights come back to Keras. At each hop the two models must
# predict the same logits.

# %% tags=["tensorflow"]
x_mnist = tu.preprocess(mnist.x_train[:2000])
y_mnist = mnist.y_train[:2000].astype(np.int64)
x_probe = tu.preprocess(mnist.x_test[:500])  # digits neither model trained on
keras.utils.set_random_seed(0)
trained_tf = keras.Sequential(
    [
        keras.Input(shape=(784,)),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(10),
    ]
)
trained_tf.compile(
    optimizer="adam",
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
)
history_port = trained_tf.fit(x_mnist, y_mnist, batch_size=64, epochs=1, verbose=0)
logits_trained_tf = trained_tf.predict(x_probe, verbose=0)

# %% tags=["pytorch"]
ported_pt = keras_mlp_to_torch(trained_tf).to(device_pt)
with torch.no_grad():
    logits_ported_pt = ported_pt(torch.from_numpy(x_probe).to(device_pt)).cpu().numpy()
optimizer_port = torch.optim.SGD(ported_pt.parameters(), lr=0.1)
X_port = torch.from_numpy(x_mnist).to(device_pt)
y_port = torch.from_numpy(y_mnist).to(device_pt)
for _ in range(10):  # train the PyTorch copy a little further
    optimizer_port.zero_grad()
    torch.nn.functional.cross_entropy(ported_pt(X_port), y_port).backward()
    optimizer_port.step()
with torch.no_grad():
    logits_further_pt = ported_pt(torch.from_numpy(x_probe).to(device_pt)).cpu().numpy()
back_tf = torch_mlp_to_keras(ported_pt)
logits_back_tf = back_tf.predict(x_probe, verbose=0)

# %%
np.testing.assert_allclose(logits_ported_pt, logits_trained_tf, rtol=1e-4, atol=1e-5)
np.testing.assert_allclose(logits_back_tf, logits_further_pt, rtol=1e-4, atol=1e-5)
assert not np.allclose(logits_further_pt, logits_trained_tf)  # PyTorch really trained
for a, b in (
    (logits_trained_tf, logits_ported_pt),
    (logits_further_pt, logits_back_tf),
):
    assert (a.argmax(axis=1) == b.argmax(axis=1)).all()
print("checked: Keras -> PyTorch -> Keras: the same logits (atol 1e-5) and the same")
print("predicted digit for all 500 probe digits at each hop")

# %% [markdown]
# ## Summary
#
# | Question | TensorFlow / Keras | PyTorch |
# |---|---|---|
# | GPU memory | takes it all, unless memory growth is on before first use | lazy; `empty_cache()` |
# | CPU threads | fixed at the first operation: set them first | `torch.set_num_threads`, best set early too |
# | versions | `tu.version_drift()`; install helpers with `--no-deps`; restart after upgrading | same |
# | reproducibility | `set_random_seed`, `enable_op_determinism` | `manual_seed`, `use_deterministic_algorithms` |
# | TF32 on Ampere GPUs | on by default: `enable_tensor_float_32_execution(False)` | off for matmul, on for cuDNN |
# | float64 from NumPy | layers cast; raw ops raise | modules raise; arithmetic promotes |
# | image layout | NHWC, kernel HWIO | NCHW, weight OIHW |
# | parameter count | counts moving statistics | leaves buffers out |
# | training/inference | `training=` argument; `fit` vs `predict` | `train()` / `eval()`; starts in training |
# | batch-norm momentum | weight of the old average (0.99) | weight of the new batch (0.1) |
# | no gradients | nothing recorded outside a tape | `torch.no_grad()` as well as `eval()` |
# | loss stuck at 1.46 | softmax + `from_logits=True` | softmax + `CrossEntropyLoss` |
# | gradients | returned fresh by the tape | accumulated in `.grad`: `zero_grad()` |
# | accumulation | `gradient_accumulation_steps` | several `backward()`, one `step()` |
# | mixed precision | global policy, float32 head, automatic loss scaling | `autocast`, `GradScaler` |
# | saving | `.keras`, `export()` for SavedModel | `state_dict`, `torch.load(weights_only=True)` |
# | porting a dense layer | kernel `(in, out)` | weight `(out, in)`: transpose |
#
# - Most cross-framework bugs raise no error: a double softmax, a missing `zero_grad()`, a forgotten `model.eval()`
#   or a batch-norm momentum copied without conversion all train a worse model quietly. Their symptoms are listed
#   above; the check cells show how to test for each.
# - Moving anything between the frameworks (weights, layouts, settings) is exact when done right, and a one-line
#   `assert_allclose` proves it; do that every time.
# - Shared resources of the process (GPU memory, thread pools, the Keras dtype policy, installed versions) are
#   claimed early and globally: configure them first, and restore what you change.
#
# See also {ref}`ch-code-examples` (the MLP and the double softmax, measured), {ref}`ch-graphs-autodiff` (tapes,
# `autograd` and tracing), {ref}`ch-trends-scale` (mixed precision, compilation, several GPUs) and
# {ref}`ch-performance` (speed, measured).
#
# ## Exercises
#
# 1. Port a small convolutional network, `Conv2D(4, 3)` → `Flatten` → `Dense(5)` on 6 × 6 × 3 images, from Keras to
#    PyTorch. Copying the dense kernel with a plain transpose gives wrong logits; find the permutation of its rows
#    that makes them identical, and check it.
# 2. Make a Keras `BatchNormalization` layer and a PyTorch `BatchNorm1d` keep the same moving mean over five training
#    batches, once with PyTorch's default momentum and once with Keras's. Which Keras `momentum` matches PyTorch's
#    0.1, and which PyTorch `momentum` matches Keras's 0.99?
# 3. Accumulate gradients over two micro-batches of **unequal** size, 20 and 12, in PyTorch. Show that dividing each
#    loss by $k = 2$ no longer reproduces the full-batch gradient, and find the weights that do.
# 4. In `float16`, compute the gradient of `loss = (w * 1e-4) * 1e-4` with respect to `w = 1`. Show that it
#    underflows to zero, and that scaling the loss by $2^{15}$ (Keras's initial loss scale) before `backward()`
#    and dividing the gradient by $2^{15}$ in `float32` afterwards recovers $10^{-8}$. Why would $2^{16}$, PyTorch's
#    initial scale, fail here?

# %% tags=["hide-cell"]
# Solution 1: Keras flattens (H, W, C), PyTorch (C, H, W). Reorder the dense kernel's
# rows from HWC to CHW order before transposing it.
cnn_tf = keras.Sequential(
    [
        keras.Input(shape=(6, 6, 3)),
        keras.layers.Conv2D(4, 3),  # -> (4, 4, 4), "valid" padding
        keras.layers.Flatten(),
        keras.layers.Dense(5),
    ]
)
conv_k, conv_b, dense_k, dense_b = cnn_tf.get_weights()
cnn_pt = torch.nn.Sequential(
    torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten(), torch.nn.Linear(64, 5)
)


def load_cnn(dense_weight):
    with torch.no_grad():
        cnn_pt[0].weight.copy_(torch.from_numpy(conv_k).permute(3, 2, 0, 1))
        cnn_pt[0].bias.copy_(torch.from_numpy(conv_b))
        cnn_pt[2].weight.copy_(torch.from_numpy(np.ascontiguousarray(dense_weight)))
        cnn_pt[2].bias.copy_(torch.from_numpy(dense_b))
        return cnn_pt(torch.from_numpy(images_np).permute(0, 3, 1, 2)).numpy()


h, w, c = 4, 4, 4
reordered = dense_k.reshape(h, w, c, 5).transpose(3, 2, 0, 1).reshape(5, c * h * w)
logits_cnn_tf = cnn_tf.predict(images_np, verbose=0)
assert not np.allclose(load_cnn(dense_k.T), logits_cnn_tf, atol=1e-4)  # plain .T
np.testing.assert_allclose(load_cnn(reordered), logits_cnn_tf, rtol=1e-5, atol=1e-5)
print("plain transpose: wrong logits; rows reordered HWC -> CHW: identical logits")


# %% tags=["hide-cell"]
# Solution 2: keras_momentum = 1 - torch_momentum, in both directions.
def moving_means(keras_momentum, torch_momentum, batches=5):
    bn_k = keras.layers.BatchNormalization(momentum=keras_momentum)
    bn_p = torch.nn.BatchNorm1d(4, momentum=torch_momentum).train()
    for _ in range(batches):
        batch = rng.normal(loc=5.0, scale=3.0, size=(8, 4)).astype(np.float32)
        bn_k(batch, training=True)
        with torch.no_grad():
            bn_p(torch.from_numpy(batch))
    return bn_k.moving_mean.numpy(), bn_p.running_mean.numpy()


for keras_m, torch_m in ((0.9, 0.1), (0.99, 0.01)):
    mean_k, mean_p = moving_means(keras_m, torch_m)
    np.testing.assert_allclose(mean_k, mean_p, rtol=1e-5)
    print(f"Keras momentum {keras_m} = PyTorch momentum {torch_m}: same moving mean")
mean_k, mean_p = moving_means(0.1, 0.1)  # copied without conversion
print(f"both 0.1: Keras moving mean {mean_k.mean():.2f}, PyTorch {mean_p.mean():.2f}")


# %% tags=["hide-cell"]
# Solution 3: weight each micro-batch's mean loss by its share of the batch.
def accumulated_grads(sizes, weights):
    model = small_net_pt()
    X, y = torch.from_numpy(x_acc).to(device_pt), torch.from_numpy(y_acc).to(device_pt)
    for X_micro, y_micro, weight in zip(X.split(sizes), y.split(sizes), weights):
        loss = torch.nn.functional.mse_loss(model(X_micro), y_micro)
        (weight * loss).backward()
    return [p.grad.cpu().numpy() for p in model.parameters()]


full_grads = accumulated_grads([32], [1.0])
naive = accumulated_grads([20, 12], [1 / 2, 1 / 2])
weighted = accumulated_grads([20, 12], [20 / 32, 12 / 32])
assert not all(np.allclose(a, b, atol=1e-6) for a, b in zip(naive, full_grads))
for a, b in zip(weighted, full_grads):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
print("loss / k: wrong gradient; loss x (micro-batch size / batch size): exact")


# %% tags=["hide-cell"]
# Solution 4: the chain rule multiplies 1e-4 by 1e-4 = 1e-8 < 2^-24 in float16.
# The scale itself enters the backward pass as the gradient of the float16 loss, so
# it must fit in float16: 2^15 does, 2^16 = 65536 > 65504 becomes inf. (In real
# training the scale multiplies a float32 loss, and the float16 gradients it reaches
# are much smaller.)
def half_gradient(scale):
    w_half = torch.tensor(1.0, dtype=torch.float16, requires_grad=True)
    loss_half = (w_half * 1e-4) * 1e-4
    (loss_half * scale).backward()
    return w_half.grad.float() / scale  # unscale in float32


unscaled, scaled = half_gradient(1.0), half_gradient(2.0**15)
assert unscaled.item() == 0.0
np.testing.assert_allclose(scaled.item(), 1e-8, rtol=1e-3)
print(f"float16 gradient: {unscaled.item()} unscaled, {scaled.item():.4e} with 2^15")
print("with 2^16:", half_gradient(2.0**16).item())
