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
    Expansion,
    NotRun,
    failure_message,
    resolve_call,
)
from mlflows.local.controller.nodes import Node, NodeType, Phase
from mlflows.local.controller.scope import current_name, node_scope
from mlflows.local.lang import keys
from mlflows.local.lang.templating import Scope, UnresolvedReference, resolve_outputs

if TYPE_CHECKING:
    from mlflows.local.controller.engine import Engine


class StepsRun:
    def __init__(self, engine: Engine, node: Node, template: dict):
        self.engine = engine
        self.node = node
        self.template = template
        self.children = ChildRuns(engine, template.get("parallelism"))

    def run(self) -> None:
        engine, node = self.engine, self.node
        engine.nodes.update(node, phase=Phase.RUNNING)
        scope: Scope = dict(engine.globals)
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
            )
            for before in previous:
                engine.nodes.link(before, group_node)
            expansions = self._run_group(group_node, steps, scope)
            members = [name for expansion in expansions for name in expansion.children]
            failure = self.children.first_failure(members)
            if failure is not None:
                message = f"child '{failure.id}' failed"
                engine.finish(group_node, Phase.FAILED, message)
                engine.finish(node, Phase.FAILED, failure_message(failure))
                return
            engine.finish(group_node, Phase.SUCCEEDED)
            for step, expansion in zip(steps, expansions, strict=True):
                template = engine.templates[step["template"]]
                child = self.children.nodes(expansion)[0]
                scope.update(node_scope(keys.STEPS, step["name"], child, template))
            previous = [self.children.finished[name] for name in members] or [group_node]
        try:
            outputs = resolve_outputs(self.template, scope)
        except UnresolvedReference as err:
            engine.finish(node, Phase.ERROR, str(err))
            return
        engine.finish(node, Phase.SUCCEEDED, outputs=outputs)

    def _run_group(self, group_node: Node, steps: list[dict], scope: Scope) -> list[Expansion]:
        """Start every step of the group (within the template's parallelism) and wait for all."""
        engine, children = self.engine, self.children
        expansions = []
        for step in steps:
            name = step["name"]
            call = Call(
                name=f"{group_node.name}.{name}",
                display_name=name,
                template=step["template"],
                arguments=[],
                boundary_id=self.node.id,
                parent=group_node,
                after=[group_node],
                local=current_name(keys.STEPS, name),
                invocation=step,
            )
            expansions.append(Expansion([call.name]))
            while children.full():
                children.wait_for_change()
            try:
                call.arguments = resolve_call(step, scope)
                if engine.stop.is_set():
                    raise NotRun(Phase.FAILED, engine.stop_message)
            except NotRun as decided:
                children.not_run(call, decided)
                continue
            children.start(call)
        while not all(children.done(expansion) for expansion in expansions):
            children.wait_for_change()
        return expansions
