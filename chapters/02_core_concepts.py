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
# (ch-core-concepts)=
# # Core concepts: tensors, variables, and where computation runs
#
# Section 2 of the article (核心概念与联系, "core concepts and connections") makes two claims. Both frameworks are
# built around the **tensor**, "a multidimensional array that represents the data of a neural network". That is true,
# and it is where this chapter spends most of its time, because the two tensors differ in ways the article never
# mentions: default dtypes, what may be changed in place, when memory is shared with NumPy, and where the computation
# runs. The second claim is that TensorFlow's core design "separates the computation graph from the data" while
# PyTorch "ties them closely together". That describes TensorFlow 1. TensorFlow 2 runs eagerly, like PyTorch, and
# builds a graph only when asked; the last section shows what is left of the distinction.
#
# In between sits a "Rosetta stone": more than thirty common operations, each executed in both frameworks on the same
# input and checked to give the same result. The table on the page is generated from those checked rows.
#
# :::{admonition} Learning goals
# :class: tip
# - create tensors in both frameworks and predict their dtype, including where NumPy's float64 and TensorFlow's int32
#   slip in;
# - change values in place: `tf.Variable.assign` in TensorFlow, the trailing-underscore methods and views in PyTorch;
# - say which conversions between NumPy, TensorFlow and PyTorch copy memory and which share it, and hand a tensor from
#   one framework to the other without a copy through DLPack;
# - place tensors on a device, and know what each framework does when that device is missing;
# - translate common operations, watching for the ones whose names or defaults differ (`std`, `split`, `repeat`,
#   `argmax`, `/` on integers, indexing with a list);
# - explain what "TensorFlow separates graph and data" means in TensorFlow 2: eager by default, graphs through
#   `tf.function`.
# :::
#
# **Prerequisites:** NumPy arrays (shape, dtype, slicing). **Runs in:** well under a minute on a 2-core laptop CPU; no
# data set is needed.

# %% [markdown]
# ## Setup
#
# The same setup as in every chapter: the helpers first, PyTorch before TensorFlow, then a report of versions and
# devices that the test suite does not compare.

# %% tags=["nbval-ignore-output"]
import html
import re
import time
from typing import NamedTuple

import tutorial_utils as tu

import torch
import tensorflow as tf
import keras
import numpy as np
import matplotlib.pyplot as plt
from IPython.display import HTML

tu.use_book_style()
info = tu.describe_environment()

# %% [markdown]
# What must hold everywhere: Keras runs on TensorFlow, and the helpers picked a device for each framework (a GPU on a
# Colab GPU runtime, the CPU here).

# %%
assert keras.backend.backend() == "tensorflow", (
    "restart the kernel without KERAS_BACKEND=torch"
)
device_pt = tu.torch_device()
device_tf = tu.tf_device()
tu.seed_everything(0)

# %% [markdown]
# ## One data structure: the tensor
#
# In both frameworks a tensor is an n-dimensional array with a **shape**, a **dtype** (the type of every element) and
# a **device** (the memory it lives in) ([TensorFlow's tensor guide](https://www.tensorflow.org/guide/tensor),
# [PyTorch's `torch.Tensor`](https://pytorch.org/docs/stable/tensors.html)). The same nested list makes the same
# 2 × 3 tensor:

