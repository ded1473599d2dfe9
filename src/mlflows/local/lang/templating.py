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

from mlflows.local.lang import expression_tags, exprlang, keys
from mlflows.local.lang.expression_tags import is_strict
from mlflows.local.lang.exprlang import ExprError

TAG = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
# References to other nodes must resolve when a task or step is resolved (the controller's rule).
STRICT_PREFIXES = (keys.TASKS.prefix, keys.STEPS.prefix)


class Absent:
    """The value of a skipped/omitted node's output that declared no default."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT = Absent()


class Unusable:
    """A variable Argo cannot build (a loop's outputs.result when a child's is not JSON): only
    a reference to it fails, with this reason, as the run does not fail for an unused one."""

    def __init__(self, reason: str):
        self.reason = reason


Scope = dict[str, "str | Absent | Unusable"]


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
        if isinstance(found, Unusable):
            raise UnresolvedReference(f"unable to substitute {{{{{key}}}}}: {found.reason}")
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
    return exprlang.nest(
        {key: None if v is ABSENT or isinstance(v, Unusable) else v for key, v in scope.items()}
    )


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


def argo_string(value) -> str:
    """A parameter value as Argo's AnyString renders it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)
