"""The run's result as Argo's ``WorkflowStatus``, so tools written for Argo status read it.

Fields follow the Argo v4 schema (``io.argoproj.workflow.v1alpha1.WorkflowStatus``): ``phase``,
``startedAt``, ``finishedAt``, ``message``, ``progress`` and ``nodes`` keyed by node ID, each with
``displayName``, ``templateName``, ``templateRef``, ``templateScope``, ``type``, ``phase``, times,
``children``, ``inputs``, ``outputs``, ``memoizationStatus``, ``nodeFlag`` and ``progress``
(:mod:`mlflows.local.controller.progress`). Times carry
microseconds (still RFC 3339).
"""

from __future__ import annotations

import json
from pathlib import Path

from mlflows.local.controller.nodes import Node, rfc3339
from mlflows.local.controller.progress import node_progress, workflow_progress
from mlflows.local.executor.probes import POD_IP


def node_status(node: Node, progress: str | None = None) -> dict:
    status: dict = {
        "id": node.id,
        "name": node.name,
        "displayName": node.display_name,
        "type": str(node.type),  # plain strings: the status is data, YAML-dumped too
        "templateScope": node.template_scope,
        "phase": str(node.phase),
        "startedAt": rfc3339(node.started_at),
    }
    optional = {
        "templateName": node.template_name,
        "templateRef": node.template_ref,
        "boundaryID": node.boundary_id,
        "message": node.message,
        "finishedAt": rfc3339(node.finished_at) if node.finished_at else None,
        "children": list(node.children),
        "inputs": {"parameters": [{"name": k, "value": v} for k, v in node.inputs.items()]}
        if node.inputs
        else None,
        "outputs": node.outputs.to_json() if node.outputs else None,
        "memoizationStatus": node.memoization,
        "progress": progress,
        "nodeFlag": {"hooked": True} if node.hooked else None,
        "daemoned": node.daemoned or None,
        "podIP": POD_IP if node.daemoned else None,  # NodeStatus: "for daemoned steps"
        "hostNodeName": node.host_node_name,
    }
    status.update({key: value for key, value in optional.items() if value})
    return status


def workflow_status(
    phase: str, message: str, started_at: float, finished_at: float, nodes: list[Node]
) -> dict:
    progress = node_progress(nodes)
    status = {
        "phase": phase,
        "startedAt": rfc3339(started_at),
        "finishedAt": rfc3339(finished_at),
        "progress": workflow_progress(nodes),
        "nodes": {node.id: node_status(node, progress.get(node.id)) for node in nodes},
    }
    if message:
        status["message"] = message
    return status


def write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
