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
# (ch-trends-data)=
# # Input pipelines: `tf.data` and `DataLoader`, and Keras 3 as a bridge
#
# The last item of the article's section 5 (未来发展趋势与挑战, "future trends and challenges") predicts that deep
# learning will meet ever more kinds of data, "which needs better data processing and preprocessing"
# (这将需要更好的数据处理和预处理). The article names neither framework's data API. This chapter fills that gap. It
# builds one input pipeline twice, with TensorFlow's [`tf.data`](https://www.tensorflow.org/guide/data) and with
# PyTorch's [`torch.utils.data`](https://pytorch.org/docs/stable/data.html), stage by stage over the same MNIST
# arrays. It proves where the two produce identical batches, shows where they really differ (a shuffle buffer against
# a permutation, threads against processes, who owns the random numbers), and measures their throughput on the
# machine at hand. It ends with Keras 3, which trains one model on either framework and reads either framework's
# pipeline.
#
# :::{admonition} Learning goals
# :class: tip
# - build a shuffled, augmented, batched, parallel and prefetching pipeline with `tf.data` and with a `DataLoader`,
#   and name the stage of one that does the job of each stage of the other;
# - explain why a small `shuffle` buffer leaves sorted data badly mixed, and measure how badly;
# - make random augmentation reproducible in both frameworks, with and without worker processes;
# - measure input throughput, and read what parallel map, worker processes and prefetching buy on a small CPU;
# - train one Keras 3 model on the TensorFlow and on the PyTorch backend from the same initial weights, each fed by
#   the *other* framework's pipeline, and check that the two runs agree.
# :::
#
# **Prerequisites:** {ref}`ch-code-examples` (the same data in both frameworks, `fit` and the PyTorch loop).
# **Runs in:** about a minute on a 2-core laptop CPU with the bundled sample (the throughput measurement and the two
# Keras processes take most of it).

# %% [markdown]
# ## Setup
#
# `tutorial_utils` is this book's helper package; importing it loads no framework. PyTorch is imported before
# TensorFlow, as in every chapter. The environment report varies from machine to machine, so the tests do not compare
# it; it also says how many CPU cores there are, which matters for every timing below.

# %% tags=["nbval-ignore-output"]
import tutorial_utils as tu

import torch
import keras  # Keras 3 on the TensorFlow backend: this imports TensorFlow
import tensorflow as tf
import numpy as np
import matplotlib.pyplot as plt

import inspect
import itertools
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

tu.use_book_style()
info = tu.describe_environment()

# %% [markdown]
# The next cell seeds Python, NumPy and both frameworks but, unlike other chapters, does not switch on TensorFlow's
# op determinism.
# [`enable_op_determinism()`](https://www.tensorflow.org/api_docs/python/tf/config/experimental/enable_op_determinism)
# overrides `tf.data`'s own ordering options (it forces `deterministic=True`) and runs map functions that hold state
# one element at a time. Those options are what this chapter demonstrates, so it leaves them in `tf.data`'s hands.

# %%
assert keras.backend.backend() == "tensorflow", (
    "restart the kernel without KERAS_BACKEND=torch"
)
device_pt = tu.torch_device()
device_tf = tu.tf_device()
seed = 0
tu.seed_everything(seed, deterministic=False)

# %% [markdown]
# ## Two designs for one job
#
# The two APIs split the work differently. A `tf.data.Dataset` is a lazy description of a stream: each method
# (`shuffle`, `map`, `batch`, ...) returns a new dataset, and TensorFlow's C++ runtime pulls elements through the
# chain, running map functions as traced TensorFlow graphs on its own threads. PyTorch splits the job between a
# *dataset*, an ordinary Python object that returns one example for an index, and a `DataLoader`, which picks the
# indices, calls the dataset, stacks the examples into batches and, if asked, does so in worker processes. The table
# maps one onto the other; the sections below take its rows in turn (`DataLoader` arguments are written without the
# `DataLoader(...)` around them).
#
# | Stage | `tf.data` | PyTorch |
# |---|---|---|
# | source of examples | `Dataset.from_tensor_slices(arrays)` | map-style `Dataset`: `__len__`, `__getitem__` |
# | batching | `.batch(n, drop_remainder=...)` | `batch_size=n, drop_last=...` |
# | order | `.shuffle(buffer_size, seed=...)`: a sliding buffer | `shuffle=True, generator=...`: a permutation |
# | per-example work | `.map(fn)`, `fn` traced into a graph | Python code in `__getitem__` |
# | random numbers | stateless random ops, explicit seeds | a torch seed per worker from `generator` |
# | parallel work | `.map(fn, num_parallel_calls=AUTOTUNE)`: threads | `num_workers=k`: `k` processes |
# | work ahead of the consumer | `.prefetch(AUTOTUNE)` | `prefetch_factor` batches per worker |
# | output order when parallel | `deterministic=...` (map or `Options`) | `in_order=...` |
# | caching | `.cache()`, in memory or in a file | none built in |
#
# Sources: the [`tf.data` guide](https://www.tensorflow.org/guide/data), the
# [`tf.data` performance guide](https://www.tensorflow.org/guide/data_performance) and the
# [`torch.utils.data` documentation](https://pytorch.org/docs/stable/data.html).

# %% [markdown]
# ## One source of data
#
# Both pipelines start from the same uint8 arrays that `tu.load_mnist()` returns (the bundled 8,000/2,000 sample
# offline and in the tests, the full 60,000/10,000 split when it can be downloaded). Unlike other chapters, this one
# does not call `tu.preprocess` up front: converting the images is one of the pipeline's stages.

# %%
data = tu.load_mnist()
x_u8, y_np = data.x_train, data.y_train.astype(np.int64)
x_test_u8, y_test_np = data.x_test, data.y_test.astype(np.int64)
num_examples = len(x_u8)
batch_size = 64
print(f"x_u8 {x_u8.shape} {x_u8.dtype}, y_np {y_np.shape} {y_np.dtype}")

# %% [markdown]
# ## Stage 1: a source of examples
#
# In `tf.data`, slicing the arrays along their first axis gives a dataset of `(image, label)` pairs; the conversion
# to floats will be a `map` stage of its own. In PyTorch the per-example work lives in the dataset's `__getitem__`.
# The two conversions differ in one respect that matters later: Keras and TensorFlow's image ops put the channel
# last (`28 × 28 × 1`), PyTorch's convolutions expect it first (`1 × 28 × 28`).


# %% tags=["tensorflow"]
def to_float_tf(image, label):
    """uint8 (28, 28) -> float32 (28, 28, 1) in [0, 1]: channels last."""
    return tf.cast(image, tf.float32)[..., tf.newaxis] / 255.0, label


source_tf = tf.data.Dataset.from_tensor_slices((x_u8, y_np))
source_tf.element_spec


# %% tags=["pytorch"]
def to_float_pt(image):
    """uint8 (28, 28) -> float32 (1, 28, 28) in [0, 1]: channels first."""
    return image.unsqueeze(0).float() / 255.0


class DigitsDataset(torch.utils.data.Dataset):
    """Map-style dataset: the DataLoader asks it for one example at a time, by index."""

    def __init__(self, images, labels, augment=None):
        self.images = torch.from_numpy(images)  # shares memory with the NumPy array
        self.labels = torch.from_numpy(labels)
        self.augment = augment  # optional (uint8 image, index) -> uint8 image

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        image = self.images[index]
        if self.augment is not None:
            image = self.augment(image, index)
        return to_float_pt(image), self.labels[index]


source_pt = DigitsDataset(x_u8, y_np)
image_pt, label_pt = source_pt[0]
image_pt.shape, image_pt.dtype, label_pt.dtype

