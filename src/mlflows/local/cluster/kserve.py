"""The KServe controller for InferenceServices (``serving.kserve.io/v1beta1``), on this machine.

An InferenceService's predictor model (``spec.predictor.model`` with ``modelFormat: tensorflow``,
or the older ``spec.predictor.tensorflow``) is served by ``python -m mlflows.ml.serve
--model-dir /mnt/pvc/<path> --model-name <metadata.name> --port <free port>``, the KServe protocol
server of the serving image (v1 and v2 over REST), in a pod started as a step's pod is (see
:mod:`mlflows.local.executor.isolation`). ``storageUri`` must be ``pvc://<claim>/<path>``; the
claim is mounted read-only at ``/mnt/pvc``, as KServe mounts a PVC for its predictor. The
server's output goes to ``<step log>.server.log``.

Status, as KServe's controller writes it: while the server loads, ``modelStatus`` is
``targetModelState: Loading`` / ``transitionStatus: InProgress``; once ``GET
/v1/models/<name>`` answers 200 with ``ready: true``, ``activeModelState: Loaded`` /
``transitionStatus: UpToDate``, conditions PredictorReady, IngressReady and Ready True, and
``url``, ``address.url`` and ``components.predictor.url`` are ``http://127.0.0.1:<port>``. If the
server exits, or is not ready within :data:`LOAD_TIMEOUT_SECONDS`, ``targetModelState:
FailedToLoad`` / ``transitionStatus: BlockedByFailedLoad`` with ``lastFailureInfo`` (reason
ModelLoadFailed, the exit code and the end of the server's output).

Applying it again with the same storageUri changes nothing (the server itself picks up newer
versions in a versions directory). With another storageUri it rolls out like KServe: a new server
loads while the old one keeps serving, replaces it once ready, and if it fails the old one stays
(``BlockedByFailedLoad`` while ``activeModelState`` is still ``Loaded``).

Accepted without local effect: replicas and autoscaling, resources, service account, runtime,
batcher, timeouts. Refused: transformers, explainers, custom predictor containers, other model
formats, multi-node serving (workerSpec), request loggers, model env/command/args, the gRPC
protocols, canary traffic splits.
"""

from __future__ import annotations

import copy
import http.client
import json
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from mlflows.errors import UserError
from mlflows.local.cluster.objects import Unresolved, now
from mlflows.local.cluster.pods import NodeLog, Observation, free_ports, start_with_log, tail
from mlflows.local.executor.isolation import PodSpec
from mlflows.local.executor.process import Command
from mlflows.local.executor.spawner import PodProcess
from mlflows.local.executor.volumes import Mount, VolumeStore

PVC_MOUNT = "/mnt/pvc"  # where KServe mounts a pvc:// storageUri's claim
LOAD_TIMEOUT_SECONDS = 120.0
PROBE_TIMEOUT_SECONDS = 1.0
PROBE_INTERVAL_SECONDS = 0.25  # a run waits no longer; the server logs each not-ready answer
REFUSED_PREDICTOR_FIELDS = {
    "containers": "a custom predictor container",
    "initContainers": "init containers",
    "workerSpec": "multi-node serving (workerSpec)",
    "logger": "request logging to a sink (logger)",
    "storageUris": "several storage URIs (storageUris)",
}
OTHER_FORMATS = {
    "sklearn", "xgboost", "lightgbm", "onnx", "pytorch", "triton", "pmml", "paddle", "huggingface"
}  # fmt: skip
REFUSED_MODEL_FIELDS = ("command", "args", "env", "envFrom", "storage")


