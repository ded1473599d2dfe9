"""What the user sees: a live table of nodes on a terminal, a line per change otherwise, and a
closing summary laid out like ``argo get``."""

from __future__ import annotations

import os
import sys
import threading
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from mlflows.duration import format_duration
from mlflows.local.controller.nodes import Node, file_name
from mlflows.viz.report import REPORT_FILE

if TYPE_CHECKING:
    from mlflows.local.runner import RunResult

SYMBOLS = {
    "Succeeded": ("✔", "green"),
    "Failed": ("✖", "red"),
    "Error": ("⚠", "red"),
    "Skipped": ("○", "dim"),
    "Omitted": ("○", "dim"),
    "Running": ("●", "cyan"),
    "Pending": ("◷", "yellow"),
}


def _symbol(phase: str) -> str:
    mark, style = SYMBOLS.get(phase, ("?", ""))
    return f"[{style}]{mark}[/]"


class _RunConsole(Console):
    def on_broken_pipe(self) -> None:
        """The output's reader quit (``| head``): print nothing more and let the run go on to its
        end, its report files still written. (rich would raise SystemExit in whichever thread
        printed: a node's thread then ended silently and its DAG waited for it forever.)"""
        self.quiet = True
        try:  # nothing left to flush into the broken pipe at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (AttributeError, OSError, ValueError):
            pass


def make_console() -> Console:
    """A console that does not wrap lines at 80 columns when writing to a file or pipe."""
    console = _RunConsole(highlight=False)
    if not console.is_terminal:
        console = _RunConsole(highlight=False, width=200)
    return console


def _template_label(node: Node) -> str:
    """As ``argo get`` shows it: a templateRef as ``<WorkflowTemplate>/<template>``."""
    if node.template_ref:
        return f"{node.template_ref['name']}/{node.template_ref['template']}"
    return node.template_name or ""


def _memo(node: Node) -> str:
    if node.memoization is None:
        return ""
    return "memo hit" if node.memoization["hit"] else "memo miss"


