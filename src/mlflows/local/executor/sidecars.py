"""A pod's other containers: ``initContainers`` before the main one, ``sidecars`` beside it.

As Kubernetes runs them and Argo's executor ends them (workflow/executor: the wait container kills
the sidecars once main completes): each init container runs to its end, in order, before the main
container starts, and the first that fails fails the pod with its exit code; the sidecars start
just before the main container, share its network (here: localhost), and are stopped (SIGTERM,
then SIGKILL) once it ended — their own exit codes do not decide the pod's phase.
``mirrorVolumeMounts: true`` gives one the main container's volume mounts. An init container
writes to the node's log, before the main container; a sidecar to ``<node>.<sidecar>.log``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import IO

from mlflows.local.controller.stop import StopEvent
from mlflows.local.executor.spawner import PodProcess

FIELDS = ("initContainers", "sidecars")
MIRROR = "mirrorVolumeMounts"

# How the pod starts one more of its containers, writing to the given log.
StartContainer = Callable[[dict, IO[bytes]], PodProcess]


def with_mounts(container: dict, main: dict) -> dict:
    """``container`` with the main container's volume mounts if it mirrors them."""
    if container.get(MIRROR):
        return {**container, "volumeMounts": main.get("volumeMounts") or []}
    return container


def run_init_containers(
    template: dict, start: StartContainer, log: IO[bytes], cancel: StopEvent
) -> str:
    """Run each init container to its end, in order; the failure message of the first that
    fails (or is cancelled), else ``""``."""
    for container in template.get("initContainers") or []:
        try:
            process = start(container, log)
        except OSError as err:
            return f"init container {container['name']}: failed to start: {err.strerror or err}"
        ended = process.wait(cancel)
        process.stop()
        if not ended:
            return f"init container {container['name']}: cancelled"
        if process.exit_code:
            return f"init container {container['name']}: Error (exit code {process.exit_code})"
    return ""


class Sidecars:
    """The template's sidecars, started beside the main container and stopped once it ended."""

    def __init__(self, template: dict, start: StartContainer, log_path: Path):
        self._processes: list[PodProcess] = []
        self._logs: list[IO[bytes]] = []
        try:
            for container in template.get("sidecars") or []:
                log = open(log_path.with_name(f"{log_path.stem}.{container['name']}.log"), "wb")
                self._logs.append(log)
                self._processes.append(start(container, log))
        except OSError:
            self.stop()  # those already started end with the pod that could not start
            raise

    def stop(self) -> None:
        for process in self._processes:
            process.stop()
        for log in self._logs:
            log.close()
