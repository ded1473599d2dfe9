"""Kubernetes objects on this machine: the API server's store and the manifests it takes.

:class:`ObjectStore` keeps objects by (API group, kind, namespace, name) and answers create,
replace, merge patch, get and delete with the API server's outcomes (409 AlreadyExists, 404
NotFound as :class:`ApiError`). ``status`` belongs to the operators: writes of a manifest never
touch it, :meth:`ObjectStore.set_status` does. :func:`parse_templated_manifest` reads a manifest
before Argo substitutes its ``{{...}}`` expressions.

kubectl's jsonpath reads are in :mod:`mlflows.local.lang.jsonpath`, the operators' pods in
:mod:`mlflows.local.cluster.pods`.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

import yaml

from mlflows.errors import UserError
from mlflows.local.lang.templating import TAG


class KubectlError(Exception):
    """What kubectl reports when it fails; the step fails with it."""


class ApiError(KubectlError):
    """An error the API server answers with."""

    def __init__(self, code: int, reason: str, message: str):
        super().__init__(f"Error from server ({reason}, HTTP {code}): {message}")


@dataclass(frozen=True)
class ObjectKey:
    group: str  # "" for the core API (ConfigMap, Secret)
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


def api_group(manifest: dict) -> str:
    api_version = str(manifest.get("apiVersion", ""))
    return api_version.rpartition("/")[0]


def now() -> str:
    """RFC 3339 in UTC, as Kubernetes writes times."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# Kubernetes' utilrand alphabet for generateName: no vowels, no look-alike digits.
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


class ObjectStore:
    """The objects of one run. Not thread-safe: the caller serialises access."""

    def __init__(self, namespace: str):
        self.namespace = namespace
        self._objects: dict[ObjectKey, dict] = {}
        self._resource_version = 0

    def __contains__(self, key: ObjectKey) -> bool:
        return key in self._objects

    def key(self, manifest: dict) -> ObjectKey:
        metadata = manifest.get("metadata") or {}
        return ObjectKey(
            api_group(manifest),
            str(manifest.get("kind", "")),
            metadata.get("namespace") or self.namespace,
            metadata.get("name", ""),
        )

    def create(self, manifest: dict) -> dict:
        obj = as_json(manifest)
        metadata = obj.setdefault("metadata", {})
        metadata["namespace"] = metadata.get("namespace") or self.namespace
        if not metadata.get("name"):
            metadata["name"] = self._generate_name(obj)
        key = self.key(obj)
        if key in self._objects:
            raise ApiError(
                409, "AlreadyExists", f"{key} already exists; use action apply to update it"
            )
        obj.pop("status", None)
        metadata.update(uid=str(uuid.uuid4()), creationTimestamp=now())
        if "spec" in obj:
            metadata["generation"] = 1
        self._store(key, obj)
        return copy.deepcopy(obj)

    def replace(self, manifest: dict) -> tuple[dict, str]:
        """Replace an existing object's content (its status stays); the second value is kubectl's
        word for what happened: configured or unchanged."""
        key = self.key(manifest)
        current = self.get(key)
        new = as_json(manifest)
        new.pop("status", None)
        new.setdefault("metadata", {})["namespace"] = key.namespace
        for field in ("uid", "creationTimestamp", "generation", "resourceVersion"):
            if field in current["metadata"]:
                new["metadata"][field] = current["metadata"][field]
        if "status" in current:
            new["status"] = current["status"]
        if new == current:
            return current, "unchanged"
        if "spec" in new and new.get("spec") != current.get("spec"):
            new["metadata"]["generation"] = current["metadata"].get("generation", 0) + 1
        self._store(key, new)
        return copy.deepcopy(new), "configured"

    def patched(self, manifest: dict) -> dict:
        """The object after a JSON merge patch (RFC 7386) with ``manifest`` as the patch, as
        ``kubectl patch --type merge -f manifest --patch-file manifest`` computes it."""
        current = self.get(self.key(manifest))
        current.pop("status", None)
        return merge_patch(current, as_json(manifest))

    def get(self, key: ObjectKey) -> dict:
        if key not in self._objects:
            raise ApiError(404, "NotFound", f"{key} not found")
        return copy.deepcopy(self._objects[key])

    def delete(self, key: ObjectKey) -> bool:
        """Whether it existed (Argo deletes with --ignore-not-found, so absence is no error)."""
        return self._objects.pop(key, None) is not None

    def set_status(self, key: ObjectKey, status: dict) -> None:
        obj = self._objects.get(key)
        if obj is not None and obj.get("status") != status:
            obj["status"] = copy.deepcopy(status)
            self._bump(obj)

    def dump(self) -> list[dict]:
        return copy.deepcopy(list(self._objects.values()))

    def _generate_name(self, obj: dict) -> str:
        prefix = obj["metadata"].get("generateName")
        if not prefix:
            raise ApiError(422, "Invalid", "metadata.name or metadata.generateName is required")
        while True:
            name = prefix + "".join(secrets.choice(_NAME_ALPHABET) for _ in range(5))
            if self.key({**obj, "metadata": {**obj["metadata"], "name": name}}) not in self:
                return name

    def _store(self, key: ObjectKey, obj: dict) -> None:
        self._bump(obj)
        self._objects[key] = obj

    def _bump(self, obj: dict) -> None:
        self._resource_version += 1
        obj["metadata"]["resourceVersion"] = str(self._resource_version)


# ---------------------------------------------------------------------------------------------
# Manifests


def merge_patch(target: object, patch: object) -> object:
    """RFC 7386: objects merge key by key, ``null`` deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


class Unresolved(str):
    """A manifest value that is wholly an Argo expression (``{{...}}``): known only at run time,
    so checks before the run accept it as any value."""


def parse_templated_manifest(text: str) -> dict:
    """A resource template's manifest before Argo substitutes its ``{{...}}`` expressions.

    Each expression is swapped for a plain word so that the YAML parses, then put back: a value
    that was only an expression becomes :class:`Unresolved`, text around one stays literal.
    """
    expressions: list[str] = []

    def placeholder(match: re.Match[str]) -> str:
        expressions.append(match.group(0))
        return f"argo-expression-{len(expressions) - 1}-"

    try:
        manifest = yaml.safe_load(TAG.sub(placeholder, text))
    except yaml.YAMLError as error:
        first_line = str(error).splitlines()[0]
        raise UserError(f"resource.manifest is not valid YAML: {first_line}") from None
    if not isinstance(manifest, dict):
        raise UserError("resource.manifest must be one YAML object (a mapping)")
    return _restore(manifest, expressions)


def _restore(value: object, expressions: list[str]) -> object:
    if isinstance(value, dict):
        return {_restore(k, expressions): _restore(v, expressions) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore(item, expressions) for item in value]
    if not isinstance(value, str) or "argo-expression-" not in value:
        return value
    restored = re.sub(r"argo-expression-(\d+)-", lambda m: expressions[int(m.group(1))], value)
    return Unresolved(restored) if TAG.fullmatch(restored) else restored


def as_json(manifest: dict) -> dict:
    """What the API server would store: JSON types only (YAML dates become strings)."""
    return json.loads(json.dumps(manifest, default=str))
