"""Everything the runner refuses, checked before anything runs.

Each field of a workflow is either run with Argo's meaning, ignored because it only matters to a
cluster (scheduling, service accounts, images, pod metadata), or refused here with one line naming
the template and the feature. Unknown fields are refused too: a misspelt or newer field is never
silently dropped. Also checked up front, like ``argo lint``: template and task references, DAG
cycles, ``depends`` names, required inputs and static durations.
"""

from __future__ import annotations

import re

from mlflows.duration import parse_go_duration, parse_seconds_or_duration
from mlflows.errors import UserError
from mlflows.local import expression_tags
from mlflows.local.expressions import ExpressionError
from mlflows.local.templating import TAG, unresolved_tags

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
RETRY_POLICIES = {"Always", "OnFailure", "OnError", "OnTransientError"}
# Argo's own pattern for reading depends: `task.Result` or a bare task name.
DEPENDS_NAME = re.compile(r"([a-zA-Z0-9][-a-zA-Z0-9]*?\.[A-Z][a-zA-Z]+)|([a-zA-Z0-9][-a-zA-Z0-9]*)")
TASK_RESULTS = {"Succeeded", "Failed", "Errored", "Skipped", "Omitted", "Daemoned"}


def refuse(where: str, feature: str, hint: str = "") -> UserError:
    detail = f"; {hint}" if hint else ""
    return UserError(f"{where}: {feature} is not supported by the local runner{detail}")


def check_fields(where: str, data: dict, run: set[str], ignored: set[str] = frozenset()) -> None:
    for key in data:
        if key not in run and key not in ignored:
            raise refuse(where, f"'{key}'")


def validate_workflow(workflow: dict) -> None:
    """Raise UserError (one line) for the first thing this runner cannot do as Argo would."""
    if workflow.get("kind", "Workflow") != "Workflow":
        raise UserError(f"kind {workflow.get('kind')!r}: the local runner runs kind: Workflow")
    spec = workflow.get("spec") or {}
    check_fields("spec", spec, SPEC_RUN, SPEC_IGNORED)
    templates = spec.get("templates") or []
    by_name: dict[str, dict] = {}
    for template in templates:
        name = template.get("name")
        if not name or name in by_name:
            raise UserError(f"spec.templates: template name {name!r} is missing or repeated")
        by_name[name] = template
    for field, name in (
        ("spec.entrypoint", spec.get("entrypoint")),
        ("spec.onExit", spec.get("onExit")),
    ):
        if field == "spec.entrypoint" and not name:
            raise UserError("spec.entrypoint is missing; name the template to start with")
        if name and name not in by_name:
            raise UserError(f"{field}: no template named {name!r}")
    for field in ("parallelism", "activeDeadlineSeconds"):
        value = spec.get(field)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise UserError(f"spec.{field}: give a whole number, not {value!r}")
    for template in templates:
        _check_template(template, by_name)
    _check_expression_tags(workflow)
    _check_inputs_supplied("spec.arguments", by_name[spec["entrypoint"]], spec.get("arguments"))


def _check_template(template: dict, by_name: dict[str, dict]) -> None:
    where = f"template {template['name']}"
    check_fields(where, template, TEMPLATE_RUN, TEMPLATE_IGNORED)
    kinds = [kind for kind in TEMPLATE_TYPES if kind in template]
    if len(kinds) != 1:
        raise UserError(f"{where}: needs exactly one of {', '.join(TEMPLATE_TYPES)}")
    kind = kinds[0]
    _check_inputs(where, template.get("inputs") or {})
    _check_outputs(where, kind, template.get("outputs") or {})
    if kind in ("container", "script"):
        _check_container(where, kind, template[kind])
    elif kind == "dag":
        _check_dag(where, template["dag"], by_name)
    elif kind == "steps":
        _check_steps(where, template["steps"], by_name)
    elif kind == "suspend" and not (template["suspend"] or {}).get("duration"):
        raise refuse(
            where,
            "suspend without a duration",
            "nothing here could resume it; give suspend.duration",
        )
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
    for volume in template.get("volumes") or []:
        _check_volume(where, volume)


def _check_inputs(where: str, inputs: dict) -> None:
    check_fields(f"{where}: inputs", inputs, {"parameters"})
    for param in inputs.get("parameters") or []:
        check_fields(
            f"{where}: inputs.parameters[{param.get('name')}]",
            param,
            {"name", "value", "default", "description", "enum"},
        )


