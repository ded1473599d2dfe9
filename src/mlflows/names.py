"""Kubernetes names: checked where the user gives them, so a bad one never reaches a cluster."""

from __future__ import annotations

import re

from mlflows.errors import UserError

_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def suggest_name(value: str) -> str:
    """The nearest valid name: lowercase, runs of other characters as one '-'."""
    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")[:63].strip("-") or "name"


def k8s_name(value: str, field: str, max_length: int = 63) -> str:
    """``value`` if it is a DNS-1123 label, as Kubernetes requires of most names; else UserError."""
    if len(value) <= max_length and _DNS1123_LABEL.fullmatch(value):
        return value
    raise UserError(
        f"{field}: {value!r} is not a valid Kubernetes name (lowercase letters, digits and '-', "
        f"starting and ending with a letter or digit, at most {max_length} characters); "
        f"try {suggest_name(value)!r}"
    )
