"""Memoization against the local cache, and exit handlers."""

import json
import time

from localrun_helpers import by_display_name, dag, sh, task, workflow

from mlflows.local.controller.memo import MemoCache


def memoized(max_age: str) -> dict:
    """A memoized step counting its runs in the claim ``memo`` (a pod writes its volumes only)."""
    key = "count-{{=sprig.regexReplaceAll('[^-a-zA-Z0-9]', inputs.parameters['what'], '-')}}"
    count = sh(
        "count",
        "echo run >> /mnt/data/runs.txt; wc -l < /mnt/data/runs.txt | tr -d ' ' > /tmp/n",
        inputs={"parameters": [{"name": "what"}]},
        outputs={"parameters": [{"name": "n", "valueFrom": {"path": "/tmp/n"}}]},
        memoize={"key": key, "maxAge": max_age, "cache": {"configMap": {"name": "memo-test"}}},
    )
    count["container"]["volumeMounts"] = [{"name": "data", "mountPath": "/mnt/data"}]
    return workflow(
        dag(
            "main",
            task("count", "count", arguments={"parameters": [{"name": "what", "value": "a_b"}]}),
            task(
                "show",
                "show",
                depends="count",
                arguments={
                    "parameters": [{"name": "n", "value": "{{tasks.count.outputs.parameters.n}}"}]
                },
            ),
        ),
        count,
        sh("show", "echo n={{inputs.parameters.n}}", inputs={"parameters": [{"name": "n"}]}),
        volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": "memo"}}],
    )


def test_memo_hit_within_max_age_and_miss_after(run_local, tmp_path):
    counter = tmp_path / "work" / "volumes" / "memo" / "runs.txt"
    wf = memoized("1s")

    first = by_display_name(run_local(wf))
    assert first["count"]["memoizationStatus"] == {
        "hit": False,
        "key": "count-a-b",
        "cacheName": "memo-test",
    }
    second = run_local(wf)
    nodes = by_display_name(second)
    assert nodes["count"]["memoizationStatus"]["hit"] is True
    assert nodes["count"]["phase"] == "Succeeded"
    assert nodes["show"]["outputs"]["result"] == "n=1"  # outputs restored from the cache
    assert counter.read_text().count("run") == 1  # the step did not run again
    time.sleep(1.1)
    third = by_display_name(run_local(wf))
    assert third["count"]["memoizationStatus"]["hit"] is False
    assert third["show"]["outputs"]["result"] == "n=2"


def test_failed_node_is_not_cached(run_local, tmp_path):
    wf = workflow(
        sh(
            "main",
            "exit 1",
            memoize={"key": "k", "maxAge": "1h", "cache": {"configMap": {"name": "memo-test"}}},
        )
    )
    assert run_local(wf).phase == "Failed"
    assert MemoCache(tmp_path / "cache").entries() == []
    assert run_local(wf).nodes[0].memoization["hit"] is False


def test_exit_handler_runs_on_failure_and_sees_the_status(run_local):
    result = run_local(
        workflow(
            dag("main", task("boom", "boom")),
            sh("boom", "exit 4"),
            sh("report", "echo status={{workflow.status}}; echo '{{workflow.failures}}'"),
            onExit="report",
        )
    )
    handler = result.node(f"{result.name}.onExit")
    assert handler.phase == "Succeeded"
    status_line, failures_line = handler.outputs.result.splitlines()
    assert status_line == "status=Failed"
    failures = json.loads(json.loads(failures_line))  # JSON, then strconv.Quote-d
    assert {f["displayName"] for f in failures} >= {"boom"}
    assert result.phase == "Failed"


def test_failing_exit_handler_fails_a_succeeded_workflow(run_local):
    result = run_local(
        workflow(
            sh("main", "echo fine"),
            sh("cleanup", "echo {{workflow.status}}; exit 2"),
            onExit="cleanup",
        )
    )
    assert result.node(f"{result.name}.onExit").outputs.result == "Succeeded"
    assert result.phase == "Failed"
    assert result.message == "Error (exit code 2)"


def test_without_a_cache_dir_each_work_dir_has_its_own_cache(tmp_path, capsys):
    """The default cache is the work directory's: another work directory's entries (whose
    outputs name that one's volumes) are not hits here, and ``mlflows cache list --work-dir``
    shows the entries of the one it names."""
    from mlflows.cli import main
    from mlflows.local import run

    wf = memoized("1h")
    for work in ("one", "two"):
        nodes = by_display_name(run(wf, work_dir=tmp_path / work, quiet=True))
        assert nodes["count"]["memoizationStatus"]["hit"] is False, work
        assert nodes["show"]["outputs"]["result"] == "n=1", work  # ran on this one's volume
    again = by_display_name(run(wf, work_dir=tmp_path / "two", quiet=True))
    assert again["count"]["memoizationStatus"]["hit"] is True
    assert [entry.key for entry in MemoCache(tmp_path / "one" / "cache").entries()] == ["count-a-b"]
    capsys.readouterr()
    assert main(["cache", "list", "--work-dir", str(tmp_path / "two")]) == 0
    assert "count-a-b" in capsys.readouterr().out
