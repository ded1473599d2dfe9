"""InferenceServices whose predictor is a custom container (``spec.predictor.containers``), on
this machine: KServe runs the container as the predictor, and Knative gives it the port to
listen on in the variable ``PORT`` (its runtime contract; 8080 on a cluster).

Here the container's command runs as a pod (as a step's container does: ``python`` is this
interpreter, the image is not used) with ``PORT`` set to a free port, its output in ``<step
log>.predictor.log``; it is ready once that port accepts connections (Knative's default
readiness probe is a TCP one on it). The status is the one
:mod:`mlflows.local.cluster.kserve` reports for a model (``modelStatus`` Loaded / UpToDate,
conditions Ready, ``url`` and ``address.url``), so the same success and failure conditions hold;
a container that exits, or does not listen within :data:`READY_TIMEOUT_SECONDS`, is
``FailedToLoad`` / ``BlockedByFailedLoad``.

Refused before the run: more than one container, one without a command (the image's entrypoint
cannot run here), volume mounts, env ``valueFrom``, and anything beside the predictor.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

from mlflows.errors import UserError
from mlflows.local.cluster.knative import Conditions, ServedByOneProcess
from mlflows.local.cluster.pods import NodeLog, free_ports, start_with_log, tail
from mlflows.local.executor.isolation import PodSpec
from mlflows.local.executor.process import check_container, container_command
from mlflows.local.executor.spawner import PodProcess

READY_TIMEOUT_SECONDS = 120.0
CONTAINER_FIELDS = {"name", "image", "command", "args", "env", "resources", "ports"}
CONTAINER_FIELDS |= {"imagePullPolicy", "readinessProbe", "livenessProbe"}  # no effect here


def is_custom_predictor(manifest: dict) -> bool:
    predictor = (manifest.get("spec") or {}).get("predictor")
    return isinstance(predictor, dict) and "containers" in predictor


def check_custom_predictor(manifest: dict) -> None:
    """Raise UserError for a custom predictor the local runner cannot run."""
    spec = manifest["spec"]
    others = sorted(set(spec) - {"predictor"})
    if others:
        raise UserError(f"InferenceService spec.{others[0]}: only the predictor runs locally")
    containers = spec["predictor"]["containers"]
    if not isinstance(containers, list) or len(containers) != 1:
        raise UserError(
            "InferenceService spec.predictor.containers: a custom predictor container runs "
            "locally alone; give exactly one"
        )
    [container] = containers
    where = "InferenceService spec.predictor.containers[0]"
    if not isinstance(container, dict):
        raise UserError(f"{where}: give a container (name, image, command, args)")
    unknown = sorted(set(container) - CONTAINER_FIELDS)
    if unknown:
        raise UserError(f"{where}.{unknown[0]}: a custom predictor container here takes none")
    if not container.get("command"):
        raise UserError(
            f"{where}: a custom predictor container needs a command (the image's entrypoint "
            "cannot run here)"
        )
    check_container(container, where)


class CustomPredictorController(ServedByOneProcess):
    """Runs one custom predictor container and keeps its InferenceService's status."""

    def __init__(self, obj: dict, *, scratch_dir: Path, log: NodeLog):
        self.model_name = obj["metadata"]["name"]
        self._scratch_dir = scratch_dir
        self._lock = threading.Lock()
        self._process: PodProcess | None = None
        self._starts = 0
        self._conditions = Conditions()
        self.update(obj, log)

    def update(self, obj: dict, log: NodeLog) -> None:
        """A new or changed spec: the container starts again with it."""
        check_custom_predictor(obj)
        with self._lock:
            if self._process is not None:
                self._process.stop()
            self._log, self._url, self._failure, self._stopped = log, None, "", False
            self._generation = obj["metadata"].get("generation", 1)
            self._start(obj["spec"]["predictor"]["containers"][0])

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            if self._process is not None:
                self._process.stop()
            self._process, self._url = None, None

    def _start(self, container: dict) -> None:
        (self._port,) = free_ports(1, host="127.0.0.1")
        self._starts += 1
        name = f"{self.model_name}-predictor-{self._starts}"
        self._log_file = self._log.beside("predictor")
        pod = PodSpec(
            name,
            container_command(container),
            (),
            self._scratch_dir / name,
            extra_env={"PORT": str(self._port)},
        )
        self._process = start_with_log(pod, self._log_file)
        self._started = time.monotonic()
        self._log.event(
            f"InferenceService {self.model_name}: custom predictor on port {self._port}, pid "
            f"{self._process.pid}, output in {self._log_file}"
        )

    def _advance(self) -> None:
        code = self._process.poll() if self._process is not None else None
        if code is not None:
            self._fail(f"the predictor container exited (exit code {code})")
        elif self._url is None and _listening(self._port):
            self._url = f"http://127.0.0.1:{self._port}"
            self._log.event(f"InferenceService {self.model_name}: ready at {self._url}")
        elif self._url is None and time.monotonic() - self._started > READY_TIMEOUT_SECONDS:
            self._process.stop()
            self._fail(f"the predictor did not listen within {READY_TIMEOUT_SECONDS:.0f} s")

    def _fail(self, what: str) -> None:
        self._failure = f"{what}: {tail(self._log_file)} (log: {self._log_file})"
        self._url = None
        self._log.event(f"InferenceService {self.model_name}: {self._failure}")

    def _status(self) -> dict:
        if self._url is not None:
            states, transition, ready = ("Loaded", "Loaded"), "UpToDate", ("True", "", "")
        elif self._failure:
            states, transition = ("FailedToLoad", "FailedToLoad"), "BlockedByFailedLoad"
            ready = ("False", "ModelLoadFailed", self._failure)
        elif self._stopped:
            states, transition = ("Pending", "Pending"), "InProgress"
            ready = ("False", "Stopped", "the local predictor was stopped")
        else:
            states, transition = ("Pending", "Loading"), "InProgress"
            ready = ("Unknown", "Loading", "starting the predictor container")
        status: dict = {
            "observedGeneration": self._generation,
            "modelStatus": {
                "transitionStatus": transition,
                "states": {"activeModelState": states[0], "targetModelState": states[1]},
            },
            "conditions": [
                self._conditions.condition(kind, *ready)
                for kind in ("IngressReady", "PredictorReady", "Ready")
            ],
        }
        if self._url is not None:
            url = self._url
            status.update(url=url, address={"url": url}, components={"predictor": {"url": url}})
        return status


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
    except OSError:
        return False
    return True
