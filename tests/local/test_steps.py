"""Steps templates, and mutexes held for a template's whole execution."""

from localrun_helpers import by_display_name, dag, interval, sh, task, workflow


def steps(name, *groups, **template):
    return {"name": name, "steps": [list(group) for group in groups], **template}


def step(name, template, **fields):
    return {"name": name, "template": template, **fields}


def test_groups_run_in_order_and_steps_in_parallel(run_local):
    result = run_local(
        workflow(
            steps(
                "main",
                [
                    step(
                        "first", "word", arguments={"parameters": [{"name": "w", "value": "hello"}]}
                    )
                ],
                [step("left", "nap"), step("right", "nap")],
                [
                    step(
                        "last",
                        "word",
                        arguments={
                            "parameters": [
                                {"name": "w", "value": "{{steps.first.outputs.result}} world"}
                            ]
                        },
                    )
                ],
            ),
            sh("word", "echo {{inputs.parameters.w}}", inputs={"parameters": [{"name": "w"}]}),
            sh("nap", "sleep 0.3"),
        )
    )
    nodes = by_display_name(result)
    first, left, right, last = (interval(nodes[n]) for n in ("first", "left", "right", "last"))
    assert first[1] <= min(left[0], right[0])
    assert left[0] < right[1] and right[0] < left[1]
    assert max(left[1], right[1]) <= last[0]
    assert nodes["last"]["outputs"]["result"] == "hello world"
    assert {nodes["[0]"]["type"], nodes["[1]"]["type"]} == {"StepGroup"}
    assert result.phase == "Succeeded"


def test_failed_step_stops_later_groups_unless_continued(run_local):
    result = run_local(
        workflow(
            steps(
                "main",
                [step("bad", "bad"), step("tolerated", "bad", continueOn={"failed": True})],
                [step("never", "ok")],
            ),
            sh("bad", "exit 1"),
            sh("ok", "true"),
        )
    )
    nodes = by_display_name(result)
    assert "never" not in nodes
    assert nodes["[0]"]["phase"] == "Failed"
    assert result.phase == "Failed"
    assert result.message == "bad failed: Error (exit code 1)"

    tolerant = run_local(
        workflow(
            steps(
                "main",
                [step("tolerated", "bad", continueOn={"failed": True})],
                [step("after", "ok")],
            ),
            sh("bad", "exit 1"),
            sh("ok", "true"),
        )
    )
    assert by_display_name(tolerant)["after"]["phase"] == "Succeeded"
    assert tolerant.phase == "Succeeded"


def test_steps_when_uses_earlier_outputs(run_local):
    result = run_local(
        workflow(
            steps(
                "main",
                [step("score", "score")],
                [
                    step("better", "ok", when="{{steps.score.outputs.result}} > -1"),
                    step("worse", "ok", when="{{steps.score.outputs.result}} < -1"),
                ],
            ),
            sh("score", "echo 0.91"),
            sh("ok", "true"),
        )
    )
    nodes = by_display_name(result)
    assert nodes["better"]["phase"] == "Succeeded"
    assert nodes["worse"]["phase"] == "Skipped"


def test_mutex_holds_for_the_whole_template(run_local):
    """Two invocations of a mutex-held steps template never interleave their steps."""
    result = run_local(
        workflow(
            dag("main", task("one", "promote"), task("two", "promote")),
            steps(
                "promote",
                [step("check", "nap")],
                [step("publish", "nap")],
                synchronization={"mutexes": [{"name": "champion"}]},
            ),
            sh("nap", "sleep 0.2"),
        )
    )
    assert result.phase == "Succeeded"
    spans = []
    for invocation in ("one", "two"):
        pods = [
            n
            for n in result.nodes
            if n.type == "Pod" and n.name.startswith(f"{result.name}.{invocation}[")
        ]
        assert len(pods) == 2
        spans.append((min(p.started_at for p in pods), max(p.finished_at for p in pods)))
    spans.sort()
    assert spans[0][1] <= spans[1][0]
