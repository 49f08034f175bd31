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
# (ch-graphs-autodiff)=
# # Graphs, automatic differentiation, and the math of training
#
# Section 3 of the article (核心算法原理和具体操作步骤以及数学模型公式详细讲解, "core algorithm principles, concrete
# steps and mathematical formulas") says that TensorFlow is built on a *static* computation graph and PyTorch on a
# *dynamic* one, describes each with the same four vague steps (build the graph, execute it, optimise it, train the
# model), and promises the formulas in §3.3, which is an empty link. This chapter replaces all three parts with
# things you can run. It **shows** how each framework records and captures graphs today (both run eagerly by default,
# and both can capture graphs); it compares the two automatic-differentiation APIs feature by feature; and it
# **derives** the mathematics behind chapter {ref}`ch-code-examples`'s MLP, implements it in NumPy, and checks that
# NumPy, TensorFlow and PyTorch compute the same gradients and the same weights after several Adam steps.
#
# :::{admonition} Learning goals
# :class: tip
# - predict when `tf.function` traces (and retraces) your Python code, and read the graph it produced;
# - walk and draw PyTorch's autograd graph, and print the graphs that `torch.compile` and `torch.export` capture;
# - translate `GradientTape` code to `backward()` code and back, including accumulation, higher-order gradients,
#   stopped gradients and custom gradients;
# - derive $\partial L / \partial z = \mathrm{softmax}(z) - \mathrm{onehot}(y)$ and backpropagation through dense and
#   ReLU layers, and write SGD and Adam from their update rules;
# - know why Keras's and PyTorch's Adam give different weights for the same `epsilon`, and how large the difference is.
# :::
#
# **Prerequisites:** tensors in both frameworks ({ref}`ch-core-concepts`); the MLP of {ref}`ch-code-examples` helps.
# **Runs in:** under a minute on a 2-core laptop CPU with the bundled sample.

# %% [markdown]
# ## What the article says, and what is true today
#
# The article's picture, TensorFlow builds a graph first and runs it later while PyTorch builds it as it goes, was an
# accurate description of **TensorFlow 1.x** (2015–2019), where you assembled a `tf.Graph` and executed it with
# `Session.run`. It has been out of date since TensorFlow 2.0 (September 2019,
# [release notes](https://github.com/tensorflow/tensorflow/releases/tag/v2.0.0)):
#
# - **TensorFlow 2 runs eagerly by default.** Each operation runs as soon as Python reaches it and returns a value;
#   "This function is not necessary if you are using TF2. Eager execution is enabled by default"
#   ([`tf.compat.v1.enable_eager_execution`](https://www.tensorflow.org/api_docs/python/tf/compat/v1/enable_eager_execution)).
#   Graphs are opt-in: you wrap a Python function in
#   [`tf.function`](https://www.tensorflow.org/api_docs/python/tf/function), which traces it into a graph
#   ([TensorFlow guide: introduction to graphs and `tf.function`](https://www.tensorflow.org/guide/intro_to_graphs)).
#   Keras's `fit` does that wrapping for you unless you compile with `run_eagerly=True`
#   ([Keras `Model.compile`](https://keras.io/api/models/model_training_apis/#compile-method)), which is why chapter
#   {ref}`ch-code-examples`'s Keras training ran as a graph while its PyTorch loop ran eagerly.
# - **PyTorch captures graphs too.** Its autograd graph is indeed built as the code runs ("define-by-run"), but since
#   PyTorch 2.0 (March 2023, [release notes](https://github.com/pytorch/pytorch/releases/tag/v2.0.0))
#   [`torch.compile`](https://pytorch.org/docs/stable/torch.compiler.html) captures whole graphs with TorchDynamo and
#   hands them to a compiler, and [`torch.export`](https://pytorch.org/docs/stable/export.html) produces one complete
#   graph ahead of time for deployment.
# - **TensorFlow's autodiff is define-by-run as well.** A `tf.GradientTape` records operations as they execute, just
#   as PyTorch's autograd does ([TensorFlow guide: automatic
#   differentiation](https://www.tensorflow.org/guide/autodiff)).
#
# So "static versus dynamic" no longer separates the two frameworks: both default to eager execution and both offer
# graph capture. What differs is *how* they capture (TensorFlow traces your Python function once; PyTorch's Dynamo
# reads its bytecode and guards on what it assumed) and what happens to Python code and control flow along the way.
# The article's four steps also miss the actual core algorithm, which is the same in both frameworks:
# **reverse-mode automatic differentiation** (backpropagation) followed by a **gradient-based update**. The last part
# of this chapter writes both down.

# %% [markdown]
# ## Setup
#
# `tutorial_utils` is this book's helper package (importing it loads no framework). PyTorch is imported before
# TensorFlow, as in every chapter. The environment report varies from machine to machine, so the tests do not
# compare it.

# %% tags=["nbval-ignore-output"]
import tutorial_utils as tu

import torch
import tensorflow as tf
import keras
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
# ### One MLP and one batch for the whole chapter
#
# The network is chapter {ref}`ch-code-examples`'s 784-128-128-10 MLP, and the data a batch of 64 training digits
# from the same MNIST source. The initial weights are drawn once in NumPy: kernels from the Glorot-uniform
# distribution (Keras's default for `Dense`), biases small and non-zero so that every bias gradient is exercised.
# Both frameworks load these same arrays; NumPy and Keras store a kernel as `(in, out)` and compute `x @ W`, PyTorch
# stores `(out, in)` and computes `x @ W.T`, so the copy into PyTorch transposes.

# %%
data = tu.load_mnist()
X_np = tu.preprocess(data.x_train[:64])
y_np = data.y_train[:64].astype(np.int64)

rng = np.random.default_rng(seed)
params_np = []  # [W1, b1, W2, b2, W3, b3], each W of shape (in, out)
for n_in, n_out in [(784, 128), (128, 128), (128, 10)]:
    limit = np.sqrt(6 / (n_in + n_out))  # Glorot-uniform bound
    params_np.append(rng.uniform(-limit, limit, (n_in, n_out)).astype(np.float32))
    params_np.append(rng.uniform(-0.1, 0.1, n_out).astype(np.float32))
PARAM_NAMES = ["W1", "b1", "W2", "b2", "W3", "b3"]
print(f"X_np {X_np.shape} {X_np.dtype}, y_np {y_np.shape}, first labels {y_np[:8]}")
print(", ".join(f"{n} {p.shape}" for n, p in zip(PARAM_NAMES, params_np)))


# %% tags=["tensorflow"]
def make_model_tf(params):
    """Chapter 4's MLP in Keras, with the given [W1, b1, W2, b2, W3, b3]."""
    model = keras.Sequential(
        [
            keras.Input(shape=(784,)),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(10),  # logits
        ]
    )
    model.set_weights(params)
    return model


loss_fn_tf = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
X_tf, y_tf = tf.constant(X_np), tf.constant(y_np)
model_tf = make_model_tf(params_np)
logits_tf = model_tf(X_tf)
print(f"loss {float(loss_fn_tf(y_tf, logits_tf)):.4g}")


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
        return self.fc3(x)  # logits


def make_model_pt(params):
    """Chapter 4's MLP in PyTorch, with the given [W1, b1, W2, b2, W3, b3]."""
    model = MLP().to(device_pt)
    with torch.no_grad():
        for p, value in zip(model.parameters(), params):
            p.copy_(torch.from_numpy(value.T if value.ndim == 2 else value))
    return model


def weights_pt(tensors):
    """Copies of PyTorch weights or gradients as NumPy arrays, (in, out) layout."""
    arrays = [t.detach().cpu().numpy() for t in tensors]
    return [np.array(a.T if a.ndim == 2 else a) for a in arrays]  # np.array copies


loss_fn_pt = torch.nn.CrossEntropyLoss()
X_pt, y_pt = torch.from_numpy(X_np).to(device_pt), torch.from_numpy(y_np).to(device_pt)
model_pt = make_model_pt(params_np)
logits_pt = model_pt(X_pt)
print(f"loss {loss_fn_pt(logits_pt, y_pt).item():.4g}")

# %% [markdown]
# Same weights, same inputs, so the same logits, up to float32 rounding:

# %%
np.testing.assert_allclose(
    logits_tf.numpy(), logits_pt.detach().cpu().numpy(), rtol=1e-5, atol=1e-5
)
print("checked: the two models compute the same logits (rtol = atol = 1e-5)")

# %% [markdown]
# ## Eager by default, in both frameworks
#
# In both frameworks an operation runs the moment Python reaches it, and the result is a tensor holding numbers, not
# a node waiting for a session. TensorFlow can report its mode; PyTorch has no graph mode to report, and the nearest
# question, `torch.compiler.is_compiling()`, is true only while `torch.compile` is capturing a function.

# %% tags=["tensorflow"]
a_tf = tf.constant([[1.0, 2.0], [3.0, 4.0]])
print("executing eagerly:", tf.executing_eagerly())
(a_tf @ a_tf).numpy()

# %% tags=["pytorch"]
a_pt = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
print("compiling:", torch.compiler.is_compiling())
(a_pt @ a_pt).numpy()

# %% [markdown]
# ## TensorFlow: graphs by tracing, with `tf.function`
#
# `tf.function` turns a Python function into a callable that runs a TensorFlow graph. On the first call it **traces**
# the function: it runs your Python code once with symbolic tensors, and every TensorFlow operation executed along
# the way is recorded as a node of a graph. Later calls with compatible arguments skip Python and run the graph
# ([TensorFlow guide: better performance with `tf.function`](https://www.tensorflow.org/guide/function)).
#
# ### Python runs once, graph operations run every time
# Whatever is not a TensorFlow operation (a `print`, a counter, appending to a list) happens only while `tf.function`
# traces. The TensorFlow function below counts its calls twice: with a Python integer and with a `tf.Variable`
# update, which is an operation in the graph.
#
# PyTorch's `torch.compile` takes the opposite position. Its front end, TorchDynamo, reads the function's Python
# bytecode instead of running it on symbolic tensors, so it keeps Python's meaning: the list in the PyTorch function
# really grows on every call. To keep that promise it **guards** on what it assumed (here, the list's length), and a
# failed guard means a new compilation
# ([dealing with recompilations](https://docs.pytorch.org/docs/stable/compile/programming_model.recompilation.html)).
# The `backend` argument of `torch.compile` receives each captured graph as an FX `GraphModule`
# ([custom backends](https://pytorch.org/docs/stable/torch.compiler_custom_backends.html)); the one below only counts
# the graphs and returns them unchanged, so no compiler runs. Both functions are called ten times:

# %% tags=["tensorflow"]
python_counter = 0
graph_counter = tf.Variable(0)


@tf.function
def double_tf(x):
    global python_counter
    python_counter += 1  # Python: runs while tracing, then never again
    graph_counter.assign_add(1)  # a TensorFlow op: part of the graph, runs every call
    return 2 * x


for value in range(10):
    double_tf(tf.constant(float(value)))
print(f"Python counter: {python_counter}, graph counter: {int(graph_counter)}")

# %% tags=["pytorch"]
captured = []


def count_graphs(graph_module, example_inputs):
    captured.append(graph_module)
    return graph_module.forward  # run the captured graph as it is


