"""The datasets the workloads read, behind one interface.

``fashion_mnist`` and ``mnist`` come from tensorflow-datasets (stored in its layout under the
data dir); ``digits`` is the offline one (:mod:`mlflows.ml.digits`). Every dataset has the
splits ``train`` and ``test`` of ``(image uint8 28x28x1, label int64)`` examples, 10 classes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from mlflows.datasets import DATASET_VERSIONS
from mlflows.errors import Unavailable, UserError
from mlflows.ml import digits, network
from mlflows.ml.quiet import tensorflow

NAMES = tuple(DATASET_VERSIONS)
SPLITS = ("train", "test")
LATEST = "latest"
IMAGE_SHAPE = (28, 28, 1)
OFFLINE = "tensorflow-datasets needs internet; offline, use --dataset digits"
NUM_CLASSES = 10

# tensorflow-datasets' label names for fashion_mnist, kept here so a client can name a class
# without building the dataset's metadata.
FASHION_MNIST_LABELS = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip


def check_name(name: str) -> str:
    if name not in NAMES:
        raise UserError(f"--dataset: unknown dataset {name!r}; choose one of {', '.join(NAMES)}")
    return name


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise UserError(f"--splits: unknown split {split!r}; choose from {', '.join(SPLITS)}")
    return split


def label_name(name: str, label: int) -> str:
    return FASHION_MNIST_LABELS[label] if name == "fashion_mnist" else str(label)


def _tfds_builder(name: str, version: str, data_dir: str | Path):
    tensorflow()  # tensorflow-datasets imports it: quietly first
    import tensorflow_datasets as tfds

    try:
        return tfds.builder(
            name, data_dir=str(data_dir), version=None if version == LATEST else version
        )
    except (AssertionError, ValueError) as err:  # tfds: an unknown version, a malformed one
        raise UserError(f"--version: {err}".splitlines()[0]) from None


def prepare(name: str, version: str, data_dir: str | Path) -> str:
    """Store the dataset under ``data_dir`` unless it is there; returns the concrete version."""
    check_name(name)
    if name == "digits":
        if version not in (LATEST, digits.VERSION):
            raise UserError(f"--version: digits has only version {digits.VERSION} (or {LATEST})")
        digits.store(data_dir)
        return digits.VERSION
    builder = _tfds_builder(name, version, data_dir)
    if not builder.is_prepared():
        # Before tfds' download manager, which would retry an unreachable host for minutes.
        failed = network.unreachable(builder.url_infos)
        if failed:
            where, failure = next(iter(failed.items()))
            # a host no resolver knows will not be known minutes later: not worth a retry
            error = UserError if all(f.final for f in failed.values()) else Unavailable
            raise error(
                f"--dataset: cannot download {name}: cannot reach {where} ({failure.reason}); "
                f"{OFFLINE}"
            )
    try:
        builder.download_and_prepare()
    except Exception as err:  # any download failure; the cause goes into the one line
        cause = " ".join(f"{type(err).__name__}: {err}".split())
        raise Unavailable(
            f"--dataset: could not download {name} into {data_dir} ({cause}); {OFFLINE}"
        ) from None
    return str(builder.info.version)


def examples(name: str, split: str, data_dir: str | Path, version: str = LATEST):
    """The split as a ``tf.data.Dataset`` of ``(image uint8 28x28x1, label int64)``, unshuffled."""
    check_name(name)
    check_split(split)
    if name == "digits":
        arrays = digits.load(data_dir, split)  # a missing dataset is reported before TF starts
        return tensorflow().data.Dataset.from_tensor_slices(arrays)
    builder = _tfds_builder(name, version, data_dir)
    try:
        return builder.as_dataset(split=split, as_supervised=True, shuffle_files=False)
    except AssertionError:  # tfds' way of saying the data was never prepared
        raise UserError(
            f"--data-dir: dataset {name} is not in {data_dir}; run "
            f"`python -m mlflows.ml.ingest --dataset {name} --data-dir {data_dir}` first"
        ) from None


def split_size(name: str, split: str, data_dir: str | Path, version: str = LATEST) -> int | None:
    """How many examples the split holds (digits: without starting TensorFlow); None when the
    dataset is not in ``data_dir`` (reading it says what to do)."""
    if name == "digits":
        return len(digits.load(data_dir, split)[1])
    builder = _tfds_builder(name, version, data_dir)
    return builder.info.splits[split].num_examples if builder.is_prepared() else None


def numpy_batches(
    name: str, split: str, data_dir: str | Path, version: str = LATEST, batch_size: int = 4096
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The split as numpy ``(images, labels)`` batches, in stored order."""
    if name == "digits":
        yield digits.load(data_dir, split)
        return
    dataset = examples(name, split, data_dir, version).batch(batch_size)
    yield from dataset.as_numpy_iterator()


def example(name: str, split: str, data_dir: str | Path, index: int) -> tuple[np.ndarray, int]:
    """One example by its position in the split: ``(image uint8 28x28x1, label)``."""
    if index < 0:
        raise UserError(f"--index: {index} is negative; give a position from 0")
    skipped = index
    for images, labels in numpy_batches(name, split, data_dir):
        if skipped < len(labels):
            return images[skipped], int(labels[skipped])
        skipped -= len(labels)
    raise UserError(
        f"--index: {index} is past the end of {name}/{split} ({index - skipped} examples)"
    )
