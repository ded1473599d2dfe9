"""``report.html``: a page for one run, built from its status (Argo's ``WorkflowStatus`` shape).

The run's graph coloured by phase, each box a link to its row in the timeline below; each row
opens the node's log. One self-contained file: inline CSS and SVG, no script, font or network
request, so it opens anywhere, from a CI artifact too. Logs are linked relative to the page and
embedded up to a budget, so that a run with huge logs still gives a page of bounded size.

The local runner writes it beside ``status.json`` after every run; ``mlflows report`` writes it
for any status file (or ``argo get -o json`` output), reading logs from ``logs/`` beside it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from urllib.parse import quote

from mlflows.duration import format_duration
from mlflows.output import write_file
from mlflows.viz.palette import INK, MUTED, PHASE_COLOURS
from mlflows.viz.run import SEVERITY, child_ids, run_graph, seconds, status_nodes, workflow_root
from mlflows.viz.svg import render_svg
from mlflows.viz.timeline import Log, timeline_html

REPORT_FILE = "report.html"
LOG_EMBEDDED = 16_000  # characters of one log embedded in the page: its end
LOGS_EMBEDDED = 1_000_000  # characters of all logs embedded in one page


def write_run_report(run_dir: Path, status: dict) -> Path:
    """Write ``report.html`` into a run's directory, beside its ``status.json`` and ``logs/``."""
    path = run_dir / REPORT_FILE
    write_file(path, report_html(status, run_dir / "logs", run_dir), "report.html")
    return path


def report_html(status: dict, logs_dir: Path, page_dir: Path, name: str | None = None) -> str:
    """The page for ``status``, linking the logs in ``logs_dir`` from a page in ``page_dir``."""
    nodes = status_nodes(status)
    root = workflow_root(nodes, child_ids(nodes))
    name = name or (nodes[root].get("name") if root else None) or "workflow"
    phase = str(status.get("phase", "Unknown"))
    graph = run_graph(status, link=lambda node: f"#node-{node['id']}")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(name)} · {escape(phase)}</title>",
        f"<style>{_css()}</style>",
        "</head><body>",
        _header(status, nodes, name, phase),
        '<section><h2>Graph</h2><div class="graph">',
        render_svg(graph, "LR", prefix="run"),
        "</div>",
        _legend(nodes),
        "</section>",
        "<section><h2>Timeline</h2>",
        timeline_html(status, nodes, _logs(nodes, logs_dir, page_dir)),
        "</section>",
        "<footer>Written by mlflows from the run's status. Click a box to find its row; click a "
        "row to open its log.</footer>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _logs(nodes: dict[str, dict], logs_dir: Path, page_dir: Path) -> Callable[[dict], Log | None]:
    # Imported here, not above: the runner's view imports this module while mlflows.local loads.
    from mlflows.local.controller.nodes import file_name

    stems = {file_name(str(node.get("name", ""))) for node in nodes.values()}
    files = sorted(path.name for path in logs_dir.glob("*.log")) if logs_dir.is_dir() else []
    budget = [LOGS_EMBEDDED]

    def href(name: str) -> str:
        return quote(Path(os.path.relpath(logs_dir / name, page_dir)).as_posix())

    def log_of(node: dict) -> Log | None:
        stem = file_name(str(node.get("name", "")))
        path = logs_dir / f"{stem}.log"
        if not path.is_file():
            return None
        # The logs of the pods a node ran besides its own (a TFJob's replicas, a model server):
        # <node>.<pod>.log, when that is no other node's log.
        others = tuple(
            (name[len(stem) + 1 : -len(".log")], href(name))
            for name in files
            if name.startswith(f"{stem}.")
            and "." not in name[len(stem) + 1 : -len(".log")]
            and name[: -len(".log")] not in stems
        )
        try:
            text = path.read_text(errors="replace")
        except OSError:
            return Log(href(path.name), None, 0, others)
        shown = text[-LOG_EMBEDDED:]
        if len(shown) > budget[0]:
            return Log(href(path.name), None, 0, others)
        budget[0] -= len(shown)
        return Log(href(path.name), shown, len(text) - len(shown), others)

    return log_of


def _header(status: dict, nodes: dict[str, dict], name: str, phase: str) -> str:
    facts = []
    started, finished = seconds(status.get("startedAt")), seconds(status.get("finishedAt"))
    if started is not None:
        moment = datetime.fromtimestamp(started, tz=timezone.utc)
        facts.append(f"started {moment.strftime('%Y-%m-%d %H:%M:%S')} UTC")
    if started is not None and finished is not None:
        facts.append(f"took {format_duration(finished - started)}")
    if status.get("progress"):
        facts.append(f"{escape(str(status['progress']))} pods succeeded")
    facts.append(f"{len(nodes)} nodes")
    message = status.get("message")
    return (
        f'<header><h1>{escape(name)} <span class="pill {escape(phase)}">{escape(phase)}</span>'
        f'</h1><p class="facts">{" · ".join(facts)}</p>'
        + (f'<p class="message">{escape(str(message))}</p>' if message else "")
        + "</header>"
    )


