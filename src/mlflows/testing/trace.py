"""A local run's trace, asked about in the words of its diagram.

Nodes are found by display name (a task or step name, ``name(attempt)``) or a glob of it.
Questions return plain values for ``assert``; their repr is the run's tree, so pytest's
assertion rewriting prints it on failure. The ``assert_*`` helpers raise an AssertionError
that says what differed and prints the tree.
"""

from __future__ import annotations

import fnmatch
from itertools import pairwise
from typing import TYPE_CHECKING

from mlflows.local.controller.nodes import Node, NodeType, Phase

if TYPE_CHECKING:
    from mlflows.local.runner import RunResult


class Trace:
    def __init__(self, result: RunResult):
        self.result = result
        self.phase = result.phase
        self.message = result.message

    # -- finding nodes ----------------------------------------------------------------------

    def nodes(self, pattern: str = "*") -> list[Node]:
        """Every node whose display name matches ``pattern``, in the order they were made; a
        retry's attempts (``name(n)``) only if the pattern names one, so ``train-*`` is the
        retried nodes, not their attempts too."""
        by_id = {n.id: n for n in self.result.nodes}
        return [
            n
            for n in self.result.nodes
            if fnmatch.fnmatchcase(n.display_name, pattern)
            and ("(" in pattern or not _is_attempt(n, by_id.get(n.parent_id)))
        ]

    def node(self, pattern: str) -> Node:
        """The one node matching ``pattern``; an AssertionError with the tree if none or more."""
        found = self.nodes(pattern)
        if len(found) != 1:
            names = ", ".join(n.display_name for n in found)
            self.fail(
                f"{pattern!r} matches {len(found)} nodes, not one" + (f": {names}" if names else "")
            )
        return found[0]

    # -- questions --------------------------------------------------------------------------

    def ran(self, pattern: str) -> bool:
        """Whether some node matching ``pattern`` ran (succeeded, failed or erred)."""
        return any(Phase(n.phase).completed and not _hit(n) for n in self._leaves(pattern))

    def order(self, *patterns: str) -> bool:
        """Whether every node matching each pattern finished before any matching the next
        started (each pattern must match a node that ran)."""
        groups = [self._leaves(pattern) for pattern in patterns]
        if not all(groups):
            return False
        return all(
            max(n.finished_at or float("inf") for n in before) <= min(n.started_at for n in after)
            for before, after in pairwise(groups)
        )

    def retries(self, pattern: str) -> int:
        """How often the node was retried: its attempts less one (0 without a retryStrategy)."""
        return max(len(self._attempts(self.node(pattern))) - 1, 0)

    def outputs(self, pattern: str) -> dict[str, str]:
        """The node's output parameters, and ``result`` and ``exitCode`` if it has them."""
        outputs = self.node(pattern).outputs
        if outputs is None:
            return {}
        values = dict(outputs.parameters)
        if outputs.result is not None:
            values["result"] = outputs.result
        if outputs.exit_code is not None:
            values["exitCode"] = outputs.exit_code
        return values

    def log(self, pattern: str) -> str:
        return self.result.log(self.node(pattern).display_name)

    # -- assertions -------------------------------------------------------------------------

    def assert_phase(self, pattern: str, phase: str) -> None:
        actual = self.node(pattern).phase
        if actual != phase:
            self.fail(f"{pattern} is {actual}, expected {phase}")

    def assert_succeeded(self) -> None:
        if self.phase != "Succeeded":
            self.fail(f"the workflow is {self.phase}, expected Succeeded ({self.message})")

    def assert_ran(self, pattern: str) -> None:
        if not self.ran(pattern):
            self.fail(f"no node matching {pattern!r} ran")

    def assert_not_ran(self, pattern: str) -> None:
        if self.ran(pattern):
            self.fail(f"a node matching {pattern!r} ran")

    def assert_order(self, *patterns: str) -> None:
        if not self.order(*patterns):
            self.fail("not in order: " + " -> ".join(patterns))

    def fail(self, message: str) -> None:
        raise AssertionError(f"{message}\n{self.tree()}")

    # -- the tree ---------------------------------------------------------------------------

    def tree(self) -> str:
        """The run's nodes as an indented tree: name, phase, duration, message."""
        by_id = {n.id: n for n in self.result.nodes}
        roots = [n for n in self.result.nodes if n.parent_id not in by_id]
        children: dict[str, list[Node]] = {}
        for n in self.result.nodes:
            if n.parent_id in by_id:
                children.setdefault(n.parent_id, []).append(n)
        lines = [f"workflow {self.result.name}: {self.phase}" + _note(self.message)]

        def walk(node: Node, depth: int) -> None:
            seconds = (node.finished_at or node.started_at) - node.started_at
            hit = " (memoized)" if _hit(node) else ""
            lines.append(
                f"{'  ' * depth}{node.display_name}: {node.phase} {seconds:.1f}s{hit}"
                + _note(node.message)
            )
            for child in children.get(node.id, []):
                walk(child, depth + 1)

        for root in roots:
            walk(root, 1)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.tree()

    def _leaves(self, pattern: str) -> list[Node]:
        """The matching nodes that did the work: a retried node's attempts stand for it."""
        leaves = []
        for node in self.nodes(pattern):
            leaves += self._attempts(node) or [node]
        return leaves

    def _attempts(self, node: Node) -> list[Node]:
        """A Retry node's attempts ``<node>(n)``; none for any other node."""
        if node.type != NodeType.RETRY:
            return []
        return [
            n
            for n in self.result.nodes
            if n.parent_id == node.id and n.name.startswith(f"{node.name}(")
        ]


def _note(message: str) -> str:
    return f" — {message}" if message else ""


def _hit(node: Node) -> bool:
    return bool(node.memoization and node.memoization.get("hit"))


def _is_attempt(node: Node, parent: Node | None) -> bool:
    return (
        parent is not None
        and parent.type == NodeType.RETRY
        and node.name.startswith(parent.name + "(")
    )
