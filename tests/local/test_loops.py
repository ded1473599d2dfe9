"""Loops (withItems, withParam, withSequence) as Argo v4.1's controller runs them.

Each workflow is run end to end with real processes; the assertions are Argo's rules: every
node's name, type and phase as Argo reports them (an item is ``<task>(<index>:<item>)`` under a
TaskGroup in a DAG, under the step group in steps), the aggregated outputs as Argo writes them,
AnySucceeded/AllFailed, failFast, parallelism, the empty and the unreadable loop.
"""

import re
import threading

import pytest
import yaml
from localrun_helpers import args, by_display_name, dag, inputs, interval, sh, task, workflow

from mlflows.errors import UserError
from mlflows.local.controller.calls import CHILD_THREADS

FAIL_FAST = "template has failed or errored children and failFast enabled"


def say():
    """Prints its message exactly (printf does not read escapes in an argument)."""
    return sh("say", "printf '%s\\n' '{{inputs.parameters.m}}'", inputs=inputs("m"))


def exit_with():
    """Writes its code to an output, then exits with it."""
    return sh(
        "exit-with",
        "echo {{inputs.parameters.code}} > /tmp/code; exit {{inputs.parameters.code}}",
        inputs=inputs("code"),
        outputs={"parameters": [{"name": "code", "valueFrom": {"path": "/tmp/code"}}]},
    )


def steps(name, *groups, **template):
    return {"name": name, "steps": [list(group) for group in groups], **template}


def step(name, template, **fields):
    return {"name": name, "template": template, **fields}


def tree(result) -> dict[str, tuple[str, str]]:
    """Every node of the report by its name (the workflow's own name written ``wf``): its type
    and phase. Also checks each display name is Argo's: the name less its boundary's name and
    the ``[i].`` or ``.`` after it."""
    nodes = result.status["nodes"]
    found = {}
    for node in nodes.values():
        assert node["name"].startswith(result.name)
        found["wf" + node["name"][len(result.name) :]] = (node["type"], node["phase"])
        boundary = nodes.get(node.get("boundaryID"))
        if boundary is not None:
            shown = re.sub(r"^(\[\d+\])?\.", "", node["name"][len(boundary["name"]) :])
            assert node["displayName"] == shown
    return found


def outputs(result, display_name: str) -> str:
    return by_display_name(result)[display_name]["outputs"]["result"]


def test_with_items_runs_each_item_under_a_task_group(run_local):
    result = run_local(
        workflow(
            dag(
                "main",
                task(
                    "scalars",
                    "say",
                    arguments=args(m="{{item}}"),
                    withItems=["hello world", 7, 2.5, True, ["x", 2]],
                ),
                task(
                    "maps",
                    "say",
                    arguments=args(m="{{item.os}} {{item.version}} {{item}}"),
                    withItems=[
                        {"os": "debian", "version": 12},
                        {"version": "3.20", "os": "alpine(edge)"},
                    ],
                ),
                task(
                    "some",
                    "say",
                    arguments=args(m="{{item}}"),
                    withItems=["run", "skip"],
                    when="{{item}} != skip",
                ),
            ),
            say(),
        )
    )
    assert result.phase == "Succeeded"
    assert tree(result) == {
        "wf": ("DAG", "Succeeded"),
        "wf.scalars": ("TaskGroup", "Succeeded"),
        "wf.scalars(0:hello world)": ("Pod", "Succeeded"),
        "wf.scalars(1:7)": ("Pod", "Succeeded"),
        "wf.scalars(2:2.5)": ("Pod", "Succeeded"),
        "wf.scalars(3:true)": ("Pod", "Succeeded"),
        "wf.scalars(4:[x 2])": ("Pod", "Succeeded"),
        "wf.maps": ("TaskGroup", "Succeeded"),
        "wf.maps(0:os:debian,version:12)": ("Pod", "Succeeded"),
        "wf.maps(1:os:alpineedge,version:3.20)": ("Pod", "Succeeded"),
        "wf.some": ("TaskGroup", "Succeeded"),
        "wf.some(0:run)": ("Pod", "Succeeded"),
        "wf.some(1:skip)": ("Skipped", "Skipped"),
    }
    nodes = by_display_name(result)
    labels = ["hello world", "7", "2.5", "true", "[x 2]"]
    printed = [outputs(result, f"scalars({i}:{label})") for i, label in enumerate(labels)]
    assert printed == ["hello world", "7", "2.5", "true", '["x",2]']  # a list item as JSON
    assert outputs(result, "maps(0:os:debian,version:12)") == (
        'debian 12 {"os":"debian","version":12}'
    )
    assert outputs(result, "maps(1:os:alpineedge,version:3.20)") == (
        'alpine(edge) 3.20 {"os":"alpine(edge)","version":"3.20"}'
    )
    assert nodes["some(1:skip)"]["message"] == "when 'skip != skip' evaluated false"
    group = nodes["scalars"]
    assert group["templateName"] == "say"
    items = {nodes[f"scalars({i}:{label})"]["id"] for i, label in enumerate(labels)}
    assert set(group["children"]) == items
    assert yaml.safe_load(yaml.safe_dump(result.status)) == result.status  # plain data


