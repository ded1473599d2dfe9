"""The picture's model: boxes and the arrows between them, built in a deterministic order.

A box's ``kind`` says how it is drawn, after Argo's UI: a ``task`` (a pod, or a DAG or steps
node), a ``loop`` (a task run once per item, drawn stacked), a ``group`` (a step group, a dot), a
``hook`` or ``exit`` handler (dashed), or ``collapsed`` (loop iterations folded into one box).
"""

from __future__ import annotations

from dataclasses import dataclass, field

KINDS = ("task", "loop", "group", "hook", "exit", "collapsed")


@dataclass
class Box:
    id: str
    title: str
    details: list[str] = field(default_factory=list)  # smaller lines under the title
    kind: str = "task"
    phase: str | None = None  # a run's node phase; None in a picture of the spec
    tooltip: str = ""
    link: str | None = None  # where a click leads (the report's timeline row)


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str = ""
    dashed: bool = False  # to a hook or exit handler


@dataclass
class Graph:
    boxes: dict[str, Box] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    _pairs: set[tuple[str, str]] = field(default_factory=set, repr=False)

    def add(self, box: Box) -> Box:
        if box.kind not in KINDS:
            raise ValueError(f"unknown box kind {box.kind!r}")
        self.boxes[box.id] = box
        return box

    def connect(self, source: str, target: str, label: str = "", dashed: bool = False) -> None:
        """An arrow from ``source`` to ``target``, once (the first label given wins)."""
        if source == target or (source, target) in self._pairs:
            return
        self._pairs.add((source, target))
        self.edges.append(Edge(source, target, label, dashed))
