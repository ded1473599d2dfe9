"""``spec.retryStrategy``: every template's retryStrategy unless it has its own (operator.go
``retryStrategy``), the DAG's too."""

import pytest
from localrun_helpers import dag, sh, task, workflow

from mlflows.errors import UserError


def test_the_workflows_retry_strategy_is_every_templates_default(run_local):
    result = run_local(
        workflow(
            dag("main", task("flaky", "flaky"), task("once", "once")),
            sh("flaky", "test {{retries}} -ge 2"),  # fails twice, then succeeds
            sh("once", "true", retryStrategy={"limit": 0}),  # its own wins
            retryStrategy={"limit": 2},
        )
    )
    assert result.phase == "Succeeded"
    name = result.name
    phases = {node.name: (node.type, str(node.phase)) for node in result.nodes}
    assert phases == {
        name: ("Retry", "Succeeded"),
        f"{name}(0)": ("DAG", "Succeeded"),
        f"{name}(0).flaky": ("Retry", "Succeeded"),
        f"{name}(0).flaky(0)": ("Pod", "Failed"),
        f"{name}(0).flaky(1)": ("Pod", "Failed"),
        f"{name}(0).flaky(2)": ("Pod", "Succeeded"),
        f"{name}(0).once": ("Retry", "Succeeded"),
        f"{name}(0).once(0)": ("Pod", "Succeeded"),
    }


def test_a_bad_workflow_retry_strategy_is_refused(run_local):
    with pytest.raises(UserError, match="spec.retryStrategy: retryPolicy 'Now' is not one of"):
        run_local(workflow(sh("main", "true"), retryStrategy={"limit": "x", "retryPolicy": "Now"}))
