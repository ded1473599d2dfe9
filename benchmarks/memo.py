"""Cold vs memoized e2e run: how long ingestion takes when its memo cache entry is fresh.

Runs ``flows/e2e.py --local`` twice on the offline ``digits`` dataset with one fresh cache
directory: the first run ingests (a miss, then the entry is saved), the second finds the entry
within ``maxAge`` and skips the step. Goal: ingestion on the rerun <= 5 % of its cold time.

    python benchmarks/memo.py [--models cnn] [--workers 1] [--steps-per-epoch 5]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GOAL = 0.05


def seconds(node: dict) -> float:
    """A node's (or the workflow's) duration from Argo's RFC 3339 timestamps."""
    start, end = (
        datetime.fromisoformat(node[key].replace("Z", "+00:00")).timestamp()
        for key in ("startedAt", "finishedAt")
    )
    return end - start


def run_e2e(flow_args: list[str], scratch: Path, report: Path) -> dict:
    """``flows/e2e.py --local`` as a user runs it; its report, Argo's workflow status."""
    command = [
        sys.executable, str(REPO / "flows" / "e2e.py"), "--local", "--dataset", "digits",
        *flow_args, "--report-json", str(report),
        "--cache-dir", str(scratch / "cache"), "--work-dir", str(scratch / "work"),
    ]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True)
    if run.returncode != 0:
        sys.stderr.write((run.stdout + run.stderr)[-3000:])
        raise SystemExit(f"the e2e run failed (exit {run.returncode})")
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
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for label in ("cold", "memoized"):
            status = run_e2e(flow_args, Path(scratch), Path(scratch) / f"{label}.json")
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
