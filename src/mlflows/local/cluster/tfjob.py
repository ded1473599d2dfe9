"""The Kubeflow training operator (v1.9) for TFJobs (``kubeflow.org/v1``), on this machine.

Each replica in ``spec.tfReplicaSpecs`` (``Worker``, and ``Chief`` if given) runs the command of its
pod's ``tensorflow`` container as a pod of this machine, started as a step's pod is (see
:mod:`mlflows.local.executor.isolation`: its volumes, isolation, image unused), with the
``TF_CONFIG`` the operator sets — the same cluster for every replica, on free localhost ports,
and the replica's own task::

    {"cluster": {"worker": ["localhost:p0", "localhost:p1"]},
     "task": {"type": "worker", "index": 1}, "environment": "cloud"}

The ports are found by binding port 0 and closing the socket before the processes start, so
another program could take one in between (a small race; the replica would then fail to bind).
Replica ``<type>-<i>`` writes its output to ``<step log>.<type>-<i>.log`` beside the step's log;
the step's log gets the operator's events (starts, exits, restarts, the job's outcome).

The status is the operator's: ``replicaStatuses.<Type>.{active,succeeded,failed}`` (zero counts
are left out, as the operator's JSON omits them, so ``failed = 0`` never matches), ``conditions``
Created / Running / Succeeded / Failed with its reasons and messages, ``startTime`` and
``completionTime``. The job succeeds when the chief succeeds (worker 0 when there is no Chief),
or with ``successPolicy: AllWorkers`` when every worker has; it fails when a replica fails for
good. Once finished the status no longer changes, and on success the replicas still running are
counted as succeeded — both as the operator does.

``restartPolicy`` (default ``Never``, as the operator's): ``Never`` — a non-zero exit is final;
``OnFailure`` — the process is restarted with the same index and port, as the kubelet restarts a
container; ``ExitCode`` — restarted only when killed by a signal (exit code 128+N, as Kubernetes
reports it), else final. Restarts across all replicas are capped by ``runPolicy.backoffLimit``;
when it is unset the operator never gives up, but a local run must end, so the cap is then 3.
``Always`` is refused: it would restart replicas that succeeded, so the job could never succeed.

``runPolicy.cleanPodPolicy`` (``None`` by default, ``Running``, ``All``) decides whether the
replicas still running when the job finishes are stopped or left to end on their own (until the
run ends); ``activeDeadlineSeconds`` fails the job when it runs longer. Accepted without local
effect: ``schedulingPolicy`` (gang scheduling: all replicas start together here anyway),
``ttlSecondsAfterFinished``, and pod fields about placement and resources. Refused: PS, Evaluator
and Master replicas (parameter-server training), ``enableDynamicWorker``, ``suspend``, sidecar and
init containers, env ``valueFrom``/``envFrom``.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from mlflows.errors import UserError
from mlflows.local.cluster.objects import Unresolved, api_group, now
from mlflows.local.cluster.pods import NodeLog, Observation, free_ports, start_with_log, tail
from mlflows.local.executor.isolation import PodSpec
from mlflows.local.executor.process import check_container, container_command
from mlflows.local.executor.spawner import PodProcess
from mlflows.local.executor.volumes import VolumeStore

REPLICA_TYPES = ("Chief", "Worker")  # the order of the cluster spec and of the status
TENSORFLOW_CONTAINER = "tensorflow"  # the operator sets TF_CONFIG on this container only
RESTART_POLICIES = ("Never", "OnFailure", "ExitCode")
CLEAN_POD_POLICIES = ("None", "Running", "All")
LOCAL_BACKOFF_LIMIT = 3
# A pod phase -> its count in replicaStatuses (zero counts are left out, as in the operator's JSON)
PHASE_COUNTS = {"Running": "active", "Succeeded": "succeeded", "Failed": "failed"}
SPEC_FIELDS = {"tfReplicaSpecs", "runPolicy", "successPolicy", "enableDynamicWorker"}
RUN_POLICY_FIELDS = {
    "cleanPodPolicy",
    "backoffLimit",
    "activeDeadlineSeconds",
    "ttlSecondsAfterFinished",
    "schedulingPolicy",
    "suspend",
    "managedBy",
}
LOCAL_VOLUMES = {"persistentVolumeClaim", "emptyDir"}


# ---------------------------------------------------------------------------------------------
# What a TFJob may say


def check_tfjob(manifest: dict) -> None:
    """Raise UserError for a TFJob this operator cannot run. Argo expressions pass as any value."""
    spec = _mapping(manifest.get("spec"), "spec")
    unknown = sorted(set(spec) - SPEC_FIELDS)
    if unknown:
        raise UserError(f"TFJob spec.{unknown[0]} is not supported by the local runner")
    if spec.get("enableDynamicWorker") is True:
        raise UserError("TFJob spec.enableDynamicWorker is not supported by the local runner")
    success_policy = spec.get("successPolicy")
    if success_policy not in (None, "", "AllWorkers") and not _unresolved(success_policy):
        raise UserError(f"TFJob spec.successPolicy {success_policy!r}: use '' or AllWorkers")
    _check_run_policy(_mapping(spec.get("runPolicy") or {}, "spec.runPolicy"))
    replica_specs = _mapping(spec.get("tfReplicaSpecs"), "spec.tfReplicaSpecs")
    if not replica_specs:
        raise UserError("TFJob spec.tfReplicaSpecs is empty; give at least a Worker replica")
    for name, replica_spec in replica_specs.items():
        _check_replica_spec(_replica_type(name), _mapping(replica_spec, f"tfReplicaSpecs.{name}"))


def replica_count(manifest: object) -> int | None:
    """How many pods a TFJob manifest runs: all its replicas. None for anything else, or when a
    count is an Argo expression still."""
    if not isinstance(manifest, dict) or manifest.get("kind") != "TFJob":
        return None
    if api_group(manifest) != "kubeflow.org":
        return None
    specs = (manifest.get("spec") or {}).get("tfReplicaSpecs")
    if not isinstance(specs, dict):
        return None
    counts = [
        spec.get("replicas", 1) if isinstance(spec, dict) else None for spec in specs.values()
    ]
    if not all(isinstance(count, int) and not isinstance(count, bool) for count in counts):
        return None
    return sum(counts)


def _check_run_policy(run_policy: dict) -> None:
    unknown = sorted(set(run_policy) - RUN_POLICY_FIELDS)
    if unknown:
        raise UserError(f"TFJob spec.runPolicy.{unknown[0]} is not supported by the local runner")
    _choice(run_policy.get("cleanPodPolicy"), "spec.runPolicy.cleanPodPolicy", CLEAN_POD_POLICIES)
    _integer(run_policy.get("backoffLimit"), "spec.runPolicy.backoffLimit", minimum=0)
    deadline = run_policy.get("activeDeadlineSeconds")
    _integer(deadline, "spec.runPolicy.activeDeadlineSeconds", minimum=1)
    if run_policy.get("suspend") is True:
        raise UserError("TFJob spec.runPolicy.suspend: a suspended job would never run locally")
    if run_policy.get("managedBy") not in (None, "kubeflow.org/training-operator"):
        raise UserError(
            f"TFJob spec.runPolicy.managedBy {run_policy['managedBy']!r}: only the training "
            "operator's jobs run locally"
        )


def _check_replica_spec(replica_type: str, replica_spec: dict) -> None:
    where = f"TFJob tfReplicaSpecs.{replica_type}"
    replicas = _integer(replica_spec.get("replicas", 1), f"{where}.replicas", minimum=1)
    if replica_type == "Chief" and replicas not in (None, 1):
        raise UserError(f"{where}.replicas: {replicas}; TensorFlow has exactly one chief")
    policy = replica_spec.get("restartPolicy")
    if policy == "Always":
        raise UserError(
            f"{where}.restartPolicy Always would restart replicas that succeeded, so the job "
            "could never succeed; use OnFailure or ExitCode"
        )
    _choice(policy, f"{where}.restartPolicy", RESTART_POLICIES)
    template = _mapping(replica_spec.get("template"), f"{where}.template")
    pod_spec = _mapping(template.get("spec"), f"{where}.template.spec")
    if pod_spec.get("initContainers"):
        raise UserError(f"{where}: initContainers are not run by the local runner; remove them")
    containers = pod_spec.get("containers") or []
    if (
        not isinstance(containers, list)
        or len(containers) != 1
        or _mapping(containers[0], "container").get("name") != TENSORFLOW_CONTAINER
    ):
        raise UserError(
            f"{where}.template.spec.containers: the local runner runs exactly one container, "
            f"named {TENSORFLOW_CONTAINER} (the operator sets TF_CONFIG on that name only)"
        )
    _check_container(containers[0], where)
    for volume in pod_spec.get("volumes") or []:
        if not LOCAL_VOLUMES & set(_mapping(volume, "volume")):
            raise UserError(
                f"{where}: volume {volume.get('name')!r}: the local runner supports "
                "persistentVolumeClaim and emptyDir volumes only"
            )


def _check_container(container: dict, where: str) -> None:
    if not container.get("image"):
        raise UserError(
            f"{where}: the container needs an image (the operator's webhook rejects it)"
        )
    for field in ("command", "args", "env", "volumeMounts"):
        value = container.get(field)
        if value is None or _unresolved(value):
            continue  # an expression stands for any list
        if not isinstance(value, list):
            raise UserError(f"{where}: container {field} must be a list, got {value!r}")
        for entry in value if field in ("env", "volumeMounts") else []:
            if not isinstance(entry, dict):
                raise UserError(
                    f"{where}: container {field} must be a list of mappings (name: ...), got "
                    f"{entry!r}"
                )
    if container.get("envFrom"):
        raise UserError(f"{where}: envFrom is not resolved by the local runner; use env values")
    env = container.get("env")
    # what every container must meet here; an env given as an expression stands for any list
    check_container({**container, "env": env if isinstance(env, list) else []}, where)


def _replica_type(name: str) -> str:
    """The operator's camel-case replica type for a key of tfReplicaSpecs (it accepts any case)."""
    for replica_type in REPLICA_TYPES:
        if name.lower() == replica_type.lower():
            return replica_type
    raise UserError(
        f"TFJob tfReplicaSpecs.{name}: the local runner runs Worker and Chief replicas only "
        "(no parameter servers or evaluators); MultiWorkerMirroredStrategy needs no more"
    )


