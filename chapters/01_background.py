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
# (ch-background)=
# # How deep learning got two frameworks
#
# The article opens (§1, 背景介绍, "background") with a five-line history of deep learning that ends with TensorFlow
# and PyTorch. Of its five milestones, one describes the wrong method, one names no work at all, and one gives a
# year that the project's own record contradicts. This
# chapter keeps the history as **data**: every event carries its date and a primary source, the timeline figure and
# the tables below are drawn from that data, and check cells hold the prose to it. It then adds what a reader
# choosing between the frameworks today needs to know, which happened after the article's story ends in 2016.
#
# :::{admonition} Learning goals
# :class: tip
# - know which of the article's historical claims hold, and where to check each one;
# - place TensorFlow 2's eager execution, Keras 3's multiple backends and PyTorch 2's `torch.compile` on the same
#   timeline as the frameworks' first releases;
# - read the versions and devices of your own environment, and know why they matter for the rest of the book.
# :::
#
# **Prerequisites:** none. **Runs in:** a few seconds.

# %% [markdown]
# ## The environment this page ran in
#
# Every chapter starts by printing what it runs on: the versions of NumPy, PyTorch, TensorFlow and Keras next to the
# versions the book was tested with, and the device each framework will use. On Colab the versions differ (Colab
# updates its frameworks on its own schedule) and the report says so.

# %% tags=["nbval-ignore-output"]
import itertools

import tutorial_utils as tu

import torch
import tensorflow as tf
import matplotlib.pyplot as plt
import numpy as np
from datetime import date
from IPython.display import Markdown

tu.use_book_style()
info = tu.describe_environment()

# %% [markdown]
# The report varies by machine, so the test suite checks only what must hold everywhere: both frameworks imported,
# the version strings they report are the ones installed, and each has a device.

# %%
assert torch.__version__.split("+")[0] == info["versions"]["torch"].split("+")[0]
assert tf.__version__ == info["versions"]["tensorflow"]
print(f"PyTorch will run on a {tu.torch_device().type} device,")
print(f"TensorFlow on {tu.tf_device()[1:4]}")

# %% [markdown]
# ## The record, as data
#
# Each event below has a date (to the day where the source gives one), a kind, and the primary source: the paper, the
# release announcement or the release notes. Everything else on this page is computed from this list.


# %%
def event(when, kind, what, source):
    return {
        "date": date.fromisoformat(when),
        "kind": kind,
        "what": what,
        "source": source,
    }


