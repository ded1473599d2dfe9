"""``retryStrategy``: its check before the run, and after each attempt the decision to retry.

Follows Argo's controller, workflow/controller/operator.go ``processNodeRetries``: a succeeded
attempt ends the retry node; a failed one ends it when the run is stopping, when ``retryPolicy``
does not cover the attempt's phase (with the attempt's message), when ``limit`` retries were
made ("No more retries left"), when ``expression`` is false ("retryStrategy.expression evaluated
to false"), or when backoff ``maxDuration`` would be passed; else the next attempt starts after
the backoff (``duration * factor^retries``, at most ``cap``).

``expression`` sees what ``buildRetryStrategyLocalScope`` gives it, all strings: ``retries``,
``lastRetry.exitCode`` ("-1" without one), ``lastRetry.status``, ``lastRetry.duration``
(seconds) and ``lastRetry.message``; so ``asInt(lastRetry.exitCode) != 2`` stops retrying a
usage error. It is expr-lang, evaluated as Argo's ``argoexpr.EvalBool`` evaluates it
(:mod:`mlflows.local.lang.exprlang`); before the run it must parse and read only those variables.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from mlflows.duration import parse_seconds_or_duration
from mlflows.errors import UserError
from mlflows.local.controller.nodes import Node
from mlflows.local.lang import expression_tags, exprlang
from mlflows.local.lang.exprlang import ExprError, tree
from mlflows.local.lang.templating import TAG
from mlflows.local.spec.fields import (
    check_duration,
    check_fields,
    check_integer,
    expression_problem,
)

RETRY_ON = {
    "Always": {"Failed", "Error"},
    "OnFailure": {"Failed"},
    "OnError": {"Error"},
    # Argo retries only errors it recognises as transient (API server hiccups); a local
    # run has none, so this policy never retries here.
    "OnTransientError": set(),
}
EXPRESSION_VARIABLES = (
    "retries",
    "lastRetry.exitCode",
    "lastRetry.status",
    "lastRetry.duration",
    "lastRetry.message",
)
EXPRESSION_FALSE = "retryStrategy.expression evaluated to false"


def check(where: str, strategy) -> None:
    """UserError (one line) if ``strategy`` is not one the runner can follow."""
    if strategy is None:
        return
    strategy = check_fields(
        f"{where}: retryStrategy",
        strategy,
        {"limit", "retryPolicy", "backoff", "expression"},
        {"affinity"},
    )
    policy = strategy.get("retryPolicy", "OnFailure")
    if policy not in RETRY_ON:
        raise UserError(
            f"{where}: retryPolicy {policy!r} is not one of {', '.join(sorted(RETRY_ON))}"
        )
    backoff = strategy.get("backoff")
    if backoff is not None:
        check_fields(
            f"{where}: retryStrategy.backoff", backoff, {"duration", "factor", "maxDuration", "cap"}
        )
        if not backoff.get("duration"):
            raise UserError(f"{where}: retryStrategy.backoff needs a duration")
        for field in ("duration", "maxDuration", "cap"):
            check_duration(where, f"backoff.{field}", backoff.get(field), parse_seconds_or_duration)
        check_integer(where, "retryStrategy.backoff.factor", backoff.get("factor"))
    check_integer(where, "retryStrategy.limit", strategy.get("limit"))
    _check_expression(where, strategy.get("expression"))


def _check_expression(where: str, expression) -> None:
    if expression is None:
        return
    if not isinstance(expression, str):
        raise UserError(
            f"{where}: retryStrategy.expression must be a string such as "
            f"'asInt(lastRetry.exitCode) != 2', not {expression!r}"
        )
    if TAG.search(expression):
        return  # known once the template is substituted; checked when it is evaluated
    try:
        unknown = _unknown_names(expression)
    except ExprError as err:
        raise expression_problem(f"{where}: retryStrategy.expression {expression!r}", err) from None
    if unknown:
        raise UserError(
            f"{where}: retryStrategy.expression {expression!r}: unknown name {unknown[0]!r} (it "
            f"can use {', '.join(EXPRESSION_VARIABLES)}, and expr-lang's functions)"
        )


def _unknown_names(expression: str) -> list[str]:
    """The variables ``expression`` reads that Argo does not give it (``let`` names aside)."""
    root = exprlang.parse(expression).root
    bound = {node.name for node in expression_tags.walk(root) if isinstance(node, tree.Let)}
    known = {"lastRetry", *EXPRESSION_VARIABLES}
    return [
        name
        for name in expression_tags.references(root)
        if name not in known and name.split(".")[0] not in bound
    ]


def expression_allows(expression: str, attempts: list[Node]) -> bool:
    """Whether ``retryStrategy.expression`` lets another attempt start after ``attempts``.
    ExprError if it cannot be evaluated."""
    last = attempts[-1]
    duration = (last.finished_at or time.time()) - last.started_at
    scope = {
        "retries": str(len(attempts) - 1),
        "lastRetry.exitCode": (last.outputs.exit_code if last.outputs else None) or "-1",
        "lastRetry.status": str(last.phase),
        "lastRetry.duration": _go_float(duration),
        "lastRetry.message": last.message,
    }
    return exprlang.evaluate_bool(expression, exprlang.nest(scope))


def _go_float(value: float) -> str:
    """A float as Go's fmt.Sprint writes it: 2 not 2.0."""
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


