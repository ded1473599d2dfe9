"""Go's view of the values an expression computes: type names, ``%v`` text, JSON, number parsing.

expr-lang (github.com/expr-lang/expr v1.17.8) and sprig (github.com/Masterminds/sprig v3.3.0) are
Go libraries, so what an expression prints, encodes and parses is what Go's ``fmt``,
``encoding/json``, ``strconv`` and ``regexp`` do. Python values stand for Go's: ``int`` for int,
``float`` for float64, ``str``, ``bool``, ``None`` for nil, ``list`` for ``[]interface {}`` and
``dict`` (string keys) for ``map[string]interface {}``.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


class GoPanic(Exception):
    """A Go function failed (returned an error or panicked); the message is Go's."""


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return is_int(value) or isinstance(value, float)


def type_name(value: Any) -> str:
    """Go's ``%T`` of the value."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, dict):
        return "map[string]interface {}"
    return type(value).__name__


def _digits(value: float) -> tuple[Decimal, int]:
    """The shortest decimal that reads back as ``value``, and its exponent (d.ddd x 10^e)."""
    decimal = Decimal(repr(value)).normalize()
    return decimal, decimal.adjusted()


def format_float(value: float) -> str:
    """``%v`` of a float64: shortest digits, in exponent form below 1e-4 and from 1e6 (strconv's
    shortest ``%g``), e.g. ``2.5``, ``3``, ``1e+06``, ``1.5e-05``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    decimal, exponent = _digits(value)
    if -4 <= exponent < 6:
        return format(decimal, "f")
    return _exponent_form(decimal, exponent, min_digits=2)


def _exponent_form(decimal: Decimal, exponent: int, min_digits: int) -> str:
    sign, digits, _ = decimal.as_tuple()
    mantissa = str(digits[0]) + ("." + "".join(map(str, digits[1:])) if len(digits) > 1 else "")
    magnitude = str(abs(exponent)).rjust(min_digits, "0")
    return f"{'-' if sign else ''}{mantissa}e{'-' if exponent < 0 else '+'}{magnitude}"


def text(value: Any) -> str:
    """``fmt.Sprintf("%v", value)``: what expr's ``string()`` and sprig's ``toString`` give."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, list):
        return "[" + " ".join(text(item) for item in value) + "]"
    if isinstance(value, dict):
        ordered = sorted(
            value, key=lambda key: (0, key, "") if is_number(key) else (1, 0, text(key))
        )
        pairs = (f"{text(key)}:{text(value[key])}" for key in ordered)  # fmt sorts a map's keys
        return "map[" + " ".join(pairs) + "]"
    return str(value)


# encoding/json escapes these beyond what JSON needs, so that HTML and JavaScript can embed it.
_JSON_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def _json_string(value: str, escape_html: bool = True) -> str:
    encoded = json.dumps(value, ensure_ascii=False)
    escaped = "[<>&\u2028\u2029]" if escape_html else "[\u2028\u2029]"
    return re.sub(escaped, lambda match: _JSON_ESCAPES[match.group(0)], encoded)


def _json_float(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        raise GoPanic(f"json: unsupported value: {format_float(value)}")
    decimal, exponent = _digits(value)
    if value == 0 or 1e-6 <= abs(value) < 1e21:
        return format(decimal, "f")
    return _exponent_form(decimal, exponent, min_digits=1)


def to_json(value: Any, indent: str | None = None, escape_html: bool = True) -> str:
    """``json.Marshal`` or, given ``indent``, ``json.MarshalIndent(value, "", indent)``; without
    ``escape_html``, an Encoder with ``SetEscapeHTML(false)``."""

    def encode(value: Any, level: int) -> str:
        if value is None:
            return "null"
        if isinstance(value, bool):
            return "true" if value else "false"
        if is_int(value):
            return str(value)
        if isinstance(value, float):
            return _json_float(value)
        if isinstance(value, str):
            return _json_string(value, escape_html)
        if isinstance(value, list):
            return join("[", [encode(item, level + 1) for item in value], "]", level)
        if isinstance(value, dict):
            if not all(isinstance(key, str) for key in value):
                raise GoPanic("json: unsupported type: map[interface {}]interface {}")
            colon = ": " if indent else ":"
            items = [
                _json_string(key, escape_html) + colon + encode(value[key], level + 1)
                for key in sorted(value)
            ]
            return join("{", items, "}", level)
        raise GoPanic(f"json: unsupported type: {type_name(value)}")

    def join(opening: str, items: list[str], closing: str, level: int) -> str:
        if not items:
            return opening + closing
        if indent is None:
            return opening + ",".join(items) + closing
        inner, outer = "\n" + indent * (level + 1), "\n" + indent * level
        return opening + inner + ("," + inner).join(items) + outer + closing

    return encode(value, 0)


def deep_equal(left: Any, right: Any) -> bool:
    """``reflect.DeepEqual``: the same Go types all the way down (1 and 1.0 differ)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, list):
        return len(left) == len(right) and all(map(deep_equal, left, right))
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(deep_equal(left[k], right[k]) for k in left)
    return left == right


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid character '{name[0]}' looking for beginning of value")


