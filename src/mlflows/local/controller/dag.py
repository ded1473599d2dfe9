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

from mlflows.errors import UserError
from mlflows.local.controller.calls import (
    Call,
    ChildRuns,
    NotRun,
    continues,
    failure_message,
    resolve_call,
)
from mlflows.local.controller.nodes import COMPLETED, FAILED_OR_ERROR, Node
from mlflows.local.lang.exprlang import ExprError, evaluate_bool
from mlflows.local.lang.templating import Scope, UnresolvedReference, node_scope, resolve_outputs
from mlflows.local.spec.validate import DEPENDS_NAME, task_dependencies

if TYPE_CHECKING:
    from mlflows.local.controller.engine import Engine


def expand_dependency(name: str, task: dict) -> str:
    """What a bare task name means in ``depends`` (Argo's expandDependency)."""
    results = ["Succeeded", "Skipped", "Daemoned"]
    continue_on = task.get("continueOn") or {}
    if continue_on.get("error"):
        results.append("Errored")
    if continue_on.get("failed"):
        results.append("Failed")
    return "(" + " || ".join(f"{name}.{result}" for result in results) + ")"


def depends_logic(task: dict, tasks: dict[str, dict]) -> str:
    """The task's ``depends`` with bare names expanded, or ``dependencies`` as ``depends``."""
    if "depends" not in task:
        return " && ".join(
            expand_dependency(name, tasks[name]) for name in task.get("dependencies") or []
        )

    def expand(match) -> str:
        bare = match.group(2)
        return expand_dependency(bare, tasks[bare]) if bare else match.group(0)

    return DEPENDS_NAME.sub(expand, task["depends"])


def task_results(node: Node) -> dict[str, bool]:
    phase = node.phase
    return {
        "Succeeded": phase == "Succeeded",
        "Failed": phase == "Failed",
        "Errored": phase == "Error",
        "Skipped": phase == "Skipped",
        "Omitted": phase == "Omitted",
        "Daemoned": False,
    }


def assess_dag_phase(
    tasks: dict[str, dict],
    dependencies: dict[str, list[str]],
    nodes: dict[str, Node],
    targets: list[str],
    fail_fast: bool,
) -> str:
    """Argo's assessDAGPhase over finished task nodes (``dependencies``: each task's, by name)."""
    dependents = {name: [other for other in tasks if name in dependencies[other]] for name in tasks}
    queue = deque((name, "Succeeded") for name in tasks if not dependencies[name])
    seen = set(queue)
    target_phases = dict.fromkeys(targets, "")
    while queue:
        name, branch_phase = queue.popleft()
        node = nodes.get(name)
        if node is None:
            continue
        if node.phase in COMPLETED:
            branch_phase = node.phase
        if name in target_phases and target_phases[name] not in FAILED_OR_ERROR:
            target_phases[name] = branch_phase
        for child in dependents[name]:
            if (child, branch_phase) not in seen:
                seen.add((child, branch_phase))
                queue.append((child, branch_phase))
    result = "Succeeded"
    for name in targets:
        phase = target_phases[name]
        if phase == "":
            result = "Running"
            if not fail_fast:
                break
        elif phase in FAILED_OR_ERROR:
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
        self._keep_only_what_targets_need()
        self.fail_fast = dag.get("failFast", True)
        self.children = ChildRuns(engine, template.get("parallelism"))

    def _keep_only_what_targets_need(self) -> None:
        """Argo runs the targets and what they depend on (executeDAGTask recurses upwards from
        each target); other tasks get no node."""
        for name in self.targets:
            if name not in self.tasks:  # a target given by a parameter
                raise UserError(f"dag.target names {name!r}, which is not a task of this DAG")
        needed = set(self.targets).union(*(self._ancestors(name) for name in self.targets))
        self.tasks = {name: task for name, task in self.tasks.items() if name in needed}
        self.dependencies = {name: self.dependencies[name] for name in self.tasks}

    def run(self) -> None:
        engine = self.engine
        engine.nodes.update(self.node, phase="Running")
        while True:
            self._start_ready_tasks()
            if not self.children.running:
                break
            self.children.wait_for_change()
        finished = self.children.finished
        if len(finished) < len(self.tasks) and engine.stop.is_set():
            engine.finish(self.node, "Failed", engine.stop_message)
            return
        phase = assess_dag_phase(
            self.tasks, self.dependencies, finished, self.targets, self.fail_fast
        )
        if phase in FAILED_OR_ERROR:
            failure = self.children.first_failure(lambda name, p: continues(self.tasks[name], p))
            engine.finish(self.node, phase, failure_message(failure))
            return
        try:
            outputs = resolve_outputs(self.template, self._scope(list(finished)))
        except UnresolvedReference as err:
            engine.finish(self.node, "Error", str(err))
            return
        engine.finish(self.node, "Succeeded", outputs=outputs)

    def _start_ready_tasks(self) -> None:
        finished, running = self.children.finished, self.children.running
        progress = True
        while progress and not self.engine.stop.is_set():
            progress = False
            for name, deps in self.dependencies.items():
                if name in finished or name in running or any(dep not in finished for dep in deps):
                    continue
                if self.children.full():
                    return
                self._decide(name)
                progress = True

    def _decide(self, name: str) -> None:
        """Omit, skip or start one task whose dependencies have all finished."""
        task = self.tasks[name]
        finished = self.children.finished
        call = Call(
            name=f"{self.node.name}.{name}",
            display_name=name,
            holder=task,
            arguments=[],
            boundary_id=self.node.id,
            parent=self.node,
            after=[finished[dep] for dep in self.dependencies[name]] or [self.node],
            local={"tasks.name": name},
        )
        try:
            if not self._depends_holds(name):
                raise NotRun("Omitted", "omitted: depends condition not met")
            call.scope = self._scope(self._ancestors(name))
            call.arguments = resolve_call(task, call.scope)
        except NotRun as decided:
            self.children.not_run(name, call, decided)
            return
        self.children.start(name, call)

    def _depends_holds(self, name: str) -> bool:
        logic = depends_logic(self.tasks[name], self.tasks)
        if not logic:
            return True
        finished = self.children.finished
        results = {
            dep.replace("-", "_"): task_results(finished[dep]) for dep in self.dependencies[name]
        }
        try:
            return evaluate_bool(logic.replace("-", "_"), results)
        except ExprError as err:
            raise NotRun("Error", f"unable to evaluate expression '{logic}': {err}") from None

    def _ancestors(self, name: str) -> list[str]:
        found: list[str] = []
        stack = list(self.dependencies[name])
        while stack:
            dep = stack.pop()
            if dep not in found:
                found.append(dep)
                stack.extend(self.dependencies[dep])
        return found

    def _scope(self, names: list[str]) -> Scope:
        scope = dict(self.engine.globals)
        for name in names:
            template = self.engine.template_for(self.tasks[name], self.node.id)
            scope.update(node_scope("tasks", name, self.children.finished[name], template))
        return scope
