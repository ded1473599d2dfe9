"""Argo's expression tags, ``{{=...}}``: replaced by their value, left as written, or an error.

Follows ``expressionReplaceStrict``/``expressionReplaceCore`` of Argo v4.1.2's
util/template/expression_template.go. The expression is evaluated by :mod:`.exprlang` over the
scope nested as util/expr/env nests it, where an absent optional (a skipped or omitted node's
output without a default) is nil, so ``??`` can stand in for it. What it references (each name
and dotted member path, except member paths under ``??`` or ``?.``) decides how strict it is:

- a reference that is missing and under a strict prefix (``tasks``/``steps`` while a task or
  step is resolved) is an error;
- when a reference is missing, or no prefix is strict (a template's own substitution), a failure
  or a nil value leaves the tag as written, for a later pass to resolve; so does a missing
  variable that is bound later (``item``, ``retries``, ``lastRetry.*``, ``workflow.status``,
  ``workflow.failures``) — without evaluating, so it never resolves to nil too early;
- otherwise a failure or nil is an error.

A value is written as Argo writes it: a string as it is, anything else as its JSON.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

from mlflows.local.lang import exprlang
from mlflows.local.lang.exprlang import ExprError, tree

# util/template/expression_template.go variablesToCheck
LATE_BOUND = (
    "item",
    "retries",
    "lastRetry.exitCode",
    "lastRetry.status",
    "lastRetry.duration",
    "lastRetry.message",
    "workflow.status",
    "workflow.failures",
)
SHORT_LENGTH = 40


def short(expression: str) -> str:
    """The expression on one line and cut short, to quote it in a message."""
    flat = " ".join(expression.split())
    return flat if len(flat) <= SHORT_LENGTH else flat[: SHORT_LENGTH - 3] + "..."


def _tag(expression: str) -> str:
    return f"{{{{={short(expression)}}}}}"


def check(expression: str) -> None:
    """ExprError (one line, naming the tag) for an expression the runner cannot evaluate; an
    ExprUnsupported if Argo could."""
    try:
        exprlang.check(expression)
    except ExprError as err:
        raise type(err)(f"expression {_tag(expression)}: {err}") from None


def replace(expression: str, env: Mapping[str, Any], strict: tuple[str, ...]) -> str | None:
    """The tag's text, or None to leave it as written; ExprError when it must be an error.

    ``env`` is the nested scope (:func:`exprlang.nest`, absent optionals as None), ``strict``
    the prefixes whose references must resolve now."""
    try:
        parsed = exprlang.parse(expression)
        missing = [name for name in references(parsed.root) if not _present(env, name)]
        for name in missing:
            if is_strict(name, strict):
                raise ExprError(f"{name} is missing")
        allow_unresolved = bool(missing) or not strict
        if allow_unresolved and any(name in LATE_BOUND for name in missing):
            return None
        try:
            value = parsed.evaluate(env)
            return exprlang.tag_text(value)
        except ExprError:
            if allow_unresolved:
                return None
            raise
    except ExprError as err:
        raise ExprError(f"failed to evaluate expression {_tag(expression)}: {err}") from None


def references(root: tree.Node) -> list[str]:
    """The names and dotted member paths an expression reads (Argo's getIdentifiers): a member
    path under ``??`` or before ``?.`` is guarded, so it need not be in scope."""
    guarded: set[int] = set()
    for node in walk(root):
        if isinstance(node, tree.Binary) and node.operator == "??":
            members = (inner for inner in walk(node.left) if isinstance(inner, tree.Member))
            guarded.update(id(member) for member in members)
        elif isinstance(node, tree.Member) and node.optional:
            guarded.add(id(node.target))
    found: list[str] = []
    for node in walk(root):
        name = None
        if isinstance(node, tree.Name):
            name = node.name
        elif isinstance(node, tree.Member) and id(node) not in guarded:
            name = _member_path(node)
        if name is not None and name not in found:
            found.append(name)
    return found


def walk(node: tree.Node) -> Iterator[tree.Node]:
    """``node`` and every node below it."""
    yield node
    for field in dataclasses.fields(node):
        yield from _nodes_in(getattr(node, field.name))


def _nodes_in(value: Any) -> Iterator[tree.Node]:
    if isinstance(value, tree.Node):
        yield from walk(value)
    elif isinstance(value, tuple):
        for item in value:
            yield from _nodes_in(item)


def _member_path(node: tree.Member) -> str | None:
    """``a.b['c']`` as ``a.b.c``; None unless every key is a string and the root a name."""
    parts: list[str] = []
    current: tree.Node = node
    while isinstance(current, tree.Member):
        key = current.key
        if current.optional or not (isinstance(key, tree.Literal) and isinstance(key.value, str)):
            return None
        parts.insert(0, key.value)
        current = current.target
    if not isinstance(current, tree.Name):
        return None
    return ".".join([current.name, *parts])


def _present(env: Mapping[str, Any], name: str) -> bool:
    """Whether the scope holds ``name`` (a nil value counts: it is an absent optional)."""
    value: Any = env
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return False
        value = value[part]
    return True


def is_strict(name: str, strict: tuple[str, ...]) -> bool:
    """Whether ``name`` is under one of the ``strict`` prefixes (``tasks`` holds ``tasks.a``)."""
    return any(name == prefix or name.startswith(prefix + ".") for prefix in strict)
