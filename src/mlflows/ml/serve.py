"""``python -m mlflows.ml.serve``: a KServe model server (the kserve SDK) for one model.

``--model-dir`` is a SavedModel or a versions directory (:mod:`mlflows.ml.versions`): the
server serves its newest version and switches to a newer one when it appears (a background
thread looks every ``--poll-seconds``). Until a model is loaded, readiness is 503: an empty
versions directory is served as soon as its first version is promoted.

Endpoints (kserve's): ``GET /v1/models/<name>`` readiness, ``POST /v1/models/<name>:predict``
with the V1 body of :mod:`mlflows.ml.protocol`, and the V2 (open inference protocol)
``/v2/models/<name>/infer`` with one input: FP32 ``[N, 28, 28, 1]`` images in [0, 1], or BYTES
``[N]`` base64-encoded image files. A malformed request is a 400 with a message, never a 500;
so are image arrays outside [0, 1] in either protocol (0-255 pixels: divide them by 255).

The event loop only parses, checks and answers; concurrent requests are answered together by a
batcher thread (:mod:`mlflows.ml.batching`), one model call for up to ``--max-batch-size``
images. A batch waits ``--max-batch-wait-ms`` after its first request for more: by default 0,
taking the requests that queued while the last batch ran, which TF Serving advises for CPUs (a
wait only pays when batches fill before it ends). Each batch runs on one version, and a new
version answers once before it serves. The V1 predict route is answered ahead of kserve's
FastAPI app (:mod:`mlflows.ml.v1_predict_route`); ``/metrics`` adds the batcher's counts.
TensorFlow's ops run single-threaded unless ``--intra-op-threads`` says otherwise (TF Serving's
``--tensorflow_intra_op_parallelism``): for this small model, splitting an op over threads
costs more than it gains, on cores that the server's Python side needs too.
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mlflows.cli import run_cli
from mlflows.errors import UserError
from mlflows.ml import protocol, versions
from mlflows.ml.args import (
    ArgumentParser,
    directories,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
)
from mlflows.ml.batching import Batcher, Counts
from mlflows.ml.predictor import Predictor, is_saved_model
from mlflows.ml.quiet import tensorflow

log = logging.getLogger("mlflows.serve")


def newest_model(model_dir: Path) -> Path | None:
    """What to serve now: ``model_dir`` itself if it is a SavedModel, else its newest version."""
    return model_dir if is_saved_model(model_dir) else versions.newest(model_dir)


def served_model_class():
    """The kserve ``Model`` subclass; built on first use so importing this module stays cheap."""
    from kserve import Model
    from kserve.errors import InvalidInput
    from kserve.protocol.infer_type import InferOutput, InferRequest, InferResponse

    class ServedModel(Model):
        def __init__(self, name: str, model_dir: str | Path, max_batch_size: int, max_wait: float):
            super().__init__(name)
            self.model_dir = Path(model_dir)
            self.serving: tuple[Path, int] | None = None  # (path, saved_model.pb mtime)
            self._predictor: Predictor | None = None
            self._failed: set[tuple[Path, int]] = set()
            self.load_error: str | None = None  # why the last model tried could not be served
            self._loading = threading.Lock()
            self.batcher = Batcher(lambda: self._predictor, max_batch_size, max_wait)

        def start(self):
            """kserve's default marks the model ready; here ready means a model is loaded."""

        def load(self) -> bool:
            """Load the newest model unless it is already served; returns readiness."""
            if not self._loading.acquire(blocking=False):
                return self.ready  # the watcher is loading it right now
            try:
                path = newest_model(self.model_dir)
                if path is None:
                    return self.ready  # nothing to serve yet
                try:
                    identity = (path, (path / "saved_model.pb").stat().st_mtime_ns)
                except OSError:
                    return self.ready  # it is being replaced: the next poll will see it
                if identity == self.serving or identity in self._failed:
                    return self.ready
                try:
                    predictor = Predictor(path)
                    predictor.warm_up()  # before it serves: requests keep the old one meanwhile
                except UserError as err:
                    self._failed.add(identity)  # don't retry the same broken files every poll
                    self.load_error = f"not serving {path}: {err}"
                    log.error("%s", self.load_error)
                    return self.ready
                self._predictor, self.serving, self.ready = predictor, identity, True
                log.info("serving %s as model %s", path, self.name)
                return True
            finally:
                self._loading.release()

        def watch(self, poll_seconds: float, stop: threading.Event) -> None:
            self.load()
            while not stop.wait(poll_seconds):
                self.load()

        async def predict(self, payload, headers=None):
            # A coroutine, so kserve awaits it: the event loop serves other requests meanwhile.
            v2 = isinstance(payload, InferRequest)
            try:
                images, where = self._v2_images(payload) if v2 else self._v1_images(payload)
            except ValueError as err:  # BadRequest, or kserve's own reading of a V2 tensor
                raise InvalidInput(str(err)) from None
            try:
                rows = await self.batcher.predict(images, where)
            except protocol.BadRequest as err:  # a file that will not decode
                raise InvalidInput(str(err)) from None
            return self._v2_response(payload, rows) if v2 else protocol.predictions(rows)

        def _v1_images(self, body) -> tuple[list[bytes] | np.ndarray, str]:
            return protocol.parse_instances(body), "instances[{}].b64"

        def _v2_images(self, request: InferRequest) -> tuple[list[bytes] | np.ndarray, str]:
            if len(request.inputs) != 1:
                raise protocol.BadRequest("inputs: expected exactly one input tensor")
            tensor = request.inputs[0]
            if tensor.datatype == "BYTES":
                files = tensor.as_numpy().ravel()
                protocol.check_count(len(files), "inputs[0]")
                images = [
                    protocol.decode_b64(item, f"inputs[0].data[{n}]")
                    for n, item in enumerate(files)
                ]
                return images, "inputs[0].data[{}]"
            if tensor.datatype == "FP32":
                array = tensor.as_numpy()  # checked as it is: no round trip through lists
                protocol.check_count(len(array) if array.ndim else 0, "inputs[0]")
                return protocol.raw_images(array, "inputs[0]"), "inputs[0]"
            raise protocol.BadRequest(
                f"inputs[0].datatype: {tensor.datatype}; send FP32 images or BYTES files"
            )

        def _v2_response(self, request: InferRequest, rows: np.ndarray) -> InferResponse:
            output = InferOutput("probabilities", list(rows.shape), "FP32", rows.tolist())
            # The protocol makes the request id optional and the response id required.
            return InferResponse(request.id or str(uuid.uuid4()), self.name, [output])

    return ServedModel