# %% [markdown]
# Nothing has been read from `source_tf` yet: its `element_spec` is all it knows. `source_pt[0]`, by contrast, has
# just run `__getitem__` in Python. That difference, a graph run by TensorFlow's runtime against Python code called
# once per example, comes back in every section below.
#
# ## Stage 2: batches, and the short one at the end
#
# The test split has 2,000 images in the sample and 10,000 in full MNIST; neither is a multiple of 64, so the last
# batch is short. Both frameworks keep it by default and drop it on request.

# %% tags=["tensorflow"]
test_tf = tf.data.Dataset.from_tensor_slices((x_test_u8, y_test_np)).map(to_float_tf)
batched_tf = test_tf.batch(batch_size)
dropped_tf = test_tf.batch(batch_size, drop_remainder=True)
for name, ds in (
    ("drop_remainder=False", batched_tf),
    ("drop_remainder=True ", dropped_tf),
):
    last_tf, _ = next(iter(ds.skip(len(ds) - 1)))
    print(
        f"{name}: {len(ds)} batches, the last of shape {tuple(last_tf.shape)};"
        f" element_spec says {ds.element_spec[0].shape}"
    )

# %% tags=["pytorch"]
test_pt = DigitsDataset(x_test_u8, y_test_np)
batched_pt = torch.utils.data.DataLoader(test_pt, batch_size=batch_size)
dropped_pt = torch.utils.data.DataLoader(test_pt, batch_size=batch_size, drop_last=True)
for name, loader in (("drop_last=False", batched_pt), ("drop_last=True ", dropped_pt)):
    *_, (last_pt, _) = loader
    print(f"{name}: {len(loader)} batches, the last of shape {tuple(last_pt.shape)}")

# %% [markdown]
# With `drop_remainder=True`, TensorFlow also knows the batch dimension before running anything: the element spec
# says 64 where it said `None`. The [`Dataset.batch`](https://www.tensorflow.org/api_docs/python/tf/data/Dataset#batch)
# documentation recommends it whenever a program needs statically known shapes, as under XLA. A `DataLoader` has no
# such spec; shapes are known when a batch arrives.
#
# Without shuffling and with the same conversion, the two pipelines must yield the same numbers. This cell compares
# every batch of the test split, after moving PyTorch's channel axis to the end:

# %%
for (x_tf, y_tf), (x_pt, y_pt) in zip(batched_tf, batched_pt, strict=True):
    np.testing.assert_array_equal(x_tf.numpy(), x_pt.permute(0, 2, 3, 1).numpy())
    np.testing.assert_array_equal(y_tf.numpy(), y_pt.numpy())
print(f"all {len(batched_pt)} batches are identical in both frameworks")

# %% [markdown]
# ## Stage 3: shuffling, with a buffer or with a permutation
#
# Here the two designs part ways. A PyTorch map-style dataset can be read at any index, so `shuffle=True` makes the
# `DataLoader` use a `RandomSampler`, which draws a uniform random permutation of all indices (`torch.randperm`) every
# epoch. A `tf.data` pipeline is a stream that may come from files or generators and cannot jump to an arbitrary
# element, so [`Dataset.shuffle`](https://www.tensorflow.org/api_docs/python/tf/data/Dataset#shuffle) keeps a buffer:
# it "fills a buffer with `buffer_size` elements, then randomly samples elements from this buffer, replacing the
# selected elements with new elements. For perfect shuffling, a buffer size greater than or equal to the full size
# of the dataset is required."
#
# A consequence follows from that description: with a buffer of $b$ elements, element $i$ enters the buffer only
# after $i - b + 1$ elements have left it, so it can never come out before position $i - b + 1$. Data that arrives
# in order stays roughly in order. To see how much that matters, sort the training examples by label, as data
# written class by class would arrive, and shuffle the positions $0 \dots N-1$ with buffers of several sizes:

# %%
by_label = np.argsort(y_np, kind="stable")  # all the 0s, then all the 1s, ...
labels_sorted = y_np[by_label]
buffer_sizes = [64, 256, 1024, 4096, num_examples]


def classes_per_batch(order):
    """Mean count of distinct labels per batch, reading labels_sorted in this order."""
    usable = len(order) // batch_size * batch_size
    batches = labels_sorted[order[:usable]].reshape(-1, batch_size)
    return float(np.mean([len(np.unique(batch)) for batch in batches]))


# %% tags=["tensorflow"]
def shuffled_order_tf(buffer_size):
    """The positions 0..N-1 in the order a shuffle with this buffer emits them."""
    ds = tf.data.Dataset.range(num_examples).shuffle(buffer_size, seed=seed)
    return next(iter(ds.batch(num_examples))).numpy()


orders_tf = {b: shuffled_order_tf(b) for b in buffer_sizes}
for b, order in orders_tf.items():
    print(f"buffer {b:>5}: {classes_per_batch(order):.2f} distinct labels per batch")

# %% tags=["pytorch"]
sampler_pt = torch.utils.data.RandomSampler(
    range(num_examples), generator=torch.Generator().manual_seed(seed)
)
order_pt = np.array(list(sampler_pt))
print(f"RandomSampler: {classes_per_batch(order_pt):.2f} distinct labels per batch")

# %% [markdown]
# The check below confirms the buffer's rule on every order TensorFlow produced (each is a permutation, and no
# element comes out before position $i - b + 1$), and that only a buffer as large as the dataset mixes as well as
# PyTorch's permutation.

# %%
for b, order in orders_tf.items():
    np.testing.assert_array_equal(np.sort(order), np.arange(num_examples))
    position = np.empty(num_examples, dtype=np.int64)
    position[order] = np.arange(num_examples)  # where each element came out
    assert np.all(position >= np.arange(num_examples) - b + 1), b
np.testing.assert_array_equal(np.sort(order_pt), np.arange(num_examples))
mixing = {b: classes_per_batch(order) for b, order in orders_tf.items()}
mixing_pt = classes_per_batch(order_pt)
assert mixing[64] < 3 and mixing[num_examples] > 9.5 and mixing_pt > 9.5
assert all(mixing[a] < mixing[b] for a, b in itertools.pairwise(buffer_sizes))
print("checked: every element leaves a buffer of b at position >= i - b + 1,")
print("and only a buffer as large as the data mixes like RandomSampler")

# %%
tu.glue("ch05_data_mix_64", f"{mixing[64]:.1f}")
tu.glue("ch05_data_mix_1024", f"{mixing[1024]:.1f}")
tu.glue("ch05_data_mix_full", f"{mixing[num_examples]:.1f}")
tu.glue("ch05_data_mix_pt", f"{mixing_pt:.1f}")

# %% [markdown]
# With a buffer of 64, a batch of 64 from label-sorted data holds {glue:text}`ch05_data_mix_64` distinct digits on
# average; with 1,024 it holds {glue:text}`ch05_data_mix_1024`; only the full-size buffer reaches
# {glue:text}`ch05_data_mix_full`, like PyTorch's permutation ({glue:text}`ch05_data_mix_pt`). The left panel shows
# why: with a small buffer, every element comes out close to where it went in.

