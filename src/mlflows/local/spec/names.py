"""The names a workflow gives, checked as Kubernetes and Argo check them, before any becomes a path.

The runner makes directories of names: ``runs/<workflow>/``, ``volumes/<claim>/``, an emptyDir
``<scratch>/<volume>/``, a ``subPath`` below a volume. A cluster accepts none that is absolute,
holds ``/`` or is ``..``, so neither does the runner:

- ``metadata.name`` and a claim name are object names, DNS-1123 subdomains
  (k8s.io/apimachinery/pkg/util/validation, IsDNS1123Subdomain); a workflow's name is also at
  most 63 characters, as Argo's validate requires (workflow/validate/validate.go,
  maxCharsInObjectName). ``generateName`` is the prefix of one: the API server keeps its first 58
  characters and appends 5 random ones (apiserver/pkg/storage/names, SimpleNameGenerator).
- a namespace and a volume name are DNS-1123 labels;
- template, DAG task and step names follow Argo's workflowFieldName rule (validate.go,
  isValidWorkflowFieldName): ASCII letters, digits and '-', starting with a letter or digit, at
  most 128 characters, unique among their siblings;
- a ``subPath`` is relative and never climbs with ``..`` (validateLocalDescendingPath).
"""

from __future__ import annotations

import re
import secrets
from pathlib import PurePosixPath

from mlflows.errors import UserError

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_LABEL = re.compile(_LABEL)
DNS1123_SUBDOMAIN = re.compile(rf"{_LABEL}(\.{_LABEL})*")
FIELD_NAME = re.compile(r"[a-zA-Z0-9][-a-zA-Z0-9]*")
MAX_LABEL = 63
MAX_SUBDOMAIN = 253
MAX_WORKFLOW_NAME = 63
MAX_FIELD_NAME = 128
RANDOM_SUFFIX = 5
# the API server's alphabet for generated names: no vowels, so no words; no 0, 1, 3 (o, l, e)
RANDOM_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"

OBJECT_NAME_RULE = (
    "lower-case letters, digits, '-' and '.', starting and ending with a letter or digit"
)
LABEL_RULE = "lower-case letters, digits and '-', starting and ending with a letter or digit"
PREFIX_RULE = "lower-case letters, digits, '-' and '.', starting with a letter or digit"
FIELD_NAME_RULE = "ASCII letters, digits and '-', starting with a letter or digit"


def _text(field: str, value, example: str) -> str:
    if not isinstance(value, str):
        raise UserError(f"{field}: give a name such as {example!r}, not {value!r}")
    return value


def check_object_name(field: str, value, max_length: int = MAX_SUBDOMAIN) -> str:
    """A Kubernetes object name (DNS-1123 subdomain) of at most ``max_length`` characters."""
    name = _text(field, value, "my-name")
    if len(name) > max_length or not DNS1123_SUBDOMAIN.fullmatch(name):
        raise UserError(
            f"{field} {name!r} is not a valid name: use {OBJECT_NAME_RULE}, at most "
            f"{max_length} characters"
        )
    return name


def check_label(field: str, value) -> str:
    """A namespace or volume name (DNS-1123 label)."""
    name = _text(field, value, "my-name")
    if len(name) > MAX_LABEL or not DNS1123_LABEL.fullmatch(name):
        raise UserError(
            f"{field} {name!r} is not a valid name: use {LABEL_RULE}, at most {MAX_LABEL} "
            "characters"
        )
    return name


def check_workflow_name(metadata: dict) -> None:
    """``metadata.name``, else ``metadata.generateName``, as the API server and Argo accept it."""
    name, prefix = metadata.get("name"), metadata.get("generateName")
    if name is not None and name != "":
        check_object_name("metadata.name", name, MAX_WORKFLOW_NAME)
    elif prefix is not None and prefix != "":
        prefix = _text("metadata.generateName", prefix, "train-")
        # any generated name: the random suffix is letters and digits, like this one
        generated = prefix[: MAX_WORKFLOW_NAME - RANDOM_SUFFIX] + "b" * RANDOM_SUFFIX
        if not DNS1123_SUBDOMAIN.fullmatch(generated):
            raise UserError(
                f"metadata.generateName {prefix!r} is not a valid name prefix: use {PREFIX_RULE}, "
                "e.g. 'train-'"
            )
    else:
        raise UserError("metadata: give the workflow a name or generateName")


def generated_name(prefix: str) -> str:
    """A name from ``generateName``, made as the API server makes it."""
    random = "".join(secrets.choice(RANDOM_ALPHABET) for _ in range(RANDOM_SUFFIX))
    return prefix[: MAX_WORKFLOW_NAME - RANDOM_SUFFIX] + random


def check_field_name(field: str, name) -> str:
    """A template, task or step name by Argo's rule; ``field`` says where, e.g.
    ``template main: dag.tasks[0].name``."""
    if name is None or name == "":
        raise UserError(f"{field} is required")
    if not isinstance(name, str):
        raise UserError(f"{field}: give a name such as 'train', not {name!r}")
    if len(name) > MAX_FIELD_NAME or not FIELD_NAME.fullmatch(name):
        raise UserError(
            f"{field} {name!r} is invalid: use {FIELD_NAME_RULE}, at most {MAX_FIELD_NAME} "
            "characters"
        )
    return name


def check_field_names(where: str, names: list) -> None:
    """Sibling names (``where`` is their list, e.g. ``spec.templates``): each valid, none twice."""
    seen: set[str] = set()
    for index, name in enumerate(names):
        field = f"{where}[{index}].name"
        check_field_name(field, name)
        if name in seen:
            raise UserError(f"{field} {name!r} is not unique")
        seen.add(name)


def check_sub_path(field: str, value) -> None:
    """A volume mount's ``subPath``: a path below the volume."""
    path = _text(field, value, "models")
    if PurePosixPath(path).is_absolute() or ".." in PurePosixPath(path).parts:
        raise UserError(f"{field} {path!r}: give a relative path inside the volume, without '..'")
