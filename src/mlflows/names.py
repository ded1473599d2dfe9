"""Kubernetes names and image references: checked where the user gives them, so a bad one never
reaches a cluster."""

from __future__ import annotations

import re

from mlflows.errors import UserError

_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")

# An image reference as the container runtimes parse it (the distribution/reference grammar):
# [host[:port]/]path[:tag][@digest], the path in lowercase.
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_HOST_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_HOST = rf"(?:{_HOST_LABEL}(?:\.{_HOST_LABEL})*|\[[a-fA-F0-9:]+\])"  # a name, or [IPv6]
_IMAGE_REFERENCE = re.compile(
    rf"(?:{_HOST}(?::[0-9]+)?/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
    r"(?::[\w][\w.-]{0,127})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?",
    re.ASCII,
)


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


def image_reference(value: str, field: str) -> str:
    """``value`` if it is an image reference (or an Argo expression that becomes one); else
    UserError."""
    if isinstance(value, str) and ("{{" in value or _IMAGE_REFERENCE.fullmatch(value)):
        return value
    raise UserError(
        f"{field}: {value!r} is not an image reference; give one such as "
        "ghcr.io/mlflows/trainer:0.1.0 (registry/path:tag)"
    )