EVENTS = [
    event(
        "1951-09-01",
        "method",
        "Robbins and Monro: stochastic approximation, the root of SGD",
        "https://doi.org/10.1214/aoms/1177729586",
    ),
    event(
        "1986-10-09",
        "method",
        "Rumelhart, Hinton and Williams popularise backpropagation",
        "https://doi.org/10.1038/323533a0",
    ),
    event(
        "2006-07-01",
        "method",
        "Hinton, Osindero and Teh: greedy layer-wise pre-training of deep belief nets",
        "https://doi.org/10.1162/neco.2006.18.7.1527",
    ),
    event(
        "2010-06-30",
        "framework",
        "Theano at SciPy 2010: symbolic graphs, automatic differentiation, GPUs",
        "https://doi.org/10.25080/Majora-92bf1922-003",
    ),
    event(
        "2012-06-26",
        "method",
        "Google's DistBelief network learns to detect cats in unlabelled video frames",
        "https://arxiv.org/abs/1112.6209",
    ),
    event(
        "2012-12-03",
        "method",
        "AlexNet wins ILSVRC-2012: 15.3% top-5 error against 26.2% for the runner-up",
        "https://papers.nips.cc/paper/2012/hash/"
        "c399862d3b9d6b76c8436e924a68c45b-Abstract.html",
    ),
    event(
        "2014-06-20",
        "framework",
        "Caffe (Berkeley): a C++ framework, layers declared in configuration files",
        "https://arxiv.org/abs/1408.5093",
    ),
    event(
        "2014-09-10",
        "method",
        "Sutskever, Vinyals and Le (Google): sequence-to-sequence learning",
        "https://arxiv.org/abs/1409.3215",
    ),
    event(
        "2015-06-05",
        "framework",
        "Chainer 1.0 on PyPI: define-by-run, the graph is built as the code runs",
        "https://pypi.org/project/chainer/1.0.0/",
    ),
    event(
        "2015-11-09",
        "tensorflow",
        "Google open-sources TensorFlow under the Apache 2.0 licence",
        "https://research.google/blog/"
        "tensorflow-googles-latest-machine-learning-system-open-sourced-for-everyone/",
    ),
    event(
        "2017-01-19",
        "pytorch",
        "PyTorch released publicly by Facebook AI Research (version 0.1)",
        "https://pytorch.org/blog/a-year-in/",
    ),
    event(
        "2017-02-15",
        "tensorflow",
        "TensorFlow 1.0: graphs run in a tf.Session",
        "https://github.com/tensorflow/tensorflow/releases/tag/v1.0.0",
    ),
    event(
        "2018-12-07",
        "pytorch",
        "PyTorch 1.0: TorchScript for deployment, Caffe2 merged in",
        "https://github.com/pytorch/pytorch/releases/tag/v1.0.0",
    ),
    event(
        "2019-09-30",
        "tensorflow",
        "TensorFlow 2.0: eager execution by default, Keras as the high-level API",
        "https://blog.tensorflow.org/2019/09/tensorflow-20-is-now-available.html",
    ),
    event(
        "2022-09-12",
        "pytorch",
        "PyTorch moves to the PyTorch Foundation (Linux Foundation)",
        "https://www.linuxfoundation.org/blog/"
        "welcoming-pytorch-to-the-linux-foundation",
    ),
    event(
        "2023-03-15",
        "pytorch",
        "PyTorch 2.0: torch.compile captures and compiles graphs from Python",
        "https://github.com/pytorch/pytorch/releases/tag/v2.0.0",
    ),
    event(
        "2023-11-28",
        "tensorflow",
        "Keras 3.0: one API on TensorFlow, JAX or PyTorch",
        "https://keras.io/keras_3/",
    ),
]
print(
    f"{len(EVENTS)} events from {EVENTS[0]['date'].year} to {EVENTS[-1]['date'].year}"
)

# %%
assert all(a["date"] <= b["date"] for a, b in itertools.pairwise(EVENTS)), (
    "keep EVENTS sorted"
)
assert all(e["source"].startswith("https://") for e in EVENTS), (
    "every event needs a source"
)
assert {e["kind"] for e in EVENTS} == {"method", "framework", "tensorflow", "pytorch"}


def when(fragment):
    """The date of the one event whose description contains *fragment*."""
    found = [e["date"] for e in EVENTS if fragment in e["what"]]
    assert len(found) == 1, (fragment, found)
    return found[0]


# %% [markdown]
# ## A timeline drawn from the record
#
# Oldest at the top. The first fifth of the axis covers the six decades of methods that made deep learning possible
# (the grey band marks the change of scale), the rest the fifteen years in which the frameworks appeared. TensorFlow
# events are orange and PyTorch events blue, as in every figure of this book.

# %%
kind_colors = {
    "method": "0.35",
    "framework": tu.FRAMEWORK_COLORS["other"],
    "tensorflow": tu.FRAMEWORK_COLORS["tensorflow"],
    "pytorch": tu.FRAMEWORK_COLORS["pytorch"],
}


def squeeze(year):
    """Map a (fractional) year onto the axis: 1950-2009 share the first fifth of it."""
    return np.where(year < 2009, (year - 1950) / 59, 1 + (year - 2009) / 4)


fig, ax = plt.subplots(figsize=(10, 6.4))
for i, e in enumerate(EVENTS):
    year = e["date"].year + (e["date"].timetuple().tm_yday - 1) / 365
    x, y = squeeze(year), len(EVENTS) - i
    ax.plot([x, x], [0, y], color=kind_colors[e["kind"]], lw=0.8, alpha=0.5)
    ax.plot(x, y, "o", color=kind_colors[e["kind"]], ms=6)
    left = x > 3.4  # late events are labelled on the left, so the text stays inside
    ax.annotate(
        f"{e['date'].year}  {e['what'].split(':')[0]}",
        (x, y),
        xytext=(-7 if left else 7, 0),
        textcoords="offset points",
        ha="right" if left else "left",
        va="center",
        fontsize=8,
    )
