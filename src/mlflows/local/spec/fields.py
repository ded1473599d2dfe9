"""Reading a workflow's fields safely: each is a mapping, list, duration or number where Argo has
one, holds only the keys the runner runs or ignores, or is refused in one line naming it.

Shared by :mod:`mlflows.local.spec.validate` and the concept modules that check their own part of
a template before the run (such as :mod:`mlflows.local.controller.retry`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from mlflows.errors import UserError
from mlflows.local.lang.exprlang import ExprError, ExprUnsupported
from mlflows.local.lang.templating import TAG


class NotRunnableHere(UserError):
    """Valid for Argo, but a feature this runner does not run: a refusal, not a mistake."""


def refuse(where: str, feature: str, hint: str = "") -> NotRunnableHere:
    detail = f"; {hint}" if hint else ""
    return NotRunnableHere(f"{where}: {feature} is not supported by the local runner{detail}")


def expression_problem(where: str, err: ExprError) -> UserError:
    """``where: err`` for an expression that failed its check: a refusal if Argo could evaluate
    it (it uses a function the runner lacks), else a mistake."""
    kind = NotRunnableHere if isinstance(err, ExprUnsupported) else UserError
    return kind(f"{where}: {err}")


def check_fields(where: str, data, run: set[str], ignored: set[str] = frozenset()) -> dict:
    """``data`` as a mapping ({} if absent), once every key is one the runner runs or ignores."""
    data = mapping(where, data)
    for key in data:
        if key not in run and key not in ignored:
            raise refuse(where, f"'{key}'")
    return data


def mapping(where: str, value) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UserError(f"{where}: expected a mapping, not {shown(value)}")
    return value


def items(where: str, value) -> list:
    """A list field's items ([] if absent); a YAML mistake there is one line, not a traceback."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise UserError(f"{where}: expected a list, not {shown(value)}")
    return value


def shown(value) -> str:
    return "a mapping" if isinstance(value, dict) else f"{value!r}"


def named(where: str, values, run: set[str] | None, ignored: set[str] = frozenset()) -> list[dict]:
    """A list of mappings that each need a ``name`` (parameters, env, volumes, mutexes), with
    only the fields in ``run`` or ``ignored`` (any fields if ``run`` is None)."""
    found = []
    for index, item in enumerate(items(where, values)):
        here = f"{where}[{(isinstance(item, dict) and item.get('name')) or index}]"
        item = mapping(here, item) if run is None else check_fields(here, item, run, ignored)
        if not item.get("name"):
            raise UserError(f"{here}: needs a name")
        found.append(item)
    return found


def check_duration(where: str, field: str, value, parse: Callable[..., float]) -> None:
    """A duration ``parse`` accepts, unless a ``{{...}}`` tag fills it in at run time."""
    if value is None or (isinstance(value, str) and TAG.search(value)):
        return
    try:
        parse(value)
    except ValueError as err:
        raise UserError(f"{where}: {field}: {err}") from None


def check_integer(where: str, field: str, value) -> None:
    """An int-or-string field that must hold a whole number (Argo's IntOrString)."""
    if value is None or (isinstance(value, str) and TAG.search(value)):
        return
    if isinstance(value, bool) or not re.fullmatch(r"\d+", str(value).strip()):
        raise UserError(f"{where}: {field} {value!r} is not a whole number")
