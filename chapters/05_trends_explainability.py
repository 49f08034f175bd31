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
# (ch-trends-explainability)=
# # Explaining a prediction: saliency maps and integrated gradients
#
# Section 5 of the article (未来发展趋势与挑战, "future trends and challenges") says, as its second trend, that deep
# learning models used in real applications will need "better explainability and interpretability". It stops there:
# no method, no code. This chapter fills the gap with the two gradient-based attribution methods most often met in
# practice, **saliency maps** and **integrated gradients**, computed for one MNIST classifier with TensorFlow's
# `tf.GradientTape` and with PyTorch's `torch.autograd`. The two frameworks get the same trained weights, so their
# attributions must agree, and a check cell proves that they do; another checks the property that makes
# integrated gradients trustworthy, *completeness*.
#
# :::{admonition} Learning goals
# :class: tip
# - move a trained convolutional network from Keras to PyTorch, handling the two image layouts (NHWC and NCHW), the
#   two kernel layouts and the two orders in which `Flatten` lists features;
# - compute the gradient of a class score with respect to the input pixels with `tf.GradientTape` and with
#   `torch.autograd.grad`, and know why the TensorFlow version needs `tape.watch`;
# - implement integrated gradients from its definition, check its completeness axiom, and choose the number of steps;
# - read saliency and integrated-gradient maps, and know what a black baseline can and cannot show.
# :::
#
# **Prerequisites:** {ref}`ch-code-examples` (the same data and training loop) and {ref}`ch-graphs-autodiff`
# (what `GradientTape` and `autograd` record). **Runs in:** under a minute on a 2-core laptop CPU with the bundled
# sample.

# %% [markdown]
# ## Setup
#
# As in every chapter: `tutorial_utils` first, PyTorch before TensorFlow, then the environment report, which the test
# suite does not compare because it differs from machine to machine.

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
# TensorFlow-PyTorch agreement tolerance: looser on a GPU (see the first check)
on_cpu = device_pt.type == "cpu" and device_tf == "/CPU:0"
tol = 1e-4 if on_cpu else 2e-2

# %% [markdown]
# ## A small convolutional network, in both frameworks
#
# Attribution methods explain a *trained* model, so we train one, in Keras, and then give PyTorch an exact copy. The
# images stay 28 × 28 with one channel. Keras expects them as `(batch, height, width, channels)` (NHWC, its default
# `channels_last` layout); PyTorch's convolutions expect `(batch, channels, height, width)` (NCHW). One NumPy array in
# NHWC order is the source; `to_nchw` makes PyTorch's view of it.

# %%
data = tu.load_mnist()
x_train = tu.preprocess(data.x_train).reshape(-1, 28, 28, 1)
x_test = tu.preprocess(data.x_test).reshape(-1, 28, 28, 1)
y_train, y_test = data.y_train.astype(np.int64), data.y_test.astype(np.int64)


def to_nchw(images):
    """NHWC (Keras) -> NCHW (PyTorch), as a contiguous float32 array."""
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2))


print(f"Keras sees {x_test.shape}, PyTorch sees {to_nchw(x_test).shape}")
print("Keras image layout:", keras.config.image_data_format())

# %% [markdown]
# The network: two convolutions with stride 2 (each halves the resolution, so no pooling layer is needed, the
# "all-convolutional" design of [Springenberg et al., 2014](https://arxiv.org/abs/1412.6806)), ReLU after each, and a
# dense layer that outputs ten logits. Padding is `"valid"` (none) in both frameworks, so the feature maps shrink from
# 28 × 28 to 12 × 12 to 5 × 5 in both. In PyTorch, `flatten(1)` keeps the batch axis and flattens the rest.

# %% tags=["tensorflow"]
model_tf = keras.Sequential(
    [
        keras.Input(shape=(28, 28, 1)),
        keras.layers.Conv2D(16, 5, strides=2, activation="relu"),  # -> 12x12x16
        keras.layers.Conv2D(32, 3, strides=2, activation="relu"),  # -> 5x5x32
        keras.layers.Flatten(),  # 800 features, in (height, width, channel) order
        keras.layers.Dense(10),  # logits
    ],
    name="cnn",
)
model_tf.count_params()


# %% tags=["pytorch"]
class CNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 16, 5, stride=2)  # -> 16x12x12
        self.conv2 = torch.nn.Conv2d(16, 32, 3, stride=2)  # -> 32x5x5
        self.fc = torch.nn.Linear(800, 10)  # 800 features, (channel, h, w) order

    def forward(self, x):
        x = torch.relu(self.conv1(x))
        x = torch.relu(self.conv2(x))
        return self.fc(x.flatten(1))  # logits


