"""Go duration strings (``90s``, ``1h30m``), the form Argo uses for ``maxAge`` and backoffs."""

from __future__ import annotations

import re

from mlflows.errors import UserError

_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_WHOLE = re.compile(rf"(?:{_PART.pattern})+")


def parse_duration(text: str, field: str) -> float:
    """Seconds in a Go duration such as ``"24h"`` or ``"1h30m"``; UserError naming ``field`` if not one."""
    if not _WHOLE.fullmatch(text.strip()):
        raise UserError(
            f"{field}: {text!r} is not a duration; write a number with a unit, "
            "e.g. '90s', '30m', '24h' or '1h30m'"
        )
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in _PART.findall(text))
