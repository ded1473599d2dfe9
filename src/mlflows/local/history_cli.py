"""``mlflows list``, ``get``, ``retry`` and ``resubmit``: the past local runs of a work directory
(:mod:`mlflows.local.history`), as ``argo list|get|retry|resubmit`` are a cluster's."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

from mlflows.duration import format_duration
from mlflows.local.history import (
    find_run,
    list_runs,
    read_record,
    read_status,
    read_submission,
    resubmit,
    retry,
)
from mlflows.local.runner import DEFAULT_WORK_DIR, _pod_count


def register(subparsers) -> None:
    listing = subparsers.add_parser(
        "list",
        help="list the local runs of a work directory",
        description="List the runs of a work directory, oldest first, as argo list: each one's "
        "name, status, start, duration and message.",
    )
    get = subparsers.add_parser(
        "get",
        help="print the summary of a local run",
        description="Print a run's summary, as argo get does and as `mlflows run` printed it "
        "when the run ended; a run still going says so.",
    )
    get.add_argument("run", metavar="RUN", help="a run's name, or its folder")
    retry_ = subparsers.add_parser(
        "retry",
        help="rerun a failed or stopped local run from its failed nodes",
        description="Run a Failed or Error run again in its folder, as argo retry: Succeeded "
        "nodes are kept with their outputs, the others run again.",
    )
    retry_.add_argument("run", metavar="RUN", help="a run's name, or its folder")
    retry_.add_argument(
        "--restart-successful",
        action="store_true",
        help="also run again the Succeeded nodes --node-field-selector selects, and their "
        "dependents",
    )
    retry_.add_argument(
        "--node-field-selector",
        default="",
        metavar="SELECTOR",
        help="FIELD=VALUE or FIELD!=VALUE, comma-separated (displayName, templateName, phase, "
        "name, id)",
    )
    again = subparsers.add_parser(
        "resubmit",
        help="start a new local run of a run's workflow and parameters",
        description="Run a run's workflow again, with its parameters, as a new run, as argo "
        "resubmit; --memoized keeps the Succeeded nodes of a failed run.",
    )
    again.add_argument("run", metavar="RUN", help="a run's name, or its folder")
    again.add_argument(
        "--memoized",
        action="store_true",
        help="keep the Succeeded nodes of the run (which must have failed) instead of rerunning",
    )
    for parser in (listing, get, retry_, again):
        parser.add_argument(
            "--work-dir",
            type=Path,
            default=DEFAULT_WORK_DIR,
            help="the work directory of the runs (default %(default)s)",
        )
    for parser in (retry_, again):
        parser.add_argument("--cache-dir", metavar="DIR", help="memoization cache")
        parser.add_argument("--parallelism", metavar="N", help="at most N pods at once")
    listing.set_defaults(func=_list)
    get.set_defaults(func=_get)
    retry_.set_defaults(func=_retry)
    again.set_defaults(func=_resubmit)


def _list(args: argparse.Namespace) -> int:
    records = list_runs(args.work_dir)
    if not records:
        print(f"no runs in {args.work_dir}")
        return 0
    rows = [["NAME", "STATUS", "STARTED", "DURATION", "MESSAGE"]]
    for record in records:
        started = record.started_at
        rows.append(
            [
                record.name,
                record.phase,
                datetime.fromtimestamp(started).strftime("%Y-%m-%d %H:%M:%S") if started else "-",
                format_duration(record.finished_at - started) if record.finished_at else "-",
                " ".join(record.message.split()),
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return 0


def _get(args: argparse.Namespace) -> int:
    from mlflows.local.controller.nodes import Node, NodeType, Outputs, Phase
    from mlflows.local.controller.prior import status_time
    from mlflows.local.runner import RunResult
    from mlflows.local.view import RunView

    run_dir = find_run(args.work_dir, args.run)
    record = read_record(run_dir)
    status = read_status(run_dir)
    if status is None:
        print(f"{record.name}: running (no status yet)")
        return 0
    by_name = {node["name"]: node for node in status["nodes"].values()}
    nodes = [
        Node(
            id=node["id"],
            name=node["name"],
            display_name=node["displayName"],
            type=NodeType(node["type"]),
            template_name=node.get("templateName"),
            boundary_id=node.get("boundaryID"),
            parent_id=_shown_parent(node, by_name),
            phase=Phase(node["phase"]),
            message=node.get("message", ""),
            started_at=status_time(node["startedAt"]),
            finished_at=status_time(node["finishedAt"]) if node.get("finishedAt") else None,
            children=node.get("children", []),
            outputs=Outputs.from_json(node["outputs"]) if node.get("outputs") else None,
            memoization=node.get("memoizationStatus"),
            template_scope=node.get("templateScope", ""),
            template_ref=node.get("templateRef"),
        )
        for node in status["nodes"].values()
    ]
    namespace = read_submission(run_dir).get("namespace") or "default"
    result = RunResult(
        record.name,
        namespace,
        record.phase,
        record.message,
        nodes,
        run_dir,
        record.started_at or 0.0,
        record.finished_at or 0.0,
        status,
    )
    view = RunView(quiet=True)  # quiet while it takes the nodes in, as a run's view does
    for node in nodes:
        view.node_changed(node)
    view.quiet = False
    view.summary(result, run_dir / "status.json")
    return 0


def _shown_parent(node: dict, by_name: dict[str, dict]) -> str | None:
    """Where a node of a status shows in the tree: a retry's attempt under the retry node, any
    other node under its boundary (the status keeps no display parent)."""
    retried, bracket, _ = node["name"].rpartition("(")
    if bracket and by_name.get(retried, {}).get("type") == "Retry":
        return by_name[retried]["id"]
    return node.get("boundaryID")


def _options(args: argparse.Namespace) -> dict:
    return {"cache_dir": args.cache_dir, "parallelism": _pod_count(args.parallelism)}


def _retry(args: argparse.Namespace) -> int:
    return retry(
        find_run(args.work_dir, args.run),
        restart_successful=args.restart_successful,
        node_field_selector=args.node_field_selector,
        **_options(args),
    ).exit_code


def _resubmit(args: argparse.Namespace) -> int:
    return resubmit(
        find_run(args.work_dir, args.run), memoized=args.memoized, **_options(args)
    ).exit_code
