"""``python -m mlflows.ml.load_test``: drive a served model with requests for a while, and say
how it held up.

``--concurrency`` keep-alive connections each send one test image after another (PNG files of
the dataset's test split, in turn, one per request, KServe V1 as :mod:`mlflows.ml.client` sends
them) to ``<url>/v1/models/<name>:predict``, until ``--max-requests`` are sent or
``--duration`` has passed (the requests under way then are awaited, each at most ``--timeout``),
as ``hey -z DURATION -c CONCURRENCY`` does. Measured: requests, requests per second over the
wall time, p50 and p99 latency of the requests answered 2xx, and errors: requests answered
another status, or not answered at all (refused, reset, timed out, not HTTP). Errors are
counted, not raised: a load test of a failing server succeeds and says so in its numbers.

Writes each measure to a file of its name in ``--outputs-dir``
(:data:`mlflows.load_testing.MEASURES`; the latencies are empty when no request succeeded) and
the JSON report to ``--report-file``.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.parse
from collections.abc import Sequence
from pathlib import Path

from mlflows.cli import run_cli
from mlflows.duration import parse_duration
from mlflows.errors import UserError
from mlflows.load_testing import MAX_CONCURRENCY, MEASURES, summary
from mlflows.ml.args import ArgumentParser, directories, output_files, positive_int
from mlflows.ml.files import json_text, write_output
from mlflows.ml.http_load import KeepAliveClient, Load, drive, percentile

PAYLOADS = 100  # distinct test images, sent in turn


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="python -m mlflows.ml.load_test", description=__doc__)
    parser.add_argument("--url", required=True, help="the server's base URL, e.g. http://host:8080")
    parser.add_argument("--model-name", required=True, help="the served model's name in its URL")
    parser.add_argument("--dataset", required=True, help="send images of this dataset's test split")
    parser.add_argument("--data-dir", required=True, help="where ingest stored --dataset")
    parser.add_argument("--duration", default="30s", help="a Go duration (default %(default)s)")
    parser.add_argument(
        "--concurrency",
        type=positive_int,
        default=8,
        help=f"connections sending at once, at most {MAX_CONCURRENCY} (default %(default)s)",
    )
    parser.add_argument(
        "--max-requests",
        type=positive_int,
        default=100_000,
        help="stop after this many requests, even before --duration (default %(default)s)",
    )
    parser.add_argument(
        "--timeout", default="10s", help="give one request up after this (default %(default)s)"
    )
    parser.add_argument("--report-file", required=True, help="the JSON report")
    parser.add_argument("--outputs-dir", help="one file per measure, named after it")
    return parser


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    args.duration_seconds = _positive_duration(args.duration, "--duration")
    args.timeout_seconds = _positive_duration(args.timeout, "--timeout")
    if args.concurrency > MAX_CONCURRENCY:
        raise UserError(f"--concurrency: {args.concurrency}; give 1 to {MAX_CONCURRENCY}")
    output_files(args, "--report-file")
    directories(args, "--outputs-dir")
    return args


def _positive_duration(text: str, flag: str) -> float:
    seconds = parse_duration(text, flag)
    if seconds <= 0:
        raise UserError(f"{flag}: {text!r} is no time at all; give e.g. '30s' or '2m'")
    return seconds


def predict_address(url: str, model_name: str) -> tuple[str, int, str]:
    """Host, port and path of the model's V1 predict route; checked when used, not when parsed
    (a rendered workflow's --url is a step's output)."""
    from mlflows.ml.client import check_url, predict_url

    check_url(url)
    parts = urllib.parse.urlsplit(predict_url(url, model_name))
    if parts.scheme != "http":
        raise UserError(f"--url: {url!r}: the load test speaks plain http; give the http URL")
    try:
        port = parts.port or 80
    except ValueError:
        raise UserError(f"--url: {url!r} has no valid port; give e.g. http://host:8080") from None
    return parts.hostname, port, parts.path


def request_bodies(dataset: str, data_dir: str) -> list[bytes]:
    """V1 request bodies of the first :data:`PAYLOADS` test images, one image each."""
    from mlflows.ml import datasets, protocol
    from mlflows.ml.client import encode_png

    datasets.check_name(dataset)
    images, _ = next(datasets.numpy_batches(dataset, "test", data_dir, batch_size=PAYLOADS))
    return [
        json.dumps(protocol.encode_request([encode_png(image)])).encode()
        for image in images[:PAYLOADS]
    ]


def report(args: argparse.Namespace, load: Load) -> dict:
    latency = None
    if load.latencies:
        latency = {
            f"p{q}": round(percentile(load.latencies, q) * 1000, 3) for q in (50, 90, 99, 100)
        }
    return {
        "url": args.url,
        "model_name": args.model_name,
        "concurrency": args.concurrency,
        "duration_seconds": args.duration_seconds,
        "max_requests": args.max_requests,
        "stopped_by": "max-requests" if load.requests >= args.max_requests else "duration",
        "elapsed_seconds": round(load.elapsed, 6),
        "requests": load.requests,
        "ok": load.ok,
        "errors": load.errors,
        "requests_per_second": round(load.requests / load.elapsed, 2) if load.elapsed else 0.0,
        "latency_ms": latency,  # of the requests answered 2xx; p100 is the slowest
        "statuses": {str(code): n for code, n in sorted(load.statuses.items())},
        "unanswered": dict(sorted(load.unanswered.items())),
    }


def measures(result: dict) -> dict[str, str]:
    latency = result["latency_ms"] or {}
    return {
        "requests": str(result["requests"]),
        "errors": str(result["errors"]),
        "requests-per-second": f"{result['requests_per_second']:.2f}",
        "p50-ms": f"{latency['p50']:.3f}" if latency else "",
        "p99-ms": f"{latency['p99']:.3f}" if latency else "",
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    host, port, path = predict_address(args.url, args.model_name)
    bodies = request_bodies(args.dataset, args.data_dir)
    load = drive(
        lambda: KeepAliveClient(host, port, timeout=args.timeout_seconds),
        path,
        bodies,
        concurrency=args.concurrency,
        max_requests=args.max_requests,
        duration=args.duration_seconds,
    )
    result = report(args, load)
    values = measures(result)
    write_output("--report-file", args.report_file, json_text(result))
    if args.outputs_dir:
        for name in MEASURES:
            write_output("--outputs-dir", Path(args.outputs_dir) / name, values[name])
    failures = ", ".join(
        f"{kind}: {n}" for kind, n in [*result["statuses"].items(), *result["unanswered"].items()]
    )
    print(
        f"load test of {args.url} at concurrency {args.concurrency} for "
        f"{result['elapsed_seconds']:.1f} s: {summary(values)}"
        + (f" ({failures})" if failures else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
