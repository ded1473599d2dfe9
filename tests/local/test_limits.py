"""Argo's limits that keep a run finite: the depth of nested template calls, the size of a
step's ``outputs.result``."""

import json
import subprocess
import sys

import yaml
from localrun_helpers import args, by_display_name, dag, inputs, sh, task, workflow

from mlflows.local.controller.depth import MAX_DEPTH_MESSAGE, MAX_STACK_DEPTH
from mlflows.local.executor.pod import MAX_RESULT_BYTES


def run_command(tmp_path, wf):
    """``mlflows run`` in a child process, so a run that never ends fails the test (timeout)."""
    path = tmp_path / "wf.yaml"
    path.write_text(yaml.safe_dump(wf))
    report = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, "-m", "mlflows", "run", str(path), "--work-dir", str(tmp_path / "w")]
        + ["--report-json", str(report)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done, json.loads(report.read_text())


def steps(name, *groups):
    return {"name": name, "steps": [list(group) for group in groups]}


def test_a_dag_that_calls_itself_ends_at_argos_depth_with_a_clear_error(tmp_path):
    done, status = run_command(tmp_path, workflow(dag("main", task("again", "main"))))
    assert done.returncode == 1
    assert status["phase"] == "Error"
    assert status["message"].endswith(MAX_DEPTH_MESSAGE)
    nodes = list(status["nodes"].values())
    deepest = max(nodes, key=lambda node: node["name"].count("."))
    assert deepest["phase"] == "Error" and deepest["message"] == MAX_DEPTH_MESSAGE
    # the entry is call 1; the call that reaches the limit is refused, as Argo's executeTemplate
    assert deepest["name"].count(".again") == MAX_STACK_DEPTH - 1
    assert len(nodes) == MAX_STACK_DEPTH


def test_steps_that_call_themselves_with_a_pod_each_level_end_too(tmp_path):
    """Each level runs a pod whose node name grows; files named after the nodes stay short."""
    wf = workflow(
        steps(
            "main", [{"name": "work", "template": "echo"}], [{"name": "again", "template": "main"}]
        ),
        sh("echo", "echo level"),
    )
    done, status = run_command(tmp_path, wf)
    assert done.returncode == 1
    assert status["phase"] == "Failed"
    assert status["message"].endswith(MAX_DEPTH_MESSAGE)
    pods = [node for node in status["nodes"].values() if node["type"] == "Pod"]
    assert [node["phase"] for node in pods].count("Succeeded") == MAX_STACK_DEPTH - 2
    assert not any("internal error" in node.get("message", "") for node in pods)
    assert not any("internal error" in node.get("message", "") for node in status["nodes"].values())
    logs = list((tmp_path / "w" / "runs").glob("*/logs/*.log"))
    assert len(logs) == MAX_STACK_DEPTH - 2
    assert all(len(log.name) <= 255 for log in logs)


def test_a_template_that_recurses_a_few_times_is_unaffected(run_local):
    """Argo's coin-flip shape: a recursion that ends by itself runs to its end."""
    count_down = {
        "name": "count",
        "inputs": inputs("n"),
        "steps": [
            [{"name": "show", "template": "show", "arguments": args(n="{{inputs.parameters.n}}")}],
            [
                {
                    "name": "down",
                    "template": "count",
                    "when": "{{steps.show.outputs.result}} > 0",
                    "arguments": args(n="{{steps.show.outputs.result}}"),
                }
            ],
        ],
    }
    wf = workflow(
        count_down,
        sh("show", "echo $(({{inputs.parameters.n}} - 1))", inputs=inputs("n")),
        entrypoint="count",
        arguments=args(n="3"),
    )
    result = run_local(wf)
    assert result.succeeded, result.message
    shown = sorted(node.outputs.result for node in result.nodes if node.type == "Pod")
    assert shown == ["0", "1", "2"]


def test_a_large_result_is_kept_as_argo_keeps_it_and_the_report_stays_small(run_local):
    """Argo's executor keeps the last 256 kB of stdout as ``outputs.result``; a retry node holds
    a copy of its last attempt's outputs, as in Argo's status, so a 2 MB output made a 4 MB
    report before."""
    script = "python3 -c \"print('x' * 2_000_000 + 'END')\""
    result = run_local(workflow(sh("main", script, retryStrategy={"limit": 1})))
    assert result.succeeded
    nodes = by_display_name(result)
    attempt = nodes[f"{result.name}(0)"]["outputs"]["result"]
    assert len(attempt.encode()) == MAX_RESULT_BYTES and attempt.endswith("xEND")
    assert nodes[result.name]["outputs"]["result"] == attempt
    assert (result.run_dir / "status.json").stat().st_size < 3 * MAX_RESULT_BYTES
    assert len(result.log(f"{result.name}(0)")) == 2_000_004  # the log keeps everything
