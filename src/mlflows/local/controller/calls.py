"""A template invocation and the children a DAG or steps node runs at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from mlflows.local.controller.nodes import FAILED_OR_ERROR, Node
from mlflows.local.lang.expressions import ExpressionError, evaluate_when
from mlflows.local.lang.templating import (
    ABSENT,
    STRICT_PREFIXES,
    Scope,
    UnresolvedReference,
    argo_string,
    is_absent_reference,
    substitute,
)

POLL_SECONDS = 0.05


@dataclass
class Call:
    """One template invocation, as the controller's executeTemplate receives it."""

    name: str
    display_name: str
    holder: dict  # the task, step or hook: its template, templateRef or inline, its hooks
    arguments: list[dict]
    boundary_id: str | None = None
    parent: Node | None = None  # the containing node, for display
    after: list[Node] = field(default_factory=list)  # Argo's children edges point here from these
    local: Scope = field(default_factory=dict)  # tasks.name / steps.name
    scope: Scope = field(default_factory=dict)  # what the task or step was resolved against
    hooked: bool = False  # a hook or exit handler (Argo's nodeFlag.hooked)

    @property
    def template(self) -> str | None:
        """The template's name, if the call names one (Argo's templateName)."""
        return self.holder.get("template")


class NotRun(Exception):
    """A task or step decided without running: its phase (Omitted, Skipped, Error or Failed) and
    the node's message."""

    def __init__(self, phase: str, message: str):
        super().__init__(message)
        self.phase = phase
        self.message = message


def resolve_call(item: dict, scope: Scope) -> list[dict]:
    """A task's or step's arguments, once its ``when`` holds. NotRun: Skipped if ``when`` is
    false, Error if a reference does not resolve or an expression cannot be evaluated."""
    try:
        when = substitute(item.get("when") or "", scope, STRICT_PREFIXES)
        if not evaluate_when(when):
            raise NotRun("Skipped", f"when '{when}' evaluated false")
        return _resolve_arguments(item, scope)
    except (UnresolvedReference, ExpressionError) as err:
        raise NotRun("Error", str(err)) from None


def _resolve_arguments(item: dict, scope: Scope) -> list[dict]:
    """A task's or step's argument parameters, substituted; absent optionals stay ABSENT."""
    arguments = []
    for param in (item.get("arguments") or {}).get("parameters") or []:
        value = param.get("value")
        if is_absent_reference(value, scope):
            value = ABSENT
        elif value is not None:
            value = substitute(argo_string(value), scope, STRICT_PREFIXES)
        arguments.append({"name": param["name"], "value": value})
    return arguments


def continues(item: dict, phase: str) -> bool:
    """Whether a task's or step's ``continueOn`` covers this phase."""
    continue_on = item.get("continueOn") or {}
    return bool(
        (phase == "Failed" and continue_on.get("failed"))
        or (phase == "Error" and continue_on.get("error"))
    )


def failure_message(node: Node | None) -> str:
    if node is None:
        return ""
    text = f"{node.display_name} {node.phase.lower()}"
    return f"{text}: {node.message}" if node.message else text


class Executor(Protocol):
    def execute(self, call: Call) -> Node: ...

    def not_run(self, call: Call, decided: NotRun) -> Node: ...


class ChildRuns:
    """The children of one DAG or steps node, each executing on its own thread."""

    def __init__(self, engine: Executor, limit: int | None):
        self.engine = engine
        self.limit = int(limit) if limit else None
        self.changed = threading.Condition()
        self.running: set[str] = set()
        self.finished: dict[str, Node] = {}

    def full(self) -> bool:
        return self.limit is not None and len(self.running) >= self.limit

    def start(self, key: str, call: Call) -> None:
        with self.changed:
            self.running.add(key)

        def run() -> None:
            node = self.engine.execute(call)
            self.settle(key, node)

        threading.Thread(target=run, name=call.name, daemon=True).start()

    def not_run(self, key: str, call: Call, decided: NotRun) -> None:
        """Record the call as decided without running (its node is there, finished)."""
        self.settle(key, self.engine.not_run(call, decided))

    def settle(self, key: str, node: Node) -> None:
        with self.changed:
            self.running.discard(key)
            self.finished[key] = node
            self.changed.notify_all()

    def wait_for_change(self) -> None:
        with self.changed:
            self.changed.wait(POLL_SECONDS * 4)

    def first_failure(self, continues: Callable[[str, str], bool]) -> Node | None:
        """The earliest finished child that failed or errored and is not continued on."""
        failures = [
            node
            for key, node in self.finished.items()
            if node.phase in FAILED_OR_ERROR and not continues(key, node.phase)
        ]
        return min(failures, key=lambda node: node.finished_at or 0, default=None)
