"""The shared volume: one PersistentVolumeClaim every step that touches pipeline data mounts."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from hera.workflows import models as m

from mlflows.names import k8s_name


@dataclass(frozen=True)
class SharedVolume:
    """A claim mounted at ``mount_path``; ``path()`` and ``storage_uri()`` name places on it."""

    claim_name: str = "mlflows-data"
    mount_path: str = "/mnt/data"
    size: str = "20Gi"
    access_mode: str = "ReadWriteMany"  # TFJob workers on different nodes write one checkpoint dir
    storage_class: str | None = None
    volume_name: str = "data"

    def __post_init__(self) -> None:
        k8s_name(self.claim_name, "volume claim name")

    def path(self, *parts: str) -> str:
        """The absolute path of ``parts`` inside a container that mounts the volume."""
        return posixpath.join(self.mount_path, *parts)

    def storage_uri(self, *parts: str) -> str:
        """KServe's URI for ``parts`` on the claim (it mounts the claim itself)."""
        return "pvc://" + posixpath.join(self.claim_name, *parts)

    def volume(self) -> m.Volume:
        return m.Volume(
            name=self.volume_name,
            persistent_volume_claim=m.PersistentVolumeClaimVolumeSource(claim_name=self.claim_name),
        )

    def mount(self) -> m.VolumeMount:
        return m.VolumeMount(name=self.volume_name, mount_path=self.mount_path)

    def manifest(self, namespace: str) -> dict:
        """The PersistentVolumeClaim itself, a cluster prerequisite (see :mod:`mlflows.cluster`)."""
        spec: dict = {
            "accessModes": [self.access_mode],
            "resources": {"requests": {"storage": self.size}},
        }
        if self.storage_class:
            spec["storageClassName"] = self.storage_class
        return {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": self.claim_name, "namespace": namespace},
            "spec": spec,
        }
