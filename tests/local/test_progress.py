"""``progress`` of each node and of the workflow, as Argo's progress updater sums pods."""

from localrun_helpers import by_display_name, dag, sh, task, workflow


def test_each_node_sums_the_pods_it_reaches(run_local):
    result = run_local(
        workflow(
            dag(
                "main",
                task("a", "ok"),
                task("b", "ok", depends="a"),
                task("c", "fail", continueOn={"failed": True}),
                task("r", "flaky"),
            ),
            sh("ok", "true"),
            sh("fail", "exit 1"),
            sh("flaky", "test {{retries}} -ge 1", retryStrategy={"limit": 1}),
        )
    )
    assert result.phase == "Succeeded"
    nodes = by_display_name(result)
    progress = {name: node.get("progress") for name, node in nodes.items()}
    assert progress == {
        result.name: "3/5",  # a, b, c, r(0), r(1): three succeeded
        "a": "1/1",  # a pod counts only itself, though b follows it
        "b": "1/1",
        "c": "0/1",  # failed: not complete
        "r": "1/2",  # its attempts
        "r(0)": "0/1",
        "r(1)": "1/1",
    }
    assert result.status["progress"] == "3/5"


def test_a_node_without_pods_has_no_progress(run_local):
    result = run_local(
        workflow(dag("main", task("wait", "wait")), {"name": "wait", "suspend": {"duration": "0"}})
    )
    assert result.status["progress"] == "0/0"
    assert all("progress" not in node for node in result.status["nodes"].values())