python_log = []


@torch.compile(backend=count_graphs)
def double_pt(x):
    python_log.append("called")  # Python: Dynamo keeps this side effect
    return 2 * x


for value in range(10):
    double_pt(torch.tensor(float(value)))
print(f"Python list length: {len(python_log)}, graphs compiled: {len(captured)}")

# %% [markdown]
# Each behaviour has its trap. In TensorFlow a Python side effect silently happens once; use TensorFlow operations
# (`tf.print`, variable updates) for anything that must happen on every call. In PyTorch it costs a recompilation per
# call, until the function reaches `torch._dynamo.config.recompile_limit` compilations; from then on Dynamo stops
# compiling it and the calls run eagerly, which is why the count above stopped at that limit:

# %%
assert python_counter == 1 and int(graph_counter) == 10
assert len(python_log) == 10
assert len(captured) == torch._dynamo.config.recompile_limit
print("torch._dynamo.config.recompile_limit =", torch._dynamo.config.recompile_limit)

# %% [markdown]
# ### When TensorFlow traces again
# A graph is specialised to the **shapes and dtypes** of the tensors it was traced with, and to the **values** of
# Python arguments. A call that does not match an existing trace triggers a new one. Below, a Python list records each
# trace as a side effect, and `experimental_get_tracing_count()` reports TensorFlow's own count. TensorFlow also warns
# when a function retraces often; the cell catches that warning (it is logged through Python's `logging` under the
# name `tensorflow`) and prints its first sentence.

# %% tags=["tensorflow"]
import logging
import re


class CollectLogs(logging.Handler):
    """Keeps the messages of the log records it receives."""

    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


traces = []


@tf.function
def scaled_sum(x, scale):
    traces.append((x.dtype.name, tuple(x.shape), scale))  # runs only while tracing
    return tf.reduce_sum(x) * scale


calls = [
    ("first call", tf.constant([1.0, 2.0, 3.0]), 2.0),
    ("new values, same shape and dtype", tf.constant([4.0, 5.0, 6.0]), 2.0),
    ("new shape (4,)", tf.constant([1.0, 2.0, 3.0, 4.0]), 2.0),
    ("new dtype float64", tf.constant([1.0, 2.0, 3.0], tf.float64), 2.0),
    ("new Python float scale=3.0", tf.constant([1.0, 2.0, 3.0]), 3.0),
    ("scale as a tensor", tf.constant([1.0, 2.0, 3.0]), tf.constant(3.0)),
    ("another tensor scale", tf.constant([1.0, 2.0, 3.0]), tf.constant(4.0)),
]
tf_logs = CollectLogs()
tf_logger = tf.get_logger()
saved_handlers, tf_logger.handlers = tf_logger.handlers, [tf_logs]  # catch, don't print
for what, x, scale in calls:
    before = scaled_sum.experimental_get_tracing_count()
    result = float(scaled_sum(x, scale))
    traced = scaled_sum.experimental_get_tracing_count() > before
    print(
        f"{what:<34} result {result:5.1f}   {'TRACED' if traced else 'reused a graph'}"
    )
tf_logger.handlers = saved_handlers
print(
    f"\n{len(traces)} traces; experimental_get_tracing_count() = "
    f"{scaled_sum.experimental_get_tracing_count()}"
)
for message in tf_logs.messages:
    print("warning:", re.sub(r" at 0x[0-9a-fA-F]+", "", message.split(". ")[0]))

# %% [markdown]
# Passing a Python number is the classic mistake: every new value is a new trace, because Python values are baked
# into the graph as constants. Passing it as a tensor makes it an input of the graph. Tracing is not free (it runs the
# Python function and builds the graph), so a training step that retraces every call is slower than plain eager
# execution.

# %%
assert len(traces) == scaled_sum.experimental_get_tracing_count() == 5
assert len(tf_logs.messages) == 1 and "retracing" in tf_logs.messages[0]

# %% [markdown]
# ### Fixing the signature
# An `input_signature` declares the shapes and dtypes once; `None` marks a dimension that may vary, such as the batch.
# The function then traces exactly once, and a call that does not fit the signature is an error, not a silent
# retrace. (The alternative, `reduce_retracing=True`, lets TensorFlow generalise shapes by itself after it has seen a
# few; Keras compiles its train step that way.)


# %% tags=["tensorflow"]
@tf.function(input_signature=[tf.TensorSpec(shape=[None], dtype=tf.float32)])
def total(x):
    return tf.reduce_sum(x)


for n in (3, 4, 5, 1000):
    total(tf.ones([n]))
print("traces after four batch sizes:", total.experimental_get_tracing_count())
try:
    total(tf.ones([3], dtype=tf.float64))
except TypeError as err:
    print("float64 input:", type(err).__name__, str(err).split("`")[1])

# %% [markdown]
# ### What is in the graph
# A traced graph is an ordinary object you can inspect. `get_concrete_function` traces for a given signature and
# returns the graph; here is every operation of one dense layer with ReLU, with its type and output shape. The
# placeholders are the inputs, `Identity` marks the output, and the rest is exactly the layer's arithmetic.


# %% tags=["tensorflow"]
@tf.function
def relu_layer_tf(x, w, b):
    return tf.nn.relu(tf.matmul(x, w) + b)


concrete = relu_layer_tf.get_concrete_function(
    tf.TensorSpec([None, 784]), tf.TensorSpec([784, 128]), tf.TensorSpec([128])
)
for op in concrete.graph.get_operations():
    inputs = ", ".join(t.op.name for t in op.inputs)
    shape = op.outputs[0].shape
    print(f"{op.name:<9}{op.type:<12}inputs: {inputs:<11} output shape: {shape}")

# %% [markdown]
# When the `GradientTape` sits inside the `tf.function`, the backward pass becomes part of the same graph. Below is
# a loss-and-gradient function for a linear softmax classifier, with the cross-entropy written out as
# $-\frac{1}{B}\sum_i \log \mathrm{softmax}(z_i)_{y_i}$. Its graph holds the forward operations, then the operations
# TensorFlow added under the name scope `gradient_tape/` to compute the gradients.

# %% tags=["tensorflow"]
w_tf = tf.Variable(tf.zeros([784, 10]))
b_tf = tf.Variable(tf.zeros([10]))


@tf.function
def loss_and_grads_tf(x, y):
    with tf.GradientTape() as tape:
        logits = tf.matmul(x, w_tf) + b_tf
        log_p = tf.nn.log_softmax(logits)
        loss = -tf.reduce_mean(tf.reduce_sum(tf.one_hot(y, 10) * log_p, axis=1))
    return loss, tape.gradient(loss, [w_tf, b_tf])


graph = loss_and_grads_tf.get_concrete_function(
    tf.TensorSpec([None, 784]), tf.TensorSpec([None], tf.int64)
).graph
ops = [op for op in graph.get_operations() if op.type not in ("Const", "NoOp")]
forward = [op for op in ops if not op.name.startswith("gradient_tape/")]
backward = [op for op in ops if op.name.startswith("gradient_tape/")]
print(f"forward ({len(forward)} ops):", " ".join(op.type for op in forward))
print(f"backward ({len(backward)} ops), among them:")
for op in backward:
    if op.type == "MatMul":
        inputs = ", ".join(t.op.name for t in op.inputs)
        print(
            f"  {op.name} = MatMul({inputs}, transpose_a={op.get_attr('transpose_a')})"
        )

# %% [markdown]
# The gradient of the weights is one matrix product of the input `x`, transposed, with the gradient arriving at the
# logits: $\partial L / \partial W = x^\top G$, the formula derived in the last part of this chapter. Most of the other
# backward operations handle shapes and broadcasting. Note also what is absent: no Python, no tape object. The graph
# is a complete, self-contained program for the loss and its gradients.

# %% [markdown]
# ### AutoGraph: Python control flow becomes graph operations
# Tracing runs Python once, so a Python `if` would pick one branch forever. `tf.function` therefore first rewrites the
# function with **AutoGraph**: an `if` or `while` whose condition is a *tensor* becomes a graph operation that decides
# at run time (`StatelessIf`, `StatelessWhile`), while control flow on *Python* values is executed during tracing
# (a Python `for` over `range(3)` is unrolled into three copies of its body)
# ([AutoGraph reference: control flow](https://github.com/tensorflow/tensorflow/blob/master/tensorflow/python/autograph/g3doc/reference/control_flow.md)).


# %% tags=["tensorflow"]
@tf.function
def signed_square_tf(x):
    if tf.reduce_sum(x) > 0:  # tensor condition: becomes a graph op
        return x * x
    return -x


@tf.function
def times_eight_unrolled(x):
    for _ in range(3):  # Python range: unrolled while tracing
        x = x * 2.0
    return x


@tf.function
def times_eight_loop(x):
    for _ in tf.range(3):  # tensor range: becomes a while loop
        x = x * 2.0
    return x


def op_types(fn):
    graph = fn.get_concrete_function(tf.TensorSpec([None])).graph
    return [op.type for op in graph.get_operations() if op.type != "Const"]


for fn in (signed_square_tf, times_eight_unrolled, times_eight_loop):
    print(f"{fn.__name__:<21}", " ".join(op_types(fn)))
print("\nAutoGraph's rewrite of the `if`:")
code = tf.autograph.to_code(signed_square_tf.python_function)
for line in code.splitlines():
    if "if_stmt" in line:
        print(line.strip()[:84], "...")

# %% [markdown]
# The graph with `StatelessIf` handles both signs of input without retracing; the check below runs it both ways. This
# is the case the article's "static graph" description misses entirely: a TensorFlow graph can hold data-dependent
# control flow, as long as the condition is a tensor.

# %%
np.testing.assert_allclose(signed_square_tf(tf.constant([1.0, 2.0])), [1.0, 4.0])
np.testing.assert_allclose(signed_square_tf(tf.constant([-1.0, -2.0])), [1.0, 2.0])
assert signed_square_tf.experimental_get_tracing_count() == 1
assert op_types(times_eight_unrolled).count("Mul") == 3
assert "StatelessWhile" in op_types(times_eight_loop)
print("checked: one trace serves both branches; the Python loop was unrolled")

# %% [markdown]
# ## PyTorch: the autograd graph, and graphs captured by `torch.compile` and `torch.export`
#
# ### The autograd graph is recorded as the code runs
# Every operation on a tensor that requires gradients creates a node of the backward graph and stores it in the
# result's `grad_fn`; each node lists the nodes it will pass gradients to in `next_functions`. The leaves are
# `AccumulateGrad` nodes, one per parameter, which add the incoming gradient into `.grad`
# ([PyTorch autograd mechanics](https://pytorch.org/docs/stable/notes/autograd.html)). Walking these links from the
# loss of chapter 4's MLP prints the graph that `backward()` will traverse:

# %% tags=["pytorch"]
names_pt = {id(p): name for name, p in model_pt.named_parameters()}


