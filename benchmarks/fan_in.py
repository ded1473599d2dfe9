"""Time to the first served model: asynchronous vs synchronous fan-in, run by the local runner.

Three training branches, one taking 3x as long as the others, each followed by an evaluation. The
shapes are mlflows.patterns' own, as the e2e flow uses them:

- sync:  fan_in(evaluations, join=select) >> serve — nothing is served before the slowest branch;
- async: follow_each(evaluations, promote) — each branch promotes and serves its model as soon as
  it is evaluated, under one mutex so promotions never interleave — then fan_in(..., select).

Training is a sleep here so that the branch lengths are exact; every other part (DAG semantics,
mutex, processes, the report's timestamps) is the real local runner. Goal: async / sync <= 0.45.

    python benchmarks/fan_in.py [--seconds 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from hera.workflows import DAG, Container, Steps, Workflow
from hera.workflows import models as m

from mlflows import local
from mlflows.patterns import fan_in, follow_each

GOAL = 0.45


def build(asynchronous: bool, seconds: float) -> Workflow:
    lengths = {"cnn": seconds, "dropout": seconds, "batch-norm": 3 * seconds}
    with Workflow(generate_name="fan-in-", entrypoint="pipeline") as workflow:
        train = Container(
            name="train",
            image="x",
            command=["sleep"],
            args=["{{inputs.parameters.seconds}}"],
            inputs={"seconds": None},
        )
        evaluate = Container(
            name="evaluate",
            image="x",
            command=["echo", "0.9"],
            inputs={"model": None},
        )
        serve = Container(name="serve", image="x", command=["echo", "serving"])
        select = Container(name="select", image="x", command=["echo", "best selected"])
        with Steps(
            name="promote",
            inputs={"model": None},
            synchronization=m.Synchronization(mutexes=[m.Mutex(name="champion")]),
        ) as promote:
            Container(name="publish", image="x", command=["echo", "published"])()
            serve(name="serve-now")
        with DAG(name="pipeline"):
            evaluations = [
                train(name=f"train-{name}", arguments={"seconds": str(length)})
                >> evaluate(name=f"evaluate-{name}", arguments={"model": name})
                for name, length in lengths.items()
            ]
            if asynchronous:
                evaluations = follow_each(
                    evaluations,
                    lambda task: promote(
                        name=f"promote-{task.name.removeprefix('evaluate-')}",
                        arguments={"model": task.name},
                    ),
                )
            fan_in(evaluations, join=select(name="select")) >> serve(name="serve")
    return workflow


def first_served_seconds(result: local.RunResult) -> float:
    """From the workflow's start to the end of the first serve step."""
    served = [
        node.finished_at
        for node in result.nodes
        if node.template_name == "serve" and node.phase == "Succeeded"
    ]
    return min(served) - result.started_at


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds",
        type=float,
        default=2.0,
        help="training time of the two fast branches (the slow one takes 3x)",
    )
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for shape in ("sync", "async"):
            result = local.run(
                build(shape == "async", args.seconds),
                work_dir=Path(scratch) / "work",
                cache_dir=Path(scratch) / "cache",
                quiet=True,
            )
            if not result.succeeded:
                print(f"{shape} run {result.phase}: {result.message}", file=sys.stderr)
                return 1
            rows.append(
                (shape, first_served_seconds(result), result.finished_at - result.started_at)
            )
    print(f"branches: 2 x {args.seconds:g}s and 1 x {3 * args.seconds:g}s of training\n")
    print(f"{'fan-in':<8}{'first model served':>20}{'whole run':>12}")
    for shape, first, total in rows:
        print(f"{shape:<8}{first:>19.2f}s{total:>11.2f}s")
    ratio = rows[1][1] / rows[0][1]
    verdict = "meets" if ratio <= GOAL else "MISSES"
    print(f"\nasync / sync time to first served model: {ratio:.2f} ({verdict} the goal <= {GOAL})")
    return 0 if ratio <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
