"""Synchronization: mutexes and semaphores, as Argo's workflow/sync package keeps them.

A template's ``synchronization`` holds its locks for the node's whole execution (retries
included); the workflow's ``spec.synchronization`` holds them for the whole run. A mutex is a
lock of one holder named ``<namespace>/Mutex/<name>``; a semaphore is named
``<namespace>/ConfigMap/<name>/<key>`` and admits as many holders as the ConfigMap's value at
that key, read again at every try (sync/semaphore.go, sync_manager.go ``getSemaphore``). Waiters
are served first come, first served; a node waiting shows Argo's message
``Waiting for <lock> lock. Lock status: <free>/<limit>``. The deprecated singular ``mutex`` and
``semaphore`` (v3.x) mean one-element lists.

Locally a run is the only workflow, so the workflow's locks are free at once; what could never
be taken is refused before the run in one line: a semaphore whose ConfigMap or key is missing,
or whose limit is not a positive whole number, a database lock, and a template lock that the
workflow itself holds all of (in Argo that node would wait forever).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlflows.errors import UserError
from mlflows.local.cluster.objects import ObjectKey, ObjectStore
from mlflows.local.controller.calls import POLL_SECONDS
from mlflows.local.lang.templating import TAG
from mlflows.local.spec.fields import check_fields, items, refuse

if TYPE_CHECKING:
    from mlflows.local.controller.nodes import Node, NodeStore
    from mlflows.local.controller.stop import StopEvent

SYNC_FIELDS = {"mutexes", "semaphores", "mutex", "semaphore"}
MUTEX_FIELDS = {"name", "namespace", "database"}
SEMAPHORE_FIELDS = {"configMapKeyRef", "namespace", "database"}
KEY_REF_FIELDS = {"name", "key", "optional"}


@dataclass(frozen=True)
class LockRef:
    """One lock a ``synchronization`` names: a mutex, or a semaphore's ConfigMap and key."""

    namespace: str
    name: str
    key: str | None = None  # a semaphore's; None for a mutex

    @property
    def label(self) -> str:
        if self.key is None:
            return f"{self.namespace}/Mutex/{self.name}"
        return f"{self.namespace}/ConfigMap/{self.name}/{self.key}"


def lock_refs(sync: dict | None, namespace: str) -> list[LockRef]:
    """The locks of a (checked) ``synchronization``, sorted by name: always taken in one order,
    so two nodes never deadlock."""
    sync = sync or {}
    mutexes = list(sync.get("mutexes") or []) + ([sync["mutex"]] if sync.get("mutex") else [])
    semaphores = list(sync.get("semaphores") or [])
    if sync.get("semaphore"):
        semaphores.append(sync["semaphore"])
    refs = {LockRef(m.get("namespace") or namespace, m["name"]) for m in mutexes}
    for semaphore in semaphores:
        ref = semaphore["configMapKeyRef"]
        refs.add(LockRef(semaphore.get("namespace") or namespace, ref["name"], ref["key"]))
    return sorted(refs, key=lambda lock: lock.label)


def semaphore_limit(objects: ObjectStore, ref: LockRef) -> int:
    """The semaphore's limit, from its ConfigMap; ValueError with what is wrong."""
    where = ObjectKey("", "ConfigMap", ref.namespace, ref.name)
    if where not in objects:
        raise ValueError(f"ConfigMap '{ref.name}' does not exist in namespace {ref.namespace}")
    value = (objects.get(where).get("data") or {}).get(ref.key)
    if value is None:
        raise ValueError(f"ConfigMap '{ref.name}' does not have the key '{ref.key}'")
    if not re.fullmatch(r"\s*\d+\s*", str(value)):
        raise ValueError(f"ConfigMap '{ref.name}' key '{ref.key}': {value!r} is not a number")
    return int(value)


