"""A workflow to run: from a Hera object, a dict or a YAML file; its name, parameters, globals.

A CronWorkflow runs as the Workflow it would start, once, as ``argo submit --from cronwf/NAME``
does (workflow/common/convert.go ``ConvertCronWorkflowToWorkflow``).
"""

from __future__ import annotations

import copy
import uuid
from datetime import datetime, timezone
from pathlib import Path

import yaml

from mlflows.errors import UserError
from mlflows.local.lang import keys
from mlflows.local.lang.gojson import Struct, marshal, marshal_struct
from mlflows.local.lang.templating import Scope, argo_string
from mlflows.local.spec.names import generated_name

CRON_WORKFLOW_LABEL = "workflows.argoproj.io/cron-workflow"
SCHEDULED_TIME_ANNOTATION = "workflows.argoproj.io/scheduled-time"


def workflow_dict(source) -> dict:
    """The workflow as a plain dict: ``Workflow.to_dict()``, a copy of a dict, or a YAML file; a
    CronWorkflow's workflow."""
    if hasattr(source, "to_dict"):
        document = source.to_dict()
    elif isinstance(source, dict):
        document = copy.deepcopy(source)
    elif isinstance(source, (str, Path)):
        document = load_yaml(Path(source))
    else:
        raise UserError(
            f"cannot run a {type(source).__name__}; give a Hera Workflow, a dict or a YAML file"
        )
    return cron_workflow_run(document) if document.get("kind") == "CronWorkflow" else document


def cron_workflow_run(cron: dict) -> dict:
    """The Workflow ``cron`` starts: named ``<cron>-`` plus a suffix, its spec the cron's
    workflowSpec, its labels and annotations the workflowMetadata's (and the cron's name, the
    time it was started at)."""
    metadata = cron.get("metadata") if isinstance(cron.get("metadata"), dict) else {}
    spec = cron.get("spec") if isinstance(cron.get("spec"), dict) else {}
    if not metadata.get("name") or not isinstance(metadata["name"], str):
        raise UserError("metadata.name: give the CronWorkflow a name")
    if not isinstance(spec.get("workflowSpec"), dict):
        raise UserError("spec.workflowSpec: give the spec of the workflow the CronWorkflow runs")
    run = _mapping_or_none("spec.workflowMetadata", spec.get("workflowMetadata"))
    labels = _mapping_or_none("spec.workflowMetadata.labels", run.get("labels"))
    annotations = _mapping_or_none("spec.workflowMetadata.annotations", run.get("annotations"))
    started = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    workflow_metadata = {
        "generateName": f"{metadata['name']}-",
        "labels": {CRON_WORKFLOW_LABEL: metadata["name"], **labels},
        "annotations": {SCHEDULED_TIME_ANNOTATION: started, **annotations},
    }
    if metadata.get("namespace"):
        workflow_metadata["namespace"] = metadata["namespace"]
    return {
        "apiVersion": cron.get("apiVersion", "argoproj.io/v1alpha1"),
        "kind": "Workflow",
        "metadata": workflow_metadata,
        "spec": spec["workflowSpec"],
    }


def _mapping_or_none(where: str, value) -> dict:
    if value is not None and not isinstance(value, dict):
        raise UserError(f"{where}: expected a mapping")
    return value or {}


def load_yaml(path: Path) -> dict:
    try:
        text = path.read_text()
    except OSError as err:
        raise UserError(f"{path}: cannot read it ({err.strerror})") from None
    try:
        documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as err:
        where = getattr(err, "problem_mark", None)
        line = f" at line {where.line + 1}" if where else ""
        problem = getattr(err, "problem", None) or "syntax error"
        raise UserError(f"{path}: not valid YAML{line}: {problem}") from None
    if len(documents) != 1 or not isinstance(documents[0], dict):
        raise UserError(f"{path}: expected exactly one Workflow document")
    return documents[0]


def workflow_name(workflow: dict) -> str:
    """``metadata.name``, or a new name from ``generateName`` as the API server makes it (the
    workflow passed :func:`~mlflows.local.spec.names.check_workflow_name`)."""
    metadata = workflow.get("metadata") or {}
    if metadata.get("name"):
        return metadata["name"]
    if metadata.get("generateName"):
        return generated_name(metadata["generateName"])
    raise UserError("metadata: give the workflow a name or generateName")


def has_fixed_name(workflow: dict) -> bool:
    """Whether the workflow names itself (``metadata.name``) rather than asking for a new name."""
    return bool((workflow.get("metadata") or {}).get("name"))


def workflow_parameters(workflow: dict, overrides: dict[str, str]) -> dict[str, str]:
    """The workflow's ``spec.arguments.parameters`` with the user's values applied."""
    declared = ((workflow.get("spec") or {}).get("arguments") or {}).get("parameters") or []
    names = [param["name"] for param in declared]
    for name in overrides:
        if name not in names:
            known = ", ".join(names) or "none"
            raise UserError(f"unknown parameter {name!r}; the workflow's parameters are: {known}")
    values = {}
    for param in declared:
        name = param["name"]
        if name in overrides:
            value = overrides[name]
        elif param.get("value") is not None:
            value = argo_string(param["value"])
        elif param.get("default") is not None:
            value = argo_string(param["default"])
        else:
            raise UserError(f"parameter {name} has no value; pass -p {name}=VALUE")
        enum = [argo_string(option) for option in param.get("enum") or []]
        if enum and value not in enum:
            raise UserError(f"parameter {name}: {value!r} is not one of {', '.join(enum)}")
        values[name] = value
    return values


