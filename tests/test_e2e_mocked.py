"""The e2e flow's fan-out, failed branch, memoized ingestion and asynchronous fan-in, run by the
local runner in seconds: the TFJobs, evaluation, serving and prediction are mocked
(:mod:`mlflows.testing`); the DAG, the promote steps with their mutex and `when`s, retries and
memoization run for real. The real training is tests/test_e2e_local.py's. The failed branch is
the static fan-out's (``--fan-out static``), whose tasks and templates are one set per spec, so a
mock can fail one model; the loop's failed item is tests/test_loop.py's, with real training."""

from __future__ import annotations

from mlflows.specs import ModelSpec
from mlflows.testing import Mock

# Globs over the flow's template names, for both fan-outs; the static one's per-model train
# templates are added by its test.
MOCKS = {
    "ingest": Mock(outputs={"record": "{}", "checksum": "0123abcd"}),
    "evaluate*": Mock(outputs={"accuracy": "0.9"}),
    "champion": Mock(outputs={"accuracy": "0"}),  # nothing served yet: any model beats it
    "publish": Mock(),
    "serve": Mock(outputs={"url": "http://localhost:1/v1/models/digits"}),
    "select": Mock(outputs={"accuracy": "0.9", "result": "{}"}),
    "predict": Mock(result="predicted class 3"),
}


def models() -> list[ModelSpec]:
    return [
        ModelSpec(name=name, architecture=architecture, epochs=1, steps_per_epoch=5, workers=1)
        for name, architecture in (
            ("cnn", "cnn"),
            ("dropout", "dropout"),
            ("batch-norm", "batch_norm"),
        )
    ]


def test_a_failed_branch_is_left_out_and_the_first_model_is_served_before_the_slowest_trains(
    mlflows_run, e2e
):
    mocks = {
        "train-dropout*": Mock(outputs={"job-name": "dropout"}, phase="Failed"),
        "train-batch-norm*": Mock(outputs={"job-name": "batch-norm"}, delay=3),
        "train-*": Mock(outputs={"job-name": "trained"}),
        **MOCKS,
    }
    run = mlflows_run(e2e.build_workflow(models(), dataset="digits", loop=False), mocks=mocks)

    run.assert_succeeded()
    run.assert_phase("train-dropout*", "Failed")
    assert run.retries("train-dropout*") == 0  # OnError: a failed TFJob is not retried
    run.assert_phase("promote-dropout*", "Omitted")
    assert run.order("ingest", "train-*", "select", "predict")
    # the asynchronous fan-in: cnn is promoted (and served) while batch-norm still trains
    assert run.ran("promote-cnn*")
    assert run.node("promote-cnn*").finished_at < run.node("train-batch-norm*").finished_at
    assert run.outputs("predict")["result"] == "predicted class 3"


def test_a_second_run_takes_the_ingestion_from_the_memo(mlflows_run, e2e):
    workflow = e2e.build_workflow(models(), dataset="digits")  # the loop, the default
    # the loop's one train template also says where its model is, for select to read
    mocks = {"train": Mock(outputs={"job-name": "trained", "model-dir": "/models/m"}), **MOCKS}
    first = mlflows_run(workflow, mocks=mocks)
    second = mlflows_run(workflow, mocks=mocks)

    first.assert_ran("ingest")
    second.assert_not_ran("ingest")  # a memo hit is not a run
    assert second.node("ingest").memoization["hit"] is True
    assert second.outputs("ingest")["record"] == "{}"
