"""DAG semantics, each as a small workflow run end to end with real processes."""

from localrun_helpers import args, by_display_name, dag, inputs, interval, sh, task, workflow

ANY_OUTCOME = "({0}.Succeeded || {0}.Failed || {0}.Errored || {0}.Skipped || {0}.Omitted)"


def echo(name="echo"):
    return sh(name, "sleep 0.2; echo {{inputs.parameters.m}}", inputs=inputs("m"))


def test_diamond_runs_in_dependency_order(run_local):
    result = run_local(
        workflow(
            dag(
                "main",
                task("a", "echo", arguments=args(m="a")),
                task("b", "echo", depends="a", arguments=args(m="{{tasks.a.outputs.result}}b")),
                task("c", "echo", dependencies=["a"], arguments=args(m="c")),
                task(
                    "d",
                    "echo",
                    depends="b && c",
                    arguments=args(m="{{tasks.b.outputs.result}}+{{tasks.c.outputs.result}}"),
                ),
            ),
            echo(),
        )
    )
    assert result.phase == "Succeeded"
    nodes = by_display_name(result)
    a, b, c, d = (interval(nodes[name]) for name in "abcd")
    assert a[1] <= b[0] and a[1] <= c[0]
    assert max(b[1], c[1]) <= d[0]
    assert b[0] < c[1] and c[0] < b[1], "b and c should run at the same time"
    assert nodes["d"]["outputs"]["result"] == "ab+c"
    assert result.log("d") == "ab+c\n"


def coin_flip() -> dict:
    return workflow(
        dag(
            "main",
            task("flip", "flip"),
            task(
                "heads",
                "say",
                depends="flip",
                arguments=args(m="heads"),
                when="{{tasks.flip.outputs.result}} == heads",
            ),
            task(
                "tails",
                "say",
                depends="flip",
                arguments=args(m="tails"),
                when="{{tasks.flip.outputs.result}} == tails",
            ),
        ),
        sh("flip", "echo {{workflow.parameters.coin}}"),
        sh("say", "echo it was {{inputs.parameters.m}}", inputs=inputs("m")),
        arguments={"parameters": [{"name": "coin", "value": "heads"}]},
    )


def test_coin_flip_when_both_branches(run_local):
    for coin, other in (("heads", "tails"), ("tails", "heads")):
        result = run_local(coin_flip(), parameters={"coin": coin})
        nodes = by_display_name(result)
        assert result.phase == "Succeeded"
        assert nodes[coin]["phase"] == "Succeeded"
        assert nodes[coin]["outputs"]["result"] == f"it was {coin}"
        assert nodes[other]["phase"] == "Skipped"
        assert nodes[other]["message"] == f"when '{coin} == {other}' evaluated false"


def test_depends_on_failed_and_not_succeeded(run_local):
    result = run_local(
        workflow(
            dag(
                "main",
                task("breaks", "fail"),
                task("on-failure", "ok", depends="breaks.Failed"),
                task("on-not-succeeded", "ok", depends="!breaks.Succeeded"),
                task("on-success", "ok", depends="breaks.Succeeded"),
            ),
            sh("fail", "exit 3"),
            sh("ok", "true"),
        )
    )
    nodes = by_display_name(result)
    assert nodes["breaks"]["phase"] == "Failed"
    assert nodes["breaks"]["message"] == "Error (exit code 3)"
    assert nodes["on-failure"]["phase"] == "Succeeded"
    assert nodes["on-not-succeeded"]["phase"] == "Succeeded"
    assert nodes["on-success"]["phase"] == "Omitted"
    # on-success is Omitted under a failed branch: that fails the workflow
    assert result.phase == "Failed"


def test_or_depends_waits_for_every_named_task(run_local):
    result = run_local(
        workflow(
            dag(
                "main",
                task("quick", "nap", arguments=args(s="0")),
                task("slow", "nap", arguments=args(s="1")),
                task(
                    "either",
                    "nap",
                    depends="quick.Succeeded || slow.Succeeded",
                    arguments=args(s="0"),
                ),
            ),
            sh("nap", "sleep {{inputs.parameters.s}}", inputs=inputs("s")),
        )
    )
    nodes = by_display_name(result)
    assert result.phase == "Succeeded"
    assert interval(nodes["either"])[0] >= interval(nodes["slow"])[1]
    assert interval(nodes["slow"])[1] - interval(nodes["quick"])[1] > 0.5


def test_skipped_differs_from_omitted(run_local):
    result = run_local(
        workflow(
            dag(
                "main",
                task("a", "ok"),
                task("skipped", "ok", depends="a", when="1 > 2"),
                task("omitted", "ok", depends="a.Failed"),
                task("after-skipped", "ok", depends="skipped"),
                task("after-omitted", "ok", depends="omitted"),
            ),
            sh("ok", "true"),
        )
    )
    nodes = by_display_name(result)
    assert nodes["skipped"]["phase"] == "Skipped"
    assert nodes["omitted"]["phase"] == "Omitted"
    assert nodes["omitted"]["message"] == "omitted: depends condition not met"
    assert nodes["after-skipped"]["phase"] == "Succeeded"  # a bare name accepts Skipped
    assert nodes["after-omitted"]["phase"] == "Omitted"
    assert nodes["skipped"]["type"] == nodes["omitted"]["type"] == "Skipped"
    assert result.phase == "Succeeded"  # omitted leaves under succeeded branches


