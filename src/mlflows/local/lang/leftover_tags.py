"""Tags still in a pod's or an http template once it is substituted, treated as Argo does.

executeTemplate substitutes a template with ``allowUnresolved`` (workflow/common/util.go
``SubstituteParams``): a simple tag whose key is not in scope is written back as it was, and the
pod is created with it (workflowpod.go then checks only ``archiveLocation``). So
``{{workflow.scheduledTime}}`` without the ``workflows.argoproj.io/scheduled-time`` annotation,
or a ``{{name}}`` of the program's own, reaches the container as literal text.

Which tags can be left depends on ``argo lint`` (workflow/validate/validate.go
``resolveAllVariables``), which refuses, at submission, a tag under a variable root
(``common.GlobalVarValidWorkflowVariablePrefix``) that is not in scope, unless it is one the
controller may only know at run time. Every other tag lint lets through. The runner does not
lint references up front: a leftover lint would have refused ends the node Error when it runs,
with lint's message.
"""

from __future__ import annotations

from typing import Any

from mlflows.local.lang import keys
from mlflows.local.lang.templating import unresolved_tags

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


def lint_refuses(tag: str) -> bool:
    """Whether ``argo lint`` refuses ``tag`` (``{{...}}``) when it is not in scope."""
    key = tag[2:-2].strip()
    return key.startswith(VARIABLE_ROOTS) and not key.startswith(RUN_TIME_PREFIXES)


def refused_leftover(value: Any) -> str | None:
    """The node's error for the first tag left in ``value`` that lint refuses; None when every
    leftover stays as written, as Argo runs the pod with it."""
    for tag in unresolved_tags(value):
        if lint_refuses(tag):
            return f"failed to resolve {tag}"
    return None
