"""KServe's InferenceGraph router, on this machine: ``python -m mlflows.local.cluster.graph_router
--graph-json JSON --port N``.

It follows KServe v0.20's ``cmd/router/main.go``: the graph's spec comes as JSON with every
step's ``serviceUrl`` already resolved (the controller's work,
:mod:`mlflows.local.cluster.inference_graph`); every request, whatever its path, is routed
through the node ``root``; ``GET /readyz`` is the readiness probe. A step calls its
``serviceUrl`` (POST, the body as it came, ``Content-Type: application/json``) or routes through
its ``nodeName``.

- ``Sequence``: the steps in order, each given the original request, or with ``data:
  $response`` the previous step's answer; a ``dependency: Hard`` step that does not answer 2xx
  ends the sequence with its answer. The last answer is the node's.
- ``Ensemble``: every step at once with the same request; the answer is one JSON object of the
  steps' answers keyed by step name (its index when it has none), unless a ``Hard`` step fails:
  then the first such step, in order, answers for the node.

An answer that is not JSON where the router must parse it, or a service that cannot be
reached, is a 500 ``{"error": "Failed to process request", "cause": ...}``, KServe's routing
error. ``Splitter`` and ``Switch`` nodes and step ``condition``s are refused before the router
starts (:func:`mlflows.local.cluster.inference_graph.check_inference_graph`).
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import threading
import urllib.parse
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = "root"  # KServe's GraphRootNodeName
READINESS_PATH = "/readyz"  # KServe's RouterReadinessEndpoint
SERVICE_TIMEOUT_SECONDS = 60.0


class RoutingError(Exception):
    """A step could not be run: the router answers 500 with KServe's routing error."""


class Connections(threading.local):
    """One keep-alive connection per service and thread, as Go's default client keeps them."""

    def __init__(self):
        self.open: dict[str, http.client.HTTPConnection] = {}

    def post(self, url: str, body: bytes) -> tuple[int, bytes]:
        parts = urllib.parse.urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            try:
                return self._post(parts.netloc, path, body)
            except (ConnectionError, http.client.BadStatusLine):
                # a kept connection the server closed meanwhile: once more, on a new one
                return self._post(parts.netloc, path, body)
        except (OSError, http.client.HTTPException) as err:
            raise RoutingError(f"calling {url}: {err or type(err).__name__}") from None

    def _post(self, netloc: str, path: str, body: bytes) -> tuple[int, bytes]:
        connection = self.open.get(netloc)
        if connection is None:
            connection = http.client.HTTPConnection(netloc, timeout=SERVICE_TIMEOUT_SECONDS)
            self.open[netloc] = connection
        try:
            connection.request("POST", path, body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            return response.status, response.read()
        except BaseException:
            connection.close()
            del self.open[netloc]
            raise


class Router:
    """Routes requests through ``graph`` (an InferenceGraph's spec, service URLs resolved)."""

    def __init__(self, graph: dict):
        self.nodes = graph["nodes"]
        self.connections = Connections()
        steps = sum(len(node.get("steps") or []) for node in self.nodes.values())
        self.pool = ThreadPoolExecutor(max_workers=max(4, 4 * steps), thread_name_prefix="step")

    def route(self, node_name: str, body: bytes) -> tuple[int, bytes]:
        node = self.nodes[node_name]
        steps = node.get("steps") or []
        if node["routerType"] == "Ensemble":
            return self._ensemble(steps, body)
        return self._sequence(steps, body)

    def _step(self, step: dict, body: bytes) -> tuple[int, bytes]:
        if step.get("nodeName"):
            return self.route(step["nodeName"], body)
        return self.connections.post(step["serviceUrl"], body)

    def _sequence(self, steps: list[dict], body: bytes) -> tuple[int, bytes]:
        status, answer = 200, b""
        for index, step in enumerate(steps):
            request = answer if step.get("data") == "$response" and index > 0 else body
            status, answer = self._step(step, request)
            if step.get("dependency") == "Hard" and not 200 <= status <= 299:
                return status, answer
        return status, answer

    def _ensemble(self, steps: list[dict], body: bytes) -> tuple[int, bytes]:
        futures = [self.pool.submit(self._step, step, body) for step in steps]
        combined = {}
        for index, (step, future) in enumerate(zip(steps, futures, strict=True)):
            status, answer = future.result()
            try:
                document = json.loads(answer)
            except ValueError:
                raise RoutingError(f"step {step.get('name') or index}: not JSON") from None
            if step.get("dependency") == "Hard" and not 200 <= status <= 299:
                return status, json.dumps(document).encode()
            combined[step.get("name") or str(index)] = document
        return 200, json.dumps(combined).encode()


def handler_class(router: Router) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are two writes (see mlflows.ml.combine)

        def do_GET(self) -> None:
            if self.path == READINESS_PATH:
                self._answer(200, b"")
            else:
                self._route(b"")

        def do_POST(self) -> None:
            self._route(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

        def _route(self, body: bytes) -> None:
            try:
                status, answer = router.route(ROOT, body)
            except RoutingError as err:
                error = {"error": "Failed to process request", "cause": str(err)}
                status, answer = 500, json.dumps(error).encode()
            self._answer(status, answer)

        def _answer(self, status: int, payload: bytes) -> None:
            self.send_response(status)
            if payload.lstrip()[:1] in (b"{", b"["):  # KServe checks json.Valid; this is cheaper
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args) -> None:
            """No line per request: the steps' servers log their own."""

    return Handler


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlflows.local.cluster.graph_router")
    parser.add_argument("--graph-json", required=True, help="the graph's spec, URLs resolved")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    router = Router(json.loads(args.graph_json))
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler_class(router))
    server.daemon_threads = True
    print(f"routing on http://127.0.0.1:{args.port}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
