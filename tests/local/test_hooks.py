"""Lifecycle hooks and exit handlers with the rules of Argo's controller (hooks.go,
exit_handler.go, operator.go): hook nodes named ``<node>.hooks.<name>`` and ``<node>.onExit``,
children of their node, run once their expression holds; a task or step is finished only once
they have; their outcome changes no phase. Each run asserts the workflow's phase and every node.
"""

import json
import textwrap

import pytest
import yaml

from mlflows.errors import UserError


def load(text: str) -> dict:
    return yaml.safe_load(textwrap.dedent(text))


def nodes(result) -> dict[str, tuple[str, str, str]]:
    """Every node of the report: name -> (displayName, type, phase)."""
    return {
        node["name"]: (node["displayName"], node["type"], node["phase"])
        for node in result.status["nodes"].values()
    }


def report(result, name: str) -> dict:
    return next(node for node in result.status["nodes"].values() if node["name"] == name)


def started(node: dict) -> str:
    return node["startedAt"]


ECHO = """
  - name: echo
    inputs: {parameters: [{name: msg}]}
    container:
      image: alpine
      command: [sh, -c, 'echo "$MSG"']
      env: [{name: MSG, value: "{{inputs.parameters.msg}}"}]
"""

WORKFLOW_HOOKS = (
    """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wfhooks}
spec:
  entrypoint: main
  hooks:
    exit:
      template: echo
      arguments:
        parameters: [{name: msg, value: "exit {{workflow.status}} {{workflow.failures}}"}]
    running:
      expression: workflow.status == "Running"
      template: echo
      arguments: {parameters: [{name: msg, value: "now {{workflow.status}}"}]}
    failed:
      expression: workflow.status == "Failed"
      template: echo
      arguments: {parameters: [{name: msg, value: "then {{workflow.status}}"}]}
    succeeded:
      expression: workflow.status == "Succeeded"
      template: echo
      arguments: {parameters: [{name: msg, value: never}]}
  templates:
  - name: main
    dag:
      tasks:
      - {name: boom, template: boom}
  - name: boom
    container: {image: alpine, command: [sh, -c], args: ["sleep 0.4; exit 3"]}
"""
    + ECHO
)


def test_workflow_hooks_and_exit_hook(run_local):
    result = run_local(load(WORKFLOW_HOOKS))

    assert result.phase == "Failed"
    assert result.message == "boom failed: Error (exit code 3)"
    assert nodes(result) == {
        "wfhooks": ("wfhooks", "DAG", "Failed"),
        "wfhooks.boom": ("boom", "Pod", "Failed"),
        "wfhooks.hooks.running": ("wfhooks.hooks.running", "Pod", "Succeeded"),
        "wfhooks.hooks.failed": ("wfhooks.hooks.failed", "Pod", "Succeeded"),
        "wfhooks.onExit": ("wfhooks.onExit", "Pod", "Succeeded"),
    }
    assert result.node("wfhooks.hooks.running").outputs.result == "now Running"
    assert result.node("wfhooks.hooks.failed").outputs.result == "then Failed"
    exit_line = result.node("wfhooks.onExit").outputs.result
    assert exit_line.startswith('exit Failed "[')  # strconv.Quote-d JSON: decoded twice
    failures = json.loads(json.loads(exit_line.removeprefix("exit Failed ")))
    assert {(f["displayName"], f["templateName"], f["phase"]) for f in failures} == {
        ("wfhooks", "main", "Failed"),
        ("boom", "boom", "Failed"),
    }
    # hooks are children of the entry node; the exit handler hangs under nothing
    entry = report(result, "wfhooks")
    children = {report_name(result, child) for child in entry["children"]}
    assert children == {"wfhooks.boom", "wfhooks.hooks.running", "wfhooks.hooks.failed"}
    for name in ("wfhooks.hooks.running", "wfhooks.hooks.failed", "wfhooks.onExit"):
        assert report(result, name)["nodeFlag"] == {"hooked": True}
        assert "boundaryID" not in report(result, name)
    # the exit handler starts once the entry node and the hooks it started have ended
    last_hook = max(report(result, n)["finishedAt"] for n in nodes(result) if ".hooks." in n)
    assert started(report(result, "wfhooks.onExit")) >= last_hook


def test_hook_expressions_are_expr_lang_with_its_functions(run_local):
    """As Argo's EvalBool: ``workflow.failures`` is quoted JSON text, read with fromJSON twice
    (util/variables/keys/globals.go), then map, in."""
    wf = load(WORKFLOW_HOOKS)
    wf["spec"]["hooks"]["failed"]["expression"] = (
        'workflow.status == "Failed" && len(workflow.failures) > 0 '
        '&& "boom" in map(fromJSON(fromJSON(workflow.failures)), .displayName)'
    )
    wf["spec"]["hooks"]["succeeded"]["expression"] = (
        'sprig.lower(workflow.status) == "succeeded" || ("nobody" in '
        "map(fromJSON(fromJSON(workflow.failures)) ?? [], .displayName))"  # "null" while none
    )
    result = run_local(wf)
    assert result.phase == "Failed"
    assert result.node("wfhooks.hooks.failed").outputs.result == "then Failed"
    assert "wfhooks.hooks.succeeded" not in nodes(result)


