"""tutorial_utils.data: sources, environment overrides, checksum, atomic download, healing, offline fallback.

The network is never touched: every download goes through a fake ``urlopen``.
"""

from __future__ import annotations

import hashlib
import io
import urllib.error
from pathlib import Path

import numpy as np
import pytest

from tutorial_utils import data as d


def _fake_full_archive() -> bytes:
    """An archive with the real archive's shapes and dtypes (random pixels); tests declare its checksum as expected."""
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    np.savez(
        buffer,
        x_train=rng.integers(0, 256, (60_000, 28, 28), dtype=np.uint8),
        y_train=rng.integers(0, 10, 60_000, dtype=np.uint8),
        x_test=rng.integers(0, 256, (10_000, 28, 28), dtype=np.uint8),
        y_test=rng.integers(0, 10, 10_000, dtype=np.uint8),
    )
    return buffer.getvalue()


@pytest.fixture(scope="module")
def full_bytes() -> bytes:
    return _fake_full_archive()


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(d.CACHE_ENV, str(folder))
    monkeypatch.delenv(d.DATA_ENV, raising=False)
    return folder


class FakeResponse(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@pytest.fixture
def serve(monkeypatch, full_bytes):
    """Make downloads return *payload* (default: the fake full archive, declared as the expected checksum)."""
    calls = []

    def install(payload: bytes | Exception | None = None, *, trusted: bool = True):
        body = full_bytes if payload is None else payload
        if trusted and isinstance(body, bytes):
            monkeypatch.setattr(d, "FULL_SHA256", hashlib.sha256(body).hexdigest())

        def fake_urlopen(url, timeout):
            calls.append((url, timeout))
            if isinstance(body, Exception):
                raise body
            return FakeResponse(body)

        monkeypatch.setattr(d.urllib.request, "urlopen", fake_urlopen)
        return calls

    return install


def _no_network(monkeypatch):
    def refuse(url, timeout):
        raise AssertionError("the network must not be used here")

    monkeypatch.setattr(d.urllib.request, "urlopen", refuse)


# --- the bundled sample -------------------------------------------------------------------------------------------


def test_sample_has_fixed_split_and_uint8_arrays(cache, monkeypatch, capsys):
    _no_network(monkeypatch)
    mnist = d.load_mnist("sample")
    assert mnist.source == "sample"
    assert mnist.x_train.shape == (8000, 28, 28) and mnist.x_test.shape == (2000, 28, 28)
    assert mnist.y_train.shape == (8000,) and mnist.y_test.shape == (2000,)
    for array in (mnist.x_train, mnist.y_train, mnist.x_test, mnist.y_test):
        assert array.dtype == np.uint8
    assert set(np.unique(mnist.y_train)) == set(range(10))
    assert mnist.x_train.max() == 255 and mnist.x_train.min() == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out == ["Data: bundled MNIST sample, 8,000 train / 2,000 test images (source='sample')"]


def test_sample_is_reproducible_and_real_digits(cache):
    first, second = d.load_mnist("sample", verbose=False), d.load_mnist("sample", verbose=False)
    np.testing.assert_array_equal(first.x_train, second.x_train)
    # Real handwriting, not noise: the mean image of the ones is a narrow vertical stroke.
    ones = first.x_train[first.y_train == 1].mean(axis=0)
    assert ones[:, 12:16].mean() > 3 * ones[:, :6].mean()
    # first labels of the documented split (seed 20151109), so a changed split is noticed
    assert first.y_train[:10].tolist() == [9, 0, 8, 5, 2, 2, 7, 0, 0, 1]


def test_env_var_forces_source(cache, monkeypatch, capsys):
    _no_network(monkeypatch)
    monkeypatch.setenv(d.DATA_ENV, "sample")
    mnist = d.load_mnist()
    assert mnist.source == "sample"
    assert "(TUTORIAL_DATA=sample)" in capsys.readouterr().out


@pytest.mark.parametrize("bad", ["mnist", "FULLL", ""])
def test_unknown_source_names_the_choices(cache, bad):
    with pytest.raises(ValueError, match="expected one of auto, full, sample"):
        d.load_mnist(bad or "  ")


def test_unknown_env_source_names_the_variable(cache, monkeypatch):
    monkeypatch.setenv(d.DATA_ENV, "kaggle")
    with pytest.raises(ValueError, match=r"TUTORIAL_DATA='kaggle'; expected one of auto, full, sample"):
        d.load_mnist()


def test_corrupt_bundled_sample_is_refused(cache, monkeypatch):
    monkeypatch.setattr(d, "SAMPLE_SHA256", "0" * 64)
    with pytest.raises(d.DataError, match="bundled sample .* fails its checksum"):
        d.load_mnist("sample")


# --- the full archive ---------------------------------------------------------------------------------------------


def test_full_download_is_verified_cached_and_reused(cache, serve, full_bytes, capsys):
    calls = serve()
    mnist = d.load_mnist("full")
    assert mnist.source == "full" and mnist.x_train.shape == (60000, 28, 28)
    assert calls == [(d.FULL_URL, d.FULL_TIMEOUT_S)]
    assert (cache / "mnist.npz").read_bytes() == full_bytes
    assert list(cache.glob(".*part")) == []  # no temporary file left behind
    assert "downloaded" in capsys.readouterr().out
    again = d.load_mnist("full")
    assert len(calls) == 1, "a verified cached copy must not be downloaded again"
    assert again.reason.endswith("cached")


def test_checksum_mismatch_discards_download_and_keeps_cache(cache, serve, full_bytes):
    cache.mkdir()
    previous = b"whatever was cached before"
    (cache / "mnist.npz").write_bytes(previous)
    serve(full_bytes + b"tampered", trusted=False)  # the expected checksum stays the official one
    with pytest.raises(d.DataError, match="fails its checksum"):
        d.load_mnist("full")
    assert (cache / "mnist.npz").read_bytes() == previous, "a failed download must not replace the cached file"
    assert sorted(p.name for p in cache.iterdir()) == ["mnist.npz"]


def test_corrupt_cache_is_healed_never_used(cache, serve, full_bytes, capsys):
    cache.mkdir()
    (cache / "mnist.npz").write_bytes(full_bytes[: len(full_bytes) // 2])  # a truncated earlier download
    calls = serve()
    mnist = d.load_mnist("full")
    assert len(calls) == 1
    assert mnist.reason.endswith("the cached copy failed its checksum and was downloaded again")
    assert (cache / "mnist.npz").read_bytes() == full_bytes
    assert "downloaded again" in capsys.readouterr().out


def test_truncated_download_is_an_error_not_a_cache(cache, serve, full_bytes):
    serve(full_bytes[:1000], trusted=False)
    with pytest.raises(d.DataError, match="fails its checksum"):
        d.load_mnist("full")
    assert not (cache / "mnist.npz").exists()


def test_valid_checksum_but_wrong_content_is_a_clear_error(cache, serve):
    buffer = io.BytesIO()
    np.savez(buffer, x_train=np.zeros((3, 28, 28), np.uint8), y_train=np.zeros(3, np.uint8),
             x_test=np.zeros((1, 28, 28), np.uint8), y_test=np.zeros(1, np.uint8))  # fmt: skip
    serve(buffer.getvalue())
    with pytest.raises(d.DataError, match=r"x_train has shape \(3, 28, 28\).*expected \(60000, 28, 28\) uint8"):
        d.load_mnist("full")


def test_pickled_archive_is_not_unpickled(cache, serve):
    buffer = io.BytesIO()
    np.savez(buffer, x_train=np.array([object()], dtype=object), y_train=np.zeros(1), x_test=np.zeros(1),
             y_test=np.zeros(1))  # fmt: skip
    serve(buffer.getvalue())
    with pytest.raises(d.DataError, match="not a valid MNIST archive"):
        d.load_mnist("full")


def test_explicit_full_offline_is_a_clear_error(cache, serve):
    serve(urllib.error.URLError("Name or service not known"))
    with pytest.raises(d.DataError, match="could not download .*Name or service not known"):
        d.load_mnist("full")
    assert not cache.exists() or not any(cache.iterdir())


def test_unwritable_cache_names_the_variable(cache, monkeypatch, serve):
    """A read-only cache folder (simulated, so that the test also means something when run as root)."""

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    serve()
    monkeypatch.setattr(d.tempfile, "NamedTemporaryFile", denied)
    with pytest.raises(d.DataError, match=r"cache directory .* is not writable \(Permission denied\); set TUTORIAL_"):
        d.load_mnist("full")


def test_cache_that_is_a_file_names_the_variable(tmp_path, monkeypatch, serve):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv(d.CACHE_ENV, str(blocker))
    serve()
    with pytest.raises(d.DataError, match="not writable.*set TUTORIAL_CACHE_DIR"):
        d.load_mnist("full")
    assert blocker.read_text() == "a file where the cache folder should be"


def test_cache_dir_defaults(monkeypatch, tmp_path):
    monkeypatch.delenv(d.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert d.cache_dir() == tmp_path / "tf-pt-side-by-side"
    monkeypatch.setenv(d.CACHE_ENV, "~/elsewhere")
    assert d.cache_dir() == Path.home() / "elsewhere"


# --- auto ---------------------------------------------------------------------------------------------------------


def test_auto_offline_falls_back_to_sample_with_one_line(cache, serve, capsys):
    serve(urllib.error.URLError("Temporary failure in name resolution"))
    mnist = d.load_mnist()
    assert mnist.source == "sample"
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Data: bundled MNIST sample") and "full archive is unavailable" in lines[0]


def test_auto_uses_short_timeouts_and_a_deadline(cache, serve):
    calls = serve()
    mnist = d.load_mnist("auto")
    assert mnist.source == "full"
    assert calls[0][1] <= d.AUTO_DEADLINE_S


def test_auto_gives_up_after_the_deadline(cache, serve, monkeypatch):
    serve()
    clock = iter([0.0, 100.0, 200.0, 300.0])
    monkeypatch.setattr(d.time, "monotonic", lambda: next(clock))
    mnist = d.load_mnist("auto", verbose=False)
    assert mnist.source == "sample" and "longer than" in mnist.reason
    assert not (cache / "mnist.npz").exists()


def test_auto_prefers_a_verified_cache_without_network(cache, serve, monkeypatch):
    serve()
    d.load_mnist("full", verbose=False)
    _no_network(monkeypatch)
    assert d.load_mnist(verbose=False).source == "full"


def test_auto_with_unwritable_cache_falls_back(tmp_path, monkeypatch, serve):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv(d.CACHE_ENV, str(blocker))
    monkeypatch.delenv(d.DATA_ENV, raising=False)
    serve()
    mnist = d.load_mnist(verbose=False)
    assert mnist.source == "sample" and "not writable" in mnist.reason


# --- preprocessing and adapters -----------------------------------------------------------------------------------


def test_preprocess_flattens_and_scales():
    images = np.array([[[0] * 28] * 28, [[255] * 28] * 28], dtype=np.uint8)
    rows = d.preprocess(images)
    assert rows.shape == (2, 784) and rows.dtype == np.float32
    assert rows[0].max() == 0.0 and rows[1].min() == 1.0


@pytest.mark.parametrize(
    "bad", [np.zeros((2, 28, 28), np.float32), np.zeros((2, 784), np.uint8), np.zeros((2, 27, 28), np.uint8)]
)
def test_preprocess_rejects_other_layouts(bad):
    with pytest.raises(ValueError, match=r"expected uint8 images of shape \(N, 28, 28\)"):
        d.preprocess(bad)
