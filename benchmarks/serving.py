"""Serving: requests/s and p50/p99 latency of ``mlflows.ml.serve`` over HTTP, beside in-process.

Single-image requests (a 28x28 PNG as ``{"b64": ...}``, KServe V1) at concurrency 1, 8 and 32
from keep-alive connections, each on its own thread, against a real server process (its default
batching unless flags after ``--`` say otherwise); then the same images through
``Predictor.from_encoded`` in-process, one call per image from as many threads: the model's own
rate, with TensorFlow's ops on as many threads as the server runs them, and (for comparison with
rates measured before the server chose) on TensorFlow's default.

The client shares this machine's two cores with the server, and so do other processes: the load
average is printed with the table. So the client is lean, as load generators are (wrk, hey):
the pipeline's load test's (:mod:`mlflows.ml.http_load`);
``--client http.client`` sends with the standard library's instead, whose parsing costs the
server a core's third at these rates. Goal at concurrency 8 over HTTP: at least 0.8x the
in-process rate at concurrency 8 with the server's threads, and p99 < 25 ms.

    python benchmarks/serving.py [--model-dir DIR] [--requests 2000] [--client C] [-- FLAGS]

Without ``--model-dir`` it serves an untrained cnn: weights do not change the work per request.
At the end it prints the server's batch counts from ``/metrics``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

from mlflows.ml import client, digits, http_load, ingest, protocol, serve
from mlflows.ml.predictor import Predictor
from mlflows.ml.quiet import tensorflow

NAME = "bench"
CONCURRENCY = (1, 8, 32)
GOAL_CONCURRENCY, GOAL_RATIO, GOAL_P99_MS = 8, 0.8, 25


def untrained_model(directory: Path) -> Path:
    from mlflows.ml import export, models
    from mlflows.ml.cluster import ONE_WORKER

    export.save(models.build("cnn", 1e-3), directory / "cnn", ONE_WORKER)
    return directory / "cnn"


def start_server(model_dir: Path, flags: list[str]) -> tuple[subprocess.Popen, str]:
    """The server on a port the OS picks; its first line says where it listens."""
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "mlflows.ml.serve", "--model-dir", str(model_dir),
         "--model-name", NAME, "--port", "0", *flags],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    url = proc.stdout.readline().split(" on ")[-1].strip()
    if not url.startswith("http://"):
        proc.kill()
        sys.exit(f"the server did not start (exit {proc.wait()})")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/v1/models/{NAME}", timeout=5):
                return proc, url
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    proc.kill()
    sys.exit("the server never became ready")


class StdlibClient:
    """``http.client``, as a Python caller would send."""

    def __init__(self, host: str, port: int):
        self.connection = http.client.HTTPConnection(host, port, timeout=60)
        self.connection.connect()

    def post(self, path: str, body: bytes) -> int:
        self.connection.request("POST", path, body, {"Content-Type": "application/json"})
        response = self.connection.getresponse()
        response.read()
        return response.status

    def close(self) -> None:
        self.connection.close()


CLIENTS = {"socket": http_load.KeepAliveClient, "http.client": StdlibClient}


def http_latencies(
    url: str, bodies: list[bytes], concurrency: int, client_name: str = "socket"
) -> tuple[list[float], float]:
    """Per-request seconds and the wall time for sending ``bodies`` over ``concurrency`` streams."""
    host, port = url.removeprefix("http://").split(":")
    load = http_load.drive(
        lambda: CLIENTS[client_name](host, int(port)),
        f"/v1/models/{NAME}:predict",
        bodies,
        concurrency=concurrency,
        max_requests=len(bodies),
    )
    if load.errors:
        failures = {**load.statuses, **load.unanswered}
        raise RuntimeError(f"{load.errors} requests failed: {failures}")
    return load.latencies, load.elapsed


def batch_counts(url: str) -> dict[str, float]:
    """The server's ``mlflows_*`` counters from its Prometheus ``/metrics``."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=30) as response:
        lines = response.read().decode().splitlines()
    return {
        name: float(value)
        for name, _, value in (line.partition(" ") for line in lines)
        if name.startswith("mlflows_")
    }


def in_process_latencies(
    predictor: Predictor, pngs: list[bytes], concurrency: int
) -> tuple[list[float], float]:
    def predict_one(png: bytes) -> float:
        began = time.perf_counter()
        predictor.from_encoded([png])
        return time.perf_counter() - began

    began = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        latencies = list(pool.map(predict_one, pngs))
    return latencies, time.perf_counter() - began


def row(path: str, concurrency: int, latencies: list[float], wall: float) -> tuple:
    p50, p99 = (http_load.percentile(latencies, q) * 1000 for q in (50, 99))
    return path, concurrency, len(latencies), len(latencies) / wall, p50, p99


