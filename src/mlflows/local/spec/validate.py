"""Everything the runner refuses, checked before anything runs.

Each field of a workflow is either run with Argo's meaning, ignored because it only matters to a
cluster (scheduling, service accounts, images, pod metadata), or refused here with one line naming
the template and the feature. Unknown fields are refused too: a misspelt or newer field is never
silently dropped. Also checked up front, like ``argo lint``: names, as Kubernetes and Argo accept
them (:mod:`mlflows.local.spec.names`), before any becomes a folder; template and task references,
DAG cycles, ``depends`` names, required inputs, volume mounts and static durations; and the shape
of what the runner reads (a mapping or list where Argo has one, a ``name`` where it needs one), so
a malformed file is one line, never a traceback or a failed node.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlflows.duration import parse_go_duration, parse_seconds_or_duration
from mlflows.errors import UserError
from mlflows.local.cluster.configmaps import KEY_REF_IGNORED, KEY_REF_RUN, VALUE_FROM_RUN
from mlflows.local.controller import artifacts, container_set, retry, sync
from mlflows.local.controller.hooks import EXIT, HOOK_FIELDS, check_expression
from mlflows.local.controller.loops import LOOP_FIELDS, check_loop, is_loop
from mlflows.local.executor import claims, http, object_volumes, sidecars
from mlflows.local.executor.probes import check_probe
from mlflows.local.executor.process import check_container
from mlflows.local.lang import expression_tags, exprlang
from mlflows.local.lang.exprlang import ExprError
from mlflows.local.lang.templating import TAG, unresolved_tags
from mlflows.local.spec.ancestry import (
    ITEM_RESULTS,
    TASK_RESULTS,
    named_results,
    task_dependencies,
)
from mlflows.local.spec.fields import (
    check_duration,
    check_fields,
    check_integer,
    expression_problem,
    items,
    mapping,
    named,
    refuse,
)
from mlflows.local.spec.names import (
    check_field_name,
    check_field_names,
    check_label,
    check_object_name,
    check_sub_path,
    check_workflow_name,
)

if TYPE_CHECKING:
    from mlflows.local.cluster.configmaps import ConfigMaps
    from mlflows.local.spec.templates import Reached, TemplateStore

SPEC_RUN = {
    "entrypoint",
    "arguments",
    "templates",
    "templateDefaults",
    "onExit",
    "hooks",
    "parallelism",
    "activeDeadlineSeconds",
    "volumes",
    "synchronization",
    "retryStrategy",
    "volumeClaimTemplates",
    "volumeClaimGC",
}
SPEC_IGNORED = {
    "serviceAccountName",
    "automountServiceAccountToken",
    "executor",
    "podGC",
    "ttlStrategy",
    "nodeSelector",
    "affinity",
    "tolerations",
    "imagePullSecrets",
    "securityContext",
    "podMetadata",
    "podPriorityClassName",
    "priority",
    "schedulerName",
    "hostNetwork",
    "dnsPolicy",
    "dnsConfig",
    "hostAliases",
    "podDisruptionBudget",
    "podSpecPatch",
    "podResources",
    "archiveLogs",
    "artifactRepositoryRef",
    "artifactGC",
    "metrics",
    "workflowMetadata",
}
TEMPLATE_RUN = {
    "name",
    "inputs",
    "outputs",
    "container",
    "script",
    "resource",
    "dag",
    "steps",
    "suspend",
    "http",
    "volumes",
    "activeDeadlineSeconds",
    "retryStrategy",
    "parallelism",
    "synchronization",
    "memoize",
    "timeout",
    "failFast",
    *sidecars.FIELDS,
    "daemon",
    container_set.KIND,
}
TEMPLATE_IGNORED = {
    "metadata",
    "nodeSelector",
    "affinity",
    "tolerations",
    "schedulerName",
    "priorityClassName",
    "serviceAccountName",
    "automountServiceAccountToken",
    "securityContext",
    "podSpecPatch",
    "hostAliases",
    "executor",
    "archiveLocation",
    "annotations",
    "metrics",
    "pendingTimeout",
    "podResources",
    "resourceClaims",
}
TEMPLATE_TYPES = (
    "container",
    "script",
    "resource",
    "dag",
    "steps",
    "suspend",
    "http",
    container_set.KIND,
)
CONTAINER_RUN = {"name", "image", "command", "args", "env", "workingDir", "volumeMounts"}
CONTAINER_IGNORED = {
    "imagePullPolicy",
    "resources",
    "securityContext",
    "ports",
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
    "lifecycle",
    "terminationMessagePath",
    "terminationMessagePolicy",
    "stdin",
    "stdinOnce",
    "tty",
}
CALL = {"template", "templateRef", "inline", "arguments", "hooks", "onExit"}
TASK_RUN = CALL | {"name", "dependencies", "depends", "when", "continueOn", *LOOP_FIELDS}
STEP_RUN = CALL | {"name", "when", "continueOn", *LOOP_FIELDS}
PARAMETER_FIELDS = {"name", "value", "default", "description", "enum", "valueFrom"}
VOLUME_MOUNT_RUN = {"name", "mountPath", "subPath"}
VOLUME_MOUNT_IGNORED = {"readOnly", "mountPropagation", "recursiveReadOnly"}


@dataclass(frozen=True)
class _Calls:
    """What checking a call needs: its template by holder, and the workflow's arguments (an
    exit handler without arguments of its own takes them)."""

    resolve: Callable[[dict, str], dict]
    workflow_arguments: dict
    config_maps: ConfigMaps
    workflow_locks: list[sync.LockRef]


def check_document(workflow: dict) -> None:
    """A Workflow, with metadata the runner can read its name and namespace from."""
    if workflow.get("kind", "Workflow") != "Workflow":
        raise UserError(f"kind {workflow.get('kind')!r}: the local runner runs kind: Workflow")
    metadata = mapping("metadata", workflow.get("metadata"))
    check_workflow_name(metadata)
    if metadata.get("namespace") is not None:
        check_label("metadata.namespace", metadata["namespace"])
    for field in ("labels", "annotations"):
        mapping(f"metadata.{field}", metadata.get(field))


def validate_workflow(workflow: dict, store: TemplateStore, config_maps: ConfigMaps) -> None:
    """Raise UserError (one line) for the first thing this runner cannot do as Argo would.

    ``workflow`` is the store's (its spec joined with a workflowTemplateRef's); every template
    the run can reach is checked, a WorkflowTemplate's too.
    """
    check_document(workflow)
    spec = check_fields("spec", workflow.get("spec"), SPEC_RUN, SPEC_IGNORED)
    if not spec.get("entrypoint"):
        raise UserError("spec.entrypoint is missing; name the template to start with")
    reached = store.reached()
    config_maps.expect_writers([r.template for r in reached])
    for field in ("parallelism", "activeDeadlineSeconds"):
        value = spec.get(field)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 0
        ):
            raise UserError(f"spec.{field}: give a whole number, not {value!r}")
    arguments = check_fields("spec.arguments", spec.get("arguments"), {"parameters", "artifacts"})
    artifacts.check_arguments("spec.arguments", arguments)
    retry.check("spec.retryStrategy", spec.get("retryStrategy"))
    workflow_locks = []
    if "synchronization" in spec:
        objects, namespace = config_maps.objects, config_maps.namespace
        workflow_locks = sync.check("spec", spec["synchronization"], objects, namespace, set())
    for param in named("spec.arguments.parameters", arguments.get("parameters"), PARAMETER_FIELDS):
        _check_value_from(f"spec.arguments.parameters[{param['name']}]", param)
    workflow_volumes = named("spec.volumes", spec.get("volumes"), None)
    for volume in workflow_volumes:
        _check_volume("spec", volume, config_maps)
    workflow_volumes = workflow_volumes + claims.check(spec)
    for template in reached:  # first, as every invocation of a template reads its inputs
        _check_inputs(template.where, template.template.get("inputs"))
    local = _Calls(
        lambda holder, where: store.resolve(holder, store.local, where)[1],
        arguments,
        config_maps,
        workflow_locks,
    )
    for name, hook in _check_hooks("spec.hooks", spec.get("hooks")).items():
        _check_invocation(f"spec.hooks.{name}", hook, HOOK_FIELDS, local, exit_handler=name == EXIT)
    for template in reached:
        calls = _Calls(
            lambda holder, where, base=template.base: store.resolve(holder, base, where)[1],
            arguments,
            config_maps,
            workflow_locks,
        )
        _check_template(template.where, template.template, calls, workflow_volumes)
    _check_expression_tags(workflow, reached)
    entry = local.resolve({"template": spec["entrypoint"]}, "spec.entrypoint")
    _check_inputs_supplied("spec.arguments", entry, arguments, config_maps)


def _check_template(
    where: str, template: dict, calls: _Calls, workflow_volumes: list[dict]
) -> None:
    check_fields(where, template, TEMPLATE_RUN, TEMPLATE_IGNORED)
    kinds = [kind for kind in TEMPLATE_TYPES if kind in template]
    if len(kinds) != 1:
        raise UserError(f"{where}: needs exactly one of {', '.join(TEMPLATE_TYPES)}")
    kind = kinds[0]
    _check_outputs(where, kind, template.get("outputs"))
    volumes = named(f"{where}: volumes", template.get("volumes"), None)
    for volume in volumes:
        _check_volume(where, volume, calls.config_maps)
    if kind in ("container", "script"):
        _check_container(where, kind, template[kind], workflow_volumes + volumes)
    elif kind == "dag":
        _check_dag(where, template["dag"], calls)
    elif kind == "steps":
        _check_steps(where, template["steps"], calls)
    elif kind == "suspend":
        _check_suspend(where, template["suspend"])
    elif kind == "http":
        http.check(where, template["http"])
    elif kind == container_set.KIND:
        _check_container_set(where, template[kind], workflow_volumes + volumes)
    if "daemon" in template:
        if not isinstance(template["daemon"], bool):
            raise UserError(f"{where}: daemon must be true or false")
        if kind not in ("container", "script"):
            raise refuse(where, f"daemon on a {kind} template", "make it a container or script")
        check_probe(f"{where}: {kind}", template[kind])
    for field in sidecars.FIELDS if kind == container_set.KIND else ():
        if template.get(field):
            raise refuse(where, f"{field} on a containerSet template")
    for field in sidecars.FIELDS if kind in ("container", "script") else ():  # shape pods only
        for container in named(f"{where}: {field}", template.get(field), None):
            _check_container(
                where, f"{field}[{container['name']}]", container, workflow_volumes + volumes
            )
    if kind not in ("container", "script", "resource", container_set.KIND):
        for field in ("timeout", "activeDeadlineSeconds"):
            if field in template:
                raise refuse(
                    where,
                    f"{field} on a {kind} template",
                    "Argo applies it to pods only; set it on the container templates",
                )
    for field in ("timeout", "activeDeadlineSeconds"):
        check_duration(where, field, template.get(field), parse_seconds_or_duration)
    retry.check(where, template.get("retryStrategy"))
    check_integer(where, "parallelism", template.get("parallelism"))
    if not isinstance(template.get("failFast", False), bool):
        raise UserError(f"{where}: failFast must be true or false")
    _check_memoize(where, template.get("memoize"))
    if "synchronization" in template:
        objects, namespace = calls.config_maps.objects, calls.config_maps.namespace
        held = {lock.label for lock in calls.workflow_locks}
        sync.check(where, template["synchronization"], objects, namespace, held)


def _check_inputs(where: str, inputs) -> None:
    inputs = check_fields(f"{where}: inputs", inputs, {"parameters", "artifacts"})
    artifacts.check_template_inputs(where, inputs)
    for param in named(f"{where}: inputs.parameters", inputs.get("parameters"), PARAMETER_FIELDS):
        _check_value_from(f"{where}: inputs.parameters[{param['name']}]", param)


def _check_value_from(where: str, param: dict) -> None:
    """An input's or workflow argument's ``valueFrom``: a ConfigMap key (cluster.configmaps)."""
    if "valueFrom" not in param:
        return
    value_from = check_fields(f"{where}.valueFrom", param["valueFrom"], VALUE_FROM_RUN)
    if "configMapKeyRef" not in value_from:
        raise UserError(
            f"{where}: 'valueFrom' needs configMapKeyRef (the local runner reads parameters from "
            "ConfigMaps given with --apply)"
        )
    ref = check_fields(
        f"{where}.valueFrom.configMapKeyRef",
        value_from["configMapKeyRef"],
        KEY_REF_RUN,
        KEY_REF_IGNORED,
    )
    for field in ("name", "key"):
        if not isinstance(ref.get(field), str) or not ref[field]:
            raise UserError(f"{where}.valueFrom.configMapKeyRef needs a {field}")


def _check_outputs(where: str, kind: str, outputs) -> None:
    outputs = check_fields(
        f"{where}: outputs", outputs, {"parameters", "result", "exitCode", "artifacts"}
    )
    artifacts.check_template_outputs(where, kind, outputs)
    allowed = {
        "container": {"path", "default"},
        "script": {"path", "default"},
        container_set.KIND: {"path", "default"},
        "dag": {"parameter", "expression", "default"},
        "steps": {"parameter", "expression", "default"},
        "resource": {"jsonPath", "jqFilter", "default"},
        "suspend": {"supplied", "default"},
        "http": set(),  # its result is the body  # supplied: by whoever resumes it
    }[kind]
    declared = named(
        f"{where}: outputs.parameters",
        outputs.get("parameters"),
        {"name", "valueFrom", "description", "globalName"},
    )
    for param in declared:
        here = f"{where}: outputs.parameters[{param['name']}]"
        value_from = check_fields(here + ".valueFrom", param.get("valueFrom"), allowed)
        sources = sorted(set(value_from) - {"default"})
        if not sources:
            raise UserError(
                f"{here}: needs valueFrom.{' or valueFrom.'.join(sorted(allowed - {'default'}))}"
            )
        if len(sources) > 1:
            raise UserError(f"{here}: give one of valueFrom.{' and valueFrom.'.join(sources)}")
        expression = value_from.get("expression")
        if expression is not None and not TAG.search(str(expression)):
            try:
                exprlang.check(str(expression))
            except ExprError as err:
                short = expression_tags.short(str(expression))
                raise expression_problem(f"{here}.valueFrom.expression '{short}'", err) from None


def _check_container(where: str, kind: str, container, volumes: list[dict]) -> None:
    run = CONTAINER_RUN | (
        {"source"}
        if kind == "script"
        else {"dependencies"}
        if kind.startswith(container_set.KIND)
        else {sidecars.MIRROR}
        if "[" in kind
        else set()
    )
    here = f"{where}: {kind}"
    container = check_fields(here, container, run, CONTAINER_IGNORED)
    for field in ("command", "args"):
        items(f"{here}.{field}", container.get(field))
    named(f"{here}.env", container.get("env"), {"name", "value", "valueFrom"})
    check_container(container, here)
    names = {volume["name"] for volume in volumes}
    mounts = named(
        f"{here}.volumeMounts",
        container.get("volumeMounts"),
        VOLUME_MOUNT_RUN,
        VOLUME_MOUNT_IGNORED,
    )
    for mount in mounts:
        if mount["name"] not in names:
            raise UserError(
                f"{here}.volumeMounts[{mount['name']}]: no volume of that name in the template "
                "or spec.volumes"
            )
        if not mount.get("mountPath"):
            raise UserError(f"{here}.volumeMounts[{mount['name']}]: needs a mountPath")
        if mount.get("subPath"):
            check_sub_path(f"{here}.volumeMounts[{mount['name']}].subPath", mount["subPath"])


def _check_container_set(where: str, spec, volumes: list[dict]) -> None:
    here = f"{where}: {container_set.KIND}"
    spec = check_fields(here, spec, container_set.FIELDS)
    check_fields(f"{here}.retryStrategy", spec.get("retryStrategy"), container_set.RETRY_FIELDS)
    containers = named(f"{here}.containers", spec.get("containers"), None)
    shared = spec.get("volumeMounts") or []
    for container in container_set.check(where, spec):
        items(f"{here}.containers[{container['name']}].dependencies", container.get("dependencies"))
        _check_container(
            where,
            f"{container_set.KIND}.containers[{container['name']}]",
            {**container, "volumeMounts": [*shared, *(container.get("volumeMounts") or [])]},
            volumes,
        )
    dependencies = {c["name"]: list(c.get("dependencies") or []) for c in containers}
    _check_acyclic(here, dependencies)


def _check_suspend(where: str, suspend) -> None:
    duration = check_fields(f"{where}: suspend", suspend, {"duration"}).get("duration")
    if not duration:
        raise refuse(
            where,
            "suspend without a duration",
            "nothing here could resume it; give suspend.duration",
        )
    check_duration(where, "suspend.duration", duration, parse_seconds_or_duration)


def _check_volume(where: str, volume: dict, config_maps: ConfigMaps) -> None:
    check_label(f"{where}: volumes[{volume['name']}].name", volume["name"])
    kinds = sorted(set(volume) - {"name"})
    if kinds not in (["persistentVolumeClaim"], ["emptyDir"], ["configMap"], ["secret"]):
        raise refuse(
            f"{where}: volumes[{volume.get('name')}]",
            f"volume type {', '.join(kinds)}",
            "use persistentVolumeClaim, emptyDir, configMap or secret",
        )
    if kinds in (["configMap"], ["secret"]):
        object_volumes.check(where, volume, config_maps.objects, config_maps.namespace)
    claim = mapping(f"{where}: volumes[{volume['name']}]", volume.get("persistentVolumeClaim"))
    if "persistentVolumeClaim" in volume and not claim.get("claimName"):
        raise UserError(
            f"{where}: volumes[{volume['name']}].persistentVolumeClaim needs a claimName"
        )
    if "persistentVolumeClaim" in volume:
        check_object_name(
            f"{where}: volumes[{volume['name']}].persistentVolumeClaim.claimName",
            claim["claimName"],
        )


def _check_dag(where: str, dag, calls: _Calls) -> None:
    dag = check_fields(f"{where}: dag", dag, {"tasks", "target", "failFast"})
    listed = [
        mapping(f"{where}: dag.tasks[{index}]", task)
        for index, task in enumerate(items(f"{where}: dag.tasks", dag.get("tasks")))
    ]
    check_field_names(f"{where}: dag.tasks", [task.get("name") for task in listed])
    tasks = {task["name"]: task for task in listed}
    for task in tasks.values():
        here = f"{where}: task {task['name']}"
        if task["name"][0].isdigit() and ("depends" in task or "dependencies" in task):
            raise UserError(
                f"{here}: a task name cannot begin with a digit when it uses depends or "
                "dependencies (Argo reads it as a number); rename the task"
            )
        _check_invocation(here, task, TASK_RUN, calls)
        if "depends" in task and "dependencies" in task:
            raise UserError(f"{here}: use either depends or dependencies, not both")
        items(f"{here}: dependencies", task.get("dependencies"))
        for name in task_dependencies(task):
            if name not in tasks:
                raise UserError(f"{here}: depends on {name!r}, which is not a task of this DAG")
        for name, result in named_results(task.get("depends", "")):
            if result not in TASK_RESULTS:
                raise UserError(
                    f"{here}: task result '{result}' in depends is not one of "
                    f"{', '.join(sorted(TASK_RESULTS))}"
                )
            if result in ITEM_RESULTS and not is_loop(tasks[name]):
                raise UserError(
                    f"{here}: depends on {name}.{result}, but task {name} has no withItems, "
                    "withParam or withSequence to have items"
                )
        try:  # expr-lang, with '-' in task names as '_' (Argo's evaluateDependsLogic)
            if "depends" in task:
                exprlang.check(task["depends"].replace("-", "_"))
        except ExprError as err:
            raise expression_problem(f"{here}: depends", err) from None
    target = dag.get("target") or ""
    if not isinstance(target, str):
        raise UserError(f"{where}: dag.target must be a string of task names, not {target!r}")
    for name in [] if TAG.search(target) else target.split():  # a {{...}} target: at run time
        if name not in tasks:
            raise UserError(f"{where}: dag.target names {name!r}, which is not a task")
    _check_acyclic(where, {name: task_dependencies(task) for name, task in tasks.items()})


def _check_acyclic(where: str, graph: dict[str, list[str]]) -> None:
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            raise UserError(f"{where}: dependency cycle {' -> '.join(path + [name])}")
        state[name] = "visiting"
        for dep in graph[name]:
            visit(dep, path + [name])
        state[name] = "done"

    for name in graph:
        visit(name, [])


def _check_steps(where: str, groups, calls: _Calls) -> None:
    seen: set[str] = set()  # step names are unique across all the groups, as in Argo
    for index, group in enumerate(items(f"{where}: steps", groups)):
        here = f"{where}: steps[{index}]"
        if not isinstance(group, list):
            group = check_fields(here, group, {"steps"}).get("steps")
        for position, step in enumerate(items(here, group)):
            step = mapping(here, step)
            name = check_field_name(f"{here}[{position}].name", step.get("name"))
            if name in seen:
                raise UserError(f"{here}[{position}].name {name!r} is not unique")
            seen.add(name)
            _check_invocation(f"{here} {name}", step, STEP_RUN, calls)


def _check_invocation(
    where: str, call: dict, run: set[str], calls: _Calls, exit_handler: bool = False
) -> None:
    """A task, step or hook: its fields, its template (resolved by the store, which names a
    missing one), its arguments against the template's inputs, and its own hooks."""
    for key in call:
        if key not in run:
            raise refuse(where, f"'{key}'")
    for field in ("depends", "when", "expression", "onExit"):
        if field in call and not isinstance(call[field], str):
            raise UserError(f"{where}: {field} must be a string, not {call[field]!r}")
    check_loop(where, call)
    template = calls.resolve(call, where)
    arguments = check_fields(
        f"{where}: arguments", call.get("arguments"), {"parameters", "artifacts"}
    )
    artifacts.check_arguments(f"{where}: arguments", arguments)
    named(f"{where}: arguments.parameters", arguments.get("parameters"), {"name", "value"})
    if exit_handler and not arguments.get("parameters"):
        arguments = calls.workflow_arguments  # GetExitHook's WithArgs
    _check_inputs_supplied(where, template, arguments, calls.config_maps)
    if call.get("onExit"):
        here = f"{where}: onExit"
        _check_invocation(
            here, {"template": call["onExit"]}, {"template"}, calls, exit_handler=True
        )
    for name, hook in _check_hooks(f"{where}: hooks", call.get("hooks")).items():
        _check_invocation(
            f"{where}: hooks.{name}", hook, HOOK_FIELDS, calls, exit_handler=name == EXIT
        )


