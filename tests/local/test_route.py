"""The local Knative Route's proxy (mlflows.local.cluster.route) over real sockets."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from mlflows.local.cluster.route import Router

ANSWER = b'{"predictions": [[0.25, 0.75]]}'


class Revision(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", str(len(ANSWER)))
        self.end_headers()
        self.wfile.write(ANSWER)

    def log_message(self, format, *args) -> None:  # noqa: A002 - the base's signature
        pass


def test_the_router_answers_in_one_write_so_keep_alive_clients_wait_for_no_delayed_ack():
    revision = ThreadingHTTPServer(("127.0.0.1", 0), Revision)
    threading.Thread(target=revision.serve_forever, daemon=True).start()
    router = Router(lambda: "r1", lambda name: ("127.0.0.1", revision.server_address[1]))
    host, port = router.url.removeprefix("http://").split(":")
    request = b"POST /v1/models/m:predict HTTP/1.1\r\nHost: m\r\nContent-Length: 2\r\n\r\n{}"
    try:
        with socket.create_connection((host, int(port)), timeout=10) as client:
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for _ in range(3):  # keep-alive: the second answer is where Nagle held the body
                client.sendall(request)
                first = client.recv(65536)
                assert first.startswith(b"HTTP/1.1 200")
                assert first.endswith(ANSWER), first
        assert router.routed == {"r1": 3}
    finally:
        router.stop()
        revision.shutdown()
        revision.server_close()
