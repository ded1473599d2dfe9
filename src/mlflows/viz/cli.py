"""``mlflows graph FILE``: a workflow's DAG as Mermaid or SVG."""

from __future__ import annotations

import argparse

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