model_pt = CNN().to(device_pt).eval()
sum(p.numel() for p in model_pt.parameters())

# %% [markdown]
# Same parameter count, different storage. Three layouts differ:
#
# - **convolution kernels:** Keras stores `(height, width, in, out)`, PyTorch `(out, in, height, width)`
#   ([Keras `Conv2D`](https://keras.io/api/layers/convolution_layers/convolution2d/),
#   [PyTorch `Conv2d`](https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html));
# - **dense kernels:** Keras `(in, out)`, PyTorch `(out, in)`, as in {ref}`ch-code-examples`;
# - **the order of the 800 flattened features:** Keras flattens a `5 × 5 × 32` map in height, width, channel order;
#   PyTorch flattens `32 × 5 × 5` in channel, height, width order. The dense kernel's 800 rows must be permuted, not
#   just transposed.

# %%
conv1_tf, conv2_tf, dense_tf = [layer for layer in model_tf.layers if layer.weights]
layouts = {
    "Keras conv1 kernel": (conv1_tf.kernel.shape, "(height, width, in, out)"),
    "PyTorch conv1 weight": (model_pt.conv1.weight.shape, "(out, in, height, width)"),
    "Keras dense kernel": (dense_tf.kernel.shape, "(in, out)"),
    "PyTorch fc weight": (model_pt.fc.weight.shape, "(out, in)"),
}
for name, (shape, axes) in layouts.items():
    print(f"{name:<22}{tuple(shape)!s:<16}{axes}")

# %% [markdown]
# ## Trained once, in Keras, then copied
#
# Keras trains the network for four epochs with Adam; PyTorch will receive the result.

