"""A run's processes end with it. Ctrl-C, SIGTERM (a timeout, a CI cancellation) and SIGHUP (the
terminal closed) stop a real ``mlflows run``: its pods are stopped, the running nodes are marked
and the report is written; ``kill -9`` of the runner leaves nothing behind either, since the pods
die with it. Each run has a long step with a background child and a TFJob whose two replicas
each hold a port, as TensorFlow's servers do."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid

import pytest
import yaml
from localrun_helpers import dag, sh, task, workflow
from resources_fixtures import (
    CLAIM,
    MARKER,
    MOUNT,
    WORKERS_SUCCEEDED,
    pod_processes,
    resource,
    tfjob,
    wait_until_gone,
)

from mlflows.local.executor.isolation import SETTING

VOLUME = {"name": "data", "persistentVolumeClaim": {"claimName": CLAIM}}  # the TFJob's claim too
DATA = {"name": "data", "mountPath": MOUNT}
# A TFJob replica that holds its TF_CONFIG port, says which in the claim, and waits.
HOLD_PORT = """
import json, os, pathlib, socket, time
config = json.loads(os.environ["TF_CONFIG"])
index = config["task"]["index"]
port = int(config["cluster"]["worker"][index].rsplit(":", 1)[1])
server = socket.socket()
server.bind(("", port))
server.listen()
pathlib.Path("/mnt/data/ports").mkdir(exist_ok=True)
pathlib.Path(f"/mnt/data/ports/{index}").write_text(str(port))
time.sleep(600)
"""


def long_running_workflow() -> dict:
    job = tfjob(workers=2)
    job["spec"]["tfReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]["command"] = [
        "python",
        "-c",
        HOLD_PORT,
    ]
    long = sh("long", "sleep 600 & touch /mnt/data/long-started; sleep 600")
    long["container"]["volumeMounts"] = [DATA]
    return workflow(
        dag("main", task("train", "train"), task("long", "long")),
        {"name": "train", "resource": resource("create", job, successCondition=WORKERS_SUCCEEDED)},
        long,
        volumes=[VOLUME],
    )


def start_run(tmp_path, wf: dict, marker: str, **env: str) -> subprocess.Popen:
    path = tmp_path / "wf.yaml"
    path.write_text(yaml.safe_dump(wf))
    argv = [sys.executable, "-m", "mlflows", "run", str(path), "--work-dir", str(tmp_path / "w")]
    return subprocess.Popen(
        [*argv, "--report-json", str(tmp_path / "report.json")],
        env={**os.environ, MARKER: marker, **env},  # every process of the run inherits it
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(condition, run: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if run.poll() is not None:
            pytest.fail(f"the run ended early: {run.communicate()}")
        if time.monotonic() > deadline:
            run.kill()
            pytest.fail(f"the run did not get going: {run.communicate()}")
        time.sleep(0.05)


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("", port))
        except OSError:
            return False
        return True


def ports_freed(ports: list[int], seconds: float = 30) -> bool:
    """Whether the ports are free, waiting as :func:`wait_until_gone` does: a process that is
    exiting has lost its environment before its sockets."""
    deadline = time.monotonic() + seconds
    while not all(port_is_free(port) for port in ports):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.parametrize(
    ("signum", "exit_code", "message"),
    [
        (signal.SIGINT, 130, "interrupted"),
        (signal.SIGTERM, 143, "terminated by SIGTERM"),
        (signal.SIGHUP, 129, "terminated by SIGHUP"),
        (signal.SIGKILL, -9, None),
    ],
    ids=["SIGINT", "SIGTERM", "SIGHUP", "SIGKILL"],
)
def test_a_stopped_or_killed_run_leaves_no_process_and_no_port(
    tmp_path, signum, exit_code, message
):
    marker = uuid.uuid4().hex
    run = start_run(tmp_path, long_running_workflow(), marker)
    data = tmp_path / "w" / "volumes" / CLAIM
    wait_for(lambda: (data / "long-started").exists() and len(list(data.glob("ports/*"))) == 2, run)
    ports = [int(path.read_text()) for path in data.glob("ports/*")]
    assert not any(port_is_free(port) for port in ports)

    run.send_signal(signum)
    _, err = run.communicate(timeout=60)
    assert run.returncode == exit_code
    assert wait_until_gone(marker) == []
    assert ports_freed(ports)
    if message is None:  # kill -9: nothing could be written
        return
    if signum != signal.SIGHUP:  # after SIGHUP the terminal is gone: nothing more is printed
        assert err.strip().endswith(message)
    status = json.loads((tmp_path / "report.json").read_text())
    assert status["phase"] == "Failed" and status["message"].endswith(message)
    nodes = {node["displayName"]: node for node in status["nodes"].values()}
    for step in ("train", "long"):
        assert (nodes[step]["phase"], nodes[step]["message"]) == ("Failed", message)


def test_without_isolation_a_pods_process_still_dies_with_the_runner(tmp_path):
    """Not isolated, a pod is a plain process: its parent-death signal ends it with the runner."""
    marker = uuid.uuid4().hex
    started = tmp_path / "w" / "volumes" / CLAIM / "started"
    long = sh("main", "touch /mnt/data/started; exec sleep 600")
    long["container"]["volumeMounts"] = [DATA]
    run = start_run(tmp_path, workflow(long, volumes=[VOLUME]), marker, **{SETTING: "none"})
    wait_for(started.exists, run)
    assert pod_processes(marker)
    run.kill()
    run.communicate(timeout=60)
    assert wait_until_gone(marker) == []
