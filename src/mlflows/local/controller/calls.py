"""A template invocation, and the children of a DAG or steps node: what each task or step
became (one child, or one per item of a loop) and the threads they run on.

The children of one node run on at most ``CHILD_THREADS`` threads at once (fewer if the
template's ``parallelism`` says so), so a loop over 1,000 items holds a few dozen threads, not
1,000; the others wait to start, with no node yet, as Argo's do past a parallelism limit. A
template's ``failFast`` (Argo's checkParallelism) starts nothing more once a child pod, steps or
DAG has failed or errored.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from mlflows.local.controller.artifacts import argument_artifacts
from mlflows.local.controller.nodes import Node, NodeStore, NodeType, Phase
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
CHILD_THREADS = 32
FAIL_FAST_MESSAGE = "template has failed or errored children and failFast enabled"


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

    def __init__(self, phase: Phase, message: str):
        super().__init__(message)
        self.phase = phase
        self.message = message


def resolve_call(item: dict, scope: Scope) -> list[dict]:
    """A task's or step's arguments, once its ``when`` holds. NotRun: Skipped if ``when`` is
    false, Error if a reference does not resolve or an expression cannot be evaluated."""
    try:
        check_when(substitute(item.get("when") or "", scope, STRICT_PREFIXES))
        return resolve_arguments(item, scope)
    except UnresolvedReference as err:
        raise NotRun(Phase.ERROR, str(err)) from None


def check_when(when: str) -> None:
    """NotRun Skipped if a substituted ``when`` is false, Error if it cannot be evaluated."""
    try:
        holds = evaluate_when(when)
    except ExpressionError as err:
        raise NotRun(Phase.ERROR, str(err)) from None
    if not holds:
        raise NotRun(Phase.SKIPPED, f"when '{when}' evaluated false")


def resolve_arguments(
    item: dict, scope: Scope, strict: tuple[str, ...] = STRICT_PREFIXES
) -> list[dict]:
    """A task's or step's argument parameters, substituted; absent optionals stay ABSENT."""
    arguments = []
    for param in (item.get("arguments") or {}).get("parameters") or []:
        value = param.get("value")
        if is_absent_reference(value, scope):
            value = ABSENT
        elif value is not None:
            value = substitute(argo_string(value), scope, strict)
        arguments.append({"name": param["name"], "value": value})
    return arguments + argument_artifacts(item, scope, strict)


def continues(item: dict, phase: Phase) -> bool:
    """Whether a task's or step's ``continueOn`` covers this phase."""
    continue_on = item.get("continueOn") or {}
    return bool(
        (phase == Phase.FAILED and continue_on.get("failed"))
        or (phase == Phase.ERROR and continue_on.get("error"))
    )


def failure_message(node: Node | None) -> str:
    if node is None:
        return ""
    text = f"{node.display_name} {node.phase.lower()}"
    return f"{text}: {node.message}" if node.message else text


class Executor(Protocol):
    nodes: NodeStore

    def execute(self, call: Call) -> Node: ...

    def not_run(self, call: Call, decided: NotRun) -> Node: ...


@dataclass
class Expansion:
    """What one task or step became: the names of its children's nodes, in order, the calls
    among them not started yet and, for a DAG loop, the TaskGroup node above them."""

    children: list[str] = field(default_factory=list)
    waiting: deque[Call] = field(default_factory=deque)
    group: Node | None = None


class ChildRuns:
    """The children of one DAG or steps node, by node name, each executing on a thread of its
    own, at most ``limit`` at once."""

    def __init__(self, engine: Executor, limit: int | None, fail_fast: bool = False):
        self.engine = engine
        self.limit = min(int(limit), CHILD_THREADS) if limit else CHILD_THREADS
        self.fail_fast = fail_fast
        self.tripped = False  # failFast: a child failed, so nothing more starts
        self.changed = threading.Condition()
        self.calls: dict[str, Call] = {}
        self.running: set[str] = set()
        self.finished: dict[str, Node] = {}

    def full(self) -> bool:
        return len(self.running) >= self.limit

    def start(self, call: Call) -> None:
        with self.changed:
            self.calls[call.name] = call
            self.running.add(call.name)

        def run() -> None:
            self.settle(call.name, self.engine.execute(call))

        threading.Thread(target=run, name=call.name, daemon=True).start()

    def not_run(self, call: Call, decided: NotRun) -> None:
        """Record the call as decided without running (its node is there, finished)."""
        self.calls[call.name] = call
        self.settle(call.name, self.engine.not_run(call, decided))

    def settle(self, name: str, node: Node) -> None:
        with self.changed:
            self.running.discard(name)
            self.finished[name] = node
            self.tripped = self.tripped or (self.fail_fast and self._unsuccessful(node))
            self.changed.notify_all()

    def _unsuccessful(self, node: Node) -> bool:
        """What Argo's failFast counts: a pod, steps or DAG child (a retry's attempts
        included) that failed or errored; a task decided without running does not count."""
        if node.type == NodeType.RETRY:
            attempts = (self.engine.nodes.get(child) for child in node.children)
            return any(attempt and self._unsuccessful(attempt) for attempt in attempts)
        counted = node.type in (NodeType.POD, NodeType.STEPS, NodeType.DAG)
        return counted and node.phase.failed_or_error

    def wait_for_change(self) -> None:
        with self.changed:
            self.changed.wait(POLL_SECONDS * 4)

    def done(self, expansion: Expansion) -> bool:
        """Whether every child of the expansion has started and finished."""
        return not expansion.waiting and all(name in self.finished for name in expansion.children)

    def nodes(self, expansion: Expansion) -> list[Node]:
        return [self.finished[name] for name in expansion.children]

    def first_failure(self, among: Iterable[str]) -> Node | None:
        """The earliest of these finished children that failed or errored without a
        ``continueOn`` for it."""
        failures = [
            node
            for name in among
            if (node := self.finished.get(name)) is not None
            and node.phase.failed_or_error
            and not continues(self.calls[name].holder, node.phase)
        ]
        return min(failures, key=lambda node: node.finished_at or 0, default=None)
