"""A run's timeline: one row per node, in the order ``argo get`` lists them, with a bar from its
start to its end on the run's time axis, its duration, attempts, memo hit and message.

A node's row sits under its parent: a retry's attempts and a loop's iterations under their
node, a step under its steps node (step groups are left out), a hook under the node it hooks,
anything else under its ``boundaryID`` (the DAG or steps node it belongs to). A pod's log is
one click away: clicking the row opens it (embedded, its end when long) and its file is linked.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from html import escape

from mlflows.duration import format_duration
from mlflows.viz.run import (
    attempts,
    child_ids,
    duration,
    hooked,
    memo_hit,
    seconds,
    template_label,
)

MAX_ROWS = 1000  # past this, the page says how many more the status holds


@dataclass(frozen=True)
class Log:
    href: str  # the log file, relative to the page
    text: str | None  # embedded, None when over the page's budget
    omitted: int  # characters left out from its start
    others: tuple[tuple[str, str], ...] = ()  # (pod, href) of the other pods it ran


@dataclass(frozen=True)
class Row:
    node: dict
    depth: int


def timeline_rows(nodes: dict[str, dict]) -> list[Row]:
    """Every node but step groups, each under its parent, siblings by start time."""
    children = child_ids(nodes)
    parent = _parents(nodes, children)
    kids: dict[str | None, list[str]] = {}
    for node_id in nodes:
        if nodes[node_id].get("type") != "StepGroup":
            kids.setdefault(parent.get(node_id), []).append(node_id)
    order = {node_id: k for k, node_id in enumerate(nodes)}
    for listed in kids.values():
        listed.sort(key=lambda n: (seconds(nodes[n].get("startedAt")) or 0.0, order[n]))
    rows: list[Row] = []
    pending = [(node_id, 0) for node_id in reversed(kids.get(None, []))]
    placed: set[str] = set()
    while pending:
        node_id, depth = pending.pop()
        if node_id in placed:
            continue
        placed.add(node_id)
        rows.append(Row(nodes[node_id], depth))
        pending += [(child, depth + 1) for child in reversed(kids.get(node_id, []))]
    # a parent cycle (a malformed status) leaves nodes unplaced: listed at the top level
    rows += [
        Row(nodes[n], 0) for n in nodes if n not in placed and nodes[n].get("type") != "StepGroup"
    ]
    return rows


def _parents(nodes: dict[str, dict], children: dict[str, list[str]]) -> dict[str, str]:
    listers: dict[str, list[str]] = {}
    for node_id, listed in children.items():
        for child in listed:
            listers.setdefault(child, []).append(node_id)
    parent: dict[str, str] = {}
    for node_id, node in nodes.items():
        name = str(node.get("name", ""))
        owner = next(
            (
                lister
                for lister in listers.get(node_id, [])
                if name.startswith(str(nodes[lister].get("name", "")) + "(")  # attempt, item
                or hooked(node)
            ),
            None,
        )
        if owner is None and node.get("boundaryID") in nodes:  # its DAG or steps node
            owner = node["boundaryID"]
        if owner is None and listers.get(node_id):
            owner = listers[node_id][0]
        if owner is not None:
            parent[node_id] = owner
    return parent


def timeline_html(
    status: dict, nodes: dict[str, dict], log_of: Callable[[dict], Log | None]
) -> str:
    rows = timeline_rows(nodes)
    start, end = _span(status, nodes)
    span = max(end - start, 1e-3)
    parts = ['<div class="timeline">', _axis(span)]
    for row in rows[:MAX_ROWS]:
        parts.append(_row(row, nodes, start, span, end, log_of(row.node)))
    if len(rows) > MAX_ROWS:
        parts.append(
            f'<p class="more">{len(rows) - MAX_ROWS} more nodes are in the status, not shown.</p>'
        )
    parts.append("</div>")
    return "\n".join(parts)


def _span(status: dict, nodes: dict[str, dict]) -> tuple[float, float]:
    starts = [seconds(n.get("startedAt")) for n in nodes.values()] + [
        seconds(status.get("startedAt"))
    ]
    ends = [seconds(n.get("finishedAt")) for n in nodes.values()] + [
        seconds(status.get("finishedAt"))
    ]
    known_starts = [s for s in starts if s is not None] or [0.0]
    known_ends = [e for e in ends if e is not None] or known_starts
    return min(known_starts), max(max(known_ends), max(known_starts))


def _axis(span: float) -> str:
    """Tick labels at a round step (1, 2 or 5 times a power of ten seconds), at most 8."""
    step = 10 ** math.floor(math.log10(span / 8)) if span > 0 else 1.0
    for factor in (1, 2, 5, 10):
        if span / (step * factor) <= 8:
            step *= factor
            break
    ticks = []
    at = 0.0
    while at <= span + 1e-9:
        ticks.append(
            f'<span class="tick" style="left:{_percent(at / span)}">{format_duration(at)}</span>'
        )
        at += step
    cells = [
        '<span class="name">node</span>',
        '<span class="phase">phase</span>',
        f'<span class="track axis">{"".join(ticks)}</span>',
        '<span class="took">duration</span>',
        '<span class="notes">notes</span>',
    ]
    return f'<div class="row head"><div class="cells">{"".join(cells)}</div></div>'


def _percent(fraction: float) -> str:
    return f"{max(0.0, min(fraction, 1.0)) * 100:.2f}%"


def _row(
    row: Row, nodes: dict[str, dict], start: float, span: float, end: float, log: Log | None
) -> str:
    node = row.node
    phase = str(node.get("phase", "Unknown"))
    began = seconds(node.get("startedAt"))
    began = start if began is None else began
    finished = seconds(node.get("finishedAt"))
    running = finished is None
    finished = end if running else finished
    took = duration(node)
    notes = []
    if log is not None:  # first, so that a long message cannot hide them
        notes.append(f'<a class="log" href="{escape(log.href)}">log</a>')
        notes += [
            f'<a class="log" href="{escape(href)}">{escape(pod)}</a>' for pod, href in log.others
        ]
    notes += _notes(node, nodes)
    title = node.get("displayName") or node.get("name") or node["id"]
    label = template_label(node)
    bar_classes = " ".join(
        ["bar", phase] + (["memo"] if memo_hit(node) else []) + (["open"] if running else [])
    )
    bar_title = f"{title}: {phase}, {format_duration(took) if took is not None else 'not finished'}"
    cells = [
        f'<span class="name" style="padding-left:{row.depth * 14 + 4}px">'
        f"<i>{'' if log is None or log.text is None else '&#9656;'}</i>{escape(title)}"
        + (f" <small>{escape(label)}</small>" if label and label != title else "")
        + "</span>",
        f'<span class="phase"><b class="dot {escape(phase)}"></b>{escape(phase)}</span>',
        f'<span class="track"><span class="{escape(bar_classes)}" '
        f'style="left:{_percent((began - start) / span)};'
        f'width:{_percent((finished - began) / span)}" title="{escape(bar_title)}"></span></span>',
        f'<span class="took">{format_duration(took) if took is not None else ""}</span>',
        f'<span class="notes" title="{escape(str(node.get("message", "")))}">'
        f"{' · '.join(notes)}</span>",
    ]
    row_id = f"node-{escape(node['id'])}"
    kind = escape(str(node.get("type", "")))
    if log is None or log.text is None:
        inner = f'<div class="cells">{"".join(cells)}</div>'
        return f'<div class="row {kind}" id="{row_id}">{inner}</div>'
    shown = log.text or "(no output)"
    cut = f"… {log.omitted} characters before this are in the log file\n" if log.omitted else ""
    return (
        f'<details class="row {kind}" id="{row_id}"><summary class="cells">{"".join(cells)}'
        f'</summary><pre class="output">{escape(cut + shown)}</pre></details>'
    )


def _notes(node: dict, nodes: dict[str, dict]) -> list[str]:
    notes = []
    if node.get("type") == "Retry":
        count = len(attempts(node, nodes))
        notes.append(f"{count} attempt{'s' if count != 1 else ''}")
    if node.get("memoizationStatus"):
        notes.append('<span class="memo-hit">memo hit</span>' if memo_hit(node) else "memo miss")
    if node.get("message"):
        notes.append(escape(str(node["message"])))
    return notes