def _check_hooks(where: str, hooks) -> dict[str, dict]:
    """Lifecycle hooks: each a mapping; all but exit need an expression the runner can read."""
    hooks = mapping(where, hooks)
    for name, hook in hooks.items():
        here = f"{where}.{name}"
        hook = mapping(here, hook)
        expression = hook.get("expression")
        if name != EXIT and not expression:
            raise UserError(f"{here}: needs an expression (only the exit hook runs without one)")
        if isinstance(expression, str) and expression:
            try:
                check_expression(expression)
            except ExprError as err:
                raise expression_problem(here, err) from None
    return hooks


def _check_inputs_supplied(
    where: str, template: dict, arguments: dict, config_maps: ConfigMaps
) -> None:
    supplied = {param["name"] for param in arguments.get("parameters") or []}
    for param in (template.get("inputs") or {}).get("parameters") or []:
        if param["name"] in supplied:
            continue
        if "valueFrom" in param:  # read even if there is a value or default (ProcessArgs)
            config_maps.check_input(where, template.get("name", "inline"), param)
            continue
        if "value" in param or "default" in param:
            continue
        raise UserError(
            f"{where}: inputs.parameters.{param['name']} of template "
            f"{template.get('name', 'inline')} was not supplied"
        )


def _check_memoize(where: str, memoize: dict | None) -> None:
    if memoize is None:
        return
    memoize = check_fields(f"{where}: memoize", memoize, {"key", "maxAge", "cache"})
    cache = check_fields(f"{where}: memoize.cache", memoize.get("cache"), {"configMap"})
    # v3.7's schema wants configMap.key (the memo key again; see mlflows.rendering)
    config_map = check_fields(
        f"{where}: memoize.cache.configMap", cache.get("configMap"), {"name", "key"}
    )
    if not config_map.get("name") or not memoize.get("key"):
        raise UserError(f"{where}: memoize needs key and cache.configMap.name")
    check_duration(where, "memoize.maxAge", memoize.get("maxAge") or None, parse_go_duration)


def _check_expression_tags(workflow: dict, reached: list[Reached]) -> None:
    """Each ``{{=...}}`` parses and calls only functions the runner has: one line naming the
    template (else ``workflow``), the tag, and the function or construct."""
    parts = [(template.where, template.template) for template in reached]
    for where, part in [*parts, ("workflow", workflow)]:
        for tag in unresolved_tags(part):
            content = tag[2:-2].strip()
            if content.startswith("="):
                try:
                    expression_tags.check(content[1:])
                except ExprError as err:
                    raise expression_problem(where, err) from None