# %% tags=["tensorflow"]
x_tf = tf.constant([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
x_tf

# %% tags=["pytorch"]
x_pt = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
x_pt

# %% [markdown]
# TensorFlow's printout always states shape and dtype. PyTorch's omits the dtype when it is the default `float32`, so a
# `dtype=torch.float64` in a printout is worth a second look. The attributes have the same names, with one exception:
# the number of elements is `tf.size(x)` in TensorFlow and `x.numel()` in PyTorch.

# %% tags=["tensorflow"]
x_tf.shape, x_tf.ndim, x_tf.dtype, int(tf.size(x_tf))

# %% tags=["pytorch"]
x_pt.shape, x_pt.ndim, x_pt.dtype, x_pt.numel()

# %%
assert tuple(x_tf.shape) == tuple(x_pt.shape) and x_tf.ndim == x_pt.ndim
np.testing.assert_array_equal(x_tf.numpy(), x_pt.numpy())

# %% [markdown]
# `x_tf.shape` is a `TensorShape` and `x_pt.shape` a `torch.Size`; both behave like tuples. (Inside a `tf.function`,
# where a dimension may be unknown until the graph runs, `tf.shape(x)` returns the shape as a tensor instead.)
#
# Random tensors are where "the same code" stops giving the same numbers. Each framework has its own generator and
# its own algorithms, so the same seed gives reproducible numbers *within* a framework and different numbers *across*
# them ([TensorFlow random numbers](https://www.tensorflow.org/guide/random_numbers),
# [PyTorch reproducibility](https://pytorch.org/docs/stable/notes/randomness.html)):

# %% tags=["tensorflow"]
rng_tf = tf.random.Generator.from_seed(0)
noise_tf = rng_tf.normal([4])
noise_tf.numpy().round(4)

# %% tags=["pytorch"]
rng_pt = torch.Generator().manual_seed(0)
noise_pt = torch.randn(4, generator=rng_pt)
noise_pt.numpy().round(4)

# %%
again_tf = tf.random.Generator.from_seed(0).normal([4])
again_pt = torch.randn(4, generator=torch.Generator().manual_seed(0))
np.testing.assert_array_equal(noise_tf.numpy(), again_tf.numpy())
np.testing.assert_array_equal(noise_pt.numpy(), again_pt.numpy())
assert not np.allclose(noise_tf.numpy(), noise_pt.numpy())
print("same seed: identical draws within each framework, different across them")

# %% [markdown]
# That is why every comparison in this book starts from one NumPy array, handed to both frameworks.
#
# ## Dtypes: the defaults differ
#
# Four ways to make a tensor, and the dtype each framework picks:

# %% tags=["tensorflow"]
floats_tf = tf.constant([1.0, 2.0])
ints_tf = tf.constant([1, 2])
from_numpy_tf = tf.constant(np.array([1.0, 2.0]))  # NumPy's default float is float64
range_tf = tf.range(3)
[t.dtype.name for t in (floats_tf, ints_tf, from_numpy_tf, range_tf)]

# %% tags=["pytorch"]
floats_pt = torch.tensor([1.0, 2.0])
ints_pt = torch.tensor([1, 2])
from_numpy_pt = torch.from_numpy(np.array([1.0, 2.0]))  # so is torch.tensor(array)
range_pt = torch.arange(3)
[
    str(t.dtype).removeprefix("torch.")
    for t in (floats_pt, ints_pt, from_numpy_pt, range_pt)
]

# %% [markdown]
# Python floats become `float32` in both; Python integers become `int32` in TensorFlow ("TensorFlow ... converts
# Python integers to `tf.int32` and Python floating point numbers to `tf.float32`", [tensor
# guide](https://www.tensorflow.org/guide/tensor)) and `int64` in PyTorch, whose default float dtype is `float32`
# ([`torch.get_default_dtype`](https://pytorch.org/docs/stable/generated/torch.get_default_dtype.html)). Ranges follow
# the same rule. A NumPy array keeps its dtype in both, and NumPy's default float is `float64`: data loaded with NumPy
# or pandas arrives in double precision, while every layer's weights are `float32`. What happens next differs:

# %% tags=["tensorflow"]
dense_tf = keras.layers.Dense(1)
print("Keras Dense on float64 input returns", dense_tf(np.ones((1, 2))).dtype)
try:
    tf.matmul(tf.constant(np.ones((1, 2))), tf.ones((2, 1)))
except tf.errors.InvalidArgumentError as err:
    print("tf.matmul(float64, float32) raises:", err.message.split(" [Op:")[0])

# %% tags=["pytorch"]
dense_pt = torch.nn.Linear(2, 1)
try:
    dense_pt(torch.from_numpy(np.ones((1, 2))))
except RuntimeError as err:
    print("nn.Linear on float64 input raises:", err)
print("after .float():", dense_pt(torch.from_numpy(np.ones((1, 2))).float()).dtype)

# %% [markdown]
# "Layers automatically cast inputs to" their `compute_dtype` (the `Layer` attributes in the
# [Keras documentation](https://keras.io/api/layers/base_layer/)), so Keras forgives float64 data. Raw
# TensorFlow ops and PyTorch modules do not: convert once, where the data enters (`x.astype(np.float32)`, or the
# book's `tu.preprocess`, which returns float32 for both frameworks).
#
# Mixed dtypes inside one expression are the next difference. PyTorch promotes to a common dtype, much as NumPy does
# ([type promotion](https://pytorch.org/docs/stable/tensor_attributes.html#type-promotion-doc)); "by default,
# TensorFlow raises errors instead of promoting types for mixed type operations"
# ([TF-NumPy type promotion](https://www.tensorflow.org/guide/tf_numpy_type_promotion)). Integer arithmetic has two
# more surprises:

# %% tags=["tensorflow"]
try:
    ints_tf + 0.5
except (TypeError, tf.errors.InvalidArgumentError) as err:
    print("int32 + 0.5 raises", type(err).__name__)
print("mean of [1, 2]:", tf.reduce_mean(ints_tf).numpy(), "(integer arithmetic)")
print("[1, 2] / [1, 2] has dtype", (ints_tf / ints_tf).dtype.name)

# %% tags=["pytorch"]
print("int64 + 0.5 gives", ints_pt + 0.5)
try:
    ints_pt.mean()
except RuntimeError as err:
    print("mean of [1, 2] raises:", str(err).split(".")[0])
print("[1, 2] / [1, 2] has dtype", (ints_pt / ints_pt).dtype)

# %%
assert floats_tf.dtype == tf.float32 and floats_pt.dtype == torch.float32
assert ints_tf.dtype == tf.int32 and ints_pt.dtype == torch.int64
assert from_numpy_tf.dtype == tf.float64 and from_numpy_pt.dtype == torch.float64
assert int(tf.reduce_mean(ints_tf)) == 1  # 1.5 truncated: TF keeps the integer dtype
assert (ints_tf / ints_tf).dtype == tf.float64
assert (ints_pt / ints_pt).dtype == torch.float32
print("checked: the dtype defaults above, in both frameworks")

# %% [markdown]
# `tf.reduce_mean` of an integer tensor silently returns an integer (1, not 1.5), where PyTorch refuses to guess. And
# true division of integers gives `float64` in TensorFlow but the default `float32` in PyTorch
# ([`tf.math.truediv`](https://www.tensorflow.org/api_docs/python/tf/math/truediv),
# [`torch.div`](https://pytorch.org/docs/stable/generated/torch.div.html)). Cast explicitly (`tf.cast(x, tf.float32)`,
# `x.float()`) before averaging counts or labels.

# %% [markdown]
# ## Shapes and broadcasting
#
# Both frameworks broadcast exactly as NumPy does: align the two shapes from the right; each pair of sizes must be equal
# or contain a 1, and a size-1 axis is stretched to match the other
# ([NumPy broadcasting](https://numpy.org/doc/stable/user/basics.broadcasting.html),
# [TensorFlow](https://www.tensorflow.org/guide/tensor#broadcasting),
# [PyTorch](https://pytorch.org/docs/stable/notes/broadcasting.html)). A column of shape (3, 1) plus a row of shape
# (1, 4) gives a (3, 4) table:

# %%
col_np = np.array([[0.0], [10.0], [20.0]], dtype=np.float32)  # shape (3, 1)
row_np = np.array([[1.0, 2.0, 3.0, 4.0]], dtype=np.float32)  # shape (1, 4)

# %% tags=["tensorflow"]
table_tf = tf.constant(col_np) + tf.constant(row_np)
table_tf

# %% tags=["pytorch"]
table_pt = torch.from_numpy(col_np) + torch.from_numpy(row_np)
table_pt

# %%
np.testing.assert_array_equal(table_tf.numpy(), table_pt.numpy())
np.testing.assert_array_equal(table_tf.numpy(), col_np + row_np)

# %% [markdown]
# Neither framework copies the column four times: the stretched copies in the picture below (pale) are never
# written to memory; the kernel reads the same element again.


# %% tags=["hide-input"]
def draw_grid(ax, values, real, title):
    """One panel: a grid of numbers, stored cells dark, broadcast copies pale."""
    rows, cols = values.shape
    for r in range(rows):
        for c in range(cols):
            face = "#4d4d4d" if real[r, c] else "#e6e6e6"
            ax.add_patch(plt.Rectangle((c, r), 1, 1, facecolor=face, edgecolor="white"))
            color = "white" if real[r, c] else "#4d4d4d"
            ax.text(
                c + 0.5,
                r + 0.5,
                f"{values[r, c]:g}",
                ha="center",
                va="center",
                color=color,
            )
    ax.set(xlim=(0, cols), ylim=(rows, 0), title=title, aspect="equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)


stretched_col, stretched_row = np.broadcast_arrays(col_np, row_np)
col_stored = np.zeros((3, 4), bool)
col_stored[:, 0] = True
row_stored = np.zeros((3, 4), bool)
row_stored[0, :] = True
fig, axes = plt.subplots(1, 3, figsize=(9, 2.6))
draw_grid(axes[0], stretched_col, col_stored, "column, shape (3, 1)")
draw_grid(axes[1], stretched_row, row_stored, "row, shape (1, 4)")
draw_grid(axes[2], table_pt.numpy(), np.ones((3, 4), bool), "sum, shape (3, 4)")
axes[0].text(4.5, 1.5, "+", fontsize=18, ha="center", va="center")
axes[1].text(4.5, 1.5, "=", fontsize=18, ha="center", va="center")
fig.suptitle("Broadcasting: dark cells are stored, pale cells are reused", fontsize=10)
fig.tight_layout()

# %% [markdown]
# PyTorch makes the reuse visible: `expand` returns a broadcast view whose stride along the stretched axis is 0, so
# element (i, j) is read from the same memory for every j. TensorFlow has no views; `tf.broadcast_to` materialises
# the full tensor.

# %%
expanded_pt = torch.from_numpy(col_np).expand(3, 4)
print("shape", tuple(expanded_pt.shape), "strides", expanded_pt.stride())
assert expanded_pt.stride()[1] == 0
assert expanded_pt.data_ptr() == torch.from_numpy(col_np).data_ptr()

# %% [markdown]
# Reshaping follows NumPy too: `tf.reshape(x, [2, -1])` and `x.reshape(2, -1)`, with `-1` meaning "whatever size is
# left". PyTorch also has `x.view(...)`, which never copies and raises an error when the memory layout does not allow
# a view; `reshape` falls back to a copy
# ([`torch.Tensor.view`](https://pytorch.org/docs/stable/generated/torch.Tensor.view.html)).
#
# ## Indexing and slicing
#
# Basic indexing is the same in both: integers, slices with steps, `...`, and `None` (`tf.newaxis`) to insert an axis.

# %%
m_np = np.arange(12, dtype=np.float32).reshape(3, 4)

# %% tags=["tensorflow"]
m_tf = tf.constant(m_np)
m_tf[1:, ::2], m_tf[..., -1], m_tf[:, None].shape

# %% tags=["pytorch"]
m_pt = torch.from_numpy(m_np)
m_pt[1:, ::2], m_pt[..., -1], m_pt[:, None].shape

# %%
np.testing.assert_array_equal(m_tf[1:, ::2].numpy(), m_pt[1:, ::2].numpy())
np.testing.assert_array_equal(m_tf[..., -1].numpy(), m_pt[..., -1].numpy())
assert tuple(m_tf[:, None].shape) == tuple(m_pt[:, None].shape) == (3, 1, 4)

# %% [markdown]
# Indexing with a *list* is where they part. PyTorch follows NumPy's advanced indexing: `m[[0, 2]]` selects rows 0
# and 2. TensorFlow's `__getitem__` supports "only basic indexing"
# ([`tf.Tensor.__getitem__`](https://www.tensorflow.org/api_docs/python/tf/Tensor#__getitem__)), rejects a NumPy
# array or tensor of indices with a `TypeError`, and reads a Python list as a tuple of indices (see
# [`tensor_getitem_override.py`](https://github.com/tensorflow/tensorflow/blob/v2.21.0/tensorflow/python/ops/tensor_getitem_override.py)
# in the TensorFlow source): `m_tf[[0, 2]]` is `m_tf[0, 2]`, one number, with no error.

# %% tags=["tensorflow"]
m_tf[[0, 2]]  # read as m_tf[0, 2]: a scalar!

# %% tags=["pytorch"]
m_pt[[0, 2]]  # rows 0 and 2, as in NumPy

# %%
assert m_tf[[0, 2]].shape == () and float(m_tf[[0, 2]]) == m_np[0, 2]
assert tuple(m_pt[[0, 2]].shape) == (2, 4)
np.testing.assert_array_equal(tf.gather(m_tf, [0, 2]).numpy(), m_pt[[0, 2]].numpy())
print("TensorFlow selects rows with tf.gather(m, [0, 2]); m[[0, 2]] means m[0, 2]")

# %% [markdown]
# In TensorFlow, select with functions: `tf.gather` (indices along one axis), `tf.gather_nd` (coordinates),
# `tf.boolean_mask`. The {ref}`Rosetta stone <sec-rosetta>` below pairs each with its PyTorch spelling.
#
# ## Changing values: `tf.Variable` and in-place operations
#
# A TensorFlow tensor is immutable: "you can never update the contents of a tensor, only create a new one"
# ([tensor guide](https://www.tensorflow.org/guide/tensor)). State that changes, such as a layer's weights, lives in a
# `tf.Variable`, changed with `assign`, `assign_add` and `assign_sub`, also on slices
# ([variable guide](https://www.tensorflow.org/guide/variable)). A PyTorch tensor is mutable: item assignment works,
# and "methods which mutate a tensor are marked with an underscore suffix", such as `add_`, `mul_`, `zero_`, `clamp_`
# ([`torch.Tensor`](https://pytorch.org/docs/stable/tensors.html)).

# %% tags=["tensorflow"]
try:
    x_tf[0, 0] = 10.0
except TypeError as err:
    print("TypeError:", err)

v_tf = tf.Variable([1.0, 2.0, 3.0], name="v")
v_tf[0].assign(10.0)
v_tf.assign_add([1.0, 1.0, 1.0])
v_tf

# %% tags=["pytorch"]
v_pt = torch.tensor([1.0, 2.0, 3.0])
v_pt[0] = 10.0
v_pt.add_(
    1.0
)  # the trailing underscore: in place; v_pt.add(1.0) would return a new tensor
v_pt

# %%
np.testing.assert_array_equal(v_tf.numpy(), v_pt.numpy())

# %% [markdown]
# The augmented operators differ. On a PyTorch tensor `v += 1` is in place: the same object, the same memory. On a
# `tf.Variable` it is refused, because it would have to rebind the name to a new tensor:

# %% tags=["tensorflow"]
try:
    v_tf += 1.0
except RuntimeError as err:
    print("RuntimeError:", err)

# %% tags=["pytorch"]
before = (id(v_pt), v_pt.data_ptr())
v_pt += 1.0
print("same object and memory after +=:", (id(v_pt), v_pt.data_ptr()) == before)

# %% [markdown]
# PyTorch slicing returns a **view**: a tensor that shares memory with its base, so writing through one changes the
# other ([tensor views](https://pytorch.org/docs/stable/tensor_view.html)). TensorFlow has no user-visible views;
# a slice is a new tensor holding the values of that moment.

# %% tags=["tensorflow"]
head_tf = v_tf[:2]  # a new tensor
v_tf[0].assign(0.0)
head_tf

# %% tags=["pytorch"]
head_pt = v_pt[:2]  # a view of v_pt
v_pt[0] = 0.0
head_pt

# %%
assert float(head_tf[0]) == 11.0 and float(head_pt[0]) == 0.0
assert head_pt._base is v_pt
print("the TensorFlow slice kept its values; the PyTorch view saw the write")

# %% [markdown]
# Views make PyTorch fast and memory-frugal (`transpose`, `expand`, slicing and `view` copy nothing) and are the
# source of its aliasing surprises. In-place changes also interact with autograd: PyTorch refuses some of them on
# tensors it needs for a gradient. That, and the role of `tf.Variable` and `nn.Parameter` in training, is the subject
# of {ref}`ch-graphs-autodiff`.

# %% [markdown]
# ## NumPy interop: shared memory or a copy?
#
# Converting between NumPy and a framework either **copies** the data or **shares** it. Sharing is free, but a write
# on one side shows up on the other. The documentation states it for each function:
# [`torch.from_numpy`](https://pytorch.org/docs/stable/generated/torch.from_numpy.html) shares,
# [`torch.tensor`](https://pytorch.org/docs/stable/generated/torch.tensor.html) "always copies",
# [`torch.as_tensor`](https://pytorch.org/docs/stable/generated/torch.as_tensor.html) shares when it can, and
# [`Tensor.numpy()`](https://pytorch.org/docs/stable/generated/torch.Tensor.numpy.html) shares for a CPU tensor.
# TensorFlow's [`Tensor.numpy()`](https://www.tensorflow.org/api_docs/python/tf/Tensor#numpy) is documented as a
# copy, "because tensors are immutable", with `np.asarray` (or `memoryview`) as the zero-copy, read-only alternative
# on the CPU.
#
# Rather than trust the list, test it: convert, write on one side, and look at the other. The source arrays are fresh
# each time, and the TensorFlow tensors are pinned to the CPU so that the answer is the same on a GPU machine.


# %%
def fresh():
    """A new float32 NumPy array [0, 1, 2, 3]."""
    return np.arange(4, dtype=np.float32)


sharing = []  # (direction, conversion, shares memory?)

# %% tags=["tensorflow"]
with tf.device("/CPU:0"):
    for name, convert in [
        ("tf.constant(a)", tf.constant),
        ("tf.convert_to_tensor(a)", tf.convert_to_tensor),
    ]:
        a = fresh()
        t = convert(a)
        a[0] = 100.0  # write to NumPy; does the tensor see it?
        sharing.append(("NumPy → TensorFlow", name, float(t[0]) == 100.0))

    v = tf.Variable(fresh())
    n = v.numpy()
    v[0].assign(100.0)  # write to TensorFlow; does the array see it?
    sharing.append(("TensorFlow → NumPy", "v.numpy()", n[0] == 100.0))

    t = tf.constant(fresh())  # immutable: ask whether two conversions share a buffer
    sharing.append(
        ("TensorFlow → NumPy", "t.numpy()", np.shares_memory(t.numpy(), t.numpy()))
    )
    sharing.append(
        (
            "TensorFlow → NumPy",
            "np.asarray(t)",
            np.shares_memory(np.asarray(t), np.asarray(t)),
        )
    )

# %% tags=["pytorch"]
for name, convert in [
    ("torch.from_numpy(a)", torch.from_numpy),
    ("torch.as_tensor(a)", torch.as_tensor),
    ("torch.tensor(a)", torch.tensor),
]:
    a = fresh()
    t = convert(a)
    a[0] = 100.0  # write to NumPy; does the tensor see it?
    sharing.append(("NumPy → PyTorch", name, float(t[0]) == 100.0))

t = torch.from_numpy(fresh()).clone()
n = t.numpy()
t[0] = 100.0  # write to PyTorch; does the array see it?
sharing.append(("PyTorch → NumPy", "t.numpy()", n[0] == 100.0))


# %%
CELL = "padding: 3px 8px; text-align: left; vertical-align: top"
LINE = "border-bottom: 1px solid rgba(128, 128, 128, 0.35)"


def html_table(header, rows):
    """An HTML table for the page; rows are lists of HTML cells, or a string for a
    full-width group heading. Styles are inline, so that Jupyter, Colab and the book
    all render it the same way."""
    head = "".join(f'<th style="{CELL}; {LINE}">{h}</th>' for h in header)
    body = []
    for row in rows:
        if isinstance(row, str):
            body.append(
                f'<tr><th colspan="{len(header)}" style="{CELL}; {LINE}; '
                f'padding-top: 10px">{row}</th></tr>'
            )
        else:
            cells = "".join(f'<td style="{CELL}; {LINE}">{c}</td>' for c in row)
            body.append(f"<tr>{cells}</tr>")
    table = (
        '<table style="border-collapse: collapse; font-size: 0.85em">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )
    return HTML(f'<div style="overflow-x: auto">{table}</div>')


def code(text):
    return f"<code>{html.escape(text)}</code>"


html_table(
    ["direction", "conversion", "memory"],
    [
        [direction, code(conversion), "<b>shared</b>" if shared else "copied"]
        for direction, conversion, shared in sorted(sharing)
    ],
)

# %%
expected = {
    ("NumPy → TensorFlow", "tf.constant(a)"): False,
    ("NumPy → TensorFlow", "tf.convert_to_tensor(a)"): False,
    ("TensorFlow → NumPy", "v.numpy()"): False,
    ("TensorFlow → NumPy", "t.numpy()"): False,
    ("TensorFlow → NumPy", "np.asarray(t)"): True,
    ("NumPy → PyTorch", "torch.from_numpy(a)"): True,
    ("NumPy → PyTorch", "torch.as_tensor(a)"): True,
    ("NumPy → PyTorch", "torch.tensor(a)"): False,
    ("PyTorch → NumPy", "t.numpy()"): True,
}
measured = {(direction, name): shared for direction, name, shared in sharing}
assert measured == expected, measured
with tf.device("/CPU:0"):
    view = np.asarray(tf.constant(fresh()))
assert not view.flags.writeable
print("checked: every conversion shares or copies as documented;")
print("np.asarray of a TensorFlow tensor is a read-only view")

# %% [markdown]
# So PyTorch offers both and lets you choose: `from_numpy` and `.numpy()` share, `torch.tensor` copies. TensorFlow
# copies on the way in and, unless you ask for a read-only view, on the way out. Two consequences:
#
# - After `t = torch.from_numpy(a)`, anything that writes to `a` (data augmentation in place, a reused buffer) also
#   changes `t`, and an in-place PyTorch op on `t` changes `a`. Use `torch.tensor(a)` when the two must stay
#   independent.
# - `.numpy()` only works on the CPU. A CUDA tensor must be copied first, `t.cpu().numpy()` in PyTorch (calling
#   `.numpy()` on it raises an error); TensorFlow's `.numpy()` copies from the GPU for you.
#
# ## Devices: where computation runs
#
# The two frameworks place work differently. TensorFlow **places operations**: "if a TensorFlow operation has both CPU
# and GPU implementations, by default, the GPU device is prioritized"
# ([GPU guide](https://www.tensorflow.org/guide/gpu)), and a `with tf.device(...)` block overrides the choice.
# PyTorch **places tensors**: every tensor is created on the CPU unless you say otherwise, an operation runs where its
# inputs are, and inputs on different devices raise an error
# ([CUDA semantics](https://pytorch.org/docs/stable/notes/cuda.html)). Moving is explicit: `device=` when creating,
# `.to(device)` afterwards. This book's helpers pick the devices: `tu.tf_device()` returns a device string,
# `tu.torch_device()` a `torch.device`.

# %% tags=["tensorflow", "nbval-ignore-output"]
with tf.device(device_tf):
    product_tf = tf.ones([2, 2]) @ tf.ones([2, 2])
print(device_tf, "->", product_tf.device)

# %% tags=["pytorch", "nbval-ignore-output"]
product_pt = torch.ones(2, 2, device=device_pt) @ torch.ones(2, 2, device=device_pt)
print(device_pt, "->", product_pt.device)

# %% [markdown]
# The printout depends on the machine (a GPU on Colab, the CPU here), so the test suite checks instead that each
# tensor landed on the device the helpers chose. Note the two formats: TensorFlow reports a full device name such as
# `/job:localhost/replica:0/task:0/device:GPU:0`, PyTorch a `torch.device` such as `cuda:0`.

# %%
assert product_tf.device.endswith("device:" + device_tf.lstrip("/"))
assert product_pt.device.type == device_pt.type
np.testing.assert_array_equal(product_tf.numpy(), product_pt.cpu().numpy())
print("checked: each product was computed on the device the helpers chose")

# %% [markdown]
# What happens when you ask for a GPU that is not there? TensorFlow's *soft device placement*, on by default in eager
# mode, quietly falls back to the CPU
# ([`tf.config.set_soft_device_placement`](https://www.tensorflow.org/api_docs/python/tf/config/set_soft_device_placement));
# PyTorch raises an error. Run this on a CPU-only machine and on a GPU runtime to see both outcomes:

# %% tags=["tensorflow", "nbval-ignore-output"]
with tf.device("/GPU:0"):
    asked_gpu_tf = tf.ones([2]) * 2.0
print("asked for /GPU:0, got", asked_gpu_tf.device)

# %% tags=["pytorch", "nbval-ignore-output"]
try:
    asked_gpu_pt = torch.ones(2, device="cuda") * 2.0
    print("asked for cuda, got", asked_gpu_pt.device)
except (AssertionError, RuntimeError) as err:  # CPU-only build, or no driver
    asked_gpu_pt = None
    print(f"asked for cuda: {type(err).__name__}: {err}")

# %%
tf_sees_gpu = bool(tf.config.list_logical_devices("GPU"))
assert ("GPU" in asked_gpu_tf.device) == tf_sees_gpu
assert (asked_gpu_pt is not None) == torch.cuda.is_available()
print(
    "checked: TensorFlow used a GPU exactly when it sees one, and fell back silently;"
)
print("PyTorch created the tensor exactly when CUDA is available, and raised otherwise")

# %% [markdown]
# Silent fallback is convenient in a notebook and treacherous in a benchmark: a model you believe runs on a GPU can run
# on the CPU without a word. `tf.config.list_logical_devices("GPU")` and `tensor.device` tell you where things are.
# PyTorch's explicitness has the opposite cost: forget one `.to(device)` and the first operation that mixes devices
# fails. Both are worth a check cell.
#
# (sec-dlpack)=
# ## From one framework to the other: DLPack
#
# Going through NumPy (`torch.from_numpy(x_tf.numpy())`) copies the data, and only works on the CPU.
# [DLPack](https://dmlc.github.io/dlpack/latest/) is a small C structure that describes a tensor in memory (pointer,
# shape, strides, dtype, device) so that another library can wrap the same memory, on the CPU or a GPU, without a copy.
# Both frameworks speak it
# ([`tf.experimental.dlpack`](https://www.tensorflow.org/api_docs/python/tf/experimental/dlpack),
# [`torch.utils.dlpack`](https://pytorch.org/docs/stable/dlpack.html)). A *capsule* carries the description from one
# to the other and may be consumed only once.
#
# The first experiment runs on the CPU, where the addresses can be compared. TensorFlow to PyTorch:

# %% tags=["tensorflow"]
with tf.device("/CPU:0"):
    source_tf = tf.constant(np.arange(6, dtype=np.float32).reshape(2, 3))
capsule = tf.experimental.dlpack.to_dlpack(source_tf)

# %% tags=["pytorch"]
received_pt = torch.from_dlpack(capsule)
received_pt

# %% [markdown]
# Same values, and the same memory: the PyTorch tensor's data pointer is the address of TensorFlow's buffer (read
# through the zero-copy `np.asarray` view). That has a consequence TensorFlow's "immutable tensors" do not prepare you
# for: an in-place PyTorch operation rewrites the TensorFlow tensor.

# %%
assert received_pt.data_ptr() == np.asarray(source_tf).ctypes.data
received_pt.mul_(10)  # in place, in PyTorch ...
source_tf  # ... and the "immutable" TensorFlow tensor has changed

# %%
np.testing.assert_array_equal(source_tf.numpy(), received_pt.numpy())
print("zero-copy: PyTorch wrote into TensorFlow's buffer")

# %% [markdown]
# Treat a tensor received through DLPack as borrowed: read it, or `.clone()` it before writing.
#
# PyTorch to TensorFlow goes the same way, with `torch.utils.dlpack.to_dlpack` making the capsule and
# `tf.experimental.dlpack.from_dlpack` consuming it. Again the memory is shared, so a later in-place PyTorch operation
# shows through:

# %%
handed_pt = torch.arange(6.0)
handed_tf = tf.experimental.dlpack.from_dlpack(torch.utils.dlpack.to_dlpack(handed_pt))
handed_pt.mul_(10)  # write through PyTorch after the hand-over
handed_tf

# %%
np.testing.assert_array_equal(handed_tf.numpy(), handed_pt.numpy())
assert np.asarray(handed_tf).ctypes.data == handed_pt.data_ptr()
print("zero-copy: TensorFlow reads PyTorch's buffer")

# %% [markdown]
# One restriction: TensorFlow accepts only a compact row-major layout. A transposed PyTorch tensor (a view with swapped
# strides) is rejected with `Invalid strides array from DLPack`; call `.contiguous()` first (exercise 3).
#
# **On a GPU.** The hand-over works the same way between CUDA tensors, with no copy to the host. Use the capsule
# functions shown here: `torch.from_dlpack(x_tf)` without a capsule also works on the CPU, but on CUDA PyTorch passes
# a stream to TensorFlow's `__dlpack__`, which raises `RuntimeError` for any stream (see `__dlpack__` in TensorFlow's
# [`ops.py`](https://github.com/tensorflow/tensorflow/blob/v2.21.0/tensorflow/python/framework/ops.py) and
# `from_dlpack` in PyTorch's
# [`dlpack.py`](https://github.com/pytorch/pytorch/blob/v2.13.0/torch/utils/dlpack.py)). That was read in the source,
# not run: the machine that builds this page has no GPU. And the frameworks do not share CUDA streams: before
# TensorFlow reads a tensor PyTorch has just computed, call `torch.cuda.synchronize()`. The round trip below runs on the
# devices the helpers chose whenever both frameworks use CUDA, and on the CPU otherwise:

# %%
dlpack_on_gpu = device_tf == "/GPU:0" and device_pt.type == "cuda"
dlpack_device_tf = device_tf if dlpack_on_gpu else "/CPU:0"
trip_np = np.arange(12, dtype=np.float32).reshape(3, 4)
with tf.device(dlpack_device_tf):
    trip_tf = tf.constant(trip_np)
trip_pt = torch.from_dlpack(tf.experimental.dlpack.to_dlpack(trip_tf))
doubled_pt = trip_pt * 2  # computed by PyTorch, on trip_pt's device
if doubled_pt.is_cuda:
    torch.cuda.synchronize()  # PyTorch's kernel must finish before TensorFlow reads
doubled_tf = tf.experimental.dlpack.from_dlpack(
    torch.utils.dlpack.to_dlpack(doubled_pt)
)
np.testing.assert_array_equal(doubled_tf.numpy(), 2 * trip_np)
assert (
    trip_pt.is_cuda == dlpack_on_gpu and ("GPU" in doubled_tf.device) == dlpack_on_gpu
)
print("round trip TensorFlow -> PyTorch -> TensorFlow: values equal, device kept")

# %% [markdown]
# How much does the copy cost? Handing a 64 MiB tensor (4096 × 4096 float32) from TensorFlow to PyTorch through NumPy
# against through DLPack, median of 7 runs each:


# %%
def median_seconds(fn, repeats=7):
    """Median wall-clock time of fn() over `repeats` runs."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


# %% tags=["nbval-ignore-output"]
with tf.device("/CPU:0"):
    big_tf = tf.random.stateless_normal([4096, 4096], seed=[0, 0])
via_numpy = median_seconds(lambda: torch.from_numpy(big_tf.numpy()))
via_dlpack = median_seconds(
    lambda: torch.from_dlpack(tf.experimental.dlpack.to_dlpack(big_tf))
)
threads = torch.get_num_threads()
print(f"through NumPy (one copy): {via_numpy * 1e3:8.2f} ms")
print(f"through DLPack (no copy): {via_dlpack * 1e6:8.2f} µs")
print(f"PyTorch CPU threads: {threads}")
tu.glue("ch02_copy_ms", f"{via_numpy * 1e3:.0f} ms")
tu.glue("ch02_dlpack_us", f"{via_dlpack * 1e6:.0f} µs")
tu.glue("ch02_threads", threads)

# %% [markdown]
# On the machine that built this page ({glue:text}`ch02_threads` CPU threads), the copy took {glue:text}`ch02_copy_ms`
# and the DLPack hand-over {glue:text}`ch02_dlpack_us`: the copy grows with the tensor, the hand-over does not. The
# test suite never compares timings; it checks what makes the difference, that DLPack shared the buffer and NumPy did
# not:

# %%
shared_pt = torch.from_dlpack(tf.experimental.dlpack.to_dlpack(big_tf))
copied_pt = torch.from_numpy(big_tf.numpy())
tf_buffer = np.asarray(big_tf).ctypes.data
assert shared_pt.data_ptr() == tf_buffer != copied_pt.data_ptr()
np.testing.assert_array_equal(shared_pt.numpy(), copied_pt.numpy())
del shared_pt, copied_pt
print("checked: DLPack shares TensorFlow's buffer; the NumPy route copies it")

# %% [markdown]
# (sec-rosetta)=
# ## A Rosetta stone of operations
#
# Each row below names one operation in both frameworks. Every row is *executed*: both expressions run on the same
# NumPy inputs, and the cell fails unless the two results have the same shape and the same values (floating point
# within `rtol=1e-5`, `atol=1e-6`; integers and booleans exactly) and the same dtype, except in the few rows whose
# dtype column shows two names in bold, where the cell checks that the dtypes still do differ. The table is generated
# from those checked rows, so it cannot drift from what runs. Where the frameworks' defaults disagree, the row spells
# out the arguments that make them agree, and the note under the operation says what the default would have done.
#
# The inputs: `x` is a 3 × 4 float32 matrix with negative entries and halves (for rounding), `w` a 4 × 2 matrix,
# `s` an invertible 3 × 3 matrix, `b` a batch of two 3 × 4 matrices, `i` and `j` integers with both signs (for
# division and remainders), `idx` and `labels` integer indices, `u` integers with repeats. The list of rows is long;
# it is folded below (click to show it), and the table after it shows the same rows.

# %% tags=["hide-input"]
rosetta_inputs = {
    "x": np.array(
        [[-1.5, 0.5, 2.5, -0.5], [3.0, -2.0, 1.5, 4.0], [0.25, -3.5, 2.0, 1.0]],
        dtype=np.float32,
    ),
    "w": np.array([[1.0, -1.0], [0.5, 2.0], [-2.0, 0.0], [1.0, 1.0]], dtype=np.float32),
    "s": np.array(
        [[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 2.0]], dtype=np.float32
    ),
    "b": np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 10,
    "i": np.array([7, -7, 7, -7], dtype=np.int64),
    "j": np.array([2, 2, -2, -2], dtype=np.int64),
    "idx": np.array([2, 0], dtype=np.int64),
    "labels": np.array([0, 2, 1], dtype=np.int64),
    "u": np.array([3, 1, 3, 2, 1], dtype=np.int64),
}


class Row(NamedTuple):
    group: str
    operation: str
    tf_code: str
    pt_code: str
    note: str = ""
    dtypes_differ: bool = False


R = Row
ROSETTA = [
    R("Create", "integer range", "tf.range(5)", "torch.arange(5)",
      "TF int32, PyTorch int64", True),
    R("Create", "evenly spaced values", "tf.linspace(0.0, 1.0, 5)",
      "torch.linspace(0.0, 1.0, 5)"),
    R("Create", "constant fill", "tf.fill([2, 3], 7.0)", "torch.full((2, 3), 7.0)"),
    R("Create", "identity matrix", "tf.eye(3)", "torch.eye(3)"),
    R("Create", "zeros shaped like x", "tf.zeros_like(x)", "torch.zeros_like(x)"),
    R("Shape", "reshape", "tf.reshape(x, [2, -1])", "x.reshape(2, -1)",
      "`x.view(2, -1)` never copies, and fails when it would have to"),
    R("Shape", "insert an axis", "tf.expand_dims(x, 0)", "x.unsqueeze(0)",
      "`x[None]` in both"),
    R("Shape", "drop size-1 axes", "tf.squeeze(x[None])", "x[None].squeeze()"),
    R("Shape", "matrix transpose", "tf.transpose(x)", "x.T",
      "`tf.transpose` without `perm` reverses all axes; `x.T` on tensors that are "
      "not 2-D is deprecated in PyTorch"),
    R("Shape", "permute axes", "tf.transpose(b, perm=[2, 0, 1])", "b.permute(2, 0, 1)"),
    R("Shape", "transpose a batch of matrices", "tf.linalg.matrix_transpose(b)",
      "b.mT"),
    R("Shape", "broadcast to a shape", "tf.broadcast_to(x[0], [3, 4])",
      "x[0].expand(3, 4)", "`expand` returns a view; `broadcast_to` allocates"),
    R("Shape", "concatenate", "tf.concat([x, x], axis=0)", "torch.cat([x, x], dim=0)",
      "`axis=` in TensorFlow, `dim=` in PyTorch, throughout"),
    R("Shape", "stack", "tf.stack([x, x], axis=1)", "torch.stack([x, x], dim=1)"),
    R("Shape", "split into equal pieces", "tf.split(x, 4, axis=1)[0]",
      "torch.chunk(x, 4, dim=1)[0]",
      "an integer means the number of pieces to `tf.split`, the size of each piece "
      "to `torch.split`"),
    R("Shape", "split by sizes", "tf.split(x, [1, 3], axis=1)[1]",
      "torch.split(x, [1, 3], dim=1)[1]"),
    R("Shape", "tile", "tf.tile(x, [1, 2])", "x.repeat(1, 2)",
      "PyTorch's `repeat` is TensorFlow's `tile`"),
    R("Shape", "repeat each element", "tf.repeat(x, 2, axis=0)",
      "x.repeat_interleave(2, dim=0)",
      "TensorFlow's `repeat` is PyTorch's `repeat_interleave`"),
    R("Shape", "pad", "tf.pad(x, [[0, 0], [1, 2]])", "F.pad(x, (1, 2))",
      "`F.pad` lists (before, after) pairs from the last axis backwards"),
    R("Shape", "reverse an axis", "tf.reverse(x, axis=[1])", "x.flip(1)"),
    R("Reduce", "sum over an axis", "tf.reduce_sum(x, axis=0)", "x.sum(dim=0)"),
    R("Reduce", "mean, keeping the axis", "tf.reduce_mean(x, axis=1, keepdims=True)",
      "x.mean(dim=1, keepdim=True)", "`keepdims` in TensorFlow, `keepdim` in PyTorch"),
    R("Reduce", "maximum over an axis", "tf.reduce_max(x, axis=1)", "x.amax(dim=1)",
      "`x.max(dim=1)` returns a (values, indices) pair"),
    R("Reduce", "argmax", "tf.argmax(x, axis=1)", "x.argmax(dim=1)",
      "without an axis, `tf.argmax` reduces axis 0, `x.argmax()` the flattened tensor"),
    R("Reduce", "standard deviation", "tf.math.reduce_std(x)", "x.std(correction=0)",
      "`x.std()` divides by n - 1, `tf.math.reduce_std` by n"),
    R("Reduce", "variance per column", "tf.math.reduce_variance(x, axis=0)",
      "x.var(dim=0, correction=0)", "as for `std`"),
    R("Reduce", "cumulative sum", "tf.cumsum(x, axis=1)", "x.cumsum(dim=1)",
      "PyTorch requires `dim`"),
    R("Reduce", "log-sum-exp", "tf.reduce_logsumexp(x, axis=1)", "x.logsumexp(dim=1)"),
    R("Reduce", "any along an axis", "tf.reduce_any(x > 3, axis=1)",
      "(x > 3).any(dim=1)"),
    R("Reduce", "count non-zeros", "tf.math.count_nonzero(x > 0, axis=0)",
      "torch.count_nonzero(x > 0, dim=0)"),
    R("Reduce", "vector norm", "tf.norm(x, axis=1)",
      "torch.linalg.vector_norm(x, dim=1)"),
    R("Elementwise", "clip", "tf.clip_by_value(x, -1.0, 1.0)", "x.clamp(-1.0, 1.0)"),
    R("Elementwise", "round", "tf.round(x)", "x.round()",
      "halves go to the even neighbour in both: 0.5 → 0, 2.5 → 2"),
    R("Elementwise", "cast float to int", "tf.cast(x, tf.int32)", "x.to(torch.int32)",
      "truncates toward zero in both: -1.5 → -1"),
    R("Elementwise", "choose elementwise", "tf.where(x > 0, x, 0.0)",
      "torch.where(x > 0, x, 0.0)"),
    R("Elementwise", "floor division", "tf.math.floordiv(i, j)",
      "torch.div(i, j, rounding_mode='floor')", "`i // j` in both: -7 // 2 = -4"),
    R("Elementwise", "truncating division", "tf.truncatediv(i, j)",
      "torch.div(i, j, rounding_mode='trunc')", "-7 / 2 → -3"),
    R("Elementwise", "remainder with the divisor's sign", "tf.math.floormod(i, j)",
      "torch.remainder(i, j)", "`i % j` in both, as in Python: -7 % 2 = 1"),
    R("Elementwise", "remainder with the dividend's sign", "tf.truncatemod(i, j)",
      "torch.fmod(i, j)", "as C's `fmod`: fmod(-7, 2) = -1"),
    R("Elementwise", "true division of integers", "i / j", "i / j",
      "TF float64, PyTorch float32", True),
    R("Index", "rows by index", "tf.gather(x, idx)", "x[idx]",
      "`x_tf[[2, 0]]` means `x_tf[2, 0]` (see Indexing above)"),
    R("Index", "columns by index", "tf.gather(x, idx, axis=1)",
      "x.index_select(1, idx)"),
    R("Index", "one entry per row", "tf.gather(x, labels, batch_dims=1)",
      "x.gather(1, labels[:, None])[:, 0]",
      "`torch.gather` picks along an axis (NumPy's `take_along_axis`), unlike "
      "`tf.gather`"),
    R("Index", "entries by coordinates", "tf.gather_nd(x, [[0, 1], [2, 3]])",
      "x[[0, 2], [1, 3]]"),
    R("Index", "boolean mask", "tf.boolean_mask(x, x > 0)", "x[x > 0]"),
    R("Index", "coordinates of true entries", "tf.where(x > 2)",
      "torch.argwhere(x > 2)", "`tf.where` with a single argument"),
    R("Index", "scatter-add rows", "tf.math.unsorted_segment_sum(x, labels, 3)",
      "torch.zeros(3, 4).index_add(0, labels, x)"),
    R("Index", "one-hot", "tf.one_hot(labels, 3)", "F.one_hot(labels, 3)",
      "TF float32, PyTorch int64", True),
    R("Sort", "sort, descending", "tf.sort(x, axis=1, direction='DESCENDING')",
      "x.sort(dim=1, descending=True).values", "`x.sort` returns (values, indices)"),
    R("Sort", "argsort", "tf.argsort(x, axis=1)", "x.argsort(dim=1)",
      "TF int32, PyTorch int64", True),
    R("Sort", "top k", "tf.math.top_k(x, k=2).values", "x.topk(2).values"),
    R("Sort", "unique values", "tf.sort(tf.unique(u).y)", "torch.unique(u)",
      "`tf.unique` keeps first-seen order, `torch.unique` sorts"),
    R("Linear algebra", "matrix product", "tf.linalg.matmul(x, w)",
      "torch.matmul(x, w)", "`x @ w` in both"),
    R("Linear algebra", "batched matrix product", "b @ tf.linalg.matrix_transpose(b)",
      "b @ b.mT"),
    R("Linear algebra", "Einstein summation", "tf.einsum('ij,jk->ik', x, w)",
      "torch.einsum('ij,jk->ik', x, w)"),
    R("Linear algebra", "inverse", "tf.linalg.inv(s)", "torch.linalg.inv(s)"),
    R("Linear algebra", "diagonal", "tf.linalg.diag_part(s)", "s.diagonal()"),
    R("Neural nets", "softmax", "tf.nn.softmax(x)", "x.softmax(dim=-1)",
      "TensorFlow defaults to the last axis; PyTorch wants `dim`"),
    R("Neural nets", "log-softmax over axis 0", "tf.nn.log_softmax(x, axis=0)",
      "x.log_softmax(dim=0)"),
    R("Neural nets", "ReLU", "tf.nn.relu(x)", "torch.relu(x)"),
    R("Neural nets", "sigmoid", "tf.sigmoid(x)", "torch.sigmoid(x)"),
    R("Neural nets", "GELU", "tf.nn.gelu(x)", "F.gelu(x)",
      "both default to the exact (erf) form"),
]  # fmt: skip

# %% [markdown]
# Each framework gets its own copy of the inputs. The TensorFlow side runs on the CPU so that the table checks names
# and semantics, not device arithmetic (TensorFlow may use TF32 matrix products on recent NVIDIA GPUs, PyTorch does not
# by default, and that alone would exceed the tolerance).

# %% tags=["tensorflow"]
with tf.device("/CPU:0"):
    namespace_tf = {"tf": tf} | {k: tf.constant(v) for k, v in rosetta_inputs.items()}
    results_tf = [eval(row.tf_code, namespace_tf) for row in ROSETTA]

# %% tags=["pytorch"]
namespace_pt = {"torch": torch, "F": torch.nn.functional}
namespace_pt |= {k: torch.tensor(v) for k, v in rosetta_inputs.items()}
results_pt = [eval(row.pt_code, namespace_pt) for row in ROSETTA]


# %%
def dtype_name(t):
    """'float32' for tf.float32 and for torch.float32 alike."""
    return t.dtype.name if isinstance(t, tf.Tensor) else str(t.dtype).split(".")[-1]


def check_row(row, result_tf, result_pt):
    """Fail unless the two results agree in shape, values and (unless marked) dtype."""
    a, b = result_tf.numpy(), result_pt.numpy()
    where = f"{row.operation}: {row.tf_code} vs {row.pt_code}"
    assert a.shape == b.shape, (where, a.shape, b.shape)
    if np.issubdtype(a.dtype, np.floating) or np.issubdtype(b.dtype, np.floating):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=where)
    else:
        np.testing.assert_array_equal(a, b, err_msg=where)
    same = dtype_name(result_tf) == dtype_name(result_pt)
    assert same != row.dtypes_differ, (
        where,
        dtype_name(result_tf),
        dtype_name(result_pt),
    )


for row, result_tf, result_pt in zip(ROSETTA, results_tf, results_pt):
    check_row(row, result_tf, result_pt)
n_differ = sum(row.dtypes_differ for row in ROSETTA)
tu.glue("ch02_rosetta_rows", len(ROSETTA))
print(f"{len(ROSETTA)} operations checked: equal values in every row,")
print(f"equal dtypes in all but the {n_differ} rows marked 'dtypes differ'")


# %%
def result_cell(row, result_tf, result_pt):
    if row.dtypes_differ:
        return f"<b>{dtype_name(result_tf)} / {dtype_name(result_pt)}</b>"
    return dtype_name(result_tf)


def operation_cell(row):
    """The operation's name, with its note below it (`backticks` set as code)."""
    note = re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(row.note))
    small = f'<br><small style="opacity: 0.75">{note}</small>'
    return html.escape(row.operation) + (small if row.note else "")


table_rows, previous_group = [], None
for row, result_tf, result_pt in zip(ROSETTA, results_tf, results_pt):
    if row.group != previous_group:
        table_rows.append(row.group)
        previous_group = row.group
    table_rows.append(
        [
            operation_cell(row),
            code(row.tf_code),
            code(row.pt_code),
            result_cell(row, result_tf, result_pt),
        ]
    )
html_table(
    ["operation (and what to watch)", "TensorFlow", "PyTorch", "dtype"], table_rows
)

# %% [markdown]
# Two rows hide defaults that change results without any error, so they deserve a closer look.
#
# **Standard deviation.** `tf.math.reduce_std` is "equivalent to np.std", which divides by $n$
# ([`tf.math.reduce_std`](https://www.tensorflow.org/api_docs/python/tf/math/reduce_std)); `torch.std` applies
# Bessel's correction by default, `correction=1`, and divides by $n - 1$
# ([`torch.std`](https://pytorch.org/docs/stable/generated/torch.std.html)). Same call, different number:

# %% tags=["tensorflow"]
std_tf = tf.math.reduce_std(m_tf)
print(f"tf.math.reduce_std(m): {float(std_tf):.4f}")

# %% tags=["pytorch"]
std_pt = m_pt.std()
print(f"m.std():               {float(std_pt):.4f}")

# %%
n = m_np.size
np.testing.assert_allclose(float(std_tf), np.std(m_np), rtol=1e-6)
np.testing.assert_allclose(float(std_pt), np.std(m_np, ddof=1), rtol=1e-6)
np.testing.assert_allclose(
    float(std_pt) / float(std_tf), np.sqrt(n / (n - 1)), rtol=1e-6
)
print(
    f"n = {n}: PyTorch's default std is sqrt(n / (n - 1)) = {np.sqrt(n / (n - 1)):.4f}"
)
print("times TensorFlow's; pass correction=0 to match")

# %% [markdown]
# The factor shrinks toward 1 as $n$ grows but never reaches it. Porting a normalisation layer or a "standardise the
# features" step from TensorFlow (or NumPy, whose `np.std` also divides by $n$) to PyTorch without `correction=0`
# changes every number downstream.
#
# **Splitting.** `tf.split(x, 2)` cuts `x` into two pieces; `torch.split(x, 2)` cuts it into pieces of size 2. With a
# first axis of length 6 the same call gives two pieces in one framework and three in the other:

# %% tags=["tensorflow"]
pieces_tf = tf.split(tf.range(6), 2)
[p.numpy().tolist() for p in pieces_tf]

# %% tags=["pytorch"]
pieces_pt = torch.split(torch.arange(6), 2)
[p.tolist() for p in pieces_pt]

# %%
assert len(pieces_tf) == 2 and len(pieces_pt) == 3
assert [p.tolist() for p in torch.chunk(torch.arange(6), 2)] == [
    p.numpy().tolist() for p in pieces_tf
]
print("torch.chunk(x, 2) is the PyTorch spelling of tf.split(x, 2)")

# %% [markdown]
# ## "Graph and data separated" versus "combined", today
#
# The article's distinction comes from TensorFlow 1, where a program first *built* a graph of symbolic tensors
# (placeholders for the data) and then *ran* it in a `tf.Session`, feeding the data in; PyTorch instead executed each
# operation as Python reached it, in "an imperative and Pythonic programming style"
# ([Paszke et al., 2019](https://arxiv.org/abs/1912.01703)). TensorFlow 2.0 (September 2019) made eager execution the
# default ([release notes](https://github.com/tensorflow/tensorflow/releases/tag/v2.0.0)): every operation in this
# chapter so far ran immediately and returned concrete values, exactly as in PyTorch.

# %%
tf.executing_eagerly()

# %% [markdown]
# Graphs still exist in TensorFlow 2, on request: `tf.function` runs the Python function once to *trace* it into a graph
# and afterwards runs the graph ([`tf.function` guide](https://www.tensorflow.org/guide/function)). A Python `print`
# shows when that happens, because it runs during tracing only. PyTorch has no tracing step in ordinary use: the Python
# body runs on every call.


# %% tags=["tensorflow"]
@tf.function
def affine_sum_tf(a):
    print("  tracing for shape", a.shape)
    return tf.reduce_sum(2.0 * a + 1.0)


calls_tf = [
    affine_sum_tf(tf.constant([1.0, 2.0])),
    affine_sum_tf(tf.constant([3.0, 4.0])),  # same shape and dtype: graph reused
    affine_sum_tf(tf.constant([1.0, 2.0, 3.0])),  # new shape: traced again
]
[float(c) for c in calls_tf]


# %% tags=["pytorch"]
def affine_sum_pt(a):
    print("  Python body runs")
    return (2.0 * a + 1.0).sum()


calls_pt = [
    affine_sum_pt(torch.tensor([1.0, 2.0])),
    affine_sum_pt(torch.tensor([3.0, 4.0])),
    affine_sum_pt(torch.tensor([1.0, 2.0, 3.0])),
]
[float(c) for c in calls_pt]

# %%
np.testing.assert_allclose([float(c) for c in calls_tf], [float(c) for c in calls_pt])
assert affine_sum_tf.experimental_get_tracing_count() == 2
print(
    "same results; TensorFlow traced twice for three calls,"
    " PyTorch ran Python three times"
)

# %% [markdown]
# Both frameworks can also show the graph of this function. TensorFlow's is the traced `tf.Graph`; PyTorch's comes
# from [`torch.fx`](https://pytorch.org/docs/stable/fx.html), which, like `tf.function`, runs the Python once with
# stand-in tensors and records the operations (it is the graph format that `torch.compile` works on):

# %% tags=["tensorflow"]
spec = tf.TensorSpec([None], tf.float32)  # any length
graph_tf = affine_sum_tf.get_concrete_function(spec).graph
[op.type for op in graph_tf.get_operations()]

# %% tags=["pytorch"]
graph_pt = torch.fx.symbolic_trace(affine_sum_pt)
[node.name for node in graph_pt.graph.nodes]

# %%
probe_np = np.array([0.5, -1.0, 4.0], dtype=np.float32)
via_graph_tf = affine_sum_tf(tf.constant(probe_np))
via_graph_pt = graph_pt(torch.from_numpy(probe_np))
np.testing.assert_allclose(float(via_graph_tf), float(via_graph_pt), rtol=1e-6)
print("the traced TensorFlow graph and the torch.fx graph compute the same value")

# %% [markdown]
# So the accurate statement today is: **both frameworks execute eagerly by default, and both can capture a graph
# when asked**: TensorFlow with `tf.function` (which Keras applies to `fit` for you), PyTorch with `torch.compile`
# since PyTorch 2.0 ([PyTorch 2.0 overview](https://pytorch.org/get-started/pytorch-2.0/)). The real differences are
# in how capture works and what it costs: when a function is retraced, what Python side effects survive, how control
# flow is handled, and how gradients flow through the graph. {ref}`ch-graphs-autodiff` traces graphs and gradients in
# depth; {ref}`ch-trends-scale` measures what `torch.compile` and XLA buy.
#
# ## Summary
#
# - Both frameworks' tensors are typed, shaped, device-resident arrays with NumPy-style broadcasting and basic
#   indexing, but the defaults differ: Python integers become `int32` in TensorFlow and `int64` in PyTorch; NumPy data
#   stays `float64` in both; TensorFlow refuses mixed dtypes where PyTorch promotes; `tf.reduce_mean` of integers stays
#   an integer; integer `/` gives `float64` in TensorFlow and `float32` in PyTorch.
# - TensorFlow tensors are immutable and state lives in `tf.Variable` (`assign`, `assign_add`); PyTorch tensors are
#   mutable, in-place methods end in `_`, and slices are views that share memory.
# - `torch.from_numpy`, `torch.as_tensor` and `.numpy()` on a CPU tensor share memory; `torch.tensor` and everything
#   TensorFlow does with NumPy copy, except the read-only `np.asarray(t)` view. DLPack hands tensors between the two
#   frameworks without a copy (checked above), so an in-place PyTorch op can change an "immutable" TensorFlow tensor;
#   TensorFlow accepts only contiguous (row-major) data.
# - TensorFlow places operations (GPU first, silent CPU fallback); PyTorch places tensors (CPU unless moved, an error
#   when the device is missing or mixed).
# - The Rosetta stone's {glue:text}`ch02_rosetta_rows` checked rows translate common operations; the traps are in
#   the defaults: `std` (n vs n - 1), `split` (pieces vs piece size), `repeat` vs `tile`, `argmax` without an axis,
#   `x[[0, 2]]` in TensorFlow.
# - "Graph separated from data" describes TensorFlow 1. TensorFlow 2 and PyTorch both run eagerly and capture graphs
#   on request (`tf.function`, `torch.compile`).
#
# ## Exercises
#
# 1. **Broadcasting.** Given `P` (5 × 3) and `Q` (4 × 3), compute the 5 × 4 matrix of squared Euclidean distances
#    between every row of `P` and every row of `Q` with one broadcast expression in each framework, no loop. Check
#    both against a double loop in NumPy.
# 2. **In place.** An exponential moving average updates `avg ← 0.9 · avg + 0.1 · x`. Write the update so that it
#    changes a `tf.Variable` and a PyTorch tensor in place (the same object and, in PyTorch, the same memory
#    afterwards), and check it against NumPy over five steps.
# 3. **A safe hand-over.** Write `pt_to_tf(t)` that hands any CPU PyTorch tensor to TensorFlow through DLPack,
#    including a transposed one (which DLPack hands over as a view that TensorFlow rejects). Check that a contiguous
#    tensor is shared and that the transposed one arrives with the right values.

# %% tags=["hide-cell"]
# Solution 1: insert axes so that (5, 1, 3) - (1, 4, 3) broadcasts to (5, 4, 3).
rng = np.random.default_rng(0)
P_np = rng.normal(size=(5, 3)).astype(np.float32)
Q_np = rng.normal(size=(4, 3)).astype(np.float32)
P_tf, Q_tf = tf.constant(P_np), tf.constant(Q_np)
dist_tf = tf.reduce_sum((P_tf[:, None, :] - Q_tf[None, :, :]) ** 2, axis=-1)
P_pt, Q_pt = torch.from_numpy(P_np), torch.from_numpy(Q_np)
dist_pt = ((P_pt[:, None, :] - Q_pt[None, :, :]) ** 2).sum(dim=-1)
loop = np.array([[((p - q) ** 2).sum() for q in Q_np] for p in P_np])
np.testing.assert_allclose(dist_tf.numpy(), loop, rtol=1e-5)
np.testing.assert_allclose(dist_pt.numpy(), loop, rtol=1e-5)
print("distance matrices:", tuple(dist_tf.shape), tuple(dist_pt.shape), "- both match")

# %% tags=["hide-cell"]
# Solution 2: assign() on the variable; mul_/add_ (or the out-of-place value
# copied back with copy_) on the PyTorch tensor.
steps_np = rng.normal(size=(5, 3)).astype(np.float32)
avg_tf = tf.Variable(tf.zeros(3))
avg_pt = torch.zeros(3)
variable_before, storage_before = avg_tf, avg_pt.data_ptr()
avg_np = np.zeros(3, dtype=np.float32)
for step in steps_np:
    avg_tf.assign(0.9 * avg_tf + 0.1 * step)
    avg_pt.mul_(0.9).add_(torch.from_numpy(step), alpha=0.1)
    avg_np = 0.9 * avg_np + 0.1 * step
assert avg_tf is variable_before and avg_pt.data_ptr() == storage_before
np.testing.assert_allclose(avg_tf.numpy(), avg_np, rtol=1e-5, atol=1e-6)
np.testing.assert_allclose(avg_pt.numpy(), avg_np, rtol=1e-5, atol=1e-6)
print("both averages were updated in place and match NumPy")


# %% tags=["hide-cell"]
# Solution 3: TensorFlow accepts only compact row-major data, so make the tensor
# contiguous first (a copy only when it is not contiguous already).
def pt_to_tf(t):
    return tf.experimental.dlpack.from_dlpack(
        torch.utils.dlpack.to_dlpack(t.contiguous())
    )


square_pt = torch.arange(6.0).reshape(2, 3)
try:
    tf.experimental.dlpack.from_dlpack(torch.utils.dlpack.to_dlpack(square_pt.T))
except tf.errors.InvalidArgumentError as err:
    print("without .contiguous():", err.message)
transposed_tf = pt_to_tf(square_pt.T)
np.testing.assert_array_equal(transposed_tf.numpy(), square_pt.T.numpy())
shared_tf = pt_to_tf(square_pt)
square_pt.add_(1)  # visible through the shared buffer
np.testing.assert_array_equal(shared_tf.numpy(), square_pt.numpy())
print("contiguous input: shared; transposed input: copied once, values correct")
