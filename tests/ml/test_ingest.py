"""Ingestion: the offline digits dataset for real, the tensorflow-datasets path with tfds' mock."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from mlflows.errors import Unavailable, UserError
from mlflows.ml import datasets, digits, ingest, network

PROXY_VARIABLES = ("http_proxy", "https_proxy", "no_proxy", "all_proxy")


@pytest.fixture
def proxy(monkeypatch):
    """``proxy(port)``: send the downloads' connections to 127.0.0.1:port, as a proxy would."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)

    def use(port: int) -> None:
        monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("https_proxy", f"http://127.0.0.1:{port}")

    return use


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
def test_tfds_datasets_are_recorded_from_their_builder(tmp_path, proxy, name):
    import tensorflow_datasets as tfds

    # tfds' mock stands in for the download, not for the check that its host answers: a
    # listening local "proxy" answers for the host.
    with socket.create_server(("127.0.0.1", 0)) as listening, tfds.testing.mock_data(12):
        proxy(listening.getsockname()[1])
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


def test_offline_a_tfds_dataset_fails_at_once_naming_the_offline_dataset(tmp_path, proxy):
    """No internet here: the download host is not reachable, and that is said in one line
    instead of tfds retrying for minutes; nothing is left in the data dir."""
    failed = network.unreachable(["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"])
    if not failed:
        pytest.skip("this machine reaches the download host: not offline")
    # a name no resolver knows is final (a usage error, never retried), anything else may pass
    final = all(failure.final for failure in failed.values())
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    argv = ["--dataset", "fashion_mnist", "--data-dir", str(data_dir)]

    done = subprocess.run(
        [sys.executable, "-m", "mlflows.ml.ingest", *argv],
        capture_output=True, text=True, timeout=120, env={**os.environ},
    )  # fmt: skip

    expected = UserError if final else Unavailable
    assert done.returncode == expected.exit_code and done.stdout == ""
    assert done.stderr.startswith("error: --dataset: cannot download fashion_mnist: cannot reach ")
    assert done.stderr.count("\n") == 1 and "use --dataset digits" in done.stderr
    assert list(data_dir.iterdir()) == []


def test_only_a_name_no_resolver_knows_is_a_final_failure():
    (failure,) = network.unreachable(["http://no-such-host.invalid/"]).values()  # RFC 6761
    assert failure.final
    assert network.unreachable(["http://127.0.0.1:1/"])["127.0.0.1:1"].final is False


def test_an_unreachable_proxy_is_named_and_nothing_is_stored(tmp_path, proxy, free_port):
    port = free_port()
    proxy(port)
    with pytest.raises(
        Unavailable, match=rf"cannot reach 127\.0\.0\.1:{port} \(Connection refused\)"
    ):
        ingest.ingest("mnist", "latest", ["train"], tmp_path / "data")
    assert not (tmp_path / "data").exists()


def test_reading_a_dataset_that_was_never_ingested_says_how_to_ingest_it(tmp_path):
    with pytest.raises(UserError, match="mlflows.ml.ingest --dataset digits"):
        datasets.examples("digits", "train", tmp_path)
