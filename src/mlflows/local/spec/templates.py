"""Where a call's template comes from, as Argo's workflow/templateresolution/context.go finds it.

A call — the entrypoint, a DAG task, a step, a hook — holds its template one of three ways
(Argo's TemplateReferenceHolder): ``inline``, a ``templateRef`` to a template of a
WorkflowTemplate (or, with ``clusterScope: true``, of a ClusterWorkflowTemplate), or a
``template`` name looked up in the call's *base*: the Workflow, or the WorkflowTemplate the
calling template itself came from. A referenced template's own calls resolve in its
WorkflowTemplate (``WithTemplateHolder``); an inline template's in the caller's base.

Each node records the base its call was resolved in as ``templateScope`` (``local/<workflow>``,
``namespaced/<name>``, ``cluster/<name>``; Argo's ``GetTemplateScope``), and the call's
``templateRef``; a DAG's or steps' children resolve in the base those two name.

Also here, because they decide what a template is before it runs:

- ``spec.workflowTemplateRef``: the Workflow's spec is the WorkflowTemplate's, with the
  Workflow's own fields merged over it (workflow/util/merge.go ``JoinWorkflowSpec``: a strategic
  merge patch; a parameter that has a value keeps the whole of the Workflow's declaration;
  hooks of the WorkflowTemplate fill only names the Workflow lacks). Like Argo's execWf, such a
  spec has no name of its own: its templates are ``local/``.
- ``spec.templateDefaults``: merged under every template as it is resolved (operator.go
  ``mergedTemplateDefaultsInto``): the template's own fields win, lists keyed by name merge item
  by item, and a default for another template type (``container`` for a script) is dropped.
  ``timeout`` and ``activeDeadlineSeconds`` reach pod templates only: on a DAG or steps node,
  which is never Pending, Argo never applies them.

Every reference is checked before the run (:meth:`TemplateStore.reached`): a template,
WorkflowTemplate or ClusterWorkflowTemplate that does not exist is one line naming it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from mlflows.errors import UserError
from mlflows.local.lang.templating import TAG
from mlflows.local.spec.fields import check_fields, items, mapping
from mlflows.local.spec.manifests import Manifest
from mlflows.local.spec.names import check_field_names
from mlflows.local.spec.validate import TEMPLATE_IGNORED, TEMPLATE_RUN, TEMPLATE_TYPES

SCOPES = {"WorkflowTemplate": "namespaced", "ClusterWorkflowTemplate": "cluster"}
KIND_OF_SCOPE = {scope: kind for kind, scope in SCOPES.items()}
# Lists that a strategic merge patch merges item by item (the patchMergeKey of Argo's and
# Kubernetes' Go types); any other list is replaced whole.
MERGE_KEYS = {
    "templates": "name",
    "parameters": "name",
    "artifacts": "name",
    "volumes": "name",
    "tasks": "name",
    "env": "name",
    "volumeMounts": "mountPath",
    "sidecars": "name",
    "initContainers": "name",
    "imagePullSecrets": "name",
    "tolerations": "key",
    "hostAliases": "ip",
    "ports": "containerPort",
}
POD_ONLY_DEFAULTS = ("timeout", "activeDeadlineSeconds")
POD_KINDS = ("container", "script", "resource", "containerSet")
REF_FIELDS = {"name", "template", "clusterScope"}


@dataclass(frozen=True)
class TemplateBase:
    """Argo's TemplateHolder: the templates a name is looked up in."""

    scope: str  # local | namespaced | cluster
    name: str
    templates: dict[str, dict] = field(repr=False)

    @property
    def label(self) -> str:
        """Argo's templateScope."""
        return f"{self.scope}/{self.name}"

    def described(self) -> str:
        if self.scope == "local":
            return "the workflow"
        return f"{KIND_OF_SCOPE[self.scope]} {self.name}"


@dataclass(frozen=True)
class Reached:
    """A template some call of the run can reach, to check before the run."""

    where: str  # "template main", "WorkflowTemplate lib: template hello", "...: task a: inline"
    base: TemplateBase  # where its own calls resolve
    template: dict  # templateDefaults merged