# %% tags=["tensorflow", "nbval-ignore-output"]
model_tf.compile(
    optimizer=keras.optimizers.Adam(learning_rate=2e-3),
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
history_tf = model_tf.fit(
    x_train, y_train, batch_size=64, epochs=4, shuffle=True, verbose=2
)

# %% [markdown]
# The training log varies with the machine; what must hold is checked instead: the network classifies the test digits
# well enough for its explanations to be worth reading.

# %%
_, acc_tf = model_tf.evaluate(x_test, y_test, verbose=0)
required = 0.96 if data.source == "full" else 0.92
assert acc_tf >= required, acc_tf
print(f"test accuracy is at least {required:.0%}")

# %% tags=["nbval-ignore-output"]
tu.glue("ch05_xai_acc", f"{acc_tf:.1%}")
print(f"test accuracy: {acc_tf:.2%}")

# %% [markdown]
# On this run Keras's network reaches {glue:text}`ch05_xai_acc` on the test digits. Now the copy, layer by layer. The dense kernel is first reshaped back to `(5, 5, 32, 10)`, so that each row is labelled
# by (height, width, channel), then reordered to `(10, 32, 5, 5)` and flattened again in PyTorch's order.


# %%
def copy_keras_to_torch(model_tf, model_pt):
    """Copy the weights of the Keras CNN into the PyTorch CNN, converting layouts."""
    conv1, conv2, dense = [layer for layer in model_tf.layers if layer.weights]
    with torch.no_grad():
        for keras_conv, torch_conv in (
            (conv1, model_pt.conv1),
            (conv2, model_pt.conv2),
        ):
            kernel, bias = keras_conv.get_weights()
            torch_conv.weight.copy_(torch.from_numpy(kernel.transpose(3, 2, 0, 1)))
            torch_conv.bias.copy_(torch.from_numpy(bias))
        kernel, bias = dense.get_weights()  # (800, 10), rows in (h, w, c) order
        kernel = kernel.reshape(5, 5, 32, 10).transpose(3, 2, 0, 1).reshape(10, 800)
        model_pt.fc.weight.copy_(torch.from_numpy(kernel))
        model_pt.fc.bias.copy_(torch.from_numpy(bias))


def logits_pt(model, images):
    """PyTorch logits for NHWC NumPy images, as NumPy."""
    with torch.no_grad():
        return model(torch.from_numpy(to_nchw(images)).to(device_pt)).cpu().numpy()


copy_keras_to_torch(model_tf, model_pt)
check_logits_tf = model_tf(x_test[:500]).numpy()
check_logits_pt = logits_pt(model_pt, x_test[:500])
np.testing.assert_allclose(check_logits_tf, check_logits_pt, rtol=tol, atol=tol)
print(f"same logits on 500 test digits (tolerance {tol:g})")

# %% [markdown]
# The permutation is not a detail. Transposing the dense kernel without reordering its rows gives a network that runs
# without complaint and computes something else:

# %%
naive_pt = CNN().to(device_pt).eval()
copy_keras_to_torch(model_tf, naive_pt)
with torch.no_grad():
    naive_pt.fc.weight.copy_(torch.from_numpy(dense_tf.get_weights()[0].T))
naive_logits = logits_pt(naive_pt, x_test[:500])
print(
    "transposed only, same logits:",
    np.allclose(check_logits_tf, naive_logits, atol=0.1),
)

# %% [markdown]
# ## Saliency: the gradient of the class score
#
# The oldest gradient-based explanation, the *image-specific class saliency map* of
# [Simonyan, Vedaldi and Zisserman (2013)](https://arxiv.org/abs/1312.6034), asks: which pixels would change the score
# of class $c$ most if they changed a little? The answer is the gradient of the score $S_c(x)$ with respect to the
# input image $x$, one number per pixel; the map shows its magnitude $|\partial S_c / \partial x|$. The score is the
# class's *logit*, not its softmax probability: the paper uses the unnormalised score because a probability can also
# rise by lowering the other classes' scores.
#
# Both functions below take a batch of NHWC images and one target class per image, and return the gradient of each
# image's target logit with respect to its pixels, as a NumPy array of shape `(batch, 28, 28)`. Summing the batch's
# scores before differentiating is safe: each image's score depends only on its own pixels, so the gradient of the
# sum with respect to one image is the gradient of that image's own score.
#
# - **TensorFlow:** `tf.GradientTape` records the operations run inside its block. It watches trainable variables by
#   itself; an input tensor is a constant, so it must be watched explicitly with `tape.watch`
#   ([`tf.GradientTape`](https://www.tensorflow.org/api_docs/python/tf/GradientTape)).
# - **PyTorch:** the input tensor is marked with `requires_grad_(True)`. `torch.autograd.grad` *returns* the gradient
#   of the score with respect to the input only; `score.backward()` would also accumulate gradients into every
#   parameter's `.grad`, which an explanation does not need
#   ([`torch.autograd.grad`](https://pytorch.org/docs/stable/generated/torch.autograd.grad.html)).


# %% tags=["tensorflow"]
def gradient_tf(model, images, targets):
    """d logit[target] / d pixels for a batch of NHWC images: shape (batch, 28, 28)."""
    x = tf.convert_to_tensor(images)
    with tf.GradientTape() as tape:
        tape.watch(x)  # x is not a Variable: ask the tape to record operations on it
        scores = tf.gather(model(x), targets, axis=1, batch_dims=1)
    return tape.gradient(scores, x).numpy()[..., 0]


# %% tags=["pytorch"]
def gradient_pt(model, images, targets):
    """d logit[target] / d pixels for a batch of NHWC images: shape (batch, 28, 28)."""
    x = torch.from_numpy(to_nchw(images)).to(device_pt).requires_grad_(True)
    index = torch.from_numpy(np.asarray(targets)).to(device_pt)[:, None]
    scores = model(x).gather(1, index).sum()
    # autograd.grad returns the gradient and leaves the parameters' .grad alone
    (grad,) = torch.autograd.grad(scores, x)
    return grad[:, 0].cpu().numpy()


# %% [markdown]
# We explain the first test image of each digit, always for its true class, so that both frameworks explain the same
# score even where their predictions might differ.

# %%
shown = np.array([np.flatnonzero(y_test == digit)[0] for digit in range(10)])
x_np, target_np = x_test[shown], y_test[shown]
print("test images:", shown.tolist())
print("targets:    ", target_np.tolist())

# %% tags=["tensorflow"]
grad_tf = gradient_tf(model_tf, x_np, target_np)
saliency_tf = np.abs(grad_tf)
saliency_tf.shape

# %% tags=["pytorch"]
grad_pt = gradient_pt(model_pt, x_np, target_np)
saliency_pt = np.abs(grad_pt)
saliency_pt.shape

# %% [markdown]
# The two frameworks differentiate the same function through their own machinery, so the gradients must agree to
# float32 precision. The tolerance `tol`, set in the setup cell, is relative to the largest gradient: $10^{-4}$ on a
# CPU, looser on a GPU, because on NVIDIA GPUs since Ampere TensorFlow runs float32 convolutions in TensorFloat-32 by
# default ([`enable_tensor_float_32_execution`](https://www.tensorflow.org/api_docs/python/tf/config/experimental/enable_tensor_float_32_execution)),
# and so does PyTorch for cuDNN convolutions ([CUDA semantics, "TensorFloat-32 (TF32) on Ampere (and later)
# devices"](https://pytorch.org/docs/stable/notes/cuda.html)), keeping only 10 bits of each input's mantissa.

# %%
scale = np.abs(grad_tf).max()
np.testing.assert_allclose(grad_tf, grad_pt, rtol=0, atol=tol * scale)
print(f"TensorFlow and PyTorch gradients agree within {tol:g} of the largest value")

# %% [markdown]
# Forgetting `tape.watch` or `requires_grad_` does not fail in the same way. TensorFlow quietly returns `None`;
# PyTorch raises an error, because the input is not part of any recorded graph:

# %% tags=["tensorflow"]
x_const = tf.convert_to_tensor(x_np)
with tf.GradientTape() as tape:
    scores = tf.gather(model_tf(x_const), target_np, axis=1, batch_dims=1)
print("gradient without tape.watch:", tape.gradient(scores, x_const))

# %% tags=["pytorch"]
x_plain = torch.from_numpy(to_nchw(x_np)).to(device_pt)
scores = model_pt(x_plain).gather(1, torch.from_numpy(target_np)[:, None].to(device_pt))
try:
    torch.autograd.grad(scores.sum(), x_plain)
except RuntimeError as error:
    print("gradient without requires_grad_:", type(error).__name__)

# %% [markdown]
# ## Why a gradient is not enough
#
# A gradient describes the model *at* the input, not on the way there. Where the score has saturated, a feature that
# matters a great deal can have a zero gradient. The smallest example, from
# [Sundararajan, Taly and Yan (2017)](https://arxiv.org/abs/1703.01365), is a single ReLU unit:
#
# $$
# f(x) = 1 - \mathrm{ReLU}(1 - x), \qquad f(0) = 0, \quad f(2) = 1 .
# $$
#
# Moving $x$ from 0 to 2 raises $f$ from 0 to 1, yet $f$ is flat beyond $x = 1$, so its gradient at $x = 2$ is zero:
# a saliency map would say that $x$ does not matter.

# %% tags=["tensorflow"]
x_toy_tf = tf.constant([2.0])
with tf.GradientTape() as tape:
    tape.watch(x_toy_tf)
    f_toy_tf = 1.0 - tf.nn.relu(1.0 - x_toy_tf)
df_toy_tf = tape.gradient(f_toy_tf, x_toy_tf)
print("f(2) =", float(f_toy_tf[0]), " f'(2) =", float(df_toy_tf[0]))

# %% tags=["pytorch"]
x_toy_pt = torch.tensor([2.0], requires_grad=True)
f_toy_pt = 1.0 - torch.relu(1.0 - x_toy_pt)
(df_toy_pt,) = torch.autograd.grad(f_toy_pt.sum(), x_toy_pt)
print("f(2) =", f_toy_pt.item(), " f'(2) =", abs(df_toy_pt.item()))  # abs: not -0.0

# %% [markdown]
# ## Integrated gradients
#
# Integrated gradients (IG) average the gradient along the straight line from a *baseline* $x'$, an input that means
# "nothing here" (for images, usually the black image), to the input $x$, and multiply by how far each pixel moved:
#
# $$
# \mathrm{IG}_i(x) = (x_i - x'_i) \int_0^1 \frac{\partial S_c\big(x' + \alpha\,(x - x')\big)}{\partial x_i}\,d\alpha .
# $$
#
# By the fundamental theorem of calculus for path integrals, the attributions add up to the change in the score,
# which the paper calls **completeness**:
#
# $$
# \sum_i \mathrm{IG}_i(x) = S_c(x) - S_c(x') .
# $$
#
# Every point of the difference between the input's score and the baseline's is assigned to some pixel, and none is
# invented. In the toy example the gradient is 1 on the first half of the path and 0 on the second, so
# $\mathrm{IG} = 2 \cdot \tfrac12 = 1 = f(2) - f(0)$: the saturated feature gets its full credit.
#
# The integral is computed numerically, from the gradients at $m + 1$ equally spaced points
# $\alpha_k = k/m$. The paper uses the right Riemann sum, $\frac1m \sum_{k=1}^{m} g(\alpha_k)$; the trapezoidal rule
# averages each pair of neighbours instead and costs one extra gradient. The gradients at all points of all images go
# through the model as **one batch**, through the `gradient_tf` and `gradient_pt` functions above. Only the gradients
# come from the frameworks; the path and the sum are NumPy, shared by both. As the paper puts it, IG "just needs a
# few calls to the standard gradient operator".


# %%
def path_gradients(gradient_fn, images, targets, baseline, steps):
    """Gradients at the steps + 1 points baseline + k/steps * (images - baseline).

    gradient_fn(images, targets) returns d score / d pixels for a batch of NHWC images.
    Returns an array of shape (steps + 1, batch, 28, 28).
    """
    alphas = np.linspace(0.0, 1.0, steps + 1, dtype=np.float32)
    path = baseline + alphas[:, None, None, None, None] * (images - baseline)
    grads = gradient_fn(path.reshape(-1, 28, 28, 1), np.tile(targets, steps + 1))
    return grads.reshape(steps + 1, len(images), 28, 28)


def riemann_sum(grads, images, baseline, rule="trapezoid"):
    """IG attributions (batch, 28, 28) from the gradients along the path."""
    if rule == "trapezoid":
        mean_grad = (grads[:-1] + grads[1:]).mean(axis=0) / 2
    elif rule == "right":
        mean_grad = grads[1:].mean(axis=0)
    else:
        raise ValueError(f"rule must be 'trapezoid' or 'right', got {rule!r}")
    return (images - baseline)[..., 0] * mean_grad


def integrated_gradients(
    gradient_fn, images, targets, baseline, steps, rule="trapezoid"
):
    """IG attributions (batch, 28, 28) of each image's target score, from `baseline`."""
    grads = path_gradients(gradient_fn, images, targets, baseline, steps)
    return riemann_sum(grads, images, baseline, rule)


black = np.zeros((1, 28, 28, 1), dtype=np.float32)
steps = 64

# %% [markdown]
# The toy example first, through the same function: a one-pixel "image" whose pixel is $x$, with a baseline of 0.
# With 1,000 steps the trapezoidal sum is within a thousandth of the exact 1.

# %%
toy_x = np.full((1, 28, 28, 1), 2.0, dtype=np.float32)
toy_mask = np.zeros((28, 28, 1), dtype=np.float32)
toy_mask[0, 0] = 1.0  # the toy function reads pixel (0, 0) only


# %% tags=["tensorflow"]
def toy_gradient_tf(images, targets):
    x = tf.convert_to_tensor(images)
    with tf.GradientTape() as tape:
        tape.watch(x)
        f = 1.0 - tf.nn.relu(1.0 - tf.reduce_sum(x * toy_mask, axis=(1, 2, 3)))
    return tape.gradient(f, x).numpy()[..., 0]


toy_ig_tf = integrated_gradients(toy_gradient_tf, toy_x, np.zeros(1, int), black, 1000)
print(f"IG of x: {toy_ig_tf[0, 0, 0]:.3f}; sum over all pixels: {toy_ig_tf.sum():.3f}")


# %% tags=["pytorch"]
def toy_gradient_pt(images, targets):
    x = torch.from_numpy(images).requires_grad_(True)
    mask = torch.from_numpy(toy_mask)
    f = 1.0 - torch.relu(1.0 - (x * mask).sum(dim=(1, 2, 3)))
    (grad,) = torch.autograd.grad(f.sum(), x)
    return grad.numpy()[..., 0]


toy_ig_pt = integrated_gradients(toy_gradient_pt, toy_x, np.zeros(1, int), black, 1000)
print(f"IG of x: {toy_ig_pt[0, 0, 0]:.3f}; sum over all pixels: {toy_ig_pt.sum():.3f}")

# %% [markdown]
# Now the digits, with 64 steps from the black image. `functools.partial` fixes the model argument, so that each
# framework's gradient function has the `(images, targets)` signature that `integrated_gradients` expects.

# %% tags=["tensorflow"]
from functools import partial

ig_tf = integrated_gradients(
    partial(gradient_tf, model_tf), x_np, target_np, black, steps
)
ig_tf.shape

# %% tags=["pytorch"]
ig_pt = integrated_gradients(
    partial(gradient_pt, model_pt), x_np, target_np, black, steps
)
ig_pt.shape

# %% [markdown]
# Two checks. The frameworks agree, as they did for the gradients. And completeness holds: for each image, the sum of
# its attributions is compared with $S_c(x) - S_c(\text{black})$, computed by each framework's own forward pass. The
# relative error must stay under 5 %, the accuracy at which the IG paper considers the integral well approximated
# (it reports that "between 20 and 300 steps" achieve it).


# %%
def score_gap(logits_fn, images, targets):
    """S_c(x) - S_c(black) for each image, from a function returning NumPy logits."""
    rows = np.arange(len(images))
    gap = logits_fn(images)[rows, targets] - logits_fn(black)[0, targets]
    return gap


def completeness_error(attributions, gap):
    """|sum of attributions - score gap| / |score gap|, per image."""
    return np.abs(attributions.sum(axis=(1, 2)) - gap) / np.abs(gap)


gap_tf = score_gap(lambda x: model_tf(x).numpy(), x_np, target_np)
gap_pt = score_gap(partial(logits_pt, model_pt), x_np, target_np)
np.testing.assert_allclose(ig_tf, ig_pt, rtol=0, atol=tol * np.abs(ig_tf).max())
error_tf = completeness_error(ig_tf, gap_tf)
error_pt = completeness_error(ig_pt, gap_pt)
assert error_tf.max() < 0.05 and error_pt.max() < 0.05, (error_tf, error_pt)
print(f"TensorFlow and PyTorch attributions agree within {tol:g} of the largest value")
print(f"with {steps} steps, each image's attributions sum to its score gap within 5 %")

# %% tags=["nbval-ignore-output"]
tu.glue("ch05_xai_complete64", f"{max(error_tf.max(), error_pt.max()):.2%}")
print(f"largest relative completeness error: TensorFlow {error_tf.max():.3%},")
print(f"                                     PyTorch    {error_pt.max():.3%}")

# %% [markdown]
# On this run the worst of the ten images misses completeness by {glue:text}`ch05_xai_complete64` with 64 steps.

# %% [markdown]
# ## How many steps?
#
# The paper recommends checking completeness and adding steps until it holds. The cell below does that for 4 to 256
# steps, with both summation rules and both frameworks, and plots the worst relative error over the ten images. The
# gradients along a path are computed once per step count and shared by the two rules (the trapezoidal rule uses the
# same points as the right Riemann sum plus $\alpha = 0$).

# %%
step_counts = [4, 8, 16, 32, 64, 128, 256]
convergence = {}
for name, gradient_fn, gap in (
    ("tensorflow", partial(gradient_tf, model_tf), gap_tf),
    ("pytorch", partial(gradient_pt, model_pt), gap_pt),
):
    for m in step_counts:
        grads = path_gradients(gradient_fn, x_np, target_np, black, m)
        for rule in ("right", "trapezoid"):
            attributions = riemann_sum(grads, x_np, black, rule)
            error = completeness_error(attributions, gap).max()
            convergence.setdefault((name, rule), []).append(error)

fig, ax = plt.subplots(figsize=(9, 3.5))
for (name, rule), errors in convergence.items():
    ax.loglog(
        step_counts,
        errors,
        "-o" if rule == "trapezoid" else "--s",
        color=tu.FRAMEWORK_COLORS[name],
        ms=4 if name == "tensorflow" else 7,
        mfc="none" if name == "pytorch" else None,
        label=f"{'TensorFlow' if name == 'tensorflow' else 'PyTorch'}, {rule} rule",
    )
ax.axhline(0.05, color="grey", lw=0.8, ls=":")
ax.text(4, 0.055, "5 %", color="grey", fontsize=8)
ax.set(
    xlabel="steps m (gradients per image: m + 1)",
    ylabel="worst |Σ IG − ΔS| / |ΔS|",
    title="Completeness error of integrated gradients over ten test digits",
)
ax.legend(fontsize=8, ncol=2)
fig.tight_layout()

# %% [markdown]
# The two frameworks' curves lie on top of each other (open and filled markers). The error falls as steps are added,
# with either rule; over most of the range the trapezoidal rule is the more accurate for the same number of gradients.
# It does not fall smoothly: a ReLU network's gradient jumps wherever a unit switches on or off along the path, and a
# sum over fixed points catches those jumps unevenly. The check:

# %%
for name in ("tensorflow", "pytorch"):
    for rule in ("right", "trapezoid"):
        errors = convergence[name, rule]
        assert errors[-1] < errors[0], (name, rule, errors)
    assert convergence[name, "trapezoid"][-1] < 0.01, convergence[name, "trapezoid"]
print("more steps, smaller error, in both frameworks;")
print("with 256 steps the trapezoidal rule is complete to within 1 %")

# %% [markdown]
# ## The attributions, side by side
#
# For five digits: the input, the saliency map $|\partial S_c/\partial x|$ from each framework, the integrated
# gradients from each framework (red: the pixel raises the score of the true class; blue: it lowers it), and the
# absolute difference between the two frameworks' integrated gradients, on its own colour scale (the largest difference
# is in its title).

# %%
rows = [0, 2, 4, 7, 9]  # digits shown
titles = ["input", "saliency TF", "saliency PT", "IG TF", "IG PT", "|IG TF − IG PT|"]
fig, axes = plt.subplots(len(rows), 6, figsize=(9, 8.2))
for r, digit in enumerate(rows):
    sal_max = saliency_tf[digit].max()
    ig_max = np.abs(ig_tf[digit]).max()
    difference = np.abs(ig_tf[digit] - ig_pt[digit])
    panels = [
        (x_np[digit, ..., 0], "gray_r", 0, 1),
        (saliency_tf[digit], "magma", 0, sal_max),
        (saliency_pt[digit], "magma", 0, sal_max),
        (ig_tf[digit], "RdBu_r", -ig_max, ig_max),
        (ig_pt[digit], "RdBu_r", -ig_max, ig_max),
        (difference, "Greys", 0, None),
    ]
    for c, (image, cmap, vmin, vmax) in enumerate(panels):
        ax = axes[r, c]
        ax.imshow(image, cmap=cmap, vmin=vmin, vmax=vmax)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        if r == 0:
            ax.set_title(titles[c], fontsize=9)
    axes[r, 0].set_ylabel(f"digit {target_np[digit]}")
    axes[r, 5].set_xlabel(f"max {difference.max():.1e}", fontsize=8)
fig.tight_layout()

# %% [markdown]
# ## Reading the maps
#
# - **The frameworks do not matter.** Columns 2 and 3, and 4 and 5, are the same pictures: the check cells above
#   proved it to float32 precision, and the last column shows what is left: float32 round-off at most, often nothing
#   at all (the largest difference is printed under each panel). An explanation is a property of the trained weights,
#   not of the library that computes it.
# - **Saliency is spread out.** The gradient is large wherever a small change *would* move the score, including blank
#   pixels around the stroke where ink would turn the digit into another one. That is a real property of the model, but
#   it answers "where is the model sensitive?", not "what in this image made the prediction?".
# - **Integrated gradients stay on the ink.** With a black baseline, a pixel that is black in the input has
#   $x_i - x'_i = 0$ and gets exactly zero attribution, whatever the gradient. Red strokes are evidence for the true
#   class, blue strokes evidence against it. The flip side: a black baseline cannot credit the *absence* of ink, such
#   as the open top of a 4 that distinguishes it from a 9. Another baseline asks another question (exercise 3).
#
# The cell below measures the first and third points on all ten images.

# %%
blank = x_np[..., 0] == 0
assert np.all(ig_tf[blank] == 0) and np.all(ig_pt[blank] == 0)
saliency_on_blank = saliency_tf[blank].sum() / saliency_tf.sum()
assert saliency_on_blank > 0.2, saliency_on_blank
print("integrated gradients on blank pixels: exactly 0 in both frameworks")

# %% tags=["nbval-ignore-output"]
tu.glue("ch05_xai_blank", f"{saliency_on_blank:.0%}")
print(f"share of the saliency maps' total on blank pixels: {saliency_on_blank:.1%}")

# %% [markdown]
# On this run {glue:text}`ch05_xai_blank` of the saliency maps' total lies on pixels that are blank in the input.
#
# Attribution maps are evidence to be checked, not ground truth. [Adebayo et al. (2018)](https://arxiv.org/abs/1810.03292)
# showed that some popular methods (Guided Backpropagation and Guided Grad-CAM) produce nearly the same maps for a
# network whose weights have been randomised, so their maps describe the image rather than the model; plain gradients
# passed the same tests. They proposed such randomisation tests as sanity checks. Completeness is another property that
# can be verified on every explanation, as done here.
#
# ## In practice: libraries
#
# Everything above is a few lines per framework, which is the point: nothing here is hidden. For production work,
# [Captum](https://captum.ai/api/integrated_gradients.html) implements integrated gradients (and many other methods)
# for PyTorch, with a `return_convergence_delta=True` option that returns the completeness error computed above; its
# default is 50 steps with Gauss–Legendre quadrature rather than a Riemann sum. For TensorFlow, the
# [integrated gradients tutorial](https://www.tensorflow.org/tutorials/interpretability/integrated_gradients) builds the
# method step by step with `tf.GradientTape`, much as this chapter does.
#
# ## Side by side
#
# | Step | TensorFlow | PyTorch |
# |---|---|---|
# | image layout | NHWC (`channels_last`, Keras's default) | NCHW |
# | convolution kernel | `(height, width, in, out)` | `(out, in, height, width)` |
# | flattening a feature map | height, width, channel order | channel, height, width order |
# | differentiate w.r.t. an input | `with tf.GradientTape() as tape: tape.watch(x)` | `x.requires_grad_(True)` |
# | get the gradient | `tape.gradient(score, x)` returns it | `torch.autograd.grad(score, x)` returns it; `backward()` stores it in `.grad` |
# | input not recorded | `tape.gradient` returns `None` | `RuntimeError` |
# | per-image gradients of a batch | differentiate the sum of the scores | the same |
# | ready-made attributions | written by hand, as in TensorFlow's integrated-gradients tutorial | Captum (`captum.attr`) |
#
# ## Summary
#
# - A saliency map is the gradient of a class logit with respect to the pixels; integrated gradients average that
#   gradient along a path from a baseline and scale it by the input's distance from the baseline.
# - Computed from the same weights, TensorFlow's `GradientTape` and PyTorch's `autograd` give the same attributions to
#   float32 precision; copying a CNN between them needs three layout conversions (image, kernel, flatten order).
# - Integrated gradients satisfy completeness: the attributions add up to $S_c(x) - S_c(x')$. Checking it tells you
#   whether the number of steps is enough; here 64 trapezoidal steps were.
# - The gradient alone misses saturated features (the single-ReLU example); a black baseline cannot credit missing ink.
#
# ## Exercises
#
# 1. **SmoothGrad.** [Smilkov et al. (2017)](https://arxiv.org/abs/1706.03825) average the saliency map over copies of
#    the input with Gaussian noise added. Implement it with `gradient_tf` and `gradient_pt`, feeding both frameworks the
#    same NumPy noise, and check that the two agree and that zero noise gives back the plain saliency map.
# 2. **A linear model.** For $S(x) = w \cdot x + b$, show that integrated gradients from a black baseline equal
#    $x \odot w$ exactly, for any number of steps. Check it with a one-layer Keras model and its PyTorch copy.
# 3. **Another baseline.** Use the average training image as the baseline. Check completeness, and check that pixels
#    blank in the input can now receive attribution. Print each image's score gap $S_c(x) - S_c(x')$: is the average
#    digit a neutral baseline for every class? (The IG paper suggests a baseline at which the model's prediction is near
#    zero; for image models, the black image.)


# %% tags=["hide-cell"]
# Solution 1: SmoothGrad with shared NumPy noise; sigma = 15 % of the pixel range.
def smoothgrad(gradient_fn, images, targets, noise):
    """Mean |gradient| over the noisy copies images + noise[k]."""
    return np.mean([np.abs(gradient_fn(images + n, targets)) for n in noise], axis=0)


rng = np.random.default_rng(seed)
noise = rng.normal(0.0, 0.15, size=(16, *x_np.shape)).astype(np.float32)
smooth_tf = smoothgrad(partial(gradient_tf, model_tf), x_np, target_np, noise)
smooth_pt = smoothgrad(partial(gradient_pt, model_pt), x_np, target_np, noise)
np.testing.assert_allclose(smooth_tf, smooth_pt, rtol=0, atol=tol * smooth_tf.max())
no_noise = smoothgrad(partial(gradient_tf, model_tf), x_np, target_np, 0 * noise[:1])
np.testing.assert_allclose(no_noise, saliency_tf, rtol=1e-6)
print("SmoothGrad: the frameworks agree, and zero noise gives the saliency map")

# %% tags=["hide-cell"]
# Solution 2: for a linear score, IG from black equals x * w, even with one step.
# The gradient of w . x + b is w at every point of the path, and any Riemann or
# trapezoidal sum of a constant is exact, so IG = (x - 0) * w.
linear_tf = keras.Sequential(
    [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)]
)
linear_pt = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10)).eval()
kernel, bias = linear_tf.layers[-1].get_weights()
with (
    torch.no_grad()
):  # NHWC with one channel flattens identically in both: no permutation
    linear_pt[1].weight.copy_(torch.from_numpy(kernel.T))
    linear_pt[1].bias.copy_(torch.from_numpy(bias))


