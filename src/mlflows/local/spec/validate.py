"""Everything the runner refuses, checked before anything runs.

Each field of a workflow is either run with Argo's meaning, ignored because it only matters to a
cluster (scheduling, service accounts, images, pod metadata), or refused here with one line naming
the template and the feature. Unknown fields are refused too: a misspelt or newer field is never
silently dropped. Also checked up front, like ``argo lint``: template and task references, DAG
cycles, ``depends`` names, required inputs, volume mounts and static durations — and the shape of
what the runner reads (a mapping or list where Argo has one, a ``name`` where it needs one), so a
malformed file is one line, never a traceback or a failed node.
"""

from __future__ import annotations

import re

from mlflows.duration import parse_go_duration, parse_seconds_or_duration
from mlflows.errors import UserError
from mlflows.local.executor.process import check_container
from mlflows.local.lang import expression_tags, exprlang
from mlflows.local.lang.exprlang import ExprError
from mlflows.local.lang.templating import TAG, unresolved_tags

SPEC_RUN = {
    "entrypoint",
    "arguments",
    "templates",
    "onExit",
    "parallelism",
    "activeDeadlineSeconds",
    "volumes",
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
    "archiveLogs",
    "artifactRepositoryRef",
    "artifactGC",
    "metrics",
    "workflowMetadata",
    "volumeClaimGC",
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
    "volumes",
    "activeDeadlineSeconds",
    "retryStrategy",
    "parallelism",
    "synchronization",
    "memoize",
    "timeout",
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
TEMPLATE_TYPES = ("container", "script", "resource", "dag", "steps", "suspend")
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
TASK_RUN = {"name", "template", "arguments", "dependencies", "depends", "when", "continueOn"}
STEP_RUN = {"name", "template", "arguments", "when", "continueOn"}
PARAMETER_FIELDS = {"name", "value", "default", "description", "enum"}
VOLUME_MOUNT_RUN = {"name", "mountPath", "subPath"}
VOLUME_MOUNT_IGNORED = {"readOnly", "mountPropagation", "recursiveReadOnly"}
RETRY_POLICIES = {"Always", "OnFailure", "OnError", "OnTransientError"}
# Argo's own pattern for reading depends: `task.Result` or a bare task name.
DEPENDS_NAME = re.compile(r"([a-zA-Z0-9][-a-zA-Z0-9]*?\.[A-Z][a-zA-Z]+)|([a-zA-Z0-9][-a-zA-Z0-9]*)")
TASK_RESULTS = {"Succeeded", "Failed", "Errored", "Skipped", "Omitted", "Daemoned"}


def refuse(where: str, feature: str, hint: str = "") -> UserError:
    detail = f"; {hint}" if hint else ""
    return UserError(f"{where}: {feature} is not supported by the local runner{detail}")


def check_fields(where: str, data, run: set[str], ignored: set[str] = frozenset()) -> dict:
    """``data`` as a mapping ({} if absent), once every key is one the runner runs or ignores."""
    data = _mapping(where, data)
    for key in data:
        if key not in run and key not in ignored:
            raise refuse(where, f"'{key}'")
    return data


def _mapping(where: str, value) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UserError(f"{where}: expected a mapping, not {_shown(value)}")
    return value


def _items(where: str, value) -> list:
    """A list field's items ([] if absent); a YAML mistake there is one line, not a traceback."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise UserError(f"{where}: expected a list, not {_shown(value)}")
    return value


def _shown(value) -> str:
    return "a mapping" if isinstance(value, dict) else f"{value!r}"


def _named(where: str, items, run: set[str] | None, ignored: set[str] = frozenset()) -> list[dict]:
    """A list of mappings that each need a ``name`` (parameters, env, volumes, mutexes), with
    only the fields in ``run`` or ``ignored`` (any fields if ``run`` is None)."""
    named = []
    for index, item in enumerate(_items(where, items)):
        here = f"{where}[{(isinstance(item, dict) and item.get('name')) or index}]"
        item = _mapping(here, item) if run is None else check_fields(here, item, run, ignored)
        if not item.get("name"):
            raise UserError(f"{here}: needs a name")
        named.append(item)
    return named


def validate_workflow(workflow: dict) -> None:
    """Raise UserError (one line) for the first thing this runner cannot do as Argo would."""
    if workflow.get("kind", "Workflow") != "Workflow":
        raise UserError(f"kind {workflow.get('kind')!r}: the local runner runs kind: Workflow")
    metadata = _mapping("metadata", workflow.get("metadata"))
    for field in ("labels", "annotations"):
        _mapping(f"metadata.{field}", metadata.get(field))
    spec = check_fields("spec", workflow.get("spec"), SPEC_RUN, SPEC_IGNORED)
    templates = [
        _mapping(f"spec.templates[{index}]", template)
        for index, template in enumerate(_items("spec.templates", spec.get("templates")))
    ]
    by_name: dict[str, dict] = {}
    for template in templates:
        name = template.get("name")
        if not name or not isinstance(name, str) or name in by_name:
            raise UserError(f"spec.templates: template name {name!r} is missing or repeated")
        by_name[name] = template
    for field, name in (
        ("spec.entrypoint", spec.get("entrypoint")),
        ("spec.onExit", spec.get("onExit")),
    ):
        if field == "spec.entrypoint" and not name:
            raise UserError("spec.entrypoint is missing; name the template to start with")
        if name and (not isinstance(name, str) or name not in by_name):
            raise UserError(f"{field}: no template named {name!r}")
    for field in ("parallelism", "activeDeadlineSeconds"):
        value = spec.get(field)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 0
        ):
            raise UserError(f"spec.{field}: give a whole number, not {value!r}")
    arguments = check_fields("spec.arguments", spec.get("arguments"), {"parameters"})
    _named("spec.arguments.parameters", arguments.get("parameters"), PARAMETER_FIELDS)
    workflow_volumes = _named("spec.volumes", spec.get("volumes"), None)
    for volume in workflow_volumes:
        _check_volume("spec", volume)
    for template in templates:  # first, as every invocation of a template reads its inputs
        _check_inputs(f"template {template['name']}", template.get("inputs"))
    for template in templates:
        _check_template(template, by_name, workflow_volumes)
    _check_expression_tags(workflow)
    _check_inputs_supplied("spec.arguments", by_name[spec["entrypoint"]], arguments)


def _check_template(template: dict, by_name: dict[str, dict], workflow_volumes: list[dict]) -> None:
    where = f"template {template['name']}"
    check_fields(where, template, TEMPLATE_RUN, TEMPLATE_IGNORED)
    kinds = [kind for kind in TEMPLATE_TYPES if kind in template]
    if len(kinds) != 1:
        raise UserError(f"{where}: needs exactly one of {', '.join(TEMPLATE_TYPES)}")
    kind = kinds[0]
    _check_outputs(where, kind, template.get("outputs"))
    volumes = _named(f"{where}: volumes", template.get("volumes"), None)
    for volume in volumes:
        _check_volume(where, volume)
    if kind in ("container", "script"):
        _check_container(where, kind, template[kind], workflow_volumes + volumes)
    elif kind == "dag":
        _check_dag(where, template["dag"], by_name)
    elif kind == "steps":
        _check_steps(where, template["steps"], by_name)
    elif kind == "suspend":
        _check_suspend(where, template["suspend"])
    if kind not in ("container", "script", "resource"):
        for field in ("timeout", "activeDeadlineSeconds"):
            if field in template:
                raise refuse(
                    where,
                    f"{field} on a {kind} template",
                    "Argo applies it to pods only; set it on the container templates",
                )
    for field in ("timeout", "activeDeadlineSeconds"):
        _check_duration(where, field, template.get(field), parse_seconds_or_duration)
    _check_retry(where, template.get("retryStrategy"))
    _check_integer(where, "parallelism", template.get("parallelism"))
    _check_memoize(where, template.get("memoize"))
    _check_synchronization(where, template.get("synchronization"))


def _check_inputs(where: str, inputs) -> None:
    inputs = check_fields(f"{where}: inputs", inputs, {"parameters"})
    _named(f"{where}: inputs.parameters", inputs.get("parameters"), PARAMETER_FIELDS)


def _check_outputs(where: str, kind: str, outputs) -> None:
    outputs = check_fields(f"{where}: outputs", outputs, {"parameters", "result", "exitCode"})
    allowed = {
        "container": {"path", "default"},
        "script": {"path", "default"},
        "dag": {"parameter", "expression", "default"},
        "steps": {"parameter", "expression", "default"},
        "resource": {"jsonPath", "jqFilter", "default"},
        "suspend": set(),
    }[kind]
    declared = _named(
        f"{where}: outputs.parameters",
        outputs.get("parameters"),
        {"name", "valueFrom", "description"},
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
                raise UserError(f"{here}.valueFrom.expression '{short}': {err}") from None


def _check_container(where: str, kind: str, container, volumes: list[dict]) -> None:
    run = CONTAINER_RUN | ({"source"} if kind == "script" else set())
    here = f"{where}: {kind}"
    container = check_fields(here, container, run, CONTAINER_IGNORED)
    for field in ("command", "args"):
        _items(f"{here}.{field}", container.get(field))
    _named(f"{here}.env", container.get("env"), {"name", "value", "valueFrom"})
    check_container(container, where)
    names = {volume["name"] for volume in volumes}
    mounts = _named(
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


def _check_suspend(where: str, suspend) -> None:
    duration = check_fields(f"{where}: suspend", suspend, {"duration"}).get("duration")
    if not duration:
        raise refuse(
            where,
            "suspend without a duration",
            "nothing here could resume it; give suspend.duration",
        )
    _check_duration(where, "suspend.duration", duration, parse_seconds_or_duration)


def _check_volume(where: str, volume: dict) -> None:
    kinds = sorted(set(volume) - {"name"})
    if kinds not in (["persistentVolumeClaim"], ["emptyDir"]):
        raise refuse(
            f"{where}: volumes[{volume.get('name')}]",
            f"volume type {', '.join(kinds)}",
            "use persistentVolumeClaim or emptyDir",
        )
    claim = _mapping(f"{where}: volumes[{volume['name']}]", volume.get("persistentVolumeClaim"))
    if "persistentVolumeClaim" in volume and not claim.get("claimName"):
        raise UserError(
            f"{where}: volumes[{volume['name']}].persistentVolumeClaim needs a claimName"
        )


def _check_dag(where: str, dag, by_name: dict[str, dict]) -> None:
    dag = check_fields(f"{where}: dag", dag, {"tasks", "target", "failFast"})
    listed = [
        _mapping(f"{where}: dag.tasks[{index}]", task)
        for index, task in enumerate(_items(f"{where}: dag.tasks", dag.get("tasks")))
    ]
    names = [task.get("name") for task in listed]
    if not all(name and isinstance(name, str) for name in names) or len(set(names)) < len(names):
        raise UserError(f"{where}: dag task names must be present and unique")
    tasks = dict(zip(names, listed, strict=True))
    for task in tasks.values():
        here = f"{where}: task {task['name']}"
        _check_invocation(here, task, TASK_RUN, by_name)
        if "depends" in task and "dependencies" in task:
            raise UserError(f"{here}: use either depends or dependencies, not both")
        _items(f"{here}: dependencies", task.get("dependencies"))
        for name in task_dependencies(task):
            if name not in tasks:
                raise UserError(f"{here}: depends on {name!r}, which is not a task of this DAG")
        for result in re.findall(r"\.([A-Z][a-zA-Z]+)", task.get("depends", "")):
            if result not in TASK_RESULTS:
                raise UserError(
                    f"{here}: task result '{result}' in depends is not one of "
                    f"{', '.join(sorted(TASK_RESULTS))}"
                )
        try:  # expr-lang, with '-' in task names as '_' (Argo's evaluateDependsLogic)
            if "depends" in task:
                exprlang.check(task["depends"].replace("-", "_"))
        except ExprError as err:
            raise UserError(f"{here}: depends: {err}") from None
    target = dag.get("target") or ""
    if not isinstance(target, str):
        raise UserError(f"{where}: dag.target must be a string of task names, not {target!r}")
    for name in target.split():
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


def _check_steps(where: str, groups, by_name: dict[str, dict]) -> None:
    for index, group in enumerate(_items(f"{where}: steps", groups)):
        here = f"{where}: steps[{index}]"
        if not isinstance(group, list):
            group = check_fields(here, group, {"steps"}).get("steps")
        for step in _items(here, group):
            step = _mapping(here, step)
            _check_invocation(f"{here} {step.get('name')}", step, STEP_RUN, by_name)


def _check_invocation(where: str, call: dict, run: set[str], by_name: dict[str, dict]) -> None:
    hints = {
        "withParam": "list the items in the template",
        "withItems": "list the tasks explicitly",
        "withSequence": "list the tasks explicitly",
        "templateRef": "copy the template in",
        "inline": "give the template a name",
        "hooks": "",
        "onExit": "use spec.onExit",
    }
    for key in call:
        if key not in run:
            raise refuse(where, f"'{key}'", hints.get(key, ""))
    for field in ("depends", "when"):
        if field in call and not isinstance(call[field], str):
            raise UserError(f"{where}: {field} must be a string, not {call[field]!r}")
    template = by_name.get(call.get("template"))
    if template is None:
        raise UserError(f"{where}: no template named {call.get('template')!r}")
    arguments = check_fields(f"{where}: arguments", call.get("arguments"), {"parameters"})
    _named(f"{where}: arguments.parameters", arguments.get("parameters"), {"name", "value"})
    _check_inputs_supplied(where, template, arguments)


def _check_inputs_supplied(where: str, template: dict, arguments: dict) -> None:
    supplied = {param["name"] for param in arguments.get("parameters") or []}
    for param in (template.get("inputs") or {}).get("parameters") or []:
        if param["name"] not in supplied and "value" not in param and "default" not in param:
            raise UserError(
                f"{where}: inputs.parameters.{param['name']} of template "
                f"{template['name']} was not supplied"
            )


def _check_duration(where: str, field: str, value, parse) -> None:
    if value is None or (isinstance(value, str) and TAG.search(value)):
        return
    try:
        parse(value)
    except ValueError as err:
        raise UserError(f"{where}: {field}: {err}") from None


def _check_retry(where: str, retry: dict | None) -> None:
    if retry is None:
        return
    check_fields(
        f"{where}: retryStrategy", retry, {"limit", "retryPolicy", "backoff"}, {"affinity"}
    )
    policy = retry.get("retryPolicy", "OnFailure")
    if policy not in RETRY_POLICIES:
        raise UserError(
            f"{where}: retryPolicy {policy!r} is not one of {', '.join(sorted(RETRY_POLICIES))}"
        )
    backoff = retry.get("backoff")
    if backoff is not None:
        check_fields(
            f"{where}: retryStrategy.backoff", backoff, {"duration", "factor", "maxDuration", "cap"}
        )
        if not backoff.get("duration"):
            raise UserError(f"{where}: retryStrategy.backoff needs a duration")
        for field in ("duration", "maxDuration", "cap"):
            _check_duration(
                where, f"backoff.{field}", backoff.get(field), parse_seconds_or_duration
            )
        _check_integer(where, "retryStrategy.backoff.factor", backoff.get("factor"))
    _check_integer(where, "retryStrategy.limit", retry.get("limit"))


def _check_integer(where: str, field: str, value) -> None:
    """An int-or-string field that must hold a whole number (Argo's IntOrString)."""
    if value is None or (isinstance(value, str) and TAG.search(value)):
        return
    if isinstance(value, bool) or not re.fullmatch(r"\d+", str(value).strip()):
        raise UserError(f"{where}: {field} {value!r} is not a whole number")


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
    _check_duration(where, "memoize.maxAge", memoize.get("maxAge") or None, parse_go_duration)


def _check_synchronization(where: str, sync: dict | None) -> None:
    if sync is None:
        return
    sync = check_fields(f"{where}: synchronization", sync, {"mutexes", "mutex"})
    # as the engine reads them: the list, else the single (deprecated) mutex
    mutexes = sync.get("mutexes") or ([sync["mutex"]] if sync.get("mutex") is not None else [])
    _named(f"{where}: synchronization mutexes", mutexes, {"name", "namespace"})


def _check_expression_tags(workflow: dict) -> None:
    """Each ``{{=...}}`` parses and calls only functions the runner has: one line naming the
    template (else ``workflow``), the tag, and the function or construct."""
    parts = [(f"template {t['name']}", t) for t in workflow["spec"]["templates"]]
    for where, part in [*parts, ("workflow", workflow)]:
        for tag in unresolved_tags(part):
            content = tag[2:-2].strip()
            if content.startswith("="):
                try:
                    expression_tags.check(content[1:])
                except ExprError as err:
                    raise UserError(f"{where}: {err}") from None


def task_dependencies(task: dict) -> list[str]:
    """The task names a DAG task waits for (from ``depends`` or ``dependencies``), in order."""
    if "depends" not in task:
        return list(task.get("dependencies") or [])
    names = []
    for with_result, bare in DEPENDS_NAME.findall(task["depends"]):
        name = with_result.split(".")[0] if with_result else bare
        if name not in names:
            names.append(name)
    return names
