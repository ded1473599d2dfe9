"""A command's help from a module docstring, which a terminal shows as written: its reST
markup (````code````, ``:class:`~a.b.C```) would be noise there."""

from __future__ import annotations

import re

# :role:`target` (``~`` shortens it to its last name), then ``literal``
_ROLE = re.compile(r":[a-z]+:`(~?)([^`]+)`")
_LITERAL = re.compile(r"``([^`]+)``")


def plain(docstring: str | None) -> str:
    """``docstring`` as plain text: a role becomes its target, a literal its text."""
    text = _ROLE.sub(
        lambda m: m[2].rsplit(".", 1)[-1] if m[1] else m[2],
        docstring or "",
    )
    return _LITERAL.sub(r"\1", text)
