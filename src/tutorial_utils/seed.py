"""One call that seeds Python, NumPy, PyTorch and TensorFlow and asks both frameworks for deterministic kernels."""

from __future__ import annotations

import importlib.util
import os
import random
from collections.abc import Iterable

import numpy as np

__all__ = ["FRAMEWORKS", "seed_everything"]

FRAMEWORKS = ("torch", "tensorflow")  # the order they are imported in, everywhere in this book


def seed_everything(seed: int = 0, *, deterministic: bool = True, frameworks: Iterable[str] = FRAMEWORKS) -> None:
    """Seed Python's ``random``, NumPy's global generator and each installed framework in *frameworks*.

    With *deterministic*, also ask for deterministic, full-precision kernels: ``torch.use_deterministic_algorithms(
    True, warn_only=True)`` (warns instead of failing on an op without a deterministic kernel), cuDNN benchmarking
    off, ``tf.config.experimental.enable_op_determinism()``, and TF32 off in both frameworks (on Ampere and newer
    GPUs TensorFlow uses TF32 for float32 matrix products by default, and PyTorch for cuDNN convolutions, which
    would make cross-framework comparisons at float32 tolerance fail). Frameworks that are not installed are
    skipped.

    Raises :class:`ValueError` for a negative or non-integer seed, or an unknown framework name.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    wanted = tuple(frameworks)
    unknown = [name for name in wanted if name not in FRAMEWORKS]
    if unknown:
        raise ValueError(f"unknown framework(s) {unknown}; expected any of {', '.join(FRAMEWORKS)}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # needed by older PyTorch on CUDA
    for name in FRAMEWORKS:  # fixed order: torch before tensorflow
        if name in wanted and importlib.util.find_spec(name) is not None:
            (_seed_torch if name == "torch" else _seed_tensorflow)(seed, deterministic)


def _seed_torch(seed: int, deterministic: bool) -> None:
    import torch

    torch.manual_seed(seed)  # seeds the CPU generator and every CUDA device
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False


def _seed_tensorflow(seed: int, deterministic: bool) -> None:
    import tensorflow as tf

    tf.random.set_seed(seed)
    if importlib.util.find_spec("keras") is not None:
        import keras

        keras.utils.set_random_seed(seed)  # Python, NumPy, TF, and Keras's own seed generators
    if deterministic:
        tf.config.experimental.enable_op_determinism()
        tf.config.experimental.enable_tensor_float_32_execution(False)
