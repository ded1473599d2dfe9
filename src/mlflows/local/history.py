"""The local runs of a work directory: what each was started with, and running one again.

Every run records ``runs/<workflow>/submission.json`` (its workflow document, parameters,
namespace, template and apply paths) when it starts, beside the ``status.json`` it writes at its
end. From those, as ``argo retry`` and ``argo resubmit`` do (argo-workflows workflow/util/util.go):

- :func:`retry` runs a Failed or Error run again in its own folder, under its own name, keeping
  its Succeeded nodes and their outputs (:mod:`mlflows.local.controller.prior`);
- :func:`resubmit` starts a new run of the same workflow (a new name); ``memoized`` keeps the old
  run's Succeeded nodes as a retry does.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from mlflows.errors import UserError
from mlflows.local.controller.nodes import file_name
from mlflows.local.controller.prior import Prior, status_time

SUBMISSION = "submission.json"
STATUS = "status.json"
RETRYABLE = ("Failed", "Error")


@dataclass(frozen=True)
class Resume:
    """Run with ``prior``'s nodes kept; in ``run_dir`` under ``name`` (a retry), or in a new
    folder if ``run_dir`` is None (a memoized resubmit)."""

    prior: Prior
    name: str = ""
    run_dir: Path | None = None


@dataclass(frozen=True)
class RunRecord:
    name: str
    run_dir: Path
    phase: str  # "Running" while a run has no status yet (or was killed before writing it)
    started_at: float | None
    finished_at: float | None
    message: str = ""


def save_submission(
    run_dir: Path,
    workflow: dict,
    parameters: dict[str, str],
    namespace: str,
    templates: list | None,
    apply: list | None,
) -> None:
    record = {
        "workflow": workflow,
        "parameters": parameters,
        "namespace": namespace,
        "templates": [str(Path(p).resolve()) for p in templates or []],
        "apply": [str(Path(p).resolve()) for p in apply or []],
    }
    (run_dir / SUBMISSION).write_text(json.dumps(record, indent=2) + "\n")


def find_run(work_dir: Path, run: str) -> Path:
    """The folder of ``run``: a run's name in ``work_dir``, or a run's folder."""
    given = Path(run)
    for folder in (given, Path(work_dir) / "runs" / run):
        if (folder / SUBMISSION).is_file():
            return folder.resolve()
    if (given / STATUS).is_file() or (Path(work_dir) / "runs" / run / STATUS).is_file():
        raise UserError(
            f"{run}: this run has no {SUBMISSION} (it ran before mlflows recorded it); "
            "run its workflow again with mlflows run"
        )
    names = ", ".join(record.name for record in list_runs(work_dir)) or "none"
    raise UserError(
        f"{run}: no such run in {Path(work_dir) / 'runs'} (runs: {names}); give a "
        "run's name or its folder, and --work-dir if it is not .mlflows"
    )


def list_runs(work_dir: Path) -> list[RunRecord]:
    """The work directory's runs, oldest first."""
    runs = Path(work_dir) / "runs"
    folders = sorted(runs.iterdir()) if runs.is_dir() else []
    records = [read_record(folder) for folder in folders if (folder / SUBMISSION).is_file()]
    return sorted(records, key=lambda r: (r.started_at or float("inf"), r.name))


def read_record(run_dir: Path) -> RunRecord:
    status = read_status(run_dir)
    if status is None:
        started = (run_dir / SUBMISSION).stat().st_mtime
        return RunRecord(run_dir.name, run_dir, "Running", started, None)
    return RunRecord(
        run_dir.name,
        run_dir,
        status["phase"],
        status_time(status["startedAt"]),
        status_time(status["finishedAt"]),
        status.get("message", ""),
    )


def read_submission(run_dir: Path) -> dict:
    return json.loads((run_dir / SUBMISSION).read_text())


def read_status(run_dir: Path) -> dict | None:
    path = run_dir / STATUS
    return json.loads(path.read_text()) if path.is_file() else None


def retry(
    run_dir: Path, *, restart_successful: bool = False, node_field_selector: str = "", **options
):
    """Run the failed run in ``run_dir`` again from its failed nodes; its RunResult."""
    from mlflows.local.controller.prior import node_selector
    from mlflows.local.runner import run

    if node_field_selector and not restart_successful:
        raise UserError(
            "--node-field-selector selects Succeeded nodes to run again: give "
            "--restart-successful with it"
        )
    if restart_successful and not node_field_selector:
        raise UserError(
            "--restart-successful: give --node-field-selector to say which "
            "Succeeded nodes run again (or resubmit the workflow)"
        )
    status = _finished_status(run_dir, "retry")
    submission = read_submission(run_dir)
    name = run_dir.name
    restart = node_selector(node_field_selector) if restart_successful else None
    prior = Prior.of(status, name, restart=restart)
    _clear_scratch(run_dir, {name + relative for relative in prior.nodes})
    document = submission["workflow"]
    metadata = document.setdefault("metadata", {})
    metadata.pop("generateName", None)
    metadata["name"] = name
    return _run(
        run, document, submission, run_dir.parent.parent, Resume(prior, name, run_dir), options
    )


def resubmit(run_dir: Path, *, memoized: bool = False, **options):
    """A new run of the workflow of ``run_dir``; with ``memoized``, keeping its Succeeded nodes."""
    from mlflows.local.runner import run

    submission = read_submission(run_dir)
    document = submission["workflow"]
    metadata = document.setdefault("metadata", {})
    if not metadata.get("generateName"):  # as Argo names a resubmitted workflow
        metadata["generateName"] = f"{metadata.pop('name', run_dir.name)}-"
    resume = None
    if memoized:
        status = _finished_status(run_dir, "resubmit --memoized")
        resume = Resume(Prior.of(status, run_dir.name))
    return _run(run, document, submission, run_dir.parent.parent, resume, options)


def _run(run, document: dict, submission: dict, work_dir: Path, resume, options: dict):
    return run(
        document,
        parameters=submission["parameters"],
        namespace=submission["namespace"],
        templates=submission["templates"] or None,
        apply=submission["apply"] or None,
        work_dir=work_dir,
        resume=resume,
        **options,
    )


def _finished_status(run_dir: Path, action: str) -> dict:
    """The run's status, which must be Failed or Error, as Argo's retry requires."""
    status = read_status(run_dir)
    if status is None:
        raise UserError(
            f"{run_dir.name}: the run has not ended (no {STATUS}); wait for it or "
            f"stop it (Ctrl-C) before a {action}"
        )
    if status["phase"] not in RETRYABLE:
        raise UserError(
            f"{run_dir.name}: the run {status['phase']}; only a Failed or Error run "
            f"takes a {action} (mlflows resubmit RUN starts it anew)"
        )
    return status


def _clear_scratch(run_dir: Path, kept_names: set[str]) -> None:
    """Remove the pod folders of the nodes that run again, so no stale output file is read."""
    kept = {file_name(name) for name in kept_names}
    nodes = run_dir / "nodes"
    for folder in nodes.iterdir() if nodes.is_dir() else []:
        if folder.name not in kept:
            shutil.rmtree(folder)
