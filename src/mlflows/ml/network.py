"""Whether the hosts a download needs accept connections, found out in seconds.

tensorflow-datasets retries a failing download for minutes (urllib3 retries with backoff, per
file), so offline an ingest waits minutes for a certain failure. One TCP connection to each host
— or to the proxy the environment names for it, as ``requests`` would use — tells the same in
seconds. Each is tried on a daemon thread, so a name lookup that hangs cannot hold the process.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
from collections.abc import Iterable
from typing import NamedTuple
from urllib.parse import urlsplit

CONNECT_SECONDS = 5.0
DEFAULT_PORTS = {"http": 80, "https": 443}


def endpoint(url: str) -> tuple[str, int]:
    """The ``(host, port)`` a request for ``url`` connects to: its proxy if one applies."""
    parts = urlsplit(url)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and not urllib.request.proxy_bypass(parts.hostname or ""):
        parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    return parts.hostname or "", parts.port or DEFAULT_PORTS.get(parts.scheme, 80)


class Failure(NamedTuple):
    reason: str
    final: bool  # the resolver's answer that the name does not exist: minutes later, no different


def _connect(address: tuple[str, int], failures: dict[str, Failure]) -> None:
    try:
        socket.create_connection(address, timeout=CONNECT_SECONDS).close()
    except OSError as err:  # a failed lookup, a refusal, a timeout
        reason = err.strerror or str(err) or type(err).__name__
        # Unlike EAI_AGAIN ("Temporary failure in name resolution"), a refusal or a timeout,
        # EAI_NONAME is final: no network at all, or a closed one.
        final = isinstance(err, socket.gaierror) and err.errno == socket.EAI_NONAME
        failures[f"{address[0]}:{address[1]}"] = Failure(reason, final)


def unreachable(urls: Iterable[str]) -> dict[str, Failure]:
    """``{"host:port": Failure}`` for each endpoint of ``urls`` not accepting a connection within
    ``CONNECT_SECONDS``; empty when all do."""
    failures: dict[str, Failure] = {}
    threads = {
        address: threading.Thread(target=_connect, args=(address, failures), daemon=True)
        for address in sorted({endpoint(url) for url in urls})
    }
    for thread in threads.values():
        thread.start()
    deadline = time.monotonic() + CONNECT_SECONDS
    for (host, port), thread in threads.items():
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            failures.setdefault(
                f"{host}:{port}", Failure(f"no answer in {CONNECT_SECONDS:.0f}s", False)
            )
    return dict(failures)  # a copy: a thread still trying may write to the original later
