"""``{{workflow.status}}``, ``{{workflow.duration}}``, ``{{workflow.failures}}`` and the workflow's
outputs, as Argo v4.1.2's operator sets them: status and duration on every pass
(setGlobalRuntimeParameters: the workflow's phase, Running while it runs; seconds since it started
with Go's %f), the final status and the failures once the entry node has ended, for the exit
handler (failures json.Marshal-ed then strconv.Quote-d: decoded twice; "null" when none failed);
global outputs readable by the exit handler's steps; the entrypoint's and exit handler's
``{{steps.name}}`` empty (a WorkflowStep without a name); ``{{steps.X.hostNodeName}}``."""

import json
import re
import socket

from localrun_helpers import args, inputs, sh, workflow

DURATION = re.compile(r"\d+\.\d{6}")  # Go's %f


def steps(name, *groups, **template):
    return {"name": name, "steps": [list(group) for group in groups], **template}


def step(name, template, **fields):
    return {"name": name, "template": template, **fields}


def report(*names):
    """An exit handler's pod printing each input on its own line."""
    lines = "; ".join(f"echo '{{{{inputs.parameters.{name}}}}}'" for name in names)
    return sh("report", lines, inputs=inputs(*names))


def test_status_and_duration_while_running_then_final_for_the_exit_handler(run_local):
    wf = workflow(
        steps("main", [step("first", "show")], [step("second", "show")]),
        sh("show", "echo '{{workflow.status}} {{workflow.duration}}'"),
        steps(
            "exit",
            [
                step(
                    "report",
                    "report",
                    arguments=args(status="{{workflow.status}}", duration="{{workflow.duration}}"),
                )
            ],
        ),
        report("status", "duration"),
        onExit="exit",
    )
    result = run_local(wf)
    assert result.succeeded, result.message
    first = result.node("first").outputs.result.split()
    second = result.node("second").outputs.result.split()
    assert first[0] == second[0] == "Running"
    assert DURATION.fullmatch(first[1]) and DURATION.fullmatch(second[1])
    assert float(first[1]) < float(second[1])  # as of when each template was executed
    status, duration = result.node("report").outputs.result.splitlines()
    assert status == "Succeeded"
    assert DURATION.fullmatch(duration) and float(duration) > float(second[1])