class RunView:
    def __init__(self, *, quiet: bool = False, console: Console | None = None):
        self.console = console or make_console()
        self.quiet = quiet
        self.live = self.console.is_terminal and not quiet
        self._nodes: dict[str, Node] = {}
        self._printed: dict[str, str] = {}
        self._lock = threading.Lock()

    def _print(self, text: str, **options) -> None:
        if not self.quiet:
            self.console.print(text, **options)

    def note(self, text: str) -> None:
        self._print(f"[dim]note:[/] {escape(text)}")

    def warn(self, text: str) -> None:
        self._print(f"[yellow]warning:[/] {escape(text)}")

    def node_changed(self, node: Node) -> None:
        with self._lock:
            self._nodes[node.id] = node
            if self.live or self.quiet or node.type == "StepGroup":
                return
            if self._printed.get(node.id) == node.phase or (
                node.phase == "Pending" and not node.message
            ):
                return
            self._printed[node.id] = node.phase
        details = [
            part
            for part in (
                format_duration(node.duration) if node.fulfilled else "",
                _memo(node),
                node.message,
            )
            if part
        ]
        stamp = datetime.now().strftime("%H:%M:%S")
        self._print(
            f"{stamp} {_symbol(node.phase)} {node.phase:<9} {escape(node.name)}"
            + (f"  [dim]{escape(' · '.join(details))}[/]" if details else "")
        )

    @contextmanager
    def showing(self):
        """The live table, while the run goes on (on a terminal only)."""
        if not self.live:
            yield
            return
        with Live(get_renderable=self._table, console=self.console, refresh_per_second=4):
            yield

    def _table(self) -> Table:
        table = Table(box=None, pad_edge=False)
        for column in ("NODE", "PHASE", "DURATION", "MEMO", "MESSAGE"):
            table.add_column(column)
        for node, depth in self._tree():
            table.add_row(
                "  " * depth + escape(node.display_name),
                f"{_symbol(node.phase)} {node.phase}",
                format_duration(node.duration),
                _memo(node),
                escape(node.message[:80]),
            )
        return table

    def _tree(self) -> list[tuple[Node, int]]:
        """Nodes in display order with their depth; step groups fold into their steps node."""
        with self._lock:
            nodes = [node for node in self._nodes.values() if node.type != "StepGroup"]
            by_id = dict(self._nodes)

        def shown_parent(node: Node) -> str | None:
            parent = by_id.get(node.parent_id) if node.parent_id else None
            return parent.parent_id if parent and parent.type == "StepGroup" else node.parent_id

        children: dict[str | None, list[Node]] = {}
        for node in nodes:
            children.setdefault(shown_parent(node), []).append(node)
        ordered: list[tuple[Node, int]] = []

        def walk(parent_id: str | None, depth: int) -> None:
            for node in children.get(parent_id, []):
                ordered.append((node, depth))
                walk(node.id, depth + 1)

        walk(None, 0)
        return ordered

    def summary(self, result: RunResult, report_path: Path | None) -> None:
        if self.quiet:
            return

        def print_(line: str = "") -> None:
            self._print(line, soft_wrap=True)

        print_()
        rows = [
            ("Name:", result.name),
            ("Namespace:", result.namespace),
            ("Status:", f"{_symbol(result.phase)} {result.phase}"),
        ]
        if result.message:
            rows.append(("Message:", escape(result.message)))
        rows += [
            ("Duration:", format_duration(result.finished_at - result.started_at)),
            ("Logs:", escape(str(result.run_dir / "logs"))),
        ]
        if report_path:
            rows.append(("Report:", escape(str(report_path))))
        if (result.run_dir / REPORT_FILE).is_file():
            rows.append(("HTML:", escape(str(result.run_dir / REPORT_FILE))))
        for label, value in rows:
            print_(f"{label:<11}{value}")
        print_()
        steps = []
        for node, depth in self._tree():
            message = node.message.split()  # one line, whatever the message holds
            if node.memoization and node.memoization["hit"]:
                message.append("(memoized)")
            steps.append(
                [
                    "  " * depth + f"{_symbol(node.phase)} {escape(node.display_name)}",
                    escape(_template_label(node)),
                    format_duration(node.duration)
                    if node.type in ("Pod", "Retry", "Suspend", "HTTP")
                    else "",
                    escape(" ".join(message)),
                ]
            )
        for line in _columns(["STEP", "TEMPLATE", "DURATION", "MESSAGE"], steps):
            print_(line)
        root = next((node for node in result.nodes if node.name == result.name), None)
        if root is not None and root.type == "Pod":  # a workflow of one pod: show what it said
            print_()
            for line in _output(result, root):
                print_(line)


def _columns(header: list[str], rows: list[list[str]]) -> list[str]:
    """Rows of rich markup as lines: columns aligned two spaces apart, no trailing spaces."""
    widths = [
        max(Text.from_markup(row[k]).cell_len for row in [header, *rows])
        for k in range(len(header))
    ]
    lines = []
    for row in [[f"[bold]{title}[/]" for title in header], *rows]:
        while len(row) > 1 and not row[-1]:
            row = row[:-1]
        padded = [
            cell + " " * (widths[k] - Text.from_markup(cell).cell_len)
            for k, cell in enumerate(row[:-1])
        ]
        lines.append("  ".join([*padded, row[-1]]))
    return lines


OUTPUT_LINES = 20  # of a one-pod workflow's output shown in the summary


def _output(result: RunResult, node: Node) -> list[str]:
    """The pod's output as ``argo logs`` prints it, its last lines when it is long."""
    path = result.run_dir / "logs" / f"{file_name(node.name)}.log"
    lines = path.read_text(errors="replace").splitlines() if path.is_file() else []
    shown = [f"{escape(node.display_name)}: {escape(line.rstrip())}" for line in lines]
    if len(shown) > OUTPUT_LINES:
        skipped = len(shown) - OUTPUT_LINES
        before = f"[dim]… {skipped} lines before, in {escape(str(path))}[/]"
        shown = [before, *shown[-OUTPUT_LINES:]]
    return shown
