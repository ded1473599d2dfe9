"""expr's operators over Go values, as its VM applies them (expr-lang/expr v1.17.8 ``vm/runtime``).

``+`` adds numbers (an int while both are ints) or joins strings; ``/`` and ``**`` always give a
float; ``%`` takes ints only and keeps the dividend's sign; ``==`` compares numbers by value
across int and float, arrays item by item, and anything else by Go's DeepEqual; ``<`` orders
numbers or strings; ``in`` looks in an array or a map's keys (a string is an error);
``matches``/``contains``/``startsWith``/``endsWith`` are false when a side is nil.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

from mlflows.local.lang.exprlang.govalues import (
    GoPanic,
    deep_equal,
    is_int,
    is_number,
    regex,
    text,
    type_name,
)


def to_bool(value: Any, operator: str) -> bool:
    if not isinstance(value, bool):
        raise GoPanic(f"invalid operation: {operator} needs a bool, not {type_name(value)}")
    return value


def to_int(value: Any) -> int:
    """expr's ``runtime.ToInt``: a number, truncated."""
    if not is_number(value):
        raise GoPanic(f"invalid operation: int({type_name(value)})")
    return int(value)


def fetch(target: Any, key: Any) -> Any:
    """``target.key`` / ``target[key]``: a missing map key is nil, a negative index counts from
    the end, indexing past the end fails."""
    if isinstance(target, dict):
        return target.get(map_key(key, target))
    if isinstance(target, list):
        index = to_int(key)
        index = index + len(target) if index < 0 else index
        if not 0 <= index < len(target):
            raise GoPanic(f"index out of range: {index} (array length is {len(target)})")
        return target[index]
    if isinstance(target, str):
        raise GoPanic("indexing a string is not supported locally (expr gives a byte); slice it")
    raise GoPanic(f"cannot fetch {text(key)} from {type_name(target)}")


def map_key(key: Any, mapping: dict) -> Any:
    """``key`` to look up in a map (nil is the zero key ""); an array or a map cannot be one."""
    if isinstance(key, (list, dict)):
        raise GoPanic(f"cannot use {type_name(key)} as a key of {type_name(mapping)}")
    return "" if key is None else key


def equal(left: Any, right: Any) -> bool:
    """expr's ``==``: numbers by value across int and float, arrays item by item, else Go's
    DeepEqual (so 1 == "1" is false)."""
    if is_number(left) and is_number(right):
        return left == right
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(equal, left, right))
    return deep_equal(left, right)


def _arithmetic(symbol: str, apply: Callable[[Any, Any], Any], strings: bool = False) -> Callable:
    def operate(left: Any, right: Any) -> Any:
        if is_number(left) and is_number(right):
            return apply(left, right)
        if strings and isinstance(left, str) and isinstance(right, str):
            return left + right
        raise GoPanic(f"invalid operation: {type_name(left)} {symbol} {type_name(right)}")

    return operate


def _divide(left: float, right: float) -> float:
    if right != 0:
        return left / right
    if left == 0 or math.isnan(left):
        return math.nan
    return math.copysign(math.inf, left) * math.copysign(1.0, right)


def _modulo(left: Any, right: Any) -> int:
    if not (is_int(left) and is_int(right)):
        raise GoPanic(f"invalid operation: {type_name(left)} % {type_name(right)}")
    if right == 0:
        raise GoPanic("runtime error: integer divide by zero")
    remainder = abs(left) % abs(right)
    return -remainder if left < 0 else remainder  # Go's sign follows the dividend


def _power(base: float, exponent: float) -> float:
    try:
        return math.pow(base, exponent)
    except OverflowError:
        odd = exponent.is_integer() and exponent % 2 == 1
        return -math.inf if base < 0 and odd else math.inf
    except ValueError:  # Go: 0 ** -1 is +Inf, (-8) ** 0.5 is NaN
        return math.inf if base == 0 else math.nan


def _ordered(symbol: str, apply: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(left: Any, right: Any) -> bool:
        if (is_number(left) and is_number(right)) or (
            isinstance(left, str) and isinstance(right, str)
        ):
            return apply(left, right)
        raise GoPanic(f"invalid operation: {type_name(left)} {symbol} {type_name(right)}")

    return compare


def _strings(symbol: str, apply: Callable[[str, str], bool]) -> Callable[[Any, Any], bool]:
    """``matches``, ``contains``, ``startsWith``, ``endsWith``: false when either side is nil."""

    def operate(left: Any, right: Any) -> bool:
        if left is None or right is None:
            return False
        if not (isinstance(left, str) and isinstance(right, str)):
            raise GoPanic(f"invalid operation: {type_name(left)} {symbol} {type_name(right)}")
        return apply(left, right)

    return operate


def _member_of(needle: Any, haystack: Any) -> bool:
    if haystack is None:
        return False
    if isinstance(haystack, list):
        return any(equal(item, needle) for item in haystack)
    if isinstance(haystack, dict):
        return map_key(needle, haystack) in haystack
    raise GoPanic(f'operator "in" not defined on {type_name(haystack)}')


BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "==": equal,
    "!=": lambda left, right: not equal(left, right),
    "<": _ordered("<", lambda a, b: a < b),
    ">": _ordered(">", lambda a, b: a > b),
    "<=": _ordered("<=", lambda a, b: a <= b),
    ">=": _ordered(">=", lambda a, b: a >= b),
    "+": _arithmetic("+", lambda a, b: a + b, strings=True),
    "-": _arithmetic("-", lambda a, b: a - b),
    "*": _arithmetic("*", lambda a, b: a * b),
    "/": _arithmetic("/", lambda a, b: _divide(float(a), float(b))),
    "%": _modulo,
    "**": _arithmetic("**", lambda a, b: _power(float(a), float(b))),
    "^": _arithmetic("^", lambda a, b: _power(float(a), float(b))),
    "in": _member_of,
    "matches": _strings("matches", lambda s, pattern: regex(pattern).search(s) is not None),
    "contains": _strings("contains", lambda s, part: part in s),
    "startsWith": _strings("startsWith", str.startswith),
    "endsWith": _strings("endsWith", str.endswith),
    "..": lambda low, high: list(range(to_int(low), to_int(high) + 1)),
}


def sort_by_keys(items: list, keys: list, order: Any) -> list:
    """``items`` ordered by ``keys`` (numbers or strings), ``order`` "asc" or "desc"."""
    if order not in ("asc", "desc"):
        raise GoPanic(f"invalid order {text(order)}, expected asc or desc")
    less = BINARY["<"]

    def compare(a: int, b: int) -> int:
        return -1 if less(keys[a], keys[b]) else int(less(keys[b], keys[a]))

    positions = sorted(
        range(len(items)), key=functools.cmp_to_key(compare), reverse=order == "desc"
    )
    return [items[position] for position in positions]
