"""``{{...}}`` substitution with Argo's rules, over parsed structures rather than JSON text.

A tag's key is its trimmed content. A key that is not in scope stays as written (a DAG template is
substituted with its inputs first, its ``{{tasks...}}`` later), except under a *strict* prefix
(``tasks``/``steps`` when resolving a task): then it is an error, as in the controller. A
skipped or omitted node's declared output with no default is an *absent optional*: substituting
it is an error, but an argument that is exactly that reference counts as not supplied, so the
consuming template's input default applies (Argo v4).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from mlflows.local.controller.nodes import Node, Outputs, rfc3339
from mlflows.local.lang import expression_tags, exprlang
from mlflows.local.lang.expression_tags import is_strict
from mlflows.local.lang.exprlang import ExprError
from mlflows.local.lang.exprlang.govalues import text

TAG = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
# References to other nodes must resolve when a task or step is resolved (the controller's rule).
STRICT_PREFIXES = ("tasks", "steps")


class Absent:
    """The value of a skipped/omitted node's output that declared no default."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT = Absent()
Scope = dict[str, "str | Absent"]


class UnresolvedReference(Exception):
    """A reference that cannot be resolved; the message names the tag."""


def substitute(value: Any, scope: Scope, strict_prefixes: Iterable[str] = ()) -> Any:
    """A copy of ``value`` (str, list, dict) with every resolvable tag replaced."""
    strict = tuple(strict_prefixes)
    if isinstance(value, str):
        return TAG.sub(lambda match: _replacement(match, scope, strict), value)
    if isinstance(value, list):
        return [substitute(item, scope, strict) for item in value]
    if isinstance(value, dict):
        return {key: substitute(item, scope, strict) for key, item in value.items()}
    return value


def _replacement(match: re.Match, scope: Scope, strict: tuple[str, ...]) -> str:
    key = match.group(1).strip()
    if key.startswith("="):
        return _expression(key, match.group(0), scope, strict)
    if key in scope:
        found = scope[key]
        if found is ABSENT:
            raise UnresolvedReference(
                f"unable to substitute {{{{{key}}}}}: output is an absent optional "
                "(skipped/omitted node with no default)"
            )
        return found
    if is_strict(key, strict):
        raise UnresolvedReference(f"failed to resolve {{{{{key}}}}}")
    return match.group(0)


def _expression(key: str, tag: str, scope: Scope, strict: tuple[str, ...]) -> str:
    """An expression tag's value, or the tag as written while it cannot be resolved yet."""
    try:
        replaced = expression_tags.replace(key[1:], expression_env(scope), strict)
    except ExprError as err:
        raise UnresolvedReference(str(err)) from None
    return tag if replaced is None else replaced


def expression_env(scope: Scope) -> dict[str, Any]:
    """The scope as expr-lang sees it (util/expr/env): nested, an absent optional as nil."""
    return exprlang.nest({key: None if v is ABSENT else v for key, v in scope.items()})


def unresolved_tags(value: Any) -> list[str]:
    """Every ``{{...}}`` left in ``value``."""
    if isinstance(value, str):
        return [match.group(0) for match in TAG.finditer(value)]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return [tag for item in items for tag in unresolved_tags(item)]


def is_absent_reference(value: Any, scope: Scope) -> bool:
    """Whether ``value`` is exactly one tag naming an absent optional."""
    if not isinstance(value, str):
        return False
    match = TAG.fullmatch(value.strip())
    return bool(match) and scope.get(match.group(1).strip()) is ABSENT


def node_scope(kind: str, name: str, node: Node, template: dict) -> Scope:
    """What ``{{tasks.<name>...}}`` / ``{{steps.<name>...}}`` resolve to for a finished node.

    ``template`` is the one the node was to run: a skipped/omitted node has produced nothing, so
    each of its ``outputs.parameters`` is its ``valueFrom.default`` or absent.
    """
    prefix = f"{kind}.{name}"
    scope: Scope = {f"{prefix}.id": node.id, f"{prefix}.status": node.phase}
    scope[f"{prefix}.startedAt"] = rfc3339(node.started_at)
    if node.finished_at is not None:
        scope[f"{prefix}.finishedAt"] = rfc3339(node.finished_at)
    outputs = node.outputs
    if outputs is not None:
        for param, value in outputs.parameters.items():
            scope[f"{prefix}.outputs.parameters.{param}"] = value
        if outputs.result is not None:
            scope[f"{prefix}.outputs.result"] = outputs.result
        if outputs.exit_code is not None:
            scope[f"{prefix}.exitCode"] = outputs.exit_code
    elif node.phase in ("Skipped", "Omitted"):
        for param in (template.get("outputs") or {}).get("parameters") or []:
            default = (param.get("valueFrom") or {}).get("default")
            key = f"{prefix}.outputs.parameters.{param['name']}"
            scope[key] = str(default) if default is not None else ABSENT
    return scope


def inputs_scope(inputs: dict[str, str]) -> Scope:
    scope: Scope = {f"inputs.parameters.{name}": value for name, value in inputs.items()}
    scope["inputs.parameters"] = json.dumps([{"name": k, "value": v} for k, v in inputs.items()])
    return scope


def argo_string(value) -> str:
    """A parameter value as Argo's AnyString renders it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def resolve_outputs(template: dict, scope: Scope) -> Outputs | None:
    """A DAG's or steps template's outputs from its children and inputs, as Argo's
    getTemplateOutputsFromScope: ``valueFrom.parameter`` or ``valueFrom.expression``, else
    ``valueFrom.default`` when that fails."""
    declared = (template.get("outputs") or {}).get("parameters") or []
    if not declared:
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
    return Outputs(parameters=values)


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
