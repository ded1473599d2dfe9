"""A steps template as Argo's workflow/controller/steps.go runs it.

Groups run in order; the steps of a group run in parallel. Each step is resolved against the
outputs of the steps of earlier groups (``{{steps.X...}}``), skipped if its ``when`` is false,
and the group fails when a step fails or errors without ``continueOn`` — which fails the
template and leaves later groups unrun.

A loop (:mod:`mlflows.local.controller.loops`) runs its items as ``<step>(<i>:<item>)``, children
of the step group; later groups see the items' outputs as JSON lists (skipped items left out) and
the step group as the step's node. An empty loop is one Skipped node, "Skipped, empty params"; a
loop that cannot be expanded errors the step group before any of its steps starts. With the
template's ``failFast``, the first failed child starts nothing more and fails the group and the
template.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlflows.local.controller.calls import (
    FAIL_FAST_MESSAGE,
    Call,
    ChildRuns,
    NotRun,
    check_when,
    failure_message,
    resolve_call,
)
from mlflows.local.controller.loops import ExpansionError, expand, is_loop
from mlflows.local.controller.nodes import Node, NodeType, Phase
from mlflows.local.controller.scope import (
    aggregate_scope,
    current_name,
    node_scope,
    resolve_outputs,
)
from mlflows.local.lang import keys
from mlflows.local.lang.templating import Scope, UnresolvedReference

if TYPE_CHECKING:
    from mlflows.local.controller.engine import Engine


@dataclass
class Planned:
    """A step of a group, resolved: its children in order, each with its decision if it is not
    to run; ``looped`` when they are a loop's items (the step has no node of its own)."""

    step: dict
    children: list[tuple[Call, NotRun | None]]
    looped: bool = False


class StepsRun:
    def __init__(self, engine: Engine, node: Node, template: dict):
        self.engine = engine
        self.node = node
        self.template = template
        self.children = ChildRuns(
            engine, template.get("parallelism"), bool(template.get("failFast"))
        )

    def run(self) -> None:
        engine, node = self.engine, self.node
        engine.nodes.update(node, phase=Phase.RUNNING)
        scope: Scope = {}
        previous: list[Node] = [node]
        for index, group in enumerate(self.template["steps"] or []):
            if engine.stop.is_set():
                engine.finish(node, Phase.FAILED, engine.stop_message)
                return
            steps = group if isinstance(group, list) else group.get("steps") or []
            group_node = engine.nodes.create(
                f"{node.name}[{index}]",
                display_name=f"[{index}]",
                type=NodeType.STEP_GROUP,
                template_name=None,
                boundary_id=node.id,
                parent_id=node.id,
                phase=Phase.RUNNING,
                template_scope=engine.base_of(node.id).label,
            )
            for before in previous:
                engine.nodes.link(before, group_node)
            scope.update(engine.variables())  # each group as of its start: global outputs so far
            try:
                planned = [self._plan(group_node, step, scope) for step in steps]
            except ExpansionError as err:
                self._fail(group_node, Phase.ERROR, str(err))
                return
            members = self._run_group(planned)
            if self.children.tripped:
                self._fail(group_node, Phase.FAILED, FAIL_FAST_MESSAGE)
                return
            failure = self.children.first_failure([name for names in members for name in names])
            if failure is not None:
                message = f"child '{failure.id}' failed"
                engine.finish(group_node, Phase.FAILED, message)
                engine.finish(node, Phase.FAILED, failure_message(failure))
                return
            engine.finish(group_node, Phase.SUCCEEDED)
            for plan, names in zip(planned, members, strict=True):
                scope.update(self._step_scope(plan, names, group_node))
            finished = self.children.finished
            previous = [finished[name] for names in members for name in names] or [group_node]
        try:
            outputs = resolve_outputs(self.template, scope)
        except UnresolvedReference as err:
            engine.finish(node, Phase.ERROR, str(err))
            return
        engine.finish(node, Phase.SUCCEEDED, outputs=outputs)

    def _fail(self, group_node: Node, phase: Phase, message: str) -> None:
        """The group ends with this phase and message, and the template Failed with it."""
        self.engine.finish(group_node, phase, message)
        self.engine.finish(self.node, Phase.FAILED, message)

    def _plan(self, group_node: Node, step: dict, scope: Scope) -> Planned:
        """Resolve one step, or expand a loop into its items (ExpansionError if it cannot)."""
        name = step["name"]
        call = self._call(group_node, step, name, scope)
        if not is_loop(step):
            try:
                call.arguments = resolve_call(step, scope)
            except NotRun as decided:
                return Planned(step, [(call, decided)])
            return Planned(step, [(call, None)])
        iterations = expand(step, scope)
        if not iterations:
            return Planned(step, [(call, NotRun(Phase.SKIPPED, "Skipped, empty params"))])
        children: list[tuple[Call, NotRun | None]] = []
        for iteration in iterations:
            item = self._call(group_node, step, iteration.name, iteration.scope)
            item.arguments = iteration.arguments
            try:
                check_when(iteration.when)
            except NotRun as decided:
                children.append((item, decided))
                continue
            children.append((item, None))
        return Planned(step, children, looped=True)

    def _call(self, group_node: Node, step: dict, name: str, scope: Scope) -> Call:
        return Call(
            name=f"{group_node.name}.{name}",
            display_name=name,
            holder=step,
            arguments=[],
            boundary_id=self.node.id,
            parent=group_node,
            after=[group_node],
            local=current_name(keys.STEPS, name),
            scope=scope,
        )

    def _run_group(self, planned: list[Planned]) -> list[list[str]]:
        """Start every child of the group in order (within the template's parallelism, until
        failFast stops it) and wait for all; the names of each step's children."""
        engine, children = self.engine, self.children
        members: list[list[str]] = [[] for _ in planned]
        for plan, names in zip(planned, members, strict=True):
            for call, decided in plan.children:
                while decided is None and children.full():
                    children.wait_for_change()
                if children.tripped:
                    break
                names.append(call.name)
                if decided is None and engine.stop.is_set():
                    decided = NotRun(Phase.FAILED, engine.stop_message)
                if decided is not None:
                    children.not_run(call, decided)
                else:
                    children.start(call)
        while children.running:
            children.wait_for_change()
        return members

    def _step_scope(self, plan: Planned, names: list[str], group_node: Node) -> Scope:
        """What later groups see of a step: its node's outputs, or a loop's aggregated with the
        step group standing for its node."""
        name = plan.step["name"]
        template = self.engine.template_for(plan.step, self.node.id)
        nodes = [self.children.finished[child] for child in names]
        if not plan.looped:
            return node_scope(keys.STEPS, name, nodes[0], template)
        ran = [child for child in nodes if child.type != NodeType.SKIPPED]
        return {
            **aggregate_scope(keys.STEPS, name, ran),
            **node_scope(keys.STEPS, name, group_node, template),
        }
