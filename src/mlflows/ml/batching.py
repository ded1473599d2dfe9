"""Dynamic batching: the images of concurrent requests answered by one model call.

A request handler awaits :meth:`Batcher.predict` with its request's images, already parsed and
checked (a malformed request, an array outside [0, 1] included, is a 400 before it gets here).
One worker thread takes the waiting requests, up to ``max_batch_size`` images in all, waiting
at most ``max_wait`` seconds after the first of them arrived for more; runs the model once on
all their images; and hands each request its own rows. These are TF Serving's
``max_batch_size`` and ``batch_timeout_micros`` (KServe's batcher: ``maxBatchSize``,
``maxLatency``). A request with more images than ``max_batch_size`` is a batch of its own.

Image files are decoded by TensorFlow in the batch's call (the encoded signature, when the batch
holds nothing else; a call of its own before the model's when arrays come with them): a decoding
call per request would cost ten times the decoding itself, in TensorFlow's dispatch. If a file
will not decode, each request's files are decoded on their own and the model runs on the
others, so only the request with the bad file fails (a 400 naming it).

Each batch runs on the model current when it starts, read once, and batches run one after
another: a batch never mixes two versions, and once a newer version has answered, an older one
never answers again.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from mlflows.ml import predictor as predictors
from mlflows.ml.predictor import Predictor
from mlflows.ml.protocol import BadRequest


@dataclass
class Request:
    """One request's images, waiting for their batch."""

    images: list[bytes] | np.ndarray  # image files, or N x 28 x 28 x 1 floats in [0, 1]
    where: str  # names image n in an error, as ``where.format(n)``
    future: asyncio.Future
    arrived: float = field(default_factory=time.monotonic)

    @property
    def size(self) -> int:
        return len(self.images)


@dataclass
class Counts:
    """What the worker has done; read by the server's metrics."""

    batches: int = 0
    requests: int = 0
    images: int = 0


class Batcher:
    """Answers :meth:`predict` calls in batches, on the model ``model()`` returns at the time."""

    def __init__(self, model: Callable[[], Predictor | None], max_batch_size: int, max_wait: float):
        self.model, self.max_batch_size, self.max_wait = model, max_batch_size, max_wait
        self.counts = Counts()
        self._queue: queue.SimpleQueue[Request] = queue.SimpleQueue()
        self._held: Request | None = None  # the request that would have overfilled a batch
        threading.Thread(target=self._work, name="batcher", daemon=True).start()

    async def predict(self, images: list[bytes] | np.ndarray, where: str) -> np.ndarray:
        """Class probabilities, one row per image; ``BadRequest`` naming the file (image n is
        ``where.format(n)``) if one will not decode."""
        future = asyncio.get_running_loop().create_future()
        self._queue.put(Request(images, where, future))
        return await future

    def _work(self) -> None:
        while True:
            batch = self._next_batch()
            try:
                outcomes = self._answer(batch)
            except Exception as err:  # the model failed: every request of the batch learns it
                outcomes = [err] * len(batch)
            loop = batch[0].future.get_loop()  # the server's one event loop
            # One wake-up of the event loop per batch, not per request.
            loop.call_soon_threadsafe(_settle, [request.future for request in batch], outcomes)

    def _next_batch(self) -> list[Request]:
        first = self._held or self._queue.get()
        self._held = None
        batch, size = [first], first.size
        deadline = first.arrived + self.max_wait
        while size < self.max_batch_size:
            left = deadline - time.monotonic()
            try:
                request = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if size + request.size > self.max_batch_size:
                self._held = request
                break
            batch.append(request)
            size += request.size
        return batch

    def _answer(self, batch: list[Request]) -> list[np.ndarray | Exception]:
        """Each request's rows, or the error that is its alone; one model call for all."""
        model = self.model()  # once: the whole batch runs on one version
        if model is None:
            raise RuntimeError("no model is loaded")
        rows, shares = _rows(model, batch)
        outcomes, start = [], 0
        for share in shares:
            if isinstance(share, Exception):
                outcomes.append(share)
            else:
                outcomes.append(rows[start : start + share])
                start += share
        self.counts.batches += 1
        self.counts.requests += sum(not isinstance(share, Exception) for share in shares)
        self.counts.images += start
        return outcomes


def _rows(model: Predictor, batch: list[Request]) -> tuple[np.ndarray, list[int | Exception]]:
    """The rows of one model call, and how many of them are each request's (or its error)."""
    if all(isinstance(request.images, list) for request in batch):
        try:
            rows = model.from_encoded([image for request in batch for image in request.images])
            return rows, [request.size for request in batch]
        except ValueError:  # a file will not decode: find whose, each request's alone
            images = _decoded(batch, together=False)
    else:
        images = _decoded(batch, together=True)
    good = [pixels for pixels in images if not isinstance(pixels, Exception)]
    rows = model.from_arrays(np.concatenate(good)) if good else np.empty((0,))
    return rows, [pixels if isinstance(pixels, Exception) else len(pixels) for pixels in images]


def _decoded(batch: list[Request], together: bool) -> list[np.ndarray | Exception]:
    """Each request's pixels: its arrays, its files decoded, or its error. With ``together``,
    all the batch's files are decoded in one call unless one of them will not decode."""
    files = [request for request in batch if isinstance(request.images, list)]
    decoded = _decode_together(files) if together and files else None
    if decoded is None:
        decoded = {id(request): _decode_alone(request) for request in files}
    return [decoded.get(id(request), request.images) for request in batch]


def _decode_together(files: list[Request]) -> dict[int, np.ndarray] | None:
    try:
        pixels = predictors.decode([image for request in files for image in request.images])
    except ValueError:
        return None
    decoded, start = {}, 0
    for request in files:
        decoded[id(request)] = pixels[start : start + request.size]
        start += request.size
    return decoded


def _decode_alone(request: Request) -> np.ndarray | Exception:
    try:
        return predictors.decode(request.images)
    except ValueError:
        for n, image in enumerate(request.images):
            try:
                predictors.decode([image])
            except ValueError:
                return BadRequest(f"{request.where.format(n)}: {predictors.UNDECODABLE}")
    return RuntimeError("the images decode one by one but not together")


def _settle(futures: list[asyncio.Future], outcomes: list[np.ndarray | Exception]) -> None:
    for future, outcome in zip(futures, outcomes, strict=True):
        if future.done():  # cancelled: the client went away
            continue
        if isinstance(outcome, Exception):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