def autograd_graph(root):
    """Walk grad_fn.next_functions from *root*: nodes in visiting order, their labels,
    their depth (longest path from the root) and the edges between them."""
    order, labels, depth, edges = [], {}, {}, []

    def visit(node, d):
        if node not in depth:
            order.append(node)
            param = getattr(node, "variable", None)  # set on AccumulateGrad leaves
            labels[node] = (
                f"{names_pt[id(param)]} {tuple(param.shape)}"
                if param is not None
                else type(node).__name__
            )
        depth[node] = max(d, depth.get(node, 0))
        for child, _ in node.next_functions:
            if child is not None:
                edges.append((node, child))
                visit(child, d + 1)

    visit(root, 0)
    return order, labels, depth, edges


loss_pt = loss_fn_pt(model_pt(X_pt), y_pt)
order, labels, depth, edges = autograd_graph(loss_pt.grad_fn)
for node in order:
    print("    " * depth[node] + labels[node])

# %% [markdown]
# Read it from the top: the loss is `NllLoss` applied to `LogSoftmax` (that is how `CrossEntropyLoss` is computed),
# then each `Linear` layer appears as `AddmmBackward0` (a fused $b + xW^\top$) with the bias leaf, the layer below,
# and a transpose of the weight. The same graph, drawn; `backward()` follows the arrows from the loss on the right to
# the six parameters, shaded:


# %%
def draw_autograd_graph(order, labels, depth, edges, ax):
    """Lay the graph out left (parameters) to right (loss) and draw it on *ax*."""
    children = {node: [c for p, c in edges if p is node] for node in order}
    row, next_leaf = {}, [0]

    def place(node):  # leaves take successive rows, a parent sits between its children
        if node not in row:
            if children[node]:
                row[node] = np.mean([place(c) for c in children[node]])
            else:
                row[node] = next_leaf[0]
                next_leaf[0] += 1
        return row[node]

    place(order[0])
    last = max(depth.values())
    pos = {node: (last - depth[node], -row[node]) for node in order}
    color = tu.FRAMEWORK_COLORS["pytorch"]
    for parent, child in edges:
        ax.annotate(
            "",
            xy=pos[child],
            xytext=pos[parent],
            arrowprops={
                "arrowstyle": "-|>",
                "color": "0.5",
                "lw": 0.8,
                "shrinkA": 24,
                "shrinkB": 24,
            },
        )
    for node in order:
        leaf = hasattr(node, "variable")
        text = labels[node].replace("Backward0", "\nBackward0").replace(" (", "\n(")
        box = {
            "boxstyle": "round,pad=0.3",
            "ec": color,
            "fc": "#cfe3f1" if leaf else "white",
        }
        ax.text(*pos[node], text, ha="center", va="center", fontsize=7, bbox=box)
    ax.set_xlim(-0.6, last + 0.6)
    ax.set_ylim(-next_leaf[0] + 0.4, 0.6)
    ax.axis("off")


fig, ax = plt.subplots(figsize=(9, 3.6))
draw_autograd_graph(order, labels, depth, edges, ax)
ax.set_title("The autograd graph of loss_fn_pt(model_pt(X_pt), y_pt)")
fig.tight_layout()

# %% [markdown]
# Nothing of this graph exists before the forward pass runs, and `backward()` frees the intermediate values it saved.
# Because the graph is recorded anew on every call, ordinary Python control flow simply works: each call records the
# path it actually took.


# %% tags=["pytorch"]
def signed_square_pt(x):
    if x.sum() > 0:
        return x * x
    return -x


for values in ([1.0, 2.0], [-1.0, -2.0]):
    x = torch.tensor(values, requires_grad=True)
    out = signed_square_pt(x).sum()
    chain = []
    node = out.grad_fn
    while node is not None:
        chain.append(type(node).__name__)
        node = node.next_functions[0][0] if node.next_functions else None
    print(f"x = {values}: {' -> '.join(chain)}")

# %% [markdown]
# ### `torch.compile` captures an FX graph
# `torch.compile` is a just-in-time compiler: on the first call, TorchDynamo turns the function into an
# [FX graph](https://pytorch.org/docs/stable/fx.html) and passes it to a backend; the default backend, TorchInductor,
# generates fused kernels (C++ on CPU, Triton on GPU). Handing it the printing backend from above shows the graph
# Dynamo captured for the same dense-plus-ReLU layer that TensorFlow traced earlier. Like TensorFlow, Dynamo
# specialises on shapes at first; unlike TensorFlow's default, when a second batch size arrives it recompiles once
# with a **symbolic** batch dimension (`s77` below) and serves the later batch sizes from that graph
# ([dynamic shapes](https://pytorch.org/docs/stable/torch.compiler_dynamic_shapes.html)).

# %% tags=["pytorch"]
captured.clear()


def relu_layer_pt(x, w, b):
    return torch.relu(x @ w + b)


relu_layer_compiled = torch.compile(relu_layer_pt, backend=count_graphs)
w_pt, b_pt = torch.ones(784, 128), torch.zeros(128)
for batch in (8, 16, 32, 64):
    relu_layer_compiled(torch.ones(batch, 784), w_pt, b_pt)
    print(f"batch {batch:>2}: graphs compiled so far {len(captured)}")
for graph_module in captured:
    shapes = [
        tuple(n.meta["example_value"].shape)
        for n in graph_module.graph.nodes
        if n.op == "placeholder" and hasattr(n.meta["example_value"], "shape")
    ]
    print(f"\ninput shapes {shapes}")
    print(graph_module.graph)

# %% [markdown]
# ### Data-dependent control flow: a graph break, and `torch.export`
# TensorFlow's AutoGraph put the `if` of `signed_square` inside the graph. Dynamo does not rewrite Python; when the
# condition depends on tensor *values* it splits the function at that point (a **graph break**): one graph computes
# the condition, Python decides, and the branch actually taken is compiled as another graph. The other branch is
# compiled the first time it is needed.

# %% tags=["pytorch"]
captured.clear()
signed_square_compiled = torch.compile(signed_square_pt, backend=count_graphs)
for values in ([1.0, 2.0], [3.0, 4.0], [-1.0, -2.0]):
    signed_square_compiled(torch.tensor(values))
    print(f"x = {values}: graphs compiled so far {len(captured)}")
print()
for i, graph_module in enumerate(captured, 1):
    ops = [
        getattr(n.target, "__name__", str(n.target))
        for n in graph_module.graph.nodes
        if n.op in ("call_function", "call_method")
    ]
    print(f"graph {i}: {' '.join(ops)}")

# %% [markdown]
# [`torch.export`](https://pytorch.org/docs/stable/export.html) has a different job: produce **one** complete graph
# that runs without Python, for deployment. A graph break is not allowed, so exporting `signed_square` fails; the
# structured operator [`torch.cond`](https://pytorch.org/docs/stable/cond.html) expresses the branch inside the graph,
# the same role AutoGraph's `StatelessIf` plays in TensorFlow.


# %% tags=["pytorch"]
class SignedSquare(torch.nn.Module):
    def forward(self, x):
        return signed_square_pt(x)


class SignedSquareCond(torch.nn.Module):
    def forward(self, x):
        return torch.cond(x.sum() > 0, lambda x: x * x, lambda x: -x, (x,))


example = (torch.tensor([1.0, 2.0]),)
shapes_log = logging.getLogger("torch.fx.experimental.symbolic_shapes")
shapes_log.setLevel(logging.ERROR)  # PyTorch also logs a long warning about the failure
try:
    torch.export.export(SignedSquare(), example)
    export_error = None
except Exception as err:  # the exception class is internal and changes between versions
    export_error = err
    print("export of the Python `if` failed:", str(err).splitlines()[0][:44], "...")
shapes_log.setLevel(logging.NOTSET)
exported = torch.export.export(SignedSquareCond(), example)
print(exported.graph)

# %%
assert export_error is not None
assert len(captured) == 3  # condition, positive branch, negative branch
run_exported = exported.module()
for values in ([1.0, 2.0], [-1.0, -2.0]):
    x = torch.tensor(values)
    torch.testing.assert_close(run_exported(x), signed_square_pt(x))
print("checked: the exported graph with torch.cond computes both branches correctly")

# %% [markdown]
# Exporting chapter 4's MLP needs no changes, since its `forward` has no data-dependent branches. The exported graph
# lists the parameters as inputs and every operation at the level of PyTorch's core operator set (`aten`):

# %% tags=["pytorch"]
exported_mlp = torch.export.export(model_pt, (X_pt,))
print(exported_mlp.graph)

# %%
torch.testing.assert_close(exported_mlp.module()(X_pt), model_pt(X_pt))
print("checked: the exported MLP computes the same logits as the eager one")

# %% [markdown]
# ## What a graph buys, measured
#
# A graph lets the framework run a whole step without returning to Python between operations, and lets a compiler
# fuse operations (XLA for TensorFlow with `jit_compile=True`,
# [XLA guide](https://www.tensorflow.org/xla); TorchInductor for `torch.compile`). How much that is worth depends on
# how much time the Python overhead takes relative to the arithmetic. The measurement below times one full training
# step of chapter 4's MLP (forward pass, loss, gradients, SGD update) on the batch of 64 digits:
#
# - TensorFlow eagerly, as a `tf.function` graph, and as a `tf.function` compiled by XLA;
# - PyTorch eagerly. `torch.compile` with TorchInductor is left out: on a CPU it generates and compiles C++ code
#   before the first step, which takes far longer than this chapter's one-minute budget; chapter
#   {ref}`ch-performance` measures it.
#
# All variants start from the same weights, and the first step of each (which includes tracing and compiling) is
# checked to produce the same updated weights before anything is timed.

# %% tags=["tensorflow"]
import time
import timeit


