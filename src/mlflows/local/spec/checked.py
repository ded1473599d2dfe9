"""A workflow checked as a submission is, before anything of a run exists: one sequence shared by
``mlflows run`` (:mod:`mlflows.local.runner`) and ``mlflows validate`` (:mod:`mlflows.schema`).

As the API server and ``argo lint`` do (workflow/validate/validate.go ``ValidateWorkflow``): the
document's shape, the objects given beside it (WorkflowTemplates to resolve ``templateRef``
against, ConfigMaps and Secrets to read), every template a call can reach and every reference.
What is wrong is a UserError of one line; what Argo runs but this runner does not is its
subclass :class:`~mlflows.local.spec.fields.NotRunnableHere`.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlflows.local.cluster.apply import seed_objects
from mlflows.local.cluster.configmaps import ConfigMaps
from mlflows.local.cluster.objects import ObjectStore
from mlflows.local.spec.manifests import Manifest
from mlflows.local.spec.templates import Library, TemplateStore
from mlflows.local.spec.validate import check_document, validate_workflow
from mlflows.local.spec.workflow import workflow_dict, workflow_name


@dataclass
class CheckedWorkflow:
    document: dict  # as given (a CronWorkflow's: the Workflow it starts)
    namespace: str
    name: str  # metadata.name, or a name drawn from generateName
    store: TemplateStore  # its templates; store.workflow joins a workflowTemplateRef's spec
    objects: ObjectStore  # the objects given beside it, created
    config_maps: ConfigMaps


def check_workflow(
    source,
    *,
    namespace: str | None = None,
    templates: list[Manifest] = (),
    applied: list[Manifest] = (),
) -> CheckedWorkflow:
    """``source`` (a Hera Workflow, a dict or a YAML path) checked in ``namespace`` (default: its
    own, else ``default``), with the WorkflowTemplates of ``templates`` and the objects
    ``applied`` (``kubectl apply``: ConfigMaps, Secrets, WorkflowTemplates)."""
    document = workflow_dict(source)
    check_document(document)
    namespace = namespace or (document.get("metadata") or {}).get("namespace") or "default"
    library = Library(
        [*templates, *(manifest for manifest in applied if manifest.kind in Library.KINDS)],
        namespace,
    )
    objects = ObjectStore(namespace)
    seed_objects([manifest for manifest in applied if manifest.kind not in Library.KINDS], objects)
    config_maps = ConfigMaps(objects, namespace)
    name = workflow_name(document)  # a generateName is drawn now; the run may draw another
    store = TemplateStore(document, library, name)
    validate_workflow(store.workflow, store, config_maps)
    return CheckedWorkflow(document, namespace, name, store, objects, config_maps)
