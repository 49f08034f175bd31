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
# (ch-summary)=
# # What the book found, and how to choose
#
# The article ends (§7, 总结, "summary") by listing its own section titles again and concluding that TensorFlow and
# PyTorch "each have different advantages and characteristics" and that future models will need better
# explainability, transfer, multi-task learning and data processing. It never says what those advantages are, or
# which framework a reader should pick for what.
#
# This chapter does both, from the evidence of the earlier chapters. It reads the numbers those chapters measured
# straight out of their executed notebooks (nothing below is retyped), checks that they are all there, and lays
# them out as a decision guide in which every row points to the chapter and the measurement behind it.
#
# :::{admonition} Learning goals
# :class: tip
# - know what each chapter of the book corrected, filled in or measured in the article;
# - choose between TensorFlow and PyTorch for a concrete need, and know which measurement or source backs the choice;
# - read a measurement with its conditions: these numbers come from a 2-core CPU and change on a GPU.
# :::
#
# **Prerequisites:** the earlier chapters, or at least their summaries. **Runs in:** a few seconds.

# %% tags=["nbval-ignore-output"]
import json
import tempfile
import urllib.request
from pathlib import Path

import tutorial_utils as tu

import matplotlib.pyplot as plt

tu.use_book_style()
info = tu.describe_environment()

# %% [markdown]
# ## Gathering the measurements
#
# Each chapter stores the numbers its prose quotes in its own notebook (with `tu.glue`). `tu.read_glued` reads them
# back. In the book's repository the notebooks sit next to this one; opened alone (on Colab), this chapter fetches
# them from the book's repository and says so, or says in one line that it cannot.

# %%
CHAPTERS = {
    "02_core_concepts": "ch-core-concepts",
    "03_graphs_autodiff": "ch-graphs-autodiff",
    "04_code_examples": "ch-code-examples",
    "05_trends_scale": "ch-trends-scale",
    "05_trends_explainability": "ch-trends-explainability",
    "05_trends_transfer": "ch-trends-transfer",
    "05_trends_data": "ch-trends-data",
    "06_faq": "ch-faq",
    "08_performance": "ch-performance",
}


def notebook_path(stem, folder):
    """The chapter's notebook next to this one, else a copy from the repository."""
    local = Path(f"{stem}.ipynb")
    if local.is_file():
        return local, "here"
    raw = BOOK_REPOSITORY.replace(
        "https://github.com/", "https://raw.githubusercontent.com/"
    )
    url = f"{raw}/{BOOK_BRANCH}/chapters/{stem}.ipynb"
    target = Path(folder) / local.name
    with urllib.request.urlopen(url, timeout=10) as response:
        target.write_bytes(response.read())
    return target, "fetched"


results, origins = {}, {}
with tempfile.TemporaryDirectory() as folder:
    for stem in CHAPTERS:
        try:
            path, origins[stem] = notebook_path(stem, folder)
            results[stem] = tu.read_glued(path)
        except (OSError, json.JSONDecodeError) as exc:
            origins[stem], results[stem] = f"unavailable ({exc.__class__.__name__})", {}
for stem, values in results.items():
    print(f"{stem:<26} {len(values):>3} values ({origins[stem]})")

# %% [markdown]
# The guide below uses these values. The check cell fails if a chapter stops producing one of them (a renamed key,
# a deleted measurement), so the guide cannot silently lose its evidence.

# %%
EVIDENCE = {
    "04_code_examples": ["ch04_acc_tf", "ch04_acc_pt", "ch04_sgd_acc_double"],
    "03_graphs_autodiff": [
        "ch03_step_tf_eager",
        "ch03_step_tf_graph",
        "ch03_step_pt_eager",
    ],
    "02_core_concepts": ["ch02_copy_ms", "ch02_dlpack_us", "ch02_rosetta_rows"],
    "05_trends_scale": [
        "ch05_dist_diff_tensorflow",
        "ch05_dist_diff_pytorch",
        "ch05_xla_gelu_speedup",
        "ch05_inductor_gelu_speedup",
        "ch05_inductor_cold_s",
    ],
    "05_trends_explainability": ["ch05_xai_acc", "ch05_xai_complete64"],
    "05_trends_transfer": ["ch05_transfer_gain_tf", "ch05_transfer_gain_pt"],
    "05_trends_data": ["ch05_data_bridge_loss_diff", "ch05_data_bridge_acc"],
    "08_performance": [
        "ch08_ceiling_tensorflow",
        "ch08_ceiling_pytorch",
        "ch08_util64_tensorflow",
        "ch08_util64_pytorch",
        "ch08_utilbig_tensorflow",
        "ch08_utilbig_pytorch",
        "ch08_largest",
        "ch08_ratio_eager",
        "ch08_ratio_featured",
        "ch08_ratio_fastest",
        "ch08_latency_torch",
        "ch08_latency_function",
        "ch08_recommend_tensorflow",
        "ch08_recommend_pytorch",
    ],
}
available = all(results[stem] for stem in EVIDENCE)
missing = [
    f"{stem}: {key}"
    for stem, keys in EVIDENCE.items()
    for key in keys
    if results[stem] and key not in results[stem]
]
assert not missing, f"chapters no longer provide: {missing}"
if available:
    print(f"all {sum(map(len, EVIDENCE.values()))} values the guide quotes are present")
