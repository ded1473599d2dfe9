"""Lifecycle hooks and exit handlers, as Argo's controller runs them: workflow/controller/hooks.go
(``executeWfLifeCycleHook``, ``executeTmplLifeCycleHook``), exit_handler.go (``runOnExitNode``,
``resolveExitTmplArgument``) and operator.go (the workflow's exit handler).

- The workflow's ``spec.hooks``: every hook but ``exit`` has an ``expression``, evaluated over the
  workflow's variables while the entry node runs and once more when it has ended
  (``workflow.status`` is the entry node's phase, ``Running`` meanwhile; ``workflow.failures``,
  as :mod:`mlflows.local.controller.runtime_globals` writes them).
  The first time it holds, ``<workflow>.hooks.<name>`` starts, a child of the entry node. The
  exit handler — ``spec.onExit``, else ``spec.hooks.exit`` — runs as ``<workflow>.onExit`` once
  the entry node and every hook started have ended.
- A DAG task's or step's ``hooks`` the same way, over what the task or step was resolved against
  (and its DAG's or steps' inputs) plus its ``tasks.<name>.status`` / ``steps.<name>.status``
  (evaluated once its node runs, and when it was skipped or omitted too), as
  ``<node>.hooks.<name>``; then, if its node completed (Succeeded, Failed or Error; not Skipped
  or Omitted), its exit handler — ``onExit``, else ``hooks.exit``, run only if its own
  expression, when it has one, holds — as ``<node>.onExit``. Both are children of the node, in
  its boundary; the task or step is finished (for ``depends``, its step group, its DAG) only once
  they have ended, and what they end with changes neither its phase nor its DAG's. A hook
  expression that cannot be evaluated ends the node Error.
- Arguments: an exit handler without arguments of its own takes the workflow's (``GetExitHook``'s
  ``WithArgs``); a hook's are substituted with its scope and, for a task or step, its status and
  output parameters (not ``outputs.result``: Argo adds only parameters), leaving what does not
  resolve as written.
- Hook and exit-handler nodes carry ``nodeFlag.hooked``. Once the run is stopped (deadline,
  Ctrl-C) no hook of a task or step starts.

Argo evaluates hook expressions with expr-lang (``argoexpr.EvalBool``), over its variables nested
as util/expr/env nests them; so does :func:`hook_fires`, with :mod:`mlflows.local.lang.exprlang`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from mlflows.local.controller import runtime_globals
from mlflows.local.controller.artifacts import argument_artifacts, reference
from mlflows.local.controller.calls import POLL_SECONDS, Call, NotRun
from mlflows.local.controller.nodes import Node, Outputs
from mlflows.local.controller.scope import inputs_scope
from mlflows.local.lang import exprlang, keys
from mlflows.local.lang.expression_tags import short
from mlflows.local.lang.exprlang import ExprError
from mlflows.local.lang.templating import (
    ABSENT,
    Scope,
    UnresolvedReference,
    argo_string,
    expression_env,
    is_absent_reference,
    substitute,
)

if TYPE_CHECKING:
    from mlflows.local.controller.engine import Engine

EXIT = "exit"
HOOK_FIELDS = {"template", "templateRef", "arguments", "expression"}


def hook_fires(expression: str, scope: Scope) -> bool:
    """Whether a hook's ``expression`` holds over ``scope``: a missing key of a variable that is
    there (``tasks.a.outputs``) is nil, an unknown variable an error, as in expr. ExprError (one
    line, quoting the expression) if it cannot be evaluated."""
    try:
        return exprlang.evaluate_bool(expression, expression_env(scope))
    except ExprError as err:
        raise ExprError(f"hook expression '{short(expression)}': {err}") from None


def check_expression(expression: str) -> None:
    """ExprError (one line) if :func:`hook_fires` cannot read ``expression``: not expr-lang, or
    a function the runner does not have (then an ExprUnsupported)."""
    try:
        exprlang.check(expression)
    except ExprError as err:
        raise type(err)(f"hook expression '{short(expression)}': {err}") from None


def exit_hook(item: dict, workflow_arguments: list[dict]) -> dict | None:
    """Argo's GetExitHook: ``onExit`` (a template name) wins over ``hooks.exit``; an exit hook
    without arguments takes the workflow's."""
    if item.get("onExit"):
        return {"template": item["onExit"], "arguments": {"parameters": workflow_arguments}}
    hook = (item.get("hooks") or {}).get(EXIT)
    if hook is None:
        return None
    if not (hook.get("arguments") or {}).get("parameters"):
        given = hook.get("arguments") or {}
        return {**hook, "arguments": {**given, "parameters": workflow_arguments}}
    return hook


