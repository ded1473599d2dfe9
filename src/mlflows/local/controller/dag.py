"""A DAG template with the rules of Argo's workflow/controller/dag.go.

- A task waits until every task its ``depends`` names has finished (whatever the outcome), then
  the expression decides: true runs it, false makes it Omitted. ``dependencies: [A]`` and a bare
  ``A`` in ``depends`` mean ``(A.Succeeded || A.Skipped || A.Daemoned)``, plus ``A.Failed`` /
  ``A.Errored`` when A has ``continueOn``; ``A.AnySucceeded`` / ``A.AllFailed`` ask about the
  items of a loop.
- Then ``when`` is substituted and evaluated: false makes the task Skipped.
- A task sees the outputs of its ancestors only (``{{tasks.X...}}``, a loop's as JSON lists); an
  unresolvable reference makes it Error.
- A loop (:mod:`mlflows.local.controller.loops`) runs its items as ``<task>(<i>:<item>)`` under a
  TaskGroup node named after the task, which ends Failed or Error if an item did (the last such in
  item order), else Succeeded; an empty loop is one Skipped node, "Skipped, empty params"; a loop
  that cannot be expanded is one Error node.
- The DAG's phase is ``assessDAGPhase``: each target (``dag.target`` or every task nothing depends
  on) takes its own phase if it completed, or else the phase of the branch above it (BFS from the
  roots, Failed/Error winning), so an Omitted leaf under a failed task fails the DAG while a leaf
  that ran on an any-outcome ``depends`` decides for itself. With the template's ``failFast``, the
  first failed child stops the DAG starting anything and fails it once its running children end;
  a loop left with items never started ends with the DAG's phase and message.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from mlflows.errors import UserError
from mlflows.local.controller.calls import (
    FAIL_FAST_MESSAGE,
    Call,
    ChildRuns,
    Expansion,
    NotRun,
    check_when,
    continues,
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
from mlflows.local.lang.exprlang import ExprError, evaluate_bool
from mlflows.local.lang.templating import Scope, UnresolvedReference
from mlflows.local.spec.ancestry import ancestors, depends_logic, task_dependencies

if TYPE_CHECKING:
    from mlflows.local.controller.engine import Engine


def task_results(node: Node, items: list[Node] | None) -> dict[str, bool]:
    """What ``depends`` may ask of a finished task; ``items``: a loop's children."""
    phase = node.phase
    return {
        "Succeeded": phase == Phase.SUCCEEDED,
        "Failed": phase == Phase.FAILED,
        "Errored": phase == Phase.ERROR,
        "Skipped": phase == Phase.SKIPPED,
        "Omitted": phase == Phase.OMITTED,
        "Daemoned": node.daemoned,
        "AnySucceeded": any(item.phase == Phase.SUCCEEDED for item in items or []),
        "AllFailed": bool(items) and all(item.phase == Phase.FAILED for item in items),
    }


