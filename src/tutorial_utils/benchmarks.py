"""Measurements behind the performance chapter (chapter 08) and ``make bench``.

Everything that is timed lives here, so that the chapter (a reduced configuration that fits a chapter's time budget)
and ``make bench`` (full size, a JSON file and plots) run the same code:

* the *ceiling*: matrix-multiply throughput in GFLOP/s in NumPy, PyTorch and TensorFlow (float32, and bfloat16 or
  float16 where the hardware has them);
* *training* throughput of the book's MLP and of a small CNN in the six configurations of :data:`TRAIN_CONFIGS`,
  over a range of batch sizes, as samples/s and as achieved GFLOP/s, a fraction of the ceiling;
* *inference*: latency at batch 1 and throughput at a large batch (:data:`INFERENCE_CONFIGS`);
* *input pipelines*: ``tf.data`` against ``DataLoader`` (:data:`PIPELINES`).

Method. :func:`run_suite` measures each framework in a fresh Python process of its own, one after the other (NumPy,
PyTorch, TensorFlow), with the same number of threads: neither framework's thread pool competes with the other's,
and TensorFlow's thread settings take effect before it runs its first op. Every measurement makes a first call that
is timed on its own (it includes tracing and compilation), then warm-up runs, then several timed repetitions;
:func:`summarize` reports their median with the quartiles as spread. Work is counted analytically in FLOPs
(:func:`forward_flops`, :func:`training_flops`).

Importing this module imports neither framework; each function imports what it needs, PyTorch before TensorFlow.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import itertools
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from .isolated import RESULT_PREFIX

__all__ = [
    "FEATURED",
    "FEATURED_BATCH",
    "INFERENCE_CONFIGS",
    "MIN_REPEATS",
    "MODELS",
    "PIPELINES",
    "SCHEMA",
    "TRAIN_CONFIGS",
    "BenchConfig",
    "Layer",
    "bench_arrays",
    "build_keras_model",
    "build_torch_model",
    "busy_warning",
    "default_threads",
    "derive",
    "featured_verdict",
    "fit_step_time",
    "forward_flops",
    "headline",
    "initial_weights",
    "layers",
    "low_precision_from_flags",
    "markdown_table",
    "matmul_inputs",
    "plot_ceiling",
    "plot_compile",
    "plot_inference",
    "plot_pipelines",
    "plot_step_time",
    "plot_training",
    "run_suite",
    "set_threads",
    "summarize",
    "summary_text",
    "table_featured",
    "table_headline",
    "table_inference",
    "table_matmul",
    "table_pipelines",
    "table_profile",
    "table_training",
    "tf_train_epoch",
    "tf_train_step",
    "to_torch_weights",
    "torch_profile_summary",
    "torch_train_epoch",
    "training_flops",
    "validate_results",
    "xplane_op_summary",
]

SCHEMA = "tfpt-bench/1"
MODELS = ("mlp", "cnn")
FRAMEWORK_ORDER = ("numpy", "pytorch", "tensorflow")  # the order of the measurement processes

# name -> (framework, label). The featured configurations are chapter 04's loops.
TRAIN_CONFIGS: dict[str, tuple[str, str]] = {
    "tf_eager": ("tensorflow", "TF eager loop"),
    "tf_function": ("tensorflow", "TF tf.function loop"),
    "tf_xla": ("tensorflow", "TF tf.function(jit_compile=True)"),
    "keras_fit": ("tensorflow", "Keras fit"),
    "keras_fit_xla": ("tensorflow", "Keras fit, jit_compile=True"),
    "torch_eager": ("pytorch", "PyTorch eager loop"),
    "torch_compile": ("pytorch", "PyTorch torch.compile"),
}
FEATURED = {"tensorflow": "keras_fit", "pytorch": "torch_eager"}
FEATURED_BATCH = 64  # chapter 04's batch size

INFERENCE_CONFIGS: dict[str, tuple[str, str]] = {
    "keras_predict": ("tensorflow", "Keras predict"),
    "tf_call": ("tensorflow", "TF model(x), eager"),
    "tf_function": ("tensorflow", "TF tf.function"),
    "tf_xla": ("tensorflow", "TF tf.function(jit_compile=True)"),
    "torch_eager": ("pytorch", "PyTorch eager, no_grad"),
    "torch_compile": ("pytorch", "PyTorch torch.compile, no_grad"),
}

PIPELINES: dict[str, tuple[str, str]] = {
    "tf_data": ("tensorflow", "tf.data: shuffle elements, batch (ch. 04)"),
    "tf_data_gather": ("tensorflow", "tf.data: shuffle indices, gather batches"),
    "dataloader": ("pytorch", "DataLoader: one sample at a time (ch. 04)"),
    "dataloader_batched": ("pytorch", "DataLoader: one index list per batch"),
}

MIN_REPEATS = 3  # a measurement stops early on its time budget only after this many repetitions
LEARNING_RATE, ADAM_EPSILON = 1e-3, 1e-7  # chapter 04's settings, used by both frameworks
_PROGRESS_PREFIX = "__PROGRESS__"


# ---------------------------------------------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------------------------------------------


def summarize(values: Iterable[float]) -> dict[str, Any]:
    """Median, quartiles (the spread), minimum, maximum and count of repeated measurements.

    Quartiles use the inclusive method (``statistics.quantiles``); with one value they equal it. The values are kept
    (``"values"``) so that a reader can recompute anything. Raises :class:`ValueError` for no values or a value that
    is not a finite number.
    """
    data = [float(v) for v in values]
    if not data:
        raise ValueError("no measurements to summarize")
    if not all(math.isfinite(v) for v in data):
        raise ValueError(f"measurements must be finite numbers, got {data}")
    if len(data) == 1:
        q1 = q3 = data[0]
    else:
        q1, _, q3 = statistics.quantiles(data, n=4, method="inclusive")
    return {
        "median": statistics.median(data),
        "q1": q1,
        "q3": q3,
        "min": min(data),
        "max": max(data),
        "n": len(data),
        "values": data,
    }


def fit_step_time(batch_sizes: Sequence[float], step_seconds: Sequence[float]) -> tuple[float, float]:
    """Least-squares fit of ``step time = overhead + batch_size * per_sample``; returns ``(overhead, per_sample)``.

    The intercept is the cost of a step that does no arithmetic (Python, dispatch, the optimizer's per-tensor work);
    the slope is the cost of one more sample. Needs at least two distinct batch sizes.
    """
    b = np.asarray(batch_sizes, dtype=float)
    t = np.asarray(step_seconds, dtype=float)
    if b.shape != t.shape or b.ndim != 1:
        raise ValueError("batch_sizes and step_seconds must be 1-D sequences of the same length")
    if len(np.unique(b)) < 2:
        raise ValueError("need at least two distinct batch sizes to fit a line")
    slope, intercept = np.polyfit(b, t, 1)
    return float(intercept), float(slope)


# ---------------------------------------------------------------------------------------------------------------
# The two models and their FLOPs
# ---------------------------------------------------------------------------------------------------------------

MLP_UNITS = (784, 128, 128, 10)  # chapter 04's MLP
CNN_FILTERS, CNN_KERNEL, CNN_POOL, IMAGE_SIZE, CLASSES = (16, 32), 3, 2, 28, 10


@dataclass(frozen=True)
class Layer:
    """A layer that does arithmetic: ``dense`` (``n_in -> n_out``) or ``conv`` (``k x k``, valid padding)."""

    kind: str
    n_in: int
    n_out: int
    k: int = 1
    h_out: int = 1
    w_out: int = 1

    @property
    def flops(self) -> int:
        """Forward FLOPs per sample: one multiply and one add per weight use (bias adds, activations not counted)."""
        return 2 * self.h_out * self.w_out * self.n_out * self.n_in * self.k * self.k


def layers(model: str) -> list[Layer]:
    """The dense and convolution layers of ``"mlp"`` (784-128-128-10) or ``"cnn"`` (two 3x3 convolutions with
    16 and 32 filters, each followed by ReLU and 2x2 max pooling, then a dense layer to 10 logits)."""
    _check_model(model)
    if model == "mlp":
        return [Layer("dense", a, b) for a, b in itertools.pairwise(MLP_UNITS)]
    size, channels, found = IMAGE_SIZE, 1, []
    for filters in CNN_FILTERS:
        size = size - CNN_KERNEL + 1
        found.append(Layer("conv", channels, filters, CNN_KERNEL, size, size))
        channels, size = filters, size // CNN_POOL
    found.append(Layer("dense", size * size * channels, CLASSES))
    return found


def _cnn_feature_shape() -> tuple[int, int, int]:
    """(height, width, channels) of the CNN's last feature map, the input of its dense layer."""
    size = IMAGE_SIZE
    for _ in CNN_FILTERS:
        size = (size - CNN_KERNEL + 1) // CNN_POOL
    return size, size, CNN_FILTERS[-1]


def forward_flops(model: str) -> int:
    """Forward-pass FLOPs per sample of *model*: ``2 * in * out`` per dense layer and
    ``2 * H_out * W_out * C_out * C_in * k * k`` per convolution."""
    return sum(layer.flops for layer in layers(model))


def training_flops(model: str) -> int:
    """FLOPs per sample of one training step: the forward pass, plus twice the forward FLOPs for the backward pass
    (one product for the gradient with respect to the weights, one for the gradient with respect to the layer's
    input), minus the input gradient of the first layer, which nobody needs (the input is data).

    This is the count of matrix-multiply and convolution FLOPs that ``torch.utils.flop_counter.FlopCounterMode``
    reports for forward plus backward; the common "3 x forward" rule overstates it by the first layer's share.
    """
    found = layers(model)
    return 3 * sum(layer.flops for layer in found) - found[0].flops


def _check_model(model: str) -> None:
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; expected one of {', '.join(MODELS)}")


def _weight_shapes(model: str) -> list[tuple[tuple[int, ...], tuple[int]]]:
    """(kernel shape, bias shape) per layer, in Keras layout: dense ``(in, out)``, conv ``(k, k, in, out)``."""
    shapes = []
    for layer in layers(model):
        if layer.kind == "dense":
            shapes.append(((layer.n_in, layer.n_out), (layer.n_out,)))
        else:
            shapes.append(((layer.k, layer.k, layer.n_in, layer.n_out), (layer.n_out,)))
    return shapes


def initial_weights(model: str, seed: int = 0) -> list[np.ndarray]:
    """Initial weights shared by both frameworks, in Keras layout (``[kernel, bias, kernel, bias, ...]``):
    Glorot-uniform kernels (Keras's default) and zero biases, drawn from a seeded NumPy generator."""
    rng = np.random.default_rng(seed)
    weights = []
    for kernel_shape, bias_shape in _weight_shapes(model):
        receptive = int(np.prod(kernel_shape[:-2])) if len(kernel_shape) > 2 else 1
        fan_in, fan_out = kernel_shape[-2] * receptive, kernel_shape[-1] * receptive
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        weights.append(rng.uniform(-limit, limit, kernel_shape).astype(np.float32))
        weights.append(np.zeros(bias_shape, dtype=np.float32))
    return weights


def to_torch_weights(model: str, weights: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Keras-layout weights (:func:`initial_weights`) in PyTorch's layout and parameter order.

    A dense kernel ``(in, out)`` becomes a ``Linear`` weight ``(out, in)``; a convolution kernel ``(k, k, in, out)``
    becomes ``(out, in, k, k)``. The CNN's dense layer also has its rows reordered, because Keras flattens feature
    maps as height, width, channel (NHWC) and PyTorch as channel, height, width (NCHW).
    """
    _check_model(model)
    converted = []
    for index, (kernel, bias) in enumerate(zip(weights[0::2], weights[1::2])):
        if kernel.ndim == 4:
            converted.append(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))
        elif model == "cnn" and index == len(weights) // 2 - 1:
            h, w, c = _cnn_feature_shape()
            reordered = kernel.reshape(h, w, c, -1).transpose(2, 0, 1, 3).reshape(h * w * c, -1)
            converted.append(np.ascontiguousarray(reordered.T))
        else:
            converted.append(np.ascontiguousarray(kernel.T))
        converted.append(np.asarray(bias))
    return converted


def build_keras_model(model: str, weights: Sequence[np.ndarray] | None = None) -> Any:
    """The Keras version of *model* (logits out, no softmax), with *weights* (Keras layout) when given."""
    import keras

    _check_model(model)
    if model == "mlp":
        stack = [keras.Input(shape=(MLP_UNITS[0],))]
        for units in MLP_UNITS[1:-1]:
            stack.append(keras.layers.Dense(units, activation="relu"))
        stack.append(keras.layers.Dense(MLP_UNITS[-1]))
    else:
        stack = [keras.Input(shape=(IMAGE_SIZE, IMAGE_SIZE, 1))]
        for filters in CNN_FILTERS:
            stack.append(keras.layers.Conv2D(filters, CNN_KERNEL, activation="relu"))
            stack.append(keras.layers.MaxPooling2D(CNN_POOL))
        stack += [keras.layers.Flatten(), keras.layers.Dense(CLASSES)]
    built = keras.Sequential(stack, name=model)
    if weights is not None:
        built.set_weights(list(weights))
    return built


def build_torch_model(model: str, weights: Sequence[np.ndarray] | None = None) -> Any:
    """The PyTorch version of *model* as ``nn.Sequential`` (the same layers as chapter 04's ``MLP`` class), with
    *weights* (Keras layout, converted by :func:`to_torch_weights`) when given."""
    import torch
    from torch import nn

    _check_model(model)
    if model == "mlp":
        stack: list[nn.Module] = []
        for a, b in itertools.pairwise(MLP_UNITS[:-1]):
            stack += [nn.Linear(a, b), nn.ReLU()]
        stack.append(nn.Linear(MLP_UNITS[-2], MLP_UNITS[-1]))
    else:
        stack, channels = [], 1
        for filters in CNN_FILTERS:
            stack += [nn.Conv2d(channels, filters, CNN_KERNEL), nn.ReLU(), nn.MaxPool2d(CNN_POOL)]
            channels = filters
        h, w, c = _cnn_feature_shape()
        stack += [nn.Flatten(), nn.Linear(h * w * c, CLASSES)]
    built = nn.Sequential(*stack)
    if weights is not None:
        with torch.no_grad():
            for param, value in zip(built.parameters(), to_torch_weights(model, weights), strict=True):
                param.copy_(torch.from_numpy(value))
    return built


# ---------------------------------------------------------------------------------------------------------------
# The training loops that are timed. These are the code the chapter shows.
# ---------------------------------------------------------------------------------------------------------------


def tf_train_step(model, loss_fn, optimizer):
    """One training step for a custom TensorFlow loop.

    Called as it is (eager), or wrapped in ``tf.function``
    with or without ``jit_compile=True``: the three custom
    TensorFlow loops differ in that one line.
    """
    import tensorflow as tf

    def train_step(x, y):
        with tf.GradientTape() as tape:
            logits = model(x, training=True)
            loss = loss_fn(y, logits)
        variables = model.trainable_variables
        grads = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(grads, variables))
        hits = tf.argmax(logits, axis=1) == y
        correct = tf.reduce_sum(tf.cast(hits, tf.int64))
        return loss, correct

    return train_step


def tf_train_epoch(train_step, dataset):
    """One pass over *dataset*: mean loss and accuracy.

    Results stay tensors until the end, so the loop never
    waits for the device in the middle of the epoch.
    """
    import tensorflow as tf

    losses, corrects, seen = [], [], 0
    for x, y in dataset:
        loss, correct = train_step(x, y)
        losses.append(loss)
        corrects.append(correct)
        seen += int(y.shape[0])
    mean_loss = float(tf.reduce_mean(tf.stack(losses)))
    return mean_loss, float(tf.add_n(corrects)) / seen


def torch_train_epoch(model, loader, loss_fn, optimizer, device):
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


# ---------------------------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------------------------


def _listed(sizes: Iterable[int]) -> str:
    return ", ".join(str(b) for b in sorted(sizes))


def default_threads() -> int:
    """The number of CPU cores this process may run on (its affinity mask), else ``os.cpu_count()``."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # macOS, Windows
        return os.cpu_count() or 1


def _names(value: Iterable[str], allowed: Iterable[str], what: str) -> tuple[str, ...]:
    names, allowed = tuple(value), tuple(allowed)
    unknown = [name for name in names if name not in allowed]
    if unknown:
        raise ValueError(f"unknown {what} {unknown}; expected any of {', '.join(allowed)}")
    if len(set(names)) != len(names):
        raise ValueError(f"repeated {what} in {list(names)}")
    return names


def _positive_ints(value: Iterable[int], what: str) -> tuple[int, ...]:
    numbers = tuple(value)
    if not numbers or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in numbers):
        raise ValueError(f"{what} must be a non-empty list of positive integers, got {list(numbers)}")
    return numbers


@dataclass(frozen=True)
class BenchConfig:
    """What to measure, and how long to try. :meth:`full` is ``make bench``; :meth:`reduced` is the chapter's.

    A training repetition is ``steps_per_rep(model, batch)`` steps (``samples_per_rep`` samples, at least
    ``min_steps`` steps) drawn from the framework's input pipeline over ``dataset_size`` images, repeated without
    end, so that per-epoch costs (a new iterator, a refilled shuffle buffer) are spread as in a long training run.
    ``limits`` restricts a training configuration or a model to some batch sizes (``{"torch_compile": [64]}``);
    ``skip`` lists ``[model, configuration]`` pairs that are not trained at all. :meth:`notes` says in words what
    the two leave out, and :meth:`training_plan` lists what is measured, in order.
    """

    mode: str = "full"
    threads: int = field(default_factory=default_threads)
    models: tuple[str, ...] = MODELS
    batch_sizes: tuple[int, ...] = (32, 64, 128, 256, 512, 1024)
    train_configs: tuple[str, ...] = tuple(TRAIN_CONFIGS)
    limits: dict[str, tuple[int, ...]] = field(default_factory=dict)
    skip: tuple[tuple[str, str], ...] = ()
    dataset_size: int = 8192
    samples_per_rep: dict[str, int] = field(default_factory=lambda: {"mlp": 8192, "cnn": 2048})
    min_steps: int = 4
    warmup: int = 1
    repeats: int = 5
    max_seconds: float = 1.5
    matmul_sizes: tuple[int, ...] = (256, 512, 1024, 2048)
    gpu_matmul_sizes: tuple[int, ...] = (1024, 2048, 4096, 8192)
    low_precision: bool = True
    inference_models: tuple[str, ...] = MODELS
    inference_configs: tuple[str, ...] = tuple(INFERENCE_CONFIGS)
    inference_batch: int = 1024
    pipelines: tuple[str, ...] = tuple(PIPELINES)
    pipeline_batch_sizes: tuple[int, ...] = (32, 256, 1024)
    fresh_compile_cache: bool = True
    seed: int = 0
    child_timeout_s: float = 900.0

    @classmethod
    def full(cls, threads: int | None = None) -> BenchConfig:
        """Everything, at full size: what ``make bench`` runs (designed for at most 10 minutes on an idle
        2-core CPU)."""
        config = cls(mode="full", threads=threads or default_threads())
        config.validate()
        return config

    @classmethod
    def reduced(cls, threads: int | None = None) -> BenchConfig:
        """The chapter's configuration: every measurement, at fewer batch sizes and shorter runs; the CNN without its
        compiled configurations, ``torch.compile`` at chapter 04's batch size only, and no compiled inference."""
        config = cls(
            mode="reduced",
            threads=threads or default_threads(),
            batch_sizes=(32, 64, 256, 1024),
            limits={
                "torch_compile": (FEATURED_BATCH,),
                "tf_xla": (FEATURED_BATCH,),
                "keras_fit_xla": (FEATURED_BATCH, 1024),
                "cnn": (FEATURED_BATCH, 256),
            },
            skip=(("cnn", "tf_xla"), ("cnn", "keras_fit_xla"), ("cnn", "torch_compile")),
            samples_per_rep={"mlp": 2048, "cnn": 1024},
            min_steps=4,
            repeats=3,
            max_seconds=1.0,
            matmul_sizes=(256, 1024),
            gpu_matmul_sizes=(1024, 4096),
            inference_models=("mlp",),
            inference_configs=("keras_predict", "tf_call", "tf_function", "tf_xla", "torch_eager"),
            inference_batch=1024,
            pipeline_batch_sizes=(64, 1024),
            fresh_compile_cache=False,
            child_timeout_s=300.0,
        )
        config.validate()
        return config

    def validate(self) -> None:
        """Raise :class:`ValueError`, naming the valid choices, for anything that cannot be measured as given."""
        if self.mode not in ("full", "reduced"):
            raise ValueError(f"mode must be 'full' or 'reduced', got {self.mode!r}")
        if isinstance(self.threads, bool) or not isinstance(self.threads, int) or self.threads < 1:
            raise ValueError(f"threads must be a positive integer, got {self.threads!r}")
        _names(self.models, MODELS, "models")
        _names(self.inference_models, MODELS, "inference models")
        _names(self.train_configs, TRAIN_CONFIGS, "training configurations")
        _names(self.inference_configs, INFERENCE_CONFIGS, "inference configurations")
        _names(self.pipelines, PIPELINES, "pipelines")
        for what in ("batch_sizes", "matmul_sizes", "gpu_matmul_sizes", "pipeline_batch_sizes"):
            _positive_ints(getattr(self, what), what)
        _positive_ints((self.inference_batch, self.repeats), "inference_batch and repeats")
        if isinstance(self.warmup, bool) or not isinstance(self.warmup, int) or self.warmup < 0:
            raise ValueError(f"warmup must be a non-negative integer, got {self.warmup!r}")
        if self.repeats < MIN_REPEATS:
            raise ValueError(f"repeats must be at least {MIN_REPEATS} to report a median and quartiles")
        if not (self.max_seconds > 0 and self.child_timeout_s > 0):
            raise ValueError("max_seconds and child_timeout_s must be positive")
        for key, sizes in self.limits.items():
            if key not in TRAIN_CONFIGS and key not in MODELS:
                raise ValueError(f"limits key {key!r} is neither a model nor a training configuration")
            missing = [b for b in _positive_ints(sizes, f"limits[{key!r}]") if b not in self.batch_sizes]
            if missing:
                raise ValueError(f"limits[{key!r}] names batch sizes {missing} that are not in batch_sizes")
        for pair in self.skip:
            if len(pair) != 2 or pair[0] not in MODELS or pair[1] not in TRAIN_CONFIGS:
                raise ValueError(f"skip entries are [model, training configuration] pairs, got {list(pair)}")
        for model in self.models:
            n = self.samples_per_rep.get(model)
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise ValueError(f"samples_per_rep needs a positive integer for {model!r}")
        _positive_ints((self.dataset_size, self.min_steps), "dataset_size and min_steps")
        bad = [b for b in (*self.batch_sizes, *self.pipeline_batch_sizes) if self.dataset_size % b]
        if bad:
            raise ValueError(
                f"dataset_size = {self.dataset_size} is not a multiple of batch sizes {bad}: a smaller last batch "
                "would make tf.function, XLA and torch.compile trace again"
            )
        if FEATURED_BATCH not in self.batch_sizes:
            raise ValueError(f"batch_sizes must include chapter 04's batch size, {FEATURED_BATCH}")

    def steps_per_rep(self, model: str, batch: int) -> int:
        """Training steps in one timed repetition: ``samples_per_rep[model] // batch``, at least ``min_steps``."""
        return max(self.min_steps, self.samples_per_rep[model] // batch)

    def batch_sizes_for(self, model: str, config: str) -> tuple[int, ...]:
        """The batch sizes at which *config* trains *model*, chapter 04's batch size first (empty when skipped)."""
        if (model, config) in {tuple(pair) for pair in self.skip}:
            return ()
        sizes = [b for b in self.batch_sizes if all(b in self.limits.get(key, (b,)) for key in (model, config))]
        return tuple(sorted(sizes, key=lambda b: (b != FEATURED_BATCH, b)))

    def training_plan(self, framework: str | None = None) -> list[tuple[str, str, int]]:
        """``(model, configuration, batch size)`` in the order they are measured, for one framework or all.

        Within a model, chapter 04's batch size comes first, so that the first compilation of ``torch.compile``
        and XLA, which later batch sizes may reuse, happens at the batch size the book uses.
        """
        plan = []
        for model in self.models:
            configs = [c for c in self.train_configs if framework in (None, TRAIN_CONFIGS[c][0])]
            sizes = sorted({b for c in configs for b in self.batch_sizes_for(model, c)})
            for batch in sorted(sizes, key=lambda b: (b != FEATURED_BATCH, b)):
                plan += [(model, c, batch) for c in configs if batch in self.batch_sizes_for(model, c)]
        return plan

    def notes(self) -> list[str]:
        """What this configuration does not measure, in words (empty for the full configuration)."""
        found = []
        if self.batch_sizes != BenchConfig.batch_sizes:
            found.append(f"training at batch size {_listed(self.batch_sizes)} only")
        for model in MODELS:
            name = model.upper()
            if model not in self.models:
                found.append(f"the {name} is not trained")
                continue
            model_sizes = [b for b in self.batch_sizes if b in self.limits.get(model, (b,))]
            if len(model_sizes) < len(self.batch_sizes):
                found.append(f"the {name} trains at batch size {_listed(model_sizes)} only")
            for config in self.train_configs:
                label, sizes = TRAIN_CONFIGS[config][1], self.batch_sizes_for(model, config)
                if not sizes:
                    found.append(f"{label} does not train the {name}")
                elif len(sizes) < len(model_sizes):
                    found.append(f"{label} trains the {name} at batch size {_listed(sizes)} only")
        found += [f"{TRAIN_CONFIGS[c][1]} is not measured" for c in TRAIN_CONFIGS if c not in self.train_configs]
        found += [
            f"inference is not measured for {label}"
            for config, (_, label) in INFERENCE_CONFIGS.items()
            if config not in self.inference_configs
        ]
        found += [f"inference is not measured for the {m.upper()}" for m in MODELS if m not in self.inference_models]
        return found

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy (tuples become lists)."""
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BenchConfig:
        """The inverse of :meth:`to_dict`; validates. Raises :class:`ValueError` for unknown keys."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown BenchConfig keys {unknown}")
        values = dict(data)
        for key, value in values.items():
            if isinstance(value, list):
                values[key] = tuple(tuple(v) if isinstance(v, list) else v for v in value)
        if "limits" in values:
            values["limits"] = {k: tuple(v) for k, v in values["limits"].items()}
        config = cls(**values)
        config.validate()
        return config


# ---------------------------------------------------------------------------------------------------------------
# Timing primitives
# ---------------------------------------------------------------------------------------------------------------


def _no_sync() -> None:
    return None


def _time_calls(
    fn: Callable[[], Any],
    *,
    sync: Callable[[], None] = _no_sync,
    warmup: int,
    repeats: int,
    max_seconds: float,
    target_seconds: float = 0.05,
) -> tuple[float, list[float]]:
    """Time *fn*: the first call on its own, then *warmup* calls, then *repeats* repetitions of ``k`` calls each,
    ``k`` chosen so that a repetition lasts about *target_seconds*. Returns ``(first_call_s, per-call seconds per
    repetition)``. Stops after :data:`MIN_REPEATS` repetitions once *max_seconds* have passed."""
    start = time.perf_counter()
    fn()
    sync()
    first = time.perf_counter() - start
    for _ in range(warmup):
        fn()
        sync()
    start = time.perf_counter()
    fn()
    sync()
    one = time.perf_counter() - start
    inner = int(min(10_000, max(1, math.ceil(target_seconds / max(one, 1e-7)))))
    per_call: list[float] = []
    began = time.perf_counter()
    while len(per_call) < repeats:
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        sync()
        per_call.append((time.perf_counter() - start) / inner)
        if len(per_call) >= MIN_REPEATS and time.perf_counter() - began > max_seconds:
            break
    return first, per_call


def _time_reps(
    run_epoch: Callable[[], Any], *, sync: Callable[[], None], warmup: int, repeats: int, max_seconds: float
) -> tuple[list[float], list[float]]:
    """Time *warmup* repetitions of *run_epoch* (returned, not used), then *repeats* more; stop early on
    *max_seconds*."""
    warm, timed = [], []
    for _ in range(warmup):
        start = time.perf_counter()
        run_epoch()
        sync()
        warm.append(time.perf_counter() - start)
    began = time.perf_counter()
    while len(timed) < repeats:
        start = time.perf_counter()
        run_epoch()
        sync()
        timed.append(time.perf_counter() - start)
        if len(timed) >= MIN_REPEATS and time.perf_counter() - began > max_seconds:
            break
    return warm, timed


def _training_entry(
    framework: str,
    model: str,
    config: str,
    batch: int,
    steps: int,
    first_call: float,
    warm: list[float],
    timed: list[float],
    check_losses: list[float],
    **extra: Any,
) -> dict[str, Any]:
    samples = steps * batch
    step_ms = summarize(1000 * t / steps for t in timed)
    return {
        "framework": framework,
        "model": model,
        "config": config,
        "batch_size": batch,
        "steps_per_rep": steps,
        "samples_per_s": summarize(samples / t for t in timed),
        "step_ms": step_ms,
        "first_call_s": first_call,
        # what the first call cost beyond a normal step: tracing, compiling, building
        "compile_s": max(0.0, first_call - step_ms["median"] / 1000),
        "warmup_s": warm,
        "check_losses": [float(v) for v in check_losses],
        **extra,
    }


def low_precision_from_flags(flags: Iterable[str]) -> dict[str, str | None]:
    """Which 16-bit float types a CPU multiplies natively, from its ``/proc/cpuinfo`` flags: the flag that shows it
    (``avx512_bf16``/``amx_bf16`` for bfloat16, ``avx512_fp16``/``amx_fp16`` for float16), or None."""
    found = set(flags)
    pick = {"bfloat16": ("amx_bf16", "avx512_bf16"), "float16": ("amx_fp16", "avx512_fp16")}
    return {dtype: next((flag for flag in wanted if flag in found), None) for dtype, wanted in pick.items()}


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# ---------------------------------------------------------------------------------------------------------------
# Data for the measurements
# ---------------------------------------------------------------------------------------------------------------

_DATA: dict[str, Any] = {}  # this process's MNIST arrays, loaded once


def bench_arrays(model: str, framework: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The first *n* MNIST images (train then test split; speed does not care which) as *model*'s input for
    *framework*: ``(n, 784)`` rows for the MLP; ``(n, 28, 28, 1)`` (TensorFlow) or ``(n, 1, 28, 28)`` (PyTorch)
    images for the CNN. Labels are int64."""
    from .data import load_mnist, preprocess

    if not _DATA:
        data = load_mnist(verbose=False)
        images = np.concatenate([data.x_train, data.x_test])
        _DATA.update(
            x=preprocess(images),
            y=np.concatenate([data.y_train, data.y_test]).astype(np.int64),
            info={"source": data.source, "images": len(images)},
        )
    x, y = _DATA["x"], _DATA["y"]
    if n > len(x):
        raise ValueError(f"{n} samples requested but the MNIST data here has {len(x)}")
    x = x[:n]
    if model == "cnn":
        x = x.reshape(n, 1, IMAGE_SIZE, IMAGE_SIZE) if framework == "pytorch" else x.reshape(n, 28, 28, 1)
    return np.ascontiguousarray(x), y[:n]


def _progress(message: str) -> None:
    print(_PROGRESS_PREFIX + message, flush=True)


def _record_error(errors: list[dict[str, str]], section: str, case: str, exc: BaseException) -> None:
    text = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
    errors.append({"section": section, "case": case, "error": text})
    _progress(f"{section} {case} FAILED: {text}")


def _measure_cases(
    framework: str,
    config: BenchConfig,
    result: dict[str, Any],
    *,
    train: Callable[[str, str, int], dict],
    infer: Callable[[str, str], list],
    pipeline: Callable[[str, int], dict],
) -> None:
    """Run *framework*'s training, inference and pipeline cases of *config* into *result*; a failing case is
    recorded in ``result["errors"]`` and the others still run."""
    errors = result["errors"]
    result["training"] = []
    for model, name, batch in config.training_plan(framework):
        try:
            entry = train(model, name, batch)
            result["training"].append(entry)
            _progress(
                f"train {model} {name} batch {batch}: {entry['samples_per_s']['median']:,.0f} samples/s"
                f" (first call {entry['first_call_s']:.2f} s)"
            )
        except Exception as exc:
            _record_error(errors, "training", f"{model}/{name}/{batch}", exc)
    result["inference"] = []
    for model in config.inference_models:
        for name in config.inference_configs:
            if INFERENCE_CONFIGS[name][0] != framework:
                continue
            try:
                result["inference"] += infer(model, name)
                _progress(f"inference {model} {name}: done")
            except Exception as exc:
                _record_error(errors, "inference", f"{model}/{name}", exc)
    result["pipelines"] = []
    for name in config.pipelines:
        if PIPELINES[name][0] != framework:
            continue
        for batch in config.pipeline_batch_sizes:
            try:
                result["pipelines"].append(pipeline(name, batch))
            except Exception as exc:
                _record_error(errors, "pipelines", f"{name}/{batch}", exc)


# ---------------------------------------------------------------------------------------------------------------
# NumPy process
# ---------------------------------------------------------------------------------------------------------------


def matmul_inputs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The two ``n x n`` float32 matrices (uniform in [-1, 1], seeded) that every process multiplies."""
    rng = np.random.default_rng(seed)
    return (rng.uniform(-1, 1, (n, n)).astype(np.float32), rng.uniform(-1, 1, (n, n)).astype(np.float32))


def _matmul_entry(framework: str, dtype: str, n: int, per_call: list[float], first: float, corner: Any) -> dict:
    return {
        "framework": framework,
        "dtype": dtype,
        "n": n,
        "gflops": summarize(2 * n**3 / t / 1e9 for t in per_call),
        "first_call_s": first,
        "corner": corner,
    }


def _numpy_child(config: BenchConfig) -> dict[str, Any]:
    blas = None
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"].get("name")
    except Exception:  # the layout of show_config has changed between NumPy versions
        blas = None
    result: dict[str, Any] = {"framework": "numpy", "version": np.__version__, "blas": blas, "matmul": []}
    for n in config.matmul_sizes:
        a, b = matmul_inputs(n, config.seed)
        first, per_call = _time_calls(
            lambda a=a, b=b: a @ b, warmup=1, repeats=config.repeats, max_seconds=config.max_seconds
        )
        corner = (a[:2] @ b[:, :2]).tolist()
        result["matmul"].append(_matmul_entry("numpy", "float32", n, per_call, first, corner))
        _progress(f"matmul float32 n={n}: {result['matmul'][-1]['gflops']['median']:.1f} GFLOP/s")
    return result


# ---------------------------------------------------------------------------------------------------------------
# PyTorch process
# ---------------------------------------------------------------------------------------------------------------


def _torch_sync_fn(device: Any) -> Callable[[], None]:
    import torch

    if device.type == "cuda":
        return torch.cuda.synchronize
    if device.type == "mps":
        return torch.mps.synchronize
    return _no_sync


def _torch_child(config: BenchConfig) -> dict[str, Any]:
    import torch

    torch.set_num_threads(config.threads)
    with contextlib.suppress(RuntimeError):  # already set, or inter-op work has started
        torch.set_num_interop_threads(config.threads)
    from .device import torch_device

    device = torch_device()
    sync = _torch_sync_fn(device)
    errors: list[dict[str, str]] = []
    result: dict[str, Any] = {
        "framework": "pytorch",
        "version": torch.__version__,
        "device": str(device),
        "gpu": torch.cuda.get_device_name(0) if device.type == "cuda" else None,
        "threads": {"intra_op": torch.get_num_threads(), "inter_op": torch.get_num_interop_threads()},
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
        "compile_cache": _inductor_cache_state(),
        "errors": errors,
    }
    result["matmul"] = _torch_matmul(config, device, sync, errors)
    _measure_cases(
        "pytorch",
        config,
        result,
        train=lambda model, name, batch: _torch_training(config, model, name, batch, device, sync),
        infer=lambda model, name: _torch_inference(config, model, name, device, sync),
        pipeline=lambda name, batch: _torch_pipeline(config, name, batch),
    )
    return result


def _inductor_cache_state() -> dict[str, Any]:
    """Where torch.compile keeps compiled code between runs, and whether it already held anything (a warm cache
    makes the first compilation much faster)."""
    try:
        from torch._inductor.runtime.cache_dir_utils import cache_dir

        path = Path(cache_dir())
    except Exception:
        return {"path": None, "warm": None}
    warm = path.is_dir() and any(path.iterdir())
    return {"path": str(path), "warm": bool(warm)}


def _torch_matmul(config: BenchConfig, device: Any, sync: Callable[[], None], errors: list) -> list[dict]:
    import torch

    dtypes = ["float32"]
    if config.low_precision:
        if device.type == "cuda":
            dtypes += ["float16"] + (["bfloat16"] if torch.cuda.is_bf16_supported() else [])
        elif device.type == "mps":
            dtypes += ["float16"]
        else:
            dtypes += [d for d, flag in low_precision_from_flags(_cpu_flags()).items() if flag]
    sizes = config.matmul_sizes if device.type == "cpu" else config.gpu_matmul_sizes
    found = []
    for dtype in dtypes:
        for n in sizes:
            try:
                a_np, b_np = matmul_inputs(n, config.seed)
                a = torch.from_numpy(a_np).to(device=device, dtype=getattr(torch, dtype))
                b = torch.from_numpy(b_np).to(device=device, dtype=getattr(torch, dtype))
                first, per_call = _time_calls(
                    lambda a=a, b=b: a @ b, sync=sync, warmup=1, repeats=config.repeats, max_seconds=config.max_seconds
                )
                corner = (a[:2] @ b[:, :2]).float().cpu().tolist()
                found.append(_matmul_entry("pytorch", dtype, n, per_call, first, corner))
                _progress(f"matmul {dtype} n={n}: {found[-1]['gflops']['median']:.1f} GFLOP/s")
            except Exception as exc:
                _record_error(errors, "matmul", f"{dtype}/{n}", exc)
    return found


def _torch_training(config: BenchConfig, model: str, name: str, batch: int, device: Any, sync) -> dict[str, Any]:
    import torch

    from .data import to_torch_loader

    steps = config.steps_per_rep(model, batch)
    x, y = bench_arrays(model, "pytorch", config.dataset_size)
    net = build_torch_model(model, initial_weights(model, config.seed)).to(device)
    loss_fn = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE, eps=ADAM_EPSILON)
    trained = torch.compile(net) if name == "torch_compile" else net
    loader = to_torch_loader(x, y, batch_size=batch, shuffle=True, seed=config.seed)
    check = [(torch.from_numpy(x[:batch]), torch.from_numpy(y[:batch]))]
    start = time.perf_counter()
    loss_1, _ = torch_train_epoch(trained, check, loss_fn, optimizer, device)
    sync()
    first = time.perf_counter() - start
    loss_2, _ = torch_train_epoch(trained, check, loss_fn, optimizer, device)
    batches = _forever(loader)
    warm, timed = _time_reps(
        lambda: torch_train_epoch(trained, itertools.islice(batches, steps), loss_fn, optimizer, device),
        sync=sync,
        warmup=config.warmup,
        repeats=config.repeats,
        max_seconds=config.max_seconds,
    )
    return _training_entry("pytorch", model, name, batch, steps, first, warm, timed, [loss_1, loss_2])


def _forever(loader: Iterable) -> Iterable:
    """The batches of *loader*, epoch after epoch, without end."""
    while True:
        yield from loader


def _torch_inference(config: BenchConfig, model: str, name: str, device: Any, sync) -> list[dict]:
    import torch

    x, _ = bench_arrays(model, "pytorch", config.inference_batch)
    net = build_torch_model(model, initial_weights(model, config.seed)).to(device).eval()
    run = torch.compile(net) if name == "torch_compile" else net

    def predict(inputs):
        with torch.no_grad():
            return run(inputs.to(device)).cpu()

    found = []
    for batch in (1, config.inference_batch):
        inputs = torch.from_numpy(x[:batch])
        first, per_call = _time_calls(
            lambda inputs=inputs: predict(inputs),
            sync=sync,
            warmup=2,
            repeats=config.repeats,
            max_seconds=config.max_seconds,
        )
        found.append(_inference_entry("pytorch", model, name, batch, first, per_call, predict(inputs)[0].tolist()))
    return found


def _inference_entry(framework, model, name, batch, first, per_call, first_logits) -> dict[str, Any]:
    return {
        "framework": framework,
        "model": model,
        "config": name,
        "batch_size": batch,
        "latency_ms": summarize(1000 * t for t in per_call),
        "samples_per_s": summarize(batch / t for t in per_call),
        "first_call_s": first,
        "first_logits": [float(v) for v in first_logits],
    }


def _torch_pipeline(config: BenchConfig, name: str, batch: int) -> dict[str, Any]:
    import torch
    from torch.utils.data import BatchSampler, DataLoader, RandomSampler, TensorDataset

    from .data import to_torch_loader

    samples = config.dataset_size
    x, y = bench_arrays("mlp", "pytorch", samples)
    if name == "dataloader":
        loader = to_torch_loader(x, y, batch_size=batch, shuffle=True, seed=config.seed)
    else:
        dataset = TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
        sampler = RandomSampler(dataset, generator=torch.Generator().manual_seed(config.seed))
        loader = DataLoader(dataset, batch_size=None, sampler=BatchSampler(sampler, batch, drop_last=False))

    def epoch():
        seen = 0
        for xb, _ in loader:
            seen += len(xb)
        return seen

    checksum = [0.0, 0]
    for xb, yb in loader:
        checksum[0] += float(xb.double().sum())
        checksum[1] += int(yb.sum())
    _, timed = _time_reps(
        epoch, sync=_no_sync, warmup=config.warmup, repeats=config.repeats, max_seconds=config.max_seconds
    )
    return _pipeline_entry("pytorch", name, batch, samples, timed, checksum)


def _pipeline_entry(framework, name, batch, samples, timed, checksum) -> dict[str, Any]:
    return {
        "framework": framework,
        "pipeline": name,
        "batch_size": batch,
        "samples_per_epoch": samples,
        "samples_per_s": summarize(samples / t for t in timed),
        "checksum": checksum,
    }


# ---------------------------------------------------------------------------------------------------------------
# TensorFlow process
# ---------------------------------------------------------------------------------------------------------------


def _tf_child(config: BenchConfig) -> dict[str, Any]:
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(config.threads)
    tf.config.threading.set_inter_op_parallelism_threads(config.threads)
    import keras

    from .device import tf_device

    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(f"Keras runs on {keras.backend.backend()!r} here, not on TensorFlow")
    device = tf_device()
    errors: list[dict[str, str]] = []
    gpus = tf.config.get_visible_devices("GPU")
    result: dict[str, Any] = {
        "framework": "tensorflow",
        "version": tf.__version__,
        "keras": keras.__version__,
        "device": device,
        "gpu": (tf.config.experimental.get_device_details(gpus[0]).get("device_name") if gpus else None),
        "threads": {
            "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
        },
        "tensor_float_32": bool(tf.config.experimental.tensor_float_32_execution_enabled()),
        "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default"),
        "errors": errors,
    }
    with tf.device(device):
        result["matmul"] = _tf_matmul(config, device, gpus, errors)
        _measure_cases(
            "tensorflow",
            config,
            result,
            train=lambda model, name, batch: _tf_training(config, model, name, batch),
            infer=lambda model, name: _tf_inference(config, model, name),
            pipeline=lambda name, batch: _tf_pipeline(config, name, batch),
        )
    return result


def _tf_sync() -> None:
    import tensorflow as tf

    sync_devices = getattr(tf.test.experimental, "sync_devices", None)
    if sync_devices is not None and tf.config.get_visible_devices("GPU"):
        sync_devices()


def _tf_matmul(config: BenchConfig, device: str, gpus: list, errors: list) -> list[dict]:
    import tensorflow as tf

    dtypes = ["float32"]
    if config.low_precision:
        if gpus:
            capability = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability", (0, 0))
            dtypes += ["float16"] + (["bfloat16"] if tuple(capability) >= (8, 0) else [])
        else:
            dtypes += [d for d, flag in low_precision_from_flags(_cpu_flags()).items() if flag]
    sizes = config.gpu_matmul_sizes if gpus else config.matmul_sizes
    found = []
    for dtype in dtypes:
        for n in sizes:
            try:
                a_np, b_np = matmul_inputs(n, config.seed)
                a = tf.cast(tf.constant(a_np), getattr(tf, dtype))
                b = tf.cast(tf.constant(b_np), getattr(tf, dtype))
                first, per_call = _time_calls(
                    lambda a=a, b=b: tf.linalg.matmul(a, b),
                    sync=_tf_sync,
                    warmup=1,
                    repeats=config.repeats,
                    max_seconds=config.max_seconds,
                )
                corner = tf.cast(tf.linalg.matmul(a[:2], b[:, :2]), tf.float32).numpy().tolist()
                found.append(_matmul_entry("tensorflow", dtype, n, per_call, first, corner))
                _progress(f"matmul {dtype} n={n}: {found[-1]['gflops']['median']:.1f} GFLOP/s")
            except Exception as exc:
                _record_error(errors, "matmul", f"{dtype}/{n}", exc)
    return found


def _tf_training(config: BenchConfig, model: str, name: str, batch: int) -> dict[str, Any]:
    import keras
    import tensorflow as tf

    from .data import to_tf_dataset

    keras.backend.clear_session()
    steps = config.steps_per_rep(model, batch)
    x, y = bench_arrays(model, "tensorflow", config.dataset_size)
    net = build_keras_model(model, initial_weights(model, config.seed))
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    optimizer = keras.optimizers.Adam(learning_rate=LEARNING_RATE, epsilon=ADAM_EPSILON)
    dataset = to_tf_dataset(x, y, batch_size=batch, shuffle=True, seed=config.seed).repeat()
    x_check, y_check = tf.constant(x[:batch]), tf.constant(y[:batch])
    extra: dict[str, Any] = {}
    if name in ("keras_fit", "keras_fit_xla"):
        jit = True if name == "keras_fit_xla" else "auto"  # "auto": compile()'s default, as in chapter 04
        net.compile(optimizer=optimizer, loss=loss_fn, metrics=["accuracy"], jit_compile=jit)
        extra["jit_compile"] = bool(net.jit_compile)
        start = time.perf_counter()
        loss_1 = net.train_on_batch(x_check, y_check, return_dict=True)["loss"]
        first = time.perf_counter() - start
        loss_2 = net.train_on_batch(x_check, y_check, return_dict=True)["loss"]
        timer = _keras_epoch_timer(config)
        epochs = config.warmup + config.repeats
        net.fit(dataset, epochs=epochs, steps_per_epoch=steps, verbose=0, shuffle=False, callbacks=[timer])
        warm, timed = timer.times[: config.warmup], timer.times[config.warmup :]
    else:
        step = tf_train_step(net, loss_fn, optimizer)
        if name == "tf_function":
            step = tf.function(step)
        elif name == "tf_xla":
            step = tf.function(step, jit_compile=True)
        start = time.perf_counter()
        loss_1, _ = tf_train_epoch(step, [(x_check, y_check)])
        first = time.perf_counter() - start
        loss_2, _ = tf_train_epoch(step, [(x_check, y_check)])
        batches = iter(dataset)
        warm, timed = _time_reps(
            lambda: tf_train_epoch(step, itertools.islice(batches, steps)),
            sync=_no_sync,  # tf_train_epoch returns Python floats: the device has finished
            warmup=config.warmup,
            repeats=config.repeats,
            max_seconds=config.max_seconds,
        )
    return _training_entry("tensorflow", model, name, batch, steps, first, warm, timed, [loss_1, loss_2], **extra)


def _keras_epoch_timer(config: BenchConfig) -> Any:
    """A Keras callback that times each epoch of one ``fit`` call and stops it on the time budget."""
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times: list[float] = []
            self._start = 0.0
            self._began: float | None = None

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()
            if epoch == config.warmup:
                self._began = self._start

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(time.perf_counter() - self._start)
            timed = len(self.times) - config.warmup
            over = self._began is not None and time.perf_counter() - self._began > config.max_seconds
            if timed >= MIN_REPEATS and over:
                self.model.stop_training = True

    return EpochTimer()


def _tf_inference(config: BenchConfig, model: str, name: str) -> list[dict]:
    import tensorflow as tf

    x, _ = bench_arrays(model, "tensorflow", config.inference_batch)
    net = build_keras_model(model, initial_weights(model, config.seed))
    call = lambda inputs: net(inputs, training=False)  # noqa: E731
    if name == "tf_function":
        call = tf.function(call)
    elif name == "tf_xla":
        call = tf.function(call, jit_compile=True)
    found = []
    for batch in (1, config.inference_batch):
        if name == "keras_predict":
            inputs = x[:batch]

            def predict(inputs=inputs, batch=batch):
                return net.predict(inputs, batch_size=batch, verbose=0)
        else:
            inputs = tf.constant(x[:batch])

            def predict(inputs=inputs):
                return call(inputs).numpy()

        first, per_call = _time_calls(predict, warmup=2, repeats=config.repeats, max_seconds=config.max_seconds)
        found.append(_inference_entry("tensorflow", model, name, batch, first, per_call, predict()[0].tolist()))
    return found


def _tf_pipeline(config: BenchConfig, name: str, batch: int) -> dict[str, Any]:
    import tensorflow as tf

    from .data import to_tf_dataset

    samples = config.dataset_size
    x, y = bench_arrays("mlp", "tensorflow", samples)
    if name == "tf_data":
        dataset = to_tf_dataset(x, y, batch_size=batch, shuffle=True, seed=config.seed)
    else:
        x_t, y_t = tf.constant(x), tf.constant(y)
        indices = tf.data.Dataset.range(samples).shuffle(samples, seed=config.seed, reshuffle_each_iteration=True)
        dataset = (
            indices.batch(batch)
            .map(lambda i: (tf.gather(x_t, i), tf.gather(y_t, i)), num_parallel_calls=tf.data.AUTOTUNE)
            .prefetch(tf.data.AUTOTUNE)
        )

    def epoch():
        seen = 0
        for xb, _ in dataset:
            seen += int(xb.shape[0])
        return seen

    checksum = [0.0, 0]
    for xb, yb in dataset:
        checksum[0] += float(tf.reduce_sum(tf.cast(xb, tf.float64)))
        checksum[1] += int(tf.reduce_sum(yb))
    _, timed = _time_reps(
        epoch, sync=_no_sync, warmup=config.warmup, repeats=config.repeats, max_seconds=config.max_seconds
    )
    return _pipeline_entry("tensorflow", name, batch, samples, timed, checksum)


# ---------------------------------------------------------------------------------------------------------------
# Child processes
# ---------------------------------------------------------------------------------------------------------------

_CHILD_CODE = "import sys\nfrom tutorial_utils.benchmarks import _child_main\n_child_main(sys.argv[1], sys.argv[2])\n"


def _child_main(framework: str, spec: str) -> None:
    """Entry point of a measurement process: measure *framework* with the configuration *spec* (JSON) and print
    one ``__RESULT__<json>`` line."""
    config = BenchConfig.from_dict(json.loads(spec))
    start = time.perf_counter()
    runners = {"numpy": _numpy_child, "pytorch": _torch_child, "tensorflow": _tf_child}
    if framework not in runners:
        raise SystemExit(f"unknown framework {framework!r}; expected one of {', '.join(runners)}")
    result = runners[framework](config)
    result["elapsed_s"] = time.perf_counter() - start
    if _DATA:
        result["data"] = _DATA["info"]
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def _child_env(config: BenchConfig, cache: str | None) -> dict[str, str]:
    env = dict(os.environ)
    threads = str(config.threads)
    env.update(
        {
            "OMP_NUM_THREADS": threads,
            "MKL_NUM_THREADS": threads,
            "OPENBLAS_NUM_THREADS": threads,
            "KERAS_BACKEND": "tensorflow",  # the TensorFlow process must run Keras on TensorFlow
        }
    )
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    if cache is not None:
        env["TORCHINDUCTOR_CACHE_DIR"] = os.path.join(cache, "inductor")
        env["TRITON_CACHE_DIR"] = os.path.join(cache, "triton")
    return env


def _spawn(
    framework: str, config: BenchConfig, env: dict[str, str], progress: Callable[[str], None] | None
) -> dict[str, Any]:
    """Run one measurement process; forward its progress lines to *progress*; return its result."""
    command = [sys.executable, "-c", _CHILD_CODE, framework, json.dumps(config.to_dict())]
    with tempfile.TemporaryFile(mode="w+") as stderr:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env)
        timer = threading.Timer(config.child_timeout_s, proc.kill)
        timer.start()
        result = None
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.startswith(RESULT_PREFIX):
                    result = json.loads(line[len(RESULT_PREFIX) :])
                elif line.startswith(_PROGRESS_PREFIX) and progress is not None:
                    progress(f"[{framework}] {line[len(_PROGRESS_PREFIX) :].rstrip()}")
            code = proc.wait()
        except BaseException:  # interrupted (Ctrl-C, a stopped kernel): take the child down too
            proc.kill()
            proc.wait()
            raise
        finally:
            timer.cancel()
        if code != 0 or result is None:
            stderr.seek(0)
            tail = "\n".join(stderr.read().strip().splitlines()[-15:])
            why = f"was stopped after {config.child_timeout_s:.0f} s" if code in (-9, 137) else f"exited {code}"
            raise RuntimeError(f"the {framework} measurement process {why} without a result:\n{tail}")
    return result


