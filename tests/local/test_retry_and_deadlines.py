"""retryStrategy with backoff, and the two kinds of deadline."""

import time

from localrun_helpers import by_display_name, dag, interval, seconds, sh, task, workflow

FAIL_TWICE = "echo attempt {{retries}}; test {{retries}} -ge 2"


def test_retry_succeeds_on_third_attempt_after_backoff(run_local):
    result = run_local(
        workflow(
            sh(
                "main",
                FAIL_TWICE,
                retryStrategy={"limit": "3", "backoff": {"duration": "400ms", "factor": 2}},
            )
        )
    )
    nodes = by_display_name(result)
    retry = nodes[result.name]
    assert retry["type"] == "Retry"
    assert retry["phase"] == "Succeeded"
    attempts = [nodes[f"{result.name}({n})"] for n in range(3)]
    assert [a["phase"] for a in attempts] == ["Failed", "Failed", "Succeeded"]
    assert retry["children"] == [a["id"] for a in attempts]
    assert retry["outputs"]["result"] == "attempt 2"
    # backoff: 400ms after the first failure, then 400ms * 2
    first_wait = seconds(attempts[1]["startedAt"]) - seconds(attempts[0]["finishedAt"])
    second_wait = seconds(attempts[2]["startedAt"]) - seconds(attempts[1]["finishedAt"])
    assert 0.38 <= first_wait < 0.7
    assert 0.78 <= second_wait < 1.1


def test_retry_limit_exhausted(run_local):
    result = run_local(workflow(sh("main", "exit 1", retryStrategy={"limit": 1})))
    nodes = by_display_name(result)
    assert [nodes[f"{result.name}({n})"]["phase"] for n in range(2)] == ["Failed", "Failed"]
    assert f"{result.name}(2)" not in nodes
    assert result.phase == "Failed"
    assert result.message == "No more retries left"


def test_retry_policy_on_error_does_not_retry_a_failure(run_local):
    result = run_local(
        workflow(sh("main", "exit 1", retryStrategy={"limit": 3, "retryPolicy": "OnError"}))
    )
    assert len([n for n in result.nodes if n.type == "Pod"]) == 1
    assert result.phase == "Failed"
    assert result.message == "Error (exit code 1)"


def test_backoff_max_duration_stops_retrying(run_local):
    result = run_local(
        workflow(
            sh(
                "main",
                "exit 1",
                retryStrategy={
                    "limit": 10,
                    "backoff": {"duration": "1", "factor": 2, "maxDuration": "1s"},
                },
            )
        )
    )
    assert result.phase == "Failed"
    assert result.message == "Backoff would exceed max duration limit"


def test_workflow_deadline_kills_running_processes(run_local):
    started = time.time()
    result = run_local(
        workflow(
            dag("main", task("long", "long"), task("after", "long", depends="long")),
            sh("long", "sleep 30"),
            activeDeadlineSeconds=1,
        )
    )
    assert time.time() - started < 8
    nodes = by_display_name(result)
    assert nodes["long"]["phase"] == "Failed"
    assert nodes["long"]["message"] == "Step exceeded its deadline"
    assert "after" not in nodes
    assert result.phase == "Failed"


def test_template_timeout_fails_the_node(run_local):
    result = run_local(
        workflow(
            dag("main", task("slow", "slow"), task("quick", "quick")),
            sh("slow", "sleep 30", timeout="1s"),
            sh("quick", "true"),
        )
    )
    nodes = by_display_name(result)
    start, end = interval(nodes["slow"])
    assert end - start < 5
    assert nodes["slow"]["phase"] == "Failed"
    assert (
        nodes["slow"]["message"] == "Pod was active on the node longer than the specified deadline"
    )
    assert nodes["quick"]["phase"] == "Succeeded"
    assert result.phase == "Failed"


def test_bad_templated_duration_errors_the_node_it_belongs_to(run_local):
    """validate cannot check a duration that comes from a parameter; at run time it is the
    node's Error with the reason (not an internal error, and no attempt left Pending)."""
    result = run_local(
        workflow(
            sh("main", "true", timeout="{{workflow.parameters.t}}", retryStrategy={"limit": 1}),
            arguments={"parameters": [{"name": "t", "value": "soon"}]},
        )
    )
    nodes = by_display_name(result)
    for name in (result.name, f"{result.name}(0)"):
        assert nodes[name]["phase"] == "Error"
        assert nodes[name]["message"].startswith("timeout: invalid duration 'soon'")
    assert result.phase == "Error"