def test_an_item_key_that_does_not_resolve_errors_the_whole_task(run_local):
    result = run_local(
        workflow(
            dag(
                "main",
                task("fan", "say", arguments=args(m="{{item.name}}"), withItems=["a", "b"]),
            ),
            say(),
        )
    )
    assert result.phase == "Error"
    assert tree(result) == {"wf": ("DAG", "Error"), "wf.fan": ("Skipped", "Error")}
    assert by_display_name(result)["fan"]["message"] == "failed to resolve {{item.name}}"


def test_aggregated_outputs_are_json_lists_as_argo_writes_them(run_local):
    result = run_local(
        workflow(
            dag(
                "main",
                task("square", "square", arguments=args(n="{{item}}"), withItems=[1, 2, 3]),
                task(
                    "collect",
                    "say",
                    depends="square",
                    arguments=args(
                        m="{{tasks.square.outputs.parameters.n}}|"
                        "{{tasks.square.outputs.parameters.obj}}|"
                        "{{tasks.square.outputs.parameters}}|"
                        "{{tasks.square.outputs.result}}"
                    ),
                ),
            ),
            {
                "name": "square",
                "inputs": inputs("n"),
                "script": {
                    "image": "python",
                    "command": ["python"],
                    "source": (
                        "import json\n"
                        "n = {{inputs.parameters.n}}\n"
                        "text = json.dumps({'sq': n * n, 'n': n})\n"
                        "open('/tmp/n', 'w').write(str(n))\n"
                        "open('/tmp/obj', 'w').write(text)\n"
                        "print(text)\n"
                    ),
                },
                "outputs": {
                    "parameters": [
                        {"name": "n", "valueFrom": {"path": "/tmp/n"}},
                        {"name": "obj", "valueFrom": {"path": "/tmp/obj"}},
                    ]
                },
            },
            say(),
        )
    )
    assert result.phase == "Succeeded"
    assert tree(result) == {
        "wf": ("DAG", "Succeeded"),
        "wf.square": ("TaskGroup", "Succeeded"),
        "wf.square(0:1)": ("Pod", "Succeeded"),
        "wf.square(1:2)": ("Pod", "Succeeded"),
        "wf.square(2:3)": ("Pod", "Succeeded"),
        "wf.collect": ("Pod", "Succeeded"),
    }
    n, obj, parameters, results = outputs(result, "collect").split("|")
    assert n == '["1","2","3"]'  # plain values stay strings
    assert obj == '[{"n":1,"sq":1},{"n":2,"sq":4},{"n":3,"sq":9}]'  # maps decoded: keys sorted
    assert parameters == (
        '[{"n":"1","obj":"{\\"sq\\": 1, \\"n\\": 1}"},'
        '{"n":"2","obj":"{\\"sq\\": 4, \\"n\\": 2}"},'
        '{"n":"3","obj":"{\\"sq\\": 9, \\"n\\": 3}"}]'
    )
    assert results == '[{"sq":1,"n":1},{"sq":4,"n":2},{"sq":9,"n":3}]'  # kept as written