def report_name(result, node_id: str) -> str:
    return result.status["nodes"][node_id]["name"]


def test_spec_on_exit_wins_over_the_exit_hook(run_local):
    wf = load(WORKFLOW_HOOKS)
    wf["spec"]["onExit"] = "said"
    wf["spec"]["templates"].append(
        {"name": "said", "container": {"image": "alpine", "command": ["echo", "onExit"]}}
    )
    result = run_local(wf)
    assert result.node("wfhooks.onExit").outputs.result == "onExit"
    assert report(result, "wfhooks.onExit")["templateName"] == "said"


DAG_HOOKS = (
    """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: taskhooks}
spec:
  entrypoint: main
  arguments:
    parameters: [{name: msg, value: from-the-workflow}]
  templates:
  - name: main
    dag:
      tasks:
      - name: a
        template: slow
        onExit: echo
        hooks:
          running:
            expression: tasks.a.status == "Running"
            template: echo
            arguments: {parameters: [{name: msg, value: "a is {{tasks.a.status}}"}]}
      - name: b
        template: fail
        hooks:
          exit:
            template: echo
            arguments:
              parameters:
              - {name: msg, value: "b {{tasks.b.status}} o={{tasks.b.outputs.parameters.o}}"}
          failed:
            expression: tasks["b"].status == "Failed" && workflow.status == "Running"
            template: failing
          output:
            expression: tasks.b.status == "Failed"
            template: echo
            arguments: {parameters: [{name: msg, value: "o={{tasks.b.outputs.parameters.o}}"}]}
      - name: c
        depends: a
        template: echo
        arguments: {parameters: [{name: msg, value: "after a"}]}
        hooks:
          exit:
            expression: tasks.c.status == "Failed"
            template: echo
      - name: d
        when: "1 == 2"
        template: slow
        onExit: echo
        hooks:
          skipped:
            expression: tasks.d.status == "Skipped"
            template: echo
            arguments: {parameters: [{name: msg, value: "d skipped"}]}
  - name: slow
    container: {image: alpine, command: [sh, -c], args: ["sleep 0.4; echo slow"]}
  - name: fail
    container: {image: alpine, command: [sh, -c], args: ["echo v > /tmp/o; exit 3"]}
    outputs:
      parameters: [{name: o, valueFrom: {path: /tmp/o}}]
  - name: failing
    container: {image: alpine, command: [sh, -c], args: ["exit 1"]}
"""
    + ECHO
)


def test_task_hooks_and_exit_handlers(run_local):
    result = run_local(load(DAG_HOOKS))

    assert result.phase == "Failed"
    assert result.message == "b failed: Error (exit code 3)"
    assert nodes(result) == {
        "taskhooks": ("taskhooks", "DAG", "Failed"),
        "taskhooks.a": ("a", "Pod", "Succeeded"),
        "taskhooks.a.hooks.running": ("a.hooks.running", "Pod", "Succeeded"),
        "taskhooks.a.onExit": ("a.onExit", "Pod", "Succeeded"),
        "taskhooks.b": ("b", "Pod", "Failed"),
        "taskhooks.b.hooks.failed": ("b.hooks.failed", "Pod", "Failed"),
        "taskhooks.b.hooks.output": ("b.hooks.output", "Pod", "Succeeded"),
        "taskhooks.b.onExit": ("b.onExit", "Pod", "Succeeded"),
        "taskhooks.c": ("c", "Pod", "Succeeded"),
        "taskhooks.d": ("d", "Skipped", "Skipped"),
        "taskhooks.d.hooks.skipped": ("d.hooks.skipped", "Pod", "Succeeded"),
    }
    assert result.node("a.hooks.running").outputs.result == "a is Running"
    # onExit without arguments takes the workflow's; hooks.exit sees the status and outputs
    assert result.node("a.onExit").outputs.result == "from-the-workflow"
    assert result.node("b.onExit").outputs.result == "b Failed o=v"
    assert result.node("b.hooks.output").outputs.result == "o=v"
    assert result.node("d.hooks.skipped").outputs.result == "d skipped"
    for name in ("a.hooks.running", "a.onExit", "b.onExit", "b.hooks.failed"):
        node = report(result, f"taskhooks.{name}")
        assert node["boundaryID"] == "taskhooks"
        assert node["nodeFlag"] == {"hooked": True}
    a = report(result, "taskhooks.a")
    assert {report_name(result, c) for c in a["children"]} == {
        "taskhooks.a.hooks.running",
        "taskhooks.a.onExit",
        "taskhooks.c",
    }
    # a depending task starts only once the hooks of what it depends on have ended
    assert (
        started(report(result, "taskhooks.c")) >= report(result, "taskhooks.a.onExit")["finishedAt"]
    )