def _unresolved(value: object) -> bool:
    return isinstance(value, Unresolved)


def _mapping(value: object, field: str) -> dict:
    if not isinstance(value, dict) or _unresolved(value):
        raise UserError(f"TFJob {field}: expected a mapping, got {value!r}")
    return value


def _integer(value: object, field: str, minimum: int) -> int | None:
    """The value if it is a literal integer ≥ minimum; None when absent or an expression."""
    if value is None or _unresolved(value):
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise UserError(f"TFJob {field}: {value!r} is not an integer ≥ {minimum}")
    return value


def _choice(value: object, field: str, choices: tuple[str, ...]) -> None:
    if value is not None and not _unresolved(value) and value not in choices:
        raise UserError(f"TFJob {field}: {value!r} is not one of {', '.join(choices)}")


# ---------------------------------------------------------------------------------------------
# The operator


@dataclass
class Replica:
    type: str  # "Chief" | "Worker"
    index: int
    restart_policy: str
    pod: PodSpec
    log_file: Path
    process: PodProcess | None = None
    phase: str = "Running"  # Running | Succeeded | Failed, as the pod's phase

    @property
    def name(self) -> str:
        return f"{self.type.lower()}-{self.index}"

    def start(self, log: NodeLog) -> None:
        self.process = start_with_log(self.pod, self.log_file)
        self.phase = "Running"
        log.event(f"{self.name}: started pid {self.process.pid}, output in {self.log_file}")


