"""Ingestion: the offline digits dataset for real, the tensorflow-datasets path with tfds' mock."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mlflows.errors import UserError
from mlflows.ml import datasets, digits, ingest


def test_digits_record_counts_every_example_and_names_where(tmp_path, cli):
    record_file = tmp_path / "record.json"
    argv = ["--dataset", "digits", "--data-dir", str(tmp_path / "data")]
    code, out, _ = cli(ingest.main, [*argv, "--record-file", str(record_file)])

    assert code == 0
    record = json.loads(record_file.read_text())
    assert record["name"] == "digits" and record["version"] == digits.VERSION
    assert record["splits"]["train"] + record["splits"]["test"] == 1797  # sklearn's digits
    assert record["splits"]["test"] == round(1797 * digits.TEST_FRACTION)
    assert record["data_dir"] == str(tmp_path / "data")
    assert record["checksum"] in out and "digits" in out
    images, labels = digits.load(tmp_path / "data", "train")
    assert images.shape == (record["splits"]["train"], 28, 28, 1) and images.dtype == np.uint8
    assert set(labels) == set(range(10)) and images.max() > 200  # stretched to 0..255


def test_the_checksum_follows_the_data_not_the_place(tmp_path, digits_dir):
    here = ingest.ingest("digits", "latest", ["train", "test"], digits_dir)
    there = ingest.ingest("digits", digits.VERSION, ["train", "test"], tmp_path / "elsewhere")
    only_test = ingest.ingest("digits", "latest", ["test"], tmp_path / "elsewhere")
    test_twice = ingest.ingest("digits", "latest", ["test", "test"], tmp_path / "elsewhere")

    assert here["checksum"] == there["checksum"]
    assert only_test["checksum"] != here["checksum"]
    assert test_twice == only_test
    assert only_test["splits"] == {"test": here["splits"]["test"]}


def test_train_and_test_splits_do_not_overlap(digits_dir):
    train_images, _ = digits.load(digits_dir, "train")
    test_images, _ = digits.load(digits_dir, "test")
    train_rows = {image.tobytes() for image in train_images}
    # sklearn's digits has a few duplicate images, but no more than a handful
    assert sum(image.tobytes() in train_rows for image in test_images) < 5


@pytest.mark.parametrize("name", ["fashion_mnist", "mnist"])
def test_tfds_datasets_are_recorded_from_their_builder(tmp_path, name):
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=12):
        record = ingest.ingest(name, "latest", ["train", "test"], tmp_path)
        again = ingest.ingest(name, "3.0.1", ["train", "test"], tmp_path)
        image, label = datasets.example(name, "test", tmp_path, 11)

    assert record["version"] == "3.0.1"
    assert record["splits"] == {"test": 12, "train": 12}
    assert record["checksum"] == again["checksum"]  # the mock's examples are deterministic
    assert image.shape == (28, 28, 1) and 0 <= label < 10


@pytest.mark.parametrize("version", ["9.9.9", "abc", "3"])
def test_a_tfds_version_that_does_not_exist_is_refused(tmp_path, version):
    with pytest.raises(UserError, match="--version"):
        ingest.ingest("fashion_mnist", version, ["train"], tmp_path)


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["--dataset", "cifar10"], "--dataset"),
        (["--dataset", "digits", "--version", "2.0.0"], "--version"),
        (["--dataset", "digits", "--splits", "train,validation"], "--splits"),
        (["--dataset", "digits", "--splits", ","], "--splits"),
        (["--dataset", "digits"], "--data-dir"),  # missing
    ],
)
def test_bad_flags_are_one_error_line_and_store_nothing(tmp_path, cli, argv, field):
    data_dir = ["--data-dir", str(tmp_path / "data")] if field != "--data-dir" else []
    code, _, err = cli(ingest.main, [*argv, *data_dir])

    assert code == UserError.exit_code
    assert err.startswith("error: ") and err.count("\n") == 1 and field in err
    assert not (tmp_path / "data").exists()


def test_reading_a_dataset_that_was_never_ingested_says_how_to_ingest_it(tmp_path):
    with pytest.raises(UserError, match="mlflows.ml.ingest --dataset digits"):
        datasets.examples("digits", "train", tmp_path)
