"""Failing fast, with the cause: a failed pod's message carries the ``error:`` line its process
ended with, and ``retryStrategy.expression`` stops retrying what another attempt cannot fix."""

import pytest
from localrun_helpers import by_display_name, dag, sh, task, workflow

from mlflows.local.controller.nodes import Node, Outputs
from mlflows.local.controller.retry import EXPRESSION_FALSE, RetryRule, expression_allows

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


USAGE_ERRORS_ARE_FINAL = "asInt(lastRetry.exitCode) != 2"


def test_an_expression_stops_retrying_a_usage_error(run_local):
    result = run_local(
        workflow(
            sh(
                "main",
                failing(2, "error: --epochs -1: give a positive number"),
                retryStrategy={"limit": 5, "expression": USAGE_ERRORS_ARE_FINAL},
            )
        )
    )
    nodes = by_display_name(result)
    assert [name for name in nodes if "(" in name] == [f"{result.name}(0)"]
    assert nodes[result.name]["phase"] == "Failed"
    assert nodes[result.name]["message"] == EXPRESSION_FALSE
    assert nodes[f"{result.name}(0)"]["message"] == (
        "Error (exit code 2): error: --epochs -1: give a positive number"
    )


def test_an_expression_lets_other_failures_retry_up_to_the_limit(run_local):
    result = run_local(
        workflow(
            sh(
                "main",
                "exit 1",
                retryStrategy={"limit": 2, "expression": USAGE_ERRORS_ARE_FINAL},
            )
        )
    )
    attempts = [node for node in result.nodes if node.display_name.startswith(f"{result.name}(")]
    assert len(attempts) == 3
    assert result.message == "No more retries left"


def test_an_expression_reads_retries_and_the_last_status(run_local):
    result = run_local(
        workflow(
            sh(
                "main",
                "exit 1",
                retryStrategy={
                    "limit": 10,
                    "expression": "lastRetry.status == 'Failed' && asInt(retries) < 2",
                },
            )
        )
    )
    attempts = [node for node in result.nodes if node.display_name.startswith(f"{result.name}(")]
    assert len(attempts) == 3
    assert result.message == EXPRESSION_FALSE


def test_an_expression_that_cannot_be_evaluated_errors_the_retry_node(run_local):
    """``lastRetry.exitCode`` is a string, as in Argo: ordering it against a number is an error."""
    result = run_local(
        workflow(
            sh("main", "exit 1", retryStrategy={"limit": 3, "expression": "lastRetry.exitCode > 2"})
        )
    )
    assert result.phase == "Error"
    assert result.message == (
        "retryStrategy.expression 'lastRetry.exitCode > 2': invalid operation: string > int (1:20)"
    )


def test_an_expression_uses_expr_lang_functions_and_let(run_local):
    expression = (
        "let code = asInt(lastRetry.exitCode); lastRetry.status in ['Failed', 'Error'] "
        "&& code not in [2, 64] && int(retries) < 1"
    )
    result = run_local(
        workflow(sh("main", "exit 1", retryStrategy={"limit": 5, "expression": expression}))
    )
    attempts = [node for node in result.nodes if node.display_name.startswith(f"{result.name}(")]
    assert len(attempts) == 2
    assert result.message == EXPRESSION_FALSE


def attempt(phase: str, exit_code: str | None, message: str = "") -> Node:
    node = Node("n", "wf(0)", "wf(0)", "Pod", "main", None, None, phase=phase, message=message)
    node.outputs = Outputs(exit_code=exit_code)
    node.finished_at = node.started_at + 2.5
    return node


@pytest.mark.parametrize(
    "expression, last, allowed",
    [
        (USAGE_ERRORS_ARE_FINAL, attempt("Failed", "2"), False),
        (USAGE_ERRORS_ARE_FINAL, attempt("Failed", "1"), True),
        ("asInt(lastRetry.exitCode) == -1", attempt("Error", None), True),  # Argo's "-1"
        ("lastRetry.exitCode == '137'", attempt("Failed", "137"), True),
        ("lastRetry.exitCode == 137", attempt("Failed", "137"), False),  # a string, not a number
        ("asFloat(lastRetry.duration) > 2", attempt("Failed", "1"), True),
        ("lastRetry.duration == '2.5'", attempt("Failed", "1"), True),
        ("lastRetry.message != 'OOMKilled'", attempt("Failed", "1", "OOMKilled"), False),
        ("retries == '0' and not (lastRetry.status == 'Error')", attempt("Failed", "1"), True),
    ],
)
def test_expression_variables_are_argos(expression, last, allowed):
    assert expression_allows(expression, [last]) is allowed


def test_the_rule_evaluates_the_expression_only_when_it_would_retry():
    rule = RetryRule.read({"limit": 1, "retryPolicy": "OnError", "expression": "true"})
    assert rule.verdict([attempt("Failed", "1", "boom")], None, None) == ("Failed", "boom")
    rule = RetryRule.read({"limit": 0, "expression": "1 < 'a'"})  # never evaluated
    assert rule.verdict([attempt("Failed", "1")], None, None) == ("Failed", "No more retries left")


# Writes each line, then waits until the runner has read it (FIONREAD: no bytes left in the pipe)
# before the next, so the order in which the lines reached the runner is known.
TAKE_TURNS = """
import fcntl, os, struct, sys, termios, time

def say(fd, text):
    os.write(fd, text.encode())
    while struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"0000"))[0]:
        time.sleep(0.001)

for number in range(12):
    say(1 + number % 2, f"error: line {number} on fd {1 + number % 2}\\n")
sys.exit(1)
"""


def test_stdout_and_stderr_reach_the_log_in_the_order_they_were_written(run_local):
    turns = {"name": "main", "script": {"image": "python", "command": ["python"]}}
    turns["script"]["source"] = TAKE_TURNS
    result = run_local(workflow(turns))
    lines = [line for line in result.log(result.name).splitlines() if line.startswith("error:")]
    assert lines == [f"error: line {n} on fd {1 + n % 2}" for n in range(12)]
    assert result.message == "Error (exit code 1): error: line 11 on fd 2"
    (pod,) = [node for node in result.nodes if node.type == "Pod"]
    assert pod.outputs.result.splitlines() == lines[0::2]  # the result is stdout's alone


def test_a_line_on_each_stream_written_at_once_keeps_its_order(run_local):
    # Both pipes may be ready when the runner looks: it reads them in the order they became
    # ready (epoll's ready list is first come, first served), so stdout's later line is last.
    script = "echo 'error: first, on stderr' >&2; echo 'error: last, on stdout'; exit 1"
    result = run_local(workflow(sh("main", script)))
    assert result.message == "Error (exit code 1): error: last, on stdout"