class ClientErrorsInOneLine(logging.Filter):
    """kserve logs every 4xx with a traceback at ERROR; the client's mistake is one INFO line."""

    def __init__(self, client_errors: tuple[type[Exception], ...]):
        super().__init__()
        self.client_errors = client_errors

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, self.client_errors):
            record.msg, record.args, record.exc_info = "%s: %s", (type(error).__name__, error), None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def quiet_request_logs() -> None:
    from kserve.errors import InvalidInput, ModelNotFound, ModelNotReady

    # Per-request access and timing lines would cost more than a prediction; /metrics has both.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    logging.getLogger("kserve.trace").setLevel(logging.WARNING)
    logging.getLogger("kserve").addFilter(
        ClientErrorsInOneLine((InvalidInput, ModelNotFound, ModelNotReady))
    )


def log_beside_kserve() -> None:
    """This server's lines (a version served or refused, a client's mistake that the V1 route
    answered) in kserve's log, in its format; without it they were dropped below WARNING."""
    ours = logging.getLogger("mlflows.serve")
    ours.setLevel(logging.INFO)
    ours.handlers = list(logging.getLogger("kserve").handlers)
    ours.propagate = False


# Prometheus counter (``<name>_total`` on ``/metrics``), the count it shows, what it counts.
BATCH_METRICS = [
    ("mlflows_batches", "batches", "model calls made by the batcher"),
    ("mlflows_batched_requests", "requests", "requests answered by those calls"),
    ("mlflows_batched_images", "images", "images answered by those calls"),
]


