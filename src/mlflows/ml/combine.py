"""``python -m mlflows.ml.combine``: the combining step of an ensemble's InferenceGraph.

KServe's Ensemble node sends a request to every member and answers with their responses side by
side, keyed by step name (``{"top-1": {"predictions": ...}, "top-2": {...}}``); it does not
combine them. This server does: ``POST /v1/models/<name>:predict`` with that object answers
``{"predictions": [...]}``, each row the mean of the members' class probabilities for that
instance — the V1 response of a single model (:mod:`mlflows.ml.protocol`), so a client cannot
tell an ensemble from one model. ``GET /v1/models/<name>`` is its readiness, as a model
server's.

A body that is not such an object (not JSON, no members, a member without ``predictions``,
members disagreeing on the number of instances or classes) is a 400 naming what is wrong.

It listens on ``--port``, by default the ``PORT`` variable Knative gives a serving container
(8080 without it), so an InferenceService's custom container needs no port of its own.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from mlflows.cli import run_cli
from mlflows.errors import UserError
from mlflows.ml.args import ArgumentParser

DEFAULT_PORT = 8080  # Knative's, when it sets no PORT
MAX_BODY_BYTES = 64 * 1024 * 1024


class BadEnsemble(ValueError):
    """The members' answers cannot be combined; the message says which part and why."""


def member_rows(name: str, response: object) -> list[list[float]]:
    """One member's class probabilities, a row per instance (rows may be ``{"probabilities":
    [...]}``, as a server with named outputs answers)."""
    rows = response.get("predictions") if isinstance(response, dict) else None
    if not isinstance(rows, list) or not rows:
        raise BadEnsemble(f'{name}: expected a V1 response {{"predictions": [[...], ...]}}')
    plain = [row.get("probabilities") if isinstance(row, dict) else row for row in rows]
    for n, row in enumerate(plain):
        if not (
            isinstance(row, list)
            and row
            and all(isinstance(p, (int, float)) and not isinstance(p, bool) for p in row)
        ):
            raise BadEnsemble(f"{name}.predictions[{n}]: expected a list of class probabilities")
    return plain


def average(responses: object) -> dict:
    """The Ensemble node's answer, ``{step: V1 response}``, as one V1 response whose rows are
    the members' mean probabilities."""
    if not isinstance(responses, dict) or not responses:
        raise BadEnsemble('body: expected the members\' responses, {"<member>": {...}, ...}')
    members = {name: member_rows(name, response) for name, response in responses.items()}
    (first, rows), *others = members.items()
    for name, other in others:
        if len(other) != len(rows) or any(
            len(a) != len(b) for a, b in zip(other, rows, strict=True)
        ):
            raise BadEnsemble(
                f"{name}: {len(other)} rows of {len(other[0])} classes, but {first} has "
                f"{len(rows)} of {len(rows[0])}; the members must answer the same instances"
            )
    count = len(members)
    return {
        "predictions": [
            [sum(values) / count for values in zip(*(m[n] for m in members.values()), strict=True)]
            for n in range(len(rows))
        ]
    }


def handler_class(model_name: str) -> type[BaseHTTPRequestHandler]:
    predict_path = f"/v1/models/{model_name}:predict"
    ready_path = f"/v1/models/{model_name}"

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: the router sends every request here
        # The headers and the body are two writes: without this, Nagle's algorithm holds the
        # body until the client's delayed ACK, some 40 ms a request.
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            if self.path == ready_path:
                self._answer(200, {"name": model_name, "ready": True})
            else:
                self._answer(404, {"error": f"Model with name {self.path} does not exist."})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                self._answer(413, {"error": f"body: over {MAX_BODY_BYTES} bytes"})
                self.close_connection = True
                return
            body = self.rfile.read(length)
            if self.path != predict_path:
                self._answer(404, {"error": f"no route {self.path}; POST {predict_path}"})
                return
            try:
                self._answer(200, average(json.loads(body)))
            except ValueError as err:  # BadEnsemble, or not JSON
                message = str(err) if isinstance(err, BadEnsemble) else "body: not valid JSON"
                self._answer(400, {"error": message})

        def _answer(self, status: int, document: dict) -> None:
            payload = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args) -> None:
            """Per-request lines would cost more than the averaging; errors still go out."""

    return Handler


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="python -m mlflows.ml.combine", description=__doc__)
    parser.add_argument("--model-name", required=True, help="the name in the URL paths")
    parser.add_argument(
        "--port",
        type=int,
        help=f"0 picks a free port (default: $PORT, else {DEFAULT_PORT})",
    )
    parser.add_argument("--host", default="0.0.0.0", help="the interface (default: all)")
    return parser


def port_of(args: argparse.Namespace) -> int:
    if args.port is not None:
        port, where = args.port, "--port"
    else:
        text, where = os.environ.get("PORT", str(DEFAULT_PORT)), "PORT"
        try:
            port = int(text)
        except ValueError:
            raise UserError(f"PORT: {text!r} is not a port number; give 0..65535") from None
    if not 0 <= port <= 65535:
        raise UserError(f"{where}: {port} is not a port number; give 0..65535")
    return port


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    port = port_of(args)
    try:
        server = ThreadingHTTPServer((args.host, port), handler_class(args.model_name))
    except OSError as err:
        raise UserError(f"--port: cannot listen on {args.host}:{port} ({err.strerror})") from None
    server.daemon_threads = True
    host, bound = server.server_address[:2]
    print(f"combining as {args.model_name} on http://{host}:{bound}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
