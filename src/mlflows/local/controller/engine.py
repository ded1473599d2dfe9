"""The controller's ``executeTemplate``, played with threads and local processes.

One call of :meth:`Engine.execute` runs one template invocation to its end and returns its node:
resolve its template (:mod:`mlflows.local.spec.templates`), bind the inputs and substitute
``{{...}}``, hold the template's mutexes and semaphores
(:mod:`mlflows.local.controller.sync`), consult the memo cache, then run the body (a process, a
resource, a DAG, steps or a suspend) — under ``retryStrategy`` as numbered attempts below a Retry
node — and the call's hooks (:mod:`mlflows.local.controller.hooks`). DAG and steps bodies start
their children on threads (:mod:`mlflows.local.controller.dag`,
:mod:`mlflows.local.controller.steps`); pods wait for one of the run's ``parallelism`` slots
(:mod:`mlflows.local.controller.parallelism`). Stopping (the workflow deadline, Ctrl-C, SIGTERM or
SIGHUP) sets :attr:`Engine.stop`: processes are killed,
nothing new starts, and the nodes fail with the reason.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from mlflows.duration import parse_go_duration, parse_seconds_or_duration
from mlflows.errors import UserError
from mlflows.local.cluster.objects import ObjectStore
from mlflows.local.cluster.requests import ResourceRequest
from mlflows.local.controller import artifacts, container_set, runtime_globals
from mlflows.local.controller.calls import POLL_SECONDS, Call, NotRun
from mlflows.local.controller.daemons import Daemons, is_daemon
from mlflows.local.controller.dag import DagRun
from mlflows.local.controller.depth import MAX_DEPTH_MESSAGE, CallDepths
from mlflows.local.controller.hooks import WorkflowHooks, run_hooked
from mlflows.local.controller.memo import InvalidCacheKey, MemoCache
from mlflows.local.controller.nodes import (
    Node,
    NodeStore,
    NodeType,
    Outputs,
    Phase,
    file_name,
)
from mlflows.local.controller.parallelism import PodSlots, pods_of
from mlflows.local.controller.retry import RetryRule
from mlflows.local.controller.scope import (
    POD_KINDS,
    attempt_keys,
    called_as,
    inputs_scope,
    node_keys,
    pod_keys,
)
from mlflows.local.controller.steps import StepsRun
from mlflows.local.controller.stop import StopEvent
from mlflows.local.controller.sync import Locks, lock_refs
from mlflows.local.controller.termination import with_log_cause
from mlflows.local.executor import claims
from mlflows.local.executor.http import run_http
from mlflows.local.executor.pod import HOST_NODE_NAME, PodResult, run_pod
from mlflows.local.executor.volumes import VolumeStore
from mlflows.local.lang import keys
from mlflows.local.lang.leftover_tags import refused_leftover
from mlflows.local.lang.templating import (
    ABSENT,
    STRICT_PREFIXES,
    Scope,
    UnresolvedReference,
    argo_string,
    substitute,
)

if TYPE_CHECKING:
    from mlflows.local.cluster.configmaps import ConfigMaps
    from mlflows.local.controller.prior import Prior
    from mlflows.local.spec.templates import TemplateBase, TemplateStore

NODE_TYPES = {
    **dict.fromkeys(POD_KINDS, NodeType.POD),
    "dag": NodeType.DAG,
    "steps": NodeType.STEPS,
    "suspend": NodeType.SUSPEND,
    "http": NodeType.HTTP,
}
WORKFLOW_PHASES = {
    Phase.SUCCEEDED: Phase.SUCCEEDED,
    Phase.SKIPPED: Phase.SUCCEEDED,
    Phase.OMITTED: Phase.SUCCEEDED,
    Phase.FAILED: Phase.FAILED,
    Phase.ERROR: Phase.ERROR,
}
DEADLINE_MESSAGE = "Pod was active on the node longer than the specified deadline"


def template_kind(template: dict) -> str:
    return next(kind for kind in NODE_TYPES if kind in template)


def suspend_outputs(template: dict) -> Outputs:
    """A suspend's output parameters that have a ``valueFrom.default`` (operator.go
    executeSuspend): locally no one resumes it to supply others, so those are all it gives."""
    parameters = {
        param["name"]: argo_string(param["valueFrom"]["default"])
        for param in (template.get("outputs") or {}).get("parameters") or []
        if (param.get("valueFrom") or {}).get("default") is not None
    }
    return Outputs(parameters=parameters)


class InputError(Exception):
    """An input parameter without a value."""


class NodeError(Exception):
    """A value of the substituted template that the node cannot use: it ends Error with this."""


def _seconds(field: str, value) -> float:
    """A duration of the substituted template (validate checked it only if it had no tag)."""
    try:
        return parse_seconds_or_duration(value)
    except ValueError as err:
        raise NodeError(f"{field}: {err}") from None


def bind_inputs(
    template: dict, arguments: list[dict], globals_: Scope, config_maps: ConfigMaps | None = None
) -> dict[str, str]:
    """Argo's ProcessArgs: each input from its argument, else its ConfigMap, value or default."""
    supplied = {arg["name"]: arg.get("value") for arg in arguments if "artifact" not in arg}
    inputs = {}
    for param in (template.get("inputs") or {}).get("parameters") or []:
        name = param["name"]
        value = param.get("value", param.get("default"))
        argument = supplied.get(name)
        value_from = param.get("valueFrom")
        if argument is ABSENT and value is None and value_from is None:
            raise InputError(
                f"inputs.parameters.{name}: argument references an absent optional "
                "(skipped/omitted node output with no default)"
            )
        if argument is not None and argument is not ABSENT:
            value = argument
        elif value_from is not None and config_maps is not None:
            value = config_maps.input_value(name, value_from, globals_)
        if value is None:
            raise InputError(f"inputs.parameters.{name} was not supplied")
        value = substitute(argo_string(value), globals_)
        enum = [argo_string(option) for option in param.get("enum") or []]
        if enum and value not in enum:
            raise InputError(f"inputs.parameters.{name}: {value!r} is not one of {enum}")
        inputs[name] = value
    return inputs