def register_metrics(counts: Counts) -> None:
    """The batcher's counts on kserve's ``/metrics``, beside its own metrics."""
    from prometheus_client import REGISTRY
    from prometheus_client.core import CounterMetricFamily

    class BatchMetrics:
        def collect(self):
            for metric, count, what in BATCH_METRICS:
                yield CounterMetricFamily(metric, what, getattr(counts, count))

    REGISTRY.register(BatchMetrics())


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before the slow imports so a busy port fails at once."""
    try:
        sock = socket.create_server((host, port))
    except OSError as err:
        raise UserError(f"--port: cannot listen on {host}:{port} ({err.strerror})") from None
    return sock


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="python -m mlflows.ml.serve", description=__doc__)
    parser.add_argument("--model-dir", required=True, help="a SavedModel or a versions directory")
    parser.add_argument("--model-name", default="model", help="the name in the URL paths")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1", help="0.0.0.0 to listen on all interfaces")
    parser.add_argument(
        "--poll-seconds",
        type=positive_float,
        default=1.0,
        help="how often to look for a newer version (default %(default)s)",
    )
    parser.add_argument(
        "--intra-op-threads",
        type=non_negative_int,
        default=1,
        help="threads one TensorFlow op may use; 0 lets TensorFlow choose (default %(default)s)",
    )
    parser.add_argument(
        "--max-batch-size",
        type=positive_int,
        default=32,
        help="most images answered by one model call (default %(default)s)",
    )
    parser.add_argument(
        "--max-batch-wait-ms",
        type=non_negative_float,
        default=0.0,
        help="how long a batch waits for more requests after its first arrived; 0 takes the ones "
        "already waiting (default %(default)s)",
    )
    return parser


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    if not 0 <= args.port <= 65535:
        raise UserError(f"--port: {args.port} is not a port number; give 0..65535")
    directories(args, "--model-dir")
    return args


def serve(args: argparse.Namespace) -> None:
    sock = bind(args.host, args.port)
    # Seconds to start: paid before a version appears, and before the server's threads write to
    # stderr (TensorFlow starts with it held back).
    tf = tensorflow()
    tf.config.threading.set_intra_op_parallelism_threads(args.intra_op_threads)
    from kserve import ModelServer
    from kserve.model_server import app as kserve_app
    from kserve.protocol.rest.server import RESTServer

    from mlflows.ml.v1_predict_route import V1PredictRoute

    model = served_model_class()(
        args.model_name, args.model_dir, args.max_batch_size, args.max_batch_wait_ms / 1000
    )
    if is_saved_model(Path(args.model_dir)) and not model.load():
        # A pinned model (one revision's) that cannot load never will: exit as a predictor
        # container that crashes, so the rollout sees the failed load now, not after a timeout.
        raise UserError(f"--model-dir: {model.load_error}")
    register_metrics(model.batcher.counts)
    server = ModelServer(enable_grpc=False, enable_latency_logging=False)
    server.register_model(model)
    quiet_request_logs()
    log_beside_kserve()
    stop = threading.Event()
    threading.Thread(
        target=model.watch, args=(args.poll_seconds, stop), name="model-watcher", daemon=True
    ).start()
    host, port = sock.getsockname()[:2]
    print(f"serving {args.model_dir} as {args.model_name} on http://{host}:{port}", flush=True)
    # kserve's RESTServer, on our socket: ModelServer.start would insist on a ready model
    # (ours may wait for its first version) and on listening on every interface. It sets up
    # kserve's app, which answers everything but the predict route in front of it.
    app = V1PredictRoute(kserve_app, model)
    rest = RESTServer(app, server.dataplane, server.model_repository_extension, port)
    try:
        rest.run(sockets=[sock])
    finally:
        stop.set()


def main(argv: Sequence[str] | None = None) -> int:
    serve(parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