def make_train_step_tf(model, optimizer):
    def train_step(X, y):
        with tf.GradientTape() as tape:
            loss = loss_fn_tf(y, model(X, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    return train_step


lr_bench = 0.1
steps, first_step_s, trained = {}, {}, {}
for name, wrap in [
    ("TensorFlow eager", lambda f: f),
    ("TensorFlow tf.function", tf.function),
    ("TensorFlow tf.function + XLA", lambda f: tf.function(f, jit_compile=True)),
]:
    model = make_model_tf(params_np)
    steps[name] = wrap(make_train_step_tf(model, keras.optimizers.SGD(lr_bench)))
    start = time.perf_counter()
    steps[name](X_tf, y_tf).numpy()  # the first call traces / compiles
    first_step_s[name] = time.perf_counter() - start
    trained[name] = model.get_weights()


# %% tags=["pytorch"]
def make_train_step_pt(model, optimizer):
    def train_step(X, y):
        optimizer.zero_grad()
        loss = loss_fn_pt(model(X), y)
        loss.backward()
        optimizer.step()
        return loss

    return train_step


name = "PyTorch eager"
model = make_model_pt(params_np)
steps[name] = make_train_step_pt(model, torch.optim.SGD(model.parameters(), lr_bench))
start = time.perf_counter()
steps[name](X_pt, y_pt).item()
first_step_s[name] = time.perf_counter() - start
trained[name] = weights_pt(model.parameters())

# %%
reference = trained["TensorFlow eager"]
for name, weights in trained.items():
    for w_ref, w in zip(reference, weights):
        np.testing.assert_allclose(w, w_ref, rtol=1e-5, atol=1e-6, err_msg=name)
print("checked: after one SGD step all four variants hold the same weights")
print("(rtol = 1e-5, atol = 1e-6)")

# %% [markdown]
# Now the timing: each variant runs 5 repetitions of 10 steps, and the table reports the median time per step. Each
# step ends by reading the loss back to Python (`.numpy()`, `.item()`), which waits for the step to finish on an
# accelerator too. These numbers depend on the machine and on whatever else it is running, so the tests do not compare
# them.

# %% tags=["nbval-ignore-output"]
import os


def median_step_ms(step, X, y, number=10, repeat=5):
    finish = (lambda t: t.numpy()) if isinstance(X, tf.Tensor) else (lambda t: t.item())
    times = timeit.repeat(lambda: finish(step(X, y)), number=number, repeat=repeat)
    return 1e3 * float(np.median(times)) / number


step_ms = {
    name: median_step_ms(step, *((X_tf, y_tf) if "Tensor" in name else (X_pt, y_pt)))
    for name, step in steps.items()
}
intra_op_tf = tf.config.threading.get_intra_op_parallelism_threads()
threads = (
    f"{os.cpu_count()} CPU cores; PyTorch used {torch.get_num_threads()} threads, "
    f"TensorFlow its default pool (intra-op setting {intra_op_tf}: TensorFlow decides)"
)
print(threads)
print(f"{'variant':<30}{'first step (s)':>15}{'median step (ms)':>18}")
for name in steps:
    print(f"{name:<30}{first_step_s[name]:>15.2f}{step_ms[name]:>18.2f}")

eager_tf, graph_tf = step_ms["TensorFlow eager"], step_ms["TensorFlow tf.function"]
tu.glue("ch03_step_tf_eager", f"{eager_tf:.1f} ms")
tu.glue("ch03_step_tf_graph", f"{graph_tf:.1f} ms")
tu.glue("ch03_step_tf_xla", f"{step_ms['TensorFlow tf.function + XLA']:.1f} ms")
tu.glue("ch03_step_pt_eager", f"{step_ms['PyTorch eager']:.1f} ms")
tu.glue("ch03_graph_speedup", f"{eager_tf / graph_tf:.1f}")
tu.glue("ch03_first_step_xla", f"{first_step_s['TensorFlow tf.function + XLA']:.1f} s")
tu.glue("ch03_threads", threads)

fig, ax = plt.subplots(figsize=(9, 2.6))
colors = [tu.FRAMEWORK_COLORS["tensorflow"]] * 3 + [tu.FRAMEWORK_COLORS["pytorch"]]
ax.barh(list(step_ms)[::-1], list(step_ms.values())[::-1], color=colors[::-1])
ax.set_xlabel("median time per training step (ms), lower is better")
ax.set_title("Chapter 4's MLP, one SGD step on 64 digits")
fig.tight_layout()

# %%
assert all(np.isfinite(v) and v > 0 for v in step_ms.values())
assert all(np.isfinite(v) and v > 0 for v in first_step_s.values())
print("timings are finite and positive")

# %% [markdown]
# On the machine that produced this page ({glue:text}`ch03_threads`), an eager TensorFlow step took
# {glue:text}`ch03_step_tf_eager`, the same step as a `tf.function` graph {glue:text}`ch03_step_tf_graph`
# ({glue:text}`ch03_graph_speedup` times faster), with XLA {glue:text}`ch03_step_tf_xla`, and an eager PyTorch step
# {glue:text}`ch03_step_pt_eager`. The graph pays for itself quickly here because the model is small: an eager step
# dispatches every operation of the forward pass, the backward pass and the update of six variables one at a time
# from Python, and for a 784-128-128-10 network on 64 digits that overhead outweighs the arithmetic. The price of the
# graph is paid once, on the first call: tracing and compiling took {glue:text}`ch03_first_step_xla` for the XLA
# variant. Two cautions when you read such numbers. First, eager TensorFlow is not how TensorFlow is meant to train
# fast (its guide recommends `tf.function` for performance, and Keras's `fit` uses it), so "TensorFlow eager versus
# PyTorch eager" is not a fair race between the frameworks. Second, the advantage of a graph shrinks as the model
# grows and the arithmetic dominates; chapter {ref}`ch-performance` measures larger models and batches.

# %% [markdown]
# ## Automatic differentiation, side by side
#
# Both frameworks implement reverse-mode automatic differentiation: record the operations of the forward pass, then
# walk the record backwards, multiplying local derivatives (the chain rule). The APIs differ in who owns the record
# and where the result goes.
#
# ### Returned or stored: `tape.gradient` and `backward()`
# TensorFlow records only inside a `tf.GradientTape` block, and `tape.gradient` **returns** the gradients. PyTorch
# records every operation on a tensor with `requires_grad=True`, and `backward()` **stores** the gradient in each leaf's
# `.grad` ([`tf.GradientTape`](https://www.tensorflow.org/api_docs/python/tf/GradientTape),
# [`torch.Tensor.backward`](https://pytorch.org/docs/stable/generated/torch.Tensor.backward.html)). For
# $y = \sum_i x_i^3$ the gradient is $3x^2$:

# %% tags=["tensorflow"]
x_tf = tf.Variable([1.0, 2.0, 3.0])
with tf.GradientTape() as tape:
    y = tf.reduce_sum(x_tf**3)
grad_tf = tape.gradient(y, x_tf)  # returned; nothing is stored on x_tf
grad_tf.numpy()

# %% tags=["pytorch"]
x_pt = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
y = (x_pt**3).sum()
y.backward()  # returns None; the gradient lands in x_pt.grad
x_pt.grad.numpy()

# %%
np.testing.assert_allclose(grad_tf.numpy(), 3 * np.array([1.0, 2.0, 3.0]) ** 2)
np.testing.assert_allclose(x_pt.grad.numpy(), grad_tf.numpy(), rtol=1e-6)
print("checked: both give 3 x^2")

# %% [markdown]
# The edges are where ported code breaks. Each line below tries one thing and prints what happens: the value, `None`,
# or the exception raised (its class and the start of its message).


# %%
def outcome(attempt):
    """Run *attempt*; describe its result or the exception it raises."""
    try:
        value = attempt()
    except Exception as err:
        return f"{type(err).__name__}: {str(err).splitlines()[0][:62]}..."
    if value is None:
        return "None"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(outcome(lambda v=v: v) for v in value) + "]"
    return f"{np.asarray(value).round(3).tolist()}"


# %% tags=["tensorflow"]
def tf_cases():
    w = tf.Variable(2.0)
    c = tf.constant(2.0)
    unused = tf.Variable(5.0)
    n = tf.Variable(2)  # an integer variable
    with tf.GradientTape() as t1:
        y1 = c * c
    with tf.GradientTape() as t2:
        t2.watch(c)
        y2 = c * c
    with tf.GradientTape() as t3:
        y3 = w * w
    t3.gradient(y3, w)
    with tf.GradientTape() as t4:
        y4 = w * 3.0
    with tf.GradientTape() as t5:
        y5 = n * n
    return {
        "constant, not watched": lambda: t1.gradient(y1, c),
        "constant after tape.watch": lambda: t2.gradient(y2, c),
        "second gradient() on one tape": lambda: t3.gradient(y3, w),
        "unused variable": lambda: t4.gradient(y4, [w, unused]),
        "integer variable": lambda: t5.gradient(y5, n),
    }


for case, attempt in tf_cases().items():
    print(f"{case:<30} {outcome(attempt)}")


# %% tags=["pytorch"]
def pt_cases():
    w = torch.tensor(2.0, requires_grad=True)
    c = torch.tensor(2.0)  # requires_grad=False, the default
    unused = torch.tensor(5.0, requires_grad=True)
    y3 = w * w
    y3.backward()
    return {
        "tensor without requires_grad": lambda: (c * c).backward(),
        "requires_grad=True": lambda: torch.autograd.grad(w * w, w),
        "second backward() on one graph": lambda: y3.backward(),
        "unused tensor": lambda: torch.autograd.grad(w * 3.0, [w, unused]),
        "unused, allow_unused=True": lambda: torch.autograd.grad(
            w * 3.0, [w, unused], allow_unused=True
        ),
        "integer tensor": lambda: torch.tensor(2, requires_grad=True),
    }


for case, attempt in pt_cases().items():
    print(f"{case:<30} {outcome(attempt)}")

# %% [markdown]
# The pattern: TensorFlow answers `None` where it has nothing to say (an unwatched tensor, an unused variable, an
# integer), which your code must handle (or ask for zeros with `unconnected_gradients=tf.UnconnectedGradients.ZERO`);
# PyTorch raises, unless you opt in (`allow_unused=True`). Both free the record after one backward pass; keep it with
# `persistent=True` (TensorFlow) or `retain_graph=True` (PyTorch).
#
# ### Gradient accumulation
# Because `backward()` **adds** into `.grad`, PyTorch accumulates gradients across calls by default, which is why
# every training loop calls `optimizer.zero_grad()`. Accumulation is also a tool: split a batch that does not fit in
# memory into micro-batches, backpropagate each, and step once. With a mean loss, each micro-batch's loss is divided by
# the number of micro-batches, so that the sum equals the full batch's mean. TensorFlow returns fresh gradients on
# every call, so you add them up yourself. Four micro-batches of 16 digits against the full batch of 64:

# %% tags=["tensorflow"]
model = make_model_tf(params_np)
n_micro = 4
accumulated_tf = [tf.zeros_like(v) for v in model.trainable_variables]
for X_micro, y_micro in zip(tf.split(X_tf, n_micro), tf.split(y_tf, n_micro)):
    with tf.GradientTape() as tape:
        loss = loss_fn_tf(y_micro, model(X_micro)) / n_micro
    grads = tape.gradient(loss, model.trainable_variables)
    accumulated_tf = [acc + g for acc, g in zip(accumulated_tf, grads)]

with tf.GradientTape() as tape:
    loss = loss_fn_tf(y_tf, model(X_tf))
full_tf = tape.gradient(loss, model.trainable_variables)
accumulated_tf = [g.numpy() for g in accumulated_tf]
full_tf = [g.numpy() for g in full_tf]

# %% tags=["pytorch"]
model = make_model_pt(params_np)
model.zero_grad()
for X_micro, y_micro in zip(X_pt.chunk(n_micro), y_pt.chunk(n_micro)):
    loss = loss_fn_pt(model(X_micro), y_micro) / n_micro
    loss.backward()  # adds into each parameter's .grad
accumulated_pt = weights_pt(p.grad for p in model.parameters())

model.zero_grad()
loss_fn_pt(model(X_pt), y_pt).backward()
full_pt = weights_pt(p.grad for p in model.parameters())

loss_fn_pt(model(X_pt), y_pt).backward()  # the classic bug: no zero_grad() before it
doubled_pt = weights_pt(p.grad for p in model.parameters())

# %%
for name, acc_tf, f_tf, acc_pt, f_pt, dbl in zip(
    PARAM_NAMES, accumulated_tf, full_tf, accumulated_pt, full_pt, doubled_pt
):
    np.testing.assert_allclose(acc_tf, f_tf, rtol=1e-5, atol=1e-7, err_msg=name)
    np.testing.assert_allclose(acc_pt, f_pt, rtol=1e-5, atol=1e-7, err_msg=name)
    np.testing.assert_allclose(f_pt, f_tf, rtol=1e-5, atol=1e-7, err_msg=name)
    np.testing.assert_allclose(dbl, 2 * f_pt, rtol=1e-5, atol=1e-7, err_msg=name)
print("checked: 4 accumulated micro-batches = the full batch, in both frameworks;")
print("a missing zero_grad() doubles PyTorch's gradients (rtol 1e-5, atol 1e-7)")

# %% [markdown]
# ### Higher-order gradients
# A gradient is itself computed by differentiable operations, so it can be differentiated again. TensorFlow nests
# tapes; PyTorch asks `backward` or `torch.autograd.grad` to record the backward pass with `create_graph=True`
# ([TensorFlow guide: advanced automatic differentiation](https://www.tensorflow.org/guide/advanced_autodiff)). For
# $f(x) = \tanh x$: $f' = 1 - \tanh^2 x$ and $f'' = -2 \tanh x \,(1 - \tanh^2 x)$.

# %% tags=["tensorflow"]
x_np = np.linspace(-3, 3, 7, dtype=np.float32)
x_tf = tf.Variable(x_np)
with tf.GradientTape() as outer:
    with tf.GradientTape() as inner:
        f = tf.tanh(x_tf)
    df_tf = inner.gradient(f, x_tf)  # computed while the outer tape records
d2f_tf = outer.gradient(df_tf, x_tf)
d2f_tf.numpy().round(4)

# %% tags=["pytorch"]
x_pt = torch.tensor(x_np, requires_grad=True)
f = torch.tanh(x_pt)
(df_pt,) = torch.autograd.grad(f.sum(), x_pt, create_graph=True)  # record the backward
(d2f_pt,) = torch.autograd.grad(df_pt.sum(), x_pt)
d2f_pt.numpy().round(4)

# %%
t = np.tanh(x_np)
np.testing.assert_allclose(df_tf.numpy(), 1 - t**2, rtol=1e-5, atol=1e-6)
np.testing.assert_allclose(df_pt.detach().numpy(), 1 - t**2, rtol=1e-5, atol=1e-6)
np.testing.assert_allclose(d2f_tf.numpy(), -2 * t * (1 - t**2), rtol=1e-5, atol=1e-6)
np.testing.assert_allclose(d2f_pt.numpy(), -2 * t * (1 - t**2), rtol=1e-5, atol=1e-6)
print("checked: first and second derivatives of tanh match the closed forms")

# %% [markdown]
# ### Stopping gradients
# `tf.stop_gradient(t)` and `t.detach()` return the same values with no history: backpropagation treats them as
# constants ([`tf.stop_gradient`](https://www.tensorflow.org/api_docs/python/tf/stop_gradient),
# [`torch.Tensor.detach`](https://pytorch.org/docs/stable/generated/torch.Tensor.detach.html)). A common use is the
# **straight-through estimator** for an operation whose derivative is zero almost everywhere, such as rounding in a
# quantised network: the forward pass rounds, the backward pass pretends the operation was the identity. Written as
# $x + \mathrm{stop}(\mathrm{round}(x) - x)$, the value is $\mathrm{round}(x)$ and the gradient is 1. Note also how the
# two frameworks differ on rounding itself: TensorFlow defines the gradient of `Round` as `None` (no gradient, in
# `tensorflow/python/ops/math_grad.py`), PyTorch as zeros.

# %% tags=["tensorflow"]
x_tf = tf.Variable([0.3, 1.6, -2.5])
with tf.GradientTape(persistent=True) as tape:
    rounded = tf.reduce_sum(tf.round(x_tf))
    straight_tf = x_tf + tf.stop_gradient(tf.round(x_tf) - x_tf)
    straight_sum = tf.reduce_sum(straight_tf)
print("forward:                 ", straight_tf.numpy())
print("gradient of round:       ", tape.gradient(rounded, x_tf))
print("gradient, straight-through:", tape.gradient(straight_sum, x_tf).numpy())

# %% tags=["pytorch"]
x_pt = torch.tensor([0.3, 1.6, -2.5], requires_grad=True)
rounded = torch.round(x_pt).sum()
straight_pt = x_pt + (torch.round(x_pt) - x_pt).detach()
print("forward:                 ", straight_pt.detach().numpy())
print("gradient of round:       ", torch.autograd.grad(rounded, x_pt)[0].numpy())
print(
    "gradient, straight-through:",
    torch.autograd.grad(straight_pt.sum(), x_pt)[0].numpy(),
)

# %% [markdown]
# ### Custom gradients
# Sometimes the automatic derivative is correct but useless. The Euclidean norm $\lVert x \rVert$ has gradient
# $x / \lVert x \rVert$, which is $0/0$ at $x = 0$. TensorFlow's `tf.norm` returns NaN there; PyTorch's
# `torch.linalg.vector_norm` returns 0, but the same norm written by hand as `torch.sqrt((x**2).sum())` returns NaN.
# A NaN gradient poisons every weight it reaches, so code that normalises vectors which can be zero (embeddings,
# gradient penalties) needs a norm with a safe gradient. Both frameworks let you supply the backward function
# yourself: [`tf.custom_gradient`](https://www.tensorflow.org/api_docs/python/tf/custom_gradient) and
# [`torch.autograd.Function`](https://pytorch.org/docs/stable/notes/extending.html#extending-torch-autograd).


# %% tags=["tensorflow"]
@tf.custom_gradient
def safe_norm_tf(x):
    norm = tf.norm(x)

    def grad(upstream):
        return upstream * tf.math.divide_no_nan(x, norm)  # 0 where norm == 0

    return norm, grad


def norm_gradients_tf(norm_fn, x_np):
    x = tf.Variable(x_np)
    with tf.GradientTape() as tape:
        y = norm_fn(x)
    return tape.gradient(y, x).numpy()


for x_case in ([3.0, 4.0], [0.0, 0.0]):
    x_case = np.array(x_case, dtype=np.float32)
    print(
        f"x = {x_case}: tf.norm {norm_gradients_tf(tf.norm, x_case)}, "
        f"safe_norm_tf {norm_gradients_tf(safe_norm_tf, x_case)}"
    )


# %% tags=["pytorch"]
class SafeNorm(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        norm = torch.linalg.vector_norm(x)
        ctx.save_for_backward(x, norm)
        return norm

    @staticmethod
    def backward(ctx, upstream):
        x, norm = ctx.saved_tensors
        safe = torch.where(norm > 0, x / norm, torch.zeros_like(x))  # 0 where norm == 0
        return upstream * safe


def norm_gradients_pt(norm_fn, x_np):
    x = torch.tensor(x_np, requires_grad=True)
    norm_fn(x).backward()
    return x.grad.numpy()


def by_hand(x):
    return torch.sqrt((x**2).sum())


for x_case in ([3.0, 4.0], [0.0, 0.0]):
    x_case = np.array(x_case, dtype=np.float32)
    built_in = norm_gradients_pt(torch.linalg.vector_norm, x_case)
    print(
        f"x = {x_case}: vector_norm {built_in}, "
        f"by hand {norm_gradients_pt(by_hand, x_case)}, "
        f"SafeNorm {norm_gradients_pt(SafeNorm.apply, x_case)}"
    )

# %%
nonzero, zero = np.array([3.0, 4.0], np.float32), np.zeros(2, np.float32)
for x_case, expected in ((nonzero, [0.6, 0.8]), (zero, [0.0, 0.0])):
    np.testing.assert_allclose(norm_gradients_tf(safe_norm_tf, x_case), expected)
    np.testing.assert_allclose(norm_gradients_pt(SafeNorm.apply, x_case), expected)
assert np.isnan(norm_gradients_tf(tf.norm, zero)).all()
assert np.isnan(norm_gradients_pt(by_hand, zero)).all()
print("checked: both custom gradients give x/|x|, and 0 at x = 0, where tf.norm")
print("and the hand-written PyTorch norm give NaN")

# %% [markdown]
# ## The math the article left out (its §3.3)
#
# This part derives what both frameworks compute when chapter {ref}`ch-code-examples` trains its MLP: the forward
# pass, the loss, the gradients by backpropagation, and the SGD and Adam updates. Each formula is then implemented in
# plain NumPy, and the NumPy numbers are compared with TensorFlow's and PyTorch's.
#
# ### Notation and the forward pass
# A batch holds $B$ examples: $X \in \mathbb{R}^{B \times 784}$, one flattened image per row, and labels
# $y \in \{0, \dots, 9\}^B$. Vectors are rows and a layer computes $XW + b$, the Keras layout ($W$ is
# $\text{in} \times \text{out}$; PyTorch stores $W^\top$). With $\mathrm{relu}(z) = \max(z, 0)$ applied elementwise:
#
# $$
# \begin{aligned}
# Z_1 &= X W_1 + b_1, & H_1 &= \mathrm{relu}(Z_1) & &(B \times 128)\\
# Z_2 &= H_1 W_2 + b_2, & H_2 &= \mathrm{relu}(Z_2) & &(B \times 128)\\
# \hat{Y} &= H_2 W_3 + b_3 & & & &(B \times 10)
# \end{aligned}
# $$
#
# $\hat{Y}$ holds the **logits**, what chapter 4's models return (`y_hat` in its training loop); the bias $b$ is added
# to every row.
#
# ### Softmax, cross-entropy, and the gradient at the logits
# Softmax turns a row of logits $z$ into probabilities, and the cross-entropy loss is the mean negative
# log-probability of the correct class:
#
# $$
# p_j = \mathrm{softmax}(z)_j = \frac{e^{z_j}}{\sum_{k} e^{z_k}}, \qquad
# L = \frac{1}{B} \sum_{i=1}^{B} \ell_i, \qquad
# \ell_i = -\log p_{i, y_i} = -z_{i, y_i} + \log \sum_k e^{z_{i,k}} .
# $$
#
# Differentiate one example's loss with respect to its logit $z_j$. The first term contributes $-1$ when $j = y$ and
# nothing otherwise; the derivative of $\log \sum_k e^{z_k}$ is $e^{z_j} / \sum_k e^{z_k} = p_j$. So
#
# $$
# \frac{\partial \ell}{\partial z_j} = p_j - [\,j = y\,]
# \qquad\Longrightarrow\qquad
# \frac{\partial L}{\partial \hat{Y}} = \frac{1}{B}\left(P - Y\right),
# $$
#
# where $P = \mathrm{softmax}(\hat{Y})$ row by row, $Y$ is the one-hot matrix of the labels ($Y_{ij} = 1$ if
# $j = y_i$), and the $1/B$ comes from the mean. The gradient is the predicted probabilities minus the truth: small
# when the model is confidently right, close to $-1/B$ at the correct class when it is confidently wrong. It is also
# why frameworks fuse softmax and cross-entropy into one operation (`from_logits=True`, `CrossEntropyLoss`): the
# fused form never computes $\log p$ of a probability that underflowed to 0. In code, subtracting each row's maximum
# before exponentiating leaves softmax unchanged and prevents overflow.
#
# Both frameworks' gradients at the logits, against $(P - Y)/B$ computed in NumPy:

# %% tags=["tensorflow"]
logits_np = model_tf(X_tf).numpy()  # the logits of the initial model, shared by both
logits_tf = tf.constant(logits_np)
with tf.GradientTape() as tape:
    tape.watch(logits_tf)
    loss = loss_fn_tf(y_tf, logits_tf)
dlogits_tf = tape.gradient(loss, logits_tf).numpy()

# %% tags=["pytorch"]
logits_pt = torch.tensor(logits_np, requires_grad=True)
loss = loss_fn_pt(logits_pt, torch.from_numpy(y_np))
loss.backward()
dlogits_pt = logits_pt.grad.numpy()

# %%
B = len(y_np)
shifted = logits_np - logits_np.max(axis=1, keepdims=True)
P = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
Y = np.eye(10)[y_np]
np.testing.assert_allclose(dlogits_tf, (P - Y) / B, rtol=1e-5, atol=1e-8)
np.testing.assert_allclose(dlogits_pt, (P - Y) / B, rtol=1e-5, atol=1e-8)
print("checked: dL/dy_hat = (softmax - onehot) / B in both frameworks")
print("(rtol 1e-5, atol 1e-8)")

# %% [markdown]
# ### Backpropagation through dense and ReLU layers
# Backpropagation applies the chain rule from the loss down, one layer at a time. Write $G_Z = \partial L/\partial Z$
# for the gradient arriving at a layer's output. For a dense layer $Z = HW + b$, each entry $Z_{ij} = \sum_k H_{ik}
# W_{kj} + b_j$ depends on $W_{kj}$ through $H_{ik}$, on $b_j$ directly, and on $H_{ik}$ through $W_{kj}$, so
#
# $$
# \frac{\partial L}{\partial W} = H^\top G_Z, \qquad
# \frac{\partial L}{\partial b} = \sum_{i=1}^{B} (G_Z)_{i,:}, \qquad
# \frac{\partial L}{\partial H} = G_Z\, W^\top .
# $$
#
# The weight gradient sums over the batch (the $H^\top G_Z$ product does it), the bias gradient sums the rows of
# $G_Z$, and $G_Z W^\top$ is passed on to the layer below. (The weight gradient is the `MatMul` with
# `transpose_a=True` in TensorFlow's backward graph above.) ReLU passes the gradient where its input was positive and
# blocks it elsewhere (at exactly 0 both frameworks use 0, as the cell after the formulas shows):
#
# $$
# H = \mathrm{relu}(Z) \quad\Longrightarrow\quad \frac{\partial L}{\partial Z} = \frac{\partial L}{\partial H}
# \odot [\,Z > 0\,] .
# $$
#
# For the MLP, starting from $G_3 = (P - Y)/B$:
#
# $$
# \begin{aligned}
# \nabla W_3 &= H_2^\top G_3, & \nabla b_3 &= \textstyle\sum_i (G_3)_{i,:}, & G_2 &= (G_3 W_3^\top) \odot [Z_2 > 0],\\
# \nabla W_2 &= H_1^\top G_2, & \nabla b_2 &= \textstyle\sum_i (G_2)_{i,:}, & G_1 &= (G_2 W_2^\top) \odot [Z_1 > 0],\\
# \nabla W_1 &= X^\top G_1, & \nabla b_1 &= \textstyle\sum_i (G_1)_{i,:} . & &
# \end{aligned}
# $$

# %%
x0_tf = tf.Variable([0.0])
with tf.GradientTape() as tape:
    r = tf.nn.relu(x0_tf)
x0_pt = torch.zeros(1, requires_grad=True)
torch.relu(x0_pt).sum().backward()
relu_grad_tf, relu_grad_pt = tape.gradient(r, x0_tf).numpy()[0], x0_pt.grad.item()
assert relu_grad_tf == relu_grad_pt == 0.0
print(f"relu'(0): TensorFlow {relu_grad_tf}, PyTorch {relu_grad_pt}")

# %% [markdown]
# ### The NumPy reference
# The same formulas, line by line. The reference computes in float64 from the float32 initial weights, so it gives
# the exact answer (to about 16 digits) that the frameworks' float32 arithmetic approximates.


# %%
def relu(Z):
    return np.maximum(Z, 0.0)


def softmax(Z):
    shifted = Z - Z.max(axis=1, keepdims=True)  # same result, no overflow in exp
    E = np.exp(shifted)
    return E / E.sum(axis=1, keepdims=True)


def loss_and_grads(params, X, y):
    """Cross-entropy of the MLP on (X, y), and its gradients [dW1, db1, ..., db3]."""
    W1, b1, W2, b2, W3, b3 = params
    B = len(y)
    # forward pass
    Z1 = X @ W1 + b1
    H1 = relu(Z1)
    Z2 = H1 @ W2 + b2
    H2 = relu(Z2)
    y_hat = H2 @ W3 + b3  # logits
    P = softmax(y_hat)
    loss = -np.mean(np.log(P[np.arange(B), y]))
    # backward pass
    G3 = (P - np.eye(P.shape[1])[y]) / B
    G2 = (G3 @ W3.T) * (Z2 > 0)
    G1 = (G2 @ W2.T) * (Z1 > 0)
    grads = [X.T @ G1, G1.sum(0), H1.T @ G2, G2.sum(0), H2.T @ G3, G3.sum(0)]
    return loss, grads


params64 = [p.astype(np.float64) for p in params_np]
X64 = X_np.astype(np.float64)
loss_np, grads_np = loss_and_grads(params64, X64, y_np)
print(f"NumPy loss at the initial weights: {loss_np:.4g}")

# %% [markdown]
# ### The same gradients in NumPy, TensorFlow and PyTorch
# The two frameworks differentiate chapter 4's models from the same initial weights, on the same 64 digits.
# TensorFlow uses the reduced-precision TensorFloat-32 format for float32 matrix products on recent NVIDIA GPUs
# unless told otherwise ([`enable_tensor_float_32_execution`](https://www.tensorflow.org/api_docs/python/tf/config/experimental/enable_tensor_float_32_execution));
# PyTorch's default is full float32 ([`torch.set_float32_matmul_precision`](https://pytorch.org/docs/stable/generated/torch.set_float32_matmul_precision.html)).
# The next cell turns TensorFloat-32 off so that a comparison at float32 tolerance is meaningful on every machine; on a
# CPU it changes nothing.

# %%
tf.config.experimental.enable_tensor_float_32_execution(False)
print("TensorFlow TF32:", tf.config.experimental.tensor_float_32_execution_enabled())
print("PyTorch float32 matmul precision:", torch.get_float32_matmul_precision())

# %% tags=["tensorflow"]
model_tf = make_model_tf(params_np)
with tf.GradientTape() as tape:
    loss_tf = loss_fn_tf(y_tf, model_tf(X_tf))
grads_tf = [g.numpy() for g in tape.gradient(loss_tf, model_tf.trainable_variables)]
print(f"TensorFlow loss: {float(loss_tf):.4g}")

# %% tags=["pytorch"]
model_pt = make_model_pt(params_np)
loss_pt = loss_fn_pt(model_pt(X_pt), y_pt)
loss_pt.backward()
grads_pt = weights_pt(p.grad for p in model_pt.parameters())
print(f"PyTorch loss: {loss_pt.item():.4g}")

# %% [markdown]
# float32 carries about 7 significant digits (machine epsilon $2^{-23} \approx 1.2 \times 10^{-7}$), and each gradient
# entry is a sum of 64 per-example contributions that passed through three layers, so a few units in the last place
# are expected. The check asks for agreement to `rtol = 1e-5` (5 significant digits) with an absolute floor of
# `atol = 1e-7` for entries near zero; the largest gradient entries are about $10^{-1}$.

# %%
GRAD_RTOL, GRAD_ATOL = 1e-5, 1e-7
np.testing.assert_allclose(float(loss_tf), loss_np, rtol=1e-6)
np.testing.assert_allclose(loss_pt.item(), loss_np, rtol=1e-6)
for name, g_np, g_tf, g_pt in zip(PARAM_NAMES, grads_np, grads_tf, grads_pt):
    assert g_tf.shape == g_pt.shape == g_np.shape, name
    np.testing.assert_allclose(g_tf, g_np, rtol=GRAD_RTOL, atol=GRAD_ATOL, err_msg=name)
    np.testing.assert_allclose(g_pt, g_np, rtol=GRAD_RTOL, atol=GRAD_ATOL, err_msg=name)
print("checked: NumPy, TensorFlow and PyTorch agree on the loss and on all six")
print(f"gradients (rtol {GRAD_RTOL:g}, atol {GRAD_ATOL:g})")

# %% [markdown]
# ### SGD and Adam
# **SGD** moves every parameter $\theta$ against its gradient $g = \partial L / \partial \theta$, scaled by the
# learning rate: $\theta \leftarrow \theta - \mathrm{lr}\cdot g$. Both `keras.optimizers.SGD` and `torch.optim.SGD`
# do exactly this when momentum and weight decay are off (their defaults).
#
# **Adam** ([Kingma & Ba, 2015, arXiv:1412.6980](https://arxiv.org/abs/1412.6980)) keeps, for every parameter, running
# averages of the gradient and of its square, corrects their bias towards zero in the first steps, and divides one by
# the square root of the other. At step $t = 1, 2, \dots$, starting from $m_0 = v_0 = 0$:
#
# $$
# \begin{aligned}
# m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t, &
# \hat{m}_t &= m_t / (1 - \beta_1^t),\\
# v_t &= \beta_2 v_{t-1} + (1 - \beta_2)\, g_t^2, &
# \hat{v}_t &= v_t / (1 - \beta_2^t),\\
# \theta_t &= \theta_{t-1} - \mathrm{lr} \cdot \frac{\hat{m}_t}{\sqrt{\hat{v}_t} + \epsilon}
# & &\text{(Algorithm 1 of the paper; PyTorch)}
# \end{aligned}
# $$
#
# The paper notes that the efficiency of Algorithm 1 "can, at the expense of clarity, be improved upon by changing the
# order of computation", and gives that version just before its §2.1: fold both bias corrections into the step size
# and add a constant $\hat\epsilon$ to the uncorrected $\sqrt{v_t}$:
#
# $$
# \theta_t = \theta_{t-1} - \mathrm{lr}\,\frac{\sqrt{1 - \beta_2^t}}{1 - \beta_1^t} \cdot
# \frac{m_t}{\sqrt{v_t} + \hat\epsilon}
# = \theta_{t-1} - \mathrm{lr} \cdot \frac{\hat{m}_t}{\sqrt{\hat{v}_t} + \hat\epsilon / \sqrt{1 - \beta_2^t}}
# \qquad \text{(Keras)} .
# $$
#
# The two are the same algorithm only if $\hat\epsilon = \epsilon\sqrt{1 - \beta_2^t}$. The frameworks chose
# differently. PyTorch documents Algorithm 1, with $\epsilon$ added to $\sqrt{\hat{v}_t}$
# ([`torch.optim.Adam`](https://pytorch.org/docs/stable/generated/torch.optim.Adam.html)); Keras's documentation says
# its `epsilon` "is 'epsilon hat' in the Kingma and Ba paper (in the formula just before Section 2.1), not the epsilon
# in Algorithm 1" ([Keras `Adam`](https://keras.io/api/optimizers/adam/)). So the same number means different things:
# expressed in Algorithm 1's terms, Keras's effective epsilon is $\hat\epsilon/\sqrt{1-\beta_2^t}$, which with
# $\beta_2 = 0.999$ is $\sqrt{1000} \approx 31.6$ times `epsilon` at the first step and decays towards `epsilon` over
# thousands of steps. The defaults differ as well:

# %%
default_tf = keras.optimizers.Adam()
default_pt = torch.optim.Adam(model_pt.parameters())
print(
    f"Keras:   lr {default_tf.learning_rate.numpy():g}, beta_1 {default_tf.beta_1:g}, "
    f"beta_2 {default_tf.beta_2:g}, epsilon {default_tf.epsilon:g}"
)
d = default_pt.defaults
print(f"PyTorch: lr {d['lr']:g}, betas {d['betas']}, eps {d['eps']:g}")

# %% [markdown]
# The NumPy reference implements SGD and both forms of Adam. The algebraic identity above is checked first, on random
# moments over many steps: Algorithm 1 with $\epsilon_t = \hat\epsilon / \sqrt{1-\beta_2^t}$ takes exactly Keras's
# step.


# %%
def make_sgd(lr):
    def update(params, grads, t):
        return [p - lr * g for p, g in zip(params, grads)]

    return update


def make_adam(lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7, form="algorithm 1"):
    """Adam in NumPy; form="algorithm 1" (PyTorch) or "epsilon hat" (Keras)."""
    m, v = {}, {}

    def update(params, grads, t):
        new = []
        for i, (p, g) in enumerate(zip(params, grads)):
            m[i] = beta_1 * m.get(i, 0.0) + (1 - beta_1) * g
            v[i] = beta_2 * v.get(i, 0.0) + (1 - beta_2) * g**2
            if form == "algorithm 1":
                m_hat, v_hat = m[i] / (1 - beta_1**t), v[i] / (1 - beta_2**t)
                new.append(p - lr * m_hat / (np.sqrt(v_hat) + epsilon))
            elif form == "epsilon hat":
                step = lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
                new.append(p - step * m[i] / (np.sqrt(v[i]) + epsilon))
            else:
                raise ValueError(f"unknown form {form!r}")
        return new

    return update


def train_numpy(params, X, y, k, update):
    """k full-batch steps of *update* from *params*; returns the final parameters."""
    for t in range(1, k + 1):
        _, grads = loss_and_grads(params, X, y)
        params = update(params, grads, t)
    return params


# the identity: Algorithm 1 with epsilon / sqrt(1 - beta_2**t) is the epsilon-hat form
check_rng = np.random.default_rng(1)
m_t, v_t = check_rng.normal(size=1000), check_rng.uniform(0, 1e-10, size=1000)
for t in (1, 10, 100, 10_000):
    b1t, b2t, eps = 0.9**t, 0.999**t, 1e-7
    keras_form = np.sqrt(1 - b2t) / (1 - b1t) * m_t / (np.sqrt(v_t) + eps)
    eps_t = eps / np.sqrt(1 - b2t)
    alg1_form = (m_t / (1 - b1t)) / (np.sqrt(v_t / (1 - b2t)) + eps_t)
    np.testing.assert_allclose(keras_form, alg1_form, rtol=1e-12)
print("checked: epsilon-hat form == Algorithm 1 with epsilon / sqrt(1 - beta_2^t)")

# %% [markdown]
# ### The same weights after five steps
# Now five full-batch steps from the same initial weights, in all three, with identical hyper-parameters: SGD with
# `lr = 0.1`, then Adam with `lr = 1e-3` and Keras's default `epsilon = 1e-7` given to both frameworks.


# %% tags=["tensorflow"]
def train_tf(make_optimizer, k):
    model = make_model_tf(params_np)
    optimizer = make_optimizer()
    history = []
    for _ in range(k):
        with tf.GradientTape() as tape:
            loss = loss_fn_tf(y_tf, model(X_tf))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        history.append(model.get_weights())
    return history  # the weights after each step


k, lr_sgd, lr_adam, eps = 5, 0.1, 1e-3, 1e-7
sgd_tf = train_tf(lambda: keras.optimizers.SGD(learning_rate=lr_sgd), k)
adam_tf = train_tf(lambda: keras.optimizers.Adam(learning_rate=lr_adam, epsilon=eps), k)


# %% tags=["pytorch"]
def train_pt(make_optimizer, k):
    model = make_model_pt(params_np)
    optimizer = make_optimizer(model.parameters())
    history = []
    for _ in range(k):
        optimizer.zero_grad()
        loss_fn_pt(model(X_pt), y_pt).backward()
        optimizer.step()
        history.append(weights_pt(model.parameters()))
    return history


sgd_pt = train_pt(lambda p: torch.optim.SGD(p, lr=lr_sgd), k)
adam_pt = train_pt(lambda p: torch.optim.Adam(p, lr=lr_adam, eps=eps), k)

# %%
sgd_np = train_numpy(params64, X64, y_np, k, make_sgd(lr_sgd))
adam_alg1_np = train_numpy(params64, X64, y_np, k, make_adam(lr_adam, epsilon=eps))
adam_hat_np = train_numpy(
    params64, X64, y_np, k, make_adam(lr_adam, epsilon=eps, form="epsilon hat")
)


def max_abs_diff(a, b):
    return max(float(np.abs(np.asarray(x) - np.asarray(y)).max()) for x, y in zip(a, b))


# %% [markdown]
# What tolerance is fair for Adam? Its first steps are close to $\mathrm{lr}\cdot \mathrm{sign}(g)$ for large
# gradients, but for a gradient comparable to $\epsilon$ the step is about $\mathrm{lr}\cdot g/\epsilon$, so a float32
# rounding error $\delta g$ in such a gradient moves the weight by $\mathrm{lr}\cdot\delta g/\epsilon$. With
# $\delta g \approx 10^{-9}$ (the gradient agreement measured above is around $10^{-8}$ at worst) that is
# $10^{-5}$ per step in the worst case. We therefore compare Adam's weights with `atol = 1e-5` (0.2 % of the
# $k \cdot \mathrm{lr} = 5 \times 10^{-3}$ that Adam can move a weight in five steps) and SGD's, which has no such
# amplification, with `atol = 1e-6`.

# %%
SGD_ATOL, ADAM_ATOL = 1e-6, 1e-5
for name, w_np, w_tf, w_pt in zip(PARAM_NAMES, sgd_np, sgd_tf[-1], sgd_pt[-1]):
    np.testing.assert_allclose(w_tf, w_np, rtol=0, atol=SGD_ATOL, err_msg=name)
    np.testing.assert_allclose(w_pt, w_np, rtol=0, atol=SGD_ATOL, err_msg=name)
print(f"SGD:  TensorFlow = PyTorch = NumPy after {k} steps (atol {SGD_ATOL:g})")
for name, w_hat, w_alg1, w_tf, w_pt in zip(
    PARAM_NAMES, adam_hat_np, adam_alg1_np, adam_tf[-1], adam_pt[-1]
):
    np.testing.assert_allclose(w_tf, w_hat, rtol=0, atol=ADAM_ATOL, err_msg=name)
    np.testing.assert_allclose(w_pt, w_alg1, rtol=0, atol=ADAM_ATOL, err_msg=name)
    # the frameworks differ by exactly the difference between the two forms
    np.testing.assert_allclose(
        w_tf - w_pt, w_hat - w_alg1, rtol=0, atol=2 * ADAM_ATOL, err_msg=name
    )
gap = max_abs_diff(adam_tf[-1], adam_pt[-1])
assert gap > 100 * ADAM_ATOL
print(f"Adam: after {k} steps, TensorFlow = NumPy's epsilon-hat form and")
print(
    f"PyTorch = NumPy's Algorithm 1 (atol {ADAM_ATOL:g}). TensorFlow and PyTorch differ"
)
print(f"by more than {100 * ADAM_ATOL:g}, exactly as much as the two forms differ.")

# %% [markdown]
# The measured differences, for the record (they vary slightly between machines, so the tests check the bounds above
# rather than these numbers):

# %% tags=["nbval-ignore-output"]
rows = [
    ("gradients: TensorFlow vs NumPy", max_abs_diff(grads_tf, grads_np)),
    ("gradients: PyTorch vs NumPy", max_abs_diff(grads_pt, grads_np)),
    ("SGD weights: TensorFlow vs NumPy", max_abs_diff(sgd_tf[-1], sgd_np)),
    ("SGD weights: PyTorch vs NumPy", max_abs_diff(sgd_pt[-1], sgd_np)),
    (
        "Adam weights: TensorFlow vs NumPy (epsilon hat)",
        max_abs_diff(adam_tf[-1], adam_hat_np),
    ),
    (
        "Adam weights: PyTorch vs NumPy (Algorithm 1)",
        max_abs_diff(adam_pt[-1], adam_alg1_np),
    ),
    ("Adam weights: TensorFlow vs PyTorch, same epsilon", gap),
    (
        "largest Adam move of any weight (TensorFlow)",
        max_abs_diff(adam_tf[-1], params_np),
    ),
]
for what, value in rows:
    print(f"{what:<52} {value:.1e}")
tu.glue("ch03_adam_gap", f"{gap:.1e}")
tu.glue("ch03_adam_move", f"{rows[-1][1]:.1e}")

# %% [markdown]
# With the same `epsilon = 1e-7`, Keras's and PyTorch's Adam end up to {glue:text}`ch03_adam_gap` apart after five
# steps, while the largest distance any weight moved was {glue:text}`ch03_adam_move`: for some weights the two
# frameworks disagree by most of the step. Which weights? The ones whose gradients are small compared with the
# effective epsilon. Many pixels at the edge of MNIST's 28 × 28 frame are almost always 0, so the first layer's
# weights from them get tiny gradients. On the first step $\hat{m}_1 = g$ and $\sqrt{\hat{v}_1} = |g|$, so a weight
# moves by $\mathrm{lr}\cdot|g|/(|g| + \epsilon_{\text{eff}})$, with $\epsilon_{\text{eff}} = \epsilon$ in PyTorch
# and $\epsilon\sqrt{1000}$ in Keras. The figure plots that curve for both frameworks, and on it the measured first
# step of every first-layer weight (dots).

# %%
g1 = grads_np[0].ravel()  # first-layer gradients at the initial weights
has_grad = g1 != 0
step_tf = np.abs(adam_tf[0][0] - params_np[0]).ravel()[has_grad] / lr_adam
step_pt = np.abs(adam_pt[0][0] - params_np[0]).ravel()[has_grad] / lr_adam
g_abs = np.abs(g1[has_grad])
eps_eff = {"tensorflow": eps / np.sqrt(1 - 0.999), "pytorch": eps}

fig, ax = plt.subplots(figsize=(9, 3.8))
bins = np.logspace(-10, 0, 61)
counts = ax.twinx()  # behind the curves: where the first-layer gradients actually lie
counts.hist(g_abs, bins=bins, color="0.88", weights=np.full(g_abs.size, 1 / g1.size))
counts.set_ylabel("share of first-layer weights", color="0.45")
counts.grid(False)
ax.set_zorder(counts.get_zorder() + 1)
ax.patch.set_visible(False)
curve = np.logspace(-10, 0, 300)
for fw, measured, label in (
    ("tensorflow", step_tf, "Keras (epsilon hat)"),
    ("pytorch", step_pt, "PyTorch (Algorithm 1)"),
):
    color = tu.FRAMEWORK_COLORS[fw]
    ax.plot(curve, curve / (curve + eps_eff[fw]), color=color, lw=1, label=label)
    ax.scatter(g_abs[::5], measured[::5], s=5, color=color, alpha=0.5, lw=0)
ax.axvline(eps, color="0.4", ls=":", lw=1)
ax.text(eps * 1.3, 0.15, "epsilon = 1e-7", fontsize=8, color="0.3")
ax.set_xscale("log")
ax.set(
    xlabel="|gradient| of a first-layer weight at step 1 (log scale)",
    ylabel="first Adam step / lr",
    title="Same epsilon, different Adam: formula (lines) and measured steps (dots)",
)
ax.legend(loc="center left")
fig.tight_layout()

# %% tags=["nbval-ignore-output"]
half_step = eps * (np.sqrt(1000) - 2)  # below this, Keras's step < half of PyTorch's
share_small = float(np.mean((g1 != 0) & (np.abs(g1) < half_step)))
share_zero = float(np.mean(g1 == 0))
tu.glue("ch03_small_grad_share", f"{share_small:.1%}")
tu.glue("ch03_zero_grad_share", f"{share_zero:.0%}")
print(f"first-layer weights with 0 < |g| < {half_step:.2g}: {share_small:.1%}")
print(f"first-layer weights with g = 0: {share_zero:.1%}")

# %% [markdown]
# On the first step, weights whose gradients exceed about $10^{-4}$ move by almost exactly $\mathrm{lr}$ in both
# frameworks. Below that, Keras's effective epsilon, 31.6 times larger, shrinks the step first: for
# $|g| < \epsilon(\sqrt{1000} - 2) \approx 3 \times 10^{-6}$ Keras's first step is less than half of PyTorch's. On
# this batch that holds for {glue:text}`ch03_small_grad_share` of the first layer's weights
# ({glue:text}`ch03_zero_grad_share` more have a gradient of exactly 0, because their pixel is 0 in all 64 images or
# their hidden unit is inactive for all of them, and do not move in either framework). Neither choice is wrong
# (epsilon is a hyper-parameter),
# but a model ported between the frameworks with "the same" epsilon is not trained by the same algorithm. Neither
# optimizer has an argument that selects the other placement: to reproduce Keras's Adam in PyTorch, write the update
# yourself (exercise 3); for the opposite direction, subclass the Keras optimizer.

# %% [markdown]
# ## Side by side
#
# | | TensorFlow | PyTorch |
# |---|---|---|
# | default execution | eager | eager |
# | capture a graph | `tf.function`: traces the Python function, AutoGraph rewrites control flow | `torch.compile`: TorchDynamo reads the bytecode, a backend compiles; `torch.export` for one whole graph |
# | Python side effects in a captured function | run once, while tracing | kept; Dynamo guards on them and may recompile |
# | a new input shape | a new trace, unless `input_signature` or `reduce_retracing=True` | one recompilation, then a symbolic dimension |
# | `if` on a tensor's value | becomes `StatelessIf` inside the graph | graph break under `torch.compile`; `torch.cond` for `torch.export` |
# | optimising compiler | XLA (`jit_compile=True`) | TorchInductor (default backend of `torch.compile`) |
# | what is recorded for autodiff | operations inside a `tf.GradientTape` | every operation on a tensor with `requires_grad=True` |
# | computing gradients | `tape.gradient(loss, variables)` returns them | `loss.backward()` adds them into `.grad`; `torch.autograd.grad` returns them |
# | unwatched or unused input | `None` | an error, unless `allow_unused=True` |
# | a second backward pass | `GradientTape(persistent=True)` | `backward(retain_graph=True)` |
# | accumulation | add the returned gradients yourself (or the optimizer's `gradient_accumulation_steps`) | automatic; `optimizer.zero_grad()` resets |
# | higher-order gradients | nested tapes | `create_graph=True` |
# | stop a gradient | `tf.stop_gradient(x)` | `x.detach()` |
# | custom gradient | `@tf.custom_gradient` | `torch.autograd.Function` |
# | Adam's epsilon | default `1e-7`, added to $\sqrt{v_t}$ ("epsilon hat") | default `1e-8`, added to $\sqrt{\hat v_t}$ (Algorithm 1) |
#
# Keras's `gradient_accumulation_steps` is an argument of every Keras 3 optimizer
# ([Keras optimizers](https://keras.io/api/optimizers/)); it updates the weights every *n* steps with the average of
# the gradients since the last update.
#
# ## Summary
#
# - The article's "TensorFlow is static, PyTorch is dynamic" describes TensorFlow 1. Today both run eagerly by default
#   and both capture graphs on request: `tf.function` by tracing, `torch.compile` and `torch.export` through
#   TorchDynamo. They differ in how capture treats Python: TensorFlow runs it once at trace time (side effects
#   vanish, Python values are frozen into the graph, tensor conditions become graph operations), Dynamo keeps its
#   meaning by guarding and recompiling, and breaks the graph at data-dependent branches.
# - A graph removes Python from the inner loop. For a model as small as chapter 4's MLP that made a TensorFlow
#   training step {glue:text}`ch03_graph_speedup` times faster on this page's machine; the first call pays for
#   tracing and compiling.
# - Both frameworks do reverse-mode automatic differentiation. TensorFlow's tape returns gradients and answers
#   `None` for what it did not record; PyTorch stores gradients in `.grad`, adds to them on every `backward()`, and
#   raises on what it cannot differentiate. Stopping, higher-order and custom gradients map one to one.
# - The math behind training is short: $\partial L/\partial \hat{Y} = (\mathrm{softmax}(\hat{Y}) - Y)/B$, then
#   $H^\top G$, row sums and $G W^\top$ through each dense layer, and a mask through each ReLU. A 20-line NumPy
#   version reproduces both frameworks' gradients to float32 precision.
# - SGD is identical in both frameworks. Adam is not: with the same `epsilon`, Keras adds it to $\sqrt{v_t}$ and
#   PyTorch to $\sqrt{\hat v_t}$, which made the two disagree by most of a step for first-layer weights with tiny
#   gradients. Each matches its own NumPy reference within the stated tolerance.
#
# ## Exercises
#
# 1. **Unrolled or looped.** Write two `tf.function`s that multiply their input by 2 *n* times, one with a Python
#    `for _ in range(n)` and one with `for _ in tf.range(n)`. Count the operations in each traced graph for
#    $n$ = 1, 10 and 100. Which grows, and what does that mean for tracing time and graph size?
# 2. **Gradient check.** Check the NumPy backward pass `loss_and_grads` against central finite differences,
#    $(L(\theta + h) - L(\theta - h)) / 2h$ with $h = 10^{-6}$ in float64, for five random entries of $W_1$ and five
#    of $b_3$.
# 3. **Keras's Adam in PyTorch.** Implement the epsilon-hat update with PyTorch operations (inside `torch.no_grad()`,
#    without `torch.optim`), run five steps from `params_np`, and check that the weights match Keras's (`adam_tf[-1]`)
#    within `ADAM_ATOL`.


# %% tags=["hide-cell"]
# Solution 1: the Python loop is unrolled into n multiplications while tracing; the
# tf.range loop is one While op whose body holds a single multiplication.
def make_loops(n):
    """Two tf.functions that double x n times: a Python loop and a tf.range loop."""

    @tf.function
    def python_loop(x):
        for _ in range(n):
            x = x * 2.0
        return x

    @tf.function
    def tensor_loop(x):
        for _ in tf.range(n):
            x = x * 2.0
        return x

    return python_loop, tensor_loop


def graph_ops(fn):
    graph = fn.get_concrete_function(tf.TensorSpec([])).graph
    return [op.type for op in graph.get_operations()]


for n in (1, 10, 100):
    python_loop, tensor_loop = make_loops(n)
    unrolled, looped = graph_ops(python_loop), graph_ops(tensor_loop)
    assert unrolled.count("Mul") == n and "StatelessWhile" in looped
    assert float(python_loop(tf.constant(1.0))) == float(tensor_loop(tf.constant(1.0)))
    print(f"n = {n:>3}: Python loop {len(unrolled):>3} ops, tf.range {len(looped)} ops")
# The unrolled graph grows with n: tracing takes longer and the graph gets bigger (XLA
# can still fuse the copies). The While loop stays the same size, and n could even be a
# tensor input.

# %% tags=["hide-cell"]
# Solution 2: central differences in float64 agree with backpropagation to about 1e-6
# relative (h = 1e-6 balances the truncation error, ~h^2, against rounding, ~1e-16/h).
fd_rng = np.random.default_rng(2)
h = 1e-6
nonzero_W1 = np.argwhere(grads_np[0] != 0)  # entries of W1 that have a gradient
checks = [(0, tuple(e)) for e in fd_rng.choice(nonzero_W1, size=5, replace=False)]
checks += [(5, (j,)) for j in range(5)]
worst = 0.0
for index, entry in checks:
    plus = [p.copy() for p in params64]
    minus = [p.copy() for p in params64]
    plus[index][entry] += h
    minus[index][entry] -= h
    numeric = (
        loss_and_grads(plus, X64, y_np)[0] - loss_and_grads(minus, X64, y_np)[0]
    ) / (2 * h)
    analytic = grads_np[index][entry]
    worst = max(worst, abs(numeric - analytic) / abs(analytic))
assert worst < 1e-5, worst
print("10 entries checked; backpropagation and finite differences agree to 1e-5")

# %% tags=["hide-cell"]
# Solution 3: Keras's update in PyTorch. The moments live in plain tensors; the step
# size folds in both bias corrections, and epsilon is added to sqrt(v), not sqrt(v_hat).
model = make_model_pt(params_np)
params = list(model.parameters())
m = [torch.zeros_like(p) for p in params]
v = [torch.zeros_like(p) for p in params]
beta_1, beta_2 = 0.9, 0.999
for t in range(1, k + 1):
    model.zero_grad()
    loss_fn_pt(model(X_pt), y_pt).backward()
    with torch.no_grad():
        step = lr_adam * (1 - beta_2**t) ** 0.5 / (1 - beta_1**t)
        for p, m_i, v_i in zip(params, m, v):
            m_i.mul_(beta_1).add_(p.grad, alpha=1 - beta_1)
            v_i.mul_(beta_2).addcmul_(p.grad, p.grad, value=1 - beta_2)
            p.sub_(step * m_i / (v_i.sqrt() + eps))
for name, w_mine, w_keras in zip(PARAM_NAMES, weights_pt(params), adam_tf[-1]):
    np.testing.assert_allclose(w_mine, w_keras, rtol=0, atol=ADAM_ATOL, err_msg=name)
print(f"PyTorch with Keras's Adam update = Keras after {k} steps (atol {ADAM_ATOL:g})")