def _check_outputs(where: str, kind: str, outputs: dict) -> None:
    check_fields(f"{where}: outputs", outputs, {"parameters", "result", "exitCode"})
    allowed = {
        "container": {"path", "default"},
        "script": {"path", "default"},
        "dag": {"parameter", "default"},
        "steps": {"parameter", "default"},
        "resource": {"jsonPath", "jqFilter", "default"},
        "suspend": set(),
    }[kind]
    for param in outputs.get("parameters") or []:
        here = f"{where}: outputs.parameters[{param.get('name')}]"
        check_fields(here, param, {"name", "valueFrom", "description"})
        value_from = param.get("valueFrom") or {}
        check_fields(here + ".valueFrom", value_from, allowed)
        if not set(value_from) - {"default"}:
            raise UserError(
                f"{here}: needs valueFrom.{' or valueFrom.'.join(sorted(allowed - {'default'}))}"
            )


def _check_container(where: str, kind: str, container: dict) -> None:
    run = CONTAINER_RUN | ({"source"} if kind == "script" else set())
    check_fields(f"{where}: {kind}", container, run, CONTAINER_IGNORED)
    if not container.get("command") and not container.get("args"):
        raise UserError(
            f"{where}: {kind} has no command; the local runner cannot use the image's "
            "entrypoint, so give the command explicitly"
        )
    for var in container.get("env") or []:
        if "value" not in var:
            raise refuse(f"{where}: env {var.get('name')}", "valueFrom", "give it a value")


def _check_volume(where: str, volume: dict) -> None:
    kinds = sorted(set(volume) - {"name"})
    if kinds not in (["persistentVolumeClaim"], ["emptyDir"]):
        raise refuse(
            f"{where}: volumes[{volume.get('name')}]",
            f"volume type {', '.join(kinds)}",
            "use persistentVolumeClaim or emptyDir",
        )


def _check_dag(where: str, dag: dict, by_name: dict[str, dict]) -> None:
    check_fields(f"{where}: dag", dag, {"tasks", "target", "failFast"})
    tasks = {task.get("name"): task for task in dag.get("tasks") or []}
    if len(tasks) != len(dag.get("tasks") or []) or None in tasks:
        raise UserError(f"{where}: dag task names must be present and unique")
    for task in tasks.values():
        here = f"{where}: task {task['name']}"
        _check_invocation(here, task, TASK_RUN, by_name)
        if "depends" in task and "dependencies" in task:
            raise UserError(f"{here}: use either depends or dependencies, not both")
        for name in task_dependencies(task):
            if name not in tasks:
                raise UserError(f"{here}: depends on {name!r}, which is not a task of this DAG")
        for result in re.findall(r"\.([A-Z][a-zA-Z]+)", task.get("depends", "")):
            if result not in TASK_RESULTS:
                raise UserError(
                    f"{here}: task result '{result}' in depends is not one of "
                    f"{', '.join(sorted(TASK_RESULTS))}"
                )
    for name in (dag.get("target") or "").split():
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


def _check_steps(where: str, groups: list, by_name: dict[str, dict]) -> None:
    for index, group in enumerate(groups or []):
        steps = group if isinstance(group, list) else group.get("steps", [])
        for step in steps:
            _check_invocation(
                f"{where}: steps[{index}] {step.get('name')}", step, STEP_RUN, by_name
            )


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
    template = by_name.get(call.get("template"))
    if template is None:
        raise UserError(f"{where}: no template named {call.get('template')!r}")
    arguments = call.get("arguments") or {}
    check_fields(f"{where}: arguments", arguments, {"parameters"})
    for param in arguments.get("parameters") or []:
        check_fields(
            f"{where}: arguments.parameters[{param.get('name')}]", param, {"name", "value"}
        )
    _check_inputs_supplied(where, template, arguments)


def _check_inputs_supplied(where: str, template: dict, arguments: dict | None) -> None:
    supplied = {param.get("name") for param in (arguments or {}).get("parameters") or []}
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
    check_fields(f"{where}: memoize", memoize, {"key", "maxAge", "cache"})
    cache = memoize.get("cache") or {}
    check_fields(f"{where}: memoize.cache", cache, {"configMap"})
    if not (cache.get("configMap") or {}).get("name") or not memoize.get("key"):
        raise UserError(f"{where}: memoize needs key and cache.configMap.name")
    _check_duration(where, "memoize.maxAge", memoize.get("maxAge") or None, parse_go_duration)


def _check_synchronization(where: str, sync: dict | None) -> None:
    if sync is None:
        return
    check_fields(f"{where}: synchronization", sync, {"mutexes", "mutex"})
    for mutex in sync.get("mutexes") or [sync.get("mutex") or {}]:
        check_fields(f"{where}: synchronization mutex", mutex, {"name", "namespace"})


def _check_expression_tags(workflow: dict) -> None:
    for tag in unresolved_tags(workflow):
        content = tag[2:-2].strip()
        if content.startswith("="):
            try:
                expression_tags.check(content[1:])
            except ExpressionError as err:
                raise refuse("workflow", str(err), "use a plain {{...}} reference") from None


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
