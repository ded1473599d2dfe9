"""What a local run of the canary shape (``--rollout canary``) ends with: which model serves and
what became of each canary, read from the run's nodes.

Each ``rollout`` step (:mod:`mlflows.rollout`) sits below the ``promote`` that was given the
model's folder, and holds the ``canary`` step that outputs the revision it created; the
``served`` step outputs the revision rolled out at the end. The folder names the spec through
``trained_as`` (the flow's: the loop stores models by content). A ``rollout`` skipped (its
model did not beat the one served) made no canary and is left out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from mlflows.canary import PROMOTE, ROLLBACK
from mlflows.local.controller.nodes import Phase

if TYPE_CHECKING:
    from mlflows.local import RunResult
    from mlflows.local.controller.nodes import Node

NO_CANARY = (Phase.SKIPPED, Phase.OMITTED)

DONE = {PROMOTE: "promoted", ROLLBACK: "rolled back"}


def rollout_summary(result: RunResult, trained_as: Callable[[str], str]) -> str:
    """``served: good-2 (revision r); canaries: good-1 promoted, broken rolled back (why)``."""
    by_id = {node.id: node for node in result.nodes}

    def ancestors(node: Node) -> Iterator[Node]:
        while node.parent_id is not None:
            node = by_id[node.parent_id]
            yield node

    rollouts = sorted(
        (
            node
            for node in result.nodes
            if node.display_name == "rollout" and node.phase not in NO_CANARY
        ),
        key=lambda node: node.started_at,
    )
    spec = {
        rollout.id: trained_as(
            next(a.inputs["model-dir"] for a in ancestors(rollout) if "model-dir" in a.inputs)
        )
        for rollout in rollouts
    }
    created = {  # rollout id -> the revision its canary step created
        rollout.id: node.outputs.parameters["canary-revision"]
        for node in result.nodes
        if node.display_name == "canary" and node.outputs and node.outputs.parameters
        for rollout in ancestors(node)
        if rollout.id in spec
    }
    canaries = []
    for rollout in rollouts:
        outputs = (rollout.outputs.parameters if rollout.outputs else None) or {}
        decision = outputs.get("decision")
        if decision == ROLLBACK:
            canaries.append(f"{spec[rollout.id]} rolled back ({outputs['reason']})")
        else:  # promoted, or the rollout itself failed
            canaries.append(f"{spec[rollout.id]} {DONE.get(decision, rollout.phase)}")
    revision = result.node("served").outputs.parameters["revision"]
    serving = [
        spec[rollout_id]
        for rollout_id, canary_revision in created.items()
        if canary_revision == revision
    ]
    served = f"{serving[0]} (revision {revision})" if serving else f"revision {revision}"
    return f"served: {served}; canaries: {', '.join(canaries) or 'none'}"
