"""Argo's cap on nested template calls, so a template that calls itself comes to an end.

The controller counts nested ``executeTemplate`` calls (workflow/controller/operator.go,
``currentStackDepth``); the call that reaches ``maxStackDepth`` (100, ``maxAllowedStackDepth`` in
controller.go) does not run: its node ends Error with ``ErrMaxDepthExceeded``'s message, and its
DAG or steps parent goes on as with any errored child. A retry's attempts are part of the retry
node's call; a step group is not a call.
"""

from __future__ import annotations

import threading

from mlflows.local.controller.nodes import Node, NodeStore

MAX_STACK_DEPTH = 100
MAX_DEPTH_MESSAGE = (
    "Maximum recursion depth exceeded. See "
    "https://argo-workflows.readthedocs.io/en/latest/scaling/#maximum-recursion-depth"
)


class CallDepths:
    """How deep each template call's node is: 1 for the entry (and the exit handler)."""

    def __init__(self, nodes: NodeStore):
        self._nodes = nodes
        self._depths: dict[str, int] = {}
        self._lock = threading.Lock()

    def enter(self, node: Node, parent: Node | None) -> bool:
        """Record the call of ``node`` inside ``parent``; False if it is one call too deep."""
        while parent is not None and parent.id not in self._depths:  # a step group, an attempt
            parent = self._nodes.get(parent.parent_id) if parent.parent_id else None
        with self._lock:
            depth = (self._depths[parent.id] if parent is not None else 0) + 1
            self._depths[node.id] = depth
        return depth < MAX_STACK_DEPTH