def expression_hooks(item: dict) -> dict[str, dict]:
    return {name: hook for name, hook in (item.get("hooks") or {}).items() if name != EXIT}


def hook_arguments(hook: dict, scope: Scope) -> list[dict]:
    """The hook's argument parameters substituted with ``scope`` (resolveExitTmplArgument):
    what does not resolve stays; a reference to an absent optional is not supplied. NotRun
    (Error) when a value cannot be substituted."""
    arguments = []
    for param in (hook.get("arguments") or {}).get("parameters") or []:
        value = param.get("value")
        try:
            if is_absent_reference(value, scope):
                value = ABSENT
            elif value is not None:
                value = substitute(argo_string(value), scope)
        except UnresolvedReference as err:
            raise NotRun("Error", str(err)) from None
        arguments.append({"name": param["name"], "value": value})
    return arguments + argument_artifacts(hook, scope, ())


class Watch:
    """The expression hooks of one node: evaluated while it runs and when it has ended; each
    starts at most once, on a thread of its own."""

    def __init__(
        self,
        engine: Engine,
        hooks: dict[str, dict],
        call: Call,
        scope: Callable[[Node], Scope],  # what the expressions see
        arguments_scope: Callable[[Node], Scope],  # what the hooks' arguments are substituted with
        local: Callable[[Node], Scope],  # variables for the hook's template
        pending: bool = False,  # also evaluate while the node is Pending (the workflow's hooks)
    ):
        self.engine = engine
        self.hooks = hooks
        self.call = call
        self.scope = scope
        self.arguments_scope = arguments_scope
        self.local = local
        self.pending = pending
        self.error = ""
        self._started: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    @contextmanager
    def polling(self, node_id: str) -> Iterator[None]:
        """Evaluate the hooks every poll while the block runs the node."""
        done = threading.Event()

        def poll() -> None:
            while not done.wait(POLL_SECONDS):
                node = self.engine.nodes.get(node_id)
                if node is not None and (self.pending or node.phase != "Pending"):
                    self.evaluate(node)

        poller = threading.Thread(target=poll, name=f"{self.call.name} hooks", daemon=True)
        poller.start()
        try:
            yield
        finally:
            done.set()
            poller.join()

    def evaluate(self, node: Node) -> None:
        with self._lock:
            for name, hook in self.hooks.items():
                if name in self._started or self.error or self.engine.stop.is_set():
                    continue
                try:
                    fires = hook_fires(hook["expression"], self.scope(node))
                except ExprError as err:
                    self.error = str(err)
                    return
                if fires:
                    self._start(name, hook, node)

    def _start(self, name: str, hook: dict, node: Node) -> None:
        call = Call(
            name=f"{node.name}.hooks.{name}",
            display_name=f"{self.call.display_name}.hooks.{name}",
            holder=hook,
            arguments=[],
            boundary_id=self.call.boundary_id,
            parent=node,
            after=[node],
            local=self.local(node),
            hooked=True,
        )
        scope = {**self.arguments_scope(node), **call.local}
        thread = threading.Thread(
            target=_run_hook, args=(self.engine, call, hook, scope), name=call.name, daemon=True
        )
        self._started[name] = thread
        thread.start()

    def wait(self) -> None:
        """Until every hook started has ended."""
        for thread in list(self._started.values()):
            thread.join()


def _run_hook(engine: Engine, call: Call, hook: dict, scope: Scope) -> Node:
    try:
        call.arguments = hook_arguments(hook, scope)
    except NotRun as decided:
        return engine.not_run(call, decided)
    return engine.execute(call)


