"""to_tf_dataset / to_torch_loader: the same arrays, batches and dtypes in both frameworks."""

from __future__ import annotations

import numpy as np
import pytest

import tutorial_utils as tu

torch = pytest.importorskip("torch")  # torch before tensorflow, as everywhere in the book
tf = pytest.importorskip("tensorflow")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def arrays():
    rng = np.random.default_rng(0)
    x = rng.random((50, 784), dtype=np.float32)
    y = rng.integers(0, 10, 50).astype(np.uint8)
    return x, y


def _batches_tf(ds):
    return [(x.numpy(), y.numpy()) for x, y in ds]


def _batches_pt(loader):
    return [(x.numpy(), y.numpy()) for x, y in loader]


def test_unshuffled_batches_are_identical(arrays):
    x, y = arrays
    tf_batches = _batches_tf(tu.to_tf_dataset(x, y, batch_size=16))
    pt_batches = _batches_pt(tu.to_torch_loader(x, y, batch_size=16))
    assert [len(b[0]) for b in tf_batches] == [len(b[0]) for b in pt_batches] == [16, 16, 16, 2]
    for (xt, yt), (xp, yp) in zip(tf_batches, pt_batches):
        np.testing.assert_array_equal(xt, xp)
        np.testing.assert_array_equal(yt, yp)
        assert xt.dtype == xp.dtype == np.float32
        assert yt.dtype == yp.dtype == np.int64


@pytest.mark.parametrize("make", ["tf", "pt"])
def test_shuffle_is_a_seeded_permutation_reshuffled_each_epoch(arrays, make):
    x, y = arrays

    def order(seed):
        if make == "tf":
            source = tu.to_tf_dataset(x, y, batch_size=50, shuffle=True, seed=seed)
            epochs = [_batches_tf(source)[0][0] for _ in range(2)]
        else:
            source = tu.to_torch_loader(x, y, batch_size=50, shuffle=True, seed=seed)
            epochs = [_batches_pt(source)[0][0] for _ in range(2)]
        # recover the permutation from the rows' first value
        return [np.searchsorted(np.sort(x[:, 0]), e[:, 0]) for e in epochs]

    first, second = order(1), order(1)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)  # same seed, same orders
    assert sorted(first[0].tolist()) == list(range(50))  # a permutation: every row exactly once
    assert not np.array_equal(first[0], first[1])  # a new order each epoch
    assert not np.array_equal(first[0], order(2)[0])  # another seed, another order


@pytest.mark.parametrize("adapter", [tu.to_tf_dataset, tu.to_torch_loader])
def test_adapters_reject_bad_input(arrays, adapter):
    x, y = arrays
    with pytest.raises(ValueError, match="x has 50 rows but y has 49"):
        adapter(x, y[:-1])
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        adapter(x, y, batch_size=0)


def test_torch_loader_shares_memory_with_numpy(arrays):
    x, y = arrays
    loader = tu.to_torch_loader(x, y, batch_size=50)
    assert np.shares_memory(loader.dataset.tensors[0].numpy(), x)


def test_torch_loader_passes_options(arrays):
    x, y = arrays
    loader = tu.to_torch_loader(x, y, batch_size=10, drop_last=True)
    assert len(list(loader)) == 5 and loader.drop_last
