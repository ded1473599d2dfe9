"""The KServe controller for InferenceServices (``serving.kserve.io/v1beta1``), on this machine.

An InferenceService's predictor model (``spec.predictor.model`` with ``modelFormat: tensorflow``,
or the older ``spec.predictor.tensorflow``) is served by ``python -m mlflows.ml.serve
--model-dir /mnt/pvc/<path> --model-name <metadata.name> --port <free port>``, the KServe protocol
server of the serving image (v1 and v2 over REST), in a pod started as a step's pod is (see
:mod:`mlflows.local.executor.isolation`). ``storageUri`` must be ``pvc://<claim>/<path>``; the
claim is mounted read-only at ``/mnt/pvc``, as KServe mounts a PVC for its predictor. Each
storageUri the spec is given is a revision, ``<name>-predictor-<NNNNN>``, with a server of its
own (output in ``<step log>.server-<N>.log``).

Status, as KServe's controller writes it: while the latest revision loads, ``modelStatus`` is
``targetModelState: Loading`` / ``transitionStatus: InProgress``; once ``GET
/v1/models/<name>`` answers 200 with ``ready: true``, ``activeModelState: Loaded`` /
``transitionStatus: UpToDate``, conditions PredictorReady, IngressReady and Ready True. If the
server exits, or is not ready within :data:`LOAD_TIMEOUT_SECONDS`, ``targetModelState:
FailedToLoad`` / ``transitionStatus: BlockedByFailedLoad`` with ``lastFailureInfo`` (reason
ModelLoadFailed, the exit code and the end of the server's output); the revisions before it
keep serving. ``components.predictor`` has ``latestCreatedRevision``, ``latestReadyRevision``,
``latestRolledoutRevision``, ``previousRolledoutRevision`` and ``traffic``.

Traffic, as KServe's ksvc reconciler sets it and Knative routes it
(:mod:`mlflows.local.cluster.route`): ``url``, ``address.url`` and ``components.predictor.url``
are one router's, stable across rollouts. Without ``canaryTrafficPercent``, or before any
revision was rolled out, the latest ready revision gets 100 %; with it, that revision gets the
percent (target ``latestRevision: true``) and the last rolled-out revision the rest (tag
``prev``). The latest ready revision taking 100 % becomes the rolled-out one (the one before it,
the previous). With the annotation ``serving.kserve.io/enable-tag-routing: "true"`` the latest
target is tagged ``latest``; each tag has a URL of its own reaching only its revision (the
entry's ``url``). Revisions no target names are stopped, as Knative scales them to zero. So a
rollback is ``canaryTrafficPercent: 0`` and a promotion ``100``.

A predictor's ``batcher`` sets the server's batching: ``maxBatchSize`` its
``--max-batch-size``, ``maxLatency`` (milliseconds) its ``--max-batch-wait-ms``, a field left
out or not above 0 KServe's agent default (32, 5000 ms; kserve pkg/batcher/handler.go,
``Consume``); its ``timeout`` has no effect here. Without one the server batches as it does
by default.

Accepted without local effect: replicas and autoscaling, resources, service account, runtime,
timeouts. A predictor given as its own ``containers`` is not this controller's: it runs as
:mod:`mlflows.local.cluster.custom_predictor`. Refused: transformers, explainers, other model
formats, multi-node serving (workerSpec), request loggers, model env/command/args, the gRPC
protocols.
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
from mlflows.local.cluster.knative import Conditions
from mlflows.local.cluster.objects import Unresolved, now
from mlflows.local.cluster.pods import NodeLog, Observation, free_ports, start_with_log, tail
from mlflows.local.cluster.route import Router, Split
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
TAG_ROUTING_ANNOTATION = "serving.kserve.io/enable-tag-routing"
LATEST_TAG, PREVIOUS_TAG = "latest", "prev"  # KServe's tags for the canary and the rolled-out


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
    if not isinstance(canary, Unresolved) and not (
        canary is None or (type(canary) is int and 0 <= canary <= 100)
    ):
        raise UserError(
            f"InferenceService spec.predictor.canaryTrafficPercent {canary!r}: give a whole "
            "number from 0 to 100"
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


# The batcher's fields, the server flag each sets, and KServe's agent default for it.
BATCHER_FLAGS = {
    "maxBatchSize": ("--max-batch-size", 32),
    "maxLatency": ("--max-batch-wait-ms", 5000),
}


def batcher_flags(manifest: dict) -> list[str]:
    """``mlflows.ml.serve``'s batching flags for the predictor's ``batcher``; none without one."""
    batcher = manifest["spec"]["predictor"].get("batcher")
    if batcher is None:
        return []
    if not isinstance(batcher, dict):
        raise UserError(
            "InferenceService spec.predictor.batcher: give a mapping, e.g. {maxBatchSize: 32}"
        )
    flags = []
    for field, (flag, default) in BATCHER_FLAGS.items():
        value = batcher.get(field, 0)
        if isinstance(value, bool) or not isinstance(value, int):
            raise UserError(
                f"InferenceService spec.predictor.batcher.{field}: {value!r} is not a whole "
                f"number; give e.g. {default}"
            )
        flags += [flag, str(value if value > 0 else default)]
    return flags


def _model(manifest: dict) -> dict:
    predictor = manifest["spec"]["predictor"]
    models = [predictor[key] for key in ("model", "tensorflow") if key in predictor]
    if len(models) != 1 or not isinstance(models[0], dict):
        raise UserError(
            "InferenceService spec.predictor: give exactly one of model (with modelFormat "
            "tensorflow) or tensorflow, with a storageUri"
        )
    return models[0]


@dataclass(eq=False)  # a revision is itself: two servers of one storageUri are two revisions
class Revision:
    """One revision of the predictor: a model server for one storageUri (Knative makes one per
    change of the revision template; here the storageUri is what changes)."""

    name: str
    process: PodProcess
    log_file: Path
    port: int
    storage_uri: str
    started: float
    probed: float = 0.0
    ready: bool = False
    failed: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass(frozen=True)
class Target:
    """One entry of the route's traffic: a revision's percent, tagged or not."""

    revision: Revision
    percent: int
    latest: bool  # Knative's latestRevision: the target follows the latest ready revision
    tag: str | None

    def status(self, url: str | None) -> dict:
        entry: dict = {}
        if self.tag:
            entry["tag"] = self.tag
        entry.update(
            revisionName=self.revision.name, percent=self.percent, latestRevision=self.latest
        )
        if url:
            entry["url"] = url
        return entry


class InferenceServiceController:
    """Serves one InferenceService and keeps its status; :meth:`observe` advances it."""

    def __init__(self, obj: dict, *, volumes: VolumeStore, scratch_dir: Path, log: NodeLog):
        self.model_name = obj["metadata"]["name"]
        self._volumes = volumes
        self._scratch_dir = scratch_dir
        self._starts = 0
        self._lock = threading.Lock()
        self._revisions: list[Revision] = []  # those with a server running
        self._created: Revision | None = None  # latestCreatedRevision
        self._ready: Revision | None = None  # latestReadyRevision
        self._rolled_out: Revision | None = None  # latestRolledoutRevision
        self._previous: Revision | None = None  # previousRolledoutRevision
        self._canary: int | None = None  # spec.predictor.canaryTrafficPercent
        self._tag_routing = False
        self._traffic: list[Target] = []
        self._split = Split()
        self._router: Router | None = None
        self._tag_routers: dict[str, Router] = {}
        self._failure: dict | None = None
        self._stopped = False
        self._log = log
        self._generation = 0
        self._status: dict = {}
        self._conditions = Conditions()
        self.update(obj, log)

    @property
    def url(self) -> str | None:
        """The service's base URL while a revision serves it (as last observed), else None."""
        with self._lock:
            return self._router.url if self._router and self._ready else None

    def routed(self) -> dict[str, int]:
        """How many requests the service's URL sent to each revision."""
        with self._lock:
            return dict(self._router.routed) if self._router else {}

    def update(self, obj: dict, log: NodeLog) -> None:
        """A new or changed spec: a new revision for a new storageUri (the one still loading,
        if any, is dropped), and the traffic as ``canaryTrafficPercent`` splits it."""
        check_inference_service(obj)
        storage_uri = _model(obj)["storageUri"]
        annotations = obj["metadata"].get("annotations") or {}
        batching = batcher_flags(obj)
        with self._lock:
            self._stopped, self._log = False, log
            self._generation = obj["metadata"].get("generation", 1)
            self._canary = obj["spec"]["predictor"].get("canaryTrafficPercent")
            self._tag_routing = annotations.get(TAG_ROUTING_ANNOTATION) == "true"
            if self._router is None:
                self._router = Router(self._split.pick, self._address)
            if self._created is None or self._created.storage_uri != storage_uri:
                if self._created is not None and self._loading(self._created):
                    self._retire(self._created)
                self._created = self._start(storage_uri, batching)
                self._failure = None
            self._route()
            self._update_status()

    def observe(self) -> Observation:
        with self._lock:
            if not self._stopped:
                self._advance()
                self._route()
                self._update_status()
            loading = self._created is not None and self._loading(self._created)
            settled = not loading or self._stopped
            note = self._failure["message"] if self._failure else ""
            return Observation(copy.deepcopy(self._status), settled, note)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            for revision in list(self._revisions):
                self._retire(revision)
            for router in [self._router, *self._tag_routers.values()]:
                if router is not None:
                    router.stop()
            self._router, self._tag_routers, self._traffic = None, {}, []
            self._created = self._ready = self._rolled_out = self._previous = None
            self._update_status()

    def _start(self, storage_uri: str, batching: list[str]) -> Revision:
        claim, path = self._volumes.resolve_storage_uri(storage_uri)
        (port,) = free_ports(1, host="127.0.0.1")  # where mlflows.ml.serve listens
        argv = [
            sys.executable, "-m", "mlflows.ml.serve", "--model-dir", f"{PVC_MOUNT}/{path}",
            "--model-name", self.model_name, "--port", str(port), *batching,
        ]  # fmt: skip
        self._starts += 1
        name = f"{self.model_name}-predictor-{self._starts:05d}"
        pod = PodSpec(
            name,
            Command(argv),
            (Mount(PVC_MOUNT, claim, read_only=True),),
            self._scratch_dir / name,
        )
        log_file = self._log.beside(f"server-{self._starts}")
        process = start_with_log(pod, log_file)
        self._log.event(
            f"InferenceService {self.model_name}: revision {name} serves {claim / path} on port "
            f"{port}, pid {process.pid}, output in {log_file}"
        )
        revision = Revision(name, process, log_file, port, storage_uri, time.monotonic())
        self._revisions.append(revision)
        return revision

    @staticmethod
    def _loading(revision: Revision) -> bool:
        return not revision.ready and not revision.failed

    def _retire(self, revision: Revision) -> None:
        """Stop a revision's server: no traffic reaches it any more (Knative scales it down)."""
        revision.process.stop()
        if revision in self._revisions:
            self._revisions.remove(revision)

    def _address(self, name: str) -> tuple[str, int] | None:
        with self._lock:
            found = [r for r in self._revisions if r.name == name and r.ready]
        return ("127.0.0.1", found[0].port) if found else None

    def _advance(self) -> None:
        ready = self._ready
        if ready is not None and ready.process.poll() is not None:
            self._fail(ready, "the model server exited")
            ready.ready, ready.failed, self._ready = False, True, None
            self._retire(ready)
        loading = self._created
        if loading is None or not self._loading(loading):
            return
        if loading.process.poll() is not None:
            self._fail(loading, "the model server exited while loading")
            loading.failed = True
        elif self._probe(loading):
            loading.ready, self._ready = True, loading
            self._log.event(f"InferenceService {self.model_name}: {loading.name} is ready")
        elif time.monotonic() - loading.started > LOAD_TIMEOUT_SECONDS:
            self._fail(loading, f"the model was not ready within {LOAD_TIMEOUT_SECONDS:.0f} s")
            loading.failed = True
        if loading.failed:
            self._retire(loading)

    def _probe(self, revision: Revision) -> bool:
        if time.monotonic() - revision.probed < PROBE_INTERVAL_SECONDS:
            return False
        revision.probed = time.monotonic()
        return _ready(revision.url, self.model_name)

    def _route(self) -> None:
        """KServe's traffic for the predictor's Knative Service (ksvc_reconciler): with
        ``canaryTrafficPercent`` and a rolled-out revision, the latest ready revision gets that
        percent and the rolled-out one the rest (tag ``prev``); else the latest gets all. Then
        its status propagation: the latest ready revision taking 100 % is rolled out, the one
        before it becomes the previous. (Once more after that, as the next reconcile would.)"""
        for _ in range(2):
            traffic = self._targets()
            taking_all = [t for t in traffic if t.revision is self._ready and t.percent == 100]
            if taking_all and self._rolled_out is not self._ready:
                self._previous, self._rolled_out = self._rolled_out, self._ready
        if traffic != self._traffic:
            self._traffic = traffic
            self._log.event(
                f"InferenceService {self.model_name}: traffic "
                + (", ".join(f"{t.tag or '-'} {t.revision.name} {t.percent}%" for t in traffic)
                   or "none")
            )  # fmt: skip
        weights: dict[str, int] = {}
        for target in traffic:
            weights[target.revision.name] = weights.get(target.revision.name, 0) + target.percent
        self._split.set(weights)
        routed = {target.revision for target in traffic}
        for revision in list(self._revisions):
            if revision not in routed and not self._loading(revision):
                self._retire(revision)
        for target in traffic:
            if target.tag and target.tag not in self._tag_routers:
                self._tag_routers[target.tag] = Router(
                    lambda tag=target.tag: self._tagged(tag), self._address
                )

    def _targets(self) -> list[Target]:
        if self._ready is None:
            return []
        latest_tag = LATEST_TAG if self._tag_routing else None
        if self._canary is None or self._rolled_out is None:
            return [Target(self._ready, 100, True, latest_tag)]
        traffic = [Target(self._ready, self._canary, True, latest_tag)]
        if self._canary < 100:
            traffic.append(Target(self._rolled_out, 100 - self._canary, False, PREVIOUS_TAG))
        return traffic

    def _tagged(self, tag: str) -> str | None:
        with self._lock:
            return next((t.revision.name for t in self._traffic if t.tag == tag), None)

    def _fail(self, revision: Revision, what: str) -> None:
        code = revision.process.poll()
        self._failure = {
            "location": revision.name,
            "reason": "ModelLoadFailed",
            "message": f"{what} (exit code {code}): {tail(revision.log_file)} "
            f"(log: {revision.log_file})",
            "exitCode": code,
            "time": now(),
        }
        self._log.event(f"InferenceService {self.model_name}: {self._failure['message']}")

    def _update_status(self) -> None:
        serving = self._ready is not None
        if self._created is not None and self._loading(self._created):
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
                self._conditions.condition(condition_type, *ready)
                for condition_type in ("IngressReady", "PredictorReady", "Ready")
            ],
        }
        predictor: dict = {}
        for field, revision in (
            ("latestCreatedRevision", self._created),
            ("latestReadyRevision", self._ready),
            ("latestRolledoutRevision", self._rolled_out),
            ("previousRolledoutRevision", self._previous),
        ):
            if revision is not None:
                predictor[field] = revision.name
        if serving and self._router is not None:
            url = self._router.url
            tag_urls = {tag: router.url for tag, router in self._tag_routers.items()}
            predictor.update(
                url=url,
                address={"url": url},
                traffic=[t.status(tag_urls.get(t.tag or "")) for t in self._traffic],
            )
            self._status.update(url=url, address={"url": url})
        if predictor:
            self._status["components"] = {"predictor": predictor}


def _ready(url: str, model_name: str) -> bool:
    """KServe's V1 model readiness: ``GET /v1/models/<name>`` → 200 ``{"ready": true}``."""
    try:
        with urllib.request.urlopen(
            f"{url}/v1/models/{model_name}", timeout=PROBE_TIMEOUT_SECONDS
        ) as response:
            return response.status == 200 and json.load(response).get("ready") is True
    except (OSError, http.client.HTTPException, ValueError, AttributeError):
        return False
