"""The run's node tree, shaped like Argo's ``status.nodes``.

Names and IDs follow the controller: the entry node is named after the workflow, a DAG task is
``<dag>.<task>``, a step ``<steps>[<group>].<step>``, a retry attempt ``<node>(<n>)``, the exit
handler ``<workflow>.onExit``; an ID is ``<workflow>-<fnv32a(name)>``. Observers see every change.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum


class _Named(str, Enum):
    """A name Argo writes as a plain string: str() and format() give the value, so reports, logs
    and JSON read exactly as before."""

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


class Phase(_Named):
    """A node's phase (Argo's NodePhase)."""

    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    SKIPPED = "Skipped"
    FAILED = "Failed"
    ERROR = "Error"
    OMITTED = "Omitted"

    @property
    def fulfilled(self) -> bool:
        """Finished, whatever the outcome."""
        return self not in (Phase.PENDING, Phase.RUNNING)

    @property
    def completed(self) -> bool:
        """Finished by running (not skipped or omitted)."""
        return self in (Phase.SUCCEEDED, Phase.FAILED, Phase.ERROR)

    @property
    def failed_or_error(self) -> bool:
        return self in (Phase.FAILED, Phase.ERROR)


class NodeType(_Named):
    """What a node stands for (Argo's NodeType)."""

    POD = "Pod"
    DAG = "DAG"
    STEPS = "Steps"
    STEP_GROUP = "StepGroup"
    TASK_GROUP = "TaskGroup"
    RETRY = "Retry"
    SKIPPED = "Skipped"
    SUSPEND = "Suspend"
    CONTAINER = "Container"  # one container of a containerSet's pod
    HTTP = "HTTP"


@dataclass
class Outputs:
    parameters: dict[str, str] = field(default_factory=dict)
    result: str | None = None
    exit_code: str | None = None
    artifacts: dict[str, dict] = field(default_factory=dict)  # references (controller.artifacts)

    def to_json(self, with_keys: bool = False) -> dict:
        """As the report shows them; ``with_keys``: each artifact's key or raw data too (for the
        memo cache, whose hits must find the artifacts again)."""
        out: dict = {}
        if self.parameters:
            out["parameters"] = [{"name": k, "value": v} for k, v in self.parameters.items()]
        if self.artifacts:  # name and path: Argo's schema has no kind for a local repository
            shown = ("name", "path", "key", "raw") if with_keys else ("name", "path")
            out["artifacts"] = [
                {key: art[key] for key in shown if key in art} for art in self.artifacts.values()
            ]
        if self.result is not None:
            out["result"] = self.result
        if self.exit_code is not None:
            out["exitCode"] = self.exit_code
        return out

    @classmethod
    def from_json(cls, data: dict) -> Outputs:
        return cls(
            parameters={p["name"]: p.get("value", "") for p in data.get("parameters", [])},
            result=data.get("result"),
            exit_code=data.get("exitCode"),
            artifacts={art["name"]: art for art in data.get("artifacts", [])},
        )


@dataclass
class Node:
    id: str
    name: str
    display_name: str
    type: NodeType
    template_name: str | None
    boundary_id: str | None
    parent_id: str | None  # the node that contains this one, for display
    phase: Phase = Phase.PENDING
    message: str = ""
    started_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    children: list[str] = field(default_factory=list)
    inputs: dict[str, str] = field(default_factory=dict)
    outputs: Outputs | None = None
    memoization: dict | None = None  # {"hit", "key", "cacheName"} like Argo's memoizationStatus
    template_scope: str = ""  # where its call was resolved: local/<wf>, namespaced/<wftmpl>, ...
    template_ref: dict | None = None  # its call's templateRef
    hooked: bool = False  # run as a hook or exit handler
    daemoned: bool = False  # a daemon's pod, running and ready (controller.daemons)
    host_node_name: str | None = None  # the machine a pod ran on (NodeStatus.hostNodeName)

    @property
    def fulfilled(self) -> bool:
        return self.phase.fulfilled

    @property
    def duration(self) -> float:
        return (self.finished_at or time.time()) - self.started_at


def rfc3339(timestamp: float) -> str:
    """A time as Argo writes it, with microseconds so close events keep their order."""
    moment = datetime.fromtimestamp(timestamp, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def fnv32a(text: str) -> int:
    value = 0x811C9DC5
    for byte in text.encode():
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


MAX_POD_NAME_PREFIX = 253 - 10 - 1  # workflow/util/pod_name.go: maxPrefixLength - 1


def pod_name(workflow_name: str, node_name: str, template_name: str | None) -> str:
    """Argo's GeneratePodName (v2 names): ``<workflow>-<template>-<fnv32a(node name)>``."""
    if node_name == workflow_name:
        return workflow_name
    prefix = "-".join(filter(None, (workflow_name, template_name)))[:MAX_POD_NAME_PREFIX]
    return f"{prefix}-{fnv32a(node_name)}"


MAX_FILE_NAME = 200  # below the file system's 255 bytes, with room for ".log"


def file_name(node_name: str) -> str:
    """A node name as a file name: ``wf[0].a(1)`` → ``wf.0.a.1`` (still unique per run); a
    long one (a deep recursion) is cut and ends with the hash of the whole name instead."""
    name = node_name.replace("[", ".").replace("(", ".")
    name = re.sub(r"[^A-Za-z0-9._-]", "", name.replace(":", "-"))
    if len(name) > MAX_FILE_NAME:
        name = f"{name[: MAX_FILE_NAME - 11]}-{fnv32a(node_name):010d}"
    return name


class NodeStore:
    """All nodes of one run; thread-safe, notifying ``on_change`` after every change."""

    def __init__(self, workflow_name: str, on_change: Callable[[Node], None]):
        self.workflow_name = workflow_name
        self.on_change = on_change
        self.lock = threading.RLock()
        self._nodes: dict[str, Node] = {}

    def node_id(self, name: str) -> str:
        if name == self.workflow_name:
            return name
        return f"{self.workflow_name}-{fnv32a(name)}"

    def create(self, name: str, *, phase: str = Phase.PENDING, message: str = "", **fields) -> Node:
        node = Node(id=self.node_id(name), name=name, phase=Phase(phase), message=message, **fields)
        if node.fulfilled:
            node.finished_at = node.started_at
        with self.lock:
            self._nodes[node.id] = node
        self.on_change(node)
        return node

    def update(self, node: Node, **changes) -> Node:
        with self.lock:
            for key, value in changes.items():
                setattr(node, key, Phase(value) if key == "phase" else value)
            if node.fulfilled and node.finished_at is None:
                node.finished_at = time.time()
        self.on_change(node)
        return node

    def link(self, parent: Node, child: Node) -> None:
        with self.lock:
            if child.id not in parent.children:
                parent.children.append(child.id)

    def get(self, node_id: str) -> Node | None:
        return self._nodes.get(node_id)

    def all(self) -> list[Node]:
        with self.lock:
            return list(self._nodes.values())
