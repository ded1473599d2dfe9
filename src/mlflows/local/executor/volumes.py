"""Volumes on this machine: each PersistentVolumeClaim is a directory that outlives the run.

A container sees a claim at its ``mountPath`` (say ``/mnt/data``); locally the same files live in
``<root>/<claimName>/``. An isolated pod gets that directory bound at the mount path; otherwise
:func:`rewrite` replaces the mount path prefix in its command, args, env values and working dir
(see :mod:`mlflows.local.executor.isolation`), so the ML entry points need no local-mode switch
either way. ``emptyDir`` volumes become scratch directories of the run; ``configMap`` and
``secret`` volumes read-only files there (:mod:`mlflows.local.executor.object_volumes`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from mlflows.errors import UserError
from mlflows.local.cluster.objects import ObjectStore
from mlflows.local.executor import object_volumes
from mlflows.local.executor.object_volumes import is_object_volume


@dataclass(frozen=True)
class Mount:
    mount_path: str  # where the pod sees it
    local_dir: Path  # a directory (or a file) of this machine
    read_only: bool = False


class VolumeStore:
    """Maps the workflow's volumes to directories under ``root`` (persistent claims)."""

    def __init__(self, root: Path, objects: ObjectStore | None = None):
        self.root = Path(root)
        self.objects = objects  # for configMap and secret volumes

    def claim_dir(self, claim_name: str) -> Path:
        path = self.root / claim_name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def mounts(
        self, volumes: list[dict], volume_mounts: list[dict], scratch_dir: Path
    ) -> list[Mount]:
        """The container's mounts with their local directories."""
        by_name = {volume["name"]: volume for volume in volumes}
        mounts = []
        for mount in volume_mounts:
            volume = by_name.get(mount["name"])
            if volume is None:
                raise UserError(
                    f"volumeMounts[{mount['name']}]: no volume of that name in the template or "
                    "workflow; add it to spec.volumes"
                )
            base = self._volume_dir(volume, scratch_dir)
            local = base / mount["subPath"] if mount.get("subPath") else base
            if not local.exists():  # a subPath may name one projected file
                local.mkdir(parents=True)
            path = mount["mountPath"].rstrip("/") or "/"
            read_only = mount.get("readOnly") is True or is_object_volume(volume)
            mounts.append(Mount(path, local, read_only=read_only))
        return mounts

    def _volume_dir(self, volume: dict, scratch_dir: Path) -> Path:
        if "persistentVolumeClaim" in volume:
            return self.claim_dir(volume["persistentVolumeClaim"]["claimName"])
        if "emptyDir" in volume:
            return scratch_dir / volume["name"]
        if is_object_volume(volume) and self.objects is not None:
            directory = scratch_dir / volume["name"]
            return object_volumes.project(volume, self.objects, self.objects.namespace, directory)
        kinds = sorted(set(volume) - {"name"})
        raise UserError(
            f"volumes[{volume['name']}]: the local runner supports persistentVolumeClaim and "
            f"emptyDir volumes, not {', '.join(kinds) or 'this one'}"
        )

    def resolve_storage_uri(self, uri: str) -> tuple[Path, str]:
        """``pvc://<claim>/<path>`` (KServe's form): the claim's directory and the path in it."""
        match = re.fullmatch(r"pvc://([^/]+)/?(.*)", uri)
        if not match:
            raise UserError(
                f"storageUri {uri!r}: the local runner serves models from pvc://<claim>/<path> only"
            )
        return self.claim_dir(match.group(1)), match.group(2)


def rewrite(value: str, mounts: list[Mount]) -> str:
    """Replace every mount path that starts a path inside ``value`` by its local directory.

    One pass with the longest paths first, so a replacement is never rewritten again.
    """
    if not mounts:
        return value
    local = {mount.mount_path: str(mount.local_dir) for mount in mounts}
    paths = "|".join(re.escape(path) for path in sorted(local, key=len, reverse=True))
    pattern = rf"(?<![\w./-])({paths})(?=/|$|[^\w.-])"
    return re.sub(pattern, lambda match: local[match.group(1)], value)