ticks = [1951, 1986, 2006, *range(2010, 2025, 2)]
ax.set_xticks(squeeze(np.array(ticks)), [str(t) for t in ticks])
ax.axvspan(0.975, 1.06, color="0.9")  # the break between the two time scales
ax.set(xlim=(-0.05, 5.1), ylim=(0, len(EVENTS) + 1), yticks=[])
ax.spines["left"].set_visible(False)
ax.grid(axis="y", visible=False)
handles = [plt.Line2D([], [], marker="o", ls="", color=c) for c in kind_colors.values()]
ax.legend(
    handles,
    ["method", "other framework", "TensorFlow / Keras", "PyTorch"],
    loc="lower left",
    fontsize=8,
)
ax.set_title(
    "From stochastic approximation to two frameworks (every point has a source)"
)
fig.tight_layout()

# %% [markdown]
# ## The article's five claims, checked
#
# The article lists five milestones (§1, items 1 to 5). The table puts each next to what its source says; the check
# cell below it fails if the table and the record above ever disagree.

# %%
CLAIMS = [
    (
        "2006年，Hinton等人提出了深度神经网络的训练方法，"
        "即使用随机梯度下降（SGD）算法对神经网络进行训练"
        " (2006: Hinton et al. proposed training deep networks with SGD)",
        "Wrong method. The 2006 paper trains deep belief nets by greedy layer-wise"
        " pre-training, one restricted Boltzmann machine at a time. Backpropagation"
        " was popularised by Rumelhart, Hinton and Williams in 1986, and SGD goes"
        " back to Robbins and Monro (1951).",
        ["greedy layer-wise", "popularise backpropagation", "Robbins and Monro"],
    ),
    (
        "2012年，AlexNet在ImageNet大规模图像分类比赛上取得了卓越的成绩"
        " (2012: AlexNet's ImageNet result)",
        "Correct: 15.3% top-5 error in ILSVRC-2012, against 26.2% for the"
        " second-best entry.",
        ["AlexNet"],
    ),
    (
        "2014年，Google Brain团队成功地训练了一个深度神经网络，"
        "用于自然语言处理（NLP）任务"
        " (2014: Google Brain trained a deep network for NLP)",
        "Vague: the work is not named. The 2014 milestone from Google is"
        " sequence-to-sequence learning (Sutskever, Vinyals and Le), which"
        " translated English to French with LSTMs. Google Brain's famous large"
        " network was the 2012 'cat' network, trained on video frames, not text.",
        ["sequence-to-sequence", "DistBelief"],
    ),
    (
        "2015年，Google开源了TensorFlow框架 (2015: Google open-sourced TensorFlow)",
        "Correct: announced and released on 9 November 2015.",
        ["open-sources TensorFlow"],
    ),
    (
        "2016年，PyTorch框架由Facebook开源 (2016: Facebook open-sourced PyTorch)",
        "Imprecise. The code was written in 2016, and some sources (the Linux"
        " Foundation's 2022 announcement among them) say 'since its release in"
        " 2016', but the PyTorch team's own post of 19 January 2018 marks 'one year"
        " since PyTorch was released publicly': the public release was January"
        " 2017. Its ancestor, the Lua framework Torch, is much older.",
        ["PyTorch released publicly", "PyTorch Foundation"],
    ),
]


def cite(fragment):
    e = next(e for e in EVENTS if fragment in e["what"])
    return f"[{e['date'].isoformat()}]({e['source']})"


rows = ["| The article says | What the record shows | Sources |", "|---|---|---|"]
for claim, verdict, fragments in CLAIMS:
    rows.append(f"| {claim} | {verdict} | {', '.join(cite(f) for f in fragments)} |")
Markdown("\n".join(rows))

# %%
assert when("greedy layer-wise").year == 2006
assert when("popularise backpropagation").year == 1986
assert when("AlexNet").year == 2012
assert when("sequence-to-sequence").year == 2014
assert when("open-sources TensorFlow") == date(2015, 11, 9)
assert when("PyTorch released publicly").year == 2017  # not 2016, as the article says
print("every claim's verdict agrees with the dated record")