def test_failures_are_a_quoted_json_list_of_the_failed_nodes(run_local):
    wf = workflow(
        steps("main", [step("ok", "ok"), step("boom", "boom")]),
        sh("ok", "true"),
        sh("boom", "echo 'error: <disk> full' >&2; exit 3"),
        sh("exit", "echo '{{workflow.status}}'; echo '{{workflow.failures}}'"),
        onExit="exit",
    )
    result = run_local(wf)
    assert result.phase == "Failed"
    status, quoted = result.node(f"{result.name}.onExit").outputs.result.splitlines()
    assert status == "Failed"
    assert quoted.startswith('"[{\\"displayName\\":')  # strconv.Quote of the JSON
    failures = json.loads(json.loads(quoted))
    boom = result.node("boom")
    by_name = {failure["displayName"]: failure for failure in failures}
    assert set(by_name) == {result.name, "[0]", "boom"}  # the step group and steps failed too
    assert list(by_name["boom"]) == [
        "displayName",
        "message",
        "templateName",
        "phase",
        "podName",
        "finishedAt",
    ]
    assert by_name["boom"]["message"] == boom.message
    assert by_name["boom"]["templateName"] == "boom"
    assert by_name["boom"]["phase"] == "Failed"
    assert re.fullmatch(rf"{result.name}-boom-\d+", by_name["boom"]["podName"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", by_name["boom"]["finishedAt"])
    assert by_name[result.name]["podName"] == result.name  # GeneratePodName: the workflow's node
    assert by_name["[0]"]["templateName"] == ""  # a step group calls no template
    assert "\\u003cdisk\\u003e" in quoted  # Go's JSON escapes < and > before quoting


def test_failures_are_quoted_null_when_nothing_failed(run_local):
    wf = workflow(sh("main", "true"), sh("exit", "echo '{{workflow.failures}}'"), onExit="exit")
    result = run_local(wf)
    assert result.succeeded, result.message
    assert result.node(f"{result.name}.onExit").outputs.result == '"null"'


def test_the_exit_handler_reads_the_workflows_global_outputs(run_local):
    produce = sh(
        "produce",
        "printf done > /tmp/out.txt",
        outputs={
            "parameters": [
                {"name": "p", "valueFrom": {"path": "/tmp/out.txt"}, "globalName": "result-p"}
            ],
            "artifacts": [{"name": "a", "path": "/tmp/out.txt", "globalName": "result-a"}],
        },
    )
    consume = sh(
        "consume",
        "echo '{{inputs.parameters.p}}'; cat /tmp/in.txt",
        inputs={
            "parameters": [{"name": "p"}],
            "artifacts": [{"name": "a", "path": "/tmp/in.txt"}],
        },
    )
    exit_steps = steps(
        "exit",
        [
            step(
                "consume",
                "consume",
                arguments={
                    "parameters": [
                        {"name": "p", "value": "{{workflow.outputs.parameters.result-p}}"}
                    ],
                    "artifacts": [{"name": "a", "from": "{{workflow.outputs.artifacts.result-a}}"}],
                },
            )
        ],
    )
    wf = workflow(steps("main", [step("produce", "produce")]), produce, consume, exit_steps)
    wf["spec"]["onExit"] = "exit"
    result = run_local(wf)
    assert result.succeeded, result.message
    assert result.node("consume").outputs.result.splitlines() == ["done", "done"]


def test_steps_name_is_empty_outside_a_step_and_host_node_name_is_this_machine(run_local):
    wf = workflow(
        steps(
            "main",
            [step("first", "first")],
            [
                step(
                    "show",
                    "show",
                    arguments=args(caller="<{{steps.name}}>", host="{{steps.first.hostNodeName}}"),
                )
            ],
        ),
        sh("first", "true"),
        sh(
            "show",
            "echo '{{inputs.parameters.caller}} {{steps.name}} {{inputs.parameters.host}}'",
            inputs=inputs("caller", "host"),
        ),
    )
    result = run_local(wf)
    assert result.succeeded, result.message
    assert result.node("show").outputs.result == f"<> show {socket.gethostname()}"
    assert result.status["nodes"][result.node("first").id]["hostNodeName"] == socket.gethostname()


def fnv32a(text: str) -> int:
    value = 0x811C9DC5
    for byte in text.encode():
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def test_pod_name_is_each_attempts_and_only_a_pods(run_local):
    """executeTemplate sets ``{{pod.name}}`` for a pod-type template only, and for a retried one
    names each attempt's pod (GeneratePodName of ``<node>(n)``); a DAG's own substitution leaves
    it for the inline pod it holds."""
    flaky = sh(
        "flaky",
        "echo {{pod.name}}; test {{retries}} -ge 1",
        retryStrategy={"limit": 2, "retryPolicy": "Always"},
    )
    inline = {"container": {"image": "alpine", "command": ["echo", "{{pod.name}}"]}}
    wf = workflow(
        {
            "name": "main",
            "dag": {"tasks": [task_of("flaky"), {"name": "inline", "inline": inline}]},
        },
        flaky,
    )
    result = run_local(wf)
    assert result.succeeded, result.message
    for number in (0, 1):
        attempt = result.node(f"flaky({number})")
        expected = f"{result.name}-flaky-{fnv32a(attempt.name)}"
        assert attempt.outputs.result == expected
    inline_node = result.node("inline")
    assert inline_node.outputs.result == f"{result.name}-{fnv32a(inline_node.name)}"


def task_of(template):
    return {"name": template, "template": template}
