"""Helpers shared by every chapter of *TensorFlow and PyTorch, side by side*.

Importing this package imports neither TensorFlow nor PyTorch. It only sets two environment defaults that must be
in place before TensorFlow is imported (a reader's own settings win):

* ``TF_FORCE_GPU_ALLOW_GROWTH=true`` so that TensorFlow does not reserve the whole GPU that PyTorch shares;
* ``TF_CPP_MIN_LOG_LEVEL=2`` so that TensorFlow's C++ start-up INFO and WARNING lines stay out of the pages.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from .data import (
    CACHE_ENV,
    DATA_ENV,
    DATA_SOURCES,
    MNIST,
    DataError,
    cache_dir,
    load_mnist,
    preprocess,
    to_tf_dataset,
    to_torch_loader,
)
from .device import DEVICE_CHOICES, DEVICE_ENV, configure_tensorflow, requested_device, tf_device, torch_device
from .environment import TESTED_WITH, describe_environment, in_colab, version_drift
from .isolated import IsolatedRunError, run_isolated
from .plotting import FRAMEWORK_COLORS, use_book_style
from .results import glue, read_glued
from .seed import seed_everything

__version__ = "0.1.0"

__all__ = [
    "CACHE_ENV",
    "DATA_ENV",
    "DATA_SOURCES",
    "DEVICE_CHOICES",
    "DEVICE_ENV",
    "FRAMEWORK_COLORS",
    "MNIST",
    "TESTED_WITH",
    "DataError",
    "IsolatedRunError",
    "cache_dir",
    "configure_tensorflow",
    "describe_environment",
    "glue",
    "in_colab",
    "load_mnist",
    "preprocess",
    "read_glued",
    "requested_device",
    "run_isolated",
    "seed_everything",
    "tf_device",
    "to_tf_dataset",
    "to_torch_loader",
    "torch_device",
    "use_book_style",
    "version_drift",
]
