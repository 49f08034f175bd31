"""Device selection for both frameworks, in one kernel.

``TUTORIAL_DEVICE`` (``auto``, ``cpu``, ``cuda`` or ``mps``; default ``auto``) picks the accelerator for both
frameworks. ``auto`` means CUDA, then Apple MPS, then CPU for PyTorch, and the first GPU TensorFlow sees, else CPU.

TensorFlow reserves nearly all GPU memory on first use unless memory growth is on, which would leave PyTorch
nothing on a shared Colab GPU. :func:`configure_tensorflow` turns growth on for every GPU before TensorFlow
touches one (``import tutorial_utils`` also sets ``TF_FORCE_GPU_ALLOW_GROWTH=true`` as a default for the same
reason), and hides the GPUs from TensorFlow when ``TUTORIAL_DEVICE=cpu``.
"""

from __future__ import annotations

import os
import warnings
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["DEVICE_CHOICES", "DEVICE_ENV", "configure_tensorflow", "requested_device", "tf_device", "torch_device"]

DEVICE_ENV = "TUTORIAL_DEVICE"
DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def requested_device() -> str:
    """The validated value of ``$TUTORIAL_DEVICE`` (``"auto"`` when unset).

    Raises :class:`ValueError` naming the valid choices for anything else.
    """
    wanted = (os.environ.get(DEVICE_ENV) or "auto").strip().lower()
    if wanted not in DEVICE_CHOICES:
        raise ValueError(f"{DEVICE_ENV}={wanted!r}; expected one of {', '.join(DEVICE_CHOICES)}")
    return wanted


def torch_device() -> torch.device:
    """The device PyTorch should use: CUDA, then Apple MPS, then CPU, unless ``$TUTORIAL_DEVICE`` says otherwise.

    Raises :class:`RuntimeError` when the requested accelerator is not available to PyTorch.
    """
    import torch  # imported here so that `import tutorial_utils` loads no framework

    wanted = requested_device()
    has_cuda = torch.cuda.is_available()
    has_mps = bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    if wanted == "auto":
        wanted = "cuda" if has_cuda else "mps" if has_mps else "cpu"
    elif (wanted == "cuda" and not has_cuda) or (wanted == "mps" and not has_mps):
        found = [name for name, ok in (("cuda", has_cuda), ("mps", has_mps)) if ok] + ["cpu"]
        raise RuntimeError(
            f"{DEVICE_ENV}={wanted} but PyTorch {torch.__version__} cannot use it here; available: {', '.join(found)}"
        )
    return torch.device(wanted)


def configure_tensorflow() -> list[str]:
    """Prepare TensorFlow's GPUs before first use and return the names of the GPUs it will use.

    Turns on memory growth for every visible GPU, so that TensorFlow takes GPU memory as it needs it and leaves
    the rest to PyTorch. With ``TUTORIAL_DEVICE=cpu`` the GPUs are hidden from TensorFlow instead. Safe to call
    more than once; if TensorFlow has already initialised its GPUs, it warns and changes nothing.
    """
    import tensorflow as tf

    wanted = requested_device()
    gpus = tf.config.list_physical_devices("GPU")
    try:
        if wanted == "cpu":
            tf.config.set_visible_devices([], "GPU")
            return []
        for gpu in gpus:
            tf.config.experimental.set_memory_growth(gpu, True)
    except RuntimeError as exc:  # "Physical devices cannot be modified after being initialized"
        warnings.warn(
            f"TensorFlow's GPUs were already initialised, so memory growth could not be set ({exc}). "
            "Call configure_tensorflow() before any TensorFlow op, or restart the kernel.",
            stacklevel=2,
        )
    return [gpu.name for gpu in tf.config.get_visible_devices("GPU")]


def tf_device() -> str:
    """The device string TensorFlow should use (``"/GPU:0"`` or ``"/CPU:0"``), honouring ``$TUTORIAL_DEVICE``.

    TensorFlow reaches NVIDIA GPUs through CUDA and Apple GPUs through the ``tensorflow-metal`` plugin; both appear
    as ``GPU``. Raises :class:`RuntimeError` when an accelerator is requested but TensorFlow sees none.
    """
    import tensorflow as tf

    wanted = requested_device()
    gpus = configure_tensorflow()
    if wanted == "cpu":
        return "/CPU:0"
    if gpus:
        return "/GPU:0"
    if wanted != "auto":
        raise RuntimeError(f"{DEVICE_ENV}={wanted} but TensorFlow {tf.__version__} sees no GPU here; available: cpu")
    return "/CPU:0"
