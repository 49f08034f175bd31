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
# (ch-trends-transfer)=
# # Transfer and multi-task learning
#
# Section 5 of the article (未来发展趋势与挑战, "future trends and challenges") predicts that models will need "better
# cross-domain knowledge transfer" (its third trend) and "better multi-task learning and integration" (its fourth). It
# names the trends and shows nothing. This chapter runs both, in TensorFlow and in PyTorch, on MNIST:
#
# - **transfer:** a network learns digits 0–4; its convolutional features, frozen, then serve a new classifier for
#   digits 5–9 that sees only a handful of labelled examples. We measure what the transferred features are worth
#   against the same network trained from scratch on the same few labels;
# - **multi-task:** one shared network with two heads learns two labels at once, the digit and its parity, from a
#   weighted sum of two losses. We prove that the two frameworks compute the same combined loss, and measure how the
#   weight shifts accuracy between the tasks.
#
# :::{admonition} Learning goals
# :class: tip
# - freeze a pre-trained feature extractor with `trainable = False` in Keras and `requires_grad_(False)` in PyTorch,
#   and know why PyTorch also needs `eval()` when the extractor contains batch normalisation;
# - translate batch-normalisation settings between the frameworks (opposite `momentum` conventions, different
#   defaults);
# - build a two-output model with Keras's functional API and `loss_weights`, and the same model as a PyTorch module
#   that returns two outputs, and show that both minimise the same weighted loss.
# :::
#
# **Prerequisites:** {ref}`ch-code-examples` (training in both frameworks) and {ref}`ch-trends-explainability` (moving
# a convolutional network between the frameworks' layouts). **Runs in:** under a minute on a 2-core laptop CPU with
# the bundled sample.

# %% [markdown]
# ## Setup

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

# %% [markdown]
# ## Two tasks from one data set
#
# [Yosinski et al. (2014)](https://arxiv.org/abs/1411.1792) measured how well features transfer by splitting
# ImageNet's classes into two halves, training on one half and reusing the features for the other. We do the same with
# MNIST's ten digits: the **source task** is to tell 0–4 apart, the **target task** to tell 5–9 apart. The target's
# labels are renumbered 0–4, since its classifier has five outputs too. Images stay 28 × 28 × 1 in NHWC order, the
# layout Keras uses; `to_nchw` gives PyTorch its NCHW view.

# %%
data = tu.load_mnist()
x_train = tu.preprocess(data.x_train).reshape(-1, 28, 28, 1)
x_test = tu.preprocess(data.x_test).reshape(-1, 28, 28, 1)
y_train, y_test = data.y_train.astype(np.int64), data.y_test.astype(np.int64)


def to_nchw(images):
    """NHWC (Keras) -> NCHW (PyTorch), as a contiguous float32 array."""
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2))


source, source_test = y_train < 5, y_test < 5
x_src, y_src = x_train[source], y_train[source]
x_src_test, y_src_test = x_test[source_test], y_test[source_test]
x_pool, y_pool = x_train[~source], y_train[~source] - 5  # labelled on demand
x_tgt_test, y_tgt_test = x_test[~source_test], y_test[~source_test] - 5
print(f"source task (digits 0-4): {len(x_src):,} training images")
print(f"target task (digits 5-9): a pool of {len(x_pool):,} images to label from,")
print(f"                          {len(x_tgt_test):,} test images")

# %% [markdown]
# ## A feature extractor with batch normalisation
#
# The extractor is two strided convolutions, each followed by batch normalisation and a ReLU, and a flatten: it turns
# an image into 800 features. A classifier is the extractor plus one dense layer with five outputs. Batch
# normalisation is here on purpose: it is where freezing differs between the two frameworks.
#
# Batch normalisation keeps running averages of each channel's mean and variance, used at inference, and the two
# frameworks define its `momentum` in opposite ways. Keras updates
# `moving = momentum * moving + (1 - momentum) * batch`
# ([Keras `BatchNormalization`](https://keras.io/api/layers/normalization_layers/batch_normalization/)); PyTorch updates
# `running = (1 - momentum) * running + momentum * batch`
# ([PyTorch `BatchNorm2d`](https://pytorch.org/docs/stable/generated/torch.nn.BatchNorm2d.html)). The defaults differ
# as well:

# %%
bn_tf, bn_pt = keras.layers.BatchNormalization(), torch.nn.BatchNorm2d(16)
print(f"Keras   BatchNormalization: momentum {bn_tf.momentum}, epsilon {bn_tf.epsilon}")
print(f"PyTorch BatchNorm2d:        momentum {bn_pt.momentum}, eps {bn_pt.eps}")

# %% [markdown]
# So PyTorch's default keeps 90 % of the old average at each step and Keras's keeps 99 %. After 200 training steps
# (about what the pre-training below takes on the bundled sample), Keras's default still holds
# $0.99^{200} \approx 13\,\%$ of the initial values (mean 0, variance 1), PyTorch's $0.9^{200} \approx 7 \times
# 10^{-10}$. We set Keras's `momentum` to 0.9, PyTorch's default. The cell below checks the translation on one batch, and shows one difference that remains:
# PyTorch's running *variance* uses the unbiased (n − 1) estimate of the batch variance, Keras's the biased (n) one.

# %%
rng = np.random.default_rng(seed)
batch_np = rng.normal(2.0, 3.0, size=(16, 4)).astype(np.float32)
bn_tf = keras.layers.BatchNormalization(momentum=0.9)
bn_pt = torch.nn.BatchNorm1d(4, momentum=0.1).train()
bn_tf(batch_np, training=True)
bn_pt(torch.from_numpy(batch_np))
mean_tf, var_tf = bn_tf.moving_mean.numpy(), bn_tf.moving_variance.numpy()
mean_pt, var_pt = bn_pt.running_mean.numpy(), bn_pt.running_var.numpy()
print("same running mean:    ", np.allclose(mean_tf, mean_pt, rtol=1e-5))
print("same running variance:", np.allclose(var_tf, var_pt, rtol=1e-5))
biased, unbiased = batch_np.var(axis=0), batch_np.var(axis=0, ddof=1)
print("Keras   uses the biased variance:  ", np.allclose(var_tf, 0.9 + 0.1 * biased))
print("PyTorch uses the unbiased variance:", np.allclose(var_pt, 0.9 + 0.1 * unbiased))

