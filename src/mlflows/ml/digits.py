"""The offline dataset: scikit-learn's bundled 8x8 digits, resized to 28x28x1 like MNIST.

It ships inside scikit-learn, so the whole pipeline runs on a machine with no internet. Stored
as one ``<split>.npz`` per split under ``<data_dir>/digits/<VERSION>/``; the split is a fixed
permutation, so every ingest of this version stores the same bytes (and the same checksum).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from mlflows.datasets import DATASET_VERSIONS
from mlflows.errors import UserError
from mlflows.ml.files import staging_dir

VERSION = DATASET_VERSIONS["digits"]
TEST_FRACTION = 0.2
SPLIT_SEED = 0
SIDE = 28


def directory(data_dir: str | Path) -> Path:
    return Path(data_dir) / "digits" / VERSION


def _resized_images() -> tuple[np.ndarray, np.ndarray]:
    from PIL import Image
    from sklearn.datasets import load_digits

    bunch = load_digits()
    # Pixel values are 0..16; stretch them to 0..255 so they look like MNIST's uint8 pixels.
    small = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)
    big = np.stack(
        [np.asarray(Image.fromarray(img).resize((SIDE, SIDE), Image.BILINEAR)) for img in small]
    )
    return big[..., np.newaxis], bunch.target.astype(np.int64)


def _splits() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    images, labels = _resized_images()
    order = np.random.default_rng(SPLIT_SEED).permutation(len(labels))
    n_test = int(round(len(labels) * TEST_FRACTION))
    parts = {"test": order[:n_test], "train": order[n_test:]}
    return {split: (images[idx], labels[idx]) for split, idx in parts.items()}


def store(data_dir: str | Path) -> Path:
    """Write the splits under ``data_dir`` unless already there; returns their directory.

    Written into a temporary directory beside the final one and renamed into place, so a
    reader (or a crashed ingest) never sees half the files.
    """
    final = directory(data_dir)
    if final.is_dir():
        return final
    staging = staging_dir(final)
    try:
        for split, (images, labels) in _splits().items():
            np.savez(staging / f"{split}.npz", images=images, labels=labels)
        os.rename(staging, final)
    except OSError:
        if final.is_dir():  # another ingest won the race with the same bytes
            return final
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


def load(data_dir: str | Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """The images (uint8, N x 28 x 28 x 1) and labels (int64, N) of one stored split."""
    path = directory(data_dir) / f"{split}.npz"
    if not path.is_file():
        raise UserError(
            f"--data-dir: dataset digits is not in {data_dir}; run "
            f"`python -m mlflows.ml.ingest --dataset digits --data-dir {data_dir}` first"
        )
    with np.load(path) as stored:
        return stored["images"], stored["labels"]
