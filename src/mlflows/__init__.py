"""mlflows: distributed ML pipelines as Argo Workflows, written with Hera.

The building blocks are importable from here; they load on first use, so the TensorFlow entry
points in :mod:`mlflows.ml` (which run inside the images) do not pay for importing Hera.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "tfjob_manifest": "mlflows.tfjob",
    "tfjob_step": "mlflows.tfjob",
    "GangScheduling": "mlflows.tfjob",
    "inference_service_manifest": "mlflows.inference_service",
    "inference_service_step": "mlflows.inference_service",
    "Autoscaling": "mlflows.inference_service",
    "memoized": "mlflows.memoize",
    "MemoCache": "mlflows.memoize",
    "SharedVolume": "mlflows.storage",
    "ModelSpec": "mlflows.specs",
    "check_specs": "mlflows.specs",
    "fan_in": "mlflows.patterns",
    "follow_each": "mlflows.patterns",
    "finished": "mlflows.patterns",
    "Workloads": "mlflows.workloads",
    "ServiceAccounts": "mlflows.workloads",
    "render": "mlflows.rendering",
    "to_yaml": "mlflows.rendering",
    "setup_manifests": "mlflows.cluster",
    "UserError": "mlflows.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'mlflows' has no attribute {name!r}")
