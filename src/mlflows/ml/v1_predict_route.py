"""KServe V1's predict route, answered ahead of kserve's FastAPI application.

kserve's FastAPI app spends about 150 us of the server's one Python thread on each request
(routing, middleware, its dataplane; ``benchmarks/serving.py``), more than a batched model needs
per image, so it capped the server at a fraction of the model's rate. This ASGI app answers the
hot request itself: ``POST /v1/models/<name>:predict`` of the served model, once it is ready,
with a JSON object holding ``instances``. It answers as kserve does: the model's
``{"predictions": ...}`` with 200, ``{"error": ...}`` with 400 for the client's mistake and 500 for
the server's. Everything else goes to kserve's app unchanged: readiness, V2, ``/metrics``, another
model's name (404) or this one before it is ready (503), any other body (kserve's 400s), and
CloudEvents (``ce-*`` headers, ``application/cloudevents+json``, or a structured event body),
which kserve unwraps and answers in kind.
"""

from __future__ import annotations

import logging

import orjson
from kserve.errors import InvalidInput

log = logging.getLogger("mlflows.serve")

CLOUDEVENTS_JSON = b"application/cloudevents+json"
JSON_HEADERS = [(b"content-type", b"application/json")]


class V1PredictRoute:
    """``app`` with ``model``'s V1 predict route answered by ``model.predict`` directly (a kserve
    ``Model``: ``InvalidInput`` is the client's mistake)."""

    def __init__(self, app, model):
        self.app, self.model = app, model
        self.path = f"/v1/models/{model.name}:predict"

    async def __call__(self, scope, receive, send):
        if not self._answers(scope):
            return await self.app(scope, receive, send)
        body = await _body(receive)
        if body is None:
            return None  # the client went away
        try:
            request = orjson.loads(body)
        except orjson.JSONDecodeError:
            request = None
        if not (isinstance(request, dict) and "instances" in request):
            return await self.app(scope, _replay(body, receive), send)
        if "specversion" in request:  # a structured CloudEvent around the instances
            return await self.app(scope, _replay(body, receive), send)
        status, answer = await self._predict(request)
        payload = orjson.dumps(answer)
        headers = [(b"content-length", str(len(payload)).encode()), *JSON_HEADERS]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})
        return None

    def _answers(self, scope) -> bool:
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] != "POST":
            return False
        if not self.model.ready:
            return False
        for name, value in scope["headers"]:
            if name.startswith(b"ce-") or (name == b"content-type" and value == CLOUDEVENTS_JSON):
                return False
        return True

    async def _predict(self, request: dict) -> tuple[int, dict]:
        try:
            return 200, await self.model.predict(request)
        except InvalidInput as err:  # the request's mistake
            log.info("InvalidInput: %s", err)
            return 400, {"error": str(err)}
        except Exception as err:  # as kserve's generic handler answers it
            log.error("Exception:", exc_info=err)
            return 500, {"error": f"{type(err).__name__} : {err}"}


async def _body(receive) -> bytes | None:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes, receive):
    """A ``receive`` that gives ``body`` again, then what the client sends next (a disconnect)."""
    sent = False

    async def replay():
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