def run_suite(
    config: BenchConfig | None = None,
    *,
    cache_dir: str | os.PathLike | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run every measurement of *config* (default :meth:`BenchConfig.full`), each framework in a process of its own,
    and return the results (the schema of :func:`validate_results`), with the derived numbers of :func:`derive`.

    With ``config.fresh_compile_cache``, ``torch.compile`` starts from an empty cache in a temporary folder inside
    *cache_dir* (default: the system's temporary folder), removed afterwards, so that its compile time is the
    first-time cost. *progress*, when given, receives one line per finished measurement.
    """
    config = config or BenchConfig.full()
    config.validate()
    started = time.perf_counter()
    results: dict[str, Any] = {
        "schema": SCHEMA,
        "mode": config.mode,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "settings": config.to_dict(),
        "notes": config.notes(),
        "machine": _machine(config),
        "flops": {m: {"forward": forward_flops(m), "training": training_flops(m)} for m in MODELS},
        "processes": {},
        "matmul": [],
        "training": [],
        "inference": [],
        "pipelines": [],
        "errors": [],
    }
    with contextlib.ExitStack() as stack:
        fresh = None
        if config.fresh_compile_cache:
            fresh = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-cache-", dir=cache_dir))
        env = _child_env(config, fresh)
        for framework in FRAMEWORK_ORDER:
            part = _spawn(framework, config, env, progress)
            for key in ("matmul", "training", "inference", "pipelines"):
                results[key] += part.pop(key, [])
            results["errors"] += [{"framework": framework, **e} for e in part.pop("errors", [])]
            results["processes"][framework] = part
    results["elapsed_s"] = time.perf_counter() - started
    results["machine"]["load_after"] = _load_average()
    derive(results)
    validate_results(results)
    return results


def _machine(config: BenchConfig) -> dict[str, Any]:
    def version(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    flags = _cpu_flags()
    return {
        "platform": f"{platform.system()}-{platform.machine()}",
        "python": platform.python_version(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": default_threads(),
        "threads": config.threads,
        "cpu_low_precision": low_precision_from_flags(flags),
        # the 1-minute load average: other work on the machine slows and scatters every number
        "load_before": _load_average(),
        "versions": {name: version(name) for name in ("numpy", "torch", "tensorflow", "keras")},
        "env": {
            name: os.environ.get(name)
            for name in ("TUTORIAL_DATA", "TUTORIAL_DEVICE", "TF_ENABLE_ONEDNN_OPTS", "OMP_NUM_THREADS")
        },
    }


def _load_average() -> float | None:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):  # Windows
        return None


def busy_warning(results: dict[str, Any]) -> str | None:
    """A warning when the machine was busy during the run (a 1-minute load average above half the threads used,
    before or after), else None: other processes make every timing slower and noisier."""
    machine = results["machine"]
    loads = [v for v in (machine.get("load_before"), machine.get("load_after")) if v is not None]
    if loads and max(loads) > 0.5 * machine["threads"]:
        return (
            f"the machine was busy during this run (1-minute load average up to {max(loads):.1f} with "
            f"{machine['threads']} threads per framework): the timings are slower and noisier than on an idle machine"
        )
    return None


def set_threads(threads: int) -> dict[str, int]:
    """Give PyTorch and TensorFlow *threads* intra-op threads in this process (and TensorFlow as many inter-op
    threads); returns what each now reports.

    TensorFlow accepts this only before it runs its first op: call it right after the imports. Raises
    :class:`RuntimeError` with that advice otherwise.
    """
    import torch  # noqa: I001 (the book imports PyTorch before TensorFlow)
    import tensorflow as tf

    torch.set_num_threads(threads)
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError as exc:
        raise RuntimeError(
            f"TensorFlow has already run an op, so its thread pools are fixed ({exc}); call set_threads() "
            "before anything else uses TensorFlow, or restart the kernel"
        ) from exc
    return {"pytorch": torch.get_num_threads(), "tensorflow": tf.config.threading.get_intra_op_parallelism_threads()}


# ---------------------------------------------------------------------------------------------------------------
# Derived numbers, schema, headline
# ---------------------------------------------------------------------------------------------------------------


def _ceilings(matmul: Iterable[dict]) -> dict[str, dict[str, float]]:
    """Per framework and dtype, the best median GFLOP/s over the matrix sizes measured."""
    found: dict[str, dict[str, float]] = {}
    for entry in matmul:
        best = found.setdefault(entry["framework"], {})
        best[entry["dtype"]] = max(best.get(entry["dtype"], 0.0), entry["gflops"]["median"])
    return found


def derive(results: dict[str, Any]) -> dict[str, Any]:
    """Add the derived numbers to *results* in place and return it: ``ceiling`` (best float32/16-bit matmul
    GFLOP/s per framework), each training entry's achieved ``gflops`` and ``utilisation`` (achieved over its own
    framework's float32 ceiling), and :func:`headline`."""
    results["ceiling"] = _ceilings(results["matmul"])
    for entry in results["training"]:
        gflops = entry["samples_per_s"]["median"] * training_flops(entry["model"]) / 1e9
        ceiling = results["ceiling"].get(entry["framework"], {}).get("float32")
        entry["gflops"] = gflops
        entry["utilisation"] = gflops / ceiling if ceiling else None
    results["headline"] = headline(results)
    return results


_PAIRS = {  # TensorFlow configuration / PyTorch configuration that the headline compares
    "eager": ("tf_eager", "torch_eager"),
    "featured": ("keras_fit", "torch_eager"),
    "compiled": ("tf_xla", "torch_compile"),
}


def _lookup(results: dict[str, Any], model: str, batch: int) -> dict[str, dict[str, Any]]:
    return {e["config"]: e for e in results["training"] if e["model"] == model and e["batch_size"] == batch}


def headline(results: dict[str, Any]) -> dict[str, Any]:
    """The numbers the chapter's closing note quotes, for each model at chapter 04's batch size and at the largest
    batch size measured: samples/s and utilisation per configuration; TensorFlow/PyTorch throughput ratios (eager
    loops, featured loops, compiled loops, and each framework's fastest); and, per framework, how much faster its
    fastest configuration is than its featured loop (``slowdown``, 1.0 when the featured loop is the fastest)."""
    out: dict[str, Any] = {"ceiling_float32": {}, "models": {}}
    for framework, dtypes in results.get("ceiling", {}).items():
        if "float32" in dtypes:
            out["ceiling_float32"][framework] = dtypes["float32"]
    for model in MODELS:
        sizes = sorted({e["batch_size"] for e in results["training"] if e["model"] == model})
        if not sizes:
            continue
        chosen = sorted({b for b in (FEATURED_BATCH, sizes[-1]) if b in sizes})
        per_batch = {}
        for batch in chosen:
            found = _lookup(results, model, batch)
            sps = {c: e["samples_per_s"]["median"] for c, e in found.items()}
            util = {c: e.get("utilisation") for c, e in found.items()}
            ratios = {
                name: sps[tf_c] / sps[pt_c] for name, (tf_c, pt_c) in _PAIRS.items() if tf_c in sps and pt_c in sps
            }
            featured = {}
            for framework, featured_config in FEATURED.items():
                own = {c: v for c, v in sps.items() if TRAIN_CONFIGS[c][0] == framework}
                if featured_config not in own:
                    continue
                fastest = max(own, key=own.get)
                featured[framework] = {
                    "featured": featured_config,
                    "fastest": fastest,
                    "slowdown": own[fastest] / own[featured_config],
                    "compared": sorted(own),
                }
            best = {
                fw: max(v for c, v in sps.items() if TRAIN_CONFIGS[c][0] == fw)
                for fw in ("tensorflow", "pytorch")
                if any(TRAIN_CONFIGS[c][0] == fw for c in sps)
            }
            if len(best) == 2:
                ratios["fastest"] = best["tensorflow"] / best["pytorch"]
            per_batch[str(batch)] = {
                "samples_per_s": sps,
                "utilisation": util,
                "tf_over_pt": ratios,
                "featured": featured,
            }
        out["models"][model] = per_batch
    return out


# The configurations to try instead of a framework's featured loop, closest first (the fewest changes to the code).
ALTERNATIVES = {
    "tensorflow": ("keras_fit_xla", "tf_function", "tf_xla", "tf_eager"),
    "pytorch": ("torch_compile",),
}
WITHIN = 1.5  # the book's promise: a featured loop runs within 1.5x of its framework's fastest configuration


def featured_verdict(results: dict[str, Any], framework: str) -> dict[str, Any]:
    """Is *framework*'s featured loop within :data:`WITHIN` of the framework's fastest configuration in every case of
    the headline (each model at chapter 04's batch size and at the largest)? Returns ``{"within": bool, "cases":
    [(model, batch, fastest, slowdown), ...] where it is not, "instead": the closest alternative (in
    :data:`ALTERNATIVES` order) that is within the limit in all those cases, or None, "instead_slowdown": its worst
    ratio to the fastest}``."""
    behind, speeds = [], []
    for model, per_batch in results["headline"]["models"].items():
        for batch, info in per_batch.items():
            verdict = info["featured"].get(framework)
            if verdict is not None and verdict["slowdown"] > WITHIN:
                behind.append((model, int(batch), verdict["fastest"], verdict["slowdown"]))
                speeds.append(info["samples_per_s"])
    instead, worst = None, None
    for config in ALTERNATIVES[framework]:
        ratios = [max(s.values()) / s[config] for s in speeds if config in s]
        if behind and len(ratios) == len(speeds) and max(ratios) <= WITHIN:
            instead, worst = config, max(ratios)
            break
    return {"within": not behind, "cases": behind, "instead": instead, "instead_slowdown": worst}


_STATS_KEYS = {"median", "q1", "q3", "min", "max", "n", "values"}
_ENTRY_KEYS = {
    "matmul": {"framework", "dtype", "n", "gflops", "first_call_s", "corner"},
    "training": {
        "framework",
        "model",
        "config",
        "batch_size",
        "steps_per_rep",
        "samples_per_s",
        "step_ms",
        "first_call_s",
        "compile_s",
        "warmup_s",
        "check_losses",
        "gflops",
        "utilisation",
    },
    "inference": {
        "framework",
        "model",
        "config",
        "batch_size",
        "latency_ms",
        "samples_per_s",
        "first_call_s",
        "first_logits",
    },
    "pipelines": {"framework", "pipeline", "batch_size", "samples_per_epoch", "samples_per_s", "checksum"},
}
_TOP_KEYS = {
    "schema",
    "mode",
    "created",
    "settings",
    "notes",
    "machine",
    "flops",
    "processes",
    "matmul",
    "training",
    "inference",
    "pipelines",
    "errors",
    "elapsed_s",
    "ceiling",
    "headline",
}


def _stats_problems(where: str, stats: Any) -> list[str]:
    if not isinstance(stats, dict) or not set(stats) >= _STATS_KEYS:
        return [f"{where}: expected a summary with {sorted(_STATS_KEYS)}"]
    values = [stats[k] for k in ("median", "q1", "q3", "min", "max")]
    if not all(isinstance(v, (int, float)) and math.isfinite(v) and v > 0 for v in values):
        return [f"{where}: summary values must be positive finite numbers, got {values}"]
    if not stats["min"] <= stats["q1"] <= stats["median"] <= stats["q3"] <= stats["max"]:
        return [f"{where}: expected min <= q1 <= median <= q3 <= max, got {values}"]
    return []


def validate_results(results: dict[str, Any]) -> None:
    """Check that *results* follows the JSON schema that :func:`run_suite` writes (``schema`` ==
    :data:`SCHEMA`): the top-level keys, the keys of every entry, positive finite summaries, known names, and the
    thread count. Raises :class:`ValueError` listing every problem found."""
    problems = []
    missing = _TOP_KEYS - set(results)
    if missing:
        problems.append(f"missing top-level keys {sorted(missing)}")
    if results.get("schema") != SCHEMA:
        problems.append(f"schema is {results.get('schema')!r}, expected {SCHEMA!r}")
    threads = results.get("machine", {}).get("threads")
    if not isinstance(threads, int) or threads < 1:
        problems.append(f"machine.threads must be a positive integer, got {threads!r}")
    names = {"training": TRAIN_CONFIGS, "inference": INFERENCE_CONFIGS, "pipelines": PIPELINES}
    for section, keys in _ENTRY_KEYS.items():
        entries = results.get(section)
        if not isinstance(entries, list):
            problems.append(f"{section} must be a list")
            continue
        for index, entry in enumerate(entries):
            where = f"{section}[{index}]"
            absent = keys - set(entry)
            if absent:
                problems.append(f"{where}: missing {sorted(absent)}")
                continue
            if entry["framework"] not in FRAMEWORK_ORDER:
                problems.append(f"{where}: unknown framework {entry['framework']!r}")
            name = entry.get("pipeline", entry.get("config"))
            if section in names and name not in names[section]:
                problems.append(f"{where}: unknown name {name!r}")
            elif section in names and names[section][name][0] != entry["framework"]:
                problems.append(f"{where}: {name!r} does not belong to {entry['framework']!r}")
            for key in ("gflops", "samples_per_s", "step_ms", "latency_ms"):
                if isinstance(entry.get(key), dict):
                    problems += _stats_problems(f"{where}.{key}", entry[key])
    if problems:
        raise ValueError("results do not follow the schema:\n- " + "\n- ".join(problems))


# ---------------------------------------------------------------------------------------------------------------
# Tables and text
# ---------------------------------------------------------------------------------------------------------------


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]], align: str | None = None) -> str:
    """A Markdown (MyST/GitHub) table. *align* has one character per column: ``l``, ``r`` or ``c``
    (default: first column left, the others right)."""
    header = [str(h) for h in header]
    align = align or "l" + "r" * (len(header) - 1)
    if len(align) != len(header) or set(align) - set("lrc"):
        raise ValueError(f"align needs one of l/r/c per column ({len(header)}), got {align!r}")
    rule = {"l": ":--", "r": "--:", "c": ":-:"}
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(rule[a] for a in align) + "|"]
    for row in rows:
        cells = [str(c).replace("|", "\\|") for c in row]
        if len(cells) != len(header):
            raise ValueError(f"row {cells} has {len(cells)} cells; the header has {len(header)}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _sps(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def summary_text(results: dict[str, Any]) -> str:
    """A plain-text summary of the headline numbers, as ``make bench`` prints it."""
    machine = results["machine"]
    lines = [
        f"{results['mode']} run, {machine['cpu']}, {machine['threads']} threads, "
        f"device: PyTorch {results['processes'].get('pytorch', {}).get('device', '?')}, "
        f"TensorFlow {results['processes'].get('tensorflow', {}).get('device', '?')}; "
        f"{results['elapsed_s']:.0f} s",
        "Matmul ceiling (best median GFLOP/s): "
        + "; ".join(
            f"{fw} " + ", ".join(f"{d} {v:.1f}" for d, v in sorted(dt.items())) for fw, dt in results["ceiling"].items()
        ),
    ]
    for model, per_batch in results["headline"]["models"].items():
        for batch, info in per_batch.items():
            lines.append(f"{model.upper()}, batch {batch}:")
            for config, sps in info["samples_per_s"].items():
                util = info["utilisation"].get(config)
                share = f"{util:.1%} of its matmul ceiling" if util is not None else "no ceiling measured"
                lines.append(f"  {TRAIN_CONFIGS[config][1]:<34}{_sps(sps):>12} samples/s  {share}")
            ratios = ", ".join(f"{k} {v:.2f}x" for k, v in info["tf_over_pt"].items())
            lines.append(f"  TF/PyTorch throughput: {ratios}")
            for framework, f in info["featured"].items():
                verdict = "within" if f["slowdown"] <= WITHIN else "NOT within"
                lines.append(
                    f"  {framework}: fastest is {TRAIN_CONFIGS[f['fastest']][1]}, {f['slowdown']:.2f}x the featured "
                    f"{TRAIN_CONFIGS[f['featured']][1]} ({verdict} 1.5x)"
                )
    for framework in FEATURED:
        verdict = featured_verdict(results, framework)
        if not verdict["within"] and verdict["instead"]:
            featured, instead = TRAIN_CONFIGS[FEATURED[framework]][1], TRAIN_CONFIGS[verdict["instead"]][1]
            lines.append(
                f"{framework}: instead of {featured}, {instead} is within {WITHIN}x of the fastest in every case "
                f"({verdict['instead_slowdown']:.2f}x at worst)"
            )
    warning = busy_warning(results)
    if warning:
        lines.append(f"WARNING: {warning}")
    if results["errors"]:
        lines.append(f"{len(results['errors'])} measurement(s) failed:")
        lines += [f"  {e['framework']} {e['section']} {e['case']}: {e['error']}" for e in results["errors"]]
    return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def table_matmul(results: dict[str, Any]) -> str:
    """Markdown: matrix-multiply GFLOP/s (median and quartiles) per framework, dtype and size."""
    rows = [
        [
            e["framework"],
            e["dtype"],
            e["n"],
            f"{e['gflops']['median']:.1f}",
            f"{e['gflops']['q1']:.1f}-{e['gflops']['q3']:.1f}",
        ]
        for e in sorted(results["matmul"], key=lambda e: (FRAMEWORK_ORDER.index(e["framework"]), e["dtype"], e["n"]))
    ]
    return markdown_table(["framework", "dtype", "n", "GFLOP/s", "quartiles"], rows, "llrrr")


def table_training(results: dict[str, Any], model: str) -> str:
    """Markdown: training samples/s (median) and utilisation of the float32 matmul ceiling, configuration by batch
    size, for *model*."""
    entries = [e for e in results["training"] if e["model"] == model]
    sizes = sorted({e["batch_size"] for e in entries})
    found = {(e["config"], e["batch_size"]): e for e in entries}
    rows = []
    for config, (framework, label) in TRAIN_CONFIGS.items():
        if not any((config, b) in found for b in sizes):
            continue
        cells = []
        for b in sizes:
            e = found.get((config, b))
            cells.append("" if e is None else f"{_sps(e['samples_per_s']['median'])} ({_pct(e['utilisation'])})")
        featured = " (featured)" if FEATURED.get(framework) == config else ""
        rows.append([label + featured, *cells])
    return markdown_table(["configuration", *[f"batch {b}" for b in sizes]], rows)


def table_inference(results: dict[str, Any]) -> str:
    """Markdown: inference latency at batch 1 and throughput at the large batch, per model and configuration."""
    big = max((e["batch_size"] for e in results["inference"]), default=1)
    rows = []
    for model in MODELS:
        found = {(e["config"], e["batch_size"]): e for e in results["inference"] if e["model"] == model}
        for config, (_, label) in INFERENCE_CONFIGS.items():
            one, many = found.get((config, 1)), found.get((config, big))
            if one is None or many is None:
                continue
            latency = one["latency_ms"]
            rows.append(
                [
                    model.upper(),
                    label,
                    f"{latency['median']:.3g} ({latency['q1']:.3g}-{latency['q3']:.3g})",
                    _sps(many["samples_per_s"]["median"]),
                    f"{one['first_call_s']:.2g}",
                ]
            )
    header = ["model", "configuration", "latency, batch 1 (ms)", f"samples/s, batch {big}", "first call (s)"]
    return markdown_table(header, rows, "llrrr")


def table_pipelines(results: dict[str, Any]) -> str:
    """Markdown: samples/s that each input pipeline delivers (no model), per batch size."""
    sizes = sorted({e["batch_size"] for e in results["pipelines"]})
    found = {(e["pipeline"], e["batch_size"]): e for e in results["pipelines"]}
    rows = [
        [label, *[_sps(found[p, b]["samples_per_s"]["median"]) if (p, b) in found else "" for b in sizes]]
        for p, (_, label) in PIPELINES.items()
        if any((p, b) in found for b in sizes)
    ]
    return markdown_table(["pipeline", *[f"batch {b}" for b in sizes]], rows)


def table_featured(results: dict[str, Any]) -> str:
    """Markdown: each framework's featured loop against its fastest configuration, per model and batch size."""
    rows = []
    for model, per_batch in results["headline"]["models"].items():
        for batch, info in per_batch.items():
            for framework, f in info["featured"].items():
                ratio = f"{f['slowdown']:.2f}x" + ("" if f["slowdown"] <= 1.5 else " (**over 1.5x**)")
                rows.append(
                    [
                        f"{model.upper()}, batch {batch}",
                        "TensorFlow" if framework == "tensorflow" else "PyTorch",
                        _sps(info["samples_per_s"][f["featured"]]),
                        TRAIN_CONFIGS[f["fastest"]][1],
                        _sps(info["samples_per_s"][f["fastest"]]),
                        ratio,
                    ]
                )
    header = [
        "case",
        "framework",
        "featured loop, samples/s",
        "fastest configuration",
        "samples/s",
        "fastest / featured",
    ]
    return markdown_table(header, rows, "llrlrr")


def table_headline(results: dict[str, Any]) -> str:
    """Markdown: the headline numbers: per model and batch size, each configuration's samples/s and share of its
    framework's matmul ceiling, and the TensorFlow/PyTorch throughput ratios."""
    rows = []
    for model, per_batch in results["headline"]["models"].items():
        for batch, info in per_batch.items():
            tf_cells = [
                f"{TRAIN_CONFIGS[c][1]}: {_pct(info['utilisation'][c])}"
                for c in TRAIN_CONFIGS
                if c in info["utilisation"] and TRAIN_CONFIGS[c][0] == "tensorflow"
            ]
            pt_cells = [
                f"{TRAIN_CONFIGS[c][1]}: {_pct(info['utilisation'][c])}"
                for c in TRAIN_CONFIGS
                if c in info["utilisation"] and TRAIN_CONFIGS[c][0] == "pytorch"
            ]
            ratios = "; ".join(f"{k} {v:.2f}x" for k, v in info["tf_over_pt"].items())
            rows.append([f"{model.upper()}, batch {batch}", ratios, "<br>".join(tf_cells), "<br>".join(pt_cells)])
    header = ["model", "TF / PyTorch samples/s", "TensorFlow: share of its ceiling", "PyTorch: share of its ceiling"]
    return markdown_table(header, rows, "llll")


def table_profile(rows: Sequence[dict[str, Any]]) -> str:
    """Markdown: a profiler summary from :func:`torch_profile_summary` or :func:`xplane_op_summary`."""
    return markdown_table(
        ["op", "calls", "time (ms)", "share"],
        [[f"`{r['op']}`", r["calls"], f"{r['self_ms']:.2f}", f"{r['share']:.0%}"] for r in rows],
    )


# ---------------------------------------------------------------------------------------------------------------
# Profiler summaries
# ---------------------------------------------------------------------------------------------------------------


def torch_profile_summary(profile: Any, top: int = 8, device: bool = False) -> list[dict[str, Any]]:
    """The *top* operators of a finished ``torch.profiler.profile`` by self time: name, calls, total self time (ms)
    and share of the summed self time. The time is CPU time, or with *device* the accelerator's (CUDA kernels)."""
    key = "self_device_time_total" if device else "self_cpu_time_total"
    events = [e for e in profile.key_averages() if getattr(e, key) > 0]
    total = sum(getattr(e, key) for e in events) or 1.0
    events.sort(key=lambda e: getattr(e, key), reverse=True)
    return [
        {"op": e.key, "calls": int(e.count), "self_ms": getattr(e, key) / 1000, "share": getattr(e, key) / total}
        for e in events[:top]
    ]


def xplane_op_summary(logdir: str | os.PathLike, top: int = 8) -> list[dict[str, Any]]:
    """The *top* TensorFlow op types by time, read from the newest trace that ``tf.profiler.experimental`` wrote
    under *logdir*, without TensorBoard: name, calls, total time (ms, summed over threads) and share.

    The trace is an ``XSpace`` protocol buffer (``*.xplane.pb``); TensorFlow ships its message class. Ops are the
    events named ``"name:Type"`` on the host's executor threads; they are grouped by ``Type``. Raises
    :class:`FileNotFoundError` when *logdir* holds no trace.
    """
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    traces = sorted(Path(logdir).glob("plugins/profile/*/*.xplane.pb"), key=lambda p: p.stat().st_mtime)
    if not traces:
        raise FileNotFoundError(f"no *.xplane.pb trace under {logdir}/plugins/profile")
    space = xplane_pb2.XSpace()
    space.ParseFromString(traces[-1].read_bytes())
    totals: dict[str, list[float]] = {}
    for plane in space.planes:
        if not plane.name.startswith("/host:"):
            continue
        for line in plane.lines:
            if line.name == "python":  # the Python thread's events nest around the ops; count the ops only
                continue
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                if ":" not in name or "::" in name:
                    continue
                op_type = name.rsplit(":", 1)[1]
                slot = totals.setdefault(op_type, [0.0, 0])
                slot[0] += event.duration_ps / 1e9
                slot[1] += 1
    total = sum(v[0] for v in totals.values()) or 1.0
    ranked = sorted(totals.items(), key=lambda item: item[1][0], reverse=True)
    return [{"op": op, "calls": int(n), "self_ms": ms, "share": ms / total} for op, (ms, n) in ranked[:top]]


# ---------------------------------------------------------------------------------------------------------------
# Plots
# ---------------------------------------------------------------------------------------------------------------

_CONFIG_STYLE = {  # linestyle, marker; the framework gives the colour
    "tf_eager": (":", "v"),
    "tf_function": ("--", "s"),
    "tf_xla": ("-.", "D"),
    "keras_fit": ("-", "o"),
    "keras_fit_xla": ("-", "P"),
    "torch_eager": ("-", "o"),
    "torch_compile": ("--", "s"),
}


def _colors() -> dict[str, str]:
    from .plotting import FRAMEWORK_COLORS

    return FRAMEWORK_COLORS


def plot_ceiling(results: dict[str, Any]):
    """Matrix-multiply GFLOP/s against matrix size, per framework and dtype (the ceiling is each line's top)."""
    import matplotlib.pyplot as plt

    colors = _colors()
    fig, ax = plt.subplots(figsize=(9, 3.5))
    styles = {"float32": ("-", "o"), "bfloat16": ("--", "s"), "float16": (":", "^")}
    groups: dict[tuple[str, str], list[dict]] = {}
    for entry in results["matmul"]:
        groups.setdefault((entry["framework"], entry["dtype"]), []).append(entry)
    for (framework, dtype), entries in groups.items():
        entries.sort(key=lambda e: e["n"])
        n = [e["n"] for e in entries]
        med = np.array([e["gflops"]["median"] for e in entries])
        lo = med - np.array([e["gflops"]["q1"] for e in entries])
        hi = np.array([e["gflops"]["q3"] for e in entries]) - med
        line, marker = styles.get(dtype, ("-", "x"))
        ax.errorbar(
            n,
            med,
            yerr=[lo, hi],
            linestyle=line,
            marker=marker,
            color=colors[framework],
            capsize=3,
            label=f"{framework} {dtype}",
        )
    ax.set(xscale="log", xlabel="matrix size n (n x n times n x n)", ylabel="GFLOP/s (median, quartiles)")
    ax.set_xticks(
        sorted({e["n"] for e in results["matmul"]}), [str(v) for v in sorted({e["n"] for e in results["matmul"]})]
    )
    ax.minorticks_off()
    ax.set_ylim(bottom=0)
    ax.set_title(f"Matrix multiply, {results['machine']['threads']} threads")
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    return fig


def plot_training(results: dict[str, Any]):
    """Achieved training GFLOP/s against batch size, one panel per model, with each framework's float32 matmul
    ceiling as a dashed line."""
    import matplotlib.pyplot as plt

    colors = _colors()
    models = [m for m in MODELS if any(e["model"] == m for e in results["training"])]
    fig, axes = plt.subplots(1, len(models), figsize=(9, 3.8), squeeze=False, sharey=True)
    for ax, model in zip(axes[0], models):
        for config, (framework, label) in TRAIN_CONFIGS.items():
            entries = sorted(
                (e for e in results["training"] if e["model"] == model and e["config"] == config),
                key=lambda e: e["batch_size"],
            )
            if not entries:
                continue
            line, marker = _CONFIG_STYLE[config]
            featured = FEATURED.get(framework) == config
            ax.plot(
                [e["batch_size"] for e in entries],
                [e["gflops"] for e in entries],
                linestyle=line,
                marker=marker,
                ms=4,
                color=colors[framework],
                lw=2.2 if featured else 1.2,
                label=label + (" (featured)" if featured else ""),
            )
        for framework, ceiling in results["headline"]["ceiling_float32"].items():
            if framework in colors and framework != "numpy":
                ax.axhline(ceiling, color=colors[framework], lw=0.8, ls=(0, (6, 3)), alpha=0.8)
        sizes = sorted({e["batch_size"] for e in results["training"] if e["model"] == model})
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(sizes, [str(s) for s in sizes])
        ax.minorticks_off()
        ax.set(xlabel="batch size", title=f"{model.upper()}: training ({training_flops(model) / 1e6:.2f} MFLOP/sample)")
    axes[0][0].set_ylabel("achieved GFLOP/s (log)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    for ax in axes[0][1:]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8)
    fig.text(0.99, 0.99, "dashed lines: float32 matmul ceilings", ha="right", va="top", fontsize=8)
    fig.tight_layout(rect=(0, 0.17, 1, 0.97))
    return fig


def plot_compile(results: dict[str, Any], batch: int = FEATURED_BATCH):
    """Seconds the first training step costs beyond a normal one (tracing, compiling, building), per configuration
    and model, at *batch*; log scale."""
    import matplotlib.pyplot as plt

    colors = _colors()
    entries = [e for e in results["training"] if e["batch_size"] == batch]
    models = [m for m in MODELS if any(e["model"] == m for e in entries)]
    fig, axes = plt.subplots(1, len(models), figsize=(9, 3.2), squeeze=False, sharex=True)
    for ax, model in zip(axes[0], models):
        found = {e["config"]: e for e in entries if e["model"] == model}
        names = [c for c in TRAIN_CONFIGS if c in found]
        values = [max(found[c]["compile_s"], 1e-3) for c in names]
        ax.barh(range(len(names)), values, color=[colors[TRAIN_CONFIGS[c][0]] for c in names])
        for i, c in enumerate(names):
            text = "< 1 ms" if found[c]["compile_s"] < 1e-3 else f"{found[c]['compile_s']:.2g} s"
            ax.text(values[i] * 1.15, i, text, va="center", fontsize=8)
        ax.set_yticks(range(len(names)), [TRAIN_CONFIGS[c][1] for c in names], fontsize=8)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set(xlabel="first step minus a normal step (s, log)", title=f"{model.upper()}, batch {batch}")
    for ax in axes[0]:
        ax.set_xlim(right=ax.get_xlim()[1] * 8)
    fig.tight_layout()
    return fig


def plot_inference(results: dict[str, Any]):
    """Inference latency at batch 1 (ms) and throughput at the large batch (samples/s), per configuration."""
    import matplotlib.pyplot as plt

    colors = _colors()
    models = [m for m in MODELS if any(e["model"] == m for e in results["inference"])]
    big = max((e["batch_size"] for e in results["inference"]), default=1)
    fig, axes = plt.subplots(len(models), 2, figsize=(9, 2.6 * len(models) + 0.6), squeeze=False)
    for row, model in zip(axes, models):
        for ax, batch, key, unit in ((row[0], 1, "latency_ms", "ms"), (row[1], big, "samples_per_s", "samples/s")):
            found = {e["config"]: e for e in results["inference"] if e["model"] == model and e["batch_size"] == batch}
            names = [c for c in INFERENCE_CONFIGS if c in found]
            med = np.array([found[c][key]["median"] for c in names])
            err = [med - [found[c][key]["q1"] for c in names], [found[c][key]["q3"] for c in names] - med]
            ax.barh(range(len(names)), med, xerr=err, color=[colors[INFERENCE_CONFIGS[c][0]] for c in names], capsize=2)
            ax.set_yticks(range(len(names)), [INFERENCE_CONFIGS[c][1] for c in names], fontsize=8)
            ax.invert_yaxis()
            ax.set_xscale("log")
            what = "latency at batch 1" if batch == 1 else f"throughput at batch {batch}"
            ax.set(xlabel=f"{unit} (log)", title=f"{model.upper()}: {what}")
    fig.tight_layout()
    return fig


def plot_pipelines(results: dict[str, Any]):
    """Input-pipeline throughput (samples/s delivered, no model) per pipeline and batch size, with the featured
    MLP training loops' throughput at the same batch sizes for comparison."""
    import matplotlib.pyplot as plt

    colors = _colors()
    sizes = sorted({e["batch_size"] for e in results["pipelines"]})
    names = [p for p in PIPELINES if any(e["pipeline"] == p for e in results["pipelines"])]
    fig, ax = plt.subplots(figsize=(9, 3.5))
    width = 0.8 / max(len(names), 1)
    hatches = {"tf_data": "", "tf_data_gather": "//", "dataloader": "", "dataloader_batched": "//"}
    for i, name in enumerate(names):
        found = {e["batch_size"]: e for e in results["pipelines"] if e["pipeline"] == name}
        xs = [j + (i - (len(names) - 1) / 2) * width for j, b in enumerate(sizes) if b in found]
        ys = [found[b]["samples_per_s"]["median"] for b in sizes if b in found]
        ax.bar(
            xs,
            ys,
            width,
            color=colors[PIPELINES[name][0]],
            hatch=hatches.get(name, ""),
            edgecolor="white",
            label=PIPELINES[name][1],
        )
    for framework, config in FEATURED.items():
        for j, b in enumerate(sizes):
            match = [
                e for e in results["training"] if e["model"] == "mlp" and e["config"] == config and e["batch_size"] == b
            ]
            if match:
                ax.hlines(
                    match[0]["samples_per_s"]["median"], j - 0.45, j + 0.45, color=colors[framework], lw=2, ls=":"
                )
    ax.set_xticks(range(len(sizes)), [f"batch {b}" for b in sizes])
    ax.set_yscale("log")
    ax.set_ylabel("samples/s (log)")
    ax.set_title("Delivering batches, no model (dotted: the featured MLP training loop at that batch size)")
    fig.legend(*ax.get_legend_handles_labels(), loc="lower center", ncol=2, fontsize=8)
    fig.tight_layout(rect=(0, 0.14, 1, 1))
    return fig


def plot_step_time(results: dict[str, Any], model: str = "mlp"):
    """Milliseconds per training step against batch size, one panel per framework, with the time the step's FLOPs
    would take at that framework's float32 matmul ceiling: the floor that no loop can beat."""
    import matplotlib.pyplot as plt

    colors = _colors()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True)
    for ax, framework in zip(axes, ("tensorflow", "pytorch")):
        sizes: set[int] = set()
        for config, (owner, label) in TRAIN_CONFIGS.items():
            entries = sorted(
                (e for e in results["training"] if e["model"] == model and e["config"] == config),
                key=lambda e: e["batch_size"],
            )
            if owner != framework or not entries:
                continue
            sizes |= {e["batch_size"] for e in entries}
            line, marker = _CONFIG_STYLE[config]
            featured = FEATURED[framework] == config
            ax.plot(
                [e["batch_size"] for e in entries],
                [e["step_ms"]["median"] for e in entries],
                linestyle=line,
                marker=marker,
                ms=4,
                color=colors[framework],
                lw=2.2 if featured else 1.2,
                label=label + (" (featured)" if featured else ""),
            )
        ceiling = results["headline"]["ceiling_float32"].get(framework)
        if ceiling and sizes:
            b = np.array(sorted(sizes), dtype=float)
            ax.plot(
                b,
                1000 * b * training_flops(model) / (ceiling * 1e9),
                color="black",
                ls=(0, (4, 3)),
                lw=1,
                label="its FLOPs at the matmul ceiling",
            )
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        if sizes:
            ax.set_xticks(sorted(sizes), [str(s) for s in sorted(sizes)])
        ax.minorticks_off()
        ax.set(xlabel="batch size", title=f"{framework}: {model.upper()} training step")
        ax.legend(fontsize=7)
    axes[0].set_ylabel("ms per step (median, log)")
    fig.tight_layout()
    return fig