class Engine:
    def __init__(
        self,
        workflow: dict,
        *,
        templates: TemplateStore,
        globals_: Scope,
        arguments: list[dict],
        run_dir: Path,
        volumes: VolumeStore,
        memo: MemoCache,
        cluster,
        pod_slots: PodSlots | None,
        on_change: Callable[[Node], None],
        config_maps: ConfigMaps | None = None,
        prior: Prior | None = None,
    ):
        self.spec = workflow["spec"]
        self.prior = prior  # nodes an earlier run settled, for a retry or resubmit to keep
        self.name = globals_[keys.WORKFLOW_NAME()]
        self.namespace = globals_[keys.WORKFLOW_NAMESPACE()]
        self.store = templates
        self.config_maps = config_maps
        self.globals = dict(globals_)
        self.started_at = time.time()  # the workflow's status.startedAt, once run() starts
        self.nodes = NodeStore(self.name, on_change)
        self.depths = CallDepths(self.nodes)
        self.run_dir = run_dir
        self.volumes = volumes
        self.memo = memo
        self.cluster = cluster
        self.pod_slots = pod_slots  # the run's parallelism, checked against its TFJobs
        self.daemons = Daemons(self)
        self.workflow_volumes = [
            *(self.spec.get("volumes") or []),
            *claims.claim_volumes(self.spec, self.name),
        ]
        self.locks = Locks(config_maps.objects if config_maps else ObjectStore(self.namespace))
        self.arguments = arguments
        self.stop = StopEvent()
        self.stop_message = ""
        self.interrupted: KeyboardInterrupt | None = None  # Ctrl-C, or SIGTERM/SIGHUP
        self._main_done = threading.Event()

    def run(self) -> tuple[str, str]:
        """Run the workflow to its end; its phase and message.

        The workflow runs on a worker thread while this one watches ``activeDeadlineSeconds``
        and Ctrl-C; either stops the run, which still ends normally (``interrupted`` tells).
        """
        started = self.started_at = time.time()
        outcome: dict = {}
        done = threading.Event()  # not Thread.join: after a Ctrl-C inside join, join lies

        def main() -> None:
            try:
                outcome["result"] = self._run_workflow()
            except BaseException as err:  # re-raised on the caller's thread
                outcome["error"] = err
            finally:
                done.set()

        threading.Thread(target=main, name="workflow", daemon=True).start()
        seconds = self.spec.get("activeDeadlineSeconds")
        deadline = started + float(seconds) if seconds is not None else None
        try:
            while not done.wait(POLL_SECONDS * 2):
                past_deadline = deadline is not None and time.time() >= deadline
                if past_deadline and not self._main_done.is_set() and not self.stop.is_set():
                    self.halt("Step exceeded its deadline")
        except KeyboardInterrupt as interruption:
            self.interrupted = interruption
            self.halt(str(interruption) or "interrupted")
            done.wait()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["result"]

    def _run_workflow(self) -> tuple[str, str]:
        refs = lock_refs(self.spec.get("synchronization"), self.namespace)
        with self.locks.held_by_workflow(refs, self.name):  # released once the run ends
            hooks = WorkflowHooks(self, WORKFLOW_PHASES)
            entrypoint = {"template": self.spec["entrypoint"]}
            entry = hooks.run_entry(Call(self.name, self.name, entrypoint, self.arguments))
            self.daemons.end_all()  # an entrypoint that is a daemon: the workflow is its boundary
            self._main_done.set()
            phase, message = WORKFLOW_PHASES[entry.phase], entry.message
            if hooks.exit is not None and not self.interrupted:
                # the exit handler runs even past the deadline, as in Argo
                self.stop = StopEvent()
                handler = hooks.run_exit()
                self.daemons.end_all()
                if phase == Phase.SUCCEEDED and handler.phase.failed_or_error:
                    phase, message = handler.phase, handler.message
        claims.collect(self.volumes, self.spec, self.name, phase == Phase.SUCCEEDED)
        return str(phase), message

    def variables(self) -> Scope:
        """The globals with ``workflow.status`` and ``workflow.duration`` as of now."""
        return {**self.globals, **runtime_globals.running(self.started_at, self.globals)}

    def halt(self, message: str) -> None:
        """Stop the run: kill processes, start nothing new, fail what runs with ``message``."""
        self.stop_message = message
        self.stop.set()

    def log_path(self, node: Node) -> Path:
        return self.run_dir / "logs" / f"{file_name(node.name)}.log"

    def finish(self, node: Node, phase: Phase, message: str = "", **changes) -> Node:
        return self.nodes.update(node, phase=phase, message=message, **changes)

    # -- one invocation ---------------------------------------------------------------------

    def execute(self, call: Call) -> Node:
        if self.prior is not None and (kept := self.prior.restore(self, call)) is not None:
            return kept
        template = self.template_for(call.holder, call.boundary_id)
        if call.holder.get("inline") is not None:
            try:  # Argo substitutes the whole task or step (resolveDependencyReferences)
                template = substitute(template, call.scope, STRICT_PREFIXES)
            except UnresolvedReference as err:
                return self.not_run(call, NotRun(Phase.ERROR, str(err)))
        if "retryStrategy" not in template and self.spec.get("retryStrategy") is not None:
            # operator.go retryStrategy(): the workflow's is every template's default
            template = {**template, "retryStrategy": self.spec["retryStrategy"]}
        kind = template_kind(template)
        node_type = NodeType.RETRY if "retryStrategy" in template else NODE_TYPES[kind]
        node = self._call_node(call, node_type)
        if self.depths.enter(node, call.parent):
            body = partial(self._guarded, node, self._execute, node, template, call)
        else:  # Argo's ErrMaxDepthExceeded: the node errs without running; its hooks still see it
            body = partial(self.finish, node, Phase.ERROR, MAX_DEPTH_MESSAGE)
        run_hooked(self, call, node, body)
        return node

    def template_for(self, holder: dict, boundary_id: str | None) -> dict:
        """The template a task, step or hook inside ``boundary_id``'s node calls."""
        return self.store.resolve(holder, self.base_of(boundary_id))[1]

    def base_of(self, boundary_id: str | None) -> TemplateBase:
        """Where names resolve inside a node (the workflow's, outside every node)."""
        boundary = self.nodes.get(boundary_id) if boundary_id else None
        if boundary is None:
            return self.store.local
        return self.store.inner_base(boundary.template_scope, boundary.template_ref)

    def not_run(self, call: Call, decided: NotRun) -> Node:
        """The node of a task or step decided without running (Omitted, Skipped, ...)."""
        node = self._call_node(call, NodeType.SKIPPED, phase=decided.phase, message=decided.message)
        run_hooked(self, call, node, lambda: None)  # its hooks see it Skipped or Omitted
        return node

    def _call_node(self, call: Call, node_type: NodeType, **fields) -> Node:
        node = self.nodes.create(
            call.name,
            display_name=call.display_name,
            type=node_type,
            template_name=call.template,
            boundary_id=call.boundary_id,
            parent_id=call.parent.id if call.parent else None,
            template_scope=self.base_of(call.boundary_id).label,
            template_ref=call.holder.get("templateRef"),
            hooked=call.hooked,
            **fields,
        )
        for before in call.after:
            self.nodes.link(before, node)
        return node

    def _guarded(self, node: Node, run: Callable[..., None], *args) -> None:
        """``run(*args)``, the work of ``node``; an exception ends that node, never the run: a
        NodeError or UserError as Error with its message, anything else as an internal error whose
        traceback goes to the node's log."""
        try:
            run(*args)
        except (NodeError, UserError) as err:
            self.finish(node, Phase.ERROR, str(err))
        except Exception as err:  # a bug here must fail one node, not hang the run
            self.log_path(node).parent.mkdir(parents=True, exist_ok=True)
            self.log_path(node).write_text(traceback.format_exc())
            self.finish(node, Phase.ERROR, f"internal error in the local runner: {err!r}")

    def _execute(self, node: Node, template: dict, call: Call) -> None:
        variables = self.variables()  # as setGlobalRuntimeParameters left them, now
        try:
            inputs = bind_inputs(template, call.arguments, variables, self.config_maps)
            given = call.arguments + (self._workflow_artifacts() if call.parent is None else [])
            bound = artifacts.bind_inputs(template, given, {**variables, **inputs_scope(inputs)})
            scope = {
                **variables,
                **called_as(call.local),
                **inputs_scope(inputs),
                **bound.scope(),
                **artifacts.output_paths(template),
                **node_keys(self.name, node, template),
            }
            processed = substitute(template, scope)
            kind = template_kind(template)
            if NODE_TYPES[kind] in (NodeType.POD, NodeType.HTTP):  # lint: leftovers it refuses
                later = pod_keys(self.name, node, template) if kind in POD_KINDS else {}
                fields = {key: template.get(key) for key in (kind, "outputs")}
                refused = refused_leftover(fields, {**scope, **later})  # pod.name: each attempt's
                if refused:
                    raise UnresolvedReference(refused)
            # as Argo's ProcessArgs leaves it: each input holds its value, for outputs to read
            processed["inputs"] = {
                "parameters": [{"name": name, "value": value} for name, value in inputs.items()],
                "artifacts": substitute([art for art, _ in bound.artifacts.values()], scope),
            }
        except (InputError, UnresolvedReference, artifacts.ArtifactError) as err:
            self.finish(node, Phase.ERROR, str(err))
            return
        self.nodes.update(node, inputs=inputs)
        if self.stop.is_set():
            self.finish(node, Phase.FAILED, self.stop_message)
            return
        refs = lock_refs(processed.get("synchronization"), self.namespace)
        with self.locks.holding(refs, node, self.nodes, self.stop) as held:
            if not held:
                self.finish(node, Phase.FAILED, self.stop_message)
                return
            if "memoize" in processed and self._memo_settled(node, processed["memoize"]):
                return
            if "retryStrategy" in processed:
                self._retry(node, processed, scope)
            else:
                self._run_body(node, processed)
            if node.outputs is not None:  # Argo's addOutputsToGlobalScope: globalName outputs
                outputs = node.outputs
                self.globals.update(
                    artifacts.global_outputs(processed, outputs.parameters, outputs.artifacts)
                )
            if node.memoization is not None and node.phase == Phase.SUCCEEDED:
                memoize = processed["memoize"]
                self.memo.save(
                    memoize["cache"]["configMap"]["name"],
                    memoize["key"],
                    node.id,
                    node.outputs or Outputs(),
                )

    def _workflow_artifacts(self) -> list[dict]:
        """``spec.arguments.artifacts``, for the entrypoint (and an exit handler) to bind."""
        return artifacts.argument_artifacts(self.spec, self.variables(), ())

    def _pod_artifacts(self, node: Node, template: dict) -> artifacts.PodArtifacts:
        pod_name = pod_keys(self.name, node, template)[keys.POD_NAME()]
        inputs = (template.get("inputs") or {}).get("artifacts") or []
        return artifacts.PodArtifacts(
            artifacts.Repository(self.run_dir.parent.parent / "artifacts"),  # <work-dir>/artifacts
            f"{self.name}/{pod_name}",
            [(art, artifacts.source_of(f"inputs.artifacts.{art['name']}", art)) for art in inputs],
            (template.get("outputs") or {}).get("artifacts") or [],
        )

    def _run_body(self, node: Node, template: dict, deadline: float | None = None) -> None:
        kind = template_kind(template)
        if kind == "dag":
            DagRun(self, node, template).run()
            self.daemons.end(node.id)
        elif kind == "steps":
            StepsRun(self, node, template).run()
            self.daemons.end(node.id)
        elif kind == "suspend":
            self._suspend(node, template)
        elif kind == "http":
            self._http(node, template)
        else:
            self._run_pod(node, template, kind, deadline)

    # -- memoization --------------------------------------------------

    def _memo_settled(self, node: Node, memoize: dict) -> bool:
        """Look the node up in the memo cache; True if that settled it (a hit, or a bad key)."""
        cache_name, key = memoize["cache"]["configMap"]["name"], memoize["key"]
        try:
            max_age = parse_go_duration(memoize["maxAge"]) if memoize.get("maxAge") else None
            entry = self.memo.load(cache_name, key)
        except (InvalidCacheKey, ValueError) as err:
            self.finish(node, "Error", str(err))
            return True
        status = {"hit": False, "key": key, "cacheName": cache_name}
        if entry is not None and (max_age is None or time.time() - entry.created_at <= max_age):
            self.finish(
                node, "Succeeded", outputs=entry.outputs, memoization={**status, "hit": True}
            )
            return True
        self.nodes.update(node, memoization=status)
        return False

    # -- retries ----------------------------------------------------------------------------

    def _retry(self, node: Node, template: dict, scope: Scope) -> None:
        """Argo's processNodeRetries: attempts ``<node>(n)`` until one succeeds or a rule stops."""
        try:
            rule = RetryRule.read(template["retryStrategy"])
        except ValueError as err:
            raise NodeError(str(err)) from None
        self.nodes.update(node, phase="Running")
        attempts: list[Node] = []
        max_deadline = None
        while True:
            number = len(attempts)
            attempt = self.nodes.create(
                f"{node.name}({number})",
                display_name=f"{node.display_name}({number})",
                type=NODE_TYPES[template_kind(template)],
                template_name=node.template_name,
                boundary_id=node.boundary_id,
                parent_id=node.id,
                template_scope=node.template_scope,
                template_ref=node.template_ref,
            )
            self.nodes.link(node, attempt)
            if rule.max_duration is not None and max_deadline is None:
                max_deadline = attempt.started_at + rule.max_duration
            # the whole scope again: an expression may read retries beside other variables
            body = substitute(
                template, {**scope, **attempt_keys(self.name, attempt, template, number)}
            )
            self._guarded(attempt, self._run_body, attempt, body, max_deadline)
            attempts.append(attempt)
            stopped = self.stop_message if self.stop.is_set() else None
            verdict = rule.verdict(attempts, max_deadline, stopped)
            if isinstance(verdict, tuple):
                last = {"outputs": attempt.outputs, "host_node_name": attempt.host_node_name}
                self.finish(node, verdict[0], verdict[1], **last)
                return
            if self.stop.wait(verdict):
                last = {"outputs": attempt.outputs, "host_node_name": attempt.host_node_name}
                self.finish(node, attempt.phase, self.stop_message, **last)
                return

    # -- leaves -----------------------------------------------------------------------------

    @contextmanager
    def _cancellation(self, deadline: float | None) -> Iterator[StopEvent]:
        """An event set when the run stops or ``deadline`` passes, while the block runs."""
        if deadline is None:  # the run's own stop event says it all
            yield self.stop
            return
        cancel = StopEvent()
        timer = threading.Timer(max(0.0, deadline - time.time()), cancel.set)
        timer.daemon = True
        timer.start()
        try:
            with self.stop.listening(cancel.set):
                yield cancel
        finally:
            timer.cancel()

    def _take_slots(self, node: Node, pods: int) -> bool:
        """Take the node's parallelism slots, showing that it waits; False if stopped first."""
        if self.pod_slots.take_now(pods):
            return True
        self.nodes.update(node, message="Waiting for a parallelism slot")
        taken = self.pod_slots.take(pods, self.stop)
        if taken:
            self.nodes.update(node, message="")
        return taken

    def _run_pod(self, node: Node, template: dict, kind: str, deadline: float | None) -> None:
        limits = [deadline] + [
            node.started_at + _seconds(field, template[field])
            for field in ("timeout", "activeDeadlineSeconds")
            if template.get(field) is not None
        ]
        node_deadline = min((limit for limit in limits if limit is not None), default=None)
        pods = pods_of(template)
        if self.pod_slots is not None and pods > self.pod_slots.size:
            self.finish(node, "Error", self.pod_slots.refusal(pods))
            return
        if self.pod_slots is not None and not self._take_slots(node, pods):
            self.finish(node, "Failed", self.stop_message)
            return
        try:
            self.nodes.update(node, phase="Running", host_node_name=HOST_NODE_NAME)

            def reason() -> str:
                passed = node_deadline is not None and time.time() >= node_deadline
                return DEADLINE_MESSAGE if passed and not self.stop.is_set() else self.stop_message

            with self._cancellation(node_deadline) as cancel:
                if kind == "resource":
                    result = self._run_resource(node, template, cancel, reason)
                elif kind == container_set.KIND:
                    container = partial(
                        run_pod,
                        volumes=self.volumes,
                        workflow_volumes=self.spec.get("volumes") or [],
                        cancel_reason=reason,
                        pod_dir=self.run_dir / "nodes" / file_name(node.name),
                    )
                    result = container_set.run_container_set(
                        self,
                        node,
                        template,
                        cancel,
                        lambda own, child, stop: container(  # each its own scratch: its /tmp
                            own,
                            scratch=self.run_dir / "nodes" / file_name(child.name),
                            log_path=self.log_path(child),
                            cancel=stop,
                        ),
                    )
                else:
                    pod = partial(
                        run_pod,
                        template,
                        volumes=self.volumes,
                        workflow_volumes=self.workflow_volumes,
                        scratch=self.run_dir / "nodes" / file_name(node.name),
                        log_path=self.log_path(node),
                        cancel_reason=reason,
                        artifacts=self._pod_artifacts(node, template),
                    )
                    if is_daemon(template):
                        result = self.daemons.run(
                            node,
                            template[kind],
                            lambda stop, started: pod(cancel=stop, on_started=started),
                        )
                    else:
                        result = pod(cancel=cancel)
                    if result.phase == "Failed" and not cancel.is_set():
                        result.message = with_log_cause(result.message, self.log_path(node))
        finally:
            if self.pod_slots is not None:
                self.pod_slots.give(pods)
        self.finish(node, result.phase, result.message, outputs=result.outputs)

    def _run_resource(self, node: Node, template: dict, cancel: StopEvent, reason) -> PodResult:
        resource = template["resource"]
        try:
            manifest = yaml.safe_load(resource.get("manifest") or "")
        except yaml.YAMLError as err:
            return PodResult("Error", f"resource.manifest is not valid YAML: {err}", Outputs())
        request = ResourceRequest(
            node_name=file_name(node.name),
            action=resource["action"],
            manifest=manifest,
            success_condition=resource.get("successCondition"),
            failure_condition=resource.get("failureCondition"),
            output_parameters=(template.get("outputs") or {}).get("parameters") or [],
        )
        result = self.cluster.execute(request, cancel, self.log_path(node))
        message = reason() if cancel.is_set() and result.phase != "Succeeded" else result.message
        return PodResult(result.phase, message, Outputs(parameters=dict(result.outputs)))

    def _http(self, node: Node, template: dict) -> None:
        self.nodes.update(node, phase="Running")
        phase, message, outputs = run_http(template["http"], self.stop, lambda: self.stop_message)
        self.finish(node, phase, message, outputs=outputs)

    def _suspend(self, node: Node, template: dict) -> None:
        seconds = _seconds("suspend.duration", template["suspend"]["duration"])
        self.nodes.update(node, phase="Running")
        if self.stop.wait(seconds):
            self.finish(node, "Failed", self.stop_message)
        else:
            self.finish(node, "Succeeded", outputs=suspend_outputs(template))
