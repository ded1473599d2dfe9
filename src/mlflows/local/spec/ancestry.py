"""What a DAG task's ``depends`` or ``dependencies`` names, read as Argo's
workflow/common/ancestry.go reads it: the tasks it waits for, the expression with bare names
expanded, and its ancestors.

The up-front check (:mod:`mlflows.local.spec.validate`) and the run
(:mod:`mlflows.local.controller.dag`) both read ``depends`` here, so they never disagree.
"""

from __future__ import annotations

import re

# Argo's TaskResult values, as a depends expression names them (``a.Succeeded``); the item
# results ask about the items of a loop task.
ITEM_RESULTS = ("AnySucceeded", "AllFailed")
TASK_RESULTS = ("Succeeded", "Failed", "Errored", "Skipped", "Omitted", "Daemoned", *ITEM_RESULTS)
# Argo's own patterns: a `task.Result`, or a bare task name.
TASK_NAME = re.compile(r"([a-zA-Z0-9][-a-zA-Z0-9]*?\.[A-Z][a-zA-Z]+)|([a-zA-Z0-9][-a-zA-Z0-9]*)")
TASK_RESULT = re.compile(r"([a-zA-Z0-9][-a-zA-Z0-9]*?)\.([A-Z][a-zA-Z]+)")


def task_dependencies(task: dict) -> list[str]:
    """The task names a DAG task waits for (from ``depends`` or ``dependencies``), in order."""
    if "depends" not in task:
        return list(task.get("dependencies") or [])
    names = []
    for with_result, bare in TASK_NAME.findall(task["depends"]):
        name = with_result.split(".")[0] if with_result else bare
        if name not in names:
            names.append(name)
    return names


def named_results(depends: str) -> list[tuple[str, str]]:
    """Each ``task.Result`` a depends expression names, as (task, result)."""
    return TASK_RESULT.findall(depends)


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

    return TASK_NAME.sub(expand, task["depends"])


def ancestors(name: str, dependencies: dict[str, list[str]]) -> list[str]:
    """Every task ``name`` depends on, directly or not (``dependencies``: each task's, by name)."""
    found: list[str] = []
    stack = list(dependencies[name])
    while stack:
        dep = stack.pop()
        if dep not in found:
            found.append(dep)
            stack.extend(dependencies[dep])
    return found
