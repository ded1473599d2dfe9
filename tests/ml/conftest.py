"""Fixtures for the ML workload tests: real TensorFlow on the offline ``digits`` dataset.

Training runs in this process where it can (one worker, no TF_CONFIG) and models are trained
once per session; worker and server processes are started through fixtures that kill them at
teardown whatever the outcome.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from mlflows.cli import run_cli
from mlflows.local.cluster.pods import free_ports
from mlflows.ml import ingest

# Three short epochs: every architecture gets well above chance on digits in this.
EPOCHS = 3
STEPS_PER_EPOCH = 20
BATCH_SIZE_PER_REPLICA = 32


def _free_port() -> int:
    """A port the OS reports free on localhost (released for the process that needs it)."""
    return free_ports(1, "127.0.0.1")[0]


def _train_argv(model_type: str, data_dir: Path, out: Path, **overrides) -> list[str]:
    """Trainer flags writing to ``out/models/<type>`` and ``out/checkpoints/<type>``."""
    flags = {
        "model-type": model_type,
        "dataset": "digits",
        "data-dir": data_dir,
        "saved-model-dir": out / "models" / model_type,
        "checkpoint-dir": out / "checkpoints" / model_type,
        "epochs": EPOCHS,
        "steps-per-epoch": STEPS_PER_EPOCH,
        "batch-size-per-replica": BATCH_SIZE_PER_REPLICA,
        "metrics-file": out / "models" / f"{model_type}.metrics.json",
    }
    flags.update({name.replace("_", "-"): value for name, value in overrides.items()})
    return [part for name, value in flags.items() for part in (f"--{name}", str(value))]


def _http_status(url: str, timeout: float = 5.0) -> int | None:
    """The status of ``GET url``, or None if nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code
    except OSError:
        return None


def _wait_for(predicate, what: str, proc: subprocess.Popen | None = None, limit: float = 120.0):
    """Poll ``predicate`` until it is truthy; fails if ``proc`` exits first or it never is."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"process exited with {proc.returncode} while waiting for {what}")
        time.sleep(0.1)
    pytest.fail(f"gave up waiting for {what} after {limit:.0f}s")


@pytest.fixture(scope="session")
def free_port():
    return _free_port


@pytest.fixture(scope="session")
def train_argv():
    return _train_argv


@pytest.fixture(scope="session")
def http_status():
    return _http_status


@pytest.fixture(scope="session")
def wait_for():
    return _wait_for


@pytest.fixture
def cli(capsys):
    """``cli(main, argv) -> (exit code, stdout, stderr)``: an entry point run as its CLI runs it."""

    def run(main, argv: list[str]) -> tuple[int, str, str]:
        capsys.readouterr()  # drop what came before
        code = run_cli(lambda: main(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture(scope="session")
def digits_dir(tmp_path_factory) -> Path:
    data_dir = tmp_path_factory.mktemp("datasets")
    ingest.ingest("digits", "latest", ["train", "test"], data_dir)
    return data_dir


@pytest.fixture(scope="session")
def trained(tmp_path_factory, digits_dir):
    """``trained(model_type) -> (SavedModel dir, metrics)``, trained in-process once per type."""
    from mlflows.ml import train

    out = tmp_path_factory.mktemp("trained")
    done: dict[str, tuple[Path, dict]] = {}

    def get(model_type: str) -> tuple[Path, dict]:
        if model_type not in done:
            argv = _train_argv(model_type, digits_dir, out)
            with pytest.MonkeyPatch.context() as patch:
                patch.delenv("TF_CONFIG", raising=False)  # one worker, in this process
                assert run_cli(lambda: train.main(argv)) == 0
            metrics = json.loads((out / "models" / f"{model_type}.metrics.json").read_text())
            done[model_type] = (out / "models" / model_type, metrics)
        return done[model_type]

    return get


@pytest.fixture(scope="session")
def untrained_model(tmp_path_factory) -> Path:
    """A servable cnn SavedModel that never saw data: about chance accuracy."""
    from mlflows.ml import export, models
    from mlflows.ml.cluster import ONE_WORKER

    path = tmp_path_factory.mktemp("untrained") / "cnn"
    export.save(models.build("cnn", 1e-3), path, ONE_WORKER)
    return path


@pytest.fixture
def processes():
    """``start(argv, **popen_kwargs)``: a subprocess killed at teardown if still running."""
    started: list[subprocess.Popen] = []

    def start(argv: list[str], **kwargs) -> subprocess.Popen:
        kwargs.setdefault("env", {**os.environ, "PYTHONUNBUFFERED": "1"})
        proc = subprocess.Popen(argv, **kwargs)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=60)


@pytest.fixture(scope="module")
def model_server(tmp_path_factory):
    """``start(model_dir, model_name, *flags) -> (base URL, process)`` of ``mlflows.ml.serve``."""
    started: list[subprocess.Popen] = []
    logs = tmp_path_factory.mktemp("server-logs")

    def start(model_dir: Path, model_name: str, *flags: str) -> tuple[str, subprocess.Popen]:
        port = _free_port()
        with (logs / f"{model_name}-{port}.log").open("w") as log:  # the child keeps its copy
            proc = subprocess.Popen(
                [sys.executable, "-m", "mlflows.ml.serve", "--model-dir", str(model_dir),
                 "--model-name", model_name, "--port", str(port), *flags],
                stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )  # fmt: skip
        started.append(proc)
        url = f"http://127.0.0.1:{port}"
        _wait_for(lambda: _http_status(f"{url}/v1/models/{model_name}"), "an answer", proc)
        return url, proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)
