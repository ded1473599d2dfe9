"""Scheduled retraining: the CronWorkflow wrapping a rendered workflow, its schedule and time zone
checked as Argo checks them (one line on a mistake), and ``mlflows run`` running a CronWorkflow's
workflow once, as ``argo submit --from cronwf/NAME`` does."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml
from repo_workflows import REPO, child_environment

from mlflows import cli
from mlflows.errors import UserError
from mlflows.rendering import render
from mlflows.schedule import (
    CONCURRENCY_POLICY,
    FAILED_JOBS_HISTORY_LIMIT,
    STARTING_DEADLINE_SECONDS,
    SUCCESSFUL_JOBS_HISTORY_LIMIT,
    check_schedule,
    check_timezone,
    cron_workflow,
)

HELLO = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "CronWorkflow",
    "metadata": {"name": "hello-cron", "namespace": "team-a"},
    "spec": {
        "schedules": ["*/5 * * * *"],
        "workflowMetadata": {"labels": {"team": "vision"}},
        "workflowSpec": {
            "entrypoint": "hello",
            "templates": [
                {
                    "name": "hello",
                    "container": {
                        "image": "python:3.12",
                        "command": ["python", "-c"],
                        "args": [
                            "import sys; print('hello from', *sys.argv[1:])",
                            "{{workflow.name}}",
                            "{{workflow.namespace}}",
                            "{{workflow.labels}}",
                        ],
                    },
                }
            ],
        },
    },
}


def test_the_cron_workflow_runs_the_workflows_spec_on_the_schedule(e2e):
    workflow = render(e2e.build_workflow())
    workflow["metadata"]["labels"] = {"team": "vision"}
    cron = cron_workflow(workflow, "0 3 * * 1", "Europe/Berlin")

    assert cron["kind"] == "CronWorkflow"
    assert cron["metadata"] == {"name": "e2e", "namespace": "mlflows"}  # runs: e2e-<time>
    assert cron["spec"] == {
        "schedules": ["0 3 * * 1"],
        "timezone": "Europe/Berlin",
        "concurrencyPolicy": CONCURRENCY_POLICY,
        "startingDeadlineSeconds": STARTING_DEADLINE_SECONDS,
        "successfulJobsHistoryLimit": SUCCESSFUL_JOBS_HISTORY_LIMIT,
        "failedJobsHistoryLimit": FAILED_JOBS_HISTORY_LIMIT,
        "workflowMetadata": {"labels": {"team": "vision"}},
        "workflowSpec": workflow["spec"],
    }
    assert CONCURRENCY_POLICY == "Forbid"
    assert "timezone" not in cron_workflow(workflow, "@daily")["spec"]  # the controller's


def test_a_name_too_long_for_the_runs_it_starts_is_refused():
    workflow = {"metadata": {"generateName": "x" * 53 + "-"}, "spec": {}}
    with pytest.raises(UserError, match="at most 52 characters"):
        cron_workflow(workflow, "@daily")


@pytest.mark.parametrize(
    "schedule",
    ["0 3 * * 1", "*/15 * * * *", "0 3 * * MON-FRI", "0 3 ? jan,Dec sun", "5/10 1-5/2 1,15 * *",
     "@daily", "@hourly", "@every 36h"],
)  # fmt: skip
def test_schedules_robfig_cron_accepts_are_accepted(schedule):
    check_schedule(schedule)


@pytest.mark.parametrize(
    "schedule, problem",
    [
        ("0 3 * *", "4 fields; write 5: minute hour day-of-month month day-of-week"),
        ("0 3 * * * *", "6 fields; write 5"),
        ("0 24 * * *", "hour 24 is out of range 0-23"),
        ("0 3 * * 7", "day of week 7 is out of range 0-6 (0 is sun)"),
        ("0 3 0 * *", "day of month 0 is out of range 1-31"),
        ("0 3 * 13 *", "month 13 is out of range 1-12 (1 is jan)"),
        ("0 3 * * FRI-MON", "day of week 'FRI-MON': the range ends before it begins"),
        ("*/0 * * * *", "minute '*/0': the step after '/' must be a number above 0"),
        ("0 3 * * noon", "day of week 'noon' is not a number or a name (sun...)"),
        ("@fortnightly", "unknown descriptor; use one of @yearly, @annually"),
        ("@every often", "@every takes a Go duration, e.g. @every 12h"),
        ("CRON_TZ=UTC 0 3 * * *", "give the time zone with --timezone, not in the schedule"),
    ],
)
def test_a_bad_schedule_is_one_line_naming_the_field(schedule, problem):
    with pytest.raises(UserError) as raised:
        check_schedule(schedule)
    assert str(raised.value).startswith(f"--schedule {schedule!r}: {problem}")
    assert "\n" not in str(raised.value)


def test_a_time_zone_is_an_iana_name():
    check_timezone("Europe/Berlin")
    check_timezone("UTC")
    with pytest.raises(UserError, match=r"'Europe/Berln' .* did you mean Europe/Berlin\?$"):
        check_timezone("Europe/Berln")
    for name in ("Mars/Olympus", "../../etc/passwd", ""):
        with pytest.raises(UserError, match="is not an IANA time zone name; e.g. Europe/Berlin"):
            check_timezone(name)


@pytest.mark.parametrize(
    "options, line",
    [
        (["--schedule", "0 3 * * 8"], "error: --schedule '0 3 * * 8': day of week 8 is out of "
         "range 0-6 (0 is sun)"),
        (["--schedule", "0 3 * * 1", "--timezone", "Europe/Berln"], "error: --timezone "
         "'Europe/Berln' is not an IANA time zone name; did you mean Europe/Berlin?"),
        (["--timezone", "UTC"], "error: --timezone: it is the time zone of a --schedule; give one"),
    ],
    ids=["schedule", "timezone", "timezone-alone"],
)  # fmt: skip
def test_the_flows_schedule_mistakes_are_one_line_with_nothing_written(options, line, tmp_path):
    output = tmp_path / "cron.yaml"
    result = subprocess.run(
        [sys.executable, "flows/e2e.py", *options, "--output", str(output)],
        cwd=REPO, capture_output=True, text=True, env=child_environment(),
    )  # fmt: skip
    assert (result.returncode, result.stdout, result.stderr) == (2, "", line + "\n")
    assert not output.exists()


def test_mlflows_run_runs_the_cron_workflows_workflow_once(tmp_path):
    cron = tmp_path / "cron.yaml"
    cron.write_text(yaml.safe_dump(HELLO))
    report = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, "-m", "mlflows", "run", str(cron), "--work-dir", str(tmp_path / "work"),
         "--report-json", str(report)],
        capture_output=True, text=True, timeout=120, env=child_environment(),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    status = json.loads(report.read_text())
    assert status["phase"] == "Succeeded"
    [node] = [n for n in status["nodes"].values() if n["type"] == "Pod"]
    name = node["name"]
    assert name.startswith("hello-cron-") and len(name) == len("hello-cron-") + 5
    [log] = (tmp_path / "work" / "runs" / name / "logs").iterdir()
    said = log.read_text().split("hello from ", 1)[1].split(" ", 2)
    assert said[:2] == [name, "team-a"]
    labels = json.loads(said[2].strip())
    assert labels == {"workflows.argoproj.io/cron-workflow": "hello-cron", "team": "vision"}


def test_validate_checks_the_cron_workflows_workflow_with_the_runners_checks(
    tmp_path, schema_dir, capsys
):
    cron = tmp_path / "cron.yaml"
    cron.write_text(yaml.safe_dump(HELLO))
    validate = ["validate", str(cron), "--schema-dir", str(schema_dir)]
    assert cli.main(validate) == 0
    assert capsys.readouterr().out == "valid\n"

    broken = json.loads(json.dumps(HELLO))
    broken["spec"]["workflowSpec"]["entrypoint"] = "goodbye"
    cron.write_text(yaml.safe_dump(broken))
    assert cli.main(validate) == 1
    assert "(CronWorkflow): spec.entrypoint: no template named 'goodbye'" in capsys.readouterr().out