class Library:
    """The WorkflowTemplates and ClusterWorkflowTemplates this run can reference."""

    KINDS = frozenset(SCOPES)

    def __init__(self, manifests: list[Manifest], namespace: str):
        self.bases: dict[tuple[str, str], TemplateBase] = {}
        self.specs: dict[tuple[str, str], dict] = {}
        self.elsewhere: dict[str, str] = {}  # WorkflowTemplate name -> its other namespace
        for manifest in manifests:
            scope = SCOPES.get(manifest.kind)
            if scope is None:
                raise UserError(
                    f"{manifest.where}: kind {manifest.kind} is not a WorkflowTemplate or "
                    "ClusterWorkflowTemplate; give other objects with --apply"
                )
            elsewhere = (manifest.body.get("metadata") or {}).get("namespace")
            if scope == "namespaced" and elsewhere and elsewhere != namespace:
                self.elsewhere[manifest.name] = elsewhere  # not visible to this workflow
                continue
            key = (scope, manifest.name)
            if key in self.bases:
                raise UserError(f"{manifest.where}: {manifest.kind} {manifest.name} is given twice")
            where = f"{manifest.where}: {manifest.kind} {manifest.name}"
            spec = mapping(f"{where}: spec", manifest.body.get("spec"))
            self.specs[key] = spec
            self.bases[key] = TemplateBase(scope, manifest.name, _index(f"{where}: spec", spec))

    def base(self, ref: dict, where: str) -> TemplateBase:
        scope = "cluster" if ref.get("clusterScope") else "namespaced"
        found = self.bases.get((scope, ref["name"]))
        if found is None:
            hint = "give it with --templates or --apply"
            if scope == "namespaced" and ref["name"] in self.elsewhere:
                hint = f"the one given is in namespace {self.elsewhere[ref['name']]}"
            raise UserError(f"{where}: no {KIND_OF_SCOPE[scope]} named {ref['name']!r}; {hint}")
        return found


