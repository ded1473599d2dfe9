"""Cold vs memoized e2e run: how long ingestion takes when its memo cache entry is fresh.

Runs ``flows/e2e.py --local`` twice on the offline ``digits`` dataset with one fresh cache
directory: the first run ingests (a miss, then the entry is saved), the second finds the entry
within ``maxAge`` and skips the step. Goal: ingestion on the rerun <= 5 % of its cold time.

    python benchmarks/memo.py [--models cnn] [--workers 1] [--steps-per-epoch 5]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import sys
import tempfile
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GOAL = 0.05


def load_e2e():
    spec = importlib.util.spec_from_file_location("e2e", REPO / "flows" / "e2e.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def seconds(node: dict) -> float:
    start = datetime.fromisoformat(node["startedAt"]).timestamp()
    return datetime.fromisoformat(node["finishedAt"]).timestamp() - start


def run_e2e(e2e, flow_args: list[str], scratch: Path, report: Path) -> dict:
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        code = e2e.main(
            [
                "--local",
                "--dataset",
                "digits",
                *flow_args,
                "--report-json",
                str(report),
                "--cache-dir",
                str(scratch / "cache"),
                "--work-dir",
                str(scratch / "work"),
            ]
        )
    if code != 0:
        sys.stderr.write(output.getvalue()[-3000:])
        raise SystemExit(f"the e2e run failed (exit {code})")
    return json.loads(report.read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="cnn", help="model specs to train (fewer is quicker)")
    parser.add_argument("--workers", default="1", help="TFJob workers per model")
    parser.add_argument("--epochs", default="1")
    parser.add_argument("--steps-per-epoch", default="5")
    args = parser.parse_args(argv)
    flow_args = [
        "--models",
        args.models,
        "--workers",
        args.workers,
        "--epochs",
        args.epochs,
        "--steps-per-epoch",
        args.steps_per_epoch,
    ]
    e2e = load_e2e()
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for label in ("cold", "memoized"):
            status = run_e2e(e2e, flow_args, Path(scratch), Path(scratch) / f"{label}.json")
            ingest = next(n for n in status["nodes"].values() if n["displayName"] == "ingest")
            total = seconds(status)
            hit = (ingest.get("memoizationStatus") or {}).get("hit", False)
            rows.append((label, total, seconds(ingest), hit))
    print(f"{'run':<10}{'whole run':>11}{'ingestion':>12}{'memo hit':>10}")
    for label, total, ingest, hit in rows:
        print(f"{label:<10}{total:>10.2f}s{ingest:>11.3f}s{'yes' if hit else 'no':>10}")
    ratio = rows[1][2] / rows[0][2]
    verdict = "meets" if ratio <= GOAL and rows[1][3] else "MISSES"
    print(f"\nmemoized / cold ingestion: {ratio:.2%} ({verdict} the goal <= {GOAL:.0%})")
    return 0 if verdict == "meets" else 1


if __name__ == "__main__":
    sys.exit(main())