def test_failed_items_fail_the_group_and_are_left_out_of_its_outputs(run_local):
    result = run_local(
        workflow(
            dag(
                "main",
                task(
                    "try",
                    "exit-with",
                    arguments=args(code="{{item}}"),
                    withItems=[0, 3, 0],
                    continueOn={"failed": True},
                ),
                task(
                    "after",
                    "say",
                    depends="try",
                    arguments=args(m="{{tasks.try.outputs.parameters.code}} {{tasks.try.status}}"),
                ),
            ),
            exit_with(),
            say(),
        )
    )
    assert result.phase == "Succeeded"
    assert tree(result) == {
        "wf": ("DAG", "Succeeded"),
        "wf.try": ("TaskGroup", "Failed"),
        "wf.try(0:0)": ("Pod", "Succeeded"),
        "wf.try(1:3)": ("Pod", "Failed"),
        "wf.try(2:0)": ("Pod", "Succeeded"),
        "wf.after": ("Pod", "Succeeded"),
    }
    assert outputs(result, "after") == '["0","0"] Failed'


def any_and_all() -> dict:
    return workflow(
        dag(
            "main",
            task("mixed", "exit-with", arguments=args(code="{{item}}"), withItems=[1, 0]),
            task("failing", "exit-with", arguments=args(code="{{item}}"), withItems=[2, 3]),
            task("any-of-mixed", "say", depends="mixed.AnySucceeded", arguments=args(m="a")),
            task("all-of-mixed", "say", depends="mixed.AllFailed", arguments=args(m="b")),
            task("any-of-failing", "say", depends="failing.AnySucceeded", arguments=args(m="c")),
            task("all-of-failing", "say", depends="failing.AllFailed", arguments=args(m="d")),
        ),
        exit_with(),
        say(),
    )


def test_any_succeeded_and_all_failed(run_local):
    result = run_local(any_and_all())
    assert tree(result) == {
        "wf": ("DAG", "Failed"),  # omitted leaves under failed loops
        "wf.mixed": ("TaskGroup", "Failed"),
        "wf.mixed(0:1)": ("Pod", "Failed"),
        "wf.mixed(1:0)": ("Pod", "Succeeded"),
        "wf.failing": ("TaskGroup", "Failed"),
        "wf.failing(0:2)": ("Pod", "Failed"),
        "wf.failing(1:3)": ("Pod", "Failed"),
        "wf.any-of-mixed": ("Pod", "Succeeded"),
        "wf.all-of-mixed": ("Skipped", "Omitted"),
        "wf.any-of-failing": ("Skipped", "Omitted"),
        "wf.all-of-failing": ("Pod", "Succeeded"),
    }
    assert result.phase == "Failed"


def test_with_param_reads_a_previous_steps_json_output(run_local):
    result = run_local(
        workflow(
            steps(
                "main",
                [step("gen", "gen")],
                [
                    step(
                        "consume",
                        "say",
                        arguments=args(m="{{item.n}}"),
                        withParam="{{steps.gen.outputs.result}}",
                    )
                ],
                [
                    step(
                        "report",
                        "say",
                        arguments=args(
                            m="{{steps.consume.outputs.result}} {{steps.consume.status}} "
                            "{{steps.consume.id}}"
                        ),
                    )
                ],
            ),
            sh("gen", """echo '[{"name": "a", "n": 1}, {"n": 2.50, "name": "b (c)"}]'"""),
            say(),
        )
    )
    assert result.phase == "Succeeded"
    assert tree(result) == {
        "wf": ("Steps", "Succeeded"),
        "wf[0]": ("StepGroup", "Succeeded"),
        "wf[0].gen": ("Pod", "Succeeded"),
        "wf[1]": ("StepGroup", "Succeeded"),
        "wf[1].consume(0:n:1,name:a)": ("Pod", "Succeeded"),
        "wf[1].consume(1:n:2.50,name:b c)": ("Pod", "Succeeded"),  # a number as written
        "wf[2]": ("StepGroup", "Succeeded"),
        "wf[2].report": ("Pod", "Succeeded"),
    }
    # a looped step is known by its step group: its status and id are the group's
    group_id = by_display_name(result)["[1]"]["id"]
    assert outputs(result, "report") == f"[1,2.50] Succeeded {group_id}"


