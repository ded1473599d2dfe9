"""Nodes a run keeps from an earlier run: ``argo retry`` and ``argo resubmit --memoized``.

Follows argo-workflows workflow/util/util.go (FormulateRetryWorkflow, FormulateResubmitWorkflow):
a retry keeps every Succeeded node of the failed run, outputs and all, and resets the others —
failed and errored pods, their boundary DAG and steps nodes (which run again around what was
kept), the exit handler. ``--restart-successful`` with a node field selector also resets the
Succeeded nodes it selects and everything depending on them. Here the kept nodes are the ones that
do work (pods, retries with their attempts, suspends): the engine still walks every DAG and steps
template, and :meth:`Prior.restore` answers a call of a kept node with its old node instead of
running it. Nodes are matched by name below the workflow's, so a resubmit under a new name finds
them too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from mlflows.errors import UserError
from mlflows.local.controller.calls import Call
from mlflows.local.controller.nodes import Node, NodeType, Outputs, Phase

KEPT_TYPES = {NodeType.POD, NodeType.RETRY, NodeType.SUSPEND}
SELECTABLE = {"displayName", "templateName", "phase", "name", "id"}


def node_selector(text: str) -> Callable[[dict], bool]:
    """Argo's ``--node-field-selector``: ``field=value`` or ``field!=value``, comma-separated, all
    of which a node must meet; fields displayName, templateName, phase, name, id."""
    terms = []
    for term in filter(None, (part.strip() for part in text.split(","))):
        negated = "!=" in term
        field, _, value = term.partition("!=" if negated else "=")
        if field not in SELECTABLE or not _:
            raise UserError(
                f"--node-field-selector {term!r}: write FIELD=VALUE or FIELD!=VALUE with FIELD "
                f"one of {', '.join(sorted(SELECTABLE))}"
            )
        terms.append((field, value, negated))
    return lambda node: all((node.get(f) == v) != negated for f, v, negated in terms)


@dataclass
class Prior:
    """The nodes to keep of an earlier run, by name below its workflow's name."""

    workflow_name: str  # the earlier run's
    nodes: dict[str, dict]  # relative name -> the node's status (Argo's NodeStatus)
    attempts: dict[str, list[dict]]  # a kept Retry node's relative name -> its attempts

    @classmethod
    def of(
        cls,
        status: dict,
        workflow_name: str,
        *,
        restart: Callable[[dict], bool] | None = None,
    ) -> Prior:
        """The Succeeded nodes of ``status`` (a run's status.json) to keep; ``restart`` selects
        Succeeded nodes to run again, with their dependents (``--restart-successful``)."""
        nodes = status.get("nodes") or {}
        reset: set[str] = set()
        if restart is not None:
            pending = [node_id for node_id, node in nodes.items() if restart(node)]
            while pending:  # the selected nodes and all that hang below them
                node_id = pending.pop()
                if node_id not in reset:
                    reset.add(node_id)
                    pending += (nodes.get(node_id) or {}).get("children") or []
        kept = {
            node_id: node
            for node_id, node in nodes.items()
            if node["phase"] == Phase.SUCCEEDED
            and node["type"] in KEPT_TYPES
            and node_id not in reset
            and not (node.get("nodeFlag") or {}).get("hooked")
            and not node["name"].startswith(f"{workflow_name}.onExit")
        }

        def relative(name: str) -> str:
            return name.removeprefix(workflow_name)

        attempts = {
            relative(node["name"]): [
                nodes[child]
                for child in node.get("children") or []
                if child in nodes and nodes[child]["name"].startswith(node["name"] + "(")
            ]
            for node in kept.values()
            if node["type"] == NodeType.RETRY
        }
        retried = {a["name"] for node_attempts in attempts.values() for a in node_attempts}
        return cls(
            workflow_name=workflow_name,
            nodes={relative(n["name"]): n for n in kept.values() if n["name"] not in retried},
            attempts=attempts,
        )

    def restore(self, engine, call: Call) -> Node | None:
        """The kept node for ``call``, made again in ``engine``'s run; None to run it."""
        relative = call.name.removeprefix(engine.name)
        old = self.nodes.get(relative)
        if old is None:
            return None
        finished = status_time(old["finishedAt"])
        node = engine._call_node(call, NodeType(old["type"]), **_fields(old))
        for attempt in self.attempts.get(relative, []):
            copy = engine.nodes.create(
                engine.name + attempt["name"].removeprefix(self.workflow_name),
                display_name=attempt["displayName"],
                type=NodeType(attempt["type"]),
                template_name=node.template_name,
                boundary_id=node.boundary_id,
                parent_id=node.id,
                template_scope=node.template_scope,
                template_ref=node.template_ref,
                **_fields(attempt),
            )
            engine.nodes.link(node, copy)
            engine.nodes.update(copy, finished_at=status_time(attempt["finishedAt"]))
        return engine.nodes.update(node, finished_at=finished)


def _fields(old: dict) -> dict:
    """What a kept node carries over: its phase, message, start, inputs, outputs, memo status
    (its end is set after it is made, as the store ends a finished node when it starts)."""
    return {
        "phase": old["phase"],
        "message": old.get("message", ""),
        "started_at": status_time(old["startedAt"]),
        "inputs": {
            p["name"]: p.get("value", "") for p in (old.get("inputs") or {}).get("parameters") or []
        },
        "outputs": Outputs.from_json(old["outputs"]) if old.get("outputs") else None,
        "memoization": old.get("memoizationStatus"),
        "host_node_name": old.get("hostNodeName"),
    }


def status_time(text: str) -> float:
    """A time of a status (``rfc3339``'s) as a timestamp."""
    return datetime.strptime(text.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
