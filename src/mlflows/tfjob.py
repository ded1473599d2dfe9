"""The TFJob step: an Argo resource template that creates a Kubeflow ``TFJob`` and waits for it.

The worker count is given once; the replicas, the gang-scheduling minimum and the success condition
are all derived from it. It may be an input parameter (a :class:`~mlflows.manifest.Bare`
expression), written unquoted so that the TFJob receives a number.
"""

from __future__ import annotations

from dataclasses import dataclass

from hera.workflows import Parameter, Resource
from hera.workflows import models as m

from mlflows.errors import UserError
from mlflows.manifest import Bare, resources, to_yaml
from mlflows.storage import SharedVolume

TFJOB_API_VERSION = "kubeflow.org/v1"
# The operator finds the TensorFlow container (and sets TF_CONFIG for it) by this name.
TENSORFLOW_CONTAINER = "tensorflow"
FAILURE_CONDITION = "status.replicaStatuses.Worker.failed > 0"


@dataclass(frozen=True)
class GangScheduling:
    """Schedule all workers together or none (``runPolicy.schedulingPolicy``): a half-placed
    MultiWorkerMirroredStrategy job holds its nodes and waits forever for the missing workers."""

    queue: str | None = None
    priority_class: str | None = None
    timeout_seconds: int | None = None


def success_condition(workers: int | Bare) -> str:
    return f"status.replicaStatuses.Worker.succeeded = {workers}"


def tfjob_manifest(
    *,
    generate_name: str,
    image: str,
    command: list[str],
    args: list[str],
    workers: int | Bare,
    volume: SharedVolume,
    service_account: str,
    cpu: str | None = None,
    memory: str | None = None,
    clean_pod_policy: str = "Running",
    backoff_limit: int = 3,
    gang_scheduling: GangScheduling | None = None,
    priority_class: str | None = None,
) -> dict:
    """A ``kubeflow.org/v1`` TFJob with ``workers`` Worker replicas (worker 0 is the chief).

    ``priority_class`` (over the gang's) goes to ``runPolicy.schedulingPolicy.priorityClass``,
    which the operator gives the gang's PodGroup, and to the workers' ``priorityClassName``,
    which the scheduler reads when there is no gang; "" is the cluster's default in both."""
    if not isinstance(workers, Bare) and workers < 1:
        raise UserError(f"workers: {workers} is too few; a TFJob needs at least 1 worker")
    container = {
        "name": TENSORFLOW_CONTAINER,
        "image": image,
        "command": command,
        "args": args,
        "volumeMounts": [volume.mount().model_dump(by_alias=True, exclude_none=True)],
    }
    if container_resources := resources(cpu, memory):
        container["resources"] = container_resources
    run_policy: dict = {"cleanPodPolicy": clean_pod_policy, "backoffLimit": backoff_limit}
    gang = gang_scheduling or GangScheduling()
    if priority_class is None:
        priority_class = gang.priority_class
    if gang_scheduling or priority_class is not None:
        policy = {
            "minAvailable": workers if gang_scheduling else None,
            "queue": gang.queue,
            "priorityClass": priority_class,
            "scheduleTimeoutSeconds": gang.timeout_seconds,
        }
        run_policy["schedulingPolicy"] = {k: v for k, v in policy.items() if v is not None}
    pod_spec: dict = {"serviceAccountName": service_account}
    if priority_class is not None:
        pod_spec["priorityClassName"] = priority_class
    return {
        "apiVersion": TFJOB_API_VERSION,
        "kind": "TFJob",
        "metadata": {"generateName": generate_name},
        "spec": {
            "runPolicy": run_policy,
            # By default the operator calls the job done when worker 0 is, and cleans up workers
            # still running, so `succeeded = <workers>` could never hold; wait for all of them.
            "successPolicy": "AllWorkers",
            "tfReplicaSpecs": {
                "Worker": {
                    "replicas": workers,
                    # Workers restart in place after a crash and resume from BackupAndRestore.
                    "restartPolicy": "OnFailure",
                    "template": {
                        "spec": {
                            **pod_spec,
                            "containers": [container],
                            "volumes": [
                                volume.volume().model_dump(by_alias=True, exclude_none=True)
                            ],
                        }
                    },
                }
            },
        },
    }


def tfjob_step(name: str, manifest: dict, *, service_account: str) -> Resource:
    """A resource template that creates ``manifest`` (from :func:`tfjob_manifest`), owned by the
    workflow, succeeding when every worker succeeded and failing as soon as one failed for good.
    Output parameter ``job-name``: the created TFJob's name."""
    workers = manifest["spec"]["tfReplicaSpecs"]["Worker"]["replicas"]
    return Resource(
        name=name,
        action="create",
        set_owner_reference=True,
        manifest=to_yaml(manifest),
        success_condition=success_condition(workers),
        failure_condition=FAILURE_CONDITION,
        service_account_name=service_account,
        outputs=[Parameter(name="job-name", value_from=m.ValueFrom(json_path="{.metadata.name}"))],
    )
