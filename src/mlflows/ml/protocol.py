"""KServe's V1 prediction protocol for this project's models, as both sides speak it.

Request: ``{"instances": [...]}`` where every instance is either an encoded image,
``{"b64": "<base64 PNG/JPEG/GIF/BMP>"}`` (TF Serving's REST form for string inputs), or a
28x28x1 (or 28x28) array of floats in [0, 1], the model's input range: raw 0-255 pixels are a
400 saying to divide them by 255 (the model would answer them confidently and wrongly).
Response: ``{"predictions": [[p0, ..., p9], ...]}``, one row of class probabilities per
instance, as TF Serving answers for a signature with one output. The same request works against
KServe's tensorflow runtime on a cluster and against :mod:`mlflows.ml.serve` here.
"""

from __future__ import annotations

import base64
import binascii
import json

import numpy as np

from mlflows.ml.datasets import IMAGE_SHAPE

# A bound on one request's work, so a huge body is a clear 400 rather than a stalled server.
MAX_INSTANCES = 1024
RAW_FORM = "a 28x28x1 (or 28x28) array of floats in [0, 1]"
ENCODED_FORM = '{"b64": "<base64 image file>"}'


class BadRequest(ValueError):
    """The request is malformed; the message says which part and what was expected."""


def encode_request(images: list[bytes] | np.ndarray) -> dict:
    """The request body for a batch of encoded image files, or of images as an N x 28 x 28 x 1
    array of floats in [0, 1]."""
    if isinstance(images, np.ndarray):
        return {"instances": images.tolist()}
    return {"instances": [{"b64": base64.b64encode(image).decode("ascii")} for image in images]}


def parse_instances(body) -> list[bytes] | np.ndarray:
    """The request's images: encoded file bytes, or an N x 28 x 28 x 1 float32 array.

    ``body`` is the decoded JSON, or the raw bytes when the client did not label it JSON.
    """
    if isinstance(body, (bytes, str)):
        try:
            body = json.loads(body)
        except ValueError:  # includes bad UTF-8
            raise BadRequest("body: not valid JSON") from None
    if not isinstance(body, dict) or "instances" not in body:
        raise BadRequest('body: expected a JSON object {"instances": [...]}')
    instances = body["instances"]
    if not isinstance(instances, list):
        raise BadRequest("instances: expected a non-empty list of images")
    check_count(len(instances), "instances")
    encoded = [isinstance(instance, dict) for instance in instances]
    if all(encoded):
        return [_decode_instance(n, instance) for n, instance in enumerate(instances)]
    if any(encoded):
        raise BadRequest(f"instances: give all as {ENCODED_FORM} or all as {RAW_FORM}, not a mix")
    return raw_images(instances)


def check_count(count: int, where: str) -> None:
    """A request carries 1 to ``MAX_INSTANCES`` images."""
    if count == 0:
        raise BadRequest(f"{where}: expected a non-empty list of images")
    if count > MAX_INSTANCES:
        raise BadRequest(f"{where}: {count} given, at most {MAX_INSTANCES} per request")


def _decode_instance(n: int, instance: dict) -> bytes:
    if set(instance) != {"b64"} or not isinstance(instance["b64"], str):
        raise BadRequest(f"instances[{n}]: expected {ENCODED_FORM}")
    return decode_b64(instance["b64"], f"instances[{n}].b64")


def decode_b64(text, where: str) -> bytes:
    """The bytes of one base64-encoded image file (``str`` or ``bytes``)."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise BadRequest(f"{where}: not valid base64") from None


def raw_images(instances, where: str = "instances") -> np.ndarray:
    """``instances`` (nested lists or an array) as N x 28 x 28 x 1 float32 images, checked."""
    try:
        images = np.asarray(instances, dtype=np.float32)
    except (ValueError, TypeError):
        raise BadRequest(f"{where}: each must be {RAW_FORM}; got ragged or non-numbers") from None
    if images.shape[1:] == IMAGE_SHAPE[:2]:
        images = images[..., np.newaxis]
    if images.shape[1:] != IMAGE_SHAPE:
        raise BadRequest(f"{where}: each must be {RAW_FORM}; got shape {images.shape[1:]}")
    # Out of range is refused, not scaled: a 0-255 image in a [0, 1] model gets a confident wrong
    # answer, and guessing the scale would hide the mistake. NaN fails both comparisons.
    lowest, highest = images.min(), images.max()
    if not (lowest >= 0 and highest <= 1):
        raise BadRequest(
            f"{where}: values must be in [0, 1], the model's input range, got {lowest:g} to "
            f"{highest:g}; divide 0-255 pixels by 255 (or send the image file, {ENCODED_FORM})"
        )
    return images


def predictions(probabilities: np.ndarray) -> dict:
    return {"predictions": probabilities.tolist()}


def predicted_classes(response: dict) -> list[int]:
    """The most probable class per instance from a V1 response (rows, or rows keyed by output)."""
    rows = response.get("predictions") if isinstance(response, dict) else None
    if not isinstance(rows, list):
        raise BadRequest('response: expected {"predictions": [...]}')
    return [int(np.argmax(row["probabilities"] if isinstance(row, dict) else row)) for row in rows]
