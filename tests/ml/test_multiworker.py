"""Two worker processes on localhost ports with TF_CONFIG, as a TFJob runs them.

Each test runs two TensorFlow processes at once (the most this 2-core budget allows).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from mlflows.local.cluster.pods import free_ports
from mlflows.ml.client import encode_png
from mlflows.ml.datasets import digits
from mlflows.ml.predictor import Predictor, is_saved_model

WORKERS = 2
RUN_LIMIT = 300  # seconds a worker may take before the test gives up on it (hang guard)


@pytest.fixture
def start_worker(processes, tmp_path):
    """``start_worker(index, argv, stdout)``: a trainer process in a 2-worker localhost cluster."""
    # Bound all at once, so the workers' ports differ.
    addresses = [f"127.0.0.1:{port}" for port in free_ports(WORKERS, "127.0.0.1")]

    def start(index: int, argv: list[str], stdout=None) -> subprocess.Popen:
        config = {"cluster": {"worker": addresses}, "task": {"type": "worker", "index": index}}
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "TF_CONFIG": json.dumps(config)}
        with (tmp_path / f"worker-{index}.log").open("a") as log:  # the child keeps its copy
            return processes(
                [sys.executable, "-m", "mlflows.ml.train", *argv],
                env=env,
                stdout=stdout or log,
                stderr=log,
                text=True,
            )

    return start


def finish(worker: subprocess.Popen, tmp_path, index: int) -> int:
    code = worker.wait(timeout=RUN_LIMIT)
    if code:
        print((tmp_path / f"worker-{index}.log").read_text()[-3000:])
    return code


@pytest.mark.slow
def test_two_workers_train_together_and_leave_one_servable_model(
    tmp_path, digits_dir, start_worker, train_argv
):
    argv = train_argv(
        "cnn", digits_dir, tmp_path / "run", epochs=2, steps_per_epoch=10, batch_size_per_replica=16
    )
    workers = [start_worker(i, argv) for i in range(WORKERS)]

    assert [finish(w, tmp_path, i) for i, w in enumerate(workers)] == [0, 0]
    models_dir = tmp_path / "run" / "models"
    # One SavedModel and its metrics; no staging or worker copies beside or inside it.
    assert sorted(p.name for p in models_dir.iterdir()) == ["cnn", "cnn.metrics.json"]
    assert is_saved_model(models_dir / "cnn")
    assert not [p for p in (models_dir / "cnn").rglob("*") if "tmp" in p.name or "temp" in p.name]
    checkpoints = tmp_path / "run" / "checkpoints" / "cnn"
    assert not [p for p in checkpoints.rglob("*") if "workertemp" in p.name]
    assert list((checkpoints / "logs" / "train").glob("events.out.tfevents.*"))

    metrics = json.loads((models_dir / "cnn.metrics.json").read_text())
    assert (metrics["replicas"], metrics["workers"]) == (2, 2)
    assert metrics["global_batch_size"] == WORKERS * 16
    # Served through the encoded-image signature, the model predicts digits.
    images, labels = digits.load(digits_dir, "test")
    predictor = Predictor(models_dir / "cnn")
    probabilities = predictor.from_encoded([encode_png(image) for image in images[:50]])
    assert (probabilities.argmax(axis=1) == labels[:50]).mean() > 0.3


@pytest.mark.slow
def test_a_killed_worker_resumes_from_the_checkpoint_and_the_job_completes(
    tmp_path, digits_dir, start_worker, train_argv
):
    epochs = 4
    argv = train_argv("cnn", digits_dir, tmp_path / "run", epochs=epochs, steps_per_epoch=15)
    chief = start_worker(0, argv, stdout=subprocess.PIPE)
    other = start_worker(1, argv)

    # Kill the chief (worker 0) as soon as it reports epoch 2: it reports an epoch only after
    # backing it up, so a restart must resume at epoch 3. (Killing the chief rather than
    # worker 1 because the survivor notices at once: the chief hosts the cluster's
    # coordination service, whereas a lost worker 1 is noticed only by missed heartbeats.)
    for line in chief.stdout:
        if f"epoch 2/{epochs} done" in line:
            chief.kill()
            break
    assert chief.wait(timeout=RUN_LIMIT) != 0, "the chief finished before it could be killed"
    # The other worker's collectives fail without the chief: it exits with an error, and a
    # TFJob restarts it with the killed one.
    assert other.wait(timeout=RUN_LIMIT) != 0
    backup = tmp_path / "run" / "checkpoints" / "cnn" / "backup"
    assert any(p.is_file() for p in backup.rglob("*")), "no backup was written"

    restarted = [start_worker(i, argv, stdout=subprocess.PIPE) for i in range(WORKERS)]
    outputs = [w.communicate(timeout=RUN_LIMIT)[0] for w in restarted]

    assert [w.returncode for w in restarted] == [0, 0], outputs
    metrics = json.loads((tmp_path / "run" / "models" / "cnn.metrics.json").read_text())
    assert metrics["initial_epoch"] == 2  # epochs 1 and 2 were not redone
    assert metrics["steps"] == (epochs - 2) * 15
    for output in outputs:
        assert f"resuming from the checkpoint at epoch 3/{epochs}" in output
        assert "epoch 1/" not in output and f"epoch {epochs}/{epochs} done" in output
    assert is_saved_model(tmp_path / "run" / "models" / "cnn")
    assert not any(p.is_file() for p in backup.rglob("*"))  # removed once training completed