def _legend(nodes: dict[str, dict]) -> str:
    counts: dict[str, int] = {}
    for node in nodes.values():
        phase = str(node.get("phase", "Unknown"))
        counts[phase] = counts.get(phase, 0) + 1
    ordered = sorted(counts, key=lambda p: SEVERITY.index(p) if p in SEVERITY else len(SEVERITY))
    chips = "".join(
        f'<span class="chip"><b class="dot {escape(p)}"></b>{escape(p)} {counts[p]}</span>'
        for p in ordered
    )
    return f'<p class="legend">{chips}</p>'


def _css() -> str:
    phases = "".join(f".{phase}{{--c:{colour}}}" for phase, colour in PHASE_COLOURS.items())
    return (
        phases
        + f"""
body{{margin:0;background:#f5f7fa;color:{INK};
  font:14px/1.45 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif}}
header,section,footer{{margin:0 24px}}
header{{padding:18px 0 2px}}
h1{{font-size:21px;margin:0;display:flex;gap:12px;align-items:center}}
h2{{font-size:12px;text-transform:uppercase;letter-spacing:.08em;color:{MUTED};margin:18px 0 8px}}
.facts{{margin:4px 0 0;color:{MUTED}}}
.message{{margin:6px 0 0;padding:6px 10px;background:#fff;border-left:3px solid #e96d76}}
.pill{{font-size:12px;font-weight:600;padding:2px 10px;border-radius:999px;color:#fff;
  background:var(--c,#8fa4b8)}}
.graph,.timeline{{background:#fff;border:1px solid #dde3ea;border-radius:8px}}
.graph{{overflow:auto;padding:4px}}
.graph svg{{display:block}}
.graph a{{cursor:pointer}}
.legend{{margin:8px 0 0;color:{MUTED};font-size:12px}}
.chip{{margin-right:14px;white-space:nowrap}}
.dot{{display:inline-block;width:9px;height:9px;border-radius:50%;margin-right:6px;
  background:var(--c,#8fa4b8)}}
.timeline{{overflow:hidden}}
.cells{{display:grid;grid-template-columns:minmax(150px,250px) 92px minmax(200px,1fr) 64px
  minmax(120px,280px);gap:0 12px;align-items:center;padding:4px 12px;
  border-top:1px solid #e7ebf0}}
.head .cells{{border-top:0;background:#f8fafc;color:{MUTED};font-size:11px;
  text-transform:uppercase;letter-spacing:.05em}}
summary.cells{{cursor:pointer;list-style:none}}
summary.cells::-webkit-details-marker{{display:none}}
summary.cells:hover{{background:#f8fafc}}
.row:target>.cells{{background:#fff7d6}}
.name{{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}}
.name small{{color:{MUTED}}}
.name i{{display:inline-block;width:13px;font-style:normal;color:{MUTED}}}
details[open] .name i{{transform:rotate(90deg)}}
.log{{color:#0b6fa4;text-decoration:none;font-weight:600}}
.log:hover{{text-decoration:underline}}
.phase{{white-space:nowrap;font-size:12px}}
.track{{position:relative;height:14px;background:#f1f4f7;border-radius:3px}}
.axis{{background:none;height:16px}}
.tick{{position:absolute;transform:translateX(-50%);font-size:10px;text-transform:none}}
.tick:first-child{{transform:none}}
.bar{{position:absolute;top:0;height:14px;min-width:3px;border-radius:3px;background:var(--c)}}
.bar.memo{{background-image:repeating-linear-gradient(135deg,rgba(255,255,255,.55) 0 3px,
  transparent 3px 7px)}}
.bar.open{{border-radius:3px 0 0 3px}}
.took{{text-align:right;font-variant-numeric:tabular-nums;font-size:12px}}
.notes{{font-size:12px;color:{MUTED};overflow:hidden;text-overflow:ellipsis;white-space:nowrap}}
.memo-hit{{color:#0b7a5c;font-weight:600}}
.output{{margin:0;padding:8px 14px;background:#0f1720;color:#e6edf3;max-height:320px;
  overflow:auto;white-space:pre-wrap;font:12px/1.4 "DejaVu Sans Mono",Menlo,monospace}}
.more{{margin:0;padding:6px 12px;color:{MUTED}}}
footer{{margin:18px 24px 24px;color:{MUTED};font-size:12px}}
"""
    )
