"""Ensemble serving on digits: the top-2 ensemble's test accuracy beside the best single model's,
and its requests/s and latency beside that model's at concurrency 8.

Three models (cnn, dropout, batch_norm) are trained in this process on digits; the two most
accurate are served as ``flows/e2e.py --serve ensemble:2`` serves them, by the local KServe
(:mod:`mlflows.local.cluster`) from the manifests :mod:`mlflows.ensemble` writes: one
``mlflows.ml.serve`` per member, the combiner as a custom predictor, and KServe's router in
front. Accuracy is asked through the URLs (``mlflows.ml.served_accuracy``): the graph's, and the
best member's own server, which is the best single model served as ``--serve single`` serves it.
Load: single-image requests (a PNG as ``{"b64": ...}``, KServe V1) from 8 keep-alive
connections (:mod:`mlflows.ml.http_load`, as ``benchmarks/serving.py``), to each URL in turn.

    python benchmarks/ensemble.py [--epochs 5] [--steps-per-epoch 30] [--requests 2000]

The two cores are shared by the client, the router, the combiner and two model servers (and
whatever else runs: the load average is printed), so the ensemble's rate is bounded by its
hops: every request is three HTTP calls behind the graph, and each image is answered twice.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
from pathlib import Path

from mlflows.cli import run_cli
from mlflows.ensemble import (
    GRAPH_READY,
    EnsembleNames,
    combiner_manifest,
    graph_manifest,
    member_step,
)
from mlflows.inference_service import (
    FAILED_CONDITION,
    READY_CONDITION,
    inference_service_manifest,
)
from mlflows.local.cluster.resources import LocalCluster, ResourceRequest
from mlflows.local.executor.volumes import VolumeStore
from mlflows.ml import client, digits, http_load, ingest, protocol, select, train
from mlflows.ml.served_accuracy import served_accuracy

ARCHITECTURES = ("cnn", "dropout", "batch_norm")
CONCURRENCY = 8
NAMES = EnsembleNames("digits")
CLAIM = "mlflows-data"


def train_models(data: Path, out: Path, epochs: int, steps: int) -> dict[str, Path]:
    models = {}
    for architecture in ARCHITECTURES:
        models[architecture] = out / architecture
        argv = [
            "--model-type", architecture, "--dataset", "digits", "--data-dir", str(data),
            "--saved-model-dir", str(out / architecture),
            "--checkpoint-dir", str(out.parent / "checkpoints" / architecture),
            "--epochs", str(epochs), "--steps-per-epoch", str(steps),
        ]  # fmt: skip
        os.environ.pop("TF_CONFIG", None)  # one worker, in this process
        if run_cli(lambda argv=argv: train.main(argv)) != 0:
            raise SystemExit(f"training {architecture} failed")
    return models


def apply(cluster: LocalCluster, root: Path, manifest: dict, success: str, failure=None) -> dict:
    """Apply ``manifest`` as a resource step does, until ``success``; its outputs ``url``."""
    name = manifest["metadata"]["name"]
    outputs = [{"name": "url", "valueFrom": {"jsonPath": "{.status.url}"}}]
    request = ResourceRequest(f"bench.{name}", "apply", manifest, success, failure, outputs)
    result = cluster.execute(request, threading.Event(), root / "logs" / f"{name}.log")
    if result.phase != "Succeeded":
        raise SystemExit(f"{name}: {result.message}")
    return result.outputs


def send_load(url: str, path: str, bodies: list[bytes]) -> http_load.Load:
    """``bodies`` sent to ``url`` over CONCURRENCY keep-alive connections; every one a 200."""
    host, port = url.removeprefix("http://").split(":")
    measured = http_load.drive(
        lambda: http_load.KeepAliveClient(host, int(port)),
        path,
        bodies,
        concurrency=CONCURRENCY,
        max_requests=len(bodies),
    )
    if measured.errors:
        raise SystemExit(f"{url}{path}: {measured.statuses} {measured.unanswered}")
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--steps-per-epoch", type=int, default=30)
    parser.add_argument("--requests", type=int, default=2000, help="per measurement")
    args = parser.parse_args()
    load_before = os.getloadavg()

    with tempfile.TemporaryDirectory(prefix="mlflows-bench-") as tmp:
        root = Path(tmp)
        data = root / "data"
        ingest.ingest("digits", "latest", ["train", "test"], data)
        claim = root / "volumes" / CLAIM
        models = train_models(data, claim / "models", args.epochs, args.steps_per_epoch)
        scored, _ = select.score([str(p) for p in models.values()], "digits", data)
        members = select.publish_members(select.choose(scored, 2, 0.0), str(claim / "ensemble"))
        images, _ = digits.load(data, "test")
        pngs = [client.encode_png(images[i % len(images)]) for i in range(args.requests)]
        bodies = [json.dumps(protocol.encode_request([png])).encode() for png in pngs]

        cluster = LocalCluster(
            volumes=VolumeStore(root / "volumes"), run_dir=root / "run", namespace="bench",
            workflow_name="bench",
        )  # fmt: skip
        try:
            urls = {}
            for member in members:
                service = inference_service_manifest(
                    name=NAMES.member(member["name"]),
                    storage_uri=f"pvc://{CLAIM}/ensemble/{member['name']}",
                    service_account="mlflows-workloads",
                )
                urls[member["name"]] = apply(
                    cluster, root, service, READY_CONDITION, FAILED_CONDITION
                )["url"]
            combiner = combiner_manifest(NAMES.combiner, "local", "mlflows-workloads")
            apply(cluster, root, combiner, READY_CONDITION, FAILED_CONDITION)
            steps = [member_step(NAMES, member["name"]) for member in members]
            graph = graph_manifest(NAMES.graph, steps, NAMES.combiner)
            urls["graph"] = apply(cluster, root, graph, GRAPH_READY)["url"]

            targets = [
                ("best single (top-1)", urls["top-1"], NAMES.member("top-1")),
                ("ensemble of 2 (graph)", urls["graph"], NAMES.graph),
            ]
            rows = []
            for label, url, name in targets:
                accuracy, count = served_accuracy(url, name, "digits", str(data))
                path = f"/v1/models/{name}:predict"
                send_load(url, path, bodies[:200])  # warm-up
                measured = send_load(url, path, bodies)
                p50, p99 = (http_load.percentile(measured.latencies, q) * 1000 for q in (50, 99))
                rows.append((label, accuracy, measured.ok / measured.elapsed, p50, p99))
        finally:
            cluster.close()

    load = " ".join(f"{n:.2f}" for n in (*load_before, *os.getloadavg()))
    print(f"\nEnsemble serving on digits ({count} test images), {args.requests} requests each")
    each = ", ".join(
        f"{Path(c.model_dir).name} {c.accuracy:.4f}"
        for c in sorted(scored, key=lambda c: -c.accuracy)
    )
    print(f"models trained ({args.epochs} x {args.steps_per_epoch} steps): {each}")
    print(f"load average (1, 5, 15 min) before, after: {load}\n")
    header = f"{'served':<24}{'test accuracy':>14}{'req/s @8':>10}{'p50 ms':>9}{'p99 ms':>9}"
    print(header)
    for label, accuracy, rps, p50, p99 in rows:
        print(f"{label:<24}{accuracy:>14.4f}{rps:>10.0f}{p50:>9.2f}{p99:>9.2f}")


if __name__ == "__main__":
    main()
