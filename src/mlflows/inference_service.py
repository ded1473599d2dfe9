"""The InferenceService step: an Argo resource template that applies a KServe ``InferenceService``
and waits until it serves.

Argo reads a resource template's conditions from inside ``resource:`` (on the template itself it
rejects them) and parses them as Kubernetes label selectors over gjson paths, so a condition such
as ``conditions.#(type=="Ready")`` cannot be written; KServe's ``modelStatus`` says the same
thing in plain fields.
"""

from __future__ import annotations

from dataclasses import dataclass

from hera.workflows import Parameter, Resource
from hera.workflows import models as m

from mlflows.errors import UserError
from mlflows.manifest import resources, to_yaml

ISVC_API_VERSION = "serving.kserve.io/v1beta1"
READY_CONDITION = (
    "status.modelStatus.states.activeModelState = Loaded,"
    "status.modelStatus.transitionStatus = UpToDate"
)
FAILED_CONDITION = "status.modelStatus.transitionStatus in (BlockedByFailedLoad,InvalidSpec)"
SCALE_METRICS = ("concurrency", "rps", "cpu", "memory")


@dataclass(frozen=True)
class Autoscaling:
    """Knative autoscaling of the predictor: between ``min_replicas`` and ``max_replicas``,
    aiming at ``scale_target`` of ``scale_metric`` per replica."""

    min_replicas: int = 1
    max_replicas: int = 3
    scale_metric: str = "concurrency"
    scale_target: int = 8
    container_concurrency: int = 16

    def __post_init__(self) -> None:
        if self.min_replicas < 0 or self.max_replicas < max(self.min_replicas, 1):
            raise UserError(
                f"autoscaling: min_replicas {self.min_replicas} / max_replicas "
                f"{self.max_replicas}; need 0 <= min <= max and max >= 1"
            )
        if self.scale_metric not in SCALE_METRICS:
            raise UserError(
                f"autoscaling.scale_metric: {self.scale_metric!r} is not one of "
                f"{', '.join(SCALE_METRICS)}"
            )


def inference_service_manifest(
    *,
    name: str,
    storage_uri: str,
    service_account: str,
    model_format: str = "tensorflow",
    autoscaling: Autoscaling = Autoscaling(),
    cpu: str | None = None,
    memory: str | None = None,
) -> dict:
    """A ``serving.kserve.io/v1beta1`` InferenceService serving the model(s) at ``storage_uri``."""
    model: dict = {"modelFormat": {"name": model_format}, "storageUri": storage_uri}
    if model_resources := resources(cpu, memory):
        model["resources"] = model_resources
    return {
        "apiVersion": ISVC_API_VERSION,
        "kind": "InferenceService",
        "metadata": {"name": name},
        "spec": {
            "predictor": {
                "serviceAccountName": service_account,
                "minReplicas": autoscaling.min_replicas,
                "maxReplicas": autoscaling.max_replicas,
                "scaleMetric": autoscaling.scale_metric,
                "scaleTarget": autoscaling.scale_target,
                "containerConcurrency": autoscaling.container_concurrency,
                "model": model,
            }
        },
    }


def inference_service_step(name: str, manifest: dict, *, service_account: str) -> Resource:
    """A resource template that applies ``manifest`` (create or roll out) and succeeds once the
    service is Ready. Output parameter ``url``: the service's in-cluster base URL."""
    return Resource(
        name=name,
        action="apply",
        manifest=to_yaml(manifest),
        success_condition=READY_CONDITION,
        failure_condition=FAILED_CONDITION,
        service_account_name=service_account,
        outputs=[Parameter(name="url", value_from=m.ValueFrom(json_path="{.status.address.url}"))],
    )
