"""Scheduled retraining: a rendered Workflow wrapped in a CronWorkflow, which Argo's controller
starts on a cron schedule (``flows/e2e.py --schedule "0 3 * * 1" --timezone Europe/Berlin``).

The CronWorkflow's ``workflowSpec`` is the workflow's spec unchanged, so a scheduled run is the
run ``--submit`` would start. Its schedule is checked here as Argo's validation checks it
(workflow/validate ``ValidateCronWorkflow``: robfig/cron's ``ParseStandard``, Go's
``time.LoadLocation`` for the time zone, at most 52 characters of name so that the run's name,
``<name>-<unix time>``, stays a Kubernetes name), so a mistake is one line here rather than a
refusal from the server. ``schedules`` (a list) is the field in both Argo versions rendered for:
v4.1 has only it, v3.7 accepts it beside the deprecated ``schedule``.
"""

from __future__ import annotations

import difflib
import functools
import zoneinfo
from dataclasses import dataclass

from mlflows.duration import parse_go_duration
from mlflows.errors import UserError
from mlflows.names import k8s_name

# A run still going when the next is due (a slow week of data): the next is skipped, so two
# runs never promote into the same serving directory at once.
CONCURRENCY_POLICY = "Forbid"
# A run missed while the controller was down still starts if it comes back within this time.
STARTING_DEADLINE_SECONDS = 3600
SUCCESSFUL_JOBS_HISTORY_LIMIT = 3
FAILED_JOBS_HISTORY_LIMIT = 3  # as many as succeeded ones: a failure is what gets looked into
CRON_NAME_LIMIT = 52  # Argo's maxCharsInCronWorkflowName
EXAMPLE = "'0 3 * * 1' (Mondays at 03:00)"


@dataclass(frozen=True)
class CronField:
    what: str
    low: int
    high: int
    names: tuple[str, ...] = ()  # names for low, low + 1, ... (case does not matter)


# robfig/cron's standard fields, in order.
CRON_FIELDS = (
    CronField("minute", 0, 59),
    CronField("hour", 0, 23),
    CronField("day of month", 1, 31),
    CronField("month", 1, 12, tuple("jan feb mar apr may jun jul aug sep oct nov dec".split())),
    CronField("day of week", 0, 6, tuple("sun mon tue wed thu fri sat".split())),
)
DESCRIPTORS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")


def cron_workflow(workflow: dict, schedule: str, timezone: str | None = None) -> dict:
    """A CronWorkflow running ``workflow`` (a rendered Workflow) on ``schedule``, in ``timezone``
    (an IANA name; None: the controller's local time). Named after the workflow's generateName
    (or name), its labels and annotations given to every run it starts."""
    check_schedule(schedule)
    if timezone is not None:
        check_timezone(timezone)
    metadata = workflow.get("metadata") or {}
    name = (metadata.get("generateName") or "").rstrip("-") or metadata.get("name") or ""
    k8s_name(name, "the CronWorkflow's name (the workflow's generateName)", CRON_NAME_LIMIT)
    run_metadata = {key: metadata[key] for key in ("labels", "annotations") if metadata.get(key)}
    spec: dict = {"schedules": [schedule]}
    if timezone is not None:
        spec["timezone"] = timezone
    spec |= {
        "concurrencyPolicy": CONCURRENCY_POLICY,
        "startingDeadlineSeconds": STARTING_DEADLINE_SECONDS,
        "successfulJobsHistoryLimit": SUCCESSFUL_JOBS_HISTORY_LIMIT,
        "failedJobsHistoryLimit": FAILED_JOBS_HISTORY_LIMIT,
    }
    if run_metadata:
        spec["workflowMetadata"] = run_metadata
    spec["workflowSpec"] = workflow["spec"]
    cron_metadata = {"name": name}
    if metadata.get("namespace"):
        cron_metadata["namespace"] = metadata["namespace"]
    return {
        "apiVersion": workflow.get("apiVersion", "argoproj.io/v1alpha1"),
        "kind": "CronWorkflow",
        "metadata": cron_metadata,
        "spec": spec,
    }


def check_schedule(schedule: str) -> None:
    """UserError (one line) unless robfig/cron's ParseStandard, which Argo uses, accepts
    ``schedule``: five fields, a descriptor (``@daily``) or ``@every <duration>``."""
    try:
        _parse(schedule.strip())
    except ValueError as err:
        raise UserError(f"--schedule {schedule!r}: {err}") from None


def _parse(schedule: str) -> None:
    if schedule.startswith(("TZ=", "CRON_TZ=")):
        raise ValueError("give the time zone with --timezone, not in the schedule")
    if schedule.startswith("@every "):
        try:
            parse_go_duration(schedule.removeprefix("@every "))
        except ValueError:
            raise ValueError("@every takes a Go duration, e.g. @every 12h") from None
        return
    if schedule.startswith("@"):
        if schedule not in DESCRIPTORS:
            raise ValueError(f"unknown descriptor; use one of {', '.join(DESCRIPTORS)}")
        return
    fields = schedule.split()
    if len(fields) != len(CRON_FIELDS):
        raise ValueError(
            f"{len(fields)} fields; write {len(CRON_FIELDS)}: minute hour day-of-month month "
            f"day-of-week, e.g. {EXAMPLE}"
        )
    for text, field in zip(fields, CRON_FIELDS, strict=True):
        for part in text.split(","):
            _check_range(part, field)


def _check_range(part: str, field: CronField) -> None:
    """One comma-separated part: ``*`` or ``?``, ``N``, ``N-M``, each maybe with ``/STEP``."""
    span, slash, step = part.partition("/")
    if slash and not (step.isdigit() and int(step) > 0):
        raise ValueError(f"{field.what} {part!r}: the step after '/' must be a number above 0")
    if span in ("*", "?"):
        return
    start, dash, end = span.partition("-")
    first = _value(start, field)
    if dash and _value(end, field) < first:
        raise ValueError(f"{field.what} {part!r}: the range ends before it begins")


def _value(text: str, field: CronField) -> int:
    if text.lower() in field.names:
        return field.low + field.names.index(text.lower())
    if not text.isdigit():
        named = f" or a name ({field.names[0]}...)" if field.names else ""
        raise ValueError(f"{field.what} {text!r} is not a number{named}")
    if not field.low <= int(text) <= field.high:
        first = f" ({field.low} is {field.names[0]})" if field.names else ""
        raise ValueError(f"{field.what} {text} is out of range {field.low}-{field.high}{first}")
    return int(text)


def check_timezone(timezone: str) -> None:
    """UserError (one line) unless ``timezone`` is in the IANA time zone database, as Go's
    ``time.LoadLocation`` reads it on the controller."""
    try:
        zoneinfo.ZoneInfo(timezone)
        return
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        pass
    close = difflib.get_close_matches(timezone, _zones(), n=1)
    hint = f"did you mean {close[0]}?" if close else "e.g. Europe/Berlin, America/New_York, UTC"
    raise UserError(f"--timezone {timezone!r} is not an IANA time zone name; {hint}")


@functools.cache
def _zones() -> list[str]:
    return sorted(zoneinfo.available_timezones())