class TFJobController:
    """Runs one TFJob's replicas and keeps its status; :meth:`observe` advances it."""

    def __init__(self, obj: dict, *, volumes: VolumeStore, scratch_dir: Path, log: NodeLog):
        check_tfjob(obj)
        spec = obj["spec"]
        run_policy = spec.get("runPolicy") or {}
        self.job = f"{obj['metadata']['namespace']}/{obj['metadata']['name']}"
        self._log = log
        self._lock = threading.Lock()
        self._backoff_limit = run_policy.get("backoffLimit", LOCAL_BACKOFF_LIMIT)
        self._clean_pod_policy = run_policy.get("cleanPodPolicy") or "None"
        self._deadline = run_policy.get("activeDeadlineSeconds")
        self._all_workers = spec.get("successPolicy") == "AllWorkers"
        self._restarts = 0
        self._backoff_exhausted = False
        self._finished = False
        self._stopped = False
        self._note = ""
        self._replicas = _plan_replicas(obj, volumes, scratch_dir, log)
        self._started = time.monotonic()
        self._status: dict = {"conditions": [], "replicaStatuses": {}, "startTime": now()}
        self._set_condition("Created", f"TFJob {obj['metadata']['name']} is created.")
        try:
            for replica in self._replicas:
                replica.start(log)
        except UserError:
            self.stop()
            raise
        self._update_status()

    def observe(self) -> Observation:
        with self._lock:
            if not (self._finished or self._stopped):
                for replica in self._replicas:
                    if replica.phase == "Running":
                        self._check_exit(replica)
                self._update_status()
            settled = self._finished or self._stopped
            return Observation(copy.deepcopy(self._status), settled, self._note)

    def stop(self) -> None:
        """Stop every replica (a cancelled step, a deleted TFJob, the end of the run)."""
        with self._lock:
            if not self._stopped:
                self._stopped = True
                self._stop_replicas(self._replicas)

    def _check_exit(self, replica: Replica) -> None:
        code = replica.process.poll() if replica.process else None
        if code is None:
            return
        if code == 0:
            replica.phase = "Succeeded"
            self._log.event(f"{replica.name}: exited with code 0")
            return
        last = tail(replica.log_file)
        retryable = replica.restart_policy == "OnFailure" or (
            replica.restart_policy == "ExitCode" and code >= 128
        )
        if retryable and self._restarts < self._backoff_limit:
            self._restarts += 1
            self._log.event(
                f"{replica.name}: exited with code {code}, restarting it (restart "
                f"{self._restarts} of backoffLimit {self._backoff_limit}); last output: {last}"
            )
            replica.start(self._log)
            return
        replica.phase = "Failed"
        self._backoff_exhausted = self._backoff_exhausted or retryable
        self._log.event(f"{replica.name}: exited with code {code}, for good; last output: {last}")
        self._note = self._note or (
            f"{replica.name} exited with code {code}: {last} (log: {replica.log_file})"
        )

    def _update_status(self) -> None:
        statuses: dict[str, dict[str, int]] = {}
        for replica in self._replicas:
            counts = statuses.setdefault(replica.type, {})
            counted = PHASE_COUNTS[replica.phase]
            counts[counted] = counts.get(counted, 0) + 1
        self._status["replicaStatuses"] = statuses
        failed = [(t, counts["failed"]) for t, counts in statuses.items() if "failed" in counts]
        if self._deadline is not None and time.monotonic() - self._started > self._deadline:
            self._finish(
                "Failed",
                f"Job {self.job} has failed because it was active longer than specified deadline",
            )
        elif self._backoff_exhausted:
            self._finish(
                "Failed",
                f"Job {self.job} has failed because it has reached the specified backoff limit",
            )
        elif failed:
            replica_type, number = failed[0]
            self._finish(
                "Failed",
                f"TFJob {self.job} has failed because {number} {replica_type} replica(s) failed.",
            )
        elif self._succeeded():
            self._finish("Succeeded", f"TFJob {self.job} successfully completed.")
        elif any("active" in counts for counts in statuses.values()):
            self._set_condition("Running", f"TFJob {self.job} is running.")

    def _succeeded(self) -> bool:
        """The operator's rule: the chief succeeded, or without one worker 0 (every worker with
        successPolicy AllWorkers)."""
        chiefs = [r for r in self._replicas if r.type == "Chief"]
        workers = [r for r in self._replicas if r.type == "Worker"]
        deciding = chiefs or (workers if self._all_workers else workers[:1])
        return all(replica.phase == "Succeeded" for replica in deciding)

    def _finish(self, outcome: str, message: str) -> None:
        self._finished = True
        self._status["completionTime"] = now()
        if outcome == "Succeeded":
            # The operator counts the replicas still running as succeeded once the job has.
            for replica_status in self._status["replicaStatuses"].values():
                active = replica_status.pop("active", 0)
                if active:
                    replica_status["succeeded"] = replica_status.get("succeeded", 0) + active
        self._set_condition(outcome, message)
        self._log.event(f"TFJob {self.job}: {outcome}: {message}")
        running = [r for r in self._replicas if r.phase == "Running"]
        if running and self._clean_pod_policy != "None":
            self._log.event(f"cleanPodPolicy {self._clean_pod_policy}: stopping the others")
            self._stop_replicas(running)

    def _stop_replicas(self, replicas: list[Replica]) -> None:
        for replica in replicas:
            if replica.process is not None:
                replica.process.stop()

    def _set_condition(self, condition_type: str, message: str) -> None:
        """The operator's ``UpdateJobConditions``: a Failed job keeps its conditions; a new
        condition replaces one of its type; Succeeded and Failed turn Running to False."""
        conditions = self._status["conditions"]
        if any(c["type"] == "Failed" and c["status"] == "True" for c in conditions):
            return
        reason = f"TFJob{condition_type}"
        current = next((c for c in conditions if c["type"] == condition_type), None)
        if current is not None and current["status"] == "True" and current["reason"] == reason:
            return
        timestamp = now()
        kept = []
        for condition in conditions:
            if condition["type"] == condition_type:
                continue
            if condition_type in ("Succeeded", "Failed") and condition["type"] == "Running":
                condition = {**condition, "status": "False"}
            kept.append(condition)
        kept.append(
            {
                "type": condition_type,
                "status": "True",
                "reason": reason,
                "message": message,
                "lastUpdateTime": timestamp,
                "lastTransitionTime": timestamp,
            }
        )
        self._status["conditions"] = kept


