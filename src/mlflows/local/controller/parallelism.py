"""The run's ``parallelism``: how many pods may run at once (``--parallelism``, else the
workflow's ``spec.parallelism``), and how many a node needs.

Argo counts the workflow's pods. Here a TFJob's replicas are pods of this machine too, so a step
that creates or applies a TFJob takes one slot per replica instead of its own one — all at once,
as gang scheduling would, so that two jobs never each hold part of what they need (a job's workers
wait for one another) — for as long as the step runs. (Replicas a job leaves running after its
step, with ``cleanPodPolicy: None``, are no longer counted.) A job with more replicas than slots
could never start: :func:`pod_slots` refuses it before the run, and a node whose count is only
known once its expressions are substituted fails with the same line.
"""

from __future__ import annotations

import threading

import yaml

from mlflows.errors import UserError
from mlflows.local.cluster.objects import parse_templated_manifest
from mlflows.local.controller.stop import StopEvent

STARTING_ACTIONS = ("create", "apply")  # the kubectl actions that can start a TFJob's pods


class PodSlots:
    """``size`` slots, taken and given back by the pods that run."""

    def __init__(self, size: int):
        self.size = size
        self._free = size
        self._changed = threading.Condition()

    def refusal(self, pods: int) -> str:
        """Why a node of ``pods`` pods (more than :attr:`size`) can never run."""
        return (
            f"a TFJob of {pods} replicas can never start: each replica is a pod here and "
            f"parallelism lets {self.size} run at once; raise the parallelism or use fewer replicas"
        )

    def take_now(self, count: int) -> bool:
        """Take ``count`` slots if they are free now."""
        with self._changed:
            if self._free < count:
                return False
            self._free -= count
            return True

    def take(self, count: int, stop: StopEvent) -> bool:
        """Wait until ``count`` slots are free and take them; False if ``stop`` is set first."""
        with stop.listening(self._wake), self._changed:
            self._changed.wait_for(lambda: self._free >= count or stop.is_set())
            if stop.is_set():
                return False
            self._free -= count
            return True

    def give(self, count: int) -> None:
        with self._changed:
            self._free += count
            self._changed.notify_all()

    def _wake(self) -> None:
        with self._changed:
            self._changed.notify_all()


def pod_slots(spec: dict, parallelism: int | None) -> PodSlots | None:
    """The run's slots, or None when nothing limits them. UserError, naming the template, for a
    TFJob that could never start."""
    size = parallelism or spec.get("parallelism")
    if not size:
        return None
    slots = PodSlots(int(size))
    for template in spec.get("templates") or []:
        resource = template.get("resource") or {}
        if resource.get("action") not in STARTING_ACTIONS:
            continue
        from mlflows.local.cluster.tfjob import replica_count  # the operator: only when needed

        try:
            manifest = parse_templated_manifest(resource.get("manifest") or "")
        except UserError:
            continue  # the cluster's check says what is wrong with it
        pods = replica_count(manifest)
        if pods is not None and pods > slots.size:
            raise UserError(f"template {template.get('name')}: {slots.refusal(pods)}")
    return slots


def pods_of(template: dict) -> int:
    """How many slots a node of this (substituted) template takes."""
    resource = template.get("resource") or {}
    if resource.get("action") not in STARTING_ACTIONS:
        return 1
    try:
        manifest = yaml.safe_load(resource.get("manifest") or "")
    except yaml.YAMLError:
        return 1  # the resource step says what is wrong with it
    from mlflows.local.cluster.tfjob import replica_count  # the operator: only when needed

    return replica_count(manifest) or 1
