"""Builders and a fixture for the local cluster's tests: real processes, cleaned up at teardown."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from mlflows.inference_service import (
    FAILED_CONDITION,
    READY_CONDITION,
    inference_service_manifest,
)
from mlflows.local.cluster.resources import LocalCluster, ResourceRequest, ResourceResult
from mlflows.local.executor.volumes import VolumeStore
from mlflows.tfjob import (
    FAILURE_CONDITION,
    TENSORFLOW_CONTAINER,
    TFJOB_API_VERSION,
    success_condition,
)

CLAIM = "mlflows-data"
MOUNT = "/mnt/data"
# The conditions the workflow side writes (and below its API versions and container name), so
# these tests run what the pipeline runs.
WORKERS_SUCCEEDED = success_condition(2)
WORKER_FAILED = FAILURE_CONDITION
ISVC_READY = READY_CONDITION
ISVC_FAILED = FAILED_CONDITION

# A replica's program: writes its TF_CONFIG (and pid) under the mounted claim, waits for every
# replica of its cluster to have done so (TensorFlow's workers wait for one another too), then exits
# with the code its fate file asks for (once: the file is then removed), else 0.
REPLICA_SCRIPT = f"""
import json, os, pathlib, sys, time
config = json.loads(os.environ["TF_CONFIG"])
task = config["task"]
out = pathlib.Path("{MOUNT}/replicas")
out.mkdir(exist_ok=True)
name = f"{{task['type']}}-{{task['index']}}"
(out / f"{{name}}.json").write_text(json.dumps(config))
(out / f"{{name}}.pid").write_text(str(os.getpid()))
members = [f"{{t}}-{{i}}" for t, hosts in config["cluster"].items() for i in range(len(hosts))]
deadline = time.monotonic() + 60
while not all((out / f"{{m}}.json").exists() for m in members) and time.monotonic() < deadline:
    time.sleep(0.05)
time.sleep(float(os.environ.get("SLEEP", "0")))
fate = out / f"{{name}}.fate"
if fate.exists():
    code = int(fate.read_text())
    fate.unlink()
    if code < 0:
        os.kill(os.getpid(), -code)
    sys.exit(code)
"""
MARKER = "MLFLOWS_TEST_POD"  # an env variable a test gives its pods, to find their processes


def tfjob(
    *,
    workers: int = 2,
    restart_policy: str = "Never",
    run_policy: dict | None = None,
    chief: bool = False,
    sleep: float = 0,
    name: str | None = None,
    marker: str = "",
) -> dict:
    """A TFJob whose replicas run :data:`REPLICA_SCRIPT` with the claim at /mnt/data (and, given a
    ``marker``, the :data:`MARKER` variable set to it)."""

    def replica_spec(replicas: int) -> dict:
        container = {
            "name": TENSORFLOW_CONTAINER,
            "image": "ghcr.io/mlflows/trainer:test",
            "command": ["python", "-c", REPLICA_SCRIPT],
            "env": [{"name": "SLEEP", "value": str(sleep)}]
            + ([{"name": MARKER, "value": marker}] if marker else []),
            "volumeMounts": [{"name": "data", "mountPath": MOUNT}],
        }
        volume = {"name": "data", "persistentVolumeClaim": {"claimName": CLAIM}}
        return {
            "replicas": replicas,
            "restartPolicy": restart_policy,
            "template": {"spec": {"containers": [container], "volumes": [volume]}},
        }

    specs = {"Worker": replica_spec(workers)}
    if chief:
        specs["Chief"] = replica_spec(1)
    metadata = {"name": name} if name else {"generateName": "train-"}
    return {
        "apiVersion": TFJOB_API_VERSION,
        "kind": "TFJob",
        "metadata": metadata,
        "spec": {"runPolicy": run_policy or {}, "tfReplicaSpecs": specs},
    }


def inference_service(storage_uri: str, name: str = "digits") -> dict:
    """The InferenceService exactly as the pipeline writes it."""
    return inference_service_manifest(
        name=name, storage_uri=storage_uri, service_account="mlflows-workloads"
    )


def config_map(name: str, **data: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def resource(action: str, manifest: dict, **fields) -> dict:
    """A template's ``resource:`` as Argo has it (the manifest as a YAML string)."""
    return {"action": action, "manifest": yaml.safe_dump(manifest), **fields}


def pod_processes(marker: str) -> list[int]:
    """The processes (host pids) whose environment has :data:`MARKER` set to ``marker``: a pod's,
    with what it started and what runs it."""
    wanted = f"{MARKER}={marker}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as environ:
                if wanted in environ.read().split(b"\0"):
                    found.append(int(entry))
        except OSError:
            continue  # gone meanwhile, or a kernel thread
    return found


def wait_until_gone(marker: str, seconds: float = 30) -> list[int]:
    """Wait for the marked processes to end (their parent-death signal is asynchronous); those
    still there after ``seconds``."""
    deadline = time.monotonic() + seconds
    while (left := pod_processes(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


@dataclass
class Kube:
    """One LocalCluster over ``root`` and the way a step calls it."""

    cluster: LocalCluster
    root: Path

    @property
    def claim(self) -> Path:
        return self.root / "volumes" / CLAIM

    def log(self, step: str = "step") -> Path:
        return self.root / "logs" / f"{step}.log"

    def run(
        self,
        action: str,
        manifest: dict,
        success: str | None = None,
        failure: str | None = None,
        outputs: dict[str, str | dict] | None = None,
        cancel: threading.Event | None = None,
        step: str = "step",
    ) -> ResourceResult:
        """Execute one step; ``outputs`` maps parameter names to a jsonPath or a valueFrom."""
        parameters = [
            {"name": name, "valueFrom": {"jsonPath": source} if isinstance(source, str) else source}
            for name, source in (outputs or {}).items()
        ]
        request = ResourceRequest(f"wf.{step}", action, manifest, success, failure, parameters)
        return self.cluster.execute(request, cancel or threading.Event(), self.log(step))


@pytest.fixture(name="kube")
def kube_fixture(tmp_path):
    """A Kube over tmp_path; every process it started is stopped at teardown."""
    cluster = LocalCluster(
        volumes=VolumeStore(tmp_path / "volumes"),
        run_dir=tmp_path / "run",
        namespace="default",
        workflow_name="wf",
    )
    try:
        yield Kube(cluster, tmp_path)
    finally:
        cluster.close()
