"""A DAG template with the rules of Argo's workflow/controller/dag.go.

- A task waits until every task its ``depends`` names has finished (whatever the outcome), then
  the expression decides: true runs it, false makes it Omitted. ``dependencies: [A]`` and a bare
  ``A`` in ``depends`` mean ``(A.Succeeded || A.Skipped || A.Daemoned)``, plus ``A.Failed`` /
  ``A.Errored`` when A has ``continueOn``.
- Then ``when`` is substituted and evaluated: false makes the task Skipped.
- A task sees the outputs of its ancestors only (``{{tasks.X...}}``); an unresolvable reference
  makes it Error.
- The DAG's phase is ``assessDAGPhase``: each target (``dag.target`` or every task nothing depends
  on) takes its own phase if it completed, or else the phase of the branch above it (BFS from the
  roots, Failed/Error winning), so an Omitted leaf under a failed task fails the DAG while a leaf
  that ran on an any-outcome ``depends`` decides for itself.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from mlflows.local.controller.calls import (
    Call,
    ChildRuns,
    Expansion,
    NotRun,
    continues,
    failure_message,
    resolve_call,
)
from mlflows.local.controller.nodes import Node, Phase
from mlflows.local.controller.scope import current_name, node_scope
from mlflows.local.lang import keys
from mlflows.local.lang.expressions import ExpressionError, evaluate_depends
from mlflows.local.lang.templating import Scope, UnresolvedReference, resolve_outputs
from mlflows.local.spec.ancestry import ancestors, depends_logic, task_dependencies

if TYPE_CHECKING:
    from mlflows.local.controller.engine import Engine


def task_results(node: Node) -> dict[str, bool]:
    phase = node.phase
    return {
        "Succeeded": phase == Phase.SUCCEEDED,
        "Failed": phase == Phase.FAILED,
        "Errored": phase == Phase.ERROR,
        "Skipped": phase == Phase.SKIPPED,
        "Omitted": phase == Phase.OMITTED,
        "Daemoned": False,
    }


def assess_dag_phase(
    tasks: dict[str, dict],
    dependencies: dict[str, list[str]],
    nodes: dict[str, Node],
    targets: list[str],
    fail_fast: bool,
) -> Phase:
    """Argo's assessDAGPhase over finished task nodes (``dependencies``: each task's, by name)."""
    dependents = {name: [other for other in tasks if name in dependencies[other]] for name in tasks}
    queue = deque((name, Phase.SUCCEEDED) for name in tasks if not dependencies[name])
    seen = set(queue)
    target_phases: dict[str, Phase | None] = dict.fromkeys(targets)
    while queue:
        name, branch_phase = queue.popleft()
        node = nodes.get(name)
        if node is None:
            continue
        if node.phase.completed:
            branch_phase = node.phase
        if name in target_phases and not (target_phases[name] or Phase.PENDING).failed_or_error:
            target_phases[name] = branch_phase
        for child in dependents[name]:
            if (child, branch_phase) not in seen:
                seen.add((child, branch_phase))
                queue.append((child, branch_phase))
    result = Phase.SUCCEEDED
    for name in targets:
        phase = target_phases[name]
        if phase is None:
            result = Phase.RUNNING
            if not fail_fast:
                break
        elif phase.failed_or_error:
            if continues(tasks[name], phase):
                continue
            result = phase
            if fail_fast:
                break
    return result


class DagRun:
    def __init__(self, engine: Engine, node: Node, template: dict):
        self.engine = engine
        self.node = node
        self.template = template
        dag = template["dag"]
        self.tasks = {task["name"]: task for task in dag["tasks"]}
        self.dependencies = {name: task_dependencies(task) for name, task in self.tasks.items()}
        depended_on = {dep for deps in self.dependencies.values() for dep in deps}
        self.targets = (dag.get("target") or "").split() or sorted(set(self.tasks) - depended_on)
        self.fail_fast = dag.get("failFast", True)
        self.children = ChildRuns(engine, template.get("parallelism"))
        self.expansions: dict[str, Expansion] = {}  # the tasks decided so far

    def run(self) -> None:
        engine = self.engine
        engine.nodes.update(self.node, phase=Phase.RUNNING)
        while True:
            self._advance()
            if not self.children.running:
                break
            self.children.wait_for_change()
        finished = [name for name in self.tasks if self._finished(name)]
        if len(finished) < len(self.tasks) and engine.stop.is_set():
            engine.finish(self.node, Phase.FAILED, engine.stop_message)
            return
        task_nodes = {name: self._task_node(name) for name in finished}
        phase = assess_dag_phase(
            self.tasks, self.dependencies, task_nodes, self.targets, self.fail_fast
        )
        if phase.failed_or_error:
            failure = self.children.first_failure(self.children.finished)
            engine.finish(self.node, phase, failure_message(failure))
            return
        try:
            outputs = resolve_outputs(self.template, self._scope(finished))
        except UnresolvedReference as err:
            engine.finish(self.node, Phase.ERROR, str(err))
            return
        engine.finish(self.node, Phase.SUCCEEDED, outputs=outputs)

    def _advance(self) -> None:
        """Decide every task whose dependencies have finished, and start what was decided."""
        progress = True
        while progress and not self.engine.stop.is_set():
            progress = False
            for name, deps in self.dependencies.items():
                if name in self.expansions or not all(self._finished(dep) for dep in deps):
                    continue
                if self.children.full():
                    return
                self.expansions[name] = self._decide(name)
                self._start_waiting()
                progress = True

    def _start_waiting(self) -> None:
        for expansion in self.expansions.values():
            while expansion.waiting and not self.children.full():
                self.children.start(expansion.waiting.popleft())

    def _finished(self, name: str) -> bool:
        expansion = self.expansions.get(name)
        return expansion is not None and self.children.done(expansion)

    def _task_node(self, name: str) -> Node:
        """The node that stands for a finished task."""
        return self.children.nodes(self.expansions[name])[0]

    def _decide(self, name: str) -> Expansion:
        """Omit, skip or plan one task whose dependencies have all finished."""
        task = self.tasks[name]
        call = Call(
            name=f"{self.node.name}.{name}",
            display_name=name,
            template=task["template"],
            arguments=[],
            boundary_id=self.node.id,
            parent=self.node,
            after=[self._task_node(dep) for dep in self.dependencies[name]] or [self.node],
            local=current_name(keys.TASKS, name),
            invocation=task,
        )
        try:
            if not self._depends_holds(name):
                raise NotRun(Phase.OMITTED, "omitted: depends condition not met")
            call.arguments = resolve_call(task, self._scope(ancestors(name, self.dependencies)))
        except NotRun as decided:
            self.children.not_run(call, decided)
            return Expansion([call.name])
        return Expansion([call.name], deque([call]))

    def _depends_holds(self, name: str) -> bool:
        logic = depends_logic(self.tasks[name], self.tasks)
        if not logic:
            return True
        results = {
            dep.replace("-", "_"): task_results(self._task_node(dep))
            for dep in self.dependencies[name]
        }
        try:
            return evaluate_depends(logic.replace("-", "_"), results)
        except ExpressionError as err:
            raise NotRun(Phase.ERROR, str(err)) from None

    def _scope(self, names: list[str]) -> Scope:
        scope = dict(self.engine.globals)
        for name in names:
            template = self.engine.templates[self.tasks[name]["template"]]
            scope.update(node_scope(keys.TASKS, name, self._task_node(name), template))
        return scope