# %%
colors = tu.FRAMEWORK_COLORS
fig, (ax_order, ax_mix) = plt.subplots(1, 2, figsize=(9, 3.6))
shown = np.arange(0, num_examples, max(1, num_examples // 2000))
position_1024 = np.argsort(orders_tf[1024])
position_pt = np.argsort(order_pt)
ax_order.scatter(
    shown, position_pt[shown], s=2, color=colors["pytorch"], label="RandomSampler"
)
ax_order.scatter(
    shown, position_1024[shown], s=2, color=colors["tensorflow"], label="shuffle(1024)"
)
ax_order.set(
    xlabel="position in the sorted input",
    ylabel="position in the shuffled output",
    title="Where each example ends up",
)
ax_order.legend(markerscale=4, loc="upper left", frameon=True, framealpha=0.9)
ax_mix.plot(
    buffer_sizes,
    [mixing[b] for b in buffer_sizes],
    "-o",
    color=colors["tensorflow"],
    label="tf.data shuffle(buffer_size)",
)
ax_mix.axhline(
    mixing_pt, color=colors["pytorch"], ls="--", label="PyTorch RandomSampler"
)
ax_mix.set_xscale("log", base=2)
ax_mix.set_xticks(buffer_sizes, [f"{b:,}" for b in buffer_sizes])
ax_mix.minorticks_off()
ax_mix.set(
    xlabel="shuffle buffer size",
    ylabel="distinct labels per batch of 64",
    title="How well label-sorted data gets mixed",
    ylim=(0, 10.5),
)
ax_mix.legend(loc="lower right")
fig.tight_layout()

# %% [markdown]
# Two more facts about order. Both frameworks reshuffle every epoch by default: `tf.data` because
# `reshuffle_each_iteration=True` is the default, PyTorch because the sampler draws a new permutation from its
# generator each time the loader is iterated. And with a seed both are reproducible, but the same seed gives each
# framework a *different* order, because they use different random number generators:

# %% tags=["tensorflow"]
small_tf = tf.data.Dataset.range(10).shuffle(10, seed=seed)
[[int(i) for i in small_tf] for epoch in range(2)]

# %% tags=["pytorch"]
small_pt = torch.utils.data.RandomSampler(
    range(10), generator=torch.Generator().manual_seed(seed)
)
[list(small_pt) for epoch in range(2)]

# %% [markdown]
# To feed both frameworks the very same order, draw the permutation once with NumPy and give it to both: slice the
# arrays with it for `tf.data`, and pass it as the `sampler` of the `DataLoader` (any iterable of indices will do).
#
# ## Stage 4: per-example work, implemented twice
#
# The augmentation in this chapter moves each digit by up to two pixels in each direction and fills the uncovered
# border with zeros. It is written once per framework, on uint8 images, before the conversion to floats. To prove that
# the two implementations agree, first give them the *same* offsets, drawn once with NumPy: one per example.

# %%
PAD = 2  # the largest shift, in pixels
offsets_np = np.random.default_rng(seed).integers(
    -PAD, PAD + 1, size=(num_examples, 2), dtype=np.int32
)


# %% tags=["tensorflow"]
def shift_tf(image, offset):
    """Move a uint8 (28, 28) image by offset = (down, right) pixels; zeros fill in."""
    padded = tf.pad(image, [[PAD, PAD], [PAD, PAD]])
    return tf.slice(padded, PAD - offset, [28, 28])


def fixed_shift_tf(image, label, offset):
    return to_float_tf(shift_tf(image, offset), label)


fixed_tf = tf.data.Dataset.from_tensor_slices((x_u8, y_np, offsets_np))
fixed_tf = fixed_tf.map(fixed_shift_tf).batch(batch_size)


# %% tags=["pytorch"]
def shift_pt(image, offset):
    """Move a uint8 (28, 28) image by offset = (down, right) pixels; zeros fill in."""
    down, right = int(offset[0]), int(offset[1])
    padded = torch.nn.functional.pad(image, (PAD, PAD, PAD, PAD))
    return padded[PAD - down : PAD - down + 28, PAD - right : PAD - right + 28]


def fixed_shift_pt(image, index):
    return shift_pt(image, offsets_np[index])


fixed_pt = torch.utils.data.DataLoader(
    DigitsDataset(x_u8, y_np, augment=fixed_shift_pt), batch_size=batch_size
)

# %%
for (x_tf, _), (x_pt, _) in zip(fixed_tf, fixed_pt, strict=True):
    np.testing.assert_array_equal(x_tf.numpy(), x_pt.permute(0, 2, 3, 1).numpy())
print(f"all {num_examples:,} shifted training images are identical in both frameworks")

# %% [markdown]
# A real augmentation draws a new offset every time an example is read. Each framework then draws from its own
# random number generator, and the way it does so decides whether the pipeline is reproducible.
#
# - **TensorFlow.** A stateful random op (`tf.random.uniform`) inside a parallel `map` is shared by the threads, so
#   which example receives which number depends on scheduling; the `map` documentation warns that with stateful
#   operations "the values of output elements may not be deterministic regardless of the `deterministic` flag". The
#   remedy is a *stateless* op, whose result is a pure function of a seed that travels with the example. Here each
#   example is zipped with two numbers from
#   [`tf.data.Dataset.random`](https://www.tensorflow.org/api_docs/python/tf/data/Dataset#random), a seeded stream
#   that draws new numbers each epoch (`rerandomize_each_iteration=True`).
# - **PyTorch.** `__getitem__` simply calls `torch.randint`. In the main process that uses the global generator
#   (seeded by `torch.manual_seed`); in a worker process it uses the worker's own generator, which the `DataLoader`
#   seeds for you (stage 5).


# %% tags=["tensorflow"]
def random_shift_tf(example, seed_pair):
    """Shift by an offset drawn with a stateless op: one seed pair, one offset."""
    image, label = example
    offset = tf.random.stateless_uniform(
        [2], seed=seed_pair, minval=-PAD, maxval=PAD + 1, dtype=tf.int32
    )
    return to_float_tf(shift_tf(image, offset), label)


def augmented_tf(source, seed, num_parallel_calls=tf.data.AUTOTUNE):
    """Pair each example with two random int64 from a seeded stream, then shift it."""
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
    pairs = tf.data.Dataset.zip(source, seeds.batch(2))
    return pairs.map(random_shift_tf, num_parallel_calls=num_parallel_calls)


digit = 0  # the first training image, eight times
one_digit_tf = tf.data.Dataset.from_tensors((x_u8[digit], y_np[digit])).repeat(8)
views_tf = augmented_tf(one_digit_tf, seed).batch(8)
views_tf_epoch1 = next(iter(views_tf))[0].numpy()[..., 0]
views_tf_epoch2 = next(iter(views_tf))[0].numpy()[..., 0]


# %% tags=["pytorch"]
def random_shift_pt(image, index):
    """Shift by an offset drawn from this process's torch generator."""
    return shift_pt(image, torch.randint(-PAD, PAD + 1, (2,)))


one_digit_pt = DigitsDataset(
    x_u8[[digit] * 8], y_np[[digit] * 8], augment=random_shift_pt
)
views_pt = torch.utils.data.DataLoader(one_digit_pt, batch_size=8)
torch.manual_seed(seed)
views_pt_epoch1 = next(iter(views_pt))[0].numpy()[:, 0]
views_pt_epoch2 = next(iter(views_pt))[0].numpy()[:, 0]

# %%
fig, axes = plt.subplots(2, 9, figsize=(9, 2.4), gridspec_kw={"wspace": 0.08})
rows = (("TensorFlow", views_tf_epoch1), ("PyTorch", views_pt_epoch1))
for row, (name, views) in zip(axes, rows):
    for ax, image in zip(row, [x_u8[digit] / 255.0, *views]):
        ax.imshow(image, cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        ax.spines[:].set_visible(True)  # the 28 x 28 frame, to see each shift
        ax.spines[:].set_color("#bbbbbb")
    row[0].spines[:].set_color("black")  # the original
    row[0].set_ylabel(name, fontsize=9)
axes[0, 0].set_title("original", fontsize=9)
axes[0, 1].set_title("eight random shifts of it (first epoch)", fontsize=9, loc="left")
fig.subplots_adjust(left=0.04, right=0.99, top=0.88, bottom=0.03)

# %% [markdown]
# What must hold, whatever the random numbers: every view is the original moved by at most two pixels; the views
# differ from each other and from one epoch to the next; and rebuilding a pipeline with the same seed reproduces it.


# %%
def offset_of(view, original):
    """The (down, right) shift that turns original into view; fails if there is none."""
    padded = np.pad(original, PAD)
    for down in range(-PAD, PAD + 1):
        for right in range(-PAD, PAD + 1):
            window = padded[
                PAD - down : PAD - down + 28, PAD - right : PAD - right + 28
            ]
            if np.array_equal(np.rint(view * 255), window):
                return down, right
    raise AssertionError("not a shift of the original")


for views in (views_tf_epoch1, views_tf_epoch2, views_pt_epoch1, views_pt_epoch2):
    offsets = {offset_of(view, x_u8[digit]) for view in views}
    assert len(offsets) > 1, offsets
assert not np.array_equal(views_tf_epoch1, views_tf_epoch2)
assert not np.array_equal(views_pt_epoch1, views_pt_epoch2)
again_tf = next(iter(augmented_tf(one_digit_tf, seed).batch(8)))[0].numpy()[..., 0]
torch.manual_seed(seed)
again_pt = next(iter(views_pt))[0].numpy()[:, 0]
np.testing.assert_array_equal(again_tf, views_tf_epoch1)
np.testing.assert_array_equal(again_pt, views_pt_epoch1)
print("checked: random shifts of at most 2 pixels, new ones every epoch,")
print("and the same seed reproduces them in each framework")

# %% [markdown]
# Reproducible, but not identical across frameworks: as with shuffling, each framework draws from its own generator.
# When both must see exactly the same augmented data, do what the fixed-offset test above did: draw the random numbers
# once, outside both.
#
# ## Stage 5: parallel work, prefetching and the order of results
#
# The two frameworks parallelise in different ways, for a reason. A `tf.data` map function is a TensorFlow graph, so
# the runtime can run it on several threads at once without touching Python; `num_parallel_calls=tf.data.AUTOTUNE`
# lets it choose how many, within the CPU cores. PyTorch's `__getitem__` is Python code, and Python threads take turns
# under the global interpreter lock. So the `DataLoader` starts `num_workers` *processes*, each holding a copy of the
# dataset. Worker $w$ builds whole batches ($w$, $w + k$, $w + 2k$, ... for $k$ workers) and keeps `prefetch_factor`
# of them (default 2) ready; the main process hands them out in order
# ([single- and multi-process data loading](https://pytorch.org/docs/stable/data.html#single-and-multi-process-data-loading)).
#
# How a worker process starts matters in a notebook. On Linux, Python up to 3.13 *forks* the notebook's process, so
# a worker inherits everything defined here, including `DigitsDataset`. With *spawn* (the default on macOS and
# Windows) or *forkserver* (the default on Linux from
# [Python 3.14](https://docs.python.org/3/whatsnew/3.14.html#multiprocessing)), a worker must re-import the dataset's
# class, and a class defined in a notebook cannot be imported. This chapter therefore asks for fork explicitly on
# Linux; elsewhere, move the dataset class into a `.py` module before using workers.

# %%
worker_context = "fork" if sys.platform.startswith("linux") else None
workers = 2  # this book's reference machine has 2 cores; more would only compete

# %% [markdown]
# Where do a worker's random numbers come from? Each time a `DataLoader` is iterated, it draws a `base_seed` from its
# `generator` (or from the global generator) and seeds worker $w$'s torch and Python `random` generators with
# `base_seed + w`. Since PyTorch 1.9 it also seeds each worker's global NumPy generator, from a seed derived from the
# same two numbers ([pull request 56488](https://github.com/pytorch/pytorch/pull/56488), listed in the
# [1.9 release notes](https://github.com/pytorch/pytorch/releases/tag/v1.9.0)); before that, forked workers inherited
# one NumPy state and drew identical "random" numbers. The dataset below reports, for each example, which worker
# produced it and what that worker's random state was.


# %% tags=["pytorch"]
class WhoMadeThis(torch.utils.data.Dataset):
    """For each example: the worker that made it, its torch seed and a NumPy draw."""

    def __len__(self):
        return 8

    def __getitem__(self, index):
        worker = torch.utils.data.get_worker_info()
        return worker.id, torch.initial_seed(), np.random.randint(2**31)


def worker_report(generator_seed):
    loader = torch.utils.data.DataLoader(
        WhoMadeThis(),
        batch_size=2,
        num_workers=workers,
        multiprocessing_context=worker_context,
        generator=torch.Generator().manual_seed(generator_seed),
    )
    return [[tuple(int(v[0]) for v in batch) for batch in loader] for epoch in range(2)]


report = worker_report(seed)
for epoch, batches in enumerate(report):
    base = batches[0][1]
    described = ", ".join(
        f"batch {i}: worker {w}, seed base+{s - base}"
        for i, (w, s, _) in enumerate(batches)
    )
    print(f"epoch {epoch}: {described}")

# %%
for batches in report:
    worker_ids = [w for w, _, _ in batches]
    assert worker_ids == [i % workers for i in range(len(batches))]  # round robin
    seeds_seen = {w: s for w, s, _ in batches}
    assert seeds_seen[1] == seeds_seen[0] + 1  # base_seed + worker id
    assert batches[0][2] != batches[1][2]  # NumPy draws differ between workers
assert report[0][0][1] != report[1][0][1]  # a new base_seed every epoch
assert worker_report(seed) == report  # the same generator seed reproduces it all
print("checked: batches go round robin, worker w is seeded base_seed + w, NumPy draws")
print("differ between workers, and the loader's generator makes it all reproducible")

# %% [markdown]
# So a `DataLoader` with workers is reproducible when it is given a `generator`: the shuffle order and every
# worker's seed come from it. It is not, however, independent of the *number* of workers: with two workers, a given
# example is augmented by whichever worker's generator reaches it. Exercise 2 removes that dependence. A
# `worker_init_fn` runs in each worker after this seeding, and is the place to seed any other library or to give
# each worker its share of an `IterableDataset`
# ([PyTorch notes on reproducibility](https://pytorch.org/docs/stable/notes/randomness.html#dataloader)).
#
# Parallel work raises one more question: in what order do results come back? Both frameworks keep the input order
# by default, and both let you trade it for speed: `deterministic=False` in `tf.data` (or
# `tf.data.Options().deterministic = False` for the whole pipeline), `in_order=False` for a `DataLoader` (added in
# PyTorch 2.6 by [pull request 141833](https://github.com/pytorch/pytorch/pull/141833); the next cell checks for
# it). In the next pair, element (or batch) 0 takes 0.2 s longer than the others; watch where it ends up. The orders
# vary from run to run, so the tests check only that nothing is lost.


# %% tags=["tensorflow", "nbval-ignore-output"]
def slow_first(i):
    if int(i) == 0:
        time.sleep(0.2)
    return i


def slow_map_tf(i):
    return tf.py_function(slow_first, [i], tf.int64)


arrival_tf = {}
for deterministic in (True, False):
    ds = tf.data.Dataset.range(8).map(
        slow_map_tf, num_parallel_calls=4, deterministic=deterministic
    )
    arrival_tf[deterministic] = [int(i) for i in ds]
    print(
        f"deterministic={deterministic!s:<5}: elements arrive as",
        arrival_tf[deterministic],
    )


# %% tags=["pytorch", "nbval-ignore-output"]
class SlowFirst(torch.utils.data.Dataset):
    def __len__(self):
        return 16

    def __getitem__(self, index):
        if index == 0:
            time.sleep(0.2)
        return index


has_in_order = "in_order" in inspect.signature(torch.utils.data.DataLoader).parameters
arrival_pt = {}
for in_order in (True, False) if has_in_order else (True,):
    loader = torch.utils.data.DataLoader(
        SlowFirst(),
        batch_size=2,
        num_workers=workers,
        multiprocessing_context=worker_context,
        **({"in_order": in_order} if has_in_order else {}),
    )
    arrival_pt[in_order] = [int(batch[0]) // 2 for batch in loader]
    print(f"in_order={in_order!s:<5}: batches arrive as {arrival_pt[in_order]}")

# %%
assert arrival_tf[True] == list(range(8)) and sorted(arrival_tf[False]) == list(
    range(8)
)
assert all(sorted(order) == list(range(8)) for order in arrival_pt.values())
assert arrival_pt[True] == list(range(8))
print("checked: the default keeps the input order; the relaxed order loses nothing")

# %% [markdown]
# With order enforced, everything waits for the slow element; relaxed, the fast ones overtake it. That is worth
# having when examples take very different times (decoding images of different sizes, for example) and the order
# does not matter, as in training on shuffled data.
#
# ## Stage 6: caching
#
# `Dataset.cache()` stores every element that passes through it during the first complete epoch and replays them in
# later epochs ([`Dataset.cache`](https://www.tensorflow.org/api_docs/python/tf/data/Dataset#cache)). Where it sits in
# the chain matters: after a random augmentation it freezes the random numbers of the first epoch. PyTorch has no
# cache stage; a dataset can remember what it computed, but with workers it remembers in the workers' copies of the
# dataset, not in yours.

# %% tags=["tensorflow"]
first_512_tf = source_tf.take(512)
pipelines_tf = {
    "augment, then cache": augmented_tf(first_512_tf, seed).cache(),
    "cache, then augment": augmented_tf(first_512_tf.cache(), seed),
}
for name, ds in pipelines_tf.items():
    # read each epoch to the end: a cache is complete only after a full pass
    epoch1, epoch2 = (
        np.concatenate([x for x, _ in ds.as_numpy_iterator()]) for _ in range(2)
    )
    print(f"{name}: epoch 2 repeats epoch 1? {np.array_equal(epoch1, epoch2)}")


# %% tags=["pytorch"]
class RememberingDataset(DigitsDataset):
    """A hand-made cache: keeps every example it has converted."""

    def __init__(self, images, labels):
        super().__init__(images, labels)
        self.memory = {}

    def __getitem__(self, index):
        if index not in self.memory:
            self.memory[index] = super().__getitem__(index)
        return self.memory[index]


remembering_pt = RememberingDataset(x_u8[:512], y_np[:512])
for num_workers in (workers, 0):
    loader = torch.utils.data.DataLoader(
        remembering_pt,
        batch_size=batch_size,
        num_workers=num_workers,
        multiprocessing_context=worker_context if num_workers else None,
    )
    for _ in loader:
        pass
    print(
        f"after an epoch with num_workers={num_workers}:"
        f" {len(remembering_pt.memory)} examples remembered here"
    )

# %% [markdown]
# The epoch with two workers filled two copies of `memory`, one per worker process, and threw both away when the
# workers exited at the end of the epoch; the notebook's copy stayed empty. `persistent_workers=True` keeps the
# workers, and their copies, alive between epochs, at the price of one copy per worker. For data that fits in memory,
# the simplest PyTorch "cache" is to do the deterministic work once, up front, as `tu.preprocess` does in the other
# chapters; the `tf.data` performance guide gives the matching advice: cache after the expensive deterministic steps
# and before the random ones ([Caching](https://www.tensorflow.org/guide/data_performance#caching)).
#
# ## Throughput on this machine
#
# How much do the stages cost, and how much do parallel work and prefetching win back? The measurement below reads
# one epoch of 4,096 training examples through four configurations per framework:
#
# | | `tf.data` | `DataLoader` |
# |---|---|---|
# | **read** | shuffle, convert each example, batch | shuffle, `__getitem__` converts each example |
# | **+ augment** | ... plus the random shift, one example at a time | ... plus the random shift, in the main process |
# | **+ parallel** | the same `map` with `num_parallel_calls=AUTOTUNE` | 2 worker processes (started every epoch) |
# | **+ prefetch** | ... and `.prefetch(AUTOTUNE)` at the end | 2 workers kept alive (`persistent_workers=True`) |
#
# PyTorch has no separate prefetch switch: workers always work `prefetch_factor` batches ahead, and the main process
# alone never does, so the fourth PyTorch configuration removes the other cost that remains, starting the workers.
# `tf.data`, for its part, works ahead *on its own* unless told not to. In TensorFlow 2.21 three graph optimisations
# are on by default
# ([`tf.data.experimental.OptimizationOptions`](https://www.tensorflow.org/api_docs/python/tf/data/experimental/OptimizationOptions)):
# `map_parallelization` runs stateless maps in parallel, `map_and_batch_fusion` replaces a `map` followed by `batch`
# with one fused operation that fills batches on a background thread, and `inject_prefetch` appends a prefetch. The
# "one at a time" configurations switch all three off, to measure what they replace.
#
# Each epoch is timed twice: consuming batches as fast as possible (the pipeline alone), and with a simulated
# training step of 2 ms per batch, a `time.sleep` that leaves the CPU free the way a GPU step does. The `tf.data`
# performance guide uses the same device. Prefetching can only help in the second setting: it overlaps the
# preparation of the next batch with the current step. Each number is the median of five epochs, after one warm-up
# epoch; the configurations take turns, epoch by epoch, so that a busy moment on the machine hits all of them alike.
# The machine's core count sets the ceiling for everything parallel.

# %%
bench_n, step_s, repeats = 4096, 0.002, 5
x_bench, y_bench = x_u8[:bench_n], y_np[:bench_n]


def epoch_time(loader, step_s):
    """Seconds to draw one epoch of batches, with step_s of simulated work per batch;
    and the number of examples seen."""
    seen, start = 0, time.perf_counter()
    for _, y in loader:
        seen += len(y)
        if step_s:
            time.sleep(step_s)
    return time.perf_counter() - start, seen


# %% tags=["tensorflow"]
def one_at_a_time(ds):
    """Switch off the tf.data optimisations that would work ahead in the background."""
    options = tf.data.Options()
    options.experimental_optimization.map_parallelization = False
    options.experimental_optimization.map_and_batch_fusion = False
    options.experimental_optimization.inject_prefetch = False
    return ds.with_options(options)


def pipeline_tf(config):
    ds = tf.data.Dataset.from_tensor_slices((x_bench, y_bench)).shuffle(
        bench_n, seed=seed
    )
    if config == "read":
        return one_at_a_time(
            ds.map(to_float_tf, num_parallel_calls=None).batch(batch_size)
        )
    parallel = None if config == "+ augment" else tf.data.AUTOTUNE
    ds = augmented_tf(ds, seed, num_parallel_calls=parallel).batch(batch_size)
    if config == "+ prefetch":
        ds = ds.prefetch(tf.data.AUTOTUNE)
    return one_at_a_time(ds)


# %% tags=["pytorch"]
def pipeline_pt(config):
    augment = None if config == "read" else random_shift_pt
    parallel = {}
    if config in ("+ parallel", "+ prefetch"):
        parallel = {
            "num_workers": workers,
            "multiprocessing_context": worker_context,
            "persistent_workers": config == "+ prefetch",
        }
    return torch.utils.data.DataLoader(
        DigitsDataset(x_bench, y_bench, augment=augment),
        batch_size=batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(seed),
        **parallel,
    )


# %% [markdown]
# The measurement (its numbers vary from run to run and machine to machine, so the tests only check them for sanity
# in the cell after it). In the figure after the check, each bar is the median epoch and its whisker spans the
# slowest to the fastest of the five:

# %% tags=["nbval-ignore-output"]
configs = ["read", "+ augment", "+ parallel", "+ prefetch"]
builders = {"tensorflow": pipeline_tf, "pytorch": pipeline_pt}
loaders = {
    (fw, config): build(config) for fw, build in builders.items() for config in configs
}
for loader in loaders.values():
    epoch_time(loader, 0.0)  # warm-up: traces graphs, starts persistent workers
times = {(fw, config, step): [] for fw, config in loaders for step in (0.0, step_s)}
examples_seen = {key: [] for key in times}
for _ in range(repeats):  # round robin, so that a busy moment hits every configuration
    for fw, config, step in times:
        elapsed, seen = epoch_time(loaders[fw, config], step)
        times[fw, config, step].append(elapsed)
        examples_seen[fw, config, step].append(seen)
del loaders, loader  # stops the persistent workers
throughput = {key: bench_n / np.median(elapsed) for key, elapsed in times.items()}
print(
    f"{os.cpu_count()} CPU cores; PyTorch intra-op threads {torch.get_num_threads()},"
    f" 1 per worker; tf.data parallel calls set by AUTOTUNE from the free CPU"
)
print(f"{'examples/s':<24}{'pipeline alone':>16}{'with a 2 ms step':>18}")
for framework in builders:
    for config in configs:
        alone, stepped = (throughput[framework, config, s] for s in (0.0, step_s))
        print(f"{framework:<11}{config:<13}{alone:>16,.0f}{stepped:>18,.0f}")

# %%
ceiling = batch_size / step_s  # examples/s if the step were the only cost
for key, rate in throughput.items():
    assert np.isfinite(rate) and rate > 0, (key, rate)
    assert all(n == bench_n for n in examples_seen[key]), (key, examples_seen[key])
    if key[2]:
        assert rate < ceiling * 1.05, (key, rate)  # a 2 ms step bounds the rate
print(f"checked: {len(throughput)} measurements, each over {repeats} full epochs of")
print(f"{bench_n:,} examples; none beats the {ceiling:,.0f} examples/s the step allows")

# %%
fig, axes = plt.subplots(1, 2, figsize=(9, 4), sharey=True)
positions = np.arange(len(configs))
names = {"tensorflow": "TensorFlow (tf.data)", "pytorch": "PyTorch (DataLoader)"}
tick_labels = [
    "read",
    "+ augment",
    "+ parallel\nmap / 2 workers",
    "+ prefetch\n/ kept alive",
]
for ax, step, title in zip(
    axes, (0.0, step_s), ("Pipeline alone", "With a simulated 2 ms training step")
):
    for offset, framework in ((-0.2, "tensorflow"), (0.2, "pytorch")):
        keys = [(framework, config, step) for config in configs]
        rates = np.array([throughput[key] for key in keys]) / 1000
        fastest = np.array([bench_n / min(times[key]) for key in keys]) / 1000
        slowest = np.array([bench_n / max(times[key]) for key in keys]) / 1000
        ax.bar(
            positions + offset,
            rates,
            width=0.4,
            color=colors[framework],
            label=names[framework],
            yerr=(
                rates - slowest,
                fastest - rates,
            ),  # whiskers: slowest to fastest epoch
            error_kw={"elinewidth": 0.8, "capsize": 2},
        )
    if step:
        ax.axhline(ceiling / 1000, color="gray", ls=":", label="limit set by the step")
    ax.set_xticks(positions, tick_labels, fontsize=8)
    ax.set_title(title)
axes[0].set_ylabel("thousand examples per second")
fig.legend(*axes[1].get_legend_handles_labels(), loc="lower center", ncol=3, fontsize=8)
fig.tight_layout(rect=(0, 0.08, 1, 1))

# %% tags=["nbval-ignore-output"]
for framework, short in (("tensorflow", "tf"), ("pytorch", "pt")):
    for config, name in zip(configs, ("read", "augment", "parallel", "prefetch")):
        for step, suffix in ((0.0, "alone"), (step_s, "step")):
            value = throughput[framework, config, step]
            tu.glue(f"ch05_data_{short}_{name}_{suffix}", round(float(value)))
tu.glue("ch05_data_ceiling", round(ceiling))
tu.glue("ch05_data_cores", str(os.cpu_count()))

# %% [markdown]
# How to read the numbers of this run ({glue:text}`ch05_data_cores` CPU cores; examples per second, pipeline alone
# unless stated):
#
# - **Per-example calls.** `tf.data`: read {glue:text}`ch05_data_tf_read_alone:,d`, with the augmentation
#   {glue:text}`ch05_data_tf_augment_alone:,d`; `DataLoader`: read {glue:text}`ch05_data_pt_read_alone:,d`, with
#   the augmentation {glue:text}`ch05_data_pt_augment_alone:,d`. Every `tf.data` configuration already calls a graph
#   function once per example (even "read" converts each image on its own), so the shift adds only its arithmetic
#   and a zipped random stream. In the `DataLoader`, the shift adds several PyTorch calls per example to
#   `__getitem__`, and each Python call has a fixed cost of its own, larger than the arithmetic it does on a
#   28 × 28 image.
# - **Parallel work.** `tf.data`'s parallel map: {glue:text}`ch05_data_tf_parallel_alone:,d`. Two `DataLoader`
#   workers started every epoch: {glue:text}`ch05_data_pt_parallel_alone:,d`; kept alive:
#   {glue:text}`ch05_data_pt_prefetch_alone:,d`. Starting a worker forks the whole notebook process, a cost a
#   4,096-example epoch barely amortises (a 60,000-image epoch would). On two cores, shared with the main process
#   that consumes the batches, parallel work can at best double the throughput of the one-at-a-time pipeline, and
#   usually does less.
# - **Overlap with a training step.** The 2 ms step alone would allow {glue:text}`ch05_data_ceiling:,d`
#   examples/s. `tf.data`: one at a time {glue:text}`ch05_data_tf_augment_step:,d`, parallel map
#   {glue:text}`ch05_data_tf_parallel_step:,d`, plus prefetch {glue:text}`ch05_data_tf_prefetch_step:,d`.
#   `DataLoader`: main process {glue:text}`ch05_data_pt_augment_step:,d`, workers
#   {glue:text}`ch05_data_pt_parallel_step:,d` and, kept alive, {glue:text}`ch05_data_pt_prefetch_step:,d`. A
#   pipeline that runs one step ahead hides its cost behind the step; one that runs only when asked adds its cost
#   to every step.
#
# Timings on a busy machine vary by tens of percent from run to run: rerun the measurement to see the spread, and
# trust only differences larger than that. On a GPU machine the same cells answer the question that matters there,
# whether the pipeline keeps up with a much faster step; there, one more stage joins the pipeline, the copy to the
# GPU, which `DataLoader(pin_memory=True)` speeds up by staging batches in page-locked memory and
# [`tf.data.experimental.prefetch_to_device`](https://www.tensorflow.org/api_docs/python/tf/data/experimental/prefetch_to_device)
# overlaps with computation. Exercise 3 removes most of the per-example cost in both frameworks by converting whole
# batches at once.
#
# ## Keras 3: one model, either backend, either pipeline
#
# Keras 3 runs the same model code on TensorFlow, PyTorch or JAX, chosen by `KERAS_BACKEND` before Keras is first
# imported; the backend cannot change afterwards
# ([Keras: configuring your backend](https://keras.io/getting_started/#configuring-your-backend)). Its `fit`,
# `evaluate` and `predict` accept `tf.data.Dataset` objects and PyTorch `DataLoader`s "regardless of the backend
# you're using. You can train a Keras 3 + TensorFlow model on a PyTorch `DataLoader` or train a Keras 3 + PyTorch
# model on a `tf.data.Dataset`" ([Introducing Keras 3.0](https://keras.io/keras_3/)). This section does exactly that,
# crosswise, and checks that the two runs agree.
#
# The backend is fixed per process, so each run happens in a fresh Python process started by `tu.run_isolated`, one
# with `KERAS_BACKEND=tensorflow` and one with `KERAS_BACKEND=torch`, side by side (one CPU thread each, so that they
# do not fight over the cores). Everything that could make them differ is pinned down: the model is built from the
# same source text (`inspect.getsource` of the function below), loads the same initial weights from a `.weights.h5`
# file written here, and trains on the same 2,048 examples in the same order (no shuffling). Keras 3 has a third
# training backend, JAX (and OpenVINO for inference only); JAX is not installed in this book's environment, so it is
# not run here.


# %%
def build_model():
    """A small convolutional network; Keras uses channels last on every backend."""
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Conv2D(8, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(10),
        ]
    )


MODEL_SOURCE = inspect.getsource(build_model)  # the child processes run this same text
x_bridge = (x_u8[:2048].astype(np.float32) / 255.0)[..., np.newaxis]  # NHWC
x_bridge_test = (x_test_u8[:1000].astype(np.float32) / 255.0)[..., np.newaxis]
keras.utils.set_random_seed(seed)
model_here = build_model()
initial_weights = model_here.get_weights()
logits_here = model_here(x_bridge_test[:256]).numpy()
f"{model_here.count_params():,} parameters"

# %% [markdown]
# The child's script reads the weights and the data from files this notebook writes into a temporary folder. On the
# TensorFlow backend it trains from a PyTorch `DataLoader`; on the PyTorch backend, from a `tf.data.Dataset`. Both
# pipelines yield NHWC batches, because Keras keeps channels last on every backend.

# %%
bridge_script = (
    MODEL_SOURCE
    + """
import os
import numpy as np
import tutorial_utils as tu
import torch
import keras
import tensorflow as tf

# the two children share the CPU cores: one thread each, set before any op runs
torch.set_num_threads(1)
tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)
tu.seed_everything(0)
folder = os.environ["BRIDGE_DIR"]
arrays = np.load(os.path.join(folder, "data.npz"))
x_train, y_train = arrays["x_train"], arrays["y_train"]
x_test, y_test = arrays["x_test"], arrays["y_test"]

model = build_model()
model.load_weights(os.path.join(folder, "initial.weights.h5"))
logits = model(x_test[:256])  # a tensor of the backend's own framework
initial = keras.ops.convert_to_numpy(logits)

if keras.backend.backend() == "tensorflow":  # TensorFlow model, PyTorch pipeline
    pairs = torch.utils.data.TensorDataset(
        torch.from_numpy(x_train), torch.from_numpy(y_train)
    )
    train = torch.utils.data.DataLoader(pairs, batch_size=64, shuffle=False)
else:  # PyTorch model, TensorFlow pipeline
    train = tf.data.Dataset.from_tensor_slices((x_train, y_train)).batch(64)

model.compile(
    optimizer=keras.optimizers.SGD(learning_rate=0.05, momentum=0.9),
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
history = model.fit(train, epochs=2, shuffle=False, verbose=0)
_, test_acc = model.evaluate(x_test, y_test, batch_size=500, verbose=0)
emit_result({
    "backend": keras.backend.backend(),
    "image_data_format": keras.config.image_data_format(),
    "pipeline": f"{type(train).__module__}.{type(train).__name__}",
    "layer_output": f"{type(logits).__module__}.{type(logits).__name__}",
    "initial_logits": initial.tolist(),
    "final_logits": keras.ops.convert_to_numpy(model(x_test[:256])).tolist(),
    "loss": history.history["loss"],
    "test_acc": test_acc,
})
"""
)

# %%
backends = ("tensorflow", "torch")
with tempfile.TemporaryDirectory(prefix="ch05-keras-bridge-") as bridge_dir:
    model_here.save_weights(os.path.join(bridge_dir, "initial.weights.h5"))
    np.savez(
        os.path.join(bridge_dir, "data.npz"),
        x_train=x_bridge,
        y_train=y_np[:2048],
        x_test=x_bridge_test,
        y_test=y_test_np[:1000],
    )
    with ThreadPoolExecutor(max_workers=2) as pool:  # the two children run at once
        futures = {
            backend: pool.submit(
                tu.run_isolated,
                bridge_script,
                env={"KERAS_BACKEND": backend, "BRIDGE_DIR": bridge_dir},
            )
            for backend in backends
        }
        bridge = {backend: future.result() for backend, future in futures.items()}

# %% [markdown]
# The training logs, which vary slightly between machines:

# %% tags=["nbval-ignore-output"]
for backend, result in bridge.items():
    losses = ", ".join(f"{loss:.5f}" for loss in result["loss"])
    print(
        f"KERAS_BACKEND={backend:<11} loss per epoch: {losses};"
        f" test accuracy {result['test_acc']:.1%}"
    )
rel_loss = max(
    abs(a / b - 1)
    for a, b in zip(bridge["tensorflow"]["loss"], bridge["torch"]["loss"])
)
tu.glue("ch05_data_bridge_loss_diff", f"{rel_loss:.0e}")
tu.glue("ch05_data_bridge_acc", f"{bridge['torch']['test_acc']:.1%}")

# %% [markdown]
# What must hold. Each backend's layers return its own framework's tensors; both children started from exactly the
# weights this notebook wrote (their first logits equal this notebook's); and after two epochs, fed by different
# frameworks' pipelines, the two runs agree on every epoch's loss, on the test accuracy and on the final logits. On a
# CPU both backends run float32 arithmetic to within rounding; on a GPU, TensorFloat-32 and different convolution
# algorithms round differently, so the tolerances widen there.

# %%
on_gpu = device_pt.type != "cpu"
tolerance = {
    "logits": 1e-2 if on_gpu else 1e-5,
    "loss": 1e-2 if on_gpu else 1e-4,
    "final": 5e-2 if on_gpu else 1e-3,
}
for backend, result in bridge.items():
    assert result["backend"] == backend
    assert result["image_data_format"] == "channels_last"
    print(
        f"KERAS_BACKEND={backend:<11} layers return {result['layer_output']},"
        f" fed by {result['pipeline'].split('.')[-1].lstrip('_')}"
    )
    np.testing.assert_allclose(
        result["initial_logits"], logits_here, rtol=tolerance["logits"], atol=1e-5
    )
on_tf, on_torch = bridge["tensorflow"], bridge["torch"]
np.testing.assert_allclose(on_tf["loss"], on_torch["loss"], rtol=tolerance["loss"])
np.testing.assert_allclose(
    on_tf["final_logits"], on_torch["final_logits"], atol=tolerance["final"]
)
assert abs(on_tf["test_acc"] - on_torch["test_acc"]) <= 0.005 + 0.015 * on_gpu
assert min(on_tf["test_acc"], on_torch["test_acc"]) > 0.8
print("checked: same initial logits, same losses, same final logits on both backends")

# %% [markdown]
# The epoch losses of the two runs differed by at most {glue:text}`ch05_data_bridge_loss_diff` (relative), and both
# reached {glue:text}`ch05_data_bridge_acc` on the 1,000 test images. Keras therefore works as a bridge in two
# directions at once: one model definition runs on either framework, and either framework's input pipeline feeds it.
# Two cautions from this book: "the same Keras code" can still behave differently across backends where Keras
# repairs a mistake on one and not the other (section {ref}`sec-keras-backends` in {ref}`ch-code-examples`), and
# anything written with `tf.*` or `torch.*` calls inside a model ties it to one backend; `keras.ops` is the portable
# vocabulary.
#
# ## Summary
#
# - `tf.data` describes a stream that TensorFlow's runtime executes on its own threads; a PyTorch `Dataset` answers
#   one index at a time in Python, and the `DataLoader` parallelises it with processes. Unshuffled and with the same
#   conversion, the two produced identical batches, shifted images included.
# - `Dataset.shuffle(b)` mixes within a window of `b` elements: on label-sorted data a buffer of 64 gave batches of
#   about {glue:text}`ch05_data_mix_64` digits. `RandomSampler` permutes everything. Use a buffer as large as the
#   data, or shuffle the file list (or the data) before streaming it.
# - Random augmentation is reproducible in `tf.data` with stateless ops and seeds that travel with the data, and in
#   PyTorch with a seeded `generator`, which also seeds each worker (`base_seed + worker id`, NumPy included).
#   The same seed gives the two frameworks different numbers.
# - For a light augmentation, the fixed cost of one function call per example outweighs the arithmetic; converting
#   whole batches (exercise 3) is the cheapest gain. Parallel map and worker processes can at most multiply
#   throughput by the free cores (two, here), and only work done ahead of the consumer, by prefetching or by
#   workers, hides the pipeline behind a training step.
# - `cache()` after a random stage freezes it; a PyTorch dataset's own cache lives in each worker.
# - Keras 3 trained one model on both backends, each fed by the other framework's pipeline, to the same losses.
#
# ## Exercises
#
# 1. **Buffer size.** For the label-sorted data, find the smallest power-of-two buffer for which batches of 64 hold
#    at least 9 distinct labels on average. How does it compare with the number of examples per class?
# 2. **Augmentation independent of the workers.** Make the PyTorch random shift a function of the example's index and
#    the epoch alone (hint: a `torch.Generator` seeded from both), and check that a `DataLoader` with 0 and with 2
#    workers then yields identical batches.
# 3. **Convert whole batches.** In `tf.data`, batch first and convert the whole batch in one `map`; in PyTorch,
#    convert in a `collate_fn`. Check that both give the same batches as before, and time them against the
#    per-example versions.
# 4. **Keras on a `DataLoader`, here.** In this notebook (TensorFlow backend), train `build_model()` for one epoch from
#    the initial weights, once on a `tf.data` pipeline and once on a PyTorch `DataLoader` over the same unshuffled
#    NHWC arrays. Check that the final weights agree.

# %% tags=["hide-cell"]
# Solution 1: the mean number of distinct labels grows with the buffer; search upwards.
for exponent in range(6, 20):
    buffer_size = 2**exponent
    if classes_per_batch(shuffled_order_tf(buffer_size)) >= 9:
        break
assert classes_per_batch(shuffled_order_tf(buffer_size)) >= 9
assert classes_per_batch(shuffled_order_tf(buffer_size // 2)) < 9
per_class = num_examples / 10
print(f"smallest buffer with >= 9 labels per batch: {buffer_size:,}")
print(f"examples per class: about {per_class:,.0f} ({buffer_size / per_class:.1f}x)")
# The buffer must span several classes' worth of examples: the window has to reach
# across most of the classes at once. With full MNIST it grows with the data.


# %% tags=["hide-cell"]
# Solution 2: seed a private generator from (seed, epoch, index). The offset then
# depends only on the example and the epoch, not on which worker reads it.
class IndexSeededShift:
    def __init__(self, seed):
        self.seed, self.epoch = seed, 0

    def __call__(self, image, index):
        generator = torch.Generator().manual_seed(
            (self.seed * 1_000_003 + self.epoch) * 10_000_019 + index
        )
        offset = torch.randint(-PAD, PAD + 1, (2,), generator=generator)
        return shift_pt(image, offset)


def epoch_batches(num_workers, epoch):
    shift = IndexSeededShift(seed)
    shift.epoch = epoch  # set before the workers start: each gets a copy
    loader = torch.utils.data.DataLoader(
        DigitsDataset(x_u8[:512], y_np[:512], augment=shift),
        batch_size=batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(seed),
        num_workers=num_workers,
        multiprocessing_context=worker_context if num_workers else None,
    )
    return torch.cat([x for x, _ in loader]).numpy()


main_process, two_workers = epoch_batches(0, epoch=0), epoch_batches(workers, epoch=0)
np.testing.assert_array_equal(main_process, two_workers)
assert not np.array_equal(main_process, epoch_batches(0, epoch=1))
print("identical batches with 0 and 2 workers; a new epoch gives new shifts")

# %% tags=["hide-cell", "nbval-ignore-output"]
# Solution 3: one conversion per batch instead of one per example. The timings vary,
# so this cell's output is not compared; the equality checks still fail loudly.
whole_tf = (
    tf.data.Dataset.from_tensor_slices((x_test_u8, y_test_np))
    .batch(batch_size)
    .map(
        lambda images, labels: (tf.cast(images, tf.float32)[..., None] / 255.0, labels)
    )
)


def collate_then_convert(indices):
    """A batch of indices -> one NumPy gather and one conversion for the whole batch."""
    rows = np.asarray(indices)
    images = torch.from_numpy(x_test_u8[rows])
    return images.unsqueeze(1).float() / 255.0, torch.from_numpy(y_test_np[rows])


whole_pt = torch.utils.data.DataLoader(
    range(len(x_test_u8)), batch_size=batch_size, collate_fn=collate_then_convert
)
for (a_tf, _), (b_tf, _), (a_pt, _), (b_pt, _) in zip(
    batched_tf, whole_tf, batched_pt, whole_pt, strict=True
):
    np.testing.assert_array_equal(a_tf.numpy(), b_tf.numpy())
    np.testing.assert_array_equal(a_pt.numpy(), b_pt.numpy())
for name, per_example, per_batch in (
    ("tf.data", batched_tf, whole_tf),
    ("DataLoader", batched_pt, whole_pt),
):
    t_example = np.median([epoch_time(per_example, 0.0)[0] for _ in range(3)])
    t_batch = np.median([epoch_time(per_batch, 0.0)[0] for _ in range(3)])
    print(
        f"{name}: per example {t_example * 1e3:.1f} ms,"
        f" per batch {t_batch * 1e3:.1f} ms"
    )

# %% tags=["hide-cell"]
# Solution 4: Keras (TensorFlow backend) reads a DataLoader as readily as a tf.data
# pipeline; from the same weights and the same batches, the results match.
train_x, train_y = x_bridge[:1024], y_np[:1024]
feeds = {
    "tf.data": tf.data.Dataset.from_tensor_slices((train_x, train_y)).batch(64),
    "DataLoader": torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(
            torch.from_numpy(train_x), torch.from_numpy(train_y)
        ),
        batch_size=64,
    ),
}
trained = {}
for name, feed in feeds.items():
    model = build_model()
    model.set_weights(initial_weights)
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.05, momentum=0.9),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    history = model.fit(feed, epochs=1, shuffle=False, verbose=0)
    trained[name] = model.get_weights()
for w_tf, w_pt in zip(trained["tf.data"], trained["DataLoader"], strict=True):
    np.testing.assert_allclose(w_tf, w_pt, rtol=1e-3 if on_gpu else 1e-5, atol=1e-6)
print("one epoch from a DataLoader and from tf.data gives the same weights")