# %% [markdown]
# The networks. In Keras, the extractor is a `Sequential` model used as a layer inside a functional classifier, so
# that it can be frozen as a whole later. In PyTorch, `Classifier.train()` is overridden so that a frozen extractor
# stays in evaluation mode; the next section shows why.


# %% tags=["tensorflow"]
def make_features_tf():
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Conv2D(16, 5, strides=2),
            keras.layers.BatchNormalization(momentum=0.9),
            keras.layers.ReLU(),
            keras.layers.Conv2D(32, 3, strides=2),
            keras.layers.BatchNormalization(momentum=0.9),
            keras.layers.ReLU(),
            keras.layers.Flatten(),  # 5 x 5 x 32 = 800 features
        ],
        name="features",
    )


def make_classifier_tf(features, lr, zero_head=False):
    """features -> Dense(5), compiled with Adam and cross-entropy on logits."""
    inputs = keras.Input(shape=(28, 28, 1))
    init = "zeros" if zero_head else "glorot_uniform"  # Keras's default
    head = keras.layers.Dense(5, kernel_initializer=init)  # the bias starts at 0
    model = keras.Model(inputs, head(features(inputs)))
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=lr),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def accuracy_tf(model, x, y):
    logits = model(x, training=False).numpy()
    return (logits.argmax(axis=1) == y).mean()


features_tf = make_features_tf()
pretrain_tf = make_classifier_tf(features_tf, lr=1e-3)
pretrain_tf.count_params()


# %% tags=["pytorch"]
def make_features_pt():
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 5, stride=2),
        torch.nn.BatchNorm2d(16),  # momentum 0.1 = Keras momentum 0.9
        torch.nn.ReLU(),
        torch.nn.Conv2d(16, 32, 3, stride=2),
        torch.nn.BatchNorm2d(32),
        torch.nn.ReLU(),
        torch.nn.Flatten(),  # 32 x 5 x 5 = 800 features
    )


class Classifier(torch.nn.Module):
    """features -> Linear(800, 5). A frozen extractor stays in eval mode."""

    def __init__(self, features, frozen=False, zero_head=False):
        super().__init__()
        self.features, self.head = features, torch.nn.Linear(800, 5)
        self.frozen = frozen
        if zero_head:
            torch.nn.init.zeros_(self.head.weight)
            torch.nn.init.zeros_(self.head.bias)

    def train(self, mode=True):
        super().train(mode)
        if self.frozen:
            self.features.eval()  # keep batch-norm statistics fixed
        return self

    def forward(self, x):
        return self.head(self.features(x))


features_pt = make_features_pt().to(device_pt)
pretrain_pt = Classifier(features_pt).to(device_pt)
sum(p.numel() for p in pretrain_pt.parameters())

# %% [markdown]
# The counts differ by 96, and both are right. Each network has 416 + 4,640 weights in its convolutions,
# 2 × (16 + 32) = 96 scales and shifts in batch normalisation, and 4,005 in its head. Keras's `count_params` also
# counts the 96 moving averages, which are non-trainable weights in Keras; PyTorch keeps them as *buffers*, outside
# `parameters()`.
#
# ## Pre-training on digits 0–4
#
# Both classifiers train for three epochs on the source task with Adam. Keras uses `fit`; PyTorch the loop below,
# which counts optimisation steps rather than epochs, because the next experiment trains for a fixed number of steps.
# It passes the optimiser only the parameters that require gradients.

# %% tags=["tensorflow", "nbval-ignore-output"]
history_tf = pretrain_tf.fit(
    x_src, y_src, batch_size=64, epochs=3, shuffle=True, verbose=2
)


# %% tags=["pytorch"]
def train_pt(model, x, y, steps, lr, batch_size=64):
    """Adam on the parameters that require gradients, for `steps` mini-batches."""
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=lr)
    loader = tu.to_torch_loader(
        to_nchw(x), y, batch_size=min(batch_size, len(x)), shuffle=True, seed=seed
    )
    model.train()
    done = 0
    while done < steps:
        for X, y_batch in loader:
            X, y_batch = X.to(device_pt), y_batch.to(device_pt)
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(X), y_batch)
            loss.backward()
            optimizer.step()
            done += 1
            if done == steps:
                break
    return loss.item()


@torch.no_grad()
def accuracy_pt(model, x, y):
    model.eval()
    logits = model(torch.from_numpy(to_nchw(x)).to(device_pt))
    return (logits.argmax(dim=1).cpu().numpy() == y).mean()


