"""What a namespace needs before the pipeline can run there: the shared volume's claim, one service
account per kind of step, and Roles granting each only the verbs its steps use.

``mlflows setup-manifests --namespace NS | kubectl apply -f -``
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from mlflows.help_text import plain
from mlflows.manifest import to_yaml
from mlflows.names import k8s_name
from mlflows.output import write_stdout
from mlflows.semaphores import TrainingSlots
from mlflows.storage import SharedVolume
from mlflows.workloads import ServiceAccounts


@dataclass(frozen=True)
class Rule:
    api_group: str
    resources: tuple[str, ...]
    verbs: tuple[str, ...]

    def manifest(self) -> dict:
        return {
            "apiGroups": [self.api_group],
            "resources": list(self.resources),
            "verbs": list(self.verbs),
        }


# Argo's executor reports every pod's outputs to the controller through WorkflowTaskResults.
REPORT_OUTPUTS = Rule("argoproj.io", ("workflowtaskresults",), ("create", "patch"))
# Resource steps create the jobs and services, then watch them until their conditions hold;
# `apply` reads and patches, and the output parameters read the created object.
MANAGE_WORKLOADS = (
    Rule("kubeflow.org", ("tfjobs",), ("create", "get", "watch", "patch")),
    Rule("serving.kserve.io", ("inferenceservices",), ("create", "get", "watch", "patch")),
    # --serve ensemble: the InferenceGraph in front of the members, applied and watched alike.
    Rule("serving.kserve.io", ("inferencegraphs",), ("create", "get", "watch", "patch")),
)
# The memoize cache: a ConfigMap the ingestion step's entry is read from and written to.
MEMO_CACHE = Rule("", ("configmaps",), ("create", "update", "get"))


def role_rules(accounts: ServiceAccounts) -> dict[str, tuple[Rule, ...]]:
    """Each service account's rules; the workloads' own pods get none (they never call the API)."""
    return {
        accounts.steps: (REPORT_OUTPUTS, MEMO_CACHE),
        accounts.resources: (REPORT_OUTPUTS, *MANAGE_WORKLOADS),
        accounts.workloads: (),
    }


def setup_manifests(
    namespace: str,
    volume: SharedVolume | None = None,
    accounts: ServiceAccounts | None = None,
    max_concurrent_training: int | None = None,
) -> list[dict]:
    """The PVC, ServiceAccounts, Roles and RoleBindings, in the order to apply them; with
    ``max_concurrent_training``, the ConfigMap sizing the semaphore of pipelines rendered with
    ``--max-concurrent-training`` (Argo's controller reads it, so no step's role needs it)."""
    volume, accounts = volume or SharedVolume(), accounts or ServiceAccounts()
    k8s_name(namespace, "namespace")
    manifests = [volume.manifest(namespace)]
    for account, rules in role_rules(accounts).items():
        metadata = {"name": account, "namespace": namespace}
        manifests.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata})
        if not rules:
            continue
        manifests.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": metadata,
                "rules": [rule.manifest() for rule in rules],
            }
        )
        manifests.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": metadata,
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "Role",
                    "name": account,
                },
                "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}],
            }
        )
    if max_concurrent_training is not None:
        manifests.append(TrainingSlots().manifest(namespace, max_concurrent_training))
    return manifests


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "setup-manifests",
        help="print the PVC, ServiceAccounts and RBAC the pipeline needs in a namespace",
        description=plain(__doc__),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--namespace", default="mlflows", help="namespace the pipeline runs in")
    parser.add_argument("--claim", default=SharedVolume.claim_name, help="shared volume claim name")
    parser.add_argument("--size", default=SharedVolume.size, help="shared volume size")
    parser.add_argument(
        "--storage-class", help="storage class (ReadWriteMany) for the shared volume"
    )
    parser.add_argument(
        "--max-concurrent-training",
        type=int,
        metavar="N",
        help="also the ConfigMap letting at most N TFJobs run at once in the namespace "
        "(pipelines rendered with --max-concurrent-training wait for a slot)",
    )
    parser.set_defaults(func=_print_setup_manifests)


def _print_setup_manifests(args: argparse.Namespace) -> int:
    volume = SharedVolume(claim_name=args.claim, size=args.size, storage_class=args.storage_class)
    manifests = setup_manifests(
        args.namespace, volume, max_concurrent_training=args.max_concurrent_training
    )
    write_stdout("---\n".join(to_yaml(manifest) for manifest in manifests))
    return 0
