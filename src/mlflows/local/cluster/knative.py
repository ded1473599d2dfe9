"""Knative conditions as KServe's objects report them: ``lastTransitionTime`` moves only when a
condition's status changes (knative.dev/pkg/apis ``ConditionManager.SetCondition``); and what a
KServe object served by one local process reports while it starts, serves or fails."""

from __future__ import annotations

import threading

from mlflows.local.cluster.objects import now
from mlflows.local.cluster.pods import Observation


class Conditions:
    """The conditions of one object, remembering when each last changed status."""

    def __init__(self):
        self._since: dict[str, tuple[str, str]] = {}

    def condition(self, condition_type: str, status: str, reason: str, message: str) -> dict:
        previous, since = self._since.get(condition_type, ("", ""))
        if previous != status:
            since = now()
            self._since[condition_type] = (status, since)
        condition = {"type": condition_type, "status": status, "lastTransitionTime": since}
        if reason:
            condition.update(reason=reason, message=message)
        return condition


class ServedByOneProcess:
    """A controller whose object one local process serves (a custom predictor, a graph's
    router): its URL once ready, and :meth:`observe`, settled once it serves, failed or stopped.
    Subclasses set ``_url``, ``_failure`` and ``_stopped`` under ``_lock`` and give
    ``_advance`` (one step towards serving) and ``_status``."""

    _lock: threading.Lock
    _url: str | None
    _failure: str
    _stopped: bool

    @property
    def url(self) -> str | None:
        """The URL it serves at once ready, else None."""
        with self._lock:
            return self._url

    def observe(self) -> Observation:
        with self._lock:
            if not self._stopped and not self._failure:
                self._advance()
            settled = self._stopped or bool(self._failure) or self._url is not None
            return Observation(self._status(), settled, self._failure)

    def _advance(self) -> None:
        raise NotImplementedError

    def _status(self) -> dict:
        raise NotImplementedError
