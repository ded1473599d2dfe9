"""``spec.volumeClaimTemplates``: a claim made for the run, as Argo's operator.go
``createPVCs`` makes one, and deleted by ``volumeClaimGC`` (``deletePVCs``).

Each template's claim is named ``<workflow name>-<template name>`` and mounted by the template's
name, like a volume of ``spec.volumes``; locally it is that claim's directory of the
:class:`~mlflows.local.executor.volumes.VolumeStore`, new for each run (run names are unique).
When the run ends it is removed, always with ``OnWorkflowCompletion`` (the default), only if the
workflow succeeded with ``OnWorkflowSuccess``.
"""

from __future__ import annotations

import shutil

from mlflows.errors import UserError
from mlflows.local.executor.volumes import VolumeStore
from mlflows.local.spec.fields import check_fields, items, mapping
from mlflows.local.spec.names import check_label

ON_COMPLETION = "OnWorkflowCompletion"
ON_SUCCESS = "OnWorkflowSuccess"
CLAIM_FIELDS = {"apiVersion", "kind", "metadata", "spec"}  # spec: sizes and classes, a cluster's


def check(spec: dict) -> list[dict]:
    """Refuse (one line) malformed templates or GC strategy; the volumes they give, to check
    mounts against."""
    names = []
    for index, claim in enumerate(
        items("spec.volumeClaimTemplates", spec.get("volumeClaimTemplates"))
    ):
        here = f"spec.volumeClaimTemplates[{index}]"
        claim = check_fields(here, claim, CLAIM_FIELDS)
        name = mapping(f"{here}.metadata", claim.get("metadata")).get("name")
        if not name:
            raise UserError(f"{here}.metadata.name is missing; name the volume to mount")
        check_label(f"{here}.metadata.name", name)
        names.append(name)
    gc = check_fields("spec.volumeClaimGC", spec.get("volumeClaimGC"), {"strategy"})
    strategy = gc.get("strategy") or ON_COMPLETION
    if strategy not in (ON_COMPLETION, ON_SUCCESS):
        raise UserError(
            f"spec.volumeClaimGC.strategy {strategy!r}: give {ON_COMPLETION} or {ON_SUCCESS}"
        )
    return [{"name": name, "persistentVolumeClaim": {"claimName": name}} for name in names]


def claim_volumes(spec: dict, workflow_name: str) -> list[dict]:
    """The run's volumes from its claim templates."""
    return [
        {
            "name": claim["metadata"]["name"],
            "persistentVolumeClaim": {"claimName": f"{workflow_name}-{claim['metadata']['name']}"},
        }
        for claim in spec.get("volumeClaimTemplates") or []
    ]


def collect(volumes: VolumeStore, spec: dict, workflow_name: str, succeeded: bool) -> None:
    """Remove the run's claims as its ``volumeClaimGC`` says."""
    strategy = (spec.get("volumeClaimGC") or {}).get("strategy") or ON_COMPLETION
    if strategy == ON_SUCCESS and not succeeded:
        return
    for volume in claim_volumes(spec, workflow_name):
        shutil.rmtree(
            volumes.root / volume["persistentVolumeClaim"]["claimName"], ignore_errors=True
        )
