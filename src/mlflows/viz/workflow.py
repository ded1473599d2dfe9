"""A workflow's spec as a graph, drawn the way Argo's UI draws a run of it.

- A DAG's tasks are boxes, with an arrow from each task named in ``depends`` (or
  ``dependencies``); an arrow is labelled with the outcomes it waits for when these are not
  simply success (``Failed``, or ``any outcome`` for a fan-in that tolerates failures).
- A steps template's groups follow each other in order: every step of a group leads to every
  step of the next, through a dot when both groups have several steps (Argo's StepGroup node).
- A task or step calling a DAG or steps template is a box followed by that template's own
  boxes, and the tasks after it follow that template's last boxes (Argo's outbound nodes). A
  template already being drawn (a recursion) is not drawn again.
- A loop (``withItems``, ``withParam``, ``withSequence``) is one box, drawn stacked and marked
  with what it loops over.
- The exit handler (``spec.onExit`` or the ``exit`` hook) is a box of its own after the
  workflow's last boxes, with dashed arrows; a task's or step's hooks hang from it by dashed
  arrows (``exit`` on its exit hook's); the workflow's other hooks stand alone. A hook's box
  says when it runs (its expression).

Box ids follow the nesting (``task/inner-task``, ``task/[1]/step``, ``task#onExit``), with
separators no Argo name holds, so they are unique. The entry template itself is not a box
(Argo's UI shows it as the workflow's root node), so a workflow of one container is one box.
"""

from __future__ import annotations

import json
import re

import yaml

from mlflows.errors import UserError
from mlflows.viz.graph import Box, Graph

LOOPS = ("withItems", "withParam", "withSequence")
_DEPENDENCY = re.compile(r"([A-Za-z0-9_][-A-Za-z0-9_]*)(?:\.([A-Za-z]+))?")
_FAILURES = {"Failed", "Errored"}
SPEC_KINDS = ("Workflow", "WorkflowTemplate", "ClusterWorkflowTemplate", "CronWorkflow")


def workflow_graph(document: dict, entrypoint: str | None = None) -> Graph:
    """The graph of ``document`` (a Workflow, WorkflowTemplate or CronWorkflow) from
    ``entrypoint`` (default: the spec's)."""
    spec = workflow_spec(document)
    templates = spec.get("templates")
    if not isinstance(templates, list) or not templates:
        if spec.get("workflowTemplateRef"):
            raise UserError(
                "spec.workflowTemplateRef: the templates are in that WorkflowTemplate; "
                "draw its file instead"
            )
        raise UserError("spec.templates: the workflow has no templates to draw")
    by_name = {t["name"]: t for t in templates if isinstance(t, dict) and "name" in t}
    entry = entrypoint or spec.get("entrypoint")
    if not entry:
        raise UserError("spec.entrypoint: the workflow names none; give --entrypoint TEMPLATE")
    if entry not in by_name:
        field = "--entrypoint" if entrypoint else "spec.entrypoint"
        raise UserError(
            f"{field}: no template named {entry!r}; the templates are: {', '.join(by_name)}"
        )
    drawing = _Drawing(by_name)
    outbound = drawing.entry(by_name[entry])
    drawing.workflow_hooks(spec, outbound)
    return drawing.graph


def workflow_spec(document: dict) -> dict:
    """The part of ``document`` that holds the templates."""
    kind = document.get("kind") if isinstance(document, dict) else None
    if kind not in SPEC_KINDS:
        raise UserError(f"kind {kind!r}: draw a {', '.join(SPEC_KINDS[:-1])} or CronWorkflow")
    spec = document.get("spec")
    if kind == "CronWorkflow" and isinstance(spec, dict):
        spec = spec.get("workflowSpec")
    if not isinstance(spec, dict):
        field = "spec.workflowSpec" if kind == "CronWorkflow" else "spec"
        raise UserError(f"{field}: the {kind} has no spec to draw")
    return spec


def dependencies(task: dict) -> dict[str, set[str]]:
    """The tasks ``task`` waits for, each with the outcomes its ``depends`` names."""
    if "depends" in task:
        found: dict[str, set[str]] = {}
        for name, outcome in _DEPENDENCY.findall(str(task["depends"])):
            found.setdefault(name, set()).update([outcome] if outcome else [])
        return found
    return {str(name): set() for name in task.get("dependencies") or []}


