"""A run's graph, from its status (Argo's ``WorkflowStatus``), drawn as Argo's UI draws it
(ui/src/workflows/components/workflow-dag/workflow-dag.tsx).

Every node is a box coloured by its phase, with an arrow to each of its ``children``; a step
group is a dot, a loop's TaskGroup a stack, a hook (``nodeFlag.hooked``) hangs from its node by a
dashed arrow, and the workflow's exit handler (hooked, nobody's child) follows the workflow's
last nodes by dashed arrows.

As the UI does, a loop's many iterations are folded: past ``FOLD_AFTER`` children, a TaskGroup or
step group shows its first few, one box counting the rest by phase, and its last; what only
the folded iterations lead to folds into that box too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from mlflows.duration import format_duration
from mlflows.viz.graph import Box, Graph

FOLD_AFTER = 6  # a group with more children than this is folded...
SHOWN_FIRST = 3  # ...to its first few, a box for the rest, and its last
FOLDING = ("TaskGroup", "StepGroup")
# Worst first: a folded box has the colour of the worst phase it holds.
SEVERITY = ("Error", "Failed", "Running", "Pending", "Succeeded", "Skipped", "Omitted")


def run_graph(status: dict, link: Callable[[dict], str | None] = lambda node: None) -> Graph:
    """The graph of a run's ``status``; ``link(node)`` is where clicking its box leads."""
    nodes = status_nodes(status)
    children = child_ids(nodes)
    shown, folds = _fold(nodes, children)
    parented = {child for listed in children.values() for child in listed}
    graph = Graph()
    for node_id, node in nodes.items():
        box_id = shown[node_id]
        if box_id == node_id:
            graph.add(_box(node, nodes, node_id not in parented, link(node)))
        elif box_id not in graph.boxes:
            graph.add(_folded_box(box_id, [nodes[n] for n in folds[box_id]]))
    for node_id in nodes:
        for child in children[node_id]:
            graph.connect(shown[node_id], shown[child], dashed=hooked(nodes[child]))
    root = workflow_root(nodes, children)
    if root is not None:
        last = _last_nodes(root, nodes, children)
        for node_id, node in nodes.items():
            if hooked(node) and node_id not in parented:  # the exit handler
                for before in last:
                    graph.connect(shown[before], shown[node_id], dashed=True)
    return graph


def status_nodes(status: dict) -> dict[str, dict]:
    """The status' nodes, each with its key as its ``id``."""
    nodes = status.get("nodes") or {}
    return {
        node_id: {**node, "id": node_id}
        for node_id, node in nodes.items()
        if isinstance(node, dict)
    }


def child_ids(nodes: dict[str, dict]) -> dict[str, list[str]]:
    """Each node's children that are in the status."""
    return {
        node_id: [child for child in node.get("children") or [] if child in nodes]
        for node_id, node in nodes.items()
    }


def workflow_root(nodes: dict[str, dict], children: dict[str, list[str]]) -> str | None:
    """The workflow's own node: nobody's child and no hook."""
    parented = {child for listed in children.values() for child in listed}
    return next((n for n, node in nodes.items() if n not in parented and not hooked(node)), None)


def hooked(node: dict) -> bool:
    return bool((node.get("nodeFlag") or {}).get("hooked"))


def seconds(timestamp: str | None) -> float | None:
    """An RFC 3339 time as seconds since the epoch (Argo writes ``Z`` for UTC)."""
    if not timestamp:
        return None
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


def duration(node: dict) -> float | None:
    started, finished = seconds(node.get("startedAt")), seconds(node.get("finishedAt"))
    return finished - started if started is not None and finished is not None else None


def template_label(node: dict) -> str:
    """As ``argo get`` shows it: a templateRef as ``<WorkflowTemplate>/<template>``."""
    ref = node.get("templateRef")
    if isinstance(ref, dict):
        return f"{ref.get('name')}/{ref.get('template')}"
    return node.get("templateName") or ""


def memo_hit(node: dict) -> bool:
    return bool((node.get("memoizationStatus") or {}).get("hit"))


