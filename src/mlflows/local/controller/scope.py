"""The variables an invocation sees, built from the node tree as Argo's controller builds them
(workflow/controller/scope.go; buildLocalScope, processAggregateNodeOutputs, processItem and the
local params of executeTemplate in operator.go). Every name comes from
:mod:`mlflows.local.lang.keys`.
"""

from __future__ import annotations

import json

from mlflows.local.controller import artifacts, container_set
from mlflows.local.controller.nodes import Node, Outputs, Phase, pod_name, rfc3339
from mlflows.local.executor.probes import POD_IP
from mlflows.local.lang import expression_tags, exprlang, gojson, keys
from mlflows.local.lang.exprlang import ExprError
from mlflows.local.lang.exprlang.govalues import text
from mlflows.local.lang.keys import NodeRef
from mlflows.local.lang.templating import (
    ABSENT,
    STRICT_PREFIXES,
    Scope,
    UnresolvedReference,
    Unusable,
    argo_string,
    expression_env,
    substitute,
)

POD_KINDS = ("container", "script", container_set.KIND, "resource")  # Template.IsPodType


def node_scope(ref: NodeRef, name: str, node: Node, template: dict) -> Scope:
    """What ``{{tasks.<name>...}}`` / ``{{steps.<name>...}}`` resolve to for a finished node.

    ``template`` is the one the node was to run: a skipped/omitted node has produced nothing, so
    each of its ``outputs.parameters`` is its ``valueFrom.default`` or absent.
    """
    scope: Scope = {ref.id(name): node.id, ref.status(name): node.phase.value}
    scope[ref.started_at(name)] = rfc3339(node.started_at)
    if node.finished_at is not None:
        scope[ref.finished_at(name)] = rfc3339(node.finished_at)
    if node.daemoned:  # Argo keeps a pod's IP for daemoned steps; every pod here has this one
        scope[ref.ip(name)] = POD_IP
    if node.host_node_name:  # a retry's is its last attempt's, as its outputs
        scope[ref.host_node_name(name)] = node.host_node_name
    outputs = node.outputs
    if outputs is not None:
        for param, value in outputs.parameters.items():
            scope[ref.parameter(name, param)] = value
        for art, found in outputs.artifacts.items():
            scope[ref.artifact(name, art)] = artifacts.reference(found)
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


def is_pod_type(template: dict) -> bool:
    """Template.IsPodType: what runs as a pod."""
    return any(kind in template for kind in POD_KINDS)


def node_keys(workflow_name: str, node: Node, template: dict) -> Scope:
    """Variables that depend on the node: its name, output paths and, for a pod-type template
    without retries, its pod name (executeTemplate's localParams; a retried one's is each
    attempt's, :func:`attempt_keys`)."""
    scope = {keys.NODE_NAME(): node.name}
    if is_pod_type(template) and "retryStrategy" not in template:
        scope.update(pod_keys(workflow_name, node, template))
    for param in (template.get("outputs") or {}).get("parameters") or []:
        path = (param.get("valueFrom") or {}).get("path")
        if path:
            scope[keys.OUTPUTS_PARAMETER_PATH(param["name"])] = path
    return scope


def pod_keys(workflow_name: str, node: Node, template: dict) -> Scope:
    """``{{pod.name}}`` of a pod node (an inline template has no name: the workflow's alone)."""
    return {keys.POD_NAME(): pod_name(workflow_name, node.name, template.get("name"))}


def attempt_keys(workflow_name: str, attempt: Node, template: dict, number: int) -> Scope:
    """A retry attempt's ``{{retries}}`` and, for a pod, its ``{{pod.name}}``."""
    scope: Scope = {keys.RETRIES(): str(number)}
    if is_pod_type(template):
        scope.update(pod_keys(workflow_name, attempt, template))
    return scope


def current_name(ref: NodeRef, name: str) -> Scope:
    """``{{tasks.name}}`` / ``{{steps.name}}`` inside the task or step being run."""
    return {ref.current_name(): name}


def called_as(local: Scope) -> Scope:
    """A call's local variables with executeTemplate's name of its caller: a DAG task's or a
    step's is in ``local``; any other call (the entrypoint, a hook, an exit handler) Argo makes
    with a WorkflowStep without a name, so its ``{{steps.name}}`` is empty."""
    if keys.TASKS.current_name() in local:
        return local
    return {keys.STEPS.current_name(): "", **local}


