"""The variables an invocation sees, built from the node tree as Argo's controller builds them
(workflow/controller/scope.go; buildLocalScope and the local params of executeTemplate in
operator.go). Every name comes from :mod:`mlflows.local.lang.keys`.
"""

from __future__ import annotations

import json

from mlflows.local.controller.nodes import Node, Phase, fnv32a, rfc3339
from mlflows.local.lang import keys
from mlflows.local.lang.keys import NodeRef
from mlflows.local.lang.templating import ABSENT, Scope


def node_scope(ref: NodeRef, name: str, node: Node, template: dict) -> Scope:
    """What ``{{tasks.<name>...}}`` / ``{{steps.<name>...}}`` resolve to for a finished node.

    ``template`` is the one the node was to run: a skipped/omitted node has produced nothing, so
    each of its ``outputs.parameters`` is its ``valueFrom.default`` or absent.
    """
    scope: Scope = {ref.id(name): node.id, ref.status(name): node.phase.value}
    scope[ref.started_at(name)] = rfc3339(node.started_at)
    if node.finished_at is not None:
        scope[ref.finished_at(name)] = rfc3339(node.finished_at)
    outputs = node.outputs
    if outputs is not None:
        for param, value in outputs.parameters.items():
            scope[ref.parameter(name, param)] = value
        if outputs.result is not None:
            scope[ref.result(name)] = outputs.result
        if outputs.exit_code is not None:
            scope[ref.exit_code(name)] = outputs.exit_code
    elif node.phase in (Phase.SKIPPED, Phase.OMITTED):
        for param in (template.get("outputs") or {}).get("parameters") or []:
            default = (param.get("valueFrom") or {}).get("default")
            key = ref.parameter(name, param["name"])
            scope[key] = str(default) if default is not None else ABSENT
    return scope


def inputs_scope(inputs: dict[str, str]) -> Scope:
    scope: Scope = {keys.INPUTS_PARAMETER(name): value for name, value in inputs.items()}
    scope[keys.INPUTS_PARAMETERS()] = json.dumps(
        [{"name": k, "value": v} for k, v in inputs.items()]
    )
    return scope


def node_keys(workflow_name: str, node: Node, template: dict) -> Scope:
    """Variables that depend on the node: its name, pod name and output paths."""
    scope = {
        keys.NODE_NAME(): node.name,
        keys.POD_NAME(): f"{workflow_name}-{template['name']}-{fnv32a(node.name)}",
    }
    for param in (template.get("outputs") or {}).get("parameters") or []:
        path = (param.get("valueFrom") or {}).get("path")
        if path:
            scope[keys.OUTPUTS_PARAMETER_PATH(param["name"])] = path
    return scope


def current_name(ref: NodeRef, name: str) -> Scope:
    """``{{tasks.name}}`` / ``{{steps.name}}`` inside the task or step being run."""
    return {ref.current_name(): name}
