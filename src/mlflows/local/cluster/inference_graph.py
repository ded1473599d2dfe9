"""The KServe controller for InferenceGraphs (``serving.kserve.io/v1alpha1``), on this machine.

As KServe v0.20's ``pkg/controller/v1alpha1/inferencegraph/controller.go`` reconciles one: each
step naming a ``serviceName`` gets its ``serviceUrl`` from that InferenceService, its predictor
endpoint ``<status.url>/v1/models/<name>:predict`` (the V1 protocol, the one the local server
speaks first), once the service has a URL; until every one has, the graph waits (KServe
requeues). Then the router starts with the resolved spec (``--graph-json``), here
:mod:`mlflows.local.cluster.graph_router` as a pod on a free port, its output in ``<step
log>.router.log``; once ``GET /readyz`` answers, ``status.url`` is its URL and the condition
Ready is True (KServe sets the URL only while Ready). A router that exits, or services not ready
within :data:`READY_TIMEOUT_SECONDS`, makes Ready False with the reason and the graph settled.

Applying it again with another spec restarts the router. Accepted without local effect: replicas,
scaling, resources, affinity, tolerations, timeouts. Refused before the run: ``Splitter`` and
``Switch`` nodes, step ``condition``s, a graph without a ``root`` node, a step naming a node
that is not there, a step with none or several of ``nodeName``, ``serviceName`` and
``serviceUrl``.
"""

from __future__ import annotations

import copy
import json
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from mlflows.errors import UserError
from mlflows.local.cluster.graph_router import READINESS_PATH, ROOT
from mlflows.local.cluster.knative import Conditions, ServedByOneProcess
from mlflows.local.cluster.objects import Unresolved
from mlflows.local.cluster.pods import NodeLog, free_ports, start_with_log, tail
from mlflows.local.executor.isolation import PodSpec
from mlflows.local.executor.process import Command
from mlflows.local.executor.spawner import PodProcess

ROUTER_TYPES = ("Sequence", "Ensemble")  # the ones the local router runs
STEP_FIELDS = {"name", "nodeName", "serviceName", "serviceUrl", "data", "dependency", "weight"}
TARGETS = ("nodeName", "serviceName", "serviceUrl")
READY_TIMEOUT_SECONDS = 120.0
PROBE_TIMEOUT_SECONDS = 1.0

# An InferenceService's status.url, or None while it has none (not served, or not yet).
ServiceUrl = Callable[[str], "str | None"]


def check_inference_graph(manifest: dict) -> None:
    """Raise UserError for an InferenceGraph the local router cannot run. Values that are Argo
    expressions are taken as they will be once substituted: checked when the graph is applied."""
    nodes = (manifest.get("spec") or {}).get("nodes")
    if isinstance(nodes, Unresolved):
        return
    if not isinstance(nodes, dict) or ROOT not in nodes:
        raise UserError(f"InferenceGraph spec.nodes: give the nodes, one of them named {ROOT}")
    for node_name, node in nodes.items():
        where = f"InferenceGraph spec.nodes.{node_name}"
        if not isinstance(node, dict):
            raise UserError(f"{where}: give routerType and steps")
        router_type = node.get("routerType")
        if router_type not in ROUTER_TYPES and not isinstance(router_type, Unresolved):
            raise UserError(
                f"{where}.routerType {router_type!r}: the local router runs "
                f"{' and '.join(ROUTER_TYPES)} nodes"
            )
        steps = node.get("steps") or []
        if isinstance(steps, Unresolved):
            continue
        if not isinstance(steps, list):
            raise UserError(f"{where}.steps: give a list of steps")
        for index, step in enumerate(steps):
            _check_step(step, f"{where}.steps[{index}]", nodes)


def _check_step(step: object, where: str, nodes: dict) -> None:
    if isinstance(step, Unresolved):
        return
    if not isinstance(step, dict):
        raise UserError(f"{where}: give a mapping with one of {', '.join(TARGETS)}")
    if "condition" in step:
        raise UserError(f"{where}.condition: the local router does not evaluate conditions")
    unknown = sorted(set(step) - STEP_FIELDS)
    if unknown:
        raise UserError(f"{where}.{unknown[0]} is not a field of an InferenceGraph step")
    targets = [target for target in TARGETS if step.get(target)]
    if len(targets) != 1:
        raise UserError(f"{where}: give exactly one of {', '.join(TARGETS)}")
    node_name = step.get("nodeName")
    if node_name and not isinstance(node_name, Unresolved) and node_name not in nodes:
        raise UserError(f"{where}.nodeName {node_name!r}: the graph has no such node")


