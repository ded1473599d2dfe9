"""A step's pod as Kubernetes runs it, isolated or not: its exit code (128+N when signal N ended
it) and its script staged as argoexec stages it."""

from __future__ import annotations

import pytest
from localrun_helpers import by_display_name, dag, sh, task, workflow

from mlflows.local.executor.isolation import SETTING, pod_isolation


@pytest.fixture(params=["auto", "none"], ids=["isolated", "not isolated"])
def isolation_setting(request, monkeypatch):
    monkeypatch.setenv(SETTING, request.param)


def test_a_killed_step_reports_the_containers_exit_code(run_local, isolation_setting):
    """Kubernetes reports a container that signal N ended with exit code 128+N, as ``when``,
    messages and ``exitCode`` see it; a local process would say -N."""
    result = run_local(
        workflow(
            dag(
                "main",
                task("killed", "killed", continueOn={"failed": True}),
                task("timed-out", "timed-out", continueOn={"failed": True}),
                task("after", "after", depends="killed", when="{{tasks.killed.exitCode}} == 137"),
            ),
            sh("killed", "kill -9 $$"),
            sh("timed-out", "exec sleep 60", activeDeadlineSeconds=1),
            sh("after", "echo ran"),
        )
    )
    nodes = by_display_name(result)
    assert nodes["killed"]["outputs"]["exitCode"] == "137"
    assert nodes["killed"]["message"] == "Error (exit code 137)"
    assert nodes["timed-out"]["outputs"]["exitCode"] == "143"  # SIGTERM at the deadline
    assert nodes["after"]["phase"] == "Succeeded"


def test_a_script_is_staged_executable(run_local, isolation_setting):
    """Argo's scripts-bash example: ``command: [sh, -c]`` runs the staged file as a command."""
    script = {
        "name": "main",
        "script": {"image": "alpine", "command": ["sh", "-c"], "source": "echo from the script\n"},
    }
    result = run_local(workflow(script))
    assert result.phase == "Succeeded", result.message
    assert result.nodes[0].outputs.result == "from the script"


def test_a_command_that_cannot_start_errors_its_node(run_local, isolation_setting):
    """Known only at run time (a static one is refused up front: test_pods_features)."""
    template = {
        "name": "main",
        "inputs": {"parameters": [{"name": "cmd", "value": "no-such-command"}]},
        "container": {"image": "x", "command": ["{{inputs.parameters.cmd}}"]},
    }
    result = run_local(workflow(template))
    assert result.phase == "Error"
    assert result.message == "failed to start no-such-command: No such file or directory"


def test_an_isolated_pod_that_cannot_be_set_up_errors_its_node(run_local, monkeypatch):
    """A working directory the pod cannot create (the host is read-only to it) is one line."""
    monkeypatch.setenv(SETTING, "auto")
    if not pod_isolation().isolated:
        pytest.skip(f"pods cannot be isolated here: {pod_isolation().detail}")
    step = sh("main", "true")
    step["container"]["workingDir"] = "/etc/mlflows-no-such-dir"
    result = run_local(workflow(step))
    assert result.phase == "Error"
    assert result.message == (
        "failed to set up the pod: workingDir /etc/mlflows-no-such-dir: Read-only file system"
    )