def _plan_replicas(
    obj: dict, volumes: VolumeStore, scratch_dir: Path, log: NodeLog
) -> list[Replica]:
    """Every replica with its TF_CONFIG, command, environment and log file (nothing started)."""
    replica_specs = {
        _replica_type(name): replica_spec
        for name, replica_spec in obj["spec"]["tfReplicaSpecs"].items()
    }
    ordered = [(t, replica_specs[t]) for t in REPLICA_TYPES if t in replica_specs]
    # TensorFlow's servers listen on every interface, so the ports are free on all of them.
    ports = free_ports(sum(spec.get("replicas", 1) for _, spec in ordered), host="")
    cluster: dict[str, list[str]] = {}
    for replica_type, replica_spec in ordered:
        cluster[replica_type.lower()] = [
            f"localhost:{ports.pop(0)}" for _ in range(replica_spec.get("replicas", 1))
        ]
    job_name = obj["metadata"]["name"]
    replicas = []
    for replica_type, replica_spec in ordered:
        pod_spec = replica_spec["template"]["spec"]
        container = pod_spec["containers"][0]
        for index in range(replica_spec.get("replicas", 1)):
            pod_name = f"{job_name}-{replica_type.lower()}-{index}"
            scratch = scratch_dir / pod_name
            mounts = volumes.mounts(
                pod_spec.get("volumes") or [], container.get("volumeMounts") or [], scratch
            )
            tf_config = {
                "cluster": cluster,
                "task": {"type": replica_type.lower(), "index": index},
                "environment": "cloud",
            }
            name = f"{replica_type.lower()}-{index}"
            pod = PodSpec(
                name,
                container_command(container),
                tuple(mounts),
                scratch,
                extra_env={"TF_CONFIG": json.dumps(tf_config)},
            )
            restart_policy = replica_spec.get("restartPolicy") or "Never"
            replicas.append(Replica(replica_type, index, restart_policy, pod, log.beside(name)))
    return replicas
