"""The syntax tree of an expression, each node evaluating itself (expr's ``ast`` and ``vm``).

A :class:`Run` carries one evaluation: the environment, ``let`` variables, the items the
predicates iterate over (``#``, ``#index``, ``#acc``) and the position of the node being applied,
which the error message names. Nodes raise :class:`GoPanic` for a runtime error, as expr's VM
panics. ``a?.b`` on a nil ``a`` ends its chain with nil (:class:`Chain`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mlflows.local.lang.exprlang.govalues import Function, GoPanic, is_number, type_name
from mlflows.local.lang.exprlang.operators import BINARY, fetch, sort_by_keys, to_bool, to_int


class Run:
    """One evaluation: the environment, ``let`` variables, the items predicates iterate over,
    and the position of the node being applied (for the error message)."""

    def __init__(self, env: Mapping[str, Any]):
        self.env = env
        self.variables: dict[str, Any] = {}
        self.frames: list[dict[str, Any]] = []  # {"": item, "index": i, "acc": accumulator}
        self.at = 0


class NilChain(Exception):
    """``a?.b`` met a nil ``a``: the whole chain is nil."""


@dataclass(frozen=True)
class Node:
    position: int

    def evaluate(self, run: Run) -> Any:
        raise NotImplementedError


@dataclass(frozen=True)
class Literal(Node):
    value: Any

    def evaluate(self, run: Run) -> Any:
        return self.value


@dataclass(frozen=True)
class Array(Node):
    items: tuple[Node, ...]

    def evaluate(self, run: Run) -> Any:
        return [item.evaluate(run) for item in self.items]


@dataclass(frozen=True)
class Map(Node):
    pairs: tuple[tuple[Node, Node], ...]

    def evaluate(self, run: Run) -> Any:
        mapping: dict[str, Any] = {}
        for key_node, value_node in self.pairs:
            key, value = key_node.evaluate(run), value_node.evaluate(run)
            if not isinstance(key, str):
                run.at = key_node.position
                raise GoPanic(f"a map key must be a string, not {type_name(key)}")
            mapping.setdefault(key, value)  # expr's VM keeps a repeated key's first value
        return mapping


@dataclass(frozen=True)
class Name(Node):
    name: str

    def evaluate(self, run: Run) -> Any:
        if self.name in run.variables:
            return run.variables[self.name]
        if self.name == "$env":
            return run.env
        if self.name in run.env:
            return run.env[self.name]
        run.at = self.position
        raise GoPanic(f"unknown name {self.name}")


@dataclass(frozen=True)
class Pointer(Node):
    name: str  # "" for the item (``#``, ``.field``), "index" or "acc"

    def evaluate(self, run: Run) -> Any:
        return run.frames[-1].get(self.name)


@dataclass(frozen=True)
class Unary(Node):
    operator: str
    operand: Node

    def evaluate(self, run: Run) -> Any:
        value = self.operand.evaluate(run)
        run.at = self.position
        if self.operator == "not":
            return not to_bool(value, "!")
        if not is_number(value):
            raise GoPanic(f"invalid operation: {self.operator} {type_name(value)}")
        return -value if self.operator == "-" else value


@dataclass(frozen=True)
class Binary(Node):
    operator: str
    left: Node
    right: Node

    def evaluate(self, run: Run) -> Any:
        left = self.left.evaluate(run)
        operator = self.operator
        if operator in ("&&", "and", "||", "or"):
            run.at = self.position
            if to_bool(left, operator) == (operator in ("||", "or")):
                return left  # short circuit
            right = self.right.evaluate(run)
            run.at = self.position
            return to_bool(right, operator)
        if operator == "??":
            return left if left is not None else self.right.evaluate(run)
        right = self.right.evaluate(run)
        run.at = self.position
        return BINARY[operator](left, right)


@dataclass(frozen=True)
class Conditional(Node):
    condition: Node
    yes: Node
    no: Node

    def evaluate(self, run: Run) -> Any:
        condition = self.condition.evaluate(run)
        run.at = self.position
        return (self.yes if to_bool(condition, "?:") else self.no).evaluate(run)


@dataclass(frozen=True)
class Member(Node):
    target: Node
    key: Node
    optional: bool

    def evaluate(self, run: Run) -> Any:
        target = self.target.evaluate(run)
        if target is None and self.optional:
            raise NilChain
        key = self.key.evaluate(run)
        run.at = self.position
        return fetch(target, key)


@dataclass(frozen=True)
class Chain(Node):
    node: Node

    def evaluate(self, run: Run) -> Any:
        try:
            return self.node.evaluate(run)
        except NilChain:
            return None


@dataclass(frozen=True)
class Slice(Node):
    target: Node
    start: Node | None
    stop: Node | None

    def evaluate(self, run: Run) -> Any:
        target = self.target.evaluate(run)
        start = 0 if self.start is None else self.start.evaluate(run)
        stop = None if self.stop is None else self.stop.evaluate(run)
        run.at = self.position
        if not isinstance(target, (list, str)):
            raise GoPanic(f"cannot slice {type_name(target)}")
        length = len(target)
        low, high = to_int(start), length if stop is None else to_int(stop)
        low, high = (low + length if low < 0 else low), (high + length if high < 0 else high)
        high = min(max(high, 0), length)
        return target[min(max(low, 0), high) : high]


@dataclass(frozen=True)
class Call(Node):
    name: str
    function: Function
    arguments: tuple[Node, ...]

    def evaluate(self, run: Run) -> Any:
        arguments = [argument.evaluate(run) for argument in self.arguments]
        run.at = self.position
        return self.function(self.name, arguments)


@dataclass(frozen=True)
class Predicate(Node):
    """``filter(list, # > 1)`` and the other builtins that take a predicate."""

    name: str
    items: Node
    body: Node | None  # None: count(list) and sum(list) without one
    extra: Node | None  # sortBy's order, reduce's initial value

    def evaluate(self, run: Run) -> Any:
        items = self.items.evaluate(run)
        extra = self.extra.evaluate(run) if self.extra is not None else None
        run.at = self.position
        if not isinstance(items, list):
            raise GoPanic(f"cannot iterate over {type_name(items)} in {self.name}()")
        return PREDICATES[self.name][1](self, run, items, extra)

    def apply(self, run: Run, item: Any, index: int, acc: Any = None) -> Any:
        if self.body is None:
            return item
        run.frames.append({"": item, "index": index, "acc": acc})
        try:
            return self.body.evaluate(run)
        finally:
            run.frames.pop()

    def test(self, run: Run, item: Any, index: int) -> bool:
        result = self.apply(run, item, index)
        if not isinstance(result, bool):
            run.at = self.position
            raise GoPanic(f"predicate should return boolean (got {type_name(result)})")
        return result

    def matching(self, run: Run, items: list) -> list[int]:
        return [index for index, item in enumerate(items) if self.test(run, item, index)]


@dataclass(frozen=True)
class Let(Node):
    name: str
    value: Node
    body: Node

    def evaluate(self, run: Run) -> Any:
        outer = run.variables
        run.variables = {**outer, self.name: self.value.evaluate(run)}
        try:
            return self.body.evaluate(run)
        finally:
            run.variables = outer


@dataclass(frozen=True)
class Sequence(Node):
    nodes: tuple[Node, ...]

    def evaluate(self, run: Run) -> Any:
        for node in self.nodes:
            value = node.evaluate(run)
        return value


def _find(reverse: bool, index: bool) -> Callable:
    def find(p: Predicate, run: Run, items: list, extra: Any) -> Any:
        order = range(len(items) - 1, -1, -1) if reverse else range(len(items))
        found = next((i for i in order if p.test(run, items[i], i)), None)
        if index:
            return -1 if found is None else found
        return None if found is None else items[found]

    return find


def _group_by(p: Predicate, run: Run, items: list, extra: Any) -> dict:
    groups: dict = {}
    for index, item in enumerate(items):
        key = p.apply(run, item, index)
        if isinstance(key, (list, dict)):
            raise GoPanic(f"invalid map key type {type_name(key)}")
        groups.setdefault(key, []).append(item)
    return groups


def _reduce(p: Predicate, run: Run, items: list, extra: Any) -> Any:
    if p.extra is None and not items:
        raise GoPanic("reduce of empty array with no initial value")
    start, acc = (1, items[0]) if p.extra is None else (0, extra)
    for index in range(start, len(items)):
        acc = p.apply(run, items[index], index, acc)
    return acc


def _sum(p: Predicate, run: Run, items: list, extra: Any) -> Any:
    values = [p.apply(run, item, index) for index, item in enumerate(items)]
    for value in values:
        if not is_number(value):
            raise GoPanic(f"invalid argument for sum (type {type_name(value)})")
    return sum(values)


_Runner = Callable[[Predicate, Run, list, Any], Any]
# name: (the arguments after the list: p a predicate, e an expression, ? optional), implementation
PREDICATES: dict[str, tuple[tuple[str, ...], _Runner]] = {
    "all": (("p",), lambda p, run, items, _: all(p.test(run, x, i) for i, x in enumerate(items))),
    "any": (("p",), lambda p, run, items, _: any(p.test(run, x, i) for i, x in enumerate(items))),
    "none": (
        ("p",),
        lambda p, run, items, _: not any(p.test(run, x, i) for i, x in enumerate(items)),
    ),
    "one": (("p",), lambda p, run, items, _: len(p.matching(run, items)) == 1),
    "filter": (("p",), lambda p, run, items, _: [items[i] for i in p.matching(run, items)]),
    "map": (("p",), lambda p, run, items, _: [p.apply(run, x, i) for i, x in enumerate(items)]),
    "count": (("p?",), lambda p, run, items, _: len(p.matching(run, items))),
    "sum": (("p?",), _sum),
    "find": (("p",), _find(reverse=False, index=False)),
    "findIndex": (("p",), _find(reverse=False, index=True)),
    "findLast": (("p",), _find(reverse=True, index=False)),
    "findLastIndex": (("p",), _find(reverse=True, index=True)),
    "groupBy": (("p",), _group_by),
    "sortBy": (
        ("p", "e?"),
        lambda p, run, items, order: sort_by_keys(
            items, [p.apply(run, x, i) for i, x in enumerate(items)], order if p.extra else "asc"
        ),
    ),
    "reduce": (("p", "e?"), _reduce),
}
