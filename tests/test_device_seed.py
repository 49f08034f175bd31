"""Device selection (with its environment override) and seeding, for both frameworks."""

from __future__ import annotations

import random

import numpy as np
import pytest

import tutorial_utils as tu
from tutorial_utils import device as dev

torch = pytest.importorskip("torch")
tf = pytest.importorskip("tensorflow")

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("bad", ["gpu", "tpu", "CUDA:0"])
def test_unknown_device_names_the_choices(monkeypatch, bad):
    monkeypatch.setenv(dev.DEVICE_ENV, bad)
    with pytest.raises(ValueError, match="TUTORIAL_DEVICE=.*expected one of auto, cpu, cuda, mps"):
        tu.torch_device()
    with pytest.raises(ValueError, match="expected one of auto, cpu, cuda, mps"):
        tu.tf_device()


def test_cpu_override(monkeypatch):
    monkeypatch.setenv(dev.DEVICE_ENV, "CPU")
    assert tu.torch_device() == torch.device("cpu")


def test_auto_picks_the_best_available(monkeypatch):
    monkeypatch.delenv(dev.DEVICE_ENV, raising=False)
    expected = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    assert tu.torch_device().type == expected
    assert tu.tf_device() == ("/GPU:0" if tf.config.list_physical_devices("GPU") else "/CPU:0")


def test_auto_prefers_cuda_then_mps(monkeypatch):
    monkeypatch.delenv(dev.DEVICE_ENV, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert tu.torch_device().type == "mps"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert tu.torch_device().type == "cuda"


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_requested_accelerator_that_is_missing_is_an_error(monkeypatch):
    monkeypatch.setenv(dev.DEVICE_ENV, "cuda")
    with pytest.raises(RuntimeError, match="TUTORIAL_DEVICE=cuda but PyTorch .* cannot use it here; available: .*cpu"):
        tu.torch_device()


@pytest.mark.skipif(bool(tf.config.list_physical_devices("GPU")), reason="needs a machine without a TF GPU")
def test_requested_gpu_missing_for_tensorflow_is_an_error(monkeypatch):
    monkeypatch.setenv(dev.DEVICE_ENV, "cuda")
    with pytest.raises(RuntimeError, match="TUTORIAL_DEVICE=cuda but TensorFlow .* sees no GPU"):
        tu.tf_device()


class FakeGPU:
    def __init__(self, name):
        self.name = name


def test_memory_growth_is_enabled_for_every_gpu(monkeypatch):
    """On a shared GPU, TensorFlow must not reserve all memory: growth is set on each GPU before use."""
    gpus = [FakeGPU("/physical_device:GPU:0"), FakeGPU("/physical_device:GPU:1")]
    grown = []
    monkeypatch.delenv(dev.DEVICE_ENV, raising=False)
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind: gpus if kind == "GPU" else [])
    monkeypatch.setattr(tf.config, "get_visible_devices", lambda kind: gpus if kind == "GPU" else [])
    monkeypatch.setattr(tf.config.experimental, "set_memory_growth", lambda gpu, on: grown.append((gpu.name, on)))
    assert tu.configure_tensorflow() == [gpu.name for gpu in gpus]
    assert grown == [(gpu.name, True) for gpu in gpus]
    assert tu.tf_device() == "/GPU:0"


def test_cpu_request_hides_gpus_from_tensorflow(monkeypatch):
    hidden = []
    monkeypatch.setenv(dev.DEVICE_ENV, "cpu")
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind: [FakeGPU("/physical_device:GPU:0")])
    monkeypatch.setattr(tf.config, "set_visible_devices", lambda devices, kind: hidden.append((devices, kind)))
    assert tu.configure_tensorflow() == []
    assert hidden == [([], "GPU")]
    assert tu.tf_device() == "/CPU:0"


def test_growth_after_initialisation_warns_instead_of_failing(monkeypatch):
    def too_late(gpu, on):
        raise RuntimeError("Physical devices cannot be modified after being initialized")

    monkeypatch.delenv(dev.DEVICE_ENV, raising=False)
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind: [FakeGPU("/physical_device:GPU:0")])
    monkeypatch.setattr(tf.config.experimental, "set_memory_growth", too_late)
    with pytest.warns(UserWarning, match="already initialised.*restart the kernel"):
        tu.configure_tensorflow()


def test_import_sets_gpu_growth_default():
    import os

    assert os.environ.get("TF_FORCE_GPU_ALLOW_GROWTH") == "true"


# --- seeding ------------------------------------------------------------------------------------------------------


def _draw():
    return (
        random.random(),
        np.random.rand(),
        torch.rand(3).tolist(),
        tf.random.uniform((3,)).numpy().tolist(),
        tf.keras.initializers.GlorotUniform()((2, 2)).numpy().tolist(),
    )


def test_same_seed_same_numbers_in_every_library():
    tu.seed_everything(123)
    first = _draw()
    tu.seed_everything(123)
    assert _draw() == first
    tu.seed_everything(124)
    assert all(a != b for a, b in zip(_draw(), first))


def test_determinism_switches_are_on():
    tu.seed_everything(0)
    assert torch.are_deterministic_algorithms_enabled()
    assert torch.is_deterministic_algorithms_warn_only_enabled()
    assert torch.backends.cudnn.benchmark is False
    assert not torch.backends.cuda.matmul.allow_tf32 and not torch.backends.cudnn.allow_tf32
    assert not tf.config.experimental.tensor_float_32_execution_enabled()
    tu.seed_everything(0, deterministic=False)  # does not switch determinism off, only skips switching it on


@pytest.mark.parametrize("bad", [-1, 1.5, "0", True, None])
def test_bad_seed_is_rejected(bad):
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        tu.seed_everything(bad)


def test_unknown_framework_names_the_choices():
    with pytest.raises(ValueError, match="expected any of torch, tensorflow"):
        tu.seed_everything(0, frameworks=("jax",))