def group_phase(items: list[Node]) -> Phase:
    """A TaskGroup's phase from its items: the last that failed or errored, else Succeeded."""
    failed = [item.phase for item in items if item.phase.failed_or_error]
    return failed[-1] if failed else Phase.SUCCEEDED


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
        self._keep_only_what_targets_need()
        self.fail_fast = dag.get("failFast", True)
        self.children = ChildRuns(
            engine, template.get("parallelism"), bool(template.get("failFast"))
        )
        self.expansions: dict[str, Expansion] = {}  # the tasks decided so far

    def _keep_only_what_targets_need(self) -> None:
        """Argo runs the targets and what they depend on (executeDAGTask recurses upwards from
        each target); other tasks get no node."""
        for name in self.targets:
            if name not in self.tasks:  # a target given by a parameter
                raise UserError(f"dag.target names {name!r}, which is not a task of this DAG")
        needed = set(self.targets).union(
            *(ancestors(name, self.dependencies) for name in self.targets)
        )
        self.tasks = {name: task for name, task in self.tasks.items() if name in needed}
        self.dependencies = {name: self.dependencies[name] for name in self.tasks}

    def run(self) -> None:
        engine = self.engine
        engine.nodes.update(self.node, phase=Phase.RUNNING)
        while True:
            self._advance()
            if not self.children.running:
                break
            self.children.wait_for_change()
        if self.children.tripped or engine.stop.is_set():
            message = FAIL_FAST_MESSAGE if self.children.tripped else engine.stop_message
            self._end_open_groups(message)
            if self.children.tripped or not all(map(self._finished, self.tasks)):
                engine.finish(self.node, Phase.FAILED, message)
                return
        finished = [name for name in self.tasks if self._finished(name)]
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

    def _blocked(self) -> bool:
        return self.engine.stop.is_set() or self.children.tripped

    def _advance(self) -> None:
        """End the loops whose items have all finished, decide every task whose dependencies
        have finished, and start what was decided as slots allow."""
        progress = True
        while progress:
            progress = self._end_finished_groups()
            if self._blocked():
                return
            for name, deps in self.dependencies.items():
                if name in self.expansions or not all(self._finished(dep) for dep in deps):
                    continue
                if self.children.full():
                    return
                self.expansions[name] = self._decide(name)
                self._start_waiting()
                progress = True
            self._start_waiting()

    def _start_waiting(self) -> None:
        for expansion in self.expansions.values():
            while expansion.waiting and not self.children.full() and not self._blocked():
                self.children.start(expansion.waiting.popleft())

    def _end_finished_groups(self) -> bool:
        """End each loop whose items have all finished; whether there was one."""
        ended = False
        for expansion in self.expansions.values():
            group = expansion.group
            if group is not None and not group.fulfilled and self.children.done(expansion):
                self.engine.finish(group, group_phase(self.children.nodes(expansion)))
                ended = True
        return ended

    def _end_open_groups(self, message: str) -> None:
        """Loops stopped before all their items ran end as the DAG does."""
        self._end_finished_groups()
        for expansion in self.expansions.values():
            if expansion.group is not None and not expansion.group.fulfilled:
                self.engine.finish(expansion.group, Phase.FAILED, message)

    def _finished(self, name: str) -> bool:
        expansion = self.expansions.get(name)
        if expansion is None or not self.children.done(expansion):
            return False
        return expansion.group is None or expansion.group.fulfilled

    def _task_node(self, name: str) -> Node:
        """The node that stands for a finished task: its own, or its loop's TaskGroup."""
        expansion = self.expansions[name]
        return expansion.group or self.children.nodes(expansion)[0]

    def _items(self, name: str) -> list[Node] | None:
        """The children of a finished loop task (None for any other task)."""
        expansion = self.expansions[name]
        return self.children.nodes(expansion) if expansion.group is not None else None

    def _outbound(self, name: str) -> list[Node]:
        """The nodes a task's dependents follow in the node graph (a loop's items)."""
        return self._items(name) or [self._task_node(name)]

    def _decide(self, name: str) -> Expansion:
        """Omit, skip, fail or plan one task whose dependencies have all finished."""
        task = self.tasks[name]
        deps = self.dependencies[name]
        call = Call(
            name=f"{self.node.name}.{name}",
            display_name=name,
            holder=task,
            arguments=[],
            boundary_id=self.node.id,
            parent=self.node,
            after=[node for dep in deps for node in self._outbound(dep)] or [self.node],
            local=current_name(keys.TASKS, name),
        )
        try:
            if not self._depends_holds(name):
                raise NotRun(Phase.OMITTED, "omitted: depends condition not met")
            call.scope = self._scope(ancestors(name, self.dependencies))
            if is_loop(task):
                return self._expand(call)
            call.arguments = resolve_call(task, call.scope)
        except NotRun as decided:
            self.children.not_run(call, decided)
            return Expansion([call.name])
        return Expansion([call.name], deque([call]))

    def _expand(self, call: Call) -> Expansion:
        """A loop task's items under a TaskGroup, each skipped or waiting to start."""
        try:
            iterations = expand(call.holder, call.scope)
        except ExpansionError as err:
            raise NotRun(Phase.ERROR, str(err)) from None
        if not iterations:
            raise NotRun(Phase.SKIPPED, "Skipped, empty params")
        group = self.engine.nodes.create(
            call.name,
            display_name=call.display_name,
            type=NodeType.TASK_GROUP,
            template_name=call.template,
            boundary_id=self.node.id,
            parent_id=self.node.id,
            phase=Phase.RUNNING,
            template_scope=self.engine.base_of(self.node.id).label,
            template_ref=call.holder.get("templateRef"),
        )
        for before in call.after:
            self.engine.nodes.link(before, group)
        expansion = Expansion(group=group)
        for iteration in iterations:
            item = Call(
                name=f"{self.node.name}.{iteration.name}",
                display_name=iteration.name,
                holder=call.holder,
                arguments=iteration.arguments,
                boundary_id=self.node.id,
                parent=group,
                after=[group],
                local=current_name(keys.TASKS, iteration.name),
                scope=iteration.scope,
            )
            expansion.children.append(item.name)
            try:
                check_when(iteration.when)
            except NotRun as decided:
                self.children.not_run(item, decided)
                continue
            expansion.waiting.append(item)
        return expansion

    def _depends_holds(self, name: str) -> bool:
        logic = depends_logic(self.tasks[name], self.tasks)
        if not logic:
            return True
        results = {
            dep.replace("-", "_"): task_results(self._task_node(dep), self._items(dep))
            for dep in self.dependencies[name]
        }
        try:
            return evaluate_bool(logic.replace("-", "_"), results)
        except ExprError as err:
            raise NotRun(Phase.ERROR, f"unable to evaluate expression '{logic}': {err}") from None

    def _scope(self, names: list[str]) -> Scope:
        """Globals and what the named tasks produced, a loop's aggregated."""
        scope = self.engine.variables()
        for name in names:
            template = self.engine.template_for(self.tasks[name], self.node.id)
            items = self._items(name)
            if items is not None:
                scope.update(aggregate_scope(keys.TASKS, name, items))
            scope.update(node_scope(keys.TASKS, name, self._task_node(name), template))
        return scope
