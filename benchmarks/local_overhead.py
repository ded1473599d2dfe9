"""The local runner's own overhead, beside kfp.local's, on three trivial Python pipelines.

- one:      a single step;
- chain:    20 steps, each adding one to the previous step's output;
- parallel: 32 independent steps, then a join that waits for all of them.

Each step is a Python process in both tools (a script template here; a lightweight component under
``kfp.local.SubprocessRunner(use_venv=False)`` there), so what differs is the orchestrator. Each
pipeline is timed as a whole command, start-up and shutdown included, the way a user waits for it:
``mlflows run FILE.yaml`` against ``python pipeline.py``. The best of ``--repeat`` runs counts.

kfp is a benchmark-only dependency, never the package's: when this interpreter cannot import kfp,
name one that can with ``--kfp-python`` (e.g. a venv with ``pip install kfp==2.17.*``); without
either, only mlflows' column is printed. Goal: mlflows / kfp.local <= 0.35 on all three.

    python benchmarks/local_overhead.py [--repeat 3] [--kfp-python PATH]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

GOAL = 0.35
CHAIN_LENGTH = 20
FAN_OUT = 32


def _script(name: str, source: str, inputs: list[str] = ()) -> dict:
    template = {"name": name, "script": {"image": "python:3.11", "command": ["python"]}}
    template["script"]["source"] = source
    if inputs:
        template["inputs"] = {"parameters": [{"name": n} for n in inputs]}
    return template


def _workflow(name: str, tasks: list[dict], templates: list[dict]) -> dict:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"generateName": f"{name}-"},
        "spec": {
            "entrypoint": "main",
            "templates": [{"name": "main", "dag": {"tasks": tasks}}, *templates],
        },
    }


def mlflows_workflows() -> dict[str, dict]:
    hello = _script("hello", "print('hello')")
    add_one = _script("add-one", "print({{inputs.parameters.x}} + 1)", ["x"])
    chain = [{"name": "step-0", "template": "add-one", "arguments": _x("0")}]
    for index in range(1, CHAIN_LENGTH):
        previous = f"{{{{tasks.step-{index - 1}.outputs.result}}}}"
        chain.append(
            {
                "name": f"step-{index}",
                "template": "add-one",
                "depends": f"step-{index - 1}",
                "arguments": _x(previous),
            }
        )
    work = _script("work", "print({{inputs.parameters.x}} * 2)", ["x"])
    branches = [
        {"name": f"work-{index}", "template": "work", "arguments": _x(str(index))}
        for index in range(FAN_OUT)
    ]
    join = {
        "name": "join",
        "template": "hello",
        "depends": " && ".join(task["name"] for task in branches),
    }
    return {
        "one": _workflow("one", [{"name": "hello", "template": "hello"}], [hello]),
        "chain": _workflow("chain", chain, [add_one]),
        "parallel": _workflow("parallel", [*branches, join], [work, hello]),
    }


def _x(value: str) -> dict:
    return {"parameters": [{"name": "x", "value": value}]}


KFP_PIPELINES = f"""
import sys, tempfile
from kfp import dsl, local

local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=tempfile.mkdtemp())

@dsl.component
def hello() -> str:
    return "hello"

@dsl.component
def add_one(x: int) -> int:
    return x + 1

@dsl.component
def work(x: int) -> int:
    return x * 2

@dsl.pipeline
def one():
    hello()

@dsl.pipeline
def chain() -> int:
    step = add_one(x=0)
    for _ in range({CHAIN_LENGTH} - 1):
        step = add_one(x=step.output)
    return step.output

@dsl.pipeline
def parallel():
    branches = [work(x=index) for index in range({FAN_OUT})]
    hello().after(*branches)

{{"one": one, "chain": chain, "parallel": parallel}}[sys.argv[1]]()
"""


def best_of(repeat: int, command: list[str], cwd: Path) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise SystemExit(f"error: {' '.join(command[:4])} failed: {' | '.join(tail)}")
        best = min(best, elapsed)
    return best


def kfp_interpreter(explicit: str | None) -> str | None:
    if explicit:
        return explicit
    probe = subprocess.run([sys.executable, "-c", "import kfp.local"], capture_output=True)
    return sys.executable if probe.returncode == 0 else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the best counts")
    parser.add_argument(
        "--kfp-python", help="an interpreter that can import kfp (default: this one, if it can)"
    )
    args = parser.parse_args(argv)
    mlflows = shutil.which("mlflows", path=str(Path(sys.executable).parent)) or "mlflows"
    kfp_python = kfp_interpreter(args.kfp_python)
    rows = []
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        (scratch / "pipelines.py").write_text(KFP_PIPELINES)
        for name, workflow in mlflows_workflows().items():
            path = scratch / f"{name}.yaml"
            path.write_text(yaml.safe_dump(workflow, sort_keys=False))
            run = [mlflows, "run", str(path), "--work-dir", "work", "--cache-dir", "cache"]
            ours = best_of(args.repeat, run, scratch)
            theirs = None
            if kfp_python:
                theirs = best_of(args.repeat, [kfp_python, "pipelines.py", name], scratch)
            rows.append((name, ours, theirs))
    print(f"{'pipeline':<10}{'mlflows run':>13}{'kfp.local':>11}{'ratio':>8}")
    misses = 0
    for name, ours, theirs in rows:
        if theirs is None:
            print(f"{name:<10}{ours:>12.2f}s{'-':>11}{'-':>8}")
            continue
        ratio = ours / theirs
        misses += ratio > GOAL
        print(f"{name:<10}{ours:>12.2f}s{theirs:>10.2f}s{ratio:>8.2f}")
    if kfp_python is None:
        print("\nkfp is not importable here: pass --kfp-python to compare with kfp.local")
        return 0
    verdict = "meets" if not misses else f"MISSES ({misses} of {len(rows)})"
    print(f"\nmlflows run / kfp.local: {verdict} the goal <= {GOAL}")
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
