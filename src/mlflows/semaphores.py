"""A cap on concurrent TFJobs: an Argo semaphore on every train template.

Argo sizes a semaphore by a ConfigMap key (docs/synchronization.md: ``synchronization.semaphores``
with a ``configMapKeyRef``; the controller reads the number there and re-reads it when it
changes), and counts holders across every workflow of the namespace. So the limit is not in the
workflow: ``mlflows setup-manifests --max-concurrent-training N`` creates the ConfigMap, and a
cluster's operators can change it without re-rendering any pipeline. A train task waiting for a
slot shows as Pending with the semaphore's name.
"""

from __future__ import annotations

from dataclasses import dataclass

from hera.workflows import models as m

from mlflows.errors import UserError
from mlflows.names import k8s_name

SEMAPHORE_CONFIG_MAP = "mlflows-semaphores"
TRAINING_KEY = "training"


@dataclass(frozen=True)
class TrainingSlots:
    """The semaphore train templates hold: ``key`` of ConfigMap ``config_map``."""

    config_map: str = SEMAPHORE_CONFIG_MAP
    key: str = TRAINING_KEY

    def __post_init__(self) -> None:
        k8s_name(self.config_map, "semaphore ConfigMap name")

    def synchronization(self) -> m.Synchronization:
        return m.Synchronization(
            semaphores=[
                m.SemaphoreRef(
                    config_map_key_ref=m.ConfigMapKeySelector(name=self.config_map, key=self.key)
                )
            ]
        )

    def manifest(self, namespace: str, limit: int) -> dict:
        """The ConfigMap sizing the semaphore: at most ``limit`` TFJobs at once."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise UserError(
                f"--max-concurrent-training: {limit!r} is not a whole number from 1; "
                "give how many TFJobs may run at once"
            )
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": self.config_map, "namespace": namespace},
            "data": {self.key: str(limit)},
        }
