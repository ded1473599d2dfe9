"""Following a submitted Workflow to its end by polling it, reporting each node's phase changes.

Independent of how the workflow is fetched (Argo Server or Kubernetes API): the caller passes a
function that returns the Workflow object as a dict.
"""

from __future__ import annotations

import time
from collections.abc import Callable

ENDED_PHASES = ("Succeeded", "Failed", "Error")


def print_node_phase(display_name: str, phase: str) -> None:
    print(f"{display_name}  {phase}", flush=True)


def follow(
    get_workflow: Callable[[], dict],
    on_change: Callable[[str, str], None] = print_node_phase,
    interval: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
) -> dict:
    """Poll ``get_workflow`` every ``interval`` seconds until the workflow's phase is one of
    ENDED_PHASES; call ``on_change(display_name, phase)`` whenever a node shows a new phase.
    Returns the last Workflow seen."""
    seen: dict[str, str] = {}
    while True:
        workflow = get_workflow()
        status = workflow.get("status") or {}
        for node_id, node in _in_start_order(status.get("nodes") or {}):
            phase = node.get("phase")
            if phase and seen.get(node_id) != phase:
                seen[node_id] = phase
                on_change(node.get("displayName") or node.get("name") or node_id, phase)
        if status.get("phase") in ENDED_PHASES:
            return workflow
        sleep(interval)


def _in_start_order(nodes: dict[str, dict]) -> list[tuple[str, dict]]:
    # Started nodes by start time (RFC 3339 strings sort as times), then those not started, by name.
    def key(item: tuple[str, dict]) -> tuple[bool, str, str]:
        started = item[1].get("startedAt")
        return started is None, started or "", item[1].get("name") or ""

    return sorted(nodes.items(), key=key)
