"""Daemon templates (``daemon: true``), as Argo's controller runs them (operator.go:
assessNodeStatus marks a daemon's node daemoned once its pod runs and is ready;
killDaemonedChildren stops them when the DAG or steps node that started them completes).

A daemon's node is Succeeded and ``daemoned`` as soon as its process started and its
``readinessProbe`` (:mod:`mlflows.local.executor.probes`) passed, so later steps and tasks run
(``depends`` sees ``Daemoned``) and reach it at ``{{steps.<name>.ip}}`` / ``{{tasks.<name>.ip}}``,
127.0.0.1 here. Its process lives on until its boundary — the DAG or steps node that called it —
ends, or the run stops; then it is stopped as deleting its pod would (SIGTERM, then SIGKILL). A
daemon that ends on its own while still needed fails its node with its pod's message.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from mlflows.local.controller.nodes import Node, Outputs, Phase
from mlflows.local.controller.stop import StopEvent
from mlflows.local.executor.pod import PodResult
from mlflows.local.executor.probes import wait_ready
from mlflows.local.executor.spawner import PodProcess

if TYPE_CHECKING:
    from mlflows.local.controller.engine import Engine

# Runs the daemon's pod to its end: (cancel, called with the process once it started).
RunPod = Callable[[StopEvent, Callable[[PodProcess], None]], PodResult]


def is_daemon(template: dict) -> bool:
    return template.get("daemon") is True


class Daemons:
    """The daemons alive in one run, by the boundary whose end stops them."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._lock = threading.Lock()
        self._alive: dict[str | None, list[tuple[StopEvent, threading.Thread]]] = {}

    def run(self, node: Node, container: dict, run_pod: RunPod) -> PodResult:
        """Start the daemon's pod; return once it is daemoned (Succeeded) or ended first."""
        cancel = StopEvent()
        started: list[PodProcess] = []
        started_event = threading.Event()
        ended: list[PodResult] = []
        reported = threading.Event()  # the node was marked daemoned: a later end may fail it

        def on_started(process: PodProcess) -> None:
            started.append(process)
            started_event.set()

        def live() -> None:
            with self.engine.stop.listening(cancel.set):
                ended.append(run_pod(cancel, on_started))
            started_event.set()  # wakes a caller still waiting for the start
            if reported.is_set() and not cancel.is_set() and ended[0].phase != Phase.SUCCEEDED:
                self.engine.finish(node, ended[0].phase, ended[0].message, daemoned=True)

        thread = threading.Thread(target=live, name=f"daemon {node.name}", daemon=True)
        with self._lock:
            self._alive.setdefault(node.boundary_id, []).append((cancel, thread))
        thread.start()
        started_event.wait()
        if not started or not wait_ready(container, started[0], cancel):
            thread.join()
            return ended[0] if ended else PodResult(Phase.FAILED, "daemon ended", Outputs())
        self.engine.nodes.update(node, daemoned=True)
        reported.set()
        return PodResult(Phase.SUCCEEDED, "", Outputs())

    def end(self, boundary_id: str | None) -> None:
        """Stop the daemons the boundary started (it has completed), and wait for them."""
        with self._lock:
            alive = self._alive.pop(boundary_id, [])
        for cancel, _ in alive:
            cancel.set()
        for _, thread in alive:
            thread.join()

    def end_all(self) -> None:
        with self._lock:
            boundaries = list(self._alive)
        for boundary_id in boundaries:
            self.end(boundary_id)
