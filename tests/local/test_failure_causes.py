"""Failing with the cause: a failed pod's message carries the ``error:`` line its process ended
with."""

from localrun_helpers import dag, sh, task, workflow

CANNOT_DOWNLOAD = (
    "error: cannot download fashion_mnist (no internet here); use --dataset digits, which "
    "ships with scikit-learn"
)


def failing(code: int, *lines: str) -> str:
    """A script that logs a few lines to stderr (one pipe: their order is kept), then exits
    with ``code``."""
    said = "; ".join(f"echo '{line}'" for line in ("error: an early, recovered problem", *lines))
    return f"echo starting; {{ {said}; }} >&2; exit {code}"


def test_a_failed_pod_says_why_in_its_message_and_the_workflows(run_local):
    result = run_local(workflow(sh("main", failing(1, CANNOT_DOWNLOAD, "exiting"))))
    assert result.phase == "Failed"
    assert result.message == f"Error (exit code 1): {CANNOT_DOWNLOAD}"
    assert result.node(result.name).message == result.message


def test_the_cause_reaches_the_dag_above_it(run_local):
    result = run_local(
        workflow(dag("main", task("ingest", "ingest")), sh("ingest", failing(1, CANNOT_DOWNLOAD)))
    )
    assert result.node("ingest").message == f"Error (exit code 1): {CANNOT_DOWNLOAD}"
    assert result.message.endswith(CANNOT_DOWNLOAD)


def test_argparse_errors_count_as_the_cause(run_local):
    script = (
        "python3 -c \"import argparse; argparse.ArgumentParser(prog='train').parse_args(['-x'])\""
    )
    result = run_local(workflow(sh("main", script)))
    assert result.message == "Error (exit code 2): train: error: unrecognized arguments: -x"


def test_without_an_error_line_the_message_is_argos_alone(run_local):
    result = run_local(workflow(sh("main", "echo all fine; exit 3")))
    assert result.message == "Error (exit code 3)"


def test_a_pod_stopped_by_its_deadline_keeps_the_deadline_as_its_message(run_local):
    result = run_local(
        workflow(sh("main", "echo 'error: not the cause'; sleep 30", activeDeadlineSeconds=1))
    )
    assert result.message == "Pod was active on the node longer than the specified deadline"