else:
    print("some chapters could not be read: the guide below shows n/a for their values")

# %% [markdown]
# Each value is glued again under its original name, so that the text of this page can quote it:

# %%
for stem, keys in EVIDENCE.items():
    for key in keys:
        tu.glue(key, results[stem].get(key, "n/a"))
print(f"{sum(map(len, EVIDENCE.values()))} values glued for the guide")

# %% [markdown]
# ## What each chapter changed in the article
#
# | Article section | What the article said | What the book does | Chapter |
# |---|---|---|---|
# | §1 Background | five milestones, three of them wrong or vague | each date checked against its primary source, as data, with a timeline | {ref}`ch-background` |
# | §2 Core concepts | TensorFlow "separates graph and data", PyTorch "combines" them | tensors side by side, a Rosetta stone of {glue:text}`ch02_rosetta_rows` operations checked equal, eager execution in both | {ref}`ch-core-concepts` |
# | §3 Algorithms | four vague steps per framework; the math section is an empty link | tracing, autograd graphs, `torch.compile`/`torch.export`; the MLP's math in NumPy, checked against both frameworks | {ref}`ch-graphs-autodiff` |
# | §4 Code | two snippets, both with a softmax too many, neither runnable | the same MLP trained to {glue:text}`ch04_acc_tf` (Keras) and {glue:text}`ch04_acc_pt` (PyTorch); the bugs measured | {ref}`ch-code-examples` |
# | §5 Trends | five one-line trends | each trend run in both frameworks: scale, explainability, transfer, multi-task, data | {ref}`ch-trends` |
# | §6 FAQ | empty | seventeen questions, each answered by a checked cell | {ref}`ch-faq` |
# | §7 Summary | "each has its own advantages" | this decision guide, and measured performance in {ref}`ch-performance` | this page |

