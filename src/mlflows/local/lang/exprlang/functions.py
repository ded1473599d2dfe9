"""The functions an expression calls by name: expr's builtins and Argo's additions.

expr-lang/expr v1.17.8 ``builtin/`` (``len``, ``int``, ``split``, ``toJSON``, ...; the ones taking
a predicate, such as ``filter``, are in :mod:`.tree`), and what Argo v4.1.2's
``util/expr/env/env.go`` adds: ``asInt``/``asFloat`` (expr's ``int``/``float``), ``jsonpath(json,
path)`` and ``toJson`` (compact, where expr's ``toJSON`` indents). Time values (``now()``,
``date()``, ``duration()``) are not deterministic and the bitwise functions are not done, so the
parser refuses them (:data:`UNSUPPORTED`).
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Callable
from typing import Any

from mlflows.local.lang.exprlang.govalues import (
    Function,
    GoPanic,
    from_json,
    is_number,
    parse_float,
    parse_int,
    text,
    to_json,
    type_name,
)
from mlflows.local.lang.exprlang.operators import equal, fetch, sort_by_keys, to_int


def _int(value: Any) -> int:
    """expr's ``int()``, Argo's ``asInt``: a number truncated, a string by ``strconv.Atoi``."""
    if is_number(value) and math.isfinite(value):
        return int(value)
    number = parse_int(value) if isinstance(value, str) else None
    if number is None:
        raise GoPanic(
            f"invalid operation: int({value if isinstance(value, str) else type_name(value)})"
        )
    return number


def _float(value: Any) -> float:
    """expr's ``float()``, Argo's ``asFloat``: a number, or a string by ``strconv.ParseFloat``."""
    if is_number(value):
        return float(value)
    number = parse_float(value) if isinstance(value, str) else None
    if number is None:
        shown = value if isinstance(value, str) else type_name(value)
        raise GoPanic(f"invalid operation: float({shown})")
    return number


def _len(value: Any) -> int:
    if not isinstance(value, (str, list, dict)):
        raise GoPanic(f"invalid argument for len (type {type_name(value)})")
    return len(value)


def _type(value: Any) -> str:
    """expr's ``type()``: nil, bool, int, float, string, array or map."""
    if value is None:
        return "nil"
    if isinstance(value, (list, dict)):
        return "array" if isinstance(value, list) else "map"
    return "float" if isinstance(value, float) else type_name(value)


def _round(value: float) -> float:
    """Go's ``math.Round``: half away from zero."""
    whole = math.trunc(value)
    return float(whole + math.copysign(1, value) if abs(value - whole) >= 0.5 else whole)


def _split(value: str, separator: str, limit: int = -1, after: bool = False) -> list[str]:
    """Go's ``strings.SplitN`` (``SplitAfterN``): at most ``limit`` parts when positive."""
    if limit == 0:
        return []
    if separator == "":
        count = len(value) if limit < 0 else min(limit, len(value))
        return [*value[: count - 1], value[count - 1 :]] if count else []
    parts = value.split(separator, limit - 1 if limit > 0 else -1)
    return [part + separator for part in parts[:-1]] + parts[-1:] if after else parts


def _join(items: list, separator: str = "") -> str:
    for item in items:
        if not isinstance(item, str):
            raise GoPanic(f"invalid argument for join (type {type_name(item)})")
    return separator.join(items)


def _numbers(name: str, values: tuple) -> list[int | float]:
    """The numbers in the arguments and (nested) arrays of max, min, mean and median."""
    numbers: list[int | float] = []
    for value in values:
        if isinstance(value, list):
            numbers.extend(_numbers(name, tuple(value)))
        elif is_number(value):
            numbers.append(value)
        else:
            raise GoPanic(f"invalid argument for {name} (type {type_name(value)})")
    return numbers


def _mean(*values: Any) -> float:
    numbers = _numbers("mean", values)
    return sum(numbers) / len(numbers) if numbers else 0.0


def _median(*values: Any) -> float:
    numbers = sorted(map(float, _numbers("median", values)))
    middle = len(numbers) // 2
    if not numbers:
        return 0.0
    return numbers[middle] if len(numbers) % 2 else (numbers[middle - 1] + numbers[middle]) / 2


