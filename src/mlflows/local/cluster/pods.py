"""The pods the local operators run (:mod:`mlflows.local.cluster.tfjob`,
:mod:`mlflows.local.cluster.kserve`).

:class:`PodProcess` is a pod's container as a local process, :func:`free_ports` finds ports for
them, :class:`NodeLog` is the step's log the operators write their events to, and an operator
reports its object's status to the cluster as an :class:`Observation`. (A container or script
step's own pod is :mod:`mlflows.local.executor.pod`.)
"""

from __future__ import annotations

import os
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from mlflows.errors import UserError
from mlflows.local.cluster.objects import now
from mlflows.local.executor.process import Invocation, stop_process_group


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


class PodProcess:
    """A pod's container as a local process: own process group (so stopping it stops whatever it
    started, as deleting a pod does), output appended to ``log_file``."""

    # The kubelet grants 30 s by default; nothing here needs that long to shut down.
    GRACE_SECONDS = 5.0

    def __init__(self, name: str, invocation: Invocation, log_file: Path):
        self.name = name
        self.log_file = log_file
        log_file.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(log_file, "ab") as log:
                self._popen = subprocess.Popen(
                    invocation.argv,
                    env=invocation.env,
                    cwd=invocation.cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        except FileNotFoundError:
            raise UserError(
                f"{name}: command {invocation.argv[0]!r} not found on this machine; the local "
                "runner runs the container's command directly (python runs this interpreter)"
            ) from None
        except OSError as error:  # say, a script without the executable bit
            raise UserError(
                f"{name}: command {invocation.argv[0]!r} cannot be run on this machine: "
                f"{error.strerror}"
            ) from None

    @property
    def pid(self) -> int:
        return self._popen.pid

    def poll(self) -> int | None:
        """The exit status once it ended, in the container convention: 128+N when killed by
        signal N."""
        code = self._popen.poll()
        return 128 - code if code is not None and code < 0 else code

    def stop(self) -> None:
        """Stop it as deleting its pod would (see :func:`stop_process_group`)."""
        stop_process_group(self._popen, self.GRACE_SECONDS)

    def tail(self, lines: int = 5) -> str:
        """The last lines of its log, joined into one line for messages."""
        try:
            with open(self.log_file, "rb") as log:
                log.seek(max(0, log.seek(0, os.SEEK_END) - 4096))
                text = log.read().decode(errors="replace")
        except OSError:
            return ""
        kept = [line.strip() for line in text.splitlines() if line.strip()]
        return " | ".join(kept[-lines:])
