"""JSON as Go's encoding/json writes it, so values the controller builds read as Argo's do.

``marshal`` is ``json.Marshal`` of a decoded value: compact, map keys sorted (a struct's fields,
``marshal_struct``, in their order), ``<``, ``>``, ``&`` and U+2028/U+2029 escaped, a float64 in
Go's shortest form (``1`` not ``1.0``, ``1e+21``).
``compact`` is what ``json.Marshal`` does to a ``json.RawMessage`` (Argo's loop items and
results): the text kept as written, only white space dropped and the same characters escaped.
``decode`` is ``json.Unmarshal`` into ``any``: every number a float64, NaN and Infinity refused;
``check`` only asks whether the text is JSON.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal

_HTML_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def _escape_html(text: str) -> str:
    for char, escape in _HTML_ESCAPES.items():
        text = text.replace(char, escape)
    return text


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _float64(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"number {text} does not fit a float64")
    return value


def check(text: str) -> None:
    """ValueError unless ``text`` is one JSON value (what Go checks before any Unmarshal)."""
    json.loads(text, parse_constant=_refuse_constant)


def decode(text: str):
    """``json.Unmarshal(text, &anyValue)``; ValueError if ``text`` is not one JSON value."""
    return json.loads(
        text, parse_int=_float64, parse_float=_float64, parse_constant=_refuse_constant
    )


def go_float(value: float) -> str:
    """A float64 as Go's encoding/json writes it."""
    if math.isinf(value) or math.isnan(value):
        raise ValueError(f"unsupported value: {value}")
    magnitude = abs(value)
    if magnitude and (magnitude < 1e-6 or magnitude >= 1e21):
        text = repr(value)  # Python's shortest digits in exponent form, as Go's 'e' format
        mantissa, _, exponent = text.partition("e")
        sign, digits = exponent[0], exponent[1:].lstrip("0")
        return f"{mantissa}e{sign}{digits.zfill(2) if sign == '+' else digits}"
    return format(Decimal(repr(value)).normalize(), "f")


class Struct(str):
    """A Go struct's JSON, as :func:`marshal_struct` wrote it: kept as it is inside others."""


def marshal(value) -> str:
    """``json.Marshal`` of a decoded JSON value (dict, list, str, int, float, bool, None)."""
    if isinstance(value, Struct):
        return str(value)
    if isinstance(value, dict):
        members = (f"{marshal(str(key))}:{marshal(value[key])}" for key in sorted(value))
        return "{" + ",".join(members) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(marshal(item) for item in value) + "]"
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, str):
        return _escape_html(json.dumps(value, ensure_ascii=False))
    if value is None or isinstance(value, (bool, int)):
        return json.dumps(value)
    return marshal(str(value))  # a YAML date, say: the API server holds it as a string


def marshal_struct(fields: list[tuple[str, object]]) -> Struct:
    """``json.Marshal`` of a Go struct: its fields in declaration order, as given."""
    members = ",".join(f"{marshal(name)}:{marshal(value)}" for name, value in fields)
    return Struct("{" + members + "}")


def compact(raw: str) -> str:
    """Valid JSON text without its insignificant white space, escaped as Go escapes HTML."""
    out: list[str] = []
    in_string = escaped = False
    for char in raw:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            out.append(_HTML_ESCAPES.get(char, char))
        elif char == '"':
            in_string = True
            out.append(char)
        elif char not in " \t\r\n":
            out.append(char)
    return "".join(out)


def elements(text: str) -> list[str]:
    """The raw text of each element of a JSON list; ValueError if ``text`` is not a JSON list."""
    decoder = json.JSONDecoder(parse_constant=_refuse_constant)
    stripped = text.strip()
    value = decoder.decode(stripped)  # raises for anything that is not valid JSON
    if not isinstance(value, list):
        raise ValueError(f"expected a JSON list, not {type(value).__name__}")
    raws, position = [], 1
    for _ in value:
        position = _skip_space(stripped, position)
        _, end = decoder.raw_decode(stripped, position)
        raws.append(stripped[position:end])
        position = _skip_space(stripped, end) + 1  # past the comma or the closing bracket
    return raws


def members(text: str) -> dict[str, str]:
    """The raw text of each member of a JSON object (the last of a repeated key, as Go keeps)."""
    decoder = json.JSONDecoder(parse_constant=_refuse_constant)
    stripped = text.strip()
    found: dict[str, str] = {}
    position = _skip_space(stripped, 1)
    while stripped[position] != "}":
        key, end = decoder.raw_decode(stripped, position)
        position = _skip_space(stripped, _skip_space(stripped, end) + 1)  # past the colon
        _, end = decoder.raw_decode(stripped, position)
        found[key] = stripped[position:end]
        position = _skip_space(stripped, end)
        if stripped[position] == ",":
            position = _skip_space(stripped, position + 1)
    return found


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position
