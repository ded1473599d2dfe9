"""``kubectl get -o jsonpath=TEMPLATE`` for the paths people write for output parameters.

:func:`parse_jsonpath` reads a template (and refuses what the local runner does not evaluate);
:func:`read_jsonpath` prints a document's values as kubectl prints them.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

from mlflows.errors import UserError
from mlflows.local.cluster.objects import KubectlError

_MISSING = object()
_ACTION = re.compile(r"\{([^{}]*)\}")
_STEP = re.compile(r"""\.([^.\[\]'"\s]+)|\[(-?[0-9]+)\]|\[(['"])(.*?)\3\]""")


def parse_jsonpath(template: str) -> list[str | list[str | int]]:
    """A kubectl JSONPath template as literal text and paths (a path: field names and indexes).

    Supported: ``{.a.b}``, ``{.a[0].b}``, ``{.a[-1]}``, ``{.metadata.labels['k.io/x']}``, an
    optional leading ``$``, and text around them. Raises UserError for the rest (filters,
    wildcards, slices, unions, ``..``, ``range``), which the local runner does not evaluate.
    """
    parts: list[str | list[str | int]] = []
    position = 0
    for action in _ACTION.finditer(template):
        parts.append(template[position : action.start()])
        parts.append(_parse_path(action.group(1).strip(), template))
        position = action.end()
    parts.append(template[position:])
    if not any(isinstance(part, list) for part in parts):
        raise UserError(
            f"jsonPath {template!r} has no {{...}} expression, so kubectl would print it as is; "
            "write e.g. '{.status.url}'"
        )
    if "{" in "".join(part for part in parts if isinstance(part, str)):
        raise UserError(f"jsonPath {template!r}: unbalanced or nested braces")
    return [part for part in parts if part != ""]


def _parse_path(expression: str, template: str) -> list[str | int]:
    text = expression[1:] if expression.startswith("$") else expression
    steps: list[str | int] = []
    position = 0
    while position < len(text):
        match = _STEP.match(text, position)
        if match is None:
            break
        field, index, _, quoted = match.groups()
        if index is not None:
            steps.append(int(index))
        else:
            steps.append(field if field is not None else quoted)
        position = match.end()
    if position < len(text) or not text:
        raise UserError(
            f"jsonPath {template!r}: the local runner reads plain paths such as "
            "{.status.url}, {.a[0].b} or {.a['k.x']}; filters, wildcards, slices, unions, '..' "
            "and range are not supported"
        )
    return steps


def read_jsonpath(document: dict, template: str) -> str:
    """What kubectl prints: a missing field prints nothing; indexing past an array's end or
    into a non-array is kubectl's error (KubectlError). A template outside the supported subset
    is a UserError."""
    printed = []
    for part in parse_jsonpath(template):
        if isinstance(part, str):
            printed.append(part)
            continue
        value: object = document
        for step in part:
            if value is None or value is _MISSING:
                value = _MISSING  # kubectl prints nothing below a missing or null field
                break
            if isinstance(step, int):
                if not isinstance(value, list):
                    raise KubectlError(
                        f"error executing jsonpath {template!r}: [{step}] indexes a non-array"
                    )
                if not -len(value) <= step < len(value):
                    raise KubectlError(
                        f"error executing jsonpath {template!r}: array index out of bounds: "
                        f"index {step}, length {len(value)}"
                    )
                value = value[step]
            else:
                value = value.get(step, _MISSING) if isinstance(value, dict) else _MISSING
        if value is not _MISSING:
            printed.append(_kubectl_text(value))
    return "".join(printed)


def _kubectl_text(value: object) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _go_shortest_g(value)
    return str(value)


def _go_shortest_g(value: float) -> str:
    """Go's ``%v`` of a float64: shortest digits, exponent form below 1e-4 and from 1e6."""
    decimal = Decimal(repr(value)).normalize()
    exponent = decimal.adjusted()
    if -4 <= exponent < 6:
        return format(decimal, "f")
    sign, digits, _ = decimal.as_tuple()
    mantissa = str(digits[0]) + ("." + "".join(map(str, digits[1:])) if len(digits) > 1 else "")
    return f"{'-' if sign else ''}{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
