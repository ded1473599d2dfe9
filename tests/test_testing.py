"""mlflows.testing: a workflow run by the real local runner with some templates mocked, and
its trace asked about as its diagram reads."""

from __future__ import annotations

import pytest

from mlflows.errors import UserError
from mlflows.testing import Mock


def python(name: str, source: str, **fields) -> dict:
    return {
        "name": name,
        "script": {"image": "python:3.12", "command": ["python"], "source": source},
        **fields,
    }


# ingest ── train-a ─┬─ select ── promote (when accuracy > 0.8)
#        └─ train-b ─┘
WORKFLOW = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Workflow",
    "metadata": {"generateName": "mocked-"},
    "spec": {
        "entrypoint": "main",
        "templates": [
            {
                "name": "main",
                "dag": {
                    "tasks": [
                        {"name": "ingest", "template": "ingest"},
                        *(
                            {
                                "name": f"train-{branch}",
                                "template": "train",
                                "depends": "ingest",
                                "arguments": {"parameters": [{"name": "model", "value": model}]},
                            }
                            for branch, model in (("a", "7"), ("b", "9"))
                        ),
                        {
                            "name": "select",
                            "template": "select",
                            "depends": "train-a && train-b",
                            "arguments": {
                                "parameters": [
                                    {
                                        "name": "accuracy",
                                        "value": "{{tasks.train-a.outputs.parameters.accuracy}}",
                                    }
                                ]
                            },
                        },
                        {
                            "name": "promote",
                            "template": "promote",
                            "depends": "select",
                            "when": "{{tasks.select.outputs.result}} > 0.8",
                        },
                    ]
                },
            },
            python("ingest", "raise SystemExit('ingest must be mocked in these tests')"),
            python(
                "train",
                "raise SystemExit('train must be mocked')",
                inputs={"parameters": [{"name": "model"}]},
                outputs={
                    "parameters": [{"name": "accuracy", "valueFrom": {"path": "/tmp/accuracy"}}]
                },
                retryStrategy={"limit": "2"},
            ),
            python(
                "select",
                "print('{{inputs.parameters.accuracy}}')",
                inputs={"parameters": [{"name": "accuracy"}]},
            ),
            python("promote", "print('promoted')"),
        ],
    },
}


def test_mocked_templates_run_in_place_of_theirs_and_the_rest_runs_for_real(mlflows_run):
    run = mlflows_run(
        WORKFLOW,
        mocks={
            "ingest": Mock(result="ingested"),
            "train": Mock(outputs={"accuracy": "0.{{inputs.parameters.model}}"}, delay=0.2),
        },
    )
    run.assert_succeeded()
    assert run.outputs("ingest") == {"result": "ingested", "exitCode": "0"}
    # the mock's outputs are templated with the node's inputs
    assert run.outputs("train-b")["accuracy"] == "0.9"
    assert run.outputs("select")["result"] == "0.7"
    assert run.ran("train-*")
    assert run.order("ingest", "train-*", "select")
    run.assert_phase("promote", "Skipped")  # '0.7 > 0.8' is false
    assert not run.ran("promote")


def test_a_failing_mock_is_retried_by_the_kept_retry_strategy(mlflows_run):
    run = mlflows_run(
        WORKFLOW,
        mocks={
            "ingest": Mock(),
            "train": Mock(outputs={"accuracy": "0.9"}, exit_code=3),
        },
    )
    assert run.phase == "Failed"
    assert run.retries("train-a") == 2  # limit 2: three attempts
    assert run.outputs("train-a(2)")["exitCode"] == "3"
    run.assert_phase("select", "Omitted")
    run.assert_not_ran("select")


def test_an_erring_mock_is_retried_on_error(mlflows_run):
    wf = {
        **WORKFLOW,
        "spec": {**WORKFLOW["spec"], "templates": list(WORKFLOW["spec"]["templates"])},
    }
    ingest = wf["spec"]["templates"][1]
    wf["spec"]["templates"][1] = {
        **ingest,
        "retryStrategy": {"limit": "1", "retryPolicy": "OnError"},
    }
    run = mlflows_run(
        wf, mocks={"ingest": Mock(phase="Error"), "train": Mock(outputs={"accuracy": "1"})}
    )
    run.assert_phase("ingest", "Error")
    assert run.retries("ingest") == 1  # OnError retries an Error, as it would not a Failed
    assert "mock-error" in run.node("ingest(1)").message


def test_a_failed_assertion_prints_the_run_tree(mlflows_run):
    run = mlflows_run(
        WORKFLOW, mocks={"ingest": Mock(phase="Failed"), "train": Mock(outputs={"accuracy": "1"})}
    )
    with pytest.raises(AssertionError) as raised:
        run.assert_phase("ingest", "Succeeded")
    text = str(raised.value)
    assert text.startswith("ingest is Failed, expected Succeeded\nworkflow mocked-")
    assert "\n    ingest: Failed" in text  # indented under the DAG node
    with pytest.raises(AssertionError, match="'nope' matches 0 nodes, not one"):
        run.node("nope")


@pytest.mark.parametrize(
    ("mocks", "error"),
    [
        ({"trian": Mock()}, "mocks: 'trian' matches no template"),
        ({"train": Mock()}, "template 'train' declares output 'accuracy'; give it"),
        (
            {"train": Mock(outputs={"accuracy": "1", "loss": "2"})},
            "template 'train' declares no output 'loss'",
        ),
    ],
)
def test_a_mock_that_does_not_fit_is_one_clear_error(mlflows_run, mocks, error):
    with pytest.raises(UserError, match=error):
        mlflows_run(WORKFLOW, mocks=mocks)


def test_a_mocked_artifact_reaches_the_real_step_that_reads_it(mlflows_run):
    workflow = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"generateName": "mocked-artifact-"},
        "spec": {
            "entrypoint": "main",
            "templates": [
                {
                    "name": "main",
                    "dag": {
                        "tasks": [
                            {"name": "export", "template": "export"},
                            {
                                "name": "read",
                                "template": "read",
                                "depends": "export",
                                "arguments": {
                                    "artifacts": [
                                        {
                                            "name": "model",
                                            "from": "{{tasks.export.outputs.artifacts.model}}",
                                        }
                                    ]
                                },
                            },
                        ]
                    },
                },
                python(
                    "export",
                    "raise SystemExit('export must be mocked')",
                    outputs={"artifacts": [{"name": "model", "path": "/out/model.txt"}]},
                ),
                python(
                    "read",
                    "print(open('/in/model.txt').read())",
                    inputs={"artifacts": [{"name": "model", "path": "/in/model.txt"}]},
                ),
            ],
        },
    }

    run = mlflows_run(workflow, mocks={"export": Mock(artifacts={"model": "weights v2"})})

    run.assert_succeeded()
    assert run.outputs("read")["result"] == "weights v2"
    with pytest.raises(UserError, match="declares output artifact 'model'; give it"):
        mlflows_run(workflow, mocks={"export": Mock()})
