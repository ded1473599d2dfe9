"""A 1,000-item loop against the same 1,000 tasks written out, run by the local runner.

Every item runs a trivial script (``sh`` running ``true``, or ``sleep`` with ``--sleep``, which
keeps more children running at once). Three shapes: a DAG task with ``withItems``, a steps
template with ``withItems``, and a DAG of 1,000 explicit tasks. The table shows the best wall
time of ``--repeat`` runs (the machine is shared), the time per item and the most threads alive
at once (sampled every 10 ms in this process). Goals: a loop holds no more threads than its
children's bound allows (three per running child: its own and two copying output), and costs at
most 25 % more per item than the explicit tasks.

    python benchmarks/loops.py [--items 1000] [--repeat 3] [--sleep 0.1]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

from mlflows import local
from mlflows.local.controller.calls import CHILD_THREADS

THREAD_GOAL = 3 * CHILD_THREADS + 4
OVERHEAD_GOAL = 1.25


def shapes(items: int, sleep: float) -> dict[str, dict]:
    source = f"sleep {sleep}" if sleep else "true"
    noop = {"name": "noop", "script": {"image": "alpine", "command": ["sh"], "source": source}}

    def workflow(entry: dict) -> dict:
        return {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Workflow",
            "metadata": {"generateName": "loops-"},
            "spec": {"entrypoint": "main", "templates": [entry, noop]},
        }

    listed = list(range(items))
    loop = {"name": "each", "template": "noop", "withItems": listed}
    return {
        "dag withItems": workflow({"name": "main", "dag": {"tasks": [loop]}}),
        "steps withItems": workflow({"name": "main", "steps": [[loop]]}),
        "dag, explicit tasks": workflow(
            {
                "name": "main",
                "dag": {"tasks": [{"name": f"t{i}", "template": "noop"} for i in listed]},
            }
        ),
    }


def measure(wf: dict, scratch: Path) -> tuple[float, int, int]:
    """Wall seconds, pods that succeeded and the most threads alive at once, for one run."""
    peak = threading.active_count()
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.01):
            peak = max(peak, threading.active_count())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    try:
        result = local.run(wf, work_dir=scratch / "work", cache_dir=scratch / "cache", quiet=True)
    finally:
        done.set()
        sampler.join()
    wall = time.perf_counter() - started
    pods = sum(1 for node in result.nodes if node.type == "Pod" and node.phase == "Succeeded")
    return wall, pods, peak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000, help="items (tasks) per run")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each shape")
    parser.add_argument("--sleep", type=float, default=0, help="seconds each item sleeps")
    args = parser.parse_args(argv)
    baseline = threading.active_count()
    runs: dict[str, list[tuple[float, int]]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for _ in range(args.repeat):  # interleaved, so a busy moment does not hit one shape
            for shape, wf in shapes(args.items, args.sleep).items():
                wall, pods, peak = measure(wf, Path(scratch))
                if pods != args.items:
                    print(f"{shape}: {pods} of {args.items} pods succeeded", file=sys.stderr)
                    return 1
                runs.setdefault(shape, []).append((wall, peak - baseline))
    rows = [
        (shape, min(wall for wall, _ in measured), max(peak for _, peak in measured))
        for shape, measured in runs.items()
    ]
    work = f"sleep {args.sleep}" if args.sleep else "true"
    print(f"{args.items} items of `{work}`, children bound: {CHILD_THREADS}\n")
    print(f"{'shape':<22}{'wall':>9}{'per item':>11}{'peak threads':>14}")
    for shape, wall, threads in rows:
        print(f"{shape:<22}{wall:>8.2f}s{1000 * wall / args.items:>9.2f}ms{threads:>14}")
    explicit = rows[-1][1]
    overhead = max(wall for _, wall, _ in rows[:-1]) / explicit
    threads = max(threads for _, _, threads in rows)
    met = overhead <= OVERHEAD_GOAL and threads <= THREAD_GOAL
    print(
        f"\nloop / explicit time: {overhead:.2f} (goal <= {OVERHEAD_GOAL}); peak threads "
        f"{threads} (goal <= {THREAD_GOAL}): {'meets' if met else 'MISSES'} the goals"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