def outcome_label(outcomes: set[str]) -> str:
    """What an arrow says about the outcomes it waits for: nothing for plain success."""
    if {"Succeeded"} | _FAILURES <= outcomes:
        return "any outcome"
    if outcomes and outcomes != {"Succeeded"}:
        order = ["Succeeded", "Failed", "Errored", "Skipped", "Omitted", "Daemoned"]
        return " or ".join(sorted(outcomes, key=lambda o: order.index(o) if o in order else 9))
    return ""


class _Drawing:
    def __init__(self, templates: dict[str, dict]):
        self.templates = templates
        self.graph = Graph()

    def entry(self, template: dict) -> list[str]:
        """Draw the entry template's body (or one box for a leaf); its outbound boxes."""
        entries, outbound = self.body(template, "", (template["name"],))
        if entries:
            return outbound
        self.graph.add(Box(template["name"], template["name"], _template_details(template)))
        return [template["name"]]

    def body(self, template: dict, prefix: str, stack: tuple[str, ...]):
        """(entry boxes, outbound boxes) of a DAG or steps template; nothing for a leaf."""
        if isinstance(template.get("dag"), dict):
            return self.dag(template, prefix, stack)
        if isinstance(template.get("steps"), list):
            return self.steps(template, prefix, stack)
        return [], []

    def dag(self, template: dict, prefix: str, stack: tuple[str, ...]):
        tasks = [t for t in template["dag"].get("tasks") or [] if isinstance(t, dict)]
        drawn = {task.get("name"): self.call(task, prefix, stack, "task") for task in tasks}
        waited_for: set[str] = set()
        for task in tasks:
            for name, outcomes in dependencies(task).items():
                if name not in drawn:
                    raise UserError(
                        f"template {stack[-1]}: task {task['name']}: depends on "
                        f"{name!r}, which is no task of this DAG"
                    )
                waited_for.add(name)
                for source in drawn[name][1]:
                    self.graph.connect(source, drawn[task["name"]][0], outcome_label(outcomes))
        entries = [drawn[t["name"]][0] for t in tasks if not dependencies(t)]
        leaves = [name for name in drawn if name not in waited_for]
        outbound = [box for name in leaves for box in drawn[name][1]]
        return entries, outbound

    def steps(self, template: dict, prefix: str, stack: tuple[str, ...]):
        entries: list[str] = []
        previous: list[str] = []
        for index, group in enumerate(template["steps"]):
            steps = [step for step in group or [] if isinstance(step, dict)]
            drawn = [self.call(step, f"{prefix}[{index}]/", stack, "step") for step in steps]
            if not drawn:
                continue
            heads = [box for box, _ in drawn]
            if not previous:
                entries = heads
            elif len(previous) > 1 and len(heads) > 1:
                dot = self.graph.add(Box(f"{prefix}[{index}]", f"[{index}]", kind="group"))
                for source in previous:
                    self.graph.connect(source, dot.id)
                for head in heads:
                    self.graph.connect(dot.id, head)
            else:
                for source in previous:
                    for head in heads:
                        self.graph.connect(source, head)
            previous = [box for _, outbound in drawn for box in outbound]
        return entries, previous

    def call(
        self, call: dict, prefix: str, stack: tuple[str, ...], kind: str
    ) -> tuple[str, list[str]]:
        """Draw a task or step, its template's body and its hooks: (its box, its outbound)."""
        name = call.get("name")
        if not name:
            raise UserError(f"template {stack[-1]}: a {kind} has no name")
        box_id = prefix + name
        if box_id in self.graph.boxes:
            raise UserError(f"template {stack[-1]}: two {kind}s are named {name!r}")
        template, label = self.resolve(call, f"template {stack[-1]}: {kind} {name}")
        details = [label] if label != name else []
        if template is not None:
            details += _template_details(template)
        loop = next((key for key in LOOPS if key in call), None)
        if loop:
            details.append(_loop_detail(loop, call[loop]))
        if call.get("when"):
            details.append(f"when {call['when']}")
        recursive = template is not None and template.get("name") in stack
        if recursive:
            details.append("recursive")
        self.graph.add(Box(box_id, name, details, kind="loop" if loop else "task"))
        outbound = [box_id]
        if template is not None and not recursive:
            inner = stack + ((template["name"],) if "name" in template else ())
            entries, exits = self.body(template, box_id + "/", inner)
            for entry in entries:
                self.graph.connect(box_id, entry)
            outbound = exits or outbound
        self.hooks(call, box_id, stack)
        return box_id, outbound

    def resolve(self, call: dict, where: str) -> tuple[dict | None, str]:
        """The template a call runs (None when it is in another document) and its label."""
        if "template" in call:
            name = call["template"]
            if name not in self.templates:
                raise UserError(f"{where}: no template named {name!r} in this workflow")
            return self.templates[name], name
        if isinstance(call.get("templateRef"), dict):
            ref = call["templateRef"]
            scope = " (cluster)" if ref.get("clusterScope") else ""
            return None, f"{ref.get('name')}/{ref.get('template')}{scope}"
        if isinstance(call.get("inline"), dict):
            return call["inline"], "inline"
        raise UserError(f"{where}: give it a template, templateRef or inline template")

    def hooks(self, call: dict, box_id: str, stack: tuple[str, ...]) -> None:
        hooks = dict(call.get("hooks") or {})
        if call.get("onExit"):  # the older spelling of the exit hook
            hooks.setdefault("exit", {"template": call["onExit"]})
        for name, hook in hooks.items():
            title = f"{call['name']}.onExit" if name == "exit" else f"{call['name']}.hooks.{name}"
            hook_id = f"{box_id}#onExit" if name == "exit" else f"{box_id}#hooks.{name}"
            box = self.hook_box(hook, hook_id, title, "hook", stack, f"{box_id}: hook {name}")
            if hook.get("expression"):
                box.details.append(f"when {hook['expression']}")
            self.graph.connect(box_id, hook_id, "exit" if name == "exit" else "", dashed=True)

    def workflow_hooks(self, spec: dict, outbound: list[str]) -> None:
        hooks = dict(spec.get("hooks") or {})
        if spec.get("onExit"):
            hooks.setdefault("exit", {"template": spec["onExit"]})
        for name, hook in hooks.items():
            if name == "exit":
                self.hook_box(hook, "#onExit", "onExit", "exit", (), "spec.onExit")
                for box in outbound:
                    self.graph.connect(box, "#onExit", dashed=True)
            else:
                box = self.hook_box(
                    hook, f"#hooks.{name}", f"hooks.{name}", "hook", (), f"spec.hooks.{name}"
                )
                if hook.get("expression"):
                    box.details.append(f"when {hook['expression']}")

    def hook_box(
        self, hook: dict, box_id: str, title: str, kind: str, stack: tuple[str, ...], where: str
    ) -> Box:
        template, label = self.resolve(hook, where)
        details = [label] + (_template_details(template) if template else [])
        box = self.graph.add(Box(box_id, title, details, kind=kind))
        if template is not None and template.get("name") not in stack:
            inner = stack + ((template["name"],) if "name" in template else ())
            entries, _ = self.body(template, box_id + "/", inner)
            for entry in entries:
                self.graph.connect(box_id, entry)
        return box