def parameters_json(spec: dict, values: dict[str, str]) -> str:
    """``{{workflow.parameters}}``: setGlobalParameters' json.Marshal of
    ``spec.arguments.parameters``, each a Parameter struct (its fields in declaration order,
    unset ones left out), its value the one the run uses (a -p value replaces it, as argo submit
    does); one read from a ConfigMap keeps only its valueFrom, as in the spec."""
    listed = []
    for param in (spec.get("arguments") or {}).get("parameters") or []:
        # its value, a -p one, or (where Argo would want a value) the default the run uses
        value = param.get("value") if "valueFrom" in param else values[param["name"]]
        fields = [
            ("name", param["name"]),
            ("default", _any_string(param.get("default"))),
            ("value", _any_string(value)),
            ("valueFrom", _value_from(param.get("valueFrom"))),
            ("globalName", param.get("globalName") or None),
            ("enum", [argo_string(option) for option in param.get("enum") or []] or None),
            ("description", _any_string(param.get("description"))),
        ]  # omitempty: a nil pointer, "" string or empty list is left out; a pointer to "" is not
        listed.append(marshal_struct([(key, v) for key, v in fields if v is not None]))
    return "[" + ",".join(listed) + "]"


def _any_string(value) -> str | None:
    """An AnyString field: whatever YAML gave, as its string."""
    return None if value is None else argo_string(value)


def _value_from(value_from: dict | None) -> Struct | None:
    """A ValueFrom struct, with the fields a workflow argument's may hold (validate.go)."""
    if not value_from:
        return None
    ref = value_from.get("configMapKeyRef")
    fields = [
        ("event", value_from.get("event") or None),
        ("supplied", marshal_struct([]) if "supplied" in value_from else None),
        ("configMapKeyRef", _struct(ref, ("name", "key", "optional")) if ref else None),
        ("default", _any_string(value_from.get("default"))),
    ]
    return marshal_struct([(key, value) for key, value in fields if value is not None])


def _struct(value: dict, order: tuple[str, ...]) -> Struct:
    return marshal_struct([(key, value[key]) for key in order if value.get(key) is not None])


def globals_scope(workflow: dict, name: str, namespace: str, parameters: dict[str, str]) -> Scope:
    """The ``{{workflow.*}}`` variables."""
    metadata = workflow.get("metadata") or {}
    spec = workflow["spec"]
    created = datetime.now(timezone.utc)
    listed = parameters_json(spec, parameters)
    scope: Scope = {
        keys.WORKFLOW_NAME(): name,
        keys.WORKFLOW_NAMESPACE(): namespace,
        keys.WORKFLOW_UID(): str(uuid.uuid4()),
        keys.WORKFLOW_MAIN_ENTRYPOINT(): spec["entrypoint"],
        keys.WORKFLOW_SERVICE_ACCOUNT_NAME(): spec.get("serviceAccountName", ""),
        keys.WORKFLOW_CREATION_TIMESTAMP(): created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        keys.WORKFLOW_CREATION_TIMESTAMP_RFC3339(): created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        keys.WORKFLOW_CREATION_TIMESTAMP_SECONDS(): str(int(created.timestamp())),
        keys.WORKFLOW_PARAMETERS(): listed,
        keys.WORKFLOW_PARAMETERS_JSON(): listed,
    }
    for character in keys.STRFTIME_CHARACTERS:
        scope[keys.WORKFLOW_CREATION_TIMESTAMP_FIELD(character)] = created.strftime(f"%{character}")
    if spec.get("priority") is not None:  # as the controller's globalParams: set when given
        scope[keys.WORKFLOW_PRIORITY()] = str(spec["priority"])
    # operator.go setGlobalParameters reads the annotation a CronWorkflow's run carries, and any
    # Workflow's: it is set by whoever submits, not only by the cron controller.
    scheduled = (metadata.get("annotations") or {}).get(SCHEDULED_TIME_ANNOTATION)
    if scheduled is not None:
        scope[keys.WORKFLOW_SCHEDULED_TIME()] = str(scheduled)
    scope.update({keys.WORKFLOW_PARAMETER(key): value for key, value in parameters.items()})
    for kind, every, as_json, one in (
        ("labels", keys.WORKFLOW_LABELS, keys.WORKFLOW_LABELS_JSON, keys.WORKFLOW_LABEL),
        (
            "annotations",
            keys.WORKFLOW_ANNOTATIONS,
            keys.WORKFLOW_ANNOTATIONS_JSON,
            keys.WORKFLOW_ANNOTATION,
        ),
    ):
        values = metadata.get(kind) or {}
        scope[every()] = scope[as_json()] = marshal(values)  # Go's json.Marshal, as the controller
        scope.update({one(key): str(value) for key, value in values.items()})
    return scope
