"""``{{workflow.*}}`` as Argo's controller sets them (operator.go setGlobalParameters):
``scheduledTime`` is the ``workflows.argoproj.io/scheduled-time`` annotation, which a CronWorkflow
puts on the Workflow it starts and anyone may put on their own; ``labels``/``annotations`` and
their ``.json`` forms are the maps as Go's json.Marshal writes them (sorted keys, no spaces)."""

import json
import re

from localrun_helpers import sh, workflow

ANNOTATION = "workflows.argoproj.io/scheduled-time"


def printed(result) -> str:
    (pod,) = [node for node in result.nodes if node.type == "Pod"]
    return pod.outputs.result


def test_a_workflows_annotation_is_its_scheduled_time(run_local):
    wf = workflow(sh("main", "echo {{workflow.scheduledTime}}"))
    wf["metadata"]["annotations"] = {ANNOTATION: "2026-04-29T00:00:00Z"}
    result = run_local(wf)
    assert result.succeeded, result.message
    assert printed(result) == "2026-04-29T00:00:00Z"


def test_a_cron_workflows_run_is_scheduled_when_it_starts(run_local):
    cron = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "CronWorkflow",
        "metadata": {"name": "nightly"},
        "spec": {
            "schedules": ["0 3 * * *"],
            "workflowSpec": workflow(sh("main", "echo {{workflow.scheduledTime}}"))["spec"],
        },
    }
    result = run_local(cron)
    assert result.succeeded, result.message
    scheduled = printed(result)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", scheduled)  # RFC 3339, as Go's
    assert scheduled[:19] <= result.status["startedAt"][:19]  # set as the run was made


def test_labels_and_annotations_as_json_are_gos_marshal_of_the_maps(run_local):
    wf = workflow(
        sh(
            "main",
            "echo '{{workflow.labels.json}}'; echo '{{workflow.labels}}'; "
            "echo '{{workflow.annotations.json}}'",
        )
    )
    wf["metadata"]["labels"] = {"tier": "example", "app": "demo"}
    wf["metadata"]["annotations"] = {"example.io/owner": "platform <team>"}
    result = run_local(wf)
    assert result.succeeded, result.message
    assert printed(result).splitlines() == [
        '{"app":"demo","tier":"example"}',
        '{"app":"demo","tier":"example"}',
        '{"example.io/owner":"platform \\u003cteam\\u003e"}',
    ]


def test_parameters_as_json_are_gos_marshal_of_the_spec_arguments(run_local, tmp_path):
    """setGlobalParameters: ``{{workflow.parameters}}`` and ``.json`` are json.Marshal of
    ``spec.arguments.parameters``: Parameter structs, fields in declaration order (name, default,
    value, valueFrom, globalName, enum, description), unset ones left out, every value an
    AnyString; a -p value replaces the value, as argo submit does."""
    wf = workflow(sh("main", "echo '{{workflow.parameters}}'; echo '{{workflow.parameters.json}}'"))
    wf["spec"]["arguments"] = {
        "parameters": [
            {"name": "greeting", "value": "hello"},
            {"description": "a <number>", "enum": [5, 6], "value": 5, "name": "n"},
            {"name": "empty", "value": ""},
            {
                "name": "colour",
                "valueFrom": {"default": "red", "configMapKeyRef": {"key": "c", "name": "cm"}},
            },
        ]
    }
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cm", "labels": {"workflows.argoproj.io/configmap-type": "Parameter"}},
        "data": {"c": "blue"},
    }
    applied = tmp_path / "cm.yaml"
    applied.write_text(json.dumps(config_map))
    result = run_local(wf, parameters={"greeting": "hi"}, apply=[applied])
    assert result.succeeded, result.message
    expected = (
        '[{"name":"greeting","value":"hi"},'
        '{"name":"n","value":"5","enum":["5","6"],"description":"a \\u003cnumber\\u003e"},'
        '{"name":"empty","value":""},'
        '{"name":"colour","valueFrom":{"configMapKeyRef":{"name":"cm","key":"c"},"default":"red"}}]'
    )
    assert printed(result).splitlines() == [expected, expected]
