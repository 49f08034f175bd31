"""What the reader is running on: versions (against the versions this book was tested with), devices, Colab."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from typing import Any

__all__ = ["COLAB_ENV", "TESTED_WITH", "describe_environment", "in_colab", "version_drift"]

# The versions every committed output was produced with (requirements.txt pins the same; a unit test checks it).
TESTED_WITH = {
    "python": "3.11",
    "numpy": "2.4.6",
    "torch": "2.13.0",
    "tensorflow": "2.21.0",
    "keras": "3.15.1",
}
COLAB_ENV = "TUTORIAL_FORCE_COLAB"  # "1" makes in_colab() true: used by the test that runs chapters as Colab would


def in_colab() -> bool:
    """True inside a Google Colab kernel (``google.colab`` is imported there), or when ``$TUTORIAL_FORCE_COLAB=1``."""
    return "google.colab" in sys.modules or os.environ.get(COLAB_ENV) == "1"


def _installed(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _release(version: str) -> tuple[int, ...]:
    """``"2.13.0+cpu"`` -> ``(2, 13)``: the part of a version that changes behaviour."""
    parts = []
    for piece in version.split("+")[0].split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def version_drift() -> list[str]:
    """One hint per package whose installed major.minor version differs from :data:`TESTED_WITH` (empty if none)."""
    found = {name: _installed(name) for name in TESTED_WITH if name != "python"}
    found["python"] = platform.python_version()
    hints = []
    for name, tested in TESTED_WITH.items():
        have = found[name]
        if have is not None and _release(have) != _release(tested):
            hints.append(
                f"{name} {have} differs from the tested {tested}: the code should run, but printed numbers, "
                "warnings and timings may differ (Colab updates its frameworks on its own schedule)."
            )
    return hints


def describe_environment(*, show: bool = True) -> dict[str, Any]:
    """Print (with *show*) and return versions, tested versions, drift hints and the devices of both frameworks.

    Imports PyTorch before TensorFlow (the book's order) when they are installed, and configures TensorFlow's GPUs
    (memory growth) through :func:`tutorial_utils.device.tf_device` before TensorFlow touches them.
    """
    from .device import requested_device

    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": f"{platform.system()}-{platform.machine()}",
        "cpu_count": os.cpu_count(),
        "colab": in_colab(),
        "requested_device": requested_device(),
        "versions": {name: _installed(name) for name in ("numpy", "torch", "tensorflow", "keras")},
    }
    if info["versions"]["torch"]:
        import torch

        from .device import torch_device

        info["torch_device"] = str(torch_device())
        info["torch_threads"] = torch.get_num_threads()
        if torch.cuda.is_available():
            info["torch_gpu"] = torch.cuda.get_device_name(0)
    if info["versions"]["tensorflow"]:
        import tensorflow as tf

        from .device import tf_device

        info["tf_device"] = tf_device()
        info["tf_gpus"] = [gpu.name for gpu in tf.config.get_visible_devices("GPU")]
        info["keras_backend"] = tf.keras.backend.backend()
    info["drift"] = version_drift()
    if show:
        print(_format(info))
    return info


def _format(info: dict[str, Any]) -> str:
    lines = [
        f"Python {info['python']} on {info['platform']}, {info['cpu_count']} CPUs"
        + (" (Google Colab)" if info["colab"] else ""),
        f"{'package':<12}{'found':<16}tested with",
    ]
    for name, have in info["versions"].items():
        lines.append(f"{name:<12}{have or 'not installed':<16}{TESTED_WITH[name]}")
    if "torch_device" in info:
        gpu = f" ({info['torch_gpu']})" if "torch_gpu" in info else ""
        lines.append(f"PyTorch device: {info['torch_device']}{gpu}, {info['torch_threads']} CPU threads")
    if "tf_device" in info:
        gpus = ", ".join(info["tf_gpus"]) or "none"
        lines.append(f"TensorFlow device: {info['tf_device']} (GPUs: {gpus}); Keras backend: {info['keras_backend']}")
        if info["keras_backend"] != "tensorflow":
            lines.append("WARNING: KERAS_BACKEND is not 'tensorflow', so tf.keras here does not run on TensorFlow.")
    lines += [f"Note: {hint}" for hint in info["drift"]]
    return "\n".join(lines)
