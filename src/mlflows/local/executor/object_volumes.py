"""``configMap`` and ``secret`` volumes: the object's keys as read-only files, as the kubelet
projects them (pkg/volume/configmap, pkg/volume/secret).

Every key becomes a file of that name, or with ``items`` only the listed keys, each at its
``path``. A ConfigMap gives its ``data`` (text) and ``binaryData`` (base64); a Secret its
``data`` (base64) and ``stringData`` (text, as the API server would have merged it). The files
are written into the pod's scratch directory from the run's object store when the pod starts.
A missing object or key would leave the pod waiting for its mount forever, so it is refused
before the run unless the volume (or the item's object) is ``optional``.
"""

from __future__ import annotations

import base64
from pathlib import Path

from mlflows.errors import UserError
from mlflows.local.cluster.objects import ObjectKey, ObjectStore
from mlflows.local.lang.templating import TAG
from mlflows.local.spec.fields import check_fields, items

KINDS = {"configMap": ("ConfigMap", "name"), "secret": ("Secret", "secretName")}
SOURCE_FIELDS = {"name", "secretName", "items", "optional", "defaultMode"}
ITEM_FIELDS = {"key", "path", "mode"}


def is_object_volume(volume: dict) -> bool:
    return any(kind in volume for kind in KINDS)


def _source(volume: dict) -> tuple[str, str, dict]:
    field = next(kind for kind in KINDS if kind in volume)
    kind, name_field = KINDS[field]
    return kind, name_field, volume[field] or {}


def _contents(obj: dict, kind: str) -> dict[str, bytes]:
    if kind == "ConfigMap":
        text, encoded = obj.get("data") or {}, obj.get("binaryData") or {}
    else:
        text, encoded = obj.get("stringData") or {}, obj.get("data") or {}
    files = {key: str(value).encode() for key, value in text.items()}
    files.update({key: base64.b64decode(str(value)) for key, value in encoded.items()})
    return files


def _files(volume: dict, objects: ObjectStore, namespace: str) -> dict[str, bytes] | None:
    """The files by relative path; None when the object is missing (or ValueError for a key)."""
    kind, name_field, source = _source(volume)
    key = ObjectKey("", kind, namespace, source.get(name_field) or "")
    if key not in objects:
        return None
    contents = _contents(objects.get(key), kind)
    if not source.get("items"):
        return contents
    files = {}
    for item in source["items"]:
        if item["key"] not in contents:
            raise ValueError(f"{kind} '{key.name}' has no key '{item['key']}'")
        files[item["path"]] = contents[item["key"]]
    return files


def check(where: str, volume: dict, objects: ObjectStore, namespace: str) -> None:
    """Before the run: a well-formed source naming an object that is there (unless optional)."""
    kind, name_field, _ = _source(volume)
    field = "configMap" if kind == "ConfigMap" else "secret"
    here = f"{where}: volumes[{volume['name']}].{field}"
    source = check_fields(
        here, volume[field], SOURCE_FIELDS - ({"name", "secretName"} - {name_field})
    )
    if not source.get(name_field):
        raise UserError(f"{here}.{name_field} is missing; name the {kind}")
    for index, item in enumerate(items(f"{here}.items", source.get("items"))):
        item = check_fields(f"{here}.items[{index}]", item, ITEM_FIELDS)
        path = item.get("path")
        if not item.get("key") or not path or path.startswith("/") or ".." in path.split("/"):
            raise UserError(f"{here}.items[{index}]: give a key and a relative path")
    if TAG.search(source[name_field]) or source.get("optional"):
        return
    try:
        found = _files(volume, objects, namespace)
    except ValueError as err:
        raise UserError(f"{here}: {err}") from None
    if found is None:
        raise UserError(
            f"{here}: {kind} '{source[name_field]}' does not exist, so the pod could never start; "
            "give it with --apply or set optional: true"
        )


def project(volume: dict, objects: ObjectStore, namespace: str, directory: Path) -> Path:
    """Write the volume's files into ``directory`` (empty for a missing optional object)."""
    try:
        files = _files(volume, objects, namespace) or {}
    except ValueError as err:
        raise UserError(f"volumes[{volume['name']}]: {err}") from None
    directory.mkdir(parents=True, exist_ok=True)
    for path, content in files.items():
        target = directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return directory