def in_process_label(threads: int) -> str:
    if not threads:
        return "in-process, TF's threads per op"
    return f"in-process, {threads} thread{'s' if threads > 1 else ''} per op"


def in_process_rows(label: str, model_dir: Path, pngs: list[bytes], threads: int) -> list[tuple]:
    """The model's own rates, run in a fresh process: TensorFlow's threads are set only before
    it first runs (``threads`` per op; 0 is TensorFlow's choice)."""
    tensorflow().config.threading.set_intra_op_parallelism_threads(threads)
    predictor = Predictor(model_dir)
    in_process_latencies(predictor, pngs[:200], 1)  # warm-up
    return [row(label, c, *in_process_latencies(predictor, pngs, c)) for c in CONCURRENCY]


def in_fresh_process(function, *args):
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        return pool.submit(function, *args).result()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", type=Path, help="a SavedModel (default: an untrained cnn)")
    parser.add_argument("--requests", type=int, default=2000, help="per measurement")
    parser.add_argument(
        "--client", choices=CLIENTS, default="socket", help="the HTTP client (default %(default)s)"
    )
    parser.add_argument("server_flags", nargs="*", help="after --: flags for mlflows.ml.serve")
    args = parser.parse_args()
    # The threads per op the server runs with, for the in-process rates to match.
    served_args = serve.build_parser().parse_args(["--model-dir", ".", *args.server_flags])
    as_served = in_process_label(served_args.intra_op_threads)
    load_before = os.getloadavg()

    with tempfile.TemporaryDirectory(prefix="mlflows-bench-") as tmp:
        model_dir = args.model_dir or untrained_model(Path(tmp))
        ingest.ingest("digits", "latest", ["test"], Path(tmp) / "data")
        images, _ = digits.load(Path(tmp) / "data", "test")
        pngs = [client.encode_png(images[i % len(images)]) for i in range(args.requests)]
        bodies = [json.dumps(protocol.encode_request([png])).encode() for png in pngs]

        proc, url = start_server(model_dir, args.server_flags)
        try:
            http_latencies(url, bodies[:200], 8, args.client)  # warm-up: the graph, allocator
            rows = [
                row("HTTP", c, *http_latencies(url, bodies, c, args.client)) for c in CONCURRENCY
            ]
            counts = batch_counts(url)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        threads = served_args.intra_op_threads
        rows += in_fresh_process(in_process_rows, as_served, model_dir, pngs, threads)
        if threads:  # also TensorFlow's default, as the rates before batching were measured
            default = in_process_label(0)
            rows += in_fresh_process(in_process_rows, default, model_dir, pngs, 0)

    load = " ".join(f"{n:.2f}" for n in (*load_before, *os.getloadavg()))
    flags = " ".join(args.server_flags) or "defaults"
    print(f"\nServing single 28x28 PNG images (KServe V1, base64), model {model_dir.name}")
    print(f"server flags: {flags}; HTTP client: {args.client}")
    print(f"load average (1, 5, 15 min) before, after: {load}\n")
    print(f"{'path':<34}{'concurrency':>12}{'requests':>10}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}")
    for path, concurrency, n, rps, p50, p99 in rows:
        print(f"{path:<34}{concurrency:>12}{n:>10}{rps:>8.0f}{p50:>9.2f}{p99:>9.2f}")
    batches, requests = counts["mlflows_batches_total"], counts["mlflows_batched_requests_total"]
    print(f"\nserver: {requests:.0f} requests in {batches:.0f} model calls (warm-up included)")
    rates = {(path, c): rps for path, c, _, rps, _, _ in rows}
    for path in dict.fromkeys(path for path, *_ in rows if path != "HTTP"):
        ratios = ", ".join(f"{rates['HTTP', c] / rates[path, c]:.2f}" for c in CONCURRENCY)
        print(f"HTTP / {path}, at concurrency {', '.join(map(str, CONCURRENCY))}: {ratios}")
    ratio = rates["HTTP", GOAL_CONCURRENCY] / rates[as_served, GOAL_CONCURRENCY]
    p99 = next(r[5] for r in rows if r[:2] == ("HTTP", GOAL_CONCURRENCY))
    verdict = "met" if ratio >= GOAL_RATIO and p99 < GOAL_P99_MS else "NOT met"
    goal = f">= {GOAL_RATIO}x {as_served}, p99 < {GOAL_P99_MS} ms"
    print(f"Goal at concurrency {GOAL_CONCURRENCY} over HTTP ({goal}): {verdict}")


if __name__ == "__main__":
    main()