def check_inference_service(manifest: dict) -> None:
    """Raise UserError for an InferenceService the local server cannot serve."""
    spec = manifest.get("spec")
    if not isinstance(spec, dict) or not isinstance(spec.get("predictor"), dict):
        raise UserError("InferenceService spec.predictor: missing; give the predictor's model")
    others = sorted(set(spec) - {"predictor"})
    if others:
        raise UserError(
            f"InferenceService spec.{others[0]}: only the predictor runs locally (no "
            "transformers or explainers)"
        )
    predictor = spec["predictor"]
    for field, what in REFUSED_PREDICTOR_FIELDS.items():
        if field in predictor:
            raise UserError(f"InferenceService spec.predictor.{field}: {what} is not run locally")
    frameworks = sorted(OTHER_FORMATS & set(predictor))
    if frameworks:
        raise UserError(
            f"InferenceService spec.predictor.{frameworks[0]}: the local server serves "
            "TensorFlow SavedModels only"
        )
    canary = predictor.get("canaryTrafficPercent")
    if canary not in (None, 100) and not isinstance(canary, Unresolved):
        raise UserError(
            "InferenceService spec.predictor.canaryTrafficPercent: traffic is not split locally; "
            "remove it (or set 100)"
        )
    model = _model(manifest)
    model_format = model.get("modelFormat") or {"name": "tensorflow"}
    if isinstance(model_format, Unresolved):
        model_format = {"name": model_format}  # known at run time
    if not isinstance(model_format, dict):
        raise UserError(
            f"InferenceService spec.predictor.model.modelFormat {model_format!r}: give a mapping, "
            "modelFormat: {name: tensorflow}"
        )
    model_format = model_format.get("name")
    if model_format != "tensorflow" and not isinstance(model_format, Unresolved):
        raise UserError(
            f"InferenceService spec.predictor.model.modelFormat.name {model_format!r}: the local "
            "server serves tensorflow SavedModels only"
        )
    for field in REFUSED_MODEL_FIELDS:
        if field in model:
            raise UserError(
                f"InferenceService spec.predictor.model.{field}: the local server does not take "
                "it; remove it"
            )
    if model.get("protocolVersion") not in (None, "v1", "v2"):
        raise UserError(
            f"InferenceService protocolVersion {model['protocolVersion']!r}: the local server "
            "speaks KServe's v1 and v2 protocols over REST only"
        )
    storage_uri = model.get("storageUri")
    if not isinstance(storage_uri, str) or not storage_uri.startswith(("pvc://", "{{")):
        raise UserError(
            f"InferenceService storageUri {storage_uri!r}: the local runner serves models from "
            "pvc://<claim>/<path> only"
        )


def _model(manifest: dict) -> dict:
    predictor = manifest["spec"]["predictor"]
    models = [predictor[key] for key in ("model", "tensorflow") if key in predictor]
    if len(models) != 1 or not isinstance(models[0], dict):
        raise UserError(
            "InferenceService spec.predictor: give exactly one of model (with modelFormat "
            "tensorflow) or tensorflow, with a storageUri"
        )
    return models[0]