def test_with_param_that_is_not_a_json_list(run_local):
    not_json = workflow(
        dag(
            "main",
            task("gen", "say", arguments=args(m="not json")),
            task(
                "fan",
                "say",
                depends="gen",
                arguments=args(m="{{item}}"),
                withParam="{{tasks.gen.outputs.result}}",
            ),
            task(
                "lazy",
                "say",
                depends="gen",
                arguments=args(m="{{item}}"),
                withParam="{{tasks.gen.outputs.result}}",
                when="'{{tasks.gen.outputs.result}}' == 'json'",
            ),
        ),
        say(),
    )
    result = run_local(not_json)
    assert tree(result) == {
        "wf": ("DAG", "Error"),
        "wf.gen": ("Pod", "Succeeded"),
        "wf.fan": ("Skipped", "Error"),
        "wf.lazy": ("Skipped", "Skipped"),  # its when is false whatever the items: not read
    }
    assert result.phase == "Error"
    nodes = by_display_name(result)
    assert nodes["fan"]["message"].startswith(
        "withParam value could not be parsed as a JSON list: not json: "
    )
    assert nodes["lazy"]["message"] == "Skipped, empty params"

    in_steps = run_local(
        workflow(
            steps(
                "main",
                [step("gen", "say", arguments=args(m="[1, 2"))],
                [
                    step("other", "say", arguments=args(m="x")),
                    step(
                        "fan",
                        "say",
                        arguments=args(m="{{item}}"),
                        withParam="{{steps.gen.outputs.result}}",
                    ),
                ],
            ),
            say(),
        )
    )
    # the step group errors before any of its steps starts
    assert tree(in_steps) == {
        "wf": ("Steps", "Failed"),
        "wf[0]": ("StepGroup", "Succeeded"),
        "wf[0].gen": ("Pod", "Succeeded"),
        "wf[1]": ("StepGroup", "Error"),
    }
    assert in_steps.phase == "Failed"
    assert in_steps.message.startswith("withParam value could not be parsed as a JSON list: [1, 2")
    assert by_display_name(in_steps)["[1]"]["message"] == in_steps.message


def test_with_sequence(run_local):
    result = run_local(
        workflow(
            dag(
                "main",
                task(
                    "count",
                    "say",
                    arguments=args(m="{{item}}"),
                    withSequence={"count": "3", "start": "8", "format": "%02d"},
                ),
                task(
                    "down", "say", arguments=args(m="{{item}}"), withSequence={"start": 3, "end": 1}
                ),
                task(
                    "hex",
                    "say",
                    arguments=args(m="{{item}}"),
                    withSequence={"start": 254, "end": 256, "format": "0x%x"},
                ),
                task("none", "say", arguments=args(m="{{item}}"), withSequence={"count": 0}),
                task(
                    "total",
                    "say",
                    depends="down",
                    arguments=args(m="{{tasks.down.outputs.result}}"),
                ),
            ),
            say(),
        )
    )
    assert result.phase == "Succeeded"
    assert tree(result) == {
        "wf": ("DAG", "Succeeded"),
        "wf.count": ("TaskGroup", "Succeeded"),
        "wf.count(0:08)": ("Pod", "Succeeded"),
        "wf.count(1:09)": ("Pod", "Succeeded"),
        "wf.count(2:10)": ("Pod", "Succeeded"),
        "wf.down": ("TaskGroup", "Succeeded"),
        "wf.down(0:3)": ("Pod", "Succeeded"),
        "wf.down(1:2)": ("Pod", "Succeeded"),
        "wf.down(2:1)": ("Pod", "Succeeded"),
        "wf.hex": ("TaskGroup", "Succeeded"),
        "wf.hex(0:0xfe)": ("Pod", "Succeeded"),
        "wf.hex(1:0xff)": ("Pod", "Succeeded"),
        "wf.hex(2:0x100)": ("Pod", "Succeeded"),
        "wf.none": ("Skipped", "Skipped"),
        "wf.total": ("Pod", "Succeeded"),
    }
    assert by_display_name(result)["none"]["message"] == "Skipped, empty params"
    assert outputs(result, "count(0:08)") == "08"
    assert outputs(result, "total") == "[3,2,1]"