def linear_gradient_pt(images, targets):  # the model reads NHWC directly: no to_nchw
    x = torch.from_numpy(images).requires_grad_(True)
    scores = linear_pt(x).gather(1, torch.from_numpy(targets)[:, None]).sum()
    return torch.autograd.grad(scores, x)[0].numpy()[..., 0]


w_target = kernel[:, target_np].T.reshape(-1, 28, 28)  # w for each image's target
for m in (1, 7):
    lin_tf = integrated_gradients(
        partial(gradient_tf, linear_tf), x_np, target_np, black, m
    )
    lin_pt = integrated_gradients(linear_gradient_pt, x_np, target_np, black, m)
    np.testing.assert_allclose(lin_tf, x_np[..., 0] * w_target, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(lin_pt, x_np[..., 0] * w_target, rtol=1e-5, atol=1e-7)
print("linear model: IG from black = x * w in both frameworks, with 1 or 7 steps")

# %% tags=["hide-cell"]
# Solution 3: the average training digit as the baseline.
mean_digit = x_train.mean(axis=0, keepdims=True)
ig_mean = integrated_gradients(
    partial(gradient_tf, model_tf), x_np, target_np, mean_digit, 256
)
rows_all = np.arange(len(x_np))
gap_mean = (
    model_tf(x_np).numpy()[rows_all, target_np]
    - model_tf(mean_digit).numpy()[0, target_np]
)
# Completeness in absolute terms (logits): the average digit can score almost as high
# as the image for some classes, and a relative error divides by that small gap.
assert np.abs(ig_mean.sum(axis=(1, 2)) - gap_mean).max() < 0.05
assert np.abs(ig_mean[blank]).sum() > 0
print("mean-digit baseline: complete within 0.05 logits with 256 steps,")
print("and blank pixels now receive attribution (ink the digit lacks)")
