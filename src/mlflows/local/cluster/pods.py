"""What the local operators (:mod:`mlflows.local.cluster.tfjob`,
:mod:`mlflows.local.cluster.kserve`) share about their pods.

:func:`start_with_log` starts one — the executor's own way, as a step's pod is started
(:func:`mlflows.local.executor.isolation.start_pod`), its output appended to its log file;
:func:`free_ports` finds ports for them, :func:`tail` quotes a pod's log in messages,
:class:`NodeLog` is the step's log the operators write their events to, and an operator reports
its object's status to the cluster as an :class:`Observation`.
"""

from __future__ import annotations

import os
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from mlflows.errors import UserError
from mlflows.local.cluster.objects import now
from mlflows.local.executor.isolation import PodSpec, start_pod
from mlflows.local.executor.spawner import PodProcess


@dataclass(frozen=True)
class Observation:
    """What an operator reports about its object at one moment."""

    status: dict
    settled: bool  # nothing on this machine will change the status any more
    note: str = ""  # for failure messages: what went wrong and where its log is


@dataclass(frozen=True)
class NodeLog:
    """A step's log: the operators' events go into it, each pod's output into a file beside it."""

    path: Path

    def event(self, text: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as log:
            log.write(f"{now()} {text}\n")

    def beside(self, name: str) -> Path:
        """``<dir>/<step>.<name>.log`` for ``<dir>/<step>.log``."""
        return self.path.with_name(f"{self.path.name.removesuffix('.log')}.{name}.log")


def free_ports(count: int, host: str) -> list[int]:
    """Ports free on ``host`` right now ("" for every interface): all bound at once, so they
    differ, then released for the processes, which bind them a moment later (a small race:
    another program could take one in between)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((host, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def start_with_log(pod: PodSpec, log_file: Path) -> PodProcess:
    """Start the pod, its output appended to ``log_file``. UserError if its command cannot run."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(log_file, "ab") as log:
            return start_pod(pod, stdout=log, stderr=subprocess.STDOUT)
    except FileNotFoundError:
        raise UserError(
            f"{pod.name}: command {pod.command.argv[0]!r} not found on this machine; the local "
            "runner runs the container's command directly (python runs this interpreter)"
        ) from None
    except OSError as error:  # say, a script without the executable bit
        raise UserError(
            f"{pod.name}: command {pod.command.argv[0]!r} cannot be run on this machine: "
            f"{error.strerror or error}"
        ) from None


def tail(log_file: Path, lines: int = 5) -> str:
    """The last lines of a pod's log, joined into one line for messages."""
    try:
        with open(log_file, "rb") as log:
            log.seek(max(0, log.seek(0, os.SEEK_END) - 4096))
            text = log.read().decode(errors="replace")
    except OSError:
        return ""
    kept = [line.strip() for line in text.splitlines() if line.strip()]
    return " | ".join(kept[-lines:])
