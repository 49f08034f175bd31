"""MNIST for both frameworks from one NumPy source.

:func:`load_mnist` returns uint8 arrays (images ``N x 28 x 28``, labels ``N``) from one of two sources:

``full``
    The official 60,000/10,000 archive that ``keras.datasets.mnist`` also uses, downloaded once into a per-user
    cache, checksum-verified and written atomically.
``sample``
    10,000 real MNIST digits shipped inside this package (8,000 train / 2,000 test, fixed split), so that every
    chapter runs offline and in CI.

``auto`` (the default) takes ``full`` when it is cached or downloads within a few seconds, else ``sample``, and
prints one line saying which and why. ``TUTORIAL_DATA`` forces a source; ``TUTORIAL_CACHE_DIR`` moves the cache.

:func:`to_tf_dataset` and :func:`to_torch_loader` wrap the same preprocessed arrays for each framework.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover - only for type checkers
    import tensorflow as tf
    import torch.utils.data

__all__ = [
    "CACHE_ENV",
    "DATA_ENV",
    "DATA_SOURCES",
    "FULL_SHA256",
    "FULL_URL",
    "MNIST",
    "SAMPLE_SHA256",
    "DataError",
    "cache_dir",
    "load_mnist",
    "preprocess",
    "to_tf_dataset",
    "to_torch_loader",
]

DATA_ENV = "TUTORIAL_DATA"
CACHE_ENV = "TUTORIAL_CACHE_DIR"
DATA_SOURCES = ("auto", "full", "sample")

FULL_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
FULL_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
FULL_FILENAME = "mnist.npz"
SAMPLE_SHA256 = "3125cfd8a5bf446d1f5470d1dce782f6894fd55621dd4303160c10ba58aa7732"

AUTO_DEADLINE_S = 10.0  # "auto" gives the download this long in total before it settles for the sample
FULL_TIMEOUT_S = 60.0  # socket timeout for an explicit "full" download
_CHUNK = 1 << 16
_SPLITS = {"full": (60_000, 10_000), "sample": (8_000, 2_000)}
_KEYS = ("x_train", "y_train", "x_test", "y_test")


class DataError(RuntimeError):
    """The data could not be obtained: a bad setting, a failed download, or a file that fails its checksum."""


@dataclass(frozen=True)
class MNIST:
    """MNIST as uint8 arrays, with where it came from.

    ``x_train``/``x_test`` have shape ``(N, 28, 28)``, ``y_train``/``y_test`` shape ``(N,)``, all ``uint8``.
    ``source`` is ``"full"`` or ``"sample"``; ``reason`` says why that source was used.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    reason: str

    def summary(self) -> str:
        """One line: which data, how many images, and why."""
        name = "full MNIST" if self.source == "full" else "bundled MNIST sample"
        return f"Data: {name}, {len(self.x_train):,} train / {len(self.x_test):,} test images ({self.reason})"


def cache_dir() -> Path:
    """The folder for downloaded data: ``$TUTORIAL_CACHE_DIR``, else ``$XDG_CACHE_HOME/tf-pt-side-by-side``,
    else ``~/.cache/tf-pt-side-by-side``. The folder is not created here."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tf-pt-side-by-side"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_npz(path: Path, source: str) -> dict[str, np.ndarray]:
    """Load and validate the four arrays; never unpickles."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in _KEYS}
    except Exception as exc:  # OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError ...
        raise DataError(f"{path} is not a valid MNIST archive: {exc}") from exc
    n_train, n_test = _SPLITS[source]
    expected = {
        "x_train": (n_train, 28, 28),
        "y_train": (n_train,),
        "x_test": (n_test, 28, 28),
        "y_test": (n_test,),
    }
    for key, shape in expected.items():
        if arrays[key].shape != shape or arrays[key].dtype != np.uint8:
            raise DataError(
                f"{path}: {key} has shape {arrays[key].shape} and dtype {arrays[key].dtype}; expected {shape} uint8"
            )
    return arrays


def _load_sample() -> dict[str, np.ndarray]:
    ref = resources.files("tutorial_utils") / "_data" / "mnist_sample.npz"
    with resources.as_file(ref) as path:
        if not path.is_file():
            raise DataError(f"the bundled sample {path} is missing; reinstall tutorial_utils")
        digest = _sha256(path)
        if digest != SAMPLE_SHA256:
            raise DataError(
                f"the bundled sample {path} fails its checksum (sha256 {digest}, expected {SAMPLE_SHA256}); "
                "reinstall tutorial_utils"
            )
        return _read_npz(path, "sample")


