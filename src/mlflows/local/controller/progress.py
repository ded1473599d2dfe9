"""Each node's ``progress`` and the workflow's, as Argo's workflow/progress/updater.go computes
them: a pod is ``0/1`` until it succeeds, then ``1/1``; any other node sums the pods it reaches
through ``children`` (the status graph: a DAG task's children are the tasks after it, so they
count too), each once, and has no progress when it reaches no pod; the workflow sums every pod.
"""

from __future__ import annotations

from collections.abc import Iterable

from mlflows.local.controller.nodes import Node, NodeType, Phase


def _pod_done(node: Node) -> int:
    return 1 if node.phase == Phase.SUCCEEDED else 0


def workflow_progress(nodes: Iterable[Node]) -> str:
    pods = [node for node in nodes if node.type == NodeType.POD]
    return f"{sum(_pod_done(pod) for pod in pods)}/{len(pods)}"


def node_progress(nodes: list[Node]) -> dict[str, str]:
    """Node ID to progress, for the nodes that have one."""
    by_id = {node.id: node for node in nodes}
    progress = {}
    for node in nodes:
        if node.type == NodeType.POD:
            progress[node.id] = f"{_pod_done(node)}/1"
            continue
        seen: set[str] = set()
        stack = list(node.children)
        done = total = 0
        while stack:
            child = by_id.get(stack.pop())
            if child is None or child.id in seen:
                continue
            seen.add(child.id)
            if child.type == NodeType.POD:
                done, total = done + _pod_done(child), total + 1
            stack.extend(child.children)
        if total:
            progress[node.id] = f"{done}/{total}"
    return progress