def test_continue_on_failed(run_local):
    result = run_local(
        workflow(
            dag(
                "main",
                task("flaky", "fail", continueOn={"failed": True}),
                task("next", "ok", dependencies=["flaky"]),
            ),
            sh("fail", "exit 1"),
            sh("ok", "true"),
        )
    )
    nodes = by_display_name(result)
    assert nodes["flaky"]["phase"] == "Failed"
    assert nodes["next"]["phase"] == "Succeeded"
    assert result.phase == "Succeeded"


def test_failed_leaf_with_continue_on_does_not_fail_the_dag(run_local):
    result = run_local(
        workflow(
            dag(
                "main",
                task("ok", "ok"),
                task("leaf", "fail", depends="ok", continueOn={"failed": True}),
            ),
            sh("fail", "exit 1"),
            sh("ok", "true"),
        )
    )
    assert result.phase == "Succeeded"


def test_failed_branch_is_not_a_failed_pipeline(run_local):
    """Branch a fails, its dependents are Omitted; the only leaf accepts any outcome."""
    result = run_local(
        workflow(
            dag(
                "main",
                task("a1", "fail"),
                task("a2", "ok", depends="a1"),
                task("b1", "ok"),
                task(
                    "final",
                    "ok",
                    depends=f"{ANY_OUTCOME.format('a2')} && {ANY_OUTCOME.format('b1')}",
                ),
            ),
            sh("fail", "exit 1"),
            sh("ok", "true"),
        )
    )
    nodes = by_display_name(result)
    assert nodes["a1"]["phase"] == "Failed"
    assert nodes["a2"]["phase"] == "Omitted"
    assert nodes["final"]["phase"] == "Succeeded"
    assert result.phase == "Succeeded"
    assert result.exit_code == 0


def test_omitted_leaf_under_failed_branch_fails_the_workflow(run_local):
    result = run_local(
        workflow(
            dag("main", task("a1", "fail"), task("a2", "ok", depends="a1"), task("b1", "ok")),
            sh("fail", "exit 1"),
            sh("ok", "true"),
        )
    )
    nodes = by_display_name(result)
    assert nodes["a2"]["phase"] == "Omitted"
    assert nodes["b1"]["phase"] == "Succeeded"
    assert result.phase == "Failed"
    assert result.exit_code == 1


def test_output_parameters_flow_between_tasks(run_local):
    result = run_local(
        workflow(
            dag(
                "main",
                task("produce", "produce"),
                task(
                    "consume",
                    "consume",
                    depends="produce",
                    arguments=args(v="{{tasks.produce.outputs.parameters.answer}}"),
                ),
                outputs={
                    "parameters": [
                        {
                            "name": "final",
                            "valueFrom": {"parameter": "{{tasks.consume.outputs.result}}"},
                        }
                    ]
                },
            ),
            sh(
                "produce",
                "mkdir -p /tmp/outputs && printf '42\\n' > /tmp/outputs/answer",
                outputs={
                    "parameters": [
                        {"name": "answer", "valueFrom": {"path": "/tmp/outputs/answer"}},
                        {
                            "name": "missing",
                            "valueFrom": {"path": "/tmp/none", "default": "fallback"},
                        },
                    ]
                },
            ),
            {
                "name": "consume",
                "inputs": inputs("v"),
                "script": {
                    "image": "python",
                    "command": ["python"],
                    "source": "print(int('{{inputs.parameters.v}}') + 1)",
                },
            },
        )
    )
    nodes = by_display_name(result)
    produced = {p["name"]: p["value"] for p in nodes["produce"]["outputs"]["parameters"]}
    assert produced == {"answer": "42", "missing": "fallback"}
    assert nodes["consume"]["outputs"]["result"] == "43"
    assert nodes[result.name]["outputs"]["parameters"] == [{"name": "final", "value": "43"}]
    assert result.phase == "Succeeded"


def test_unresolvable_reference_errors_the_task(run_local):
    result = run_local(
        workflow(
            dag(
                "main",
                task("a", "ok"),
                task(
                    "b",
                    "echo",
                    depends="a",
                    arguments=args(m="{{tasks.a.outputs.parameters.nope}}"),
                ),
            ),
            sh("ok", "true"),
            echo(),
        )
    )
    nodes = by_display_name(result)
    assert nodes["b"]["phase"] == "Error"
    assert "failed to resolve {{tasks.a.outputs.parameters.nope}}" in nodes["b"]["message"]
    assert result.phase == "Error"


def test_output_file_missing_is_an_error(run_local):
    result = run_local(
        workflow(
            sh(
                "main",
                "true",
                outputs={"parameters": [{"name": "x", "valueFrom": {"path": "/tmp/x"}}]},
            ),
        )
    )
    assert result.phase == "Error"
    assert result.message == "output parameter x: no file at /tmp/x"


def test_parallelism_bounds_running_pods(run_local):
    wf = workflow(
        dag("main", *(task(f"t{i}", "nap") for i in range(3))),
        sh("nap", "sleep 0.3"),
    )

    def finish_times(**options) -> list[float]:
        nodes = by_display_name(run_local(wf, **options))
        return sorted(interval(nodes[f"t{i}"])[1] for i in range(3))

    serial = finish_times(parallelism=1)
    assert all(later - earlier >= 0.25 for earlier, later in zip(serial, serial[1:], strict=False))
    parallel = finish_times()
    assert parallel[-1] - parallel[0] < 0.25