class TemplateStore:
    """The templates of one run, resolved as Argo's TemplateContext resolves them."""

    def __init__(self, workflow: dict, library: Library, name: str):
        self.library = library
        spec = mapping("spec", workflow.get("spec"))
        ref = spec.get("workflowTemplateRef")
        if ref is not None:
            spec = self._joined(spec, ref)
        self.workflow = {**workflow, "spec": spec}
        defaults = spec.get("templateDefaults")
        self.defaults = check_fields(
            "spec.templateDefaults", defaults, TEMPLATE_RUN - {"name"}, TEMPLATE_IGNORED
        )
        scope_name = "" if ref is not None else name  # Argo's execWf has no name then
        self.local = TemplateBase("local", scope_name, _index("spec", spec))
        self._effective: dict[tuple[str, str], dict] = {}
        self._reached: list[Reached] | None = None

    def _joined(self, spec: dict, ref) -> dict:
        """The Workflow's spec merged over its WorkflowTemplate's (JoinWorkflowSpec)."""
        ref = check_fields("spec.workflowTemplateRef", ref, {"name", "clusterScope"})
        if not isinstance(ref.get("name"), str) or not ref["name"]:
            raise UserError("spec.workflowTemplateRef needs the name of a WorkflowTemplate")
        if spec.get("templates"):
            raise UserError(
                "spec.templates: a workflow with a workflowTemplateRef takes its templates "
                "from the WorkflowTemplate; remove them"
            )
        base = self.library.base(ref, "spec.workflowTemplateRef")
        template_spec = copy.deepcopy(self.library.specs[(base.scope, base.name)])
        own = {key: value for key, value in spec.items() if key != "workflowTemplateRef"}
        merged = strategic_merge(
            {k: v for k, v in template_spec.items() if k != "hooks"},
            {k: v for k, v in own.items() if k != "hooks"},
        )
        hooks = {**(template_spec.get("hooks") or {}), **(own.get("hooks") or {})}
        if hooks:
            merged["hooks"] = hooks
        _keep_declarations(merged, own, template_spec)
        return merged

    # -- resolution -----------------------------------------------------------------------------

    def resolve(
        self, holder: dict, base: TemplateBase, where: str = ""
    ) -> tuple[TemplateBase, dict]:
        """The base that the template's own calls resolve in, and the template (templateDefaults
        merged). UserError naming ``where`` and the missing name if there is none."""
        if holder.get("inline") is not None:
            inline = mapping(f"{where}: inline", holder["inline"])
            return base, self.with_defaults(inline)
        if holder.get("templateRef") is not None:
            ref = holder["templateRef"]
            target = self.library.base(ref, f"{where}: templateRef")
            name = ref["template"]
            if name not in target.templates:
                raise UserError(
                    f"{where}: templateRef: {target.described()} has no template named {name!r}"
                )
        else:
            target, name = base, holder.get("template")
            if name not in base.templates:
                place = "" if base.scope == "local" else f" in {base.described()}"
                raise UserError(f"{where}: no template named {name!r}{place}")
        key = (target.label, name)
        if key not in self._effective:
            self._effective[key] = self.with_defaults(target.templates[name])
        return target, self._effective[key]

    def inner_base(self, template_scope: str, template_ref: dict | None) -> TemplateBase:
        """Where the calls of a node's template resolve: the base of its templateRef, else the
        base its own call was resolved in (its templateScope)."""
        if template_ref is not None:
            return self.library.base(template_ref, "templateRef")
        scope, _, name = template_scope.partition("/")
        if scope == "local":
            return self.local
        return self.library.bases[(scope, name)]

    def with_defaults(self, template: dict) -> dict:
        if not self.defaults:
            return template
        kind = next((kind for kind in TEMPLATE_TYPES if kind in template), None)
        applicable = {
            key: value
            for key, value in self.defaults.items()
            if (key not in TEMPLATE_TYPES or key == kind)
            and (key not in POD_ONLY_DEFAULTS or kind in POD_KINDS)
        }
        return strategic_merge(applicable, template)

    # -- the up-front check -----------------------------------------------------------------------

    def reached(self) -> list[Reached]:
        """Every template of the Workflow and every one its calls reach, each once; UserError
        (one line) for the first call whose template does not exist."""
        if self._reached is not None:
            return self._reached
        spec = self.workflow["spec"]
        found = [
            Reached(f"template {name}", self.local, self.with_defaults(template))
            for name, template in self.local.templates.items()
        ]
        seen = {(self.local.label, name) for name in self.local.templates}
        roots = [("spec.entrypoint", {"template": spec.get("entrypoint")})]
        if spec.get("onExit"):
            roots.append(("spec.onExit", {"template": spec["onExit"]}))
        hooks = spec.get("hooks") if isinstance(spec.get("hooks"), dict) else {}
        roots += [(f"spec.hooks.{name}", h) for name, h in hooks.items() if isinstance(h, dict)]
        for where, holder in roots:
            self._follow(where, holder, self.local, found, seen)
        index = 0
        while index < len(found):  # grows as calls reach further templates
            reached = found[index]
            for where, holder in calls(reached.where, reached.template):
                self._follow(where, holder, reached.base, found, seen)
            index += 1
        self._reached = found
        return found

    def _follow(self, where: str, holder: dict, base: TemplateBase, found: list, seen: set) -> None:
        _check_holder(where, holder)
        target, template = self.resolve(holder, base, where)
        if holder.get("inline") is not None:
            found.append(Reached(f"{where}: inline", target, template))
            return
        name = (holder.get("templateRef") or holder)["template"]
        if (target.label, name) not in seen:
            seen.add((target.label, name))
            found.append(Reached(f"{target.described()}: template {name}", target, template))


def calls(where: str, template: dict) -> list[tuple[str, dict]]:
    """The calls a template makes (tasks, steps, their hooks and exit handlers), each with where
    it is; shapes are checked by validate, so anything malformed is passed over here."""
    found: list[tuple[str, dict]] = []
    dag = template.get("dag")
    if isinstance(dag, dict) and isinstance(dag.get("tasks"), list):
        for task in dag["tasks"]:
            if isinstance(task, dict):
                found += _call_and_hooks(f"{where}: task {task.get('name')}", task)
    groups = template.get("steps")
    for index, group in enumerate(groups if isinstance(groups, list) else []):
        if isinstance(group, dict):
            group = group.get("steps")
        for step in group if isinstance(group, list) else []:
            if isinstance(step, dict):
                found += _call_and_hooks(f"{where}: steps[{index}] {step.get('name')}", step)
    return found


