"""A task or step with ``withItems``, ``withParam`` or ``withSequence`` runs once per item, as
Argo's controller expands it (expandTask in workflow/controller/dag.go, expandStep in steps.go,
processItem, generateNodeName and expandSequence in operator.go; Item in
pkg/apis/workflow/v1alpha1/item.go).

- The loop's source is substituted first (``{{tasks...}}`` must resolve), then each item: a
  string, number or bool is ``{{item}}`` as written; a map is ``{{item}}`` as JSON and each
  ``{{item.<key>}}``; a list is ``{{item}}`` as JSON. A reference that does not resolve fails the
  whole task or step, before any item runs.
- ``withParam`` must be a JSON list, ``withSequence`` counts from ``start`` (0) to ``end`` or by
  ``count``, each number written with ``format`` (Go's printf, ``%d`` by default).
- Iteration ``i`` of ``task`` is named ``task(i:<item>)``: a map as its sorted ``key:value``
  pairs, a list as ``[a b]``, parentheses dropped.
- Its ``when`` is evaluated per item by the caller; if the ``when`` is false whatever the item,
  a source that cannot be read gives no items instead of an error (Argo's lazy expansion).

Checked up front (``check_loop``, as argo lint): one source at most, a list for ``withItems``, a
string for ``withParam``, and ``withSequence`` with ``count`` or ``end`` (not both) as whole
numbers unless they are references.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from mlflows.errors import UserError
from mlflows.local.controller.calls import resolve_arguments
from mlflows.local.controller.scope import item_scope
from mlflows.local.lang import gojson, keys
from mlflows.local.lang.expressions import ExpressionError, evaluate_when
from mlflows.local.lang.printf import sprintf
from mlflows.local.lang.templating import (
    STRICT_PREFIXES,
    TAG,
    Scope,
    UnresolvedReference,
    substitute,
)

# Inside an iteration an unknown {{item...}} is an error too, as Argo leaves nothing unresolved.
ITEM_PREFIXES = (*STRICT_PREFIXES, keys.ITEM())
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_GO_BOOLS = {"1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"}
LOOP_FIELDS = ("withItems", "withParam", "withSequence")
SEQUENCE_FIELDS = ("count", "start", "end", "format")


def is_loop(invocation: dict) -> bool:
    """Whether a task or step expands (Argo's ShouldExpand: an empty list or string does not)."""
    return bool(
        invocation.get("withItems")
        or invocation.get("withParam")
        or invocation.get("withSequence") is not None
    )


def check_loop(where: str, invocation: dict) -> None:
    """UserError, in one line naming the field, for a loop Argo would not expand."""
    given = [field for field in LOOP_FIELDS if invocation.get(field) not in (None, [], "")]
    if len(given) > 1:
        raise UserError(f"{where}: give only one of {', '.join(LOOP_FIELDS)}, not {given}")
    items = invocation.get("withItems")
    if items is not None and not isinstance(items, list):
        raise UserError(f"{where}: withItems must be a list, not {items!r}")
    param = invocation.get("withParam")
    if param is not None and not isinstance(param, str):
        raise UserError(
            f"{where}: withParam must be a string holding a JSON list (or a reference to "
            f"one), not {param!r}; use withItems for a list written in the workflow"
        )
    if "withSequence" in invocation:
        _check_sequence(f"{where}: withSequence", invocation["withSequence"])


def _check_sequence(where: str, spec) -> None:
    if not isinstance(spec, dict):
        raise UserError(f"{where} must be a mapping of {', '.join(SEQUENCE_FIELDS)}")
    for field in spec:
        if field not in SEQUENCE_FIELDS:
            raise UserError(f"{where}: unknown field {field!r}; use {', '.join(SEQUENCE_FIELDS)}")
    if spec.get("count") is not None and spec.get("end") is not None:
        raise UserError(f"{where}: give count or end, not both")
    if spec.get("count") is None and spec.get("end") is None:
        raise UserError(f"{where}: needs count or end")
    for field in ("count", "start", "end"):
        value = spec.get(field)
        if value is None or (isinstance(value, str) and TAG.search(value)):
            continue
        if isinstance(value, bool) or not re.fullmatch(r"[+-]?\d+", str(value).strip()):
            raise UserError(f"{where}.{field} {value!r} is not a whole number")
    if not isinstance(spec.get("format", ""), str):
        raise UserError(f"{where}.format must be a printf format string such as '%02d'")


class ExpansionError(Exception):
    """The loop cannot be expanded: its whole task or step errors with this message."""


@dataclass(frozen=True)
class Item:
    """One item, held as its JSON text like Go's json.RawMessage."""

    raw: str

    @classmethod
    def of(cls, value) -> Item:
        """An item of ``withItems``, as the API server would have written it."""
        return cls(gojson.marshal(value))

    @property
    def kind(self) -> str:
        """number, bool, list, map or string, decided from the text as Argo's GetType does."""
        raw = self.raw
        if _JSON_NUMBER.fullmatch(raw) and float(raw) not in (float("inf"), float("-inf")):
            return "number"
        if raw in _GO_BOOLS:
            return "bool"
        if raw.startswith("[") or raw == "null":
            return "list"
        if raw.startswith("{"):
            return "map"
        return "string"

    def text(self) -> str:
        """Argo's Item.String(): the compact JSON, a string's quotes dropped, <>& unescaped."""
        text = gojson.compact(self.raw)
        if text.startswith('"'):
            text = text[1:-1]
        return text.replace("\\u003c", "<").replace("\\u003e", ">").replace("\\u0026", "&")

    def value(self) -> str:
        """What ``{{item}}`` becomes."""
        kind = self.kind
        if kind == "string":
            return json.loads(self.raw)
        if kind == "map":
            members = gojson.members(self.raw)
            pairs = (
                f"{gojson.marshal(key)}:{gojson.compact(members[key])}" for key in sorted(members)
            )
            return "{" + ",".join(pairs) + "}"
        if kind == "list":
            return "[" + ",".join(gojson.compact(raw) for raw in self._elements()) + "]"
        return self.text()

    def members(self) -> dict[str, str]:
        """What ``{{item.<key>}}`` becomes, for each key of a map."""
        if self.kind != "map":
            return {}
        return {key: Item(raw).text() for key, raw in gojson.members(self.raw).items()}

    def label(self) -> str:
        """The item as a node name shows it."""
        kind = self.kind
        if kind == "map":
            return ",".join(sorted(f"{key}:{text}" for key, text in self.members().items()))
        if kind == "list":
            return "[" + " ".join(Item(raw).text() for raw in self._elements()) + "]"
        return self.text()

    def _elements(self) -> list[str]:
        return [] if self.raw == "null" else gojson.elements(self.raw)


def node_name(name: str, index: int, item: Item) -> str:
    """Argo's generateNodeName: ``name(index:label)``, parentheses dropped from the label."""
    label = item.label().replace("(", "").replace(")", "")
    return f"{name}({index}:{label})"


@dataclass
class Iteration:
    """One item's task or step: its name, ``when`` and arguments, substituted, and the scope
    they were substituted with (an inline template is substituted with it too)."""

    name: str
    when: str
    arguments: list[dict]
    scope: Scope


def expand(invocation: dict, scope: Scope) -> list[Iteration]:
    """The iterations of a looped task or step, in item order; ExpansionError if the loop's
    source cannot be read or an iteration does not resolve."""
    try:
        when = substitute(invocation.get("when") or "", scope, STRICT_PREFIXES)
        never = _false(when)
        iterations = []
        for index, item in enumerate(_items(invocation, scope, lenient=never)):
            name = node_name(invocation["name"], index, item)
            if never:  # skipped whatever the item: nothing else needs to resolve
                iterations.append(Iteration(name, when, [], scope))
                continue
            local = {**scope, **item_scope(item.value(), item.members())}
            iterations.append(
                Iteration(
                    name,
                    substitute(when, local, ITEM_PREFIXES),
                    resolve_arguments(invocation, local, ITEM_PREFIXES),
                    local,
                )
            )
        return iterations
    except (UnresolvedReference, ExpressionError) as err:
        raise ExpansionError(str(err)) from None


def _false(when: str) -> bool:
    """Whether ``when`` is false before any item is known (an error is not false)."""
    try:
        return not evaluate_when(when)
    except ExpressionError:
        return False


def _items(invocation: dict, scope: Scope, lenient: bool) -> list[Item]:
    if invocation.get("withItems"):
        values = substitute(invocation["withItems"], scope, STRICT_PREFIXES)
        return [Item.of(value) for value in values]
    try:
        if invocation.get("withParam"):
            text = substitute(invocation["withParam"], scope, STRICT_PREFIXES)
            try:
                return [Item(raw) for raw in gojson.elements(text)]
            except ValueError as err:
                raise ExpansionError(
                    f"withParam value could not be parsed as a JSON list: {text.strip()}: {err}"
                ) from None
        return sequence(substitute(invocation["withSequence"], scope, STRICT_PREFIXES))
    except ExpansionError:
        if lenient:
            return []
        raise


def sequence(spec: dict) -> list[Item]:
    """The items of a ``withSequence``: each number from start to end, formatted."""
    start = _whole("start", spec.get("start", 0))
    if spec.get("end") is not None:
        end = _whole("end", spec["end"])
    elif spec.get("count") is not None:
        count = _whole("count", spec["count"])
        if count == 0:
            return []
        end = start + count - 1
    else:
        raise ExpansionError("withSequence: neither end nor count was specified")
    step = 1 if start <= end else -1
    items = []
    for number in range(start, end + step, step):
        try:
            text = sprintf(spec.get("format") or "%d", number)
        except ValueError as err:
            raise ExpansionError(f"withSequence.format: {err}") from None
        raw = f'"{text}"'  # Argo parses the formatted number as the body of a JSON string
        try:
            gojson.check(raw)
        except ValueError:
            raise ExpansionError(
                f"withSequence.format: {text!r} cannot be an item (quote or backslash)"
            ) from None
        items.append(Item(raw))
    return items


def _whole(field: str, value) -> int:
    text = str(value).strip()
    if isinstance(value, bool) or not re.fullmatch(r"[+-]?\d+", text):
        raise ExpansionError(f"withSequence.{field}: {value!r} is not a whole number")
    return int(text)