# %% [markdown]
# ## A decision guide
#
# Read each row as "if this is what you need, here is what each framework offers, and here is the evidence". Where
# the evidence is a measurement, it was taken on the machine that built this page (a 2-core CPU unless the
# environment report above says otherwise); on a GPU the speeds change, and {ref}`ch-performance` and `make bench`
# re-measure them on yours. Where the evidence is the state of a project, the row links its own announcement.
#
# | Need | TensorFlow | PyTorch | Evidence |
# |---|---|---|---|
# | **Learn the models, not the framework** | Keras `compile`/`fit`: the loop is written for you | the loop is yours: every step visible | the same MLP reaches {glue:text}`ch04_acc_tf` with `fit` and {glue:text}`ch04_acc_pt` with the explicit loop, from the same initial weights ({ref}`§4 <ch-code-examples>`) |
# | **Research prototyping and debugging** | eager by default; `tf.function` for speed, with tracing rules to learn (side effects run once, retracing) | eager by default; plain Python control flow; `torch.compile` when wanted | one small training step: TensorFlow eager {glue:text}`ch03_step_tf_eager`, as a `tf.function` graph {glue:text}`ch03_step_tf_graph`, PyTorch eager {glue:text}`ch03_step_pt_eager` ({ref}`§3 <ch-graphs-autodiff>`) |
# | **Speed on the hardware at hand** | graphs (`tf.function`, XLA) matter most: eager TensorFlow pays a high per-op cost | eager is already fast on small models | TensorFlow/PyTorch throughput at batch 64: {glue:text}`ch08_ratio_eager` eager, {glue:text}`ch08_ratio_featured` for the book's loops, {glue:text}`ch08_ratio_fastest` fastest against fastest ({ref}`§8 <ch-performance>`) |
# | **Teaching loops that are also fast** | {glue:text}`ch08_recommend_tensorflow` | {glue:text}`ch08_recommend_pytorch` | measured in {ref}`§8 <ch-performance>` at batch sizes from 32 to {glue:text}`ch08_largest` |
# | **Scale: several GPUs or machines** | `tf.distribute` strategies | `torch.distributed`, DDP, `torchrun` | two workers train the same model as one process: largest weight difference {glue:text}`ch05_dist_diff_tensorflow` (TensorFlow) and {glue:text}`ch05_dist_diff_pytorch` (PyTorch) ({ref}`§5.1 <ch-trends-scale>`) |
# | **Compilers** | XLA (`jit_compile=True`), the compiler TensorFlow shares with JAX | `torch.compile` (TorchDynamo + Inductor); the first compile is slow on a CPU | a fused GELU: {glue:text}`ch05_xla_gelu_speedup` times faster under XLA, {glue:text}`ch05_inductor_gelu_speedup` under Inductor; Inductor's cold start {glue:text}`ch05_inductor_cold_s` s ({ref}`§5.1 <ch-trends-scale>`) |
# | **TPUs** | native: TensorFlow and JAX compile to TPUs through XLA | through [PyTorch/XLA](https://github.com/pytorch/xla) | not measured here (no TPU); XLA itself is exercised in {ref}`§5.1 <ch-trends-scale>` |
# | **Production serving** | SavedModel + [TensorFlow Serving](https://www.tensorflow.org/tfx/guide/serving) | `torch.export` + [AOTInductor](https://docs.pytorch.org/docs/stable/torch.compiler_aot_inductor.html) or a general server; [TorchServe](https://github.com/pytorch/serve) is in limited maintenance | both save and reload models with identical predictions ({ref}`§6 <ch-faq>`); `torch.export` captures a graph ({ref}`§3 <ch-graphs-autodiff>`) |
# | **Mobile and edge** | [LiteRT](https://ai.google.dev/edge/litert), formerly TensorFlow Lite, which also converts PyTorch and JAX models | [ExecuTorch](https://docs.pytorch.org/executorch/) | not measured here (no device) |
# | **Pretrained models and the wider ecosystem** | Keras 3 models run on either backend; [Hugging Face Transformers v5 removed its TensorFlow code](https://github.com/huggingface/transformers/blob/main/MIGRATION_GUIDE_V5.md) | Transformers v5 is PyTorch-only | one Keras model trained on both backends: epoch losses within {glue:text}`ch05_data_bridge_loss_diff` (relative), both at {glue:text}`ch05_data_bridge_acc` ({ref}`§5.4 <ch-trends-data>`) |
# | **Using both in one program** | DLPack hands tensors over without copying | the same, in the other direction | a 64 MiB tensor: {glue:text}`ch02_copy_ms` through NumPy, {glue:text}`ch02_dlpack_us` through DLPack ({ref}`§2 <ch-core-concepts>`) |
# | **Explainability, transfer, multi-task** | all available with `GradientTape` and Keras layers | all available with autograd and `nn.Module` | the same attributions from both frameworks (completeness error {glue:text}`ch05_xai_complete64`); transfer beats scratch by {glue:text}`ch05_transfer_gain_tf` and {glue:text}`ch05_transfer_gain_pt` points at two labels per digit ({ref}`§5.2 <ch-trends-explainability>`, {ref}`§5.3 <ch-trends-transfer>`) |

# %% [markdown]
# ## The performance evidence in one figure
#
# Both panels are drawn from the values gathered above. The left panel is the share of each framework's own
# measured matrix-multiply ceiling that its featured training loop reached on the book's MLP: small batches pay a
# fixed per-step cost that the matrix products cannot hide. The right panel is TensorFlow's throughput divided by
# PyTorch's at batch 64, for the eager loops, the loops the book teaches, and each framework's fastest configuration.


# %%
def number(text):
    """'15.3%' -> 15.3, '0.54' -> 0.54, 'n/a' -> nan."""
    try:
        return float(str(text).replace("%", "").replace(",", ""))
    except ValueError:
        return float("nan")