# %% [markdown]
# ## What happened after the article's story ends
#
# The article's history stops at 2016 and describes TensorFlow as "separating the graph from the data" and PyTorch
# as "combining them". That was a fair summary of TensorFlow 1.x, where a program first built a graph and then ran
# it in a `tf.Session`. It has not been true since TensorFlow 2.0 (2019), which runs operations eagerly, one at a
# time, like PyTorch, and builds a graph only when a function is wrapped in `tf.function`. PyTorch moved the other
# way: PyTorch 2.0 (2023) added `torch.compile`, which captures a graph from ordinary Python code. Both frameworks
# now offer both styles; {ref}`ch-core-concepts` and {ref}`ch-graphs-autodiff` show the two in running code.
#
# Here is the first half of that claim, checked in this kernel: TensorFlow executes eagerly unless asked otherwise,
# and `tf.function` builds a graph.

# %%
x_tf = tf.constant([1.0, 2.0, 3.0])
print("TensorFlow executes eagerly:", tf.executing_eagerly())
print("an eager result is a value:", (x_tf * 2).numpy())


@tf.function
def double(x):
    print(
        "  (tracing: inside the graph, executing eagerly =", tf.executing_eagerly(), ")"
    )
    return x * 2


print("the same operation through tf.function:", double(x_tf).numpy())
graph_ops = [
    op.type for op in double.get_concrete_function(x_tf).graph.get_operations()
]
print("ops in the traced graph:", graph_ops)

# %% [markdown]
# The time between a framework's first public release and the releases that changed how it is used, computed from
# the record:

# %%
milestones = [
    ("TensorFlow", "open-sources TensorFlow", "TensorFlow 1.0"),
    ("TensorFlow", "open-sources TensorFlow", "TensorFlow 2.0"),
    ("PyTorch", "PyTorch released publicly", "PyTorch 1.0"),
    ("PyTorch", "PyTorch released publicly", "PyTorch 2.0"),
]
for name, first, later in milestones:
    months = (when(later) - when(first)).days / 30.44
    print(f"{name:<11} first public release -> {later:<15} {months:5.1f} months")

# %% [markdown]
# ## Summary
#
# - Three of the article's five milestones need correcting: 2006 was greedy layer-wise pre-training of deep belief
#   nets, not SGD (backpropagation dates to 1986, SGD to 1951); its 2014 "Google Brain NLP network" is best read as
#   sequence-to-sequence learning; PyTorch's public release was January 2017, not 2016.
# - TensorFlow was open-sourced on 9 November 2015; TensorFlow 2.0 (September 2019) made eager execution the default;
#   Keras 3 (November 2023) runs one API on TensorFlow, JAX or PyTorch.
# - PyTorch 1.0 (December 2018) added TorchScript for deployment, PyTorch 2.0 (March 2023) added `torch.compile`,
#   and the PyTorch Foundation (September 2022) now governs the project.
# - "TensorFlow separates graph and data, PyTorch combines them" describes 2016. Today both run eagerly by default
#   and both can capture graphs.
#
# ## Exercises
#
# 1. Add JAX's first release on PyPI (its release history is at https://pypi.org/project/jax/#history) to `EVENTS`
#    with its source, keep the list sorted, and check that the assertions still pass.
# 2. Which framework reached its 1.0 release sooner after its first public release, and by how many months?
# 3. The article calls TensorFlow and PyTorch "the two main frameworks". Using only `EVENTS`, list the frameworks
#    that came before TensorFlow, with their years.

# %% tags=["hide-cell"]
# Solution 1: PyPI's release history lists jax 0.1, uploaded on 2018-12-07.
jax_event = event(
    "2018-12-07",
    "framework",
    "JAX 0.1 on PyPI: composable function transformations compiled with XLA",
    "https://pypi.org/project/jax/0.1/",
)
with_jax = sorted([*EVENTS, jax_event], key=lambda e: e["date"])
assert all(a["date"] <= b["date"] for a, b in itertools.pairwise(with_jax))
print([e["date"].year for e in with_jax if e["kind"] == "framework"])

# %% tags=["hide-cell"]
# Solution 2
tf_months = (when("TensorFlow 1.0") - when("open-sources TensorFlow")).days / 30.44
pt_months = (when("PyTorch 1.0") - when("PyTorch released publicly")).days / 30.44
assert tf_months < pt_months
print(f"TensorFlow: {tf_months:.0f} months, PyTorch: {pt_months:.0f} months")
print(f"TensorFlow was {pt_months - tf_months:.0f} months faster to 1.0")

# %% tags=["hide-cell"]
# Solution 3
before_tf = [
    e for e in EVENTS if e["kind"] == "framework" and e["date"] < when("open-sources")
]
for e in before_tf:
    print(e["date"].year, e["what"])
