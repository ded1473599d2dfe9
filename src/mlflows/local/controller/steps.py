"""A steps template as Argo's workflow/controller/steps.go runs it.

Groups run in order; the steps of a group run in parallel. Each step is resolved against the
outputs of the steps of earlier groups (``{{steps.X...}}``), skipped if its ``when`` is false,
and the group fails when a step fails or errors without ``continueOn`` — which fails the
template and leaves later groups unrun.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlflows.local.controller.calls import (
    Call,
    ChildRuns,
    NotRun,
    continues,
    failure_message,
    resolve_call,
)
from mlflows.local.controller.nodes import Node
from mlflows.local.lang.templating import Scope, UnresolvedReference, node_scope, resolve_outputs

if TYPE_CHECKING:
    from mlflows.local.controller.engine import Engine


class StepsRun:
    def __init__(self, engine: Engine, node: Node, template: dict):
        self.engine = engine
        self.node = node
        self.template = template

    def run(self) -> None:
        engine, node = self.engine, self.node
        engine.nodes.update(node, phase="Running")
        scope: Scope = dict(engine.globals)
        previous: list[Node] = [node]
        for index, group in enumerate(self.template["steps"] or []):
            if engine.stop.is_set():
                engine.finish(node, "Failed", engine.stop_message)
                return
            steps = group if isinstance(group, list) else group.get("steps") or []
            group_node = engine.nodes.create(
                f"{node.name}[{index}]",
                display_name=f"[{index}]",
                type="StepGroup",
                template_name=None,
                boundary_id=node.id,
                parent_id=node.id,
                phase="Running",
                template_scope=engine.base_of(node.id).label,
            )
            for before in previous:
                engine.nodes.link(before, group_node)
            children = self._run_group(group_node, steps, scope)
            by_name = {step["name"]: step for step in steps}
            for name, child in children.finished.items():
                template = engine.template_for(by_name[name], node.id)
                scope.update(node_scope("steps", name, child, template))
            failure = children.first_failure(
                lambda name, phase, steps=by_name: continues(steps[name], phase)
            )
            if failure is not None:
                message = f"child '{failure.id}' failed"
                engine.finish(group_node, "Failed", message)
                engine.finish(node, "Failed", failure_message(failure))
                return
            engine.finish(group_node, "Succeeded")
            previous = [children.finished[step["name"]] for step in steps] or [group_node]
        try:
            outputs = resolve_outputs(self.template, scope)
        except UnresolvedReference as err:
            engine.finish(node, "Error", str(err))
            return
        engine.finish(node, "Succeeded", outputs=outputs)

    def _run_group(self, group_node: Node, steps: list[dict], scope: Scope) -> ChildRuns:
        """Start every step of the group (within the template's parallelism) and wait for all."""
        engine = self.engine
        children = ChildRuns(engine, self.template.get("parallelism"))
        for step in steps:
            while children.full():
                children.wait_for_change()
            name = step["name"]
            call = Call(
                name=f"{group_node.name}.{name}",
                display_name=name,
                holder=step,
                arguments=[],
                boundary_id=self.node.id,
                parent=group_node,
                after=[group_node],
                local={"steps.name": name},
                scope=scope,
            )
            try:
                call.arguments = resolve_call(step, scope)
                if engine.stop.is_set():
                    raise NotRun("Failed", engine.stop_message)
            except NotRun as decided:
                children.not_run(name, call, decided)
                continue
            children.start(name, call)
        while children.running:
            children.wait_for_change()
        return children
