"""A container's ``readinessProbe``, as the kubelet runs it, for a daemon's readiness.

Argo marks a daemon step daemoned only once its pod is running and ready (operator.go,
assessNodeStatus), so a ``readinessProbe`` is awaited: after ``initialDelaySeconds``, every
``periodSeconds`` (Kubernetes' default 10), an ``httpGet`` that answers 200–399, a
``tcpSocket`` that accepts, or an ``exec`` command that exits 0 — each within
``timeoutSeconds`` (default 1). The pod's address is this machine's: 127.0.0.1. A ``grpc``
probe is refused up front.
"""

from __future__ import annotations

import socket
import subprocess

from mlflows.errors import UserError
from mlflows.local.controller.stop import StopEvent
from mlflows.local.executor.spawner import PodProcess

POD_IP = "127.0.0.1"
HANDLERS = ("exec", "httpGet", "tcpSocket")


def check_probe(where: str, container: dict) -> None:
    """UserError unless the container's readinessProbe is one this runner can run."""
    probe = container.get("readinessProbe")
    if probe is None:
        return
    handlers = [handler for handler in HANDLERS if handler in probe]
    if len(handlers) != 1:
        raise UserError(
            f"{where}: readinessProbe needs exactly one of {', '.join(HANDLERS)} here "
            "(a grpc probe is not run by the local runner)"
        )
    if handlers[0] != "exec":
        _port(where, probe[handlers[0]].get("port"), container)


def wait_ready(container: dict, process: PodProcess, cancel: StopEvent) -> bool:
    """Block until the container is ready (True), or its process ended or ``cancel`` was set."""
    probe = container.get("readinessProbe")
    if probe is None:
        return True
    delay = float(probe.get("initialDelaySeconds") or 0)
    period = float(probe.get("periodSeconds") or 10)
    timeout = float(probe.get("timeoutSeconds") or 1)
    if _ended(process, cancel, delay):
        return False
    while not _succeeds(probe, container, timeout):
        if _ended(process, cancel, period):
            return False
    return True


def _ended(process: PodProcess, cancel: StopEvent, seconds: float) -> bool:
    """Wait ``seconds``; True if the process ended or the wait was cancelled first."""
    return process.wait(cancel, timeout=seconds) or cancel.is_set()


def _succeeds(probe: dict, container: dict, timeout: float) -> bool:
    if "exec" in probe:
        command = [str(part) for part in probe["exec"].get("command") or []]
        try:
            return subprocess.run(command, capture_output=True, timeout=timeout).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            return False
    if "tcpSocket" in probe:
        port = _port("readinessProbe", probe["tcpSocket"].get("port"), container)
        with socket.socket() as client:
            client.settimeout(timeout)
            return client.connect_ex((probe["tcpSocket"].get("host") or POD_IP, port)) == 0
    get = probe["httpGet"]
    port = _port("readinessProbe", get.get("port"), container)
    scheme = str(get.get("scheme") or "HTTP").lower()
    url = f"{scheme}://{get.get('host') or POD_IP}:{port}{get.get('path') or '/'}"
    import urllib.request  # http.client and ssl: only for an httpGet probe (start-up cost)

    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return 200 <= answer.status < 400
    except OSError:  # URLError is one
        return False


def _port(where: str, port, container: dict) -> int:
    """A probe's port: a number, or the name of one of the container's ports."""
    if isinstance(port, int) and not isinstance(port, bool):
        return port
    if isinstance(port, str) and port.isdigit():
        return int(port)
    for declared in container.get("ports") or []:
        if isinstance(declared, dict) and declared.get("name") == port:
            return int(declared["containerPort"])
    raise UserError(f"{where}: readinessProbe port {port!r} is not a number or a named port")
