"""What the local runner adds to each step: a chain of steps that do nothing (``true``), run with
pods isolated and not (``MLFLOWS_POD_ISOLATION=none``); the table is the wall time per step.

    python benchmarks/step_overhead.py [--steps 40] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

from mlflows import local
from mlflows.local.executor.isolation import SETTING, pod_isolation


def chain(steps: int) -> dict:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"generateName": "overhead-"},
        "spec": {
            "entrypoint": "main",
            "templates": [
                {
                    "name": "main",
                    "steps": [[{"name": f"s{i}", "template": "noop"}] for i in range(steps)],
                },
                {"name": "noop", "container": {"image": "x", "command": ["true"]}},
            ],
        },
    }


def seconds_per_step(steps: int, setting: str) -> float:
    os.environ[SETTING] = setting
    with tempfile.TemporaryDirectory() as work:
        started = time.perf_counter()
        result = local.run(chain(steps), work_dir=work, cache_dir=work, quiet=True)
        elapsed = time.perf_counter() - started
    assert result.succeeded, result.message
    return elapsed / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    settings = ["auto", "none"] if pod_isolation().isolated else ["none"]
    print(f"{'pods':<14} {'ms per step (median of ' + str(args.repeats) + ')':>32}")
    for setting in settings:
        times = [seconds_per_step(args.steps, setting) for _ in range(args.repeats)]
        label = "isolated" if setting == "auto" else "not isolated"
        print(f"{label:<14} {1000 * statistics.median(times):>32.1f}")


if __name__ == "__main__":
    main()