def from_json(document: str) -> Any:
    """``json.Unmarshal`` into ``interface{}``: every number is a float64."""
    try:
        return json.loads(document, parse_int=float, parse_constant=_reject_constant)
    except json.JSONDecodeError as err:
        raise GoPanic(f"invalid JSON: {err.msg} at offset {err.pos}") from None
    except ValueError as err:
        raise GoPanic(str(err)) from None


def quote(value: str) -> str:
    """``strconv.Quote`` (``%q``): Go escapes, printable characters kept as they are."""
    named = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
    named |= {"\v": "\\v", "\\": "\\\\", '"': '\\"'}
    out = []
    for char in value:
        if char in named:
            out.append(named[char])
        elif char.isprintable() or char == " ":
            out.append(char)
        elif ord(char) < 0x80:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) < 0x10000:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return '"' + "".join(out) + '"'


_ATOI = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)")


def parse_int(value: str) -> int | None:
    """``strconv.Atoi``: None where Go returns an error (out of int64's range too)."""
    number = int(value) if _ATOI.fullmatch(value) else None
    return number if number is not None and -(2**63) <= number < 2**63 else None


def parse_float(value: str) -> float | None:
    """``strconv.ParseFloat(value, 64)``: None where Go returns an error (out of range too)."""
    if not _FLOAT.fullmatch(value.lower()):
        return None
    result = float(value)
    if math.isinf(result) and "inf" not in value.lower():
        return None
    return result


@functools.lru_cache(maxsize=256)
def regex(pattern: str) -> re.Pattern:
    """Go's RE2 pattern as Python's ``re`` reads it (the syntax both share; ``\\z`` is ``\\Z``)."""
    try:
        return re.compile(pattern.replace("\\z", "\\Z"))
    except re.error as err:
        raise GoPanic(f"error parsing regexp: {err}: `{pattern}`") from None


_TEMPLATE_NAME = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


def expand(template: str, match: re.Match) -> str:
    """``Regexp.Expand``: ``$1``, ``${1}``, ``$name``, ``${name}`` (the longest run of word
    characters) become that group, empty when absent or unmatched; ``$$`` is ``$``."""
    out, position = [], 0
    while (dollar := template.find("$", position)) >= 0:
        out.append(template[position:dollar])
        if template.startswith("$$", dollar):
            out.append("$")
            position = dollar + 2
            continue
        reference = _TEMPLATE_NAME.match(template, dollar)
        if reference is None:  # malformed: Go keeps the '$' as text
            out.append("$")
            position = dollar + 1
            continue
        name = reference.group(1) or reference.group(2)
        group = int(name) if name.isdigit() else match.re.groupindex.get(name)
        if group is not None and group <= (match.re.groups or 0):
            out.append(match.group(group) or "")
        position = reference.end()
    out.append(template[position:])
    return "".join(out)


_GO_TYPES = {"map": "map[string]interface {}", "array": "[]interface {}"}
_ZERO: dict[str, Any] = {"string": "", "int": 0, "float64": 0.0, "bool": False}
_ACCEPTS: dict[str, Callable[[Any], bool]] = {
    "any": lambda value: True,
    "string": lambda value: isinstance(value, str),
    "int": is_int,  # a Go int parameter: exactly an int
    "integer": is_number,  # expr's runtime.ToInt: any number, truncated
    "number": is_number,
    "float64": lambda value: isinstance(value, float),
    "bool": lambda value: isinstance(value, bool),
    "array": lambda value: isinstance(value, list),
    "map": lambda value: isinstance(value, dict),
}


@dataclass(frozen=True)
class Function:
    """A Go function as an expression calls it: an implementation over Python values, and the
    kinds of its parameters (keys of ``_ACCEPTS``), checked before it runs."""

    implementation: Callable[..., Any]
    parameters: tuple[str, ...] = ()
    optional: int = 0  # how many of the last parameters may be left out
    variadic: str | None = None  # the kind of any further arguments
    # reflect.Call (sprig, Argo's env) passes nil as the parameter type's zero value, and says
    # "reflect: Call using T as type U" for a mismatch; expr's builtins reject both themselves.
    reflected: bool = False

    def arity_error(self, count: int) -> str | None:
        least, most = len(self.parameters) - self.optional, len(self.parameters)
        if least <= count and (count <= most or self.variadic is not None):
            return None
        if self.variadic is not None:
            return f"invalid number of arguments (expected at least {least}, got {count})"
        expected = str(most) if least == most else f"{least} to {most}"
        return f"invalid number of arguments (expected {expected}, got {count})"

    def __call__(self, name: str, arguments: list[Any]) -> Any:
        error = self.arity_error(len(arguments))
        if error is not None:
            raise GoPanic(error)
        extra = len(arguments) - len(self.parameters)
        kinds = (self.parameters + (self.variadic or "any",) * extra)[: len(arguments)]
        bound = (
            self._bind(name, kind, value) for kind, value in zip(kinds, arguments, strict=True)
        )
        return self.implementation(*bound)

    def _bind(self, name: str, kind: str, value: Any) -> Any:
        if value is None and self.reflected:
            return _ZERO.get(kind)
        if not _ACCEPTS[kind](value):
            if self.reflected:
                wanted = _GO_TYPES.get(kind, kind)
                raise GoPanic(f"reflect: Call using {type_name(value)} as type {wanted}")
            raise GoPanic(f"invalid argument for {name} (type {type_name(value)})")
        return int(value) if kind == "integer" else value
