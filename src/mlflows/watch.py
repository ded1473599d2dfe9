"""Following a submitted Workflow to its end by polling it, reporting each node's phase changes.

Independent of how the workflow is fetched (Argo Server or Kubernetes API): the caller passes a
function that returns the Workflow object as a dict.

A workflow gets a phase (Pending, Running...) the first time a workflow controller takes it up,
even one that must wait its turn; one that never does (no controller running, or none watching
its namespace) would be polled forever, so that first phase has a deadline.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

ENDED_PHASES = ("Succeeded", "Failed", "Error")


class NeverStarted(Exception):
    """The workflow still had no phase when the start timeout ran out."""


def print_node_phase(display_name: str, phase: str) -> None:
    print(f"{display_name}  {phase}", flush=True)


def follow(
    get_workflow: Callable[[], dict],
    on_change: Callable[[str, str], None] = print_node_phase,
    interval: float = 5.0,
    start_timeout: float = math.inf,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict:
    """Poll ``get_workflow`` every ``interval`` seconds until the workflow's phase is one of
    ENDED_PHASES; call ``on_change(display_name, phase)`` whenever a node shows a new phase.
    Returns the last Workflow seen; raises NeverStarted if it still has no phase
    ``start_timeout`` seconds after following began."""
    seen: dict[str, str] = {}
    deadline = clock() + start_timeout
    while True:
        workflow = get_workflow()
        status = workflow.get("status") or {}
        for node_id, node in _in_start_order(status.get("nodes") or {}):
            phase = node.get("phase")
            if phase and seen.get(node_id) != phase:
                seen[node_id] = phase
                on_change(node.get("displayName") or node.get("name") or node_id, phase)
        phase = status.get("phase")
        if phase in ENDED_PHASES:
            return workflow
        left = math.inf if phase else deadline - clock()
        if left <= 0:
            raise NeverStarted()
        sleep(min(interval, left))


def _in_start_order(nodes: dict[str, dict]) -> list[tuple[str, dict]]:
    # Started nodes by start time (RFC 3339 strings sort as times), then those not started, by name.
    def key(item: tuple[str, dict]) -> tuple[bool, str, str]:
        started = item[1].get("startedAt")
        return started is None, started or "", item[1].get("name") or ""

    return sorted(nodes.items(), key=key)