def _writable_dir(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise DataError(
            f"the cache directory {folder} is not writable ({exc.strerror or exc}); "
            f"set {CACHE_ENV} to a writable folder"
        ) from exc


def _download(url: str, target: Path, *, timeout: float, deadline: float | None) -> None:
    """Download *url* to *target* atomically: into a temporary file beside it, verified, then renamed.

    On any failure the temporary file is removed and *target* (whatever it held) is left untouched.
    """
    _writable_dir(target.parent)
    # not a `with` block: the file must outlive the handle, to be verified and renamed (or removed) below
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115
        dir=target.parent, prefix=f".{target.name}.", suffix=".part", delete=False
    )
    tmp = Path(handle.name)
    digest = hashlib.sha256()
    start = time.monotonic()
    try:
        with handle, urllib.request.urlopen(url, timeout=timeout) as response:
            while True:
                if deadline is not None and time.monotonic() - start > deadline:
                    raise DataError(f"downloading {url} took longer than {deadline:.0f} s")
                block = response.read(_CHUNK)
                if not block:
                    break
                handle.write(block)
                digest.update(block)
        if digest.hexdigest() != FULL_SHA256:
            raise DataError(
                f"the download of {url} fails its checksum (sha256 {digest.hexdigest()}, expected {FULL_SHA256}); "
                "the file was discarded"
            )
        os.replace(tmp, target)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise DataError(f"could not download {url}: {getattr(exc, 'reason', exc)}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def _load_full(*, timeout: float, deadline: float | None) -> tuple[dict[str, np.ndarray], str]:
    """The full archive from the cache, (re)downloading it when absent or corrupt. Returns arrays and a reason."""
    target = cache_dir() / FULL_FILENAME
    if target.is_file():
        if _sha256(target) == FULL_SHA256:
            return _read_npz(target, "full"), "cached"
        healed = "the cached copy failed its checksum and was downloaded again"
    else:
        healed = "downloaded"
    _download(FULL_URL, target, timeout=timeout, deadline=deadline)
    return _read_npz(target, "full"), healed


def load_mnist(source: str | None = None, *, verbose: bool = True) -> MNIST:
    """Load MNIST as uint8 arrays.

    *source* is ``"auto"``, ``"full"`` or ``"sample"``; ``None`` reads ``$TUTORIAL_DATA`` (default ``"auto"``).
    ``auto`` uses the full archive if it is cached or downloads within ``AUTO_DEADLINE_S`` seconds, else the
    bundled sample. With *verbose*, prints one line saying which data is used and why.

    Raises :class:`ValueError` for an unknown source and :class:`DataError` when an explicit ``"full"`` cannot be
    downloaded, fails its checksum, or the cache directory is not writable.
    """
    from_env = source is None
    chosen = (os.environ.get(DATA_ENV) or "auto") if from_env else source
    chosen = chosen.strip().lower()
    if chosen not in DATA_SOURCES:
        where = f"{DATA_ENV}={chosen!r}" if from_env else f"source={chosen!r}"
        raise ValueError(f"{where}; expected one of {', '.join(DATA_SOURCES)}")
    forced = f"{DATA_ENV}={chosen}" if from_env and os.environ.get(DATA_ENV) else f"source={chosen!r}"

    if chosen == "sample":
        arrays, origin, reason = _load_sample(), "sample", forced
    elif chosen == "full":
        arrays, how = _load_full(timeout=FULL_TIMEOUT_S, deadline=None)
        origin, reason = "full", f"{forced}, {how}"
    else:
        try:
            arrays, how = _load_full(timeout=min(5.0, AUTO_DEADLINE_S), deadline=AUTO_DEADLINE_S)
            origin, reason = "full", how
        except DataError as exc:
            arrays, origin = _load_sample(), "sample"
            reason = f"the full archive is unavailable: {exc}"
    data = MNIST(**arrays, source=origin, reason=reason)
    if verbose:
        print(data.summary())
    return data


def preprocess(images: np.ndarray) -> np.ndarray:
    """uint8 images ``(N, 28, 28)`` -> float32 rows ``(N, 784)`` in [0, 1]: the preprocessing both frameworks see."""
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"expected uint8 images of shape (N, 28, 28), got {images.dtype} {images.shape}")
    return images.reshape(len(images), 28 * 28).astype(np.float32) / np.float32(255.0)


def _check_pair(x: np.ndarray, y: np.ndarray, batch_size: int) -> None:
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} rows but y has {len(y)}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size}")


def to_tf_dataset(
    x: np.ndarray, y: np.ndarray, *, batch_size: int = 64, shuffle: bool = False, seed: int = 0
) -> tf.data.Dataset:
    """A ``tf.data.Dataset`` of ``(x, y)`` batches over the given arrays (no copy of the preprocessing).

    With *shuffle*, the order is reshuffled each epoch from *seed* (full-size buffer, so a true permutation).
    Labels become int64, the dtype both frameworks' sparse cross-entropy losses accept.
    """
    import tensorflow as tf

    _check_pair(x, y, batch_size)
    dataset = tf.data.Dataset.from_tensor_slices((x, np.asarray(y, dtype=np.int64)))
    if shuffle:
        dataset = dataset.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def to_torch_loader(
    x: np.ndarray, y: np.ndarray, *, batch_size: int = 64, shuffle: bool = False, seed: int = 0, **kwargs: Any
) -> torch.utils.data.DataLoader:
    """A PyTorch ``DataLoader`` of ``(x, y)`` batches over the given arrays (shares their memory).

    With *shuffle*, the order is reshuffled each epoch by a ``torch.Generator`` seeded with *seed*. Extra keyword
    arguments (``num_workers``, ``pin_memory``, ...) go to ``DataLoader``. Labels become int64.
    """
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    _check_pair(x, y, batch_size)
    dataset = TensorDataset(torch.from_numpy(np.asarray(x)), torch.from_numpy(np.asarray(y, dtype=np.int64)))
    generator = torch.Generator().manual_seed(seed) if shuffle else None
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator, **kwargs)