steps_per_epoch = -(-len(x_src) // 64)  # ceiling division
last_loss = train_pt(pretrain_pt, x_src, y_src, steps=3 * steps_per_epoch, lr=1e-3)

# %% [markdown]
# What must hold: both extractors have learned the source task.

# %%
source_acc_tf = accuracy_tf(pretrain_tf, x_src_test, y_src_test)
source_acc_pt = accuracy_pt(pretrain_pt, x_src_test, y_src_test)
assert source_acc_tf >= 0.95 and source_acc_pt >= 0.95, (source_acc_tf, source_acc_pt)
print("both networks classify the test digits 0-4 with at least 95 % accuracy")

# %% tags=["nbval-ignore-output"]
print(
    f"digits 0-4, test accuracy: TensorFlow {source_acc_tf:.2%},"
    f" PyTorch {source_acc_pt:.2%}"
)

# %% [markdown]
# ## Freezing the extractor
#
# Freezing means that training the new head must leave the extractor exactly as it is.
#
# - **Keras:** setting `trainable = False` on a layer or model moves all its weights to `non_trainable_weights`, so
#   `fit` does not update them. For `BatchNormalization` it does more: a non-trainable batch-norm layer runs in
#   inference mode, using and keeping its moving averages
#   ([Keras transfer-learning guide](https://keras.io/guides/transfer_learning/)). The guide also calls the frozen base
#   with `training=False`, meaning to keep batch normalisation in inference mode after the base is unfrozen for
#   fine-tuning; exercise 1 shows that in Keras 3 this does not survive `fit`.
# - **PyTorch:** `requires_grad_(False)` stops gradients from reaching the parameters, and the optimiser is given only
#   the head's parameters ([PyTorch transfer-learning
#   tutorial](https://pytorch.org/tutorials/beginner/transfer_learning_tutorial.html)). Batch normalisation's running
#   averages are not parameters but buffers, updated by every forward pass in training mode, whatever
#   `requires_grad` says: the *mode* (`train()`/`eval()`) and gradient tracking are independent switches
#   ([autograd notes, "Locally disabling gradient
#   computation"](https://pytorch.org/docs/stable/notes/autograd.html#locally-disabling-gradient-computation)).

# %% tags=["tensorflow"]
features_tf.trainable = False
print("trainable weights:    ", len(features_tf.trainable_weights))
print("non-trainable weights:", len(features_tf.non_trainable_weights))

# %% tags=["pytorch"]
features_pt.requires_grad_(False)
params = list(features_pt.parameters())
print("parameters that require grad:", sum(p.requires_grad for p in params))
print("parameters that do not:      ", sum(not p.requires_grad for p in params))
print("buffers (batch-norm running statistics):", len(list(features_pt.buffers())))

# %% [markdown]
# The difference shows when a frozen extractor sees new data in training mode. In Keras, nothing moves. In PyTorch,
# `requires_grad_(False)` alone does not stop the running averages from drifting towards the new data; evaluation mode
# does. (Keras's frozen extractor is safe to call; the PyTorch cell experiments on copies.)


# %% tags=["tensorflow"]
def bn_statistics_tf(features):
    return [w.numpy().copy() for w in features.weights if "moving" in w.path]


before = bn_statistics_tf(features_tf)
features_tf(x_pool[:256], training=True)  # a training-mode call on target digits
after = bn_statistics_tf(features_tf)
print(
    "Keras, trainable=False: moving averages changed:",
    any(not np.array_equal(b, a) for b, a in zip(before, after)),
)

# %% tags=["pytorch"]
import copy


def bn_statistics_pt(features):
    return [b.clone() for name, b in features.named_buffers() if "running" in name]


batch_pt = torch.from_numpy(to_nchw(x_pool[:256])).to(device_pt)
for mode in ("train", "eval"):
    probe = copy.deepcopy(features_pt)  # frozen: requires_grad is False everywhere
    probe.train(mode == "train")
    before = bn_statistics_pt(probe)
    with torch.no_grad():
        probe(batch_pt)
    changed = any(
        not torch.equal(b, a) for b, a in zip(before, bn_statistics_pt(probe))
    )
    print(
        f"PyTorch, requires_grad_(False), {mode}(): running averages changed: {changed}"
    )

# %% [markdown]
# That is why `Classifier.train()` puts a frozen extractor back in evaluation mode. Forgetting it does not break
# anything visibly: the extractor's statistics quietly adapt to the target data, and the "frozen" model is no longer the
# one that was pre-trained.
#
# ## How many labels is a pre-trained extractor worth?
#
# The experiment: for a label budget of $k$ images per digit, draw $k$ labelled images of each of 5–9 from the pool,
# then train two models on those $5k$ images, in each framework:
#
# - **transfer:** the frozen, pre-trained extractor with a new dense head (4,005 trainable parameters), whose weights
#   start at zero;
# - **scratch:** the same architecture, freshly initialised with each framework's defaults, everything trainable.
#
# Why start the new head at zero? Its 800 × 5 weights are trained on as few as ten images. The gradient of a dense
# layer's weights is a combination of its inputs, so plain gradient descent only ever moves the weights within the
# directions that the training images' features span (Adam, which rescales each coordinate, roughly so). Whatever a
# random start puts in the other directions is never corrected and adds noise to every prediction on new images;
# Keras's default start (Glorot-uniform, bound $\sqrt{6/805} \approx 0.086$) is larger than PyTorch's (bound
# $1/\sqrt{800} \approx 0.035$), so it would also hurt Keras more. A zero start has no such noise.
#
# Both take 100 Adam steps with learning rate 0.003 on mini-batches of up to 64 images, and are tested on all 5–9 test
# digits. Each draw puts the pool's images of each digit in a random order and takes the first $k$, so a budget's
# images include the smaller budgets' images, and both frameworks see exactly the same ones. With only two images per
# digit, *which* two matters a great deal, so the smallest budget is run with three independent draws and reported as
# their mean; the larger budgets use the first draw.

# %%
budgets = [2, 10, 50]  # labelled images per digit
draws = 3  # independent draws of labels at the smallest budget
steps, lr = 100, 3e-3
orders = [
    [rng.permutation(np.flatnonzero(y_pool == digit)) for digit in range(5)]
    for _ in range(draws)
]
runs = [(budgets[0], draw) for draw in range(draws)] + [(k, 0) for k in budgets[1:]]


def labelled(k, draw=0):
    """The first k images of each target digit, in the order of the given draw."""
    index = np.concatenate([digit_order[:k] for digit_order in orders[draw]])
    return x_pool[index], y_pool[index]


frozen_weights_tf = [w.numpy().copy() for w in features_tf.weights]
frozen_state_pt = copy.deepcopy(features_pt.state_dict())
print("(labels per digit, draw):", runs)


# %% tags=["tensorflow"]
def fit_steps_tf(model, x, y):
    dataset = tu.to_tf_dataset(
        x, y, batch_size=min(64, len(x)), shuffle=True, seed=seed
    )
    model.fit(
        dataset.repeat(), epochs=1, steps_per_epoch=steps, shuffle=False, verbose=0
    )
    return accuracy_tf(model, x_tgt_test, y_tgt_test)


results_tf = {}
for k, draw in runs:
    x_k, y_k = labelled(k, draw)
    transfer_tf = make_classifier_tf(features_tf, lr, zero_head=True)  # frozen features
    scratch_tf = make_classifier_tf(make_features_tf(), lr)
    results_tf[k, draw] = (
        fit_steps_tf(transfer_tf, x_k, y_k),
        fit_steps_tf(scratch_tf, x_k, y_k),
    )

# %% tags=["pytorch"]
results_pt = {}
for k, draw in runs:
    x_k, y_k = labelled(k, draw)
    transfer_pt = Classifier(features_pt, frozen=True, zero_head=True).to(device_pt)
    scratch_pt = Classifier(make_features_pt()).to(device_pt)
    for model in (transfer_pt, scratch_pt):
        train_pt(model, x_k, y_k, steps=steps, lr=lr)
    results_pt[k, draw] = tuple(
        accuracy_pt(model, x_tgt_test, y_tgt_test)
        for model in (transfer_pt, scratch_pt)
    )

# %% [markdown]
# First, the extractors really were frozen: every weight and every batch-norm statistic is bit for bit what it was
# after pre-training, in both frameworks.

# %%
for before, after in zip(frozen_weights_tf, features_tf.weights):
    np.testing.assert_array_equal(before, after.numpy())
for name, tensor in features_pt.state_dict().items():
    assert torch.equal(tensor, frozen_state_pt[name]), name
print("frozen extractors unchanged: weights and batch-norm statistics, both frameworks")

# %% [markdown]
# The accuracies, which vary a little from machine to machine, and then the plot, where the smallest budget shows
# the mean of its three draws (line) and each draw (small dots):


# %%
def mean_accuracies(results, k):
    """Mean (transfer, scratch) accuracy over the draws run at budget k."""
    return np.mean([acc for (kk, _), acc in results.items() if kk == k], axis=0)


curves = {
    name: np.array([mean_accuracies(results, k) for k in budgets])
    for name, results in (("tensorflow", results_tf), ("pytorch", results_pt))
}
smallest = budgets[0]
gain_tf, gain_pt = (curves[name][0, 0] - curves[name][0, 1] for name in curves)

# %% tags=["nbval-ignore-output"]
print(
    f"{'labels per digit':<18}{'draw':<6}{'TF transfer':>12}{'TF scratch':>12}", end=""
)
print(f"{'PT transfer':>13}{'PT scratch':>12}")
for k, draw in runs:
    (a, b), (c, d) = results_tf[k, draw], results_pt[k, draw]
    print(f"{k:<18}{draw:<6}{a:>12.1%}{b:>12.1%}{c:>13.1%}{d:>12.1%}")
tu.glue("ch05_transfer_k", smallest)
tu.glue("ch05_transfer_gain_tf", f"{gain_tf * 100:.0f}")
tu.glue("ch05_transfer_gain_pt", f"{gain_pt * 100:.0f}")

# %%
fig, ax = plt.subplots(figsize=(9, 3.5))
for name, results in (("tensorflow", results_tf), ("pytorch", results_pt)):
    label = "TensorFlow" if name == "tensorflow" else "PyTorch"
    color = tu.FRAMEWORK_COLORS[name]
    ax.plot(
        budgets,
        curves[name][:, 0],
        "-o",
        color=color,
        label=f"{label}: frozen pre-trained features + new head",
    )
    ax.plot(
        budgets,
        curves[name][:, 1],
        "--s",
        color=color,
        mfc="none",
        label=f"{label}: same network from scratch",
    )
    x_draws = smallest * (0.93 if name == "tensorflow" else 1.07)  # side by side
    for draw in range(draws):
        transfer, scratch = results[smallest, draw]
        ax.plot(x_draws, transfer, "o", color=color, ms=3)
        ax.plot(x_draws, scratch, "s", color=color, ms=3, mfc="none")
ax.set_xscale("log")
ax.set_xticks(budgets, [f"{k}\n({5 * k} labels)" for k in budgets])
ax.minorticks_off()
ax.set(
    xlabel="labelled images per digit (total labels)",
    ylabel="test accuracy, digits 5-9",
    title="Transfer from digits 0-4 against training from scratch",
)
ax.legend(fontsize=8)
fig.tight_layout()

# %% [markdown]
# With {glue:text}`ch05_transfer_k` labelled images per digit, the transferred features add
# {glue:text}`ch05_transfer_gain_tf` percentage points of test accuracy in TensorFlow and
# {glue:text}`ch05_transfer_gain_pt` in PyTorch on this run (mean of three draws). The advantage shrinks as labels
# are added: with enough labels, the network trained from scratch learns features made for digits 5–9, while the frozen
# features were made for 0–4. This is the pattern Yosinski et al. describe: features are general enough to transfer,
# and specific enough that a network trained on the target task catches up once it has the data. The two frameworks
# draw similar curves, not identical ones: they start from different random weights, and with so few labels a
# different start gives a noticeably different model.
#
# What the check cell requires, in both frameworks, at the smallest budget: transfer beats scratch, on the mean of the
# three draws, by at least two points. While writing the chapter we ran the whole experiment with ten different seeds:
# over those twenty gains (ten seeds, two frameworks) the median was 9.7 points and the smallest 3.3.

# %%
for name, gain in (("TensorFlow", gain_tf), ("PyTorch", gain_pt)):
    assert gain >= 0.02, (name, gain)
print(f"with {smallest} labels per digit, transfer beats scratch by 2+ points")
print("(mean of three draws) in both frameworks")

# %% [markdown]
# Freezing is the cheap half of transfer learning. The Keras guide's optional last step, *fine-tuning*, unfreezes the
# extractor and trains everything at a low learning rate; exercise 1 does it, and shows why the guide insists on
# `training=False`.
#
# ## Multi-task learning: one trunk, two heads
#
# [Caruana (1997)](https://doi.org/10.1023/A:1007379606734) describes multi-task learning as training related tasks
# in parallel "while using a shared representation", so that what is learned for one task helps the others. The
# common form in deep learning is *hard parameter sharing* ([Ruder, 2017](https://arxiv.org/abs/1706.05098)): a shared
# trunk, one small head per task, and a training loss that is a weighted sum of the tasks' losses,
#
# $$
# L = w_\text{digit}\, L_\text{digit} + w_\text{parity}\, L_\text{parity} .
# $$
#
# Here the trunk is a two-layer MLP on the flattened image, the first head predicts the digit (10 classes, softmax
# cross-entropy) and the second whether it is odd (one logit, sigmoid cross-entropy). Keras builds it with the
# functional API: two named outputs, a loss for each, and `loss_weights`
# ([`Model.compile`](https://keras.io/api/models/model_training_apis/)). PyTorch has no such argument: `forward` returns
# both outputs, and the weighted sum is one line of the training loop.

# %%
x_train_flat, x_test_flat = tu.preprocess(data.x_train), tu.preprocess(data.x_test)
parity_train = (y_train % 2).astype(np.float32)  # 1 for odd digits
parity_test = (y_test % 2).astype(np.float32)
print(f"odd digits: {parity_train.mean():.1%} of the training images")


# %% tags=["tensorflow"]
def make_multitask_tf(w_digit, w_parity, optimizer):
    inputs = keras.Input(shape=(784,))
    h = keras.layers.Dense(128, activation="relu", name="shared_1")(inputs)
    h = keras.layers.Dense(64, activation="relu", name="shared_2")(h)
    outputs = {
        "digit": keras.layers.Dense(10, name="digit")(h),  # logits
        "parity": keras.layers.Dense(1, name="parity")(h),  # one logit
    }
    model = keras.Model(inputs, outputs, name="multitask")
    model.compile(
        optimizer=optimizer,
        loss={
            "digit": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            "parity": keras.losses.BinaryCrossentropy(from_logits=True),
        },
        loss_weights={"digit": w_digit, "parity": w_parity},
    )
    return model


def targets_tf(index):
    return {"digit": y_train[index], "parity": parity_train[index, None]}


# %% tags=["pytorch"]
class MultiTask(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.shared_1 = torch.nn.Linear(784, 128)
        self.shared_2 = torch.nn.Linear(128, 64)
        self.digit = torch.nn.Linear(64, 10)
        self.parity = torch.nn.Linear(64, 1)

    def forward(self, x):
        h = torch.relu(self.shared_2(torch.relu(self.shared_1(x))))
        return self.digit(h), self.parity(h).squeeze(1)  # two outputs


def multitask_loss(outputs, y_digit, y_parity, w_digit, w_parity):
    digit_logits, parity_logit = outputs
    loss_digit = torch.nn.functional.cross_entropy(digit_logits, y_digit)
    loss_parity = torch.nn.functional.binary_cross_entropy_with_logits(
        parity_logit, y_parity
    )
    return w_digit * loss_digit + w_parity * loss_parity


# %% [markdown]
# ### The same combined loss, proven
#
# Copy the Keras model's initial weights into the PyTorch module (each dense kernel transposed), pick arbitrary loss
# weights, and compare on one batch of 256 images. On the Keras side, `compute_loss` is the method `fit` calls on every
# batch to get the loss it minimises (see `train_step` in Keras's
# [TensorFlow trainer](https://github.com/keras-team/keras/blob/master/keras/src/backend/tensorflow/trainer.py)); a
# `GradientTape` around it gives the gradients `fit` would apply. On the PyTorch side, `backward()` fills every
# parameter's `.grad`. The check cell after the pair tests three things: Keras's total is the weighted sum of the two
# outputs' losses; PyTorch's one-line loss has the same value; and the gradients with respect to every weight of the
# trunk and of both heads agree.

# %%
w_digit, w_parity = 0.3, 0.7
check_tf = make_multitask_tf(w_digit, w_parity, keras.optimizers.SGD())
check_pt = MultiTask().to(device_pt)
layer_names = ["shared_1", "shared_2", "digit", "parity"]


def copy_multitask_weights(model_tf, model_pt):
    with torch.no_grad():
        for name in layer_names:
            kernel, bias = model_tf.get_layer(name).get_weights()
            getattr(model_pt, name).weight.copy_(torch.from_numpy(kernel.T))
            getattr(model_pt, name).bias.copy_(torch.from_numpy(bias))


copy_multitask_weights(check_tf, check_pt)
batch = np.arange(256)
x_batch, y_batch = x_train_flat[batch], targets_tf(batch)

# %% tags=["tensorflow"]
variables_tf = {
    name: (check_tf.get_layer(name).kernel, check_tf.get_layer(name).bias)
    for name in layer_names
}
with tf.GradientTape() as tape:
    outputs_tf = check_tf(x_batch, training=True)
    loss_tf = check_tf.compute_loss(x=x_batch, y=y_batch, y_pred=outputs_tf)
grads_tf = tape.gradient(loss_tf, variables_tf)  # same structure as variables_tf
digit_loss_tf = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(
    y_batch["digit"], outputs_tf["digit"]
)
parity_loss_tf = keras.losses.BinaryCrossentropy(from_logits=True)(
    y_batch["parity"], outputs_tf["parity"]
)

# %% tags=["pytorch"]
X_pt = torch.from_numpy(x_batch).to(device_pt)
yd_pt = torch.from_numpy(y_train[batch]).to(device_pt)
yp_pt = torch.from_numpy(parity_train[batch]).to(device_pt)
loss_pt = multitask_loss(check_pt(X_pt), yd_pt, yp_pt, w_digit, w_parity)
loss_pt.backward()  # fills .grad of every parameter

# %%
weighted = w_digit * float(digit_loss_tf) + w_parity * float(parity_loss_tf)
np.testing.assert_allclose(float(loss_tf), weighted, rtol=1e-6)
np.testing.assert_allclose(float(loss_tf), loss_pt.item(), rtol=1e-5)
for name, (grad_kernel, grad_bias) in grads_tf.items():
    layer_pt = getattr(check_pt, name)
    kernel_grad_pt = layer_pt.weight.grad.cpu().numpy()
    np.testing.assert_allclose(grad_kernel.numpy().T, kernel_grad_pt, atol=1e-6)
    np.testing.assert_allclose(grad_bias.numpy(), layer_pt.bias.grad.cpu(), atol=1e-6)
print("Keras minimises 0.3 * digit loss + 0.7 * parity loss;")
print("PyTorch's loss has the same value and the same gradients,")
print("for every weight of the trunk and of both heads")

# %% [markdown]
# ### Moving the weight from one task to the other
#
# Now the weight decides what the shared trunk learns. With $\lambda$ from 0 to 1, train with
# $w_\text{digit} = 1 - \lambda$ and $w_\text{parity} = \lambda$ for two epochs, in both frameworks, and test both
# heads. At $\lambda = 0$ the parity head receives no gradient at all and keeps its random initial weights; at
# $\lambda = 1$ the same holds for the digit head.

# %% tags=["tensorflow"]
lambdas = [0.0, 0.1, 0.5, 1.0]


def head_accuracies(digit_logits, parity_logit):
    digit_acc = (np.argmax(digit_logits, axis=1) == y_test).mean()
    parity_acc = ((np.ravel(parity_logit) > 0) == (parity_test == 1)).mean()
    return digit_acc, parity_acc


zero_weight_head = {0.0: "parity", 1.0: "digit"}  # watched: "digit" otherwise
sweep_tf, head_unchanged_tf = {}, {}
for lam in lambdas:
    model = make_multitask_tf(1 - lam, lam, keras.optimizers.Adam(learning_rate=1e-3))
    head = model.get_layer(zero_weight_head.get(lam, "digit"))
    before = [w.numpy().copy() for w in head.weights]
    model.fit(x_train_flat, targets_tf(slice(None)), batch_size=64, epochs=2, verbose=0)
    outputs = model(x_test_flat, training=False)
    sweep_tf[lam] = head_accuracies(outputs["digit"].numpy(), outputs["parity"].numpy())
    head_unchanged_tf[lam] = all(
        np.array_equal(b, w.numpy()) for b, w in zip(before, head.weights)
    )

# %% tags=["pytorch"]
sweep_pt, head_unchanged_pt = {}, {}
loader = tu.to_torch_loader(
    x_train_flat, y_train, batch_size=64, shuffle=True, seed=seed
)
parity_of = torch.from_numpy(np.arange(10) % 2).float().to(device_pt)
for lam in lambdas:
    model = MultiTask().to(device_pt)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    head = getattr(model, zero_weight_head.get(lam, "digit"))
    before = [p.detach().clone() for p in head.parameters()]
    model.train()
    for _ in range(2):  # epochs
        for X, y_digit in loader:
            X, y_digit = X.to(device_pt), y_digit.to(device_pt)
            optimizer.zero_grad()
            loss = multitask_loss(model(X), y_digit, parity_of[y_digit], 1 - lam, lam)
            loss.backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        digit_logits, parity_logit = model(torch.from_numpy(x_test_flat).to(device_pt))
    sweep_pt[lam] = head_accuracies(
        digit_logits.cpu().numpy(), parity_logit.cpu().numpy()
    )
    head_unchanged_pt[lam] = all(
        torch.equal(b, p) for b, p in zip(before, head.parameters())
    )

# %% tags=["nbval-ignore-output"]
print(
    f"{'lambda':<8}{'TF digit':>10}{'TF parity':>11}{'PT digit':>10}{'PT parity':>11}"
)
for lam in lambdas:
    (d_tf, p_tf), (d_pt, p_pt) = sweep_tf[lam], sweep_pt[lam]
    print(f"{lam:<8}{d_tf:>10.1%}{p_tf:>11.1%}{d_pt:>10.1%}{p_pt:>11.1%}")
tu.glue("ch05_mtl_digit_half", f"{sweep_tf[0.5][0]:.1%}")
tu.glue("ch05_mtl_digit_only", f"{sweep_tf[0.0][0]:.1%}")
tu.glue("ch05_mtl_parity_small_tf", f"{sweep_tf[0.1][1]:.0%}")
tu.glue("ch05_mtl_parity_small_pt", f"{sweep_pt[0.1][1]:.0%}")

# %%
fig, (ax_digit, ax_parity) = plt.subplots(1, 2, figsize=(9, 3.5), sharey=True)
for name, sweep in (("tensorflow", sweep_tf), ("pytorch", sweep_pt)):
    label = "TensorFlow" if name == "tensorflow" else "PyTorch"
    style = {"color": tu.FRAMEWORK_COLORS[name], "label": label}
    ax_digit.plot(lambdas, [sweep[lam][0] for lam in lambdas], "-o", **style)
    ax_parity.plot(lambdas, [sweep[lam][1] for lam in lambdas], "-o", **style)
ax_digit.axhline(0.1, color="grey", lw=0.8, ls=":")
ax_parity.axhline(0.5, color="grey", lw=0.8, ls=":")
ax_digit.set(
    xlabel="λ (weight of the parity loss)",
    ylabel="test accuracy",
    title="Digit head (chance: 10 %)",
)
ax_parity.set(
    xlabel="λ (weight of the parity loss)", title="Parity head (chance: 50 %)"
)
ax_digit.legend()
fig.tight_layout()

# %% [markdown]
# Each head learns as soon as its task has any weight: on this run, $\lambda = 0.1$ already brings the parity head to
# {glue:text}`ch05_mtl_parity_small_tf` (TensorFlow) and {glue:text}`ch05_mtl_parity_small_pt` (PyTorch), because
# the trunk's features for recognising digits nearly separate odd from even by themselves. A head whose weight is zero
# keeps its random initial weights, bit for bit (checked below), and its accuracy is whatever that random draw gives.
# Between the extremes the two tasks share one trunk at little cost to either: Keras's digit head reaches
# {glue:text}`ch05_mtl_digit_half` at $\lambda = 0.5$ against {glue:text}`ch05_mtl_digit_only` when trained for
# digits alone. (Parity is a function of the digit, so it cannot teach the trunk anything the digit labels do not;
# Caruana's gains come from tasks that carry *extra* information.)
#
# What the check cell requires, in both frameworks: with equal weights both heads are accurate; a head whose loss
# weight is zero is never updated; and each head does far better when its task has weight than when it has none.

# %%
for name, sweep, unchanged in (
    ("TensorFlow", sweep_tf, head_unchanged_tf),
    ("PyTorch", sweep_pt, head_unchanged_pt),
):
    digit_half, parity_half = sweep[0.5]
    assert digit_half >= 0.85 and parity_half >= 0.85, (name, sweep[0.5])
    assert unchanged[0.0] and unchanged[1.0] and not unchanged[0.5], (name, unchanged)
    assert parity_half - sweep[0.0][1] >= 0.1, (name, sweep)
    assert digit_half - sweep[1.0][0] >= 0.5, (name, sweep)
print("lambda = 0.5: both heads at least 85 % accurate, in both frameworks;")
print("a head with zero loss weight keeps its initial weights exactly")
print("and is left far behind")

# %% [markdown]
# ## Side by side
#
# | Step | Keras (TensorFlow) | PyTorch |
# |---|---|---|
# | freeze a feature extractor | `features.trainable = False` (then compile) | `features.requires_grad_(False)`; optimiser gets only trainable parameters |
# | frozen batch norm | inference mode automatically (`trainable = False`) | stays in training mode unless `features.eval()`: running statistics drift |
# | keep batch norm fixed while fine-tuning | set the batch-norm layers' `trainable = False` (`training=False` at build time does not survive `fit`) | keep the extractor in `eval()` mode |
# | batch-norm momentum | `moving = m * moving + (1 - m) * batch`, default 0.99 | `running = (1 - m) * running + m * batch`, default 0.1 |
# | batch-norm epsilon | 0.001 | 1e-5 |
# | running variance | biased (n) | unbiased (n − 1) |
# | where the statistics live | non-trainable weights | buffers (`named_buffers()`) |
# | two-output model | functional `keras.Model(inputs, {"a": ..., "b": ...})` | `forward` returns a tuple |
# | weighted multi-task loss | `compile(loss={...}, loss_weights={...})` | `w_a * loss_a + w_b * loss_b` in the loop |
#
# ## Summary
#
# - Features pre-trained on digits 0–4 and frozen make a better classifier for 5–9 than training from scratch when
#   labels are scarce; the advantage fades as labels are added. Both frameworks show it.
# - Freezing is not the same operation in the two frameworks. Keras's `trainable = False` also freezes batch
#   normalisation's statistics; PyTorch's `requires_grad_(False)` does not, so a frozen extractor must also be kept in
#   `eval()` mode. A check cell proves both extractors unchanged, statistics included.
# - Batch normalisation's `momentum` means opposite things: Keras 0.9 is PyTorch 0.1. Keras's default of 0.99 averages
#   over about ten times more steps than PyTorch's default.
# - Multi-task learning is a shared trunk, one head per task and a weighted sum of losses: `loss_weights` in Keras, one
#   line of arithmetic in PyTorch. Given the same weights, the two frameworks compute the same combined loss and the
#   same gradients.
#
# ## Exercises
#
# 1. **Fine-tune.** The Keras guide's optional last step unfreezes the extractor and trains everything at a low
#    learning rate, with batch normalisation kept in inference mode. Take the transferred models trained with the
#    largest budget and do that: 50 more steps on the same labels at a learning rate of 1e-4. First show that in Keras
#    3, calling the extractor with `training=False` when a model is built does not keep its batch normalisation in
#    inference mode once the extractor is unfrozen: `fit` calls the model with `training=True`, and that wins
#    ([keras-team/keras#20285](https://github.com/keras-team/keras/issues/20285)). Then freeze the batch-norm layers
#    themselves, as the guide's note on `BatchNormalization` now advises, fine-tune, and check that the convolution
#    kernels change while the batch-norm statistics do not, in both frameworks.
# 2. **How strongly does each task pull on the trunk?** With the `check_tf`/`check_pt` pair from the multi-task
#    section (re-copy the weights first), compute the gradient of each task's unweighted loss with respect to the first
#    shared layer's weights in both frameworks. Check that the frameworks agree, and compare the two tasks' gradient
#    norms: they are one reason loss weights need tuning.
# 3. **Momentum in practice.** Feed a `BatchNormalization` layer (Keras, default momentum) and a `BatchNorm1d`
#    (PyTorch, default momentum) the same constant batch, in training mode, until their running mean has covered 95 %
#    of the way from 0 to the batch mean. How many steps does each take? Check against $\lceil \ln 0.05 / \ln m \rceil$,
#    where $m$ is the fraction kept per step.

# %% tags=["hide-cell"]
# Solution 1: fine-tune at a low learning rate, with batch normalisation kept fixed.
x_k, y_k = labelled(budgets[-1])  # transfer_tf and transfer_pt were trained on these
features_tf.trainable = True  # unfreeze the extractor

# The guide's pattern: call the base with training=False when building the model ...
inputs = keras.Input(shape=(28, 28, 1))
built_with_training_false = keras.Model(inputs, features_tf(inputs, training=False))
stats_before = bn_statistics_tf(features_tf)
built_with_training_false(x_k[:64], training=True)  # ... but fit passes training=True
moved = any(
    not np.array_equal(b, a)
    for b, a in zip(stats_before, bn_statistics_tf(features_tf))
)
print("Keras 3, training=False at build time, called by fit: statistics moved:", moved)
moving = [w for w in features_tf.weights if "moving" in w.path]
for variable, value in zip(moving, stats_before):  # undo that call
    variable.assign(value)

# The fix: freeze the batch-norm layers themselves, then compile again.
for layer in features_tf.layers:
    if isinstance(layer, keras.layers.BatchNormalization):
        layer.trainable = False
transfer_tf.compile(
    optimizer=keras.optimizers.Adam(learning_rate=1e-4),
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
)
kernel_before = features_tf.layers[0].kernel.numpy().copy()
transfer_tf.fit(
    tu.to_tf_dataset(x_k, y_k, batch_size=64, shuffle=True, seed=seed).repeat(),
    epochs=1,
    steps_per_epoch=50,
    shuffle=False,
    verbose=0,
)
assert not np.array_equal(kernel_before, features_tf.layers[0].kernel.numpy())
for b, a in zip(stats_before, bn_statistics_tf(features_tf)):
    np.testing.assert_array_equal(b, a)

# PyTorch: unfreeze all but batch norm; Classifier.train() keeps it in eval().
transfer_pt.features.requires_grad_(True)
for module in transfer_pt.features.modules():
    if isinstance(module, torch.nn.BatchNorm2d):
        module.requires_grad_(False)
weight_before = transfer_pt.features[0].weight.detach().clone()
stats_before = bn_statistics_pt(transfer_pt.features)
train_pt(transfer_pt, x_k, y_k, steps=50, lr=1e-4)
assert not torch.equal(weight_before, transfer_pt.features[0].weight)
for b, a in zip(stats_before, bn_statistics_pt(transfer_pt.features)):
    assert torch.equal(b, a)
print("fine-tuning changed the convolutions and kept the batch-norm statistics,")
print("in both frameworks")

# %% tags=["hide-cell"]
# Solution 2: per-task gradients on the first shared layer, in both frameworks.
copy_multitask_weights(check_tf, check_pt)
with tf.GradientTape(persistent=True) as tape:  # persistent: two gradients
    outputs_tf = check_tf(x_train_flat[batch])
    losses_tf = {
        "digit": keras.losses.SparseCategoricalCrossentropy(from_logits=True)(
            y_train[batch], outputs_tf["digit"]
        ),
        "parity": keras.losses.BinaryCrossentropy(from_logits=True)(
            parity_train[batch, None], outputs_tf["parity"]
        ),
    }
digit_out, parity_out = check_pt(X_pt)
losses_pt = {
    "digit": torch.nn.functional.cross_entropy(digit_out, yd_pt),
    "parity": torch.nn.functional.binary_cross_entropy_with_logits(parity_out, yp_pt),
}
kernel_tf = check_tf.get_layer("shared_1").kernel
task_grads_pt = {}
for task in ("digit", "parity"):
    grad_tf = tape.gradient(losses_tf[task], kernel_tf).numpy()
    # retain_graph: the two losses share the trunk's graph, needed twice
    weight_pt = check_pt.shared_1.weight
    (grad_pt,) = torch.autograd.grad(losses_pt[task], weight_pt, retain_graph=True)
    np.testing.assert_allclose(grad_tf.T, grad_pt.cpu(), atol=1e-6)
    task_grads_pt[task] = grad_pt
    print(f"{task:<7} gradient on shared_1: the frameworks agree")
del tape

# %% tags=["hide-cell", "nbval-ignore-output"]
for task, grad in task_grads_pt.items():
    print(f"{task:<7} loss: gradient norm on shared_1 {grad.norm():.4f}")

# %% tags=["hide-cell"]
# Solution 3: steps until the running mean covers 95 % of the way (from 0 to 1).
constant = np.ones((32, 1), dtype=np.float32)
bn_keras = keras.layers.BatchNormalization()  # keeps 0.99 of the average per step
bn_keras.build((None, 1))
bn_torch = torch.nn.BatchNorm1d(1).train()  # takes 0.1 of the batch per step


def keras_step():
    bn_keras(constant, training=True)
    return float(bn_keras.moving_mean.numpy()[0])


def torch_step():
    bn_torch(torch.from_numpy(constant))
    return float(bn_torch.running_mean[0])


steps_needed = {}
for name, step in (("Keras", keras_step), ("PyTorch", torch_step)):
    n, running_mean = 0, 0.0
    while running_mean < 0.95:
        running_mean, n = step(), n + 1
    steps_needed[name] = n
assert steps_needed["Keras"] == int(np.ceil(np.log(0.05) / np.log(0.99)))
assert steps_needed["PyTorch"] == int(np.ceil(np.log(0.05) / np.log(0.9)))
print(f"steps to 95 %: Keras (default 0.99) {steps_needed['Keras']},", end=" ")
print(f"PyTorch (default 0.1) {steps_needed['PyTorch']}")
