"""Knative conditions as KServe's objects report them: ``lastTransitionTime`` moves only when a
condition's status changes (knative.dev/pkg/apis ``ConditionManager.SetCondition``)."""

from __future__ import annotations

from mlflows.local.cluster.objects import now


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
