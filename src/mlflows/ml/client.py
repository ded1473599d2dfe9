"""``python -m mlflows.ml.client``: send one image to a model server, print the predicted class.

The image is a file (PNG, JPEG, ...) or an example of a stored dataset's test split, sent as
PNG. Works against :mod:`mlflows.ml.serve` and KServe's tensorflow runtime alike (KServe V1,
see :mod:`mlflows.ml.protocol`). Only the standard library talks HTTP, so the client needs
nothing beyond this package.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mlflows.cli import run_cli
from mlflows.errors import Unavailable, UserError
from mlflows.ml import protocol
from mlflows.ml.args import ArgumentParser


def encode_png(image: np.ndarray) -> bytes:
    """A uint8 H x W x 1 (or H x W) image as PNG file bytes."""
    from PIL import Image

    pixels = np.asarray(image, dtype=np.uint8)
    if pixels.ndim == 3:
        pixels = pixels[..., 0]  # grayscale: PIL wants H x W
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def predict_url(base_url: str, model_name: str) -> str:
    return f"{base_url.rstrip('/')}/v1/models/{model_name}:predict"


def predict_classes(
    base_url: str, model_name: str, images: list[bytes] | np.ndarray, timeout: float = 30.0
) -> list[int]:
    """The predicted class of each image (encoded files, or an array as
    :func:`~mlflows.ml.protocol.encode_request` takes), from the server at ``base_url``."""
    body = json.dumps(protocol.encode_request(images)).encode()
    request = urllib.request.Request(
        predict_url(base_url, model_name),
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = response.read()
    except urllib.error.HTTPError as err:
        detail = _one_line(err.read().decode(errors="replace"))
        # 5xx: the server's trouble (503: no model loaded yet), which may pass; 4xx: the request's.
        error = Unavailable if err.code >= 500 else UserError
        raise error(f"--url: the server answered {err.code}: {detail}") from None
    except http.client.HTTPException as err:  # something there, not speaking HTTP
        raise UserError(f"--url: cannot reach {base_url} ({_one_line(err)})") from None
    except OSError as err:  # refused, unresolvable, timed out: may pass (URLError is one)
        reason = getattr(err, "reason", err)
        raise Unavailable(f"--url: cannot reach {base_url} ({_one_line(reason)})") from None
    try:
        return protocol.predicted_classes(json.loads(answer))
    except (protocol.BadRequest, ValueError, TypeError, KeyError):  # ValueError: not JSON
        text = _one_line(answer.decode(errors="replace"))
        raise UserError(f"--url: unexpected answer from {base_url}: {text}") from None


def _one_line(text, limit: int = 200) -> str:
    """What a server said, as one short line (an error page or a greeting can span many)."""
    return " ".join(str(text).split())[:limit]


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="python -m mlflows.ml.client", description=__doc__)
    parser.add_argument("--url", required=True, help="the server's base URL, e.g. http://host:8080")
    parser.add_argument("--model-name", required=True, help="the served model's name in its URL")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--image", help="an image file to send")
    source.add_argument("--dataset", help="send an example of this dataset's test split")
    parser.add_argument("--data-dir", help="where ingest stored --dataset")
    parser.add_argument("--index", type=int, default=0, help="which test example (from 0)")
    return parser


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    if args.dataset and not args.data_dir:
        raise UserError("--data-dir: needed with --dataset; give where ingest stored it")
    return args


def check_url(url: str) -> None:
    """Checked when used, not when parsed: a rendered workflow's --url is a step output."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UserError(f"--url: {url!r} is not an http(s) URL; give e.g. http://host:8080")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    check_url(args.url)
    if args.image:
        try:
            image = Path(args.image).read_bytes()
        except OSError as err:
            raise UserError(f"--image: cannot read {args.image} ({err.strerror})") from None
        [predicted] = predict_classes(args.url, args.model_name, [image])
        print(f"predicted class {predicted}")
        return 0

    from mlflows.ml import datasets

    datasets.check_name(args.dataset)
    pixels, label = datasets.example(args.dataset, "test", args.data_dir, args.index)
    [predicted] = predict_classes(args.url, args.model_name, [encode_png(pixels)])
    name = datasets.label_name
    print(
        f"predicted class {predicted} ({name(args.dataset, predicted)}); "
        f"label {label} ({name(args.dataset, label)})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