@dataclass(frozen=True)
class RetryRule:
    """A substituted ``retryStrategy``, read once for all the attempts."""

    retry_on: set[str]
    limit: int | None
    backoff: float | None  # the first wait in seconds; None: retry at once
    factor: int
    cap: float | None
    max_duration: float | None
    expression: str | None

    @classmethod
    def read(cls, strategy: dict) -> RetryRule:
        """The rule; ValueError (naming the field) for a value its ``{{...}}`` made wrong."""
        backoff = strategy.get("backoff") or {}
        try:
            limit = int(strategy["limit"]) if strategy.get("limit") is not None else None
            factor = int(backoff.get("factor") or 0)
        except ValueError as err:
            raise ValueError(f"retryStrategy: {err}") from None
        return cls(
            retry_on=RETRY_ON[strategy.get("retryPolicy", "OnFailure")],
            limit=limit,
            backoff=_seconds("backoff.duration", backoff["duration"]) if backoff else None,
            factor=factor,
            cap=_seconds("backoff.cap", backoff["cap"]) if backoff.get("cap") else None,
            max_duration=(
                _seconds("backoff.maxDuration", backoff["maxDuration"])
                if backoff.get("maxDuration")
                else None
            ),
            expression=strategy.get("expression") or None,
        )

    def verdict(
        self, attempts: list[Node], max_deadline: float | None, stopped: str | None
    ) -> tuple[str, str] | float:
        """After the last of ``attempts``: the retry node's final (phase, message), or how long
        to back off before the next attempt. ``stopped`` is the run's stop message, if stopping.
        """
        last = attempts[-1]
        if last.phase == "Succeeded":
            return ("Succeeded", "")
        if stopped is not None:
            return (last.phase, stopped)
        if last.phase not in self.retry_on:
            return (last.phase, last.message)
        if self.limit is not None and len(attempts) > self.limit:
            return (last.phase, "No more retries left")
        if self.expression is not None:
            try:
                if not expression_allows(self.expression, attempts):
                    return (last.phase, EXPRESSION_FALSE)
            except ExprError as err:
                return ("Error", f"retryStrategy.expression {self.expression!r}: {err}")
        if self.backoff is None:
            return 0.0
        if max_deadline is not None and time.time() > max_deadline:
            return (last.phase, "Max duration limit exceeded")
        wait = self.backoff
        if self.factor > 0:
            wait *= self.factor ** (len(attempts) - 1)
        if self.cap is not None:
            wait = min(wait, self.cap)
        resume = (last.finished_at or time.time()) + wait
        if max_deadline is not None and resume > max_deadline:
            return (last.phase, "Backoff would exceed max duration limit")
        return max(0.0, resume - time.time())


def _seconds(field: str, value) -> float:
    try:
        return parse_seconds_or_duration(value)
    except ValueError as err:
        raise ValueError(f"{field}: {err}") from None
