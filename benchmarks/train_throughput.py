"""Training throughput (images/s) of ``mlflows.ml.train`` with 1 and 2 workers on localhost.

Each run is real: N worker processes with TF_CONFIG on free localhost ports, training on the
offline digits dataset, exactly as a TFJob's workers would. Throughput is measured over the
epochs after the first (the first also traces the graph); every worker of a run shares this
machine's cores, so more workers here measure the strategy's overhead, not a speed-up.

    python benchmarks/train_throughput.py [--workers 1 2] [--epochs 4] [--steps-per-epoch 40]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from mlflows.local.cluster.pods import free_ports
from mlflows.ml import ingest


def run(workers: int, args: argparse.Namespace, data_dir: Path, out: Path) -> dict:
    """Train with ``workers`` processes; returns the chief's metrics."""
    addresses = [f"127.0.0.1:{port}" for port in free_ports(workers, "127.0.0.1")]
    argv = [
        sys.executable, "-m", "mlflows.ml.train",
        "--model-type", args.model_type, "--dataset", "digits", "--data-dir", str(data_dir),
        "--saved-model-dir", str(out / "model"), "--checkpoint-dir", str(out / "checkpoints"),
        "--epochs", str(args.epochs), "--steps-per-epoch", str(args.steps_per_epoch),
        "--batch-size-per-replica", str(args.batch_size_per_replica),
        "--metrics-file", str(out / "metrics.json"),
    ]  # fmt: skip
    procs = []
    try:
        for index in range(workers):
            task = {"type": "worker", "index": index}
            config = json.dumps({"cluster": {"worker": addresses}, "task": task})
            procs.append(
                subprocess.Popen(
                    argv,
                    env={**os.environ, "TF_CONFIG": config},
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        errors = [proc.communicate()[1] for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for proc, error in zip(procs, errors, strict=True):
        if proc.returncode:
            sys.exit(f"a worker failed ({proc.returncode}):\n{error[-2000:]}")
    return json.loads((out / "metrics.json").read_text())


def steady_images_per_second(metrics: dict) -> float:
    later = metrics["epoch_seconds"][1:]
    images_per_epoch = metrics["steps_per_epoch"] * metrics["global_batch_size"]
    return images_per_epoch * len(later) / sum(later)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--model-type", default="cnn")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--steps-per-epoch", type=int, default=40)
    parser.add_argument("--batch-size-per-replica", type=int, default=64)
    args = parser.parse_args()
    if args.epochs < 2:
        parser.error("--epochs: at least 2 (the first is not measured)")

    with tempfile.TemporaryDirectory(prefix="mlflows-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        ingest.ingest("digits", "latest", ["train", "test"], data_dir)
        rows = []
        for workers in args.workers:
            metrics = run(workers, args, data_dir, Path(tmp) / f"run-{workers}")
            rows.append((workers, metrics))

    print(
        f"\nTraining throughput: {args.model_type} on digits, {args.steps_per_epoch} steps x "
        f"{args.epochs} epochs, {args.batch_size_per_replica} images per replica per step, "
        f"{os.cpu_count()} CPU cores shared by all workers\n"
    )
    print(f"{'workers':<8}{'global batch':>13}{'images/s':>10}{'per worker':>11}", end="")
    print(f"{'first epoch':>13}")
    for workers, metrics in rows:
        steady = steady_images_per_second(metrics)
        print(
            f"{workers:<8}{metrics['global_batch_size']:>13}{steady:>10.0f}"
            f"{steady / workers:>11.0f}{metrics['epoch_seconds'][0]:>12.1f}s"
        )
    print("\nimages/s: over the epochs after the first, which also traces the graph")


if __name__ == "__main__":
    main()