STEP_HOOKS = (
    """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: stephooks}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: first
        template: echo
        arguments: {parameters: [{name: msg, value: one}]}
        onExit: cleanup
        hooks:
          done:
            expression: steps.first.status == "Succeeded"
            template: echo
            arguments: {parameters: [{name: msg, value: "first {{steps.first.status}}"}]}
    - - name: second
        template: echo
        arguments: {parameters: [{name: msg, value: "{{steps.first.outputs.result}} two"}]}
        hooks:
          exit:
            template: cleanup
  - name: cleanup
    container: {image: alpine, command: [sh, -c], args: ["echo clean; exit 1"]}
"""
    + ECHO
)


def test_step_hooks_and_exit_handlers(run_local):
    result = run_local(load(STEP_HOOKS))

    # a failed exit handler of a step fails neither the step group nor the workflow
    assert result.phase == "Succeeded"
    assert nodes(result) == {
        "stephooks": ("stephooks", "Steps", "Succeeded"),
        "stephooks[0]": ("[0]", "StepGroup", "Succeeded"),
        "stephooks[0].first": ("first", "Pod", "Succeeded"),
        "stephooks[0].first.hooks.done": ("first.hooks.done", "Pod", "Succeeded"),
        "stephooks[0].first.onExit": ("first.onExit", "Pod", "Failed"),
        "stephooks[1]": ("[1]", "StepGroup", "Succeeded"),
        "stephooks[1].second": ("second", "Pod", "Succeeded"),
        "stephooks[1].second.onExit": ("second.onExit", "Pod", "Failed"),
    }
    assert result.node("first.hooks.done").outputs.result == "first Succeeded"
    assert result.node("second").outputs.result == "one two"
    assert report(result, "stephooks[0].first.onExit")["boundaryID"] == "stephooks"
    assert (
        started(report(result, "stephooks[1]"))
        >= report(result, "stephooks[0].first.onExit")["finishedAt"]
    )


def test_hook_expression_that_cannot_be_evaluated_errors_its_node(run_local):
    wf = load(DAG_HOOKS)
    del wf["spec"]["templates"][0]["dag"]["tasks"][1:]
    wf["spec"]["templates"][0]["dag"]["tasks"][0]["hooks"]["running"]["expression"] = (
        'nothing.here == "x"'
    )
    result = run_local(wf)
    assert result.phase == "Error"
    assert nodes(result) == {
        "taskhooks": ("taskhooks", "DAG", "Error"),
        "taskhooks.a": ("a", "Pod", "Error"),
    }
    assert result.node("a").message == (
        "hook expression 'nothing.here == \"x\"': unknown name nothing (1:1)"
    )


@pytest.mark.parametrize(
    "change, expected",
    [
        (
            lambda t: t["hooks"].update(bad={"template": "echo"}),
            "task a: hooks.bad: needs an expression (only the exit hook runs without one)",
        ),
        (
            lambda t: t["hooks"]["running"].update(expression="tasks.a.status =~ 'Runn'"),
            "task a: hooks.running: hook expression 'tasks.a.status =~ 'Runn'': unrecognized "
            "character: U+007E '~' (1:17)",
        ),
        (
            lambda t: t.update(onExit="missing"),
            "task a: onExit: no template named 'missing'",
        ),
        (
            lambda t: t["hooks"]["running"].update(template="gone"),
            "task a: hooks.running: no template named 'gone'",
        ),
        (
            lambda t: t["hooks"].update(exit={"template": "needs-input"}) or t.pop("onExit"),
            "task a: hooks.exit: inputs.parameters.x of template needs-input was not supplied",
        ),
    ],
    ids=["no-expression", "unreadable", "missing-on-exit", "missing-hook-template", "inputs"],
)
def test_hooks_are_checked_before_the_run(run_local, tmp_path, change, expected):
    wf = load(DAG_HOOKS)
    wf["spec"]["templates"].append(
        {
            "name": "needs-input",
            "inputs": {"parameters": [{"name": "x"}]},
            "container": {"image": "alpine", "command": ["true"]},
        }
    )
    change(wf["spec"]["templates"][0]["dag"]["tasks"][0])
    with pytest.raises(UserError) as refused:
        run_local(wf)
    assert expected in str(refused.value)
    assert "\n" not in str(refused.value)
    assert not (tmp_path / "work" / "runs").exists()


def test_hooks_on_a_template_are_not_argo(run_local):
    wf = load(STEP_HOOKS)
    wf["spec"]["templates"][1]["hooks"] = {"exit": {"template": "cleanup"}}
    with pytest.raises(UserError, match="template cleanup: 'hooks'"):
        run_local(wf)


def test_hook_report_is_valid_argo_status(run_local, schema_dir):
    from mlflows.schema import validate_argo_object, validate_workflow

    for text in (WORKFLOW_HOOKS, DAG_HOOKS, STEP_HOOKS):
        assert validate_workflow(load(text), "4.1", schema_dir) == []
    result = run_local(load(DAG_HOOKS))
    status = "io.argoproj.workflow.v1alpha1.WorkflowStatus"
    assert validate_argo_object(result.status, status, "4.1", schema_dir) == []