def _from_base64(value: str) -> str:
    try:
        return base64.b64decode(value, validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        raise GoPanic(f"illegal base64 data: {value!r}") from None


def _get(value: Any, key: Any) -> Any:
    """``get(v, i)``: like ``v[i]``, but nil when the key or index is not there."""
    if isinstance(value, list):
        index = to_int(key)
        index = index + len(value) if index < 0 else index
        return value[index] if 0 <= index < len(value) else None
    return fetch(value, key) if isinstance(value, dict) else None


def _from_pairs(pairs: list) -> dict:
    mapping = {}
    for pair in pairs:
        if not isinstance(pair, list) or len(pair) != 2:
            raise GoPanic(f"invalid pair {text(pair)}")
        if isinstance(pair[0], (list, dict)):
            raise GoPanic(f"invalid map key type {type_name(pair[0])}")
        mapping[pair[0]] = pair[1]
    return mapping


def _flatten(items: list) -> list:
    return [
        leaf for item in items for leaf in (_flatten(item) if isinstance(item, list) else [item])
    ]


def _uniq(items: list) -> list:
    unique: list = []
    for item in items:
        if not any(equal(item, seen) for seen in unique):
            unique.append(item)
    return unique


def _jsonpath(document: str, path: str) -> Any:
    """Argo's ``jsonpath(json, path)`` (evilmonkeyinc/jsonpath) for plain paths: ``$.a.b``,
    ``$.a[0]``, ``$.a[-1]``, ``$['k.x']``; numbers come back as floats (JSON's float64)."""
    value = from_json(document)
    for key, index in jsonpath_steps(path):
        if key is not None:
            if not isinstance(value, dict) or key not in value:
                raise GoPanic(f"key: invalid token key '{key}' not found")
            value = value[key]
        else:
            if not isinstance(value, list) or not -len(value) <= index < len(value):
                raise GoPanic("index: invalid token out of range")
            value = value[index]
    return value


_JSONPATH_STEP = re.compile(r"""\.([^.\[\]'"\s*]+)|\[(-?[0-9]+)\]|\[(['"])(.*?)\3\]""")


def jsonpath_steps(path: str) -> list[tuple[str | None, int]]:
    steps, position = [], 1
    while path.startswith("$") and position < len(path):
        match = _JSONPATH_STEP.match(path, position)
        if match is None:
            break
        field, index, _, quoted = match.groups()
        steps.append(
            (field if index is None else None, int(index or 0)) if quoted is None else (quoted, 0)
        )
        position = match.end()
    if not path.startswith("$") or position < len(path):
        raise GoPanic(
            f"jsonpath {path!r}: the local runner reads plain paths such as $.a.b, $.a[0] or "
            "$['k.x'] (no wildcards, filters, slices, unions or '..')"
        )
    return steps


def _builtin(implementation: Callable[..., Any], *parameters: str, **options: Any) -> Function:
    return Function(implementation, parameters, **options)


STR, NUM, ANY = "string", "number", "any"
BUILTINS: dict[str, Function] = {
    "len": _builtin(_len, ANY),
    "type": _builtin(_type, ANY),
    "abs": _builtin(abs, NUM),
    "ceil": _builtin(lambda x: float(math.ceil(x)), NUM),
    "floor": _builtin(lambda x: float(math.floor(x)), NUM),
    "round": _builtin(_round, NUM),
    "int": _builtin(_int, ANY),
    "float": _builtin(_float, ANY),
    "string": _builtin(text, ANY),
    "trim": _builtin(lambda s, cut=None: s.strip(cut), STR, STR, optional=1),
    "trimPrefix": _builtin(lambda s, prefix=" ": s.removeprefix(prefix), STR, STR, optional=1),
    "trimSuffix": _builtin(lambda s, suffix=" ": s.removesuffix(suffix), STR, STR, optional=1),
    "upper": _builtin(str.upper, STR),
    "lower": _builtin(str.lower, STR),
    "split": _builtin(_split, STR, STR, "integer", optional=1),
    "splitAfter": _builtin(
        lambda s, sep, n=-1: _split(s, sep, n, after=True), STR, STR, "integer", optional=1
    ),
    "replace": _builtin(
        lambda s, old, new, n=-1: s.replace(old, new, n), STR, STR, STR, "integer", optional=1
    ),
    "repeat": _builtin(lambda s, n: s * n if n >= 0 else _negative_repeat(n), STR, "integer"),
    "join": _builtin(_join, "array", STR, optional=1),
    "indexOf": _builtin(str.find, STR, STR),
    "lastIndexOf": _builtin(str.rfind, STR, STR),
    "hasPrefix": _builtin(str.startswith, STR, STR),
    "hasSuffix": _builtin(str.endswith, STR, STR),
    "max": _builtin(lambda *v: max(_numbers("max", v), default=None), ANY, variadic=ANY),
    "min": _builtin(lambda *v: min(_numbers("min", v), default=None), ANY, variadic=ANY),
    "mean": _builtin(_mean, ANY, variadic=ANY),
    "median": _builtin(_median, ANY, variadic=ANY),
    "toJSON": _builtin(lambda v: to_json(v, indent="  "), ANY),
    "fromJSON": _builtin(from_json, STR),
    "toBase64": _builtin(lambda s: base64.b64encode(s.encode()).decode(), STR),
    "fromBase64": _builtin(_from_base64, STR),
    "first": _builtin(lambda v: v[0] if isinstance(v, list) and v else None, ANY),
    "last": _builtin(lambda v: v[-1] if isinstance(v, list) and v else None, ANY),
    "get": _builtin(_get, ANY, ANY),
    "take": _builtin(lambda v, n: v[:n] if n >= 0 else _negative_take(n), "array", "integer"),
    "keys": _builtin(list, "map"),
    "values": _builtin(lambda m: list(m.values()), "map"),
    "toPairs": _builtin(lambda m: [[k, v] for k, v in m.items()], "map"),
    "fromPairs": _builtin(_from_pairs, "array"),
    "reverse": _builtin(lambda v: v[::-1], "array"),
    "uniq": _builtin(_uniq, "array"),
    "concat": _builtin(lambda *lists: [x for v in lists for x in v], "array", variadic="array"),
    "flatten": _builtin(_flatten, "array"),
    "sort": _builtin(lambda v, order="asc": sort_by_keys(v, v, order), "array", STR, optional=1),
}
# Argo's additions to the environment; Go functions called by reflection.
ARGO_FUNCTIONS: dict[str, Function] = {
    "asInt": Function(_int, (ANY,), reflected=True),
    "asFloat": Function(_float, (ANY,), reflected=True),
    "jsonpath": Function(_jsonpath, (STR, STR), reflected=True),
    "toJson": Function(to_json, (ANY,), reflected=True),
}
# expr builtins this runner does not evaluate: time values, and the bitwise functions.
UNSUPPORTED = {"now", "duration", "date", "timezone", "bitand", "bitor", "bitxor", "bitnand"}
UNSUPPORTED |= {"bitnot", "bitshl", "bitshr", "bitushr"}


def _negative_repeat(count: int) -> str:
    raise GoPanic(f"invalid argument for repeat (expected positive integer, got {count})")


def _negative_take(count: int) -> list:
    raise GoPanic(f"cannot take {count} elements")