perf = results["08_performance"]
fig, (ax_util, ax_ratio) = plt.subplots(1, 2, figsize=(9, 3.4))
largest = perf.get("ch08_largest", "n/a")
for offset, fw, name in (
    (-0.2, "tensorflow", "TensorFlow"),
    (0.2, "pytorch", "PyTorch"),
):
    shares = [
        number(perf.get(f"ch08_util64_{fw}")),
        number(perf.get(f"ch08_utilbig_{fw}")),
    ]
    ax_util.bar(
        [offset, 1 + offset],
        shares,
        width=0.4,
        label=name,
        color=tu.FRAMEWORK_COLORS[fw],
    )
ax_util.set_xticks([0, 1], ["batch 64", f"batch {largest}"])
ax_util.set(ylabel="% of the matmul ceiling", title="Featured loop, MLP")
ax_util.legend()
kinds = ["eager", "featured", "fastest"]
ratios = [number(perf.get(f"ch08_ratio_{kind}")) for kind in kinds]
ax_ratio.bar(kinds, ratios, color="0.55")
ax_ratio.axhline(1, color="black", lw=0.8)
ax_ratio.set(
    ylabel="TensorFlow / PyTorch throughput", title="MLP, batch 64 (1 = equal)"
)
fig.tight_layout()

# %% [markdown]
# ## How to choose, in five sentences
#
# 1. If you are learning, either framework teaches the same models: chapter 4 trains the same network to the same
#    accuracy in both, and Keras writes the training loop for you while PyTorch shows you every step.
# 2. If you do research on pretrained models, note where they live: Hugging Face Transformers, the most used library
#    of pretrained models, removed its TensorFlow code in version 5 to focus on PyTorch. PyTorch's eager mode is also
#    fast without a graph, while TensorFlow asks you to learn `tf.function`'s tracing rules to be fast.
# 3. If you deploy to phones, microcontrollers or TPUs, TensorFlow has LiteRT (formerly TensorFlow Lite, which also
#    converts PyTorch and JAX models) and native TPU support through XLA; PyTorch has ExecuTorch for devices and
#    PyTorch/XLA for TPUs. Check the current state of each path for your target before you commit.
# 4. If you are unsure, Keras 3 lets one model definition train on either backend, and DLPack lets both frameworks
#    share tensors in one program without copies.
# 5. Whatever you choose, measure on your own hardware: chapter 8 and `make bench` show that the ranking depends on
#    the model, the batch size and the machine.
#
# ## Summary
#
# - The article's summary named no advantage of either framework; the book's chapters measured them.
# - Both frameworks compute the same things: every comparison in the book is checked by a cell, from single
#   operations to distributed training.
# - They differ in defaults (initialisation, Adam's epsilon, batch-norm momentum, dtypes), in how graphs are made
#   (`tf.function` tracing versus TorchDynamo), in speed per configuration, and in ecosystems.
# - The decision guide above ties each recommendation to a chapter and a number; `make bench` re-measures the
#   speed-related ones on the reader's machine.
#
# ## Exercises
#
# 1. List every value gathered from chapter 8 whose name contains `latency`, with its value.
# 2. Add a row to the guide for "numerical agreement": which chapter shows the largest difference between the two
#    frameworks that the book still accepts as "the same"? Find it among the gathered values (hint: chapter 5).
# 3. Write the guide as a JSON file that a script could read: one object per row with the need, the chapter label
#    and the glue keys it quotes.

# %% tags=["hide-cell"]
# Solution 1
latencies = {k: v for k, v in results["08_performance"].items() if "latency" in k}
for key, value in latencies.items():
    print(f"{key}: {value} ms")
assert not available or "ch08_latency_torch" in latencies

# %% tags=["hide-cell"]
# Solution 2: the distributed-training comparison accepts differences of this size.
diffs = {
    k: number(results["05_trends_scale"].get(k))
    for k in EVIDENCE["05_trends_scale"][:2]
}
print(diffs)
assert not available or max(diffs.values()) < 1e-5

# %% tags=["hide-cell"]
# Solution 3
guide = [
    {
        "need": "learn the models",
        "chapter": "ch-code-examples",
        "keys": EVIDENCE["04_code_examples"][:2],
    },
    {
        "need": "speed on this hardware",
        "chapter": "ch-performance",
        "keys": ["ch08_ratio_featured"],
    },
    {
        "need": "scale",
        "chapter": "ch-trends-scale",
        "keys": EVIDENCE["05_trends_scale"][:2],
    },
]
text = json.dumps(guide, indent=1)
assert json.loads(text) == guide
print(text[:200], "...")
