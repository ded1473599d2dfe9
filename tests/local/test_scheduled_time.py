"""``{{workflow.scheduledTime}}``: as Argo's controller sets its globals (setGlobalParameters), the
value of the ``workflows.argoproj.io/scheduled-time`` annotation, which a CronWorkflow puts on the
Workflow it starts and anyone may put on their own."""

import re

from localrun_helpers import sh, workflow

ANNOTATION = "workflows.argoproj.io/scheduled-time"


def printed_time(result) -> str:
    (pod,) = [node for node in result.nodes if node.type == "Pod"]
    return pod.outputs.result


def test_a_workflows_annotation_is_its_scheduled_time(run_local):
    wf = workflow(sh("main", "echo {{workflow.scheduledTime}}"))
    wf["metadata"]["annotations"] = {ANNOTATION: "2026-04-29T00:00:00Z"}
    result = run_local(wf)
    assert result.succeeded, result.message
    assert printed_time(result) == "2026-04-29T00:00:00Z"


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
    scheduled = printed_time(result)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", scheduled)  # RFC 3339, as Go's
    assert scheduled[:19] <= result.status["startedAt"][:19]  # set as the run was made