def _template_details(template: dict) -> list[str]:
    """What a box says of the template it runs, beyond its name."""
    details = []
    if isinstance(template.get("resource"), dict):
        details.append(f"{template['resource'].get('action', 'resource')} {_kind(template)}")
    elif "suspend" in template:
        details.append("suspend")
    marks = []
    if template.get("memoize"):
        marks.append("memoized")
    retry = template.get("retryStrategy")
    if isinstance(retry, dict) and retry.get("limit") is not None:
        marks.append(f"retries {retry['limit']}")
    return details + ([" · ".join(marks)] if marks else [])


def _kind(template: dict) -> str:
    """The kind of object a resource template acts on, read from its manifest."""
    manifest = template["resource"].get("manifest")
    if isinstance(manifest, str):
        try:
            manifest = yaml.safe_load(manifest)
        except yaml.YAMLError:
            manifest = None
    return str(manifest.get("kind", "object")) if isinstance(manifest, dict) else "object"


def _loop_detail(loop: str, source) -> str:
    if loop == "withItems" and isinstance(source, list):
        items = [item if isinstance(item, str) else json.dumps(item) for item in source]
        return f"withItems: {', '.join(items)}"
    if loop == "withSequence" and isinstance(source, dict):
        parts = [f"{key} {source[key]}" for key in ("start", "end", "count") if key in source]
        return f"withSequence: {', '.join(parts)}"
    return f"{loop}: {source}"
