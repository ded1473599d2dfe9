"""HTTP load as load generators (hey, wrk) make it: keep-alive connections, each on its own
thread, sending request after request, bounded by a number of requests and a time.

:class:`KeepAliveClient` is a lean HTTP/1.1 client over a socket, each answer read by its
Content-Length: about 25 us of CPU a request, where ``http.client``'s header parsing takes about
95 us, on cores the server under load may share with it. :func:`drive` runs the streams and
keeps every request's outcome: its latency and status, or what went wrong (refused, reset, timed
out, not HTTP) as a count, never an exception. ``benchmarks/serving.py`` and the pipeline's load
test (:mod:`mlflows.ml.load_test`) both measure with them.
"""

from __future__ import annotations

import math
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol


class ProtocolError(Exception):
    """The answer is not HTTP this client reads, or the server hung up before answering."""


class Client(Protocol):
    def post(self, path: str, body: bytes) -> int: ...

    def close(self) -> None: ...


class KeepAliveClient:
    """One connection, opened on first use and again after the server closes it."""

    def __init__(self, host: str, port: int, timeout: float = 60.0):
        self.address, self.timeout = (host, port), timeout
        self.sock: socket.socket | None = None
        self.received = b""

    def post(self, path: str, body: bytes) -> int:
        """The answer's status, its body read; OSError or ProtocolError if there is none."""
        if self.sock is None:
            self.sock = socket.create_connection(self.address, timeout=self.timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.address[0]}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        try:
            self.sock.sendall(head.encode() + body)
            status, keep_alive = self._answer()
        except BaseException:
            self.close()  # what is left on it belongs to no request
            raise
        if not keep_alive:
            self.close()
        return status

    def _answer(self) -> tuple[int, bool]:
        while b"\r\n\r\n" not in self.received:
            self._receive()
        header, _, self.received = self.received.partition(b"\r\n\r\n")
        status_line, *lines = header.split(b"\r\n")
        version, _, rest = status_line.partition(b" ")
        code = rest[:3]
        if not version.startswith(b"HTTP/") or not code.isdigit():
            raise ProtocolError("not an HTTP answer")
        fields = {}
        for line in lines:
            name, _, value = line.partition(b":")
            fields[name.strip().lower()] = value.strip().lower()
        connection = fields.get(b"connection", b"")
        keep_alive = connection == b"keep-alive" or (
            version == b"HTTP/1.1" and connection != b"close"
        )
        if code[:1] == b"1" or code in (b"204", b"304"):  # answers that never have a body
            return int(code), keep_alive
        if b"content-length" not in fields:
            if b"transfer-encoding" in fields:
                raise ProtocolError("a chunked answer (this client reads Content-Length only)")
            self._read_to_end()  # HTTP/1.0 style: the body ends where the connection does
            return int(code), False
        try:
            length = int(fields[b"content-length"])
        except ValueError:
            raise ProtocolError("an answer with a malformed Content-Length") from None
        while len(self.received) < length:
            self._receive()
        self.received = self.received[length:]
        return int(code), keep_alive

    def _receive(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ProtocolError("the server closed the connection")
        self.received += data

    def _read_to_end(self) -> None:
        while self.sock.recv(65536):
            pass
        self.received = b""

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock, self.received = None, b""


def error_kind(err: BaseException) -> str:
    """A short name for why a request got no answer, to count requests by."""
    if isinstance(err, ProtocolError):
        return str(err)
    if isinstance(err, TimeoutError):
        return "timed out"
    if isinstance(err, OSError):
        return (err.strerror or type(err).__name__).lower()
    return type(err).__name__


@dataclass
class Load:
    """Every request's outcome: the seconds of each answered with a 2xx, the count of each other
    status, the count of each kind of failure to get an answer, and the wall time of the whole."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    unanswered: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0

    @property
    def requests(self) -> int:
        return self.ok + self.errors

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def errors(self) -> int:
        """Requests answered with another status than 2xx, or not answered."""
        return sum(self.statuses.values()) + sum(self.unanswered.values())

    def merge(self, other: Load) -> None:
        self.latencies += other.latencies
        self.statuses.update(other.statuses)
        self.unanswered.update(other.unanswered)


def drive(
    connect: Callable[[], Client],
    path: str,
    bodies: Sequence[bytes],
    *,
    concurrency: int,
    max_requests: int,
    duration: float = math.inf,
) -> Load:
    """POST ``bodies`` in turn (cycling through them) to ``path`` over ``concurrency`` clients
    from ``connect()``, each sending its next request once it has its answer, until
    ``max_requests`` are sent or ``duration`` seconds have passed (a request under way then is
    still awaited, up to the client's timeout)."""
    claimed = 0
    claiming = threading.Lock()
    start = threading.Barrier(concurrency + 1)
    deadline = math.inf

    def next_request() -> int | None:
        nonlocal claimed
        with claiming:
            if claimed >= max_requests or time.monotonic() >= deadline:
                return None
            claimed += 1
            return claimed - 1

    def stream() -> Load:
        load = Load()
        try:
            client = connect()
        finally:  # a client that cannot connect fails its stream, not the barrier's others
            start.wait()
        try:
            while (n := next_request()) is not None:
                began = time.perf_counter()
                try:
                    status = client.post(path, bodies[n % len(bodies)])
                except (OSError, ProtocolError) as err:
                    load.unanswered[error_kind(err)] += 1
                    continue
                if 200 <= status < 300:
                    load.latencies.append(time.perf_counter() - began)
                else:
                    load.statuses[status] += 1
        finally:
            client.close()
        return load

    with ThreadPoolExecutor(concurrency, thread_name_prefix="load") as pool:
        streams = [pool.submit(stream) for _ in range(concurrency)]
        start.wait()  # every stream is ready: the clock starts with all of them
        began = time.perf_counter()
        deadline = time.monotonic() + duration
        loads = [future.result() for future in streams]
    total = Load(elapsed=time.perf_counter() - began)
    for load in loads:
        total.merge(load)
    return total


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, interpolated linearly between the closest
    ranks, as ``numpy.percentile`` does by default."""
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