def attempts(node: dict, nodes: dict[str, dict]) -> list[str]:
    """A retry node's attempts, in order: its children named ``<its name>(<n>)``."""
    pattern = re.compile(re.escape(str(node.get("name", ""))) + r"\(\d+\)")
    return [
        child
        for child in node.get("children") or []
        if child in nodes and pattern.fullmatch(str(nodes[child].get("name", "")))
    ]


def _box(node: dict, nodes: dict[str, dict], orphan: bool, link: str | None) -> Box:
    title = node.get("displayName") or node.get("name") or node["id"]
    phase = node.get("phase")
    if node.get("type") == "StepGroup":
        return Box(node["id"], title, kind="group", phase=phase, tooltip=title, link=link)
    facts = []
    took = duration(node)
    if took is not None:
        facts.append(format_duration(took))
    if node.get("type") == "Retry":
        count = len(attempts(node, nodes))
        facts.append(f"{count} attempt{'' if count == 1 else 's'}")
    elif node.get("type") == "TaskGroup":
        facts.append(f"{len(node.get('children') or [])} items")
    if memo_hit(node):
        facts.append("memo hit")
    label = template_label(node)
    details = ([label] if label and label != title else []) + ([" · ".join(facts)] if facts else [])
    if hooked(node):
        kind = "exit" if orphan else "hook"
    else:
        kind = "loop" if node.get("type") == "TaskGroup" else "task"
    tooltip = "\n".join(
        part for part in (title, phase or "", *details, node.get("message", "")) if part
    )
    return Box(node["id"], title, details, kind, phase, tooltip, link)


def _folded_box(box_id: str, folded: list[dict]) -> Box:
    phases: dict[str, int] = {}
    for node in folded:
        phase = node.get("phase", "Unknown")
        phases[phase] = phases.get(phase, 0) + 1
    counts = ", ".join(f"{count} {phase}" for phase, count in phases.items())
    worst = min(phases, key=lambda p: SEVERITY.index(p) if p in SEVERITY else len(SEVERITY))
    title = f"{len(folded)} more"
    return Box(box_id, title, [counts], "collapsed", worst, f"{title}\n{counts}")


def _fold(
    nodes: dict[str, dict], children: dict[str, list[str]]
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """(the box each node is shown as, the folded iterations of each folded box)."""
    shown = {node_id: node_id for node_id in nodes}
    folds: dict[str, list[str]] = {}
    for node_id, node in nodes.items():
        listed = [child for child in children[node_id] if not hooked(nodes[child])]
        if node.get("type") in FOLDING and len(listed) > FOLD_AFTER:
            box_id = f"{node_id}~folded"
            folds[box_id] = listed[SHOWN_FIRST:-1]
            for child in folds[box_id]:
                shown[child] = box_id
    if not folds:
        return shown, folds
    parented = {child for listed in children.values() for child in listed}
    visible = _reach([n for n in nodes if n not in parented], children, shown)
    for box_id, folded in folds.items():
        for node_id in _reach(folded, children, {}):
            if node_id not in visible and shown[node_id] == node_id:
                shown[node_id] = box_id
    return shown, folds


def _reach(starts: list[str], children: dict[str, list[str]], shown: dict[str, str]) -> set[str]:
    """The nodes reached from ``starts`` through children, not through folded ones."""
    reached: set[str] = set()
    pending = list(starts)
    while pending:
        node_id = pending.pop()
        if node_id in reached:
            continue
        reached.add(node_id)
        pending += [c for c in children[node_id] if shown.get(c, c) == c]
    return reached


def _last_nodes(root: str, nodes: dict[str, dict], children: dict[str, list[str]]) -> list[str]:
    """The nodes the workflow ends with, as the UI's outbound nodes: reached from the root,
    leading nowhere; a retry's earlier attempts, which the last one replaced, left out."""
    replaced = {
        attempt
        for node in nodes.values()
        if node.get("type") == "Retry"
        for attempt in attempts(node, nodes)[:-1]
    }
    main_line = {n: [c for c in listed if not hooked(nodes[c])] for n, listed in children.items()}
    reached = _reach([root], main_line, {})
    return [n for n in nodes if n in reached and n not in replaced and not main_line[n]]