def item_scope(value: str, members: dict[str, str]) -> Scope:
    """``{{item}}`` and, for a map, ``{{item.<key>}}`` inside one iteration of a loop."""
    scope: Scope = {keys.ITEM(): value}
    scope.update({keys.ITEM_KEY(key): member for key, member in members.items()})
    return scope


def aggregate_scope(ref: NodeRef, name: str, children: list[Node]) -> Scope:
    """A loop's outputs, from its children in item order (Argo's processAggregateNodeOutputs):
    of those that succeeded, ``outputs.parameters`` as a JSON list of name-value maps,
    ``outputs.parameters.<p>`` as a JSON list of the values (the values themselves when every
    one is a JSON list or map), ``outputs.result`` as a JSON list of the results, each of which
    must be JSON. Written as Go writes JSON; nothing for a loop without children."""
    if not children:
        return {}
    succeeded = [
        child for child in children if child.outputs is not None and child.phase == Phase.SUCCEEDED
    ]
    parameters = [child.outputs.parameters for child in succeeded if child.outputs.parameters]
    values: dict[str, list[str]] = {}
    for named in parameters:
        for param, value in named.items():
            values.setdefault(param, []).append(value)
    scope: Scope = {ref.parameters(name): gojson.marshal(parameters)}
    for param, listed in values.items():
        scope[ref.parameter(name, param)] = _value_list(listed)
    scope[ref.result(name)] = _results(
        [child for child in succeeded if child.outputs.result is not None]
    )
    return scope


def _value_list(values: list[str]) -> str:
    """Argo's aggregatedJSONValueList: the values as JSON if each is a JSON list or map."""
    try:
        decoded = [gojson.decode(value) for value in values]
    except ValueError:
        return gojson.marshal(values)
    if all(isinstance(value, (list, dict)) for value in decoded):
        return gojson.marshal(decoded)
    return gojson.marshal(values)


def _results(children: list[Node]) -> str | Unusable:
    """The children's results as one JSON list, each kept as written (Argo reads each as JSON)."""
    for child in children:
        try:
            gojson.check(child.outputs.result)
        except ValueError as err:
            return Unusable(f"the result of {child.display_name} is not JSON ({err})")
    return "[" + ",".join(gojson.compact(child.outputs.result) for child in children) + "]"


def resolve_outputs(template: dict, scope: Scope) -> Outputs | None:
    """A DAG's or steps template's outputs from its children and inputs, as Argo's
    getTemplateOutputsFromScope: ``valueFrom.parameter`` or ``valueFrom.expression``, else
    ``valueFrom.default`` when that fails."""
    declared = (template.get("outputs") or {}).get("parameters") or []
    if not declared and not (template.get("outputs") or {}).get("artifacts"):
        return None
    bound = {
        param["name"]: param.get("value")
        for param in (template.get("inputs") or {}).get("parameters") or []
    }
    scope = {**inputs_scope(bound), **scope}
    values = {}
    for param in declared:
        value_from = param.get("valueFrom") or {}
        try:
            if "expression" in value_from:
                values[param["name"]] = _output_expression(value_from["expression"], scope)
            else:
                values[param["name"]] = substitute(
                    value_from.get("parameter", ""), scope, STRICT_PREFIXES
                )
        except UnresolvedReference:
            if value_from.get("default") is None:
                raise
            values[param["name"]] = argo_string(value_from["default"])
    try:
        saved = artifacts.template_outputs(template, scope, _output_expression)
    except artifacts.ArtifactError as err:
        raise UnresolvedReference(str(err)) from None
    return Outputs(parameters=values, artifacts=saved)


def _output_expression(expression: str, scope: Scope) -> str:
    """The value of ``valueFrom.expression`` as Argo's resolveParameter gives it (``%v``)."""
    try:
        value = exprlang.evaluate(expression, expression_env(scope))
    except ExprError as err:
        raise UnresolvedReference(
            f"failed to evaluate expression '{expression_tags.short(expression)}': {err}"
        ) from None
    if value is None:
        raise UnresolvedReference(
            f"failed to evaluate expression '{expression_tags.short(expression)}': "
            "its value is nil (an absent optional? use ?? to give a fallback)"
        )
    return text(value)
