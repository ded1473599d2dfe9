"""The graph as Mermaid flowchart text, which GitHub, GitLab and most Markdown viewers draw.

Node ids are the box titles made safe (letters, digits and ``_``; a number added when two
collide or when a title is one of Mermaid's keywords); labels are quoted with Mermaid's entity
codes for the characters its parser treats specially. Shapes: a task is a rectangle, a loop a
subroutine box ``[[...]]``, a step group a small circle, a hook a hexagon, the exit handler a
stadium, folded iterations a parallelogram.
"""

from __future__ import annotations

import re

from mlflows.viz.graph import Box, Graph
from mlflows.viz.palette import BOX_FILL, BOX_STROKE, HOOK_FILL, HOOK_STROKE, phase_colour, tint
from mlflows.viz.svg import shorten

_KEYWORDS = {
    "end", "graph", "flowchart", "subgraph", "style", "class", "classdef", "click",
    "linkstyle", "default", "call", "href", "direction",
}  # fmt: skip
_SHAPES = {
    "task": ('["', '"]'),
    "loop": ('[["', '"]]'),
    "group": ('(("', '"))'),
    "hook": ('{{"', '"}}'),
    "exit": ('(["', '"])'),
    "collapsed": ('[/"', '"/]'),
}
LABEL_CHARACTERS = 80  # Mermaid sizes its boxes to their text: only what is very long is cut
_ENTITIES = {
    "#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "|": "#124;", "{": "#123;", "}": "#125;",
}  # fmt: skip


def to_mermaid(graph: Graph, direction: str = "LR") -> str:
    ids = _node_ids(graph)
    lines = [f"flowchart {direction}"]
    for box in graph.boxes.values():
        open_, close = _SHAPES[box.kind]
        lines.append(f"    {ids[box.id]}{open_}{_label(box)}{close}")
    for edge in graph.edges:
        arrow = "-.->" if edge.dashed else "-->"
        label = f"|{_escape(shorten(edge.label, LABEL_CHARACTERS))}|" if edge.label else ""
        lines.append(f"    {ids[edge.source]} {arrow}{label} {ids[edge.target]}")
    lines += _classes(graph, ids)
    return "\n".join(lines) + "\n"


def _node_ids(graph: Graph) -> dict[str, str]:
    ids: dict[str, str] = {}
    used: set[str] = set()
    for box in graph.boxes.values():
        base = re.sub(r"[^A-Za-z0-9_]", "_", box.title).strip("_") or "node"
        if base[0].isdigit() or base.lower() in _KEYWORDS:
            base = f"n_{base}"
        candidate, number = base, 1
        while candidate in used:
            number += 1
            candidate = f"{base}_{number}"
        used.add(candidate)
        ids[box.id] = candidate
    return ids


def _escape(text: str) -> str:
    return "".join(_ENTITIES.get(character, character) for character in text)


def _label(box: Box) -> str:
    if box.kind == "group":
        return " "
    lines = [shorten(line, LABEL_CHARACTERS) for line in [box.title, *box.details]]
    return "<br/>".join(_escape(line) for line in lines)


def _classes(graph: Graph, ids: dict[str, str]) -> list[str]:
    """Class definitions for the kinds and phases present, and who has them."""
    styles = {
        "loop": f"fill:{BOX_FILL},stroke:{BOX_STROKE},stroke-width:2px",
        "hook": f"fill:{HOOK_FILL},stroke:{HOOK_STROKE},stroke-dasharray:5 3",
        "exit": f"fill:{HOOK_FILL},stroke:{HOOK_STROKE},stroke-dasharray:5 3",
    }
    members: dict[str, list[str]] = {}
    for box in graph.boxes.values():
        if box.phase:
            name = box.phase
            colour = phase_colour(box.phase)
            styles[name] = f"fill:{tint(colour)},stroke:{colour},stroke-width:2px"
        elif box.kind in styles:
            name = box.kind
        else:
            continue
        members.setdefault(name, []).append(ids[box.id])
    lines = []
    for name, boxes in members.items():
        lines.append(f"    classDef {name} {styles[name]}")
        lines.append(f"    class {','.join(boxes)} {name}")
    return lines
