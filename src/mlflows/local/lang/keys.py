"""Every variable a workflow can reference, spelled once (Argo's util/variables/keys).

A key is a template such as ``tasks.<name>.outputs.parameters.<p>``; calling it fills the
placeholders in order. The scopes (:mod:`mlflows.local.controller.scope` and the globals of
:mod:`mlflows.local.spec.workflow`) are built from these keys, and nothing else spells a
variable's name.
"""

from __future__ import annotations

import re


class Key:
    """One variable name, with ``<placeholders>`` for the parts a reference fills in."""

    def __init__(self, template: str):
        self.template = template
        self._format = re.sub(r"<[^>]*>", "{}", template)
        self._arity = template.count("<")

    def __call__(self, *parts: str) -> str:
        if len(parts) != self._arity:
            raise TypeError(f"{self.template} takes {self._arity} parts, not {len(parts)}")
        return self._format.format(*parts)

    def __repr__(self) -> str:
        return f"Key({self.template!r})"


class NodeRef:
    """The variables of a task or step as others reference it (``tasks.<name>...``), with a
    loop's aggregated outputs under the same names, and the name of the current one."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.current_name = Key(f"{prefix}.name")
        self.id = Key(f"{prefix}.<name>.id")
        self.status = Key(f"{prefix}.<name>.status")
        self.started_at = Key(f"{prefix}.<name>.startedAt")
        self.finished_at = Key(f"{prefix}.<name>.finishedAt")
        self.exit_code = Key(f"{prefix}.<name>.exitCode")
        self.ip = Key(f"{prefix}.<name>.ip")  # a pod's IP: a daemon's address
        self.host_node_name = Key(f"{prefix}.<name>.hostNodeName")  # the node a pod ran on
        self.result = Key(f"{prefix}.<name>.outputs.result")
        self.parameters = Key(f"{prefix}.<name>.outputs.parameters")  # a loop's, as a JSON list
        self.parameter = Key(f"{prefix}.<name>.outputs.parameters.<p>")
        self.artifact = Key(f"{prefix}.<name>.outputs.artifacts.<a>")


TASKS = NodeRef("tasks")
STEPS = NodeRef("steps")

WORKFLOW_NAME = Key("workflow.name")
WORKFLOW_NAMESPACE = Key("workflow.namespace")
WORKFLOW_UID = Key("workflow.uid")
WORKFLOW_MAIN_ENTRYPOINT = Key("workflow.mainEntrypoint")
WORKFLOW_SERVICE_ACCOUNT_NAME = Key("workflow.serviceAccountName")
WORKFLOW_PRIORITY = Key("workflow.priority")  # only when spec.priority is set
WORKFLOW_SCHEDULED_TIME = Key("workflow.scheduledTime")  # only with the scheduled-time annotation
WORKFLOW_CREATION_TIMESTAMP = Key("workflow.creationTimestamp")
WORKFLOW_CREATION_TIMESTAMP_RFC3339 = Key("workflow.creationTimestamp.RFC3339")
WORKFLOW_CREATION_TIMESTAMP_SECONDS = Key("workflow.creationTimestamp.s")
# one strftime conversion character each, as the controller sets them (%s is the one above)
WORKFLOW_CREATION_TIMESTAMP_FIELD = Key("workflow.creationTimestamp.<strftime character>")
STRFTIME_CHARACTERS = "aAbBcCdDeFgGhHIjklmMnpPrRSTuUVwWxXyYzZ"
WORKFLOW_PARAMETERS = Key("workflow.parameters")
WORKFLOW_PARAMETERS_JSON = Key("workflow.parameters.json")
WORKFLOW_PARAMETER = Key("workflow.parameters.<name>")
WORKFLOW_LABELS = Key("workflow.labels")
WORKFLOW_LABELS_JSON = Key("workflow.labels.json")
WORKFLOW_LABEL = Key("workflow.labels.<name>")
WORKFLOW_ANNOTATIONS = Key("workflow.annotations")
WORKFLOW_ANNOTATIONS_JSON = Key("workflow.annotations.json")
WORKFLOW_ANNOTATION = Key("workflow.annotations.<name>")
# known once the entry template has finished, for the exit handler
WORKFLOW_STATUS = Key("workflow.status")
WORKFLOW_FAILURES = Key("workflow.failures")
WORKFLOW_DURATION = Key("workflow.duration")

INPUTS_PARAMETERS = Key("inputs.parameters")
INPUTS_PARAMETER = Key("inputs.parameters.<name>")
OUTPUTS_PARAMETER_PATH = Key("outputs.parameters.<name>.path")
INPUTS_ARTIFACT = Key("inputs.artifacts.<name>")
INPUTS_ARTIFACT_PATH = Key("inputs.artifacts.<name>.path")
OUTPUTS_ARTIFACT_PATH = Key("outputs.artifacts.<name>.path")
WORKFLOW_OUTPUT_PARAMETER = Key("workflow.outputs.parameters.<name>")
WORKFLOW_OUTPUT_ARTIFACT = Key("workflow.outputs.artifacts.<name>")
NODE_NAME = Key("node.name")
POD_NAME = Key("pod.name")
RETRIES = Key("retries")
ITEM = Key("item")
ITEM_KEY = Key("item.<key>")
