"""Loopback servers for tests/test_submit.py: a stand-in Argo Server held to Argo's published API.

Prism (``npm ci --prefix tests/argo_server``) runs as a *validation proxy* for the Argo Server's
OpenAPI (``argo-workflows-v4.1.2.swagger.json``): every request is checked against the spec (the
body against ``WorkflowCreateRequest``, the ``Authorization`` header the spec's security asks
for) and refused by Prism itself (422, 401) when it breaks the contract; valid requests go on to
a scripted upstream, whose answers Prism checks against the spec in turn (a 500 if they break it).
Prism's own mock mode cannot serve this API: it gives up generating the recursive ``Workflow``
("schema too complex"), and its generated error bodies break the spec's ``format: byte``.

The upstream plays the part of the Argo Server's logic (names from generateName, 401/403/409,
workflow status): it records what reached it and answers from a script. Alone (without Prism) it
also plays what can stand in front of a server: a proxy's HTML error page, a redirect.
"""

from __future__ import annotations

import http.server
import json
import socket
import ssl
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mlflows.schema_fetch import ARGO_SERVER_API_FILE

PRISM = Path(__file__).resolve().parent / "node_modules" / ".bin" / "prism"
SPEC_FILE = ARGO_SERVER_API_FILE
# The operations mlflows.submit uses: create a workflow, read one, create a CronWorkflow, look
# for the WorkflowTemplates a workflow calls.
OPERATIONS = {
    "/api/v1/workflows/{namespace}": ("post",),
    "/api/v1/workflows/{namespace}/{name}": ("get",),
    "/api/v1/cron-workflows/{namespace}": ("post",),
    "/api/v1/workflow-templates/{namespace}/{name}": ("get",),
    "/api/v1/cluster-workflow-templates/{name}": ("get",),
}
STARTUP_SECONDS = 60


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]  # names in lowercase
    body: object


@dataclass(frozen=True)
class Raw:
    """An answer body sent as it is, not as JSON."""

    content: bytes
    content_type: str = "text/html"
    headers: tuple[tuple[str, str], ...] = ()


Answer = tuple[int, object]  # status, JSON body (or Raw)


class Recorder:
    """A loopback HTTP(S) server that records each request and answers from a script, or with
    ``default(request)`` when the script is empty."""

    def __init__(self, default: Callable[[Recorded], Answer], tls: tuple[Path, Path] | None = None):
        self.requests: list[Recorded] = []
        self.script: deque[Answer] = deque()
        self.default = default
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def handle_one(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                request = Recorded(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    json.loads(raw) if raw else None,
                )
                recorder.requests.append(request)
                status, body = recorder.script.popleft() if recorder.script else default(request)
                raw = (
                    body
                    if isinstance(body, Raw)
                    else Raw(json.dumps(body).encode(), "application/json")
                )
                self.send_response(status)
                self.send_header("Content-Type", raw.content_type)
                self.send_header("Content-Length", str(len(raw.content)))
                for name, value in raw.headers:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(raw.content)

            do_GET = do_POST = handle_one

            def log_message(self, *args: object) -> None:
                pass

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_port}"
        # A short poll interval: shutdown() waits for the loop to notice.
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def answer(self, status: int, body: object) -> None:
        """Answer the next unanswered request with ``status`` and ``body``."""
        self.script.append((status, body))

    def reset(self) -> None:
        self.requests.clear()
        self.script.clear()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _QuietServer(http.server.ThreadingHTTPServer):
    """Keeps a client's aborted TLS handshake or dropped connection out of the captured stderr."""

    def handle_error(self, request: object, client_address: object) -> None:
        pass


def published_operations(swagger: dict) -> dict:
    """The spec cut down to OPERATIONS and the definitions they reach, each unchanged: Prism
    starts on it in seconds, against half a minute for the whole API."""
    paths = {
        path: {m: swagger["paths"][path][m] for m in methods}
        for path, methods in OPERATIONS.items()
    }
    definitions = swagger["definitions"]
    reached: set[str] = set()

    def visit(node: object) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            name = ref.removeprefix("#/definitions/")
            if ref.startswith("#/definitions/") and name not in reached:
                reached.add(name)
                visit(definitions[name])
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(paths)
    return {**swagger, "paths": paths, "definitions": {n: definitions[n] for n in sorted(reached)}}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def prism_proxy(schema_dir: Path, upstream: str, work_dir: Path) -> Iterator[str]:
    """Prism validating against Argo's published API on a loopback port, forwarding to
    ``upstream``; yields its URL and stops it on exit."""
    spec = work_dir / "argo-server-api.json"
    spec.write_text(
        json.dumps(published_operations(json.loads((schema_dir / SPEC_FILE).read_text())))
    )
    port = free_port()
    log = work_dir / "prism.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [
                str(PRISM),
                "proxy",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--errors",
                str(spec),
                upstream,
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_listening(process, port, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_listening(process: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"Prism exited with {process.returncode}:\n{log.read_text()[-2000:]}"
            )
        if "Prism is listening" in log.read_text():
            return
        time.sleep(0.1)
    raise RuntimeError(
        f"Prism did not start within {STARTUP_SECONDS} s:\n{log.read_text()[-2000:]}"
    )