def run_hooked(engine: Engine, call: Call, node: Node, body: Callable[[], None]) -> None:
    """Run ``body`` (the node's own work), then what the call's hooks and exit handler do."""
    hooks = expression_hooks(call.holder)
    exit_handler = exit_hook(call.holder, engine.arguments)
    if not hooks and exit_handler is None:
        body()
        return
    ref = keys.TASKS if keys.TASKS.current_name() in call.local else keys.STEPS
    name = call.local.get(ref.current_name(), call.display_name)

    boundary = engine.nodes.get(call.boundary_id) if call.boundary_id else None
    inputs = inputs_scope(boundary.inputs) if boundary is not None else {}  # the DAG's or steps'

    def scope(current: Node) -> Scope:
        variables = {**engine.variables(), **_while_running(engine), **inputs, **call.scope}
        return {**variables, ref.status(name): current.phase.value}

    def with_outputs(current: Node) -> Scope:
        """For arguments: the node's output parameters too (resolveExitTmplArgument)."""
        outputs = current.outputs or Outputs()
        values = {ref.parameter(name, p): v for p, v in outputs.parameters.items()}
        values.update({ref.artifact(name, a): reference(v) for a, v in outputs.artifacts.items()})
        return {**scope(current), **values}

    if hooks:
        watch = Watch(
            engine, hooks, call, scope, with_outputs, lambda current: _while_running(engine)
        )
        with watch.polling(node.id):
            body()
        watch.evaluate(node)
        watch.wait()
        if watch.error:  # Argo marks the node Error and goes no further with it
            engine.finish(node, "Error", watch.error)
            return
    else:
        body()
    if exit_handler is None or not node.phase.completed or engine.stop.is_set():
        return
    exit_scope = with_outputs(node)
    if exit_handler.get("expression"):
        try:
            if not hook_fires(exit_handler["expression"], exit_scope):
                return
        except ExprError as err:
            engine.finish(node, "Error", str(err))
            return
    handler = Call(
        name=f"{node.name}.onExit",
        display_name=f"{call.display_name}.onExit",
        holder=exit_handler,
        arguments=[],
        boundary_id=call.boundary_id,
        parent=node,
        after=[node],
        local=_while_running(engine),
        hooked=True,
    )
    _run_hook(engine, handler, exit_handler, exit_scope)


def _while_running(engine: Engine) -> Scope:
    """``{{workflow.failures}}`` so far, for a hook that starts while the entry node runs (Argo
    sets it on every pass after the entry node; ``workflow.status`` is ``Engine.variables``'s);
    afterwards the globals hold it."""
    if keys.WORKFLOW_FAILURES() in engine.globals:
        return {}
    return {keys.WORKFLOW_FAILURES(): runtime_globals.failures(engine.name, engine.nodes.all())}


class WorkflowHooks:
    """The workflow's ``spec.hooks`` and exit handler."""

    def __init__(self, engine: Engine, workflow_phases: dict[str, str]):
        self.engine = engine
        self.phases = workflow_phases  # a node's phase as the workflow's
        self.hooks = expression_hooks(engine.spec)
        self.exit = exit_hook(engine.spec, engine.arguments)

    def run_entry(self, call: Call) -> Node:
        """The entry node run to its end with the hooks watched; then ``{{workflow.status}}`` and
        ``{{workflow.failures}}`` hold its outcome (:mod:`~.runtime_globals`)."""
        engine = self.engine
        if not self.hooks:
            entry = engine.execute(call)
        else:
            scope, variables = self._scope, self._variables
            watch = Watch(engine, self.hooks, call, scope, scope, variables, pending=True)
            with watch.polling(engine.nodes.node_id(call.name)):
                entry = engine.execute(call)
            watch.evaluate(entry)
            watch.wait()
            if watch.error:
                engine.finish(entry, "Error", watch.error)
        # Only now: hooks read these from the globals once they are there (_while_running).
        engine.globals.update(self._variables(entry))
        return entry

    def run_exit(self) -> Node:
        name = f"{self.engine.name}.onExit"
        handler = Call(name, name, self.exit, [], hooked=True)
        return _run_hook(self.engine, handler, self.exit, self.engine.variables())

    def _variables(self, entry: Node) -> Scope:
        return {
            keys.WORKFLOW_STATUS(): str(self.phases.get(entry.phase, entry.phase)),
            keys.WORKFLOW_FAILURES(): runtime_globals.failures(
                self.engine.name, self.engine.nodes.all()
            ),
        }

    def _scope(self, entry: Node) -> Scope:
        return {**self.engine.variables(), **self._variables(entry)}