def test_an_empty_list_is_one_skipped_node(run_local):
    result = run_local(
        workflow(
            steps(
                "main",
                [step("gen", "say", arguments=args(m="[]"))],
                [
                    step(
                        "fan",
                        "say",
                        arguments=args(m="{{item}}"),
                        withParam="{{steps.gen.outputs.result}}",
                    )
                ],
                [step("after", "say", arguments=args(m="{{steps.fan.status}}"))],
            ),
            say(),
        )
    )
    assert result.phase == "Succeeded"
    assert tree(result) == {
        "wf": ("Steps", "Succeeded"),
        "wf[0]": ("StepGroup", "Succeeded"),
        "wf[0].gen": ("Pod", "Succeeded"),
        "wf[1]": ("StepGroup", "Succeeded"),
        "wf[1].fan": ("Skipped", "Skipped"),
        "wf[2]": ("StepGroup", "Succeeded"),
        "wf[2].after": ("Pod", "Succeeded"),
    }
    assert by_display_name(result)["fan"]["message"] == "Skipped, empty params"
    assert outputs(result, "after") == "Skipped"


def fail_fast_dag(fail_fast: bool) -> dict:
    return workflow(
        dag(
            "main",
            task("items", "exit-with", arguments=args(code="{{item}}"), withItems=[0, 1, 0, 0]),
            parallelism=1,
            failFast=fail_fast,
        ),
        exit_with(),
    )


def test_fail_fast_starts_no_more_items(run_local):
    stopped = run_local(fail_fast_dag(True))
    assert tree(stopped) == {
        "wf": ("DAG", "Failed"),
        "wf.items": ("TaskGroup", "Failed"),
        "wf.items(0:0)": ("Pod", "Succeeded"),
        "wf.items(1:1)": ("Pod", "Failed"),
    }
    assert stopped.phase == "Failed"
    assert stopped.message == FAIL_FAST

    every = run_local(fail_fast_dag(False))
    assert tree(every) == {
        "wf": ("DAG", "Failed"),
        "wf.items": ("TaskGroup", "Failed"),
        "wf.items(0:0)": ("Pod", "Succeeded"),
        "wf.items(1:1)": ("Pod", "Failed"),
        "wf.items(2:0)": ("Pod", "Succeeded"),
        "wf.items(3:0)": ("Pod", "Succeeded"),
    }
    assert every.phase == "Failed"

    in_steps = run_local(
        workflow(
            steps(
                "main",
                [step("items", "exit-with", arguments=args(code="{{item}}"), withItems=[0, 1, 0])],
                [step("never", "exit-with", arguments=args(code="0"))],
                parallelism=1,
                failFast=True,
            ),
            exit_with(),
        )
    )
    assert tree(in_steps) == {
        "wf": ("Steps", "Failed"),
        "wf[0]": ("StepGroup", "Failed"),
        "wf[0].items(0:0)": ("Pod", "Succeeded"),
        "wf[0].items(1:1)": ("Pod", "Failed"),
    }
    assert in_steps.message == by_display_name(in_steps)["[0]"]["message"] == FAIL_FAST


def most_at_once(log) -> int:
    """The most processes between their start and end lines at any moment."""
    events = []
    for line in log.read_text().splitlines():
        kind, stamp = line.split()
        events.append((float(stamp), kind == "start"))  # at one instant, an end comes first
    running = peak = 0
    for _, starts in sorted(events):
        running += 1 if starts else -1
        peak = max(peak, running)
    return peak