def _call_and_hooks(where: str, item: dict) -> list[tuple[str, dict]]:
    found = [(where, item)]
    if isinstance(item.get("onExit"), str):
        found.append((f"{where}: onExit", {"template": item["onExit"]}))
    return found + _hook_calls(where, item.get("hooks"))


def _hook_calls(where: str, hooks) -> list[tuple[str, dict]]:
    if not isinstance(hooks, dict):
        return []
    return [
        (f"{where}: hooks.{name}", hook) for name, hook in hooks.items() if isinstance(hook, dict)
    ]


def _check_holder(where: str, holder: dict) -> None:
    """One way to name the template, a name the file gives (not one computed at run time)."""
    given = [key for key in ("template", "templateRef", "inline") if holder.get(key) is not None]
    if len(given) != 1:
        raise UserError(f"{where}: give exactly one of template, templateRef or inline")
    if given == ["template"] and not isinstance(holder["template"], str):
        raise UserError(f"{where}: template must be a template's name, not {holder['template']!r}")
    if given == ["templateRef"]:
        ref = check_fields(f"{where}: templateRef", holder["templateRef"], REF_FIELDS)
        for key in ("name", "template"):
            if not isinstance(ref.get(key), str) or not ref[key]:
                raise UserError(f"{where}: templateRef needs {key}")
        if not isinstance(ref.get("clusterScope", False), bool):
            raise UserError(f"{where}: templateRef.clusterScope must be true or false")
    named = holder.get("templateRef") or {"template": holder.get("template")}
    if any(isinstance(value, str) and TAG.search(value) for value in named.values()):
        raise UserError(
            f"{where}: the template is chosen at run time ({{{{...}}}}); the local runner needs "
            "it named in the file"
        )


def _index(where: str, spec: dict) -> dict[str, dict]:
    """A spec's templates by name; each a mapping with a name of its own."""
    templates = [
        mapping(f"{where}.templates[{index}]", template)
        for index, template in enumerate(items(f"{where}.templates", spec.get("templates")))
    ]
    check_field_names(f"{where}.templates", [template.get("name") for template in templates])
    return {template["name"]: template for template in templates}


def strategic_merge(original, patch, field_name: str | None = None):
    """``patch`` merged over ``original`` as Kubernetes' strategic merge patch does for Argo's
    types: mappings key by key, lists of :data:`MERGE_KEYS` item by item, anything else
    replaced. A null in ``patch`` is no value, as when Go reads it into a struct."""
    if isinstance(original, dict) and isinstance(patch, dict):
        merged = copy.deepcopy(original)
        for key, value in patch.items():
            if value is not None:
                merged[key] = strategic_merge(original.get(key), value, key)
        return merged
    key = MERGE_KEYS.get(field_name or "")
    if key and isinstance(original, list) and isinstance(patch, list):
        patches = {item.get(key): item for item in patch if isinstance(item, dict)}
        merged = [
            strategic_merge(item, patches.pop(item[key]))
            if isinstance(item, dict) and item.get(key) in patches
            else copy.deepcopy(item)
            for item in original
        ]
        return merged + [
            copy.deepcopy(item)
            for item in patch
            if not isinstance(item, dict) or item.get(key) in patches
        ]
    return copy.deepcopy(patch)


def _keep_declarations(merged: dict, own: dict, template_spec: dict) -> None:
    """JoinWorkflowSpec's rule for arguments: a parameter with a value, default or valueFrom is
    the Workflow's declaration whole if the Workflow gives one, else the WorkflowTemplate's."""

    def declared(spec: dict) -> dict[str, dict]:
        parameters = (spec.get("arguments") or {}).get("parameters") or []
        return {p["name"]: p for p in parameters if isinstance(p, dict) and _has_value(p)}

    workflow_params, template_params = declared(own), declared(template_spec)
    parameters = (merged.get("arguments") or {}).get("parameters") or []
    for index, param in enumerate(parameters):
        if isinstance(param, dict) and _has_value(param):
            name = param.get("name")
            chosen = workflow_params.get(name) or template_params.get(name)
            if chosen is not None:
                parameters[index] = copy.deepcopy(chosen)


def _has_value(param: dict) -> bool:
    return any(param.get(key) is not None for key in ("value", "default", "valueFrom"))
