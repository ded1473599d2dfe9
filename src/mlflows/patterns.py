"""Fan-in shapes for a DAG of independent branches.

Argo derives a DAG's phase from its leaf tasks, and a Skipped or Omitted leaf inherits the phase of
its branch, Failed preferred (workflow/controller/dag.go, assessDAGPhase). So every branch here ends
in a task that the join depends on, and the join's ``depends`` accepts any outcome: the join is the
only leaf, and when it succeeds a failed branch does not fail the workflow.

Argo also evaluates ``depends`` only once every task it names has finished, so ``a.Succeeded ||
b.Succeeded`` waits for the slower branch. The asynchronous shape therefore gives each branch a
follow-up task of its own that depends on that branch alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from hera.workflows import Task

# Every phase a finished task can have (Daemoned is for daemons, which never "finish").
FINISHED_PHASES = ("Succeeded", "Failed", "Errored", "Skipped", "Omitted")


def finished(task: Task) -> str:
    """A ``depends`` clause that is true once ``task`` has ended, however it ended."""
    return "(" + " || ".join(f"{task.name}.{phase}" for phase in FINISHED_PHASES) + ")"


def after_all(tasks: Sequence[Task]) -> str:
    """A ``depends`` clause that is true once every one of ``tasks`` has ended."""
    return " && ".join(finished(task) for task in tasks)


def fan_in(branches: Sequence[Task], join: Task) -> Task:
    """Synchronous fan-in: ``join`` runs once every branch has ended, even if some failed."""
    join.depends = after_all(branches)
    return join


def follow_each(branches: Sequence[Task], follow_up: Callable[[Task], Task]) -> list[Task]:
    """Give each branch its own ``follow_up(branch)`` task (say, serve its model) that starts as
    soon as that branch succeeds, not after the slowest. ``fan_in`` over the returned follow-ups
    is the asynchronous fan-in; over the branches themselves, the synchronous one."""
    follow_ups = []
    for branch in branches:
        task = follow_up(branch)
        task.depends = f"{branch.name}.Succeeded"
        follow_ups.append(task)
    return follow_ups