def check(
    where: str, sync, objects: ObjectStore, namespace: str, held_by_workflow: set[str]
) -> list[LockRef]:
    """Refuse (one line) a ``synchronization`` the run could never satisfy; its locks."""
    here = f"{where}: synchronization"
    sync = check_fields(here, sync, SYNC_FIELDS)
    for field, allowed in (("mutex", MUTEX_FIELDS), ("semaphore", SEMAPHORE_FIELDS)):
        singles = [sync[field]] if sync.get(field) is not None else []
        for index, lock in enumerate(items(f"{here}.{field}es", sync.get(f"{field}es")) + singles):
            lock = check_fields(f"{here}.{field}[{index}]", lock, allowed)
            if lock.get("database"):
                raise refuse(f"{here}.{field}[{index}]", "database: true", "drop it to lock here")
            if field == "mutex" and not lock.get("name"):
                raise UserError(f"{here}.{field}[{index}]: needs a name")
            if field == "semaphore":
                ref = check_fields(
                    f"{here}.semaphore[{index}].configMapKeyRef",
                    lock.get("configMapKeyRef"),
                    KEY_REF_FIELDS,
                )
                if not ref.get("name") or not ref.get("key"):
                    raise UserError(
                        f"{here}.semaphore[{index}].configMapKeyRef needs a name and a key"
                    )
    refs = lock_refs(sync, namespace)
    for ref in refs:
        if TAG.search(ref.label):
            continue  # known when the node runs
        wait_forever = UserError(
            f"{here}: {ref.label} is held by the workflow's own synchronization, so this "
            "node would wait forever; use another lock"
        )
        if ref.key is None:
            if ref.label in held_by_workflow:
                raise wait_forever
            continue
        try:
            limit = semaphore_limit(objects, ref)
        except ValueError as err:
            raise UserError(
                f"{here}: semaphore {ref.label}: {err}; give the ConfigMap with --apply"
            ) from None
        if ref.label in held_by_workflow and limit < 2:  # the workflow takes one place
            raise wait_forever
        if limit < 1:
            raise UserError(
                f"{here}: semaphore {ref.label} has limit {limit}, so nothing could ever hold "
                "it; set a positive limit in the ConfigMap"
            )
    return refs


class _Semaphore:
    """One lock's holders and its first-come queue of waiters."""

    def __init__(self) -> None:
        self.holders: set[str] = set()
        self.waiting: list[str] = []


class Locks:
    """The run's mutexes and semaphores, shared by every node."""

    def __init__(self, objects: ObjectStore):
        self.objects = objects
        self._locks: dict[str, _Semaphore] = {}
        self._guard = threading.Lock()

    def _limit(self, ref: LockRef) -> int:
        return 1 if ref.key is None else semaphore_limit(self.objects, ref)

    def _try(self, ref: LockRef, holder: str) -> str | None:
        """Take ``ref`` for ``holder`` if it may have it now; else the waiting message."""
        limit = self._limit(ref)
        with self._guard:
            lock = self._locks.setdefault(ref.label, _Semaphore())
            if holder not in lock.waiting:
                lock.waiting.append(holder)
            free = limit - len(lock.holders)
            if free > 0 and holder in lock.waiting[:free]:
                lock.waiting.remove(holder)
                lock.holders.add(holder)
                return None
            return f"Waiting for {ref.label} lock. Lock status: {max(free, 0)}/{limit}"

    def _try_or_err(self, ref: LockRef, holder: str) -> str | None:
        try:
            return self._try(ref, holder)
        except ValueError as err:  # a name with a tag that names no ConfigMap
            raise UserError(f"failed to acquire lock {ref.label}: {err}") from None

    def _give_up(self, ref: LockRef, holder: str) -> None:
        with self._guard:
            lock = self._locks[ref.label]
            lock.holders.discard(holder)
            if holder in lock.waiting:
                lock.waiting.remove(holder)

    @contextmanager
    def held_by_workflow(self, refs: list[LockRef], holder: str) -> Iterator[None]:
        """The workflow's own locks: free at once here, the run being the only workflow (and
        templates were refused the same locks before the run)."""
        for ref in refs:
            if self._try(ref, holder) is not None:
                raise UserError(f"spec.synchronization: {ref.label} is not free")
        try:
            yield
        finally:
            for ref in refs:
                self._give_up(ref, holder)

    @contextmanager
    def holding(
        self, refs: list[LockRef], node: Node, nodes: NodeStore, stop: StopEvent
    ) -> Iterator[bool]:
        """Hold ``refs`` while the block runs, showing on ``node`` why it waits; yields False
        (holding nothing) if the run stops first. A missing ConfigMap at this point (its name
        had a tag) raises ValueError, which errs the node."""
        taken: list[LockRef] = []
        try:
            for ref in refs:
                shown = ""
                while (message := self._try_or_err(ref, node.id)) is not None:
                    if message != shown:
                        nodes.update(node, message=message)
                        shown = message
                    if stop.wait(POLL_SECONDS):
                        self._give_up(ref, node.id)
                        yield False
                        return
                taken.append(ref)
                if shown:
                    nodes.update(node, message="")
            yield True
        finally:
            for ref in reversed(taken):
                self._give_up(ref, node.id)
