"""A Knative Route on this machine: the HTTP front of an InferenceService's predictor.

KServe's serverless predictor is a Knative Service whose Route splits requests among revisions
by percent (``spec.traffic``) and gives each tagged target its own URL (knative serving
``pkg/reconciler/route``). Here a :class:`Router` is one threaded HTTP proxy on a free
localhost port; the service's URL is one whose :class:`Split` sends each request to a revision
by the targets' percents, and each tag (``latest``, ``prev``) gets a router that sends every
request to the revision its tag names.

The split is deterministic, not random as Istio's is: a smooth weighted round robin (nginx's),
so any 100 consecutive requests go exactly ``percent`` to each target, a share a test can
measure without statistics. Each router counts the requests it sent to each revision.
"""

from __future__ import annotations

import http.client
import threading
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PROXY_TIMEOUT_SECONDS = 60.0
ANSWER_BUFFER_BYTES = 1 << 16  # an answer up to this size leaves in one write
# Hop-by-hop headers (RFC 9110 7.6.1) are the proxy's own, not forwarded.
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"}


class Split:
    """Pick a target by percent: a smooth weighted round robin over ``{name: percent}``."""

    def __init__(self) -> None:
        self._weights: dict[str, int] = {}
        self._current: dict[str, int] = {}
        self._lock = threading.Lock()

    def set(self, weights: dict[str, int]) -> None:
        with self._lock:
            if weights != self._weights:
                self._weights = {name: w for name, w in weights.items() if w > 0}
                self._current = dict.fromkeys(self._weights, 0)

    def pick(self) -> str | None:
        with self._lock:
            if not self._weights:
                return None
            total = sum(self._weights.values())
            for name, weight in self._weights.items():
                self._current[name] += weight
            chosen = max(self._current, key=lambda name: self._current[name])
            self._current[chosen] -= total
            return chosen


class Router:
    """An HTTP proxy on its own port, forwarding each request to the base URL of the revision
    ``pick()`` names (``address(name)`` resolves it); 503 when there is none."""

    def __init__(
        self, pick: Callable[[], str | None], address: Callable[[str], tuple[str, int] | None]
    ):
        self.routed: Counter[str] = Counter()  # requests sent to each revision
        router = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # One write per answer, sent at once: headers and body written apart, Nagle's
            # algorithm held the body until the client's delayed ACK, some 40 ms a request.
            wbufsize = ANSWER_BUFFER_BYTES
            disable_nagle_algorithm = True

            def _forward(self) -> None:
                revision = pick()
                target = address(revision) if revision else None
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if target is None:
                    self._answer(503, b"no revision is serving this route\n", {})
                    return
                router.routed[revision] += 1
                connection = http.client.HTTPConnection(*target, timeout=PROXY_TIMEOUT_SECONDS)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                    connection.request(self.command, self.path, body=body, headers=headers)
                    response = connection.getresponse()
                    payload = response.read()
                    kept = {k: v for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP}
                    self._answer(response.status, payload, kept)
                except (OSError, http.client.HTTPException) as error:
                    self._answer(502, f"revision {revision}: {error}\n".encode(), {})
                finally:
                    connection.close()

            def _answer(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    if key.lower() != "content-length":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

            def log_message(self, format, *args) -> None:  # noqa: A002 - the base's signature
                pass  # the revisions' servers log the requests

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)  # any free port
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
