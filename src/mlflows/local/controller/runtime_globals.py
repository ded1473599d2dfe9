"""``{{workflow.status}}``, ``{{workflow.duration}}`` and ``{{workflow.failures}}``, the variables
Argo v4.1.2's controller sets while the workflow runs (workflow/controller/operator.go):

- ``setGlobalRuntimeParameters``, on every pass before any template is executed: ``status`` is
  the workflow's phase (``Running`` while it runs), ``duration`` the seconds since it started,
  written with Go's ``%f`` (six decimals) — so a template sees them as they are when it is
  executed;
- ``operate``, once the entry node has ended, before the hooks and the exit handler: ``status``
  is the entry node's phase as the workflow's (``Succeeded`` for Skipped or Omitted), and
  ``failures`` the failed and errored nodes (``failedNodeStatus``), ``json.Marshal``-ed and then
  ``strconv.Quote``-d: a JSON list in double quotes, ``"null"`` when none failed
  (util/variables/keys/globals.go: consumers decode it twice). The workflow's hooks, evaluated on
  every pass after the entry node, see ``failures`` so far too.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

from mlflows.local.controller.nodes import Node, Phase, pod_name
from mlflows.local.lang import gojson, gostrconv, keys
from mlflows.local.lang.templating import Scope


def running(started_at: float, final: Scope) -> Scope:
    """``status`` and ``duration`` as a template executed now sees them; ``final`` holds the
    entry node's outcome once it has ended."""
    scope: Scope = {keys.WORKFLOW_DURATION(): f"{time.time() - started_at:f}"}
    scope[keys.WORKFLOW_STATUS()] = final.get(keys.WORKFLOW_STATUS(), Phase.RUNNING.value)
    return scope


def failures(workflow_name: str, nodes: list[Node]) -> str:
    """``{{workflow.failures}}``: each failed or errored node, quoted as the controller does."""
    failed = [
        gojson.marshal_struct(
            [
                ("displayName", node.display_name),
                ("message", node.message),
                ("templateName", _template_of(node)),
                ("phase", node.phase.value),
                ("podName", pod_name(workflow_name, node.name, _template_of(node))),
                ("finishedAt", _metav1_time(node.finished_at or node.started_at)),
            ]
        )
        for node in nodes
        if node.phase.failed_or_error
    ]
    return gostrconv.quote("[" + ",".join(failed) + "]" if failed else "null")


def _template_of(node: Node) -> str:
    """workflow/util GetTemplateFromNode: its templateRef's template, else its template name."""
    if node.template_ref:
        return node.template_ref.get("template", "")
    return node.template_name or ""


def _metav1_time(timestamp: float) -> str:
    """A metav1.Time as JSON: RFC 3339 to the second, in UTC."""
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
