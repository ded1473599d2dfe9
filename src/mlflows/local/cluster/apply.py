"""``mlflows run --apply FILE``: the objects a user keeps in YAML, created in the run's object store
before the run starts, as ``kubectl apply -f FILE`` would create them in the cluster first.

What is kept here is plain data that later steps read: ConfigMaps (``valueFrom.configMapKeyRef``,
resource templates that ``get`` them), Secrets, other objects no operator acts on.
WorkflowTemplates and ClusterWorkflowTemplates go to the template store instead (the runner
does that). Objects that something would have to run — Pods, Deployments, Jobs, TFJobs,
InferenceServices, Workflows — are refused: create those with a resource template, whose
operators run here.
"""

from __future__ import annotations

from mlflows.errors import UserError
from mlflows.local.cluster.kinds import NEEDS_A_CONTROLLER, OPERATED_VERSIONS
from mlflows.local.cluster.objects import ApiError, ObjectStore, api_group
from mlflows.local.spec.manifests import Manifest

STRING_MAPS = {("", "ConfigMap"): "data", ("", "Secret"): "stringData"}


def seed_objects(manifests: list[Manifest], objects: ObjectStore) -> None:
    """Create each object as the API server would; UserError (one line) for one it would reject
    or that nothing here would act on."""
    for manifest in manifests:
        body = manifest.body
        group, kind = api_group(body), manifest.kind
        label = f"{manifest.where}: {kind} {manifest.name}"
        why = NEEDS_A_CONTROLLER.get((group, kind)) or NEEDS_A_CONTROLLER.get((group, "*"))
        if (group, kind) in OPERATED_VERSIONS:
            why = "its operator runs only for a resource template; create it with one"
        if why:
            raise UserError(f"{label}: --apply keeps plain objects only; {why}")
        field = STRING_MAPS.get((group, kind))
        values = body.get(field) if field else None
        if values is not None and (
            not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values())
        ):
            raise UserError(f"{label}: {field} must map keys to strings (quote numbers, booleans)")
        try:
            objects.create(body)
        except ApiError as err:
            raise UserError(f"{label}: {err}") from None
