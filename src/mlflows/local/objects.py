"""Kubernetes objects on this machine: the API server's store, kubectl's reads, and pods.

:class:`ObjectStore` keeps objects by (API group, kind, namespace, name) and answers create,
replace, merge patch, get and delete with the API server's outcomes (409 AlreadyExists, 404
NotFound as :class:`ApiError`). ``status`` belongs to the operators: writes of a manifest never
touch it, :meth:`ObjectStore.set_status` does. :func:`parse_templated_manifest` reads a manifest
before Argo substitutes its ``{{...}}`` expressions.

:func:`read_jsonpath` is ``kubectl get -o jsonpath=...`` for the paths people write for output
parameters. :class:`PodProcess` is a pod's container run as a local process.
"""

from __future__ import annotations

import copy
import json
import os
import re
import secrets
import socket
import subprocess
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import yaml

from mlflows.errors import UserError
from mlflows.local.process import Invocation, stop_process_group
from mlflows.local.templating import TAG


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


# ---------------------------------------------------------------------------------------------
# kubectl get -o jsonpath=TEMPLATE

_MISSING = object()
_ACTION = re.compile(r"\{([^{}]*)\}")
_STEP = re.compile(r"""\.([^.\[\]'"\s]+)|\[(-?[0-9]+)\]|\[(['"])(.*?)\3\]""")


def parse_jsonpath(template: str) -> list[str | list[str | int]]:
    """A kubectl JSONPath template as literal text and paths (a path: field names and indexes).

    Supported: ``{.a.b}``, ``{.a[0].b}``, ``{.a[-1]}``, ``{.metadata.labels['k.io/x']}``, an
    optional leading ``$``, and text around them. Raises UserError for the rest (filters,
    wildcards, slices, unions, ``..``, ``range``), which the local runner does not evaluate.
    """
    parts: list[str | list[str | int]] = []
    position = 0
    for action in _ACTION.finditer(template):
        parts.append(template[position : action.start()])
        parts.append(_parse_path(action.group(1).strip(), template))
        position = action.end()
    parts.append(template[position:])
    if not any(isinstance(part, list) for part in parts):
        raise UserError(
            f"jsonPath {template!r} has no {{...}} expression, so kubectl would print it as is; "
            "write e.g. '{.status.url}'"
        )
    if "{" in "".join(part for part in parts if isinstance(part, str)):
        raise UserError(f"jsonPath {template!r}: unbalanced or nested braces")
    return [part for part in parts if part != ""]


def _parse_path(expression: str, template: str) -> list[str | int]:
    text = expression[1:] if expression.startswith("$") else expression
    steps: list[str | int] = []
    position = 0
    while position < len(text):
        match = _STEP.match(text, position)
        if match is None:
            break
        field, index, _, quoted = match.groups()
        if index is not None:
            steps.append(int(index))
        else:
            steps.append(field if field is not None else quoted)
        position = match.end()
    if position < len(text) or not text:
        raise UserError(
            f"jsonPath {template!r}: the local runner reads plain paths such as "
            "{.status.url}, {.a[0].b} or {.a['k.x']}; filters, wildcards, slices, unions, '..' "
            "and range are not supported"
        )
    return steps


def read_jsonpath(document: dict, template: str) -> str:
    """What kubectl prints: a missing field prints nothing; indexing past an array's end or
    into a non-array is kubectl's error (KubectlError). A template outside the supported subset
    is a UserError."""
    printed = []
    for part in parse_jsonpath(template):
        if isinstance(part, str):
            printed.append(part)
            continue
        value: object = document
        for step in part:
            if value is None or value is _MISSING:
                value = _MISSING  # kubectl prints nothing below a missing or null field
                break
            if isinstance(step, int):
                if not isinstance(value, list):
                    raise KubectlError(
                        f"error executing jsonpath {template!r}: [{step}] indexes a non-array"
                    )
                if not -len(value) <= step < len(value):
                    raise KubectlError(
                        f"error executing jsonpath {template!r}: array index out of bounds: "
                        f"index {step}, length {len(value)}"
                    )
                value = value[step]
            else:
                value = value.get(step, _MISSING) if isinstance(value, dict) else _MISSING
        if value is not _MISSING:
            printed.append(_kubectl_text(value))
    return "".join(printed)


def _kubectl_text(value: object) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _go_shortest_g(value)
    return str(value)


def _go_shortest_g(value: float) -> str:
    """Go's ``%v`` of a float64: shortest digits, exponent form below 1e-4 and from 1e6."""
    decimal = Decimal(repr(value)).normalize()
    exponent = decimal.adjusted()
    if -4 <= exponent < 6:
        return format(decimal, "f")
    sign, digits, _ = decimal.as_tuple()
    mantissa = str(digits[0]) + ("." + "".join(map(str, digits[1:])) if len(digits) > 1 else "")
    return f"{'-' if sign else ''}{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"


# ---------------------------------------------------------------------------------------------
# Pods and the operators that run them


@dataclass(frozen=True)
class Observation:
    """What an operator reports about its object at one moment."""

    status: dict
    settled: bool  # nothing on this machine will change the status any more
    note: str = ""  # for failure messages: what went wrong and where its log is


@dataclass(frozen=True)
class NodeLog:
    """A step's log: the operators' events go into it, each pod's output into a file beside it."""

    path: Path

    def event(self, text: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as log:
            log.write(f"{now()} {text}\n")

    def beside(self, name: str) -> Path:
        """``<dir>/<step>.<name>.log`` for ``<dir>/<step>.log``."""
        return self.path.with_name(f"{self.path.name.removesuffix('.log')}.{name}.log")


def free_ports(count: int, host: str) -> list[int]:
    """Ports free on ``host`` right now ("" for every interface): all bound at once, so they
    differ, then released for the processes, which bind them a moment later (a small race:
    another program could take one in between)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((host, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


class PodProcess:
    """A pod's container as a local process: own process group (so stopping it stops whatever it
    started, as deleting a pod does), output appended to ``log_file``."""

    # The kubelet grants 30 s by default; nothing here needs that long to shut down.
    GRACE_SECONDS = 5.0

    def __init__(self, name: str, invocation: Invocation, log_file: Path):
        self.name = name
        self.log_file = log_file
        log_file.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(log_file, "ab") as log:
                self._popen = subprocess.Popen(
                    invocation.argv,
                    env=invocation.env,
                    cwd=invocation.cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        except FileNotFoundError:
            raise UserError(
                f"{name}: command {invocation.argv[0]!r} not found on this machine; the local "
                "runner runs the container's command directly (python runs this interpreter)"
            ) from None
        except OSError as error:  # say, a script without the executable bit
            raise UserError(
                f"{name}: command {invocation.argv[0]!r} cannot be run on this machine: "
                f"{error.strerror}"
            ) from None

    @property
    def pid(self) -> int:
        return self._popen.pid

    def poll(self) -> int | None:
        """The exit status once it ended, in the container convention: 128+N when killed by
        signal N."""
        code = self._popen.poll()
        return 128 - code if code is not None and code < 0 else code

    def stop(self) -> None:
        """Stop it as deleting its pod would (see :func:`stop_process_group`)."""
        stop_process_group(self._popen, self.GRACE_SECONDS)

    def tail(self, lines: int = 5) -> str:
        """The last lines of its log, joined into one line for messages."""
        try:
            with open(self.log_file, "rb") as log:
                log.seek(max(0, log.seek(0, os.SEEK_END) - 4096))
                text = log.read().decode(errors="replace")
        except OSError:
            return ""
        kept = [line.strip() for line in text.splitlines() if line.strip()]
        return " | ".join(kept[-lines:])
