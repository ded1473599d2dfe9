"""Argo resource templates on this machine: the Kubernetes API and the operators they talk to.

:class:`LocalCluster` plays, for one run, the Kubernetes API server
(:class:`~mlflows.local.cluster.objects.ObjectStore`), the Kubeflow training operator for TFJobs
(:mod:`mlflows.local.cluster.tfjob`) and KServe for InferenceServices
(:mod:`mlflows.local.cluster.kserve`). The engine calls :meth:`~LocalCluster.check` for every
resource template before anything runs and :meth:`~LocalCluster.execute` for each resource step,
which does what ``argoexec resource`` does:

1. the kubectl action on the manifest — ``create`` (409 if the name exists; ``generateName`` gets
   5 random characters), ``apply`` (create or update), ``replace`` and ``patch`` (404 if missing;
   a patch is a JSON merge patch: ``mergeStrategy: merge``, or the default ``strategic`` for a
   ConfigMap or Secret, where the two agree), ``get`` (404 if missing), ``delete`` (absent is
   fine: Argo passes ``--ignore-not-found``);
2. unless it deletes or has no condition, re-reading the object every 0.2 s and evaluating the
   failure, then the success condition (:mod:`mlflows.local.lang.conditions`);
3. its output parameters, each ``valueFrom.jsonPath`` read as ``kubectl get -o jsonpath`` prints
   it (a missing field is ""); ``valueFrom.default`` stands in when that read fails.

The result is Failed where the step fails on a cluster (an API error, the failure condition, a
failed output read, cancellation), and Error when the template turns out wrong only once its
expressions are substituted (say, a condition that no longer parses).

What each kind does here:

- ``kubeflow.org/v1`` TFJob: replicas run as local processes (:mod:`mlflows.local.cluster.tfjob`).
- ``serving.kserve.io/v1beta1`` InferenceService: the local model server
  (:mod:`mlflows.local.cluster.kserve`), serving until the run ends (or Ctrl-C with
  ``keep_serving``); a custom predictor container runs as a pod
  (:mod:`mlflows.local.cluster.custom_predictor`).
- ``serving.kserve.io/v1alpha1`` InferenceGraph: KServe's router over the services
  (:mod:`mlflows.local.cluster.inference_graph`).
- Refused, because nothing here would run them (see :data:`NEEDS_A_CONTROLLER`): Pods,
  ReplicationControllers, everything in ``apps`` and ``batch`` (Deployments, Jobs, ...), the other
  Kubeflow jobs (PyTorchJob, MPIJob, ...), KServe's other workloads (TrainedModel,
  LLMInferenceService), Knative Services, Argo Workflows and CronWorkflows.
- Anything else (ConfigMap, Secret, PersistentVolumeClaim, a custom resource without an operator)
  is kept as a plain object that later steps can get, patch and delete; its status never changes.

Where a local run must differ from a cluster:

- When neither condition matches and nothing on this machine can change the object any more (a
  plain object, a finished TFJob, a served or failed InferenceService), the step fails; Argo would
  wait forever.
- ``setOwnerReference`` is ignored: owner references let Kubernetes delete the objects with the
  Workflow; here every object lives as long as the run, and :meth:`~LocalCluster.close` ends them.
- A TFJob or InferenceService that cannot be started (say, its command is not found) is an Error of
  the step, and the object is not kept.
- Every object, with its last status, is written to ``<run dir>/objects.json`` after each step.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import Protocol

from mlflows.errors import UserError
from mlflows.local.cluster.custom_predictor import (
    CustomPredictorController,
    check_custom_predictor,
    is_custom_predictor,
)
from mlflows.local.cluster.inference_graph import InferenceGraphController, check_inference_graph
from mlflows.local.cluster.kinds import (
    INFERENCE_GRAPH,
    INFERENCE_SERVICE,
    NEEDS_A_CONTROLLER,
    OPERATED_VERSIONS,
    TFJOB,
)
from mlflows.local.cluster.kserve import InferenceServiceController, check_inference_service
from mlflows.local.cluster.objects import (
    ApiError,
    KubectlError,
    ObjectKey,
    ObjectStore,
    api_group,
    as_json,
    parse_templated_manifest,
)
from mlflows.local.cluster.pods import NodeLog, Observation
from mlflows.local.cluster.requests import ResourceRequest, ResourceResult
from mlflows.local.cluster.tfjob import TFJobController, check_tfjob
from mlflows.local.executor.volumes import VolumeStore
from mlflows.local.lang.conditions import Conditions, Outcome, Verdict
from mlflows.local.lang.jsonpath import parse_jsonpath, read_jsonpath
from mlflows.local.lang.templating import TAG

DONE = {
    "create": "created",
    "apply": "applied",
    "get": "read",
    "delete": "deleted",
    "patch": "patched",
    "replace": "replaced",
}
ACTIONS = tuple(DONE)
RESOURCE_FIELDS = {
    "action",
    "manifest",
    "manifestFrom",
    "successCondition",
    "failureCondition",
    "setOwnerReference",
    "mergeStrategy",
    "flags",
}
POLL_SECONDS = 0.2
# The controllers that serve requests: kept serving at the end of a run with keep_serving.
SERVING = (InferenceServiceController, CustomPredictorController, InferenceGraphController)
# kubectl's strategic merge patch equals a JSON merge patch only for kinds without merge-keyed lists
STRATEGIC_AS_MERGE = {("", "ConfigMap"), ("", "Secret")}


class Controller(Protocol):
    def observe(self) -> Observation: ...

    def stop(self) -> None: ...


class LocalCluster:
    """Plays the Kubernetes API server and the TFJob / KServe operators for one local run.

    Thread-safe: the engine may run several resource steps at once.
    """

    def __init__(
        self,
        *,
        objects: ObjectStore | None = None,
        volumes: VolumeStore,
        run_dir: Path,
        namespace: str,
        workflow_name: str,
        keep_serving: bool = False,
    ):
        # workflow_name is part of the agreed interface, but nothing here depends on it: the
        # owner references that would name the Workflow are not set (see the module docstring).
        self._volumes = volumes
        self._run_dir = Path(run_dir)
        self._keep_serving = keep_serving
        self._store = objects if objects is not None else ObjectStore(namespace)
        self._controllers: dict[ObjectKey, Controller] = {}
        self._lock = threading.RLock()

    # -- before the run ------------------------------------------------------------------------

    def check(
        self, template_name: str, resource: dict, output_parameters: list[dict] | None = None
    ) -> None:
        """Raise UserError (one line, naming the template and the field) if this resource template
        (its ``resource:`` dict and ``outputs.parameters``, before ``{{...}}`` substitution)
        cannot run locally."""
        try:
            _check_resource(resource, output_parameters or [])
        except UserError as error:
            raise UserError(f"template {template_name}: {error}") from None

    # -- one step --------------------------------------------------------------------------------

    def execute(
        self, request: ResourceRequest, cancel: threading.Event, log_path: Path
    ) -> ResourceResult:
        """Blocking; returns when the success/failure condition is met, nothing can change the
        object any more, or ``cancel`` is set (then what this step started is stopped)."""
        log = NodeLog(Path(log_path))
        try:
            conditions = Conditions.parse(request.success_condition, request.failure_condition)
            key, started = self._act(request, log)
            verdict = Verdict(Outcome.SUCCEEDED, f"{key} {DONE[request.action]}")
            if request.action != "delete" and conditions.waits:
                verdict = self._wait(key, conditions, cancel, started)
            log.event(f"{verdict.outcome.value}: {verdict.message}")
            if verdict.outcome is not Outcome.SUCCEEDED:
                return ResourceResult("Failed", verdict.message)
            return ResourceResult("Succeeded", verdict.message, self._outputs(key, request))
        except KubectlError as error:
            log.event(str(error))
            return ResourceResult("Failed", str(error))
        except UserError as error:
            log.event(f"error: {error}")
            return ResourceResult("Error", str(error))
        finally:
            self._save()

    # -- end of the run --------------------------------------------------------------------------

    def serving_urls(self) -> dict[str, str]:
        """InferenceService (or InferenceGraph) name -> base URL, for those serving now."""
        return {server.model_name: server.url for server in self._servers() if server.url}

    def close(self, keep_serving: bool | None = None) -> None:
        """Stop every replica and server; with ``keep_serving`` (by default the constructor's),
        serve until Ctrl-C first. Pass ``keep_serving=False`` after an interrupted run."""
        servers = self._servers()
        with self._lock:
            others = [c for c in self._controllers.values() if c not in servers]
        for controller in others:
            controller.stop()
        keep = self._keep_serving if keep_serving is None else keep_serving
        urls = self.serving_urls() if keep else {}
        if urls:
            for name, url in urls.items():
                print(f"serving {name} at {url}; Ctrl-C to stop", file=sys.stderr, flush=True)
            try:
                while any(server.observe().status.get("url") for server in servers):
                    time.sleep(1.0)
            except KeyboardInterrupt:
                pass
        for server in servers:
            server.stop()
        self._save()

    # -- internals -------------------------------------------------------------------------------

    def _act(self, request: ResourceRequest, log: NodeLog) -> tuple[ObjectKey, Controller | None]:
        """The kubectl action. Returns the object's key and the controller this step started or
        changed (to stop on cancel), if any."""
        action, manifest = request.action, request.manifest
        if action not in ACTIONS:
            raise UserError(f"resource.action {action!r}: use one of {', '.join(ACTIONS)}")
        with self._lock:
            key = self._store.key(manifest)
            if action == "create" or (action == "apply" and key not in self._store):
                return self._create(manifest, log, self._run_dir / "pods" / request.node_name)
            if action == "get":
                self._store.get(key)
                return key, None
            if action == "delete":
                existed = self._store.delete(key)
                controller = self._controllers.pop(key, None)
            else:
                new = self._store.patched(manifest) if action == "patch" else manifest
                return key, self._update(key, new, log)
        if controller is not None:
            controller.stop()
        log.event(f"{key} {'deleted' if existed else 'not found, nothing to delete'}")
        return key, None

    def _create(
        self, manifest: dict, log: NodeLog, scratch_dir: Path
    ) -> tuple[ObjectKey, Controller | None]:
        obj = self._store.create(manifest)
        key = self._store.key(obj)
        log.event(f"{key} created")
        kind = (key.group, key.kind)
        try:
            if kind == TFJOB:
                controller: Controller = TFJobController(
                    obj, volumes=self._volumes, scratch_dir=scratch_dir, log=log
                )
            elif kind == INFERENCE_SERVICE and is_custom_predictor(obj):
                controller = CustomPredictorController(obj, scratch_dir=scratch_dir, log=log)
            elif kind == INFERENCE_SERVICE:
                controller = InferenceServiceController(
                    obj, volumes=self._volumes, scratch_dir=scratch_dir, log=log
                )
            elif kind == INFERENCE_GRAPH:
                controller = InferenceGraphController(
                    obj, service_url=self._service_url, scratch_dir=scratch_dir, log=log
                )
            else:
                return key, None
        except UserError:
            self._store.delete(key)
            raise
        self._controllers[key] = controller
        return key, controller

    def _update(self, key: ObjectKey, new: dict, log: NodeLog) -> Controller | None:
        current = self._store.get(key)
        kind = (key.group, key.kind)
        if kind == TFJOB and as_json(new).get("spec") != current.get("spec"):
            raise UserError(
                f"{key} already exists with another spec; the local operator does not change a "
                "running TFJob (nor restarts it, like the training operator): delete it first "
                "or use metadata.generateName"
            )
        if kind in (INFERENCE_SERVICE, INFERENCE_GRAPH):
            _check_kserve(new)
        obj, change = self._store.replace(new)
        log.event(f"{key} {change}")
        controller = self._controllers.get(key)
        if isinstance(controller, CustomPredictorController) != is_custom_predictor(obj):
            raise UserError(
                f"{key}: the local KServe does not switch a predictor between a model and a "
                "custom container; delete the InferenceService first"
            )
        if change == "configured" and isinstance(controller, SERVING):
            controller.update(obj, log)
            return controller
        return None

    def _service_url(self, name: str) -> str | None:
        """An InferenceService's URL once it has one, as a fresh ``kubectl get`` reads it."""
        key = ObjectKey(*INFERENCE_SERVICE, self._store.namespace, name)
        seen = self._observe(key)
        return (seen[0].get("status") or {}).get("url") if seen else None

    def _observe(self, key: ObjectKey) -> tuple[dict, Observation | None] | None:
        """The object as a fresh ``kubectl get`` returns it (after its operator's reconcile), and
        the operator's observation; None once it is gone."""
        with self._lock:
            controller = self._controllers.get(key)
        observation = controller.observe() if controller is not None else None
        with self._lock:
            if key not in self._store:
                return None
            if observation is not None:
                self._store.set_status(key, observation.status)
            return self._store.get(key), observation

    def _wait(
        self,
        key: ObjectKey,
        conditions: Conditions,
        cancel: threading.Event,
        started: Controller | None,
    ) -> Verdict:
        while True:
            seen = self._observe(key)
            if seen is None:
                return Verdict(
                    Outcome.FAILED, f"{key} was deleted while its status was being checked"
                )
            obj, observation = seen
            note = f"; {observation.note}" if observation and observation.note else ""
            verdict = conditions.evaluate(obj)
            if verdict.outcome is Outcome.SUCCEEDED:
                return Verdict(Outcome.SUCCEEDED, f"{key}: success condition met")
            if verdict.outcome is Outcome.FAILED:
                return Verdict(Outcome.FAILED, f"{key}: {verdict.message}{note}")
            if observation is None or observation.settled:
                return Verdict(
                    Outcome.FAILED,
                    f"{key}: neither the success nor the failure condition matches, and nothing "
                    f"on this machine will change it any more (Argo would wait forever){note}",
                )
            if cancel.wait(POLL_SECONDS):
                if started is not None:
                    started.stop()
                return Verdict(Outcome.FAILED, f"{key}: cancelled while waiting for its conditions")

    def _outputs(self, key: ObjectKey, request: ResourceRequest) -> dict[str, str]:
        if request.action == "delete" or not request.output_parameters:
            return {}
        seen = self._observe(key)
        if seen is None:
            raise ApiError(404, "NotFound", f"{key} not found")
        obj = seen[0]
        outputs = {}
        for parameter in request.output_parameters:
            value_from = _output_source(parameter)
            try:
                outputs[parameter["name"]] = read_jsonpath(obj, value_from["jsonPath"])
            except KubectlError:
                if "default" not in value_from:
                    raise
                outputs[parameter["name"]] = str(value_from["default"])
        return outputs

    def _servers(
        self,
    ) -> list[InferenceServiceController | CustomPredictorController | InferenceGraphController]:
        with self._lock:
            return [c for c in self._controllers.values() if isinstance(c, SERVING)]

    def _save(self) -> None:
        with self._lock:
            self._run_dir.mkdir(parents=True, exist_ok=True)
            text = json.dumps(self._store.dump(), indent=2) + "\n"
            (self._run_dir / "objects.json").write_text(text)


# ---------------------------------------------------------------------------------------------
# Checks before the run


def _check_resource(resource: dict, output_parameters: list[dict]) -> None:
    unknown = sorted(set(resource) - RESOURCE_FIELDS)
    if unknown:
        raise UserError(f"resource.{unknown[0]} is not a field of an Argo resource template")
    if "manifestFrom" in resource:
        raise UserError(
            "resource.manifestFrom (the manifest from an artifact) is not supported locally; "
            "put the manifest inline in resource.manifest"
        )
    if resource.get("flags"):
        raise UserError(
            "resource.flags: the local runner does not interpret kubectl flags; remove them"
        )
    action = resource.get("action")
    if action not in ACTIONS:
        raise UserError(f"resource.action {action!r}: use one of {', '.join(ACTIONS)}")
    text = resource.get("manifest")
    if not isinstance(text, str) or not text.strip():
        raise UserError("resource.manifest: missing; give the object as a YAML string")
    manifest = parse_templated_manifest(text)
    success, failure = resource.get("successCondition"), resource.get("failureCondition")
    # An expression stands for any value; "0" is a valid label key and value, and an integer.
    Conditions.parse(*(TAG.sub("0", condition or "") for condition in (success, failure)))
    if action == "delete" and (success or failure or output_parameters):
        raise UserError(
            "successCondition, failureCondition and outputs are not supported for the delete "
            "action (Argo rejects them too)"
        )
    _check_object(manifest, action, resource.get("mergeStrategy") or "strategic")
    for parameter in output_parameters:
        jsonpath = _output_source(parameter)["jsonPath"]
        if not TAG.search(jsonpath):
            try:
                parse_jsonpath(jsonpath)
            except UserError as error:
                raise UserError(f"outputs.parameters[{parameter.get('name')}]: {error}") from None


def _check_object(manifest: dict, action: str, merge_strategy: str) -> None:
    api_version, kind = manifest.get("apiVersion"), manifest.get("kind")
    if not all(isinstance(v, str) and v and not TAG.search(v) for v in (api_version, kind)):
        raise UserError(
            "resource.manifest: apiVersion and kind must be given literally (not as {{...}}), "
            "so that the runner knows what runs the object"
        )
    metadata = manifest.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise UserError(f"resource.manifest: metadata must be a mapping, got {metadata!r}")
    if action == "create" and not (metadata.get("name") or metadata.get("generateName")):
        raise UserError("resource.manifest: give metadata.name or metadata.generateName")
    if action != "create" and not metadata.get("name"):
        raise UserError(
            f"resource.manifest: metadata.name is required to {action} an object "
            "(metadata.generateName works with create only)"
        )
    group = api_group(manifest)
    expected = OPERATED_VERSIONS.get((group, kind))
    why = NEEDS_A_CONTROLLER.get((group, kind)) or NEEDS_A_CONTROLLER.get((group, "*"))
    if why and not expected:  # a group's "*" does not cover the kind operated here
        raise UserError(f"resource.manifest: {api_version} {kind} cannot run locally: {why}")
    if expected and api_version != expected:
        raise UserError(
            f"resource.manifest: {api_version} {kind}: the local runner runs {expected}"
        )
    if (group, kind) == TFJOB:
        if action in ("patch", "replace"):
            raise UserError(
                f"resource.action {action}: the local operator does not change a running TFJob; "
                "create or apply it"
            )
        if action in ("create", "apply"):
            check_tfjob(manifest)
    if (group, kind) in (INFERENCE_SERVICE, INFERENCE_GRAPH) and action in (
        "create",
        "apply",
        "replace",
    ):
        _check_kserve(manifest)
    if action == "patch" and not (
        merge_strategy == "merge"
        or (merge_strategy == "strategic" and (group, kind) in STRATEGIC_AS_MERGE)
    ):
        raise UserError(
            f"resource.mergeStrategy {merge_strategy}: for a {kind} the local runner patches "
            "with mergeStrategy: merge (JSON merge patch) only; set it"
        )


def _check_kserve(manifest: dict) -> None:
    """The check of the local KServe controller that will run ``manifest``."""
    if manifest.get("kind") == INFERENCE_GRAPH[1]:
        check_inference_graph(manifest)
    elif is_custom_predictor(manifest):
        check_custom_predictor(manifest)
    else:
        check_inference_service(manifest)


def _output_source(parameter: dict) -> dict:
    """The parameter's ``valueFrom``, which for a resource template must be a jsonPath."""
    name = parameter.get("name")
    value_from = parameter.get("valueFrom") or {}
    if "jqFilter" in value_from:
        raise UserError(
            f"outputs.parameters[{name}].valueFrom.jqFilter is not evaluated by the local runner; "
            "use jsonPath, e.g. '{.metadata.name}'"
        )
    if "jsonPath" not in value_from or set(value_from) - {"jsonPath", "default"}:
        raise UserError(
            f"outputs.parameters[{name}]: a resource template's outputs are read with "
            "valueFrom.jsonPath (and an optional default)"
        )
    return value_from
