"""Durations as Argo reads them: Go's ``time.ParseDuration`` syntax, sometimes plain seconds.

``retryStrategy.backoff`` and template ``timeout`` accept a bare integer as seconds
(Argo's ``ParseStringToDuration``); ``memoize.maxAge`` is Go syntax only. The ``mlflows cache``
command also takes days (``7d``), which Go does not, because cache ages are counted in days.
"""

from __future__ import annotations

import re

from mlflows.errors import UserError

_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h|d)")


def parse_go_duration(text: str, *, allow_days: bool = False) -> float:
    """Seconds in a Go duration such as ``1h30m`` or ``1.5s``; raises ValueError if malformed."""
    text = text.strip()
    sign = -1.0 if text.startswith("-") else 1.0
    body = text.lstrip("+-")
    if body == "0":
        return 0.0
    units = dict(_UNIT_SECONDS, d=86400.0) if allow_days else _UNIT_SECONDS
    total, position = 0.0, 0
    for match in _PART.finditer(body):
        if match.start() != position or match.group(2) not in units:
            break
        total += float(match.group(1)) * units[match.group(2)]
        position = match.end()
    if not body or position != len(body):
        raise ValueError(f"invalid duration {text!r} (use Go syntax such as 30s, 5m, 1h30m)")
    return sign * total


def parse_seconds_or_duration(text: str | int | float) -> float:
    """Argo's ParseStringToDuration: an integer means seconds, anything else is Go syntax."""
    value = str(text).strip()
    if re.fullmatch(r"[+-]?\d+", value):
        return float(int(value))
    return parse_go_duration(value)


def format_duration(seconds: float) -> str:
    """Short human form like ``argo get``: ``850ms``, ``12s``, ``3m4s``, ``1h2m``."""
    if seconds < 1:
        return f"{int(seconds * 1000)}ms"
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def parse_duration(text: str, field: str) -> float:
    """Seconds in the Go duration given for ``field`` (e.g. ``"24h"``); UserError if not one."""
    try:
        seconds = parse_go_duration(text)
    except ValueError:
        seconds = -1.0
    if seconds < 0:
        raise UserError(
            f"{field}: {text!r} is not a duration; write a number with a unit, "
            "e.g. '90s', '30m', '24h' or '1h30m'"
        )
    return seconds
