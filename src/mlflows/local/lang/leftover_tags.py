"""Tags still in a pod's or an http template once it is substituted, treated as Argo does.

executeTemplate substitutes a template with ``allowUnresolved`` (workflow/common/util.go
``SubstituteParams``): a simple tag whose key is not in scope is written back as it was, and the
pod is created with it (workflowpod.go then checks only ``archiveLocation``). So
``{{workflow.scheduledTime}}`` without the ``workflows.argoproj.io/scheduled-time`` annotation,
or a ``{{name}}`` of the program's own, reaches the container as literal text.

Which tags can be left depends on ``argo lint`` (workflow/validate/validate.go
``resolveAllVariables``), which refuses, at submission, a tag under a variable root
(``common.GlobalVarValidWorkflowVariablePrefix``) that is not in scope, unless it is one the
controller may only know at run time. Every other tag lint lets through. Lint reads the
template as written, not the values put into it. The runner does not lint references up front:
a tag of the template that lint would have refused, and that is not in scope when the node runs,
ends the node Error then, with lint's message.
"""

from __future__ import annotations

from typing import Any

from mlflows.local.lang import keys
from mlflows.local.lang.templating import Scope, unresolved_tags

# common.GlobalVarValidWorkflowVariablePrefix: tags outside these roots are never checked
VARIABLE_ROOTS = ("item.", "steps.", "inputs.", "outputs.", "pod.", "workflow.", "tasks.")
# resolveAllVariables' exemptions, and workflow.failures (lint's placeholder when there is an exit
# handler; set only for it): known at run time, or never (scheduledTime without its annotation,
# a global output no node has produced yet)
RUN_TIME_PREFIXES = (
    keys.WORKFLOW_OUTPUT_PARAMETER(""),
    keys.WORKFLOW_OUTPUT_ARTIFACT(""),
    "outputs.",
    keys.WORKFLOW_CREATION_TIMESTAMP(),
    keys.WORKFLOW_SCHEDULED_TIME(),
    keys.WORKFLOW_DURATION(),
    keys.WORKFLOW_FAILURES(),
    keys.TASKS.current_name(),
    keys.STEPS.current_name(),
    keys.NODE_NAME(),
)


def lint_refuses(key: str) -> bool:
    """Whether ``argo lint`` refuses a tag of this key when it is not in scope."""
    return key.startswith(VARIABLE_ROOTS) and not key.startswith(RUN_TIME_PREFIXES)


def refused_leftover(template: Any, scope: Scope) -> str | None:
    """The node's error for the first tag of ``template`` (as written) that ``scope`` cannot
    resolve and lint refuses; None when every such tag may stay as written."""
    for tag in unresolved_tags(template):
        key = tag[2:-2].strip()
        if key not in scope and lint_refuses(key):
            return f"failed to resolve {tag}"
    return None
