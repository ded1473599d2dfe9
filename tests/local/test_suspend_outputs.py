"""A suspend's output parameters: locally nothing resumes it, so a timed suspend gives its
``valueFrom.default`` values (Argo's executeSuspend) and one without a duration is refused."""

import pytest
from localrun_helpers import by_display_name, inputs, sh, workflow

from mlflows.local.spec.fields import NotRunnableHere


def approval(**suspend):
    return workflow(
        {
            "name": "main",
            "steps": [
                [{"name": "approve", "template": "approve"}],
                [
                    {
                        "name": "release",
                        "template": "print",
                        "arguments": {
                            "parameters": [
                                {
                                    "name": "message",
                                    "value": "{{steps.approve.outputs.parameters.message}}",
                                }
                            ]
                        },
                    }
                ],
            ],
        },
        {
            "name": "approve",
            "suspend": suspend,
            "outputs": {
                "parameters": [
                    {"name": "message", "valueFrom": {"supplied": {}, "default": "no objection"}},
                    {"name": "ticket", "valueFrom": {"supplied": {}}},
                ]
            },
        },
        sh("print", "echo {{inputs.parameters.message}}", inputs=inputs("message")),
    )


def test_a_timed_suspend_outputs_its_defaults(run_local):
    result = run_local(approval(duration="0"))
    assert result.phase == "Succeeded"
    nodes = by_display_name(result)
    assert nodes["approve"]["type"] == "Suspend"
    assert nodes["approve"]["phase"] == "Succeeded"
    # only the defaulted one: 'ticket' would have come from whoever resumed it
    assert nodes["approve"]["outputs"] == {
        "parameters": [{"name": "message", "value": "no objection"}]
    }
    assert nodes["release"]["phase"] == "Succeeded"
    assert nodes["release"]["inputs"]["parameters"] == [
        {"name": "message", "value": "no objection"}
    ]


def test_a_suspend_nothing_could_resume_is_refused(run_local):
    with pytest.raises(NotRunnableHere, match="suspend without a duration"):
        run_local(approval())