def predictor_endpoint(service_url: str, service_name: str) -> str:
    """Where KServe's controller points a ``serviceName`` step: the predictor's V1 predict."""
    return f"{service_url.rstrip('/')}/v1/models/{service_name}:predict"


class InferenceGraphController(ServedByOneProcess):
    """Runs one InferenceGraph's router and keeps its status; :meth:`observe` advances it."""

    def __init__(
        self,
        obj: dict,
        *,
        service_url: ServiceUrl,
        scratch_dir: Path,
        log: NodeLog,
    ):
        self.model_name = obj["metadata"]["name"]  # as the other servers are named
        self._service_url = service_url
        self._scratch_dir = scratch_dir
        self._lock = threading.Lock()
        self._router: PodProcess | None = None
        self._starts = 0
        self._log_file: Path | None = None
        self._url: str | None = None
        self._failure = ""
        self._stopped = False
        self._conditions = Conditions()
        self.update(obj, log)

    def update(self, obj: dict, log: NodeLog) -> None:
        """A new or changed spec: the router restarts with it once its services have URLs."""
        check_inference_graph(obj)
        with self._lock:
            self._stop_router()
            self._spec = copy.deepcopy(obj.get("spec") or {})
            self._generation = obj["metadata"].get("generation", 1)
            self._log, self._stopped, self._failure = log, False, ""
            self._waiting_since = time.monotonic()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            self._stop_router()

    def _advance(self) -> None:
        if self._router is None:
            resolved, missing = self._resolved()
            if missing:
                if time.monotonic() - self._waiting_since > READY_TIMEOUT_SECONDS:
                    self._failure = (
                        f"InferenceService {missing} has no URL after "
                        f"{READY_TIMEOUT_SECONDS:.0f} s; is it applied and Ready?"
                    )
                    self._log.event(f"InferenceGraph {self.model_name}: {self._failure}")
                return
            self._start(resolved)
        if self._router.poll() is not None:
            self._failure = (
                f"the router exited (exit code {self._router.poll()}): {tail(self._log_file)} "
                f"(log: {self._log_file})"
            )
            self._log.event(f"InferenceGraph {self.model_name}: {self._failure}")
            self._router, self._url = None, None
        elif self._url is None and _ready(self._router_url):
            self._url = self._router_url
            self._log.event(f"InferenceGraph {self.model_name}: ready at {self._url}")

    def _resolved(self) -> tuple[dict, str | None]:
        """The spec with every serviceName step's serviceUrl filled in, and the first service
        that has no URL yet (None when all have)."""
        spec = copy.deepcopy(self._spec)
        for node in spec.get("nodes", {}).values():
            for step in node.get("steps") or []:
                service = step.get("serviceName")
                if not service or step.get("serviceUrl"):
                    continue
                url = self._service_url(service)
                if not url:
                    return spec, service
                step["serviceUrl"] = predictor_endpoint(url, service)
        return spec, None

    def _start(self, spec: dict) -> None:
        (port,) = free_ports(1, host="127.0.0.1")
        argv = [
            sys.executable, "-m", "mlflows.local.cluster.graph_router",
            "--graph-json", json.dumps(spec, separators=(",", ":")), "--port", str(port),
        ]  # fmt: skip
        self._starts += 1
        name = f"{self.model_name}-router-{self._starts}"
        self._log_file = self._log.beside("router")
        pod = PodSpec(name, Command(argv), (), self._scratch_dir / name)
        self._router = start_with_log(pod, self._log_file)
        self._router_url = f"http://127.0.0.1:{port}"
        self._log.event(
            f"InferenceGraph {self.model_name}: routing on port {port}, pid {self._router.pid}, "
            f"output in {self._log_file}"
        )

    def _stop_router(self) -> None:
        if self._router is not None:
            self._router.stop()
        self._router, self._url = None, None

    def _status(self) -> dict:
        if self._url is not None:
            ready = ("True", "", "")
        elif self._stopped:
            ready = ("False", "Stopped", "the local router was stopped")
        elif self._failure:
            ready = ("False", "RouterFailed", self._failure)
        else:
            ready = ("Unknown", "Starting", "waiting for the services and the router")
        status: dict = {
            "observedGeneration": self._generation,
            "conditions": [self._conditions.condition("Ready", *ready)],
        }
        if self._url is not None:
            status["url"] = self._url
        return status


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + READINESS_PATH, timeout=PROBE_TIMEOUT_SECONDS) as answer:
            return answer.status == 200
    except OSError:
        return False