def test_parallelism_is_never_exceeded(run_local, tmp_path):
    log = tmp_path / "work" / "volumes" / "events" / "log"  # a pod writes its volumes only
    nap = sh(
        "nap",
        "echo start $(date +%s.%N) >> /events/log; sleep 0.5; echo end $(date +%s.%N) >> /events/log",
    )
    nap["container"]["volumeMounts"] = [{"name": "events", "mountPath": "/events"}]
    claim = {"name": "events", "persistentVolumeClaim": {"claimName": "events"}}

    def loop(**template) -> dict:
        fan = task("fan", "nap", arguments=args(i="{{item}}"), withItems=list(range(6)))
        return workflow(
            dag("main", fan, **template), {**nap, "inputs": inputs("i")}, volumes=[claim]
        )

    result = run_local(loop(parallelism=2))
    assert result.phase == "Succeeded"
    assert most_at_once(log) == 2
    spans = sorted(
        interval(node) for node in result.status["nodes"].values() if node["type"] == "Pod"
    )
    assert len(spans) == 6
    assert max(sum(1 for s in spans if s[0] <= t < s[1]) for t, _ in spans) <= 2

    log.unlink()
    assert run_local(loop(), parallelism=1).phase == "Succeeded"  # the run's --parallelism
    assert most_at_once(log) == 1


def test_a_long_loop_holds_a_bounded_number_of_threads(run_local):
    items = 200  # the benchmark runs 1,000
    baseline = threading.active_count()
    peak = [baseline]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.01):
            peak[0] = max(peak[0], threading.active_count())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        result = run_local(
            workflow(
                dag("main", task("fan", "nap", withItems=list(range(items)))),
                sh("nap", "sleep 0.2"),
            )
        )
    finally:
        done.set()
        sampler.join()
    assert result.phase == "Succeeded"
    pods = [node for node in result.nodes if node.type == "Pod"]
    assert len(pods) == items and all(node.phase == "Succeeded" for node in pods)
    # a child thread and the two threads copying its output, per child at most
    assert peak[0] - baseline <= 3 * CHILD_THREADS + 2 < items


LOOP_MISTAKES = [
    ({"withItems": "a,b"}, "task fan: withItems must be a list, not 'a,b'"),
    ({"withParam": ["a"]}, "task fan: withParam must be a string"),
    ({"withItems": [1], "withParam": "[1]"}, "task fan: give only one of withItems"),
    ({"withSequence": {"count": 2, "end": 3}}, "task fan: withSequence: give count or end"),
    ({"withSequence": {"start": 2}}, "task fan: withSequence: needs count or end"),
    ({"withSequence": {"count": "two"}}, "task fan: withSequence.count 'two' is not a whole"),
    ({"withSequence": {"count": 2, "step": 1}}, "task fan: withSequence: unknown field 'step'"),
    ({"withSequence": [1, 2]}, "task fan: withSequence must be a mapping"),
]


@pytest.mark.parametrize("fields, problem", LOOP_MISTAKES, ids=[p for _, p in LOOP_MISTAKES])
def test_loop_shapes_are_checked_before_anything_runs(run_local, tmp_path, fields, problem):
    marker = tmp_path / "ran"
    wf = workflow(
        dag("main", task("first", "touch"), task("fan", "say", arguments=args(m="x"), **fields)),
        sh("touch", f"touch {marker}"),
        say(),
    )
    with pytest.raises(UserError) as refused:
        run_local(wf)
    message = str(refused.value)
    assert problem in message and "\n" not in message
    assert not marker.exists()


def test_item_results_need_a_loop(run_local):
    plain = workflow(
        dag(
            "main",
            task("a", "say", arguments=args(m="x")),
            task("b", "say", depends="a.AllFailed", arguments=args(m="y")),
        ),
        say(),
    )
    with pytest.raises(UserError, match="task b: depends on a.AllFailed, but task a has no"):
        run_local(plain)


def test_fail_fast_must_be_a_boolean(run_local):
    wf = workflow(dag("main", task("a", "say", arguments=args(m="x")), failFast="yes"), say())
    with pytest.raises(UserError, match="template main: failFast must be true or false"):
        run_local(wf)


def test_loop_workflows_and_their_reports_match_argos_schemas(run_local, schema_dir):
    from mlflows.schema import validate_argo_object

    for wf in (any_and_all(), fail_fast_dag(True)):
        definition = "io.argoproj.workflow.v1alpha1.Workflow"
        assert validate_argo_object(wf, definition, "4.1", schema_dir) == []
        status = run_local(wf).status
        definition = "io.argoproj.workflow.v1alpha1.WorkflowStatus"
        assert validate_argo_object(status, definition, "4.1", schema_dir) == []
