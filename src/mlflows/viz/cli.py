"""``mlflows graph FILE`` (a workflow's DAG as Mermaid or SVG) and ``mlflows report RUN`` (a
run's HTML page)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mlflows.errors import UserError
from mlflows.output import write_file, write_stdout
from mlflows.viz.layout import DIRECTIONS

FORMATS = ("mermaid", "svg")


def register(subparsers: argparse._SubParsersAction) -> None:
    graph = subparsers.add_parser(
        "graph",
        help="draw a workflow's DAG as Mermaid text or SVG",
        description="Draw the DAG of a workflow as Argo's UI shows it: tasks and steps with "
        "their dependencies, a loop as one stacked box, hooks and the exit handler as boxes of "
        "their own. A flow script (flow.py) is run with this Python to print its workflow.",
    )
    graph.add_argument(
        "file",
        metavar="FILE",
        help="the workflow: a YAML file, a flow script (.py) that prints one, or - for stdin",
    )
    graph.add_argument(
        "--format",
        choices=FORMATS,
        default="mermaid",
        help="Mermaid flowchart text, or a self-contained SVG picture (default: %(default)s)",
    )
    graph.add_argument(
        "--direction",
        choices=DIRECTIONS,
        default="LR",
        help="layers from left to right or from top to bottom (default: %(default)s)",
    )
    graph.add_argument(
        "--entrypoint",
        metavar="TEMPLATE",
        help="draw from this template instead of spec.entrypoint",
    )
    graph.add_argument(
        "-o", "--output", metavar="FILE", help="write it to FILE instead of standard output"
    )
    graph.set_defaults(func=_graph)

    report = subparsers.add_parser(
        "report",
        help="write the HTML page of a run: its graph by phase, timeline and logs",
        description="Write report.html for a run from its status: the local runner's run "
        "directory or status.json (logs are read from logs/ beside it), or a workflow saved "
        "with 'argo get -o json'.",
    )
    report.add_argument(
        "run", metavar="RUN_DIR|STATUS.json", help="a run directory or its status JSON file"
    )
    report.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="where to write the page (default: report.html beside the status)",
    )
    report.set_defaults(func=_report)


def _graph(args: argparse.Namespace) -> int:
    from mlflows.viz.source import read_workflow
    from mlflows.viz.workflow import workflow_graph

    graph = workflow_graph(read_workflow(args.file), args.entrypoint)
    if args.format == "svg":
        from mlflows.viz.svg import render_svg

        text = render_svg(graph, args.direction)
    else:
        from mlflows.viz.mermaid import to_mermaid

        text = to_mermaid(graph, args.direction)
    if args.output:
        write_file(args.output, text, "--output")
    else:
        write_stdout(text)
    return 0


def _report(args: argparse.Namespace) -> int:
    from mlflows.viz.report import REPORT_FILE, report_html

    given = Path(args.run)
    path = given / "status.json" if given.is_dir() else given
    try:
        document = json.loads(path.read_text())
    except OSError as err:
        raise UserError(f"{path}: cannot read it: {err.strerror or err}") from None
    except ValueError:
        raise UserError(f"{path}: not JSON; give a run directory or its status.json") from None
    status, name = _status(document)
    if status is None:
        raise UserError(
            f"{path}: no workflow status in it (no 'nodes'); give a run directory, its "
            "status.json, or 'argo get -o json' output"
        )
    output = Path(args.output) if args.output else path.parent / REPORT_FILE
    page = report_html(status, path.parent / "logs", output.resolve().parent, name)
    write_file(output, page, "--output")
    print(f"wrote {output}")
    return 0


def _status(document) -> tuple[dict | None, str | None]:
    """(the status, the workflow's name) of a status file or of a whole Workflow object."""
    if not isinstance(document, dict):
        return None, None
    if isinstance(document.get("nodes"), dict):
        return document, None
    status = document.get("status")
    if isinstance(status, dict) and isinstance(status.get("nodes"), dict):
        return status, (document.get("metadata") or {}).get("name")
    return None, None