@dataclass
class Server:
    name: str
    process: PodProcess
    log_file: Path
    port: int
    storage_uri: str
    started: float
    probed: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class InferenceServiceController:
    """Serves one InferenceService and keeps its status; :meth:`observe` advances it."""

    def __init__(self, obj: dict, *, volumes: VolumeStore, scratch_dir: Path, log: NodeLog):
        self.model_name = obj["metadata"]["name"]
        self._volumes = volumes
        self._scratch_dir = scratch_dir
        self._starts = 0
        self._lock = threading.Lock()
        self._serving: Server | None = None
        self._loading: Server | None = None
        self._failure: dict | None = None
        self._stopped = False
        self._log = log
        self._generation = 0
        self._status: dict = {}
        self._transition_times: dict[str, tuple[str, str]] = {}
        self.update(obj, log)

    @property
    def url(self) -> str | None:
        """The base URL of the server serving now (as last observed), else None."""
        with self._lock:
            return self._serving.url if self._serving else None

    def update(self, obj: dict, log: NodeLog) -> None:
        """A new or changed spec: load its storageUri unless it is already served or loading."""
        check_inference_service(obj)
        storage_uri = _model(obj)["storageUri"]
        with self._lock:
            self._stopped, self._log = False, log
            self._generation = obj["metadata"].get("generation", 1)
            current = self._loading or self._serving
            if current is None or current.storage_uri != storage_uri:
                if self._loading is not None:
                    self._loading.process.stop()
                self._loading = self._start(storage_uri)
                self._failure = None
            self._update_status()

    def observe(self) -> Observation:
        with self._lock:
            if not self._stopped:
                self._advance()
                self._update_status()
            settled = self._loading is None or self._stopped
            note = self._failure["message"] if self._failure else ""
            return Observation(copy.deepcopy(self._status), settled, note)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            for server in (self._loading, self._serving):
                if server is not None:
                    server.process.stop()
            self._loading = self._serving = None
            self._update_status()

    def _start(self, storage_uri: str) -> Server:
        claim, path = self._volumes.resolve_storage_uri(storage_uri)
        (port,) = free_ports(1, host="127.0.0.1")  # where mlflows.ml.serve listens
        argv = [
            sys.executable, "-m", "mlflows.ml.serve", "--model-dir", f"{PVC_MOUNT}/{path}",
            "--model-name", self.model_name, "--port", str(port),
        ]  # fmt: skip
        self._starts += 1
        name = f"{self.model_name}-predictor-{self._starts}"
        pod = PodSpec(
            name,
            Command(argv),
            (Mount(PVC_MOUNT, claim, read_only=True),),
            self._scratch_dir / name,
        )
        log_file = self._log.beside("server")
        process = start_with_log(pod, log_file)
        self._log.event(
            f"InferenceService {self.model_name}: serving {claim / path} on port {port}, pid "
            f"{process.pid}, output in {log_file}"
        )
        return Server(name, process, log_file, port, storage_uri, time.monotonic())

    def _advance(self) -> None:
        if self._serving is not None and self._serving.process.poll() is not None:
            self._fail(self._serving, "the model server exited")
            self._serving = None
        loading = self._loading
        if loading is None:
            return
        if loading.process.poll() is not None:
            self._fail(loading, "the model server exited while loading")
        elif self._probe(loading):
            if self._serving is not None:
                self._serving.process.stop()
            self._serving = loading
            self._log.event(f"InferenceService {self.model_name}: ready at {loading.url}")
        elif time.monotonic() - loading.started > LOAD_TIMEOUT_SECONDS:
            loading.process.stop()
            self._fail(loading, f"the model was not ready within {LOAD_TIMEOUT_SECONDS:.0f} s")
        else:
            return  # still loading
        self._loading = None

    def _probe(self, server: Server) -> bool:
        if time.monotonic() - server.probed < PROBE_INTERVAL_SECONDS:
            return False
        server.probed = time.monotonic()
        return _ready(server.url, self.model_name)

    def _fail(self, server: Server, what: str) -> None:
        code = server.process.poll()
        self._failure = {
            "location": server.name,
            "reason": "ModelLoadFailed",
            "message": f"{what} (exit code {code}): {tail(server.log_file)} "
            f"(log: {server.log_file})",
            "exitCode": code,
            "time": now(),
        }
        self._log.event(f"InferenceService {self.model_name}: {self._failure['message']}")

    def _update_status(self) -> None:
        serving = self._serving is not None
        if self._loading is not None:
            target, transition = "Loading", "InProgress"
            ready = ("True", "", "") if serving else ("Unknown", "Loading", "loading the model")
        elif self._failure is not None:
            target, transition = "FailedToLoad", "BlockedByFailedLoad"
            failed = ("False", "ModelLoadFailed", self._failure["message"])
            ready = ("True", "", "") if serving else failed
        elif serving:
            target, transition, ready = "Loaded", "UpToDate", ("True", "", "")
        else:  # stopped: cancelled, deleted or the run ended
            target, transition = "Pending", "InProgress"
            ready = ("False", "Stopped", "the local model server was stopped")
        active = "Loaded" if serving else "FailedToLoad" if self._failure else "Pending"
        model_status: dict = {
            "transitionStatus": transition,
            "states": {"activeModelState": active, "targetModelState": target},
            "copies": {"failedCopies": 1 if self._failure else 0, "totalCopies": int(serving)},
        }
        if self._failure is not None:
            model_status["lastFailureInfo"] = self._failure
        self._status = {
            "observedGeneration": self._generation,
            "modelStatus": model_status,
            "conditions": [
                self._condition(condition_type, *ready)
                for condition_type in ("IngressReady", "PredictorReady", "Ready")
            ],
        }
        if self._serving is not None:
            url = self._serving.url
            self._status.update(
                url=url, address={"url": url}, components={"predictor": {"url": url}}
            )

    def _condition(self, condition_type: str, status: str, reason: str, message: str) -> dict:
        """A knative condition; its lastTransitionTime moves only when its status changes."""
        previous_status, since = self._transition_times.get(condition_type, ("", ""))
        if previous_status != status:
            since = now()
            self._transition_times[condition_type] = (status, since)
        condition = {"type": condition_type, "status": status, "lastTransitionTime": since}
        if reason:
            condition.update(reason=reason, message=message)
        return condition


def _ready(url: str, model_name: str) -> bool:
    """KServe's V1 model readiness: ``GET /v1/models/<name>`` → 200 ``{"ready": true}``."""
    try:
        with urllib.request.urlopen(
            f"{url}/v1/models/{model_name}", timeout=PROBE_TIMEOUT_SECONDS
        ) as response:
            return response.status == 200 and json.load(response).get("ready") is True
    except (OSError, http.client.HTTPException, ValueError, AttributeError):
        return False
