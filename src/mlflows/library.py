"""The building blocks as a library of WorkflowTemplates that any workflow calls by ``templateRef``.

``mlflows templates --namespace NS | kubectl apply -f -`` (``--cluster``: ClusterWorkflowTemplates,
callable from every namespace with ``clusterScope: true``) gives one WorkflowTemplate per block:
ingest, train, evaluate, promote, serve, select, predict, and the loop's sweep and branch. Each
holds the template :class:`~mlflows.workloads.Workloads` builds for that block's task (promote
and branch also the templates they call), so a workflow calling the library runs what the inline
pipeline runs; only what a task would write in is an input instead: train's model spec
(``model``, ``model-type``, ``epochs``...), and select's candidates (a JSON list of model
folders, or a loop's aggregated outputs).

A calling workflow gives the workflow parameters ``dataset`` (what ingest loaded) and ``service``
(the InferenceService serve applies, promote rolls out and predict asks); the namespace needs
what ``mlflows setup-manifests`` creates (the claim, the service accounts). The templates bring
their own volume, so the caller need not declare it.

Versions. The mlflows version that rendered a template is in its name and a label:
``mlflows-train-v0-1-0``, ``mlflows.io/version: 0.1.0``. A new version is applied beside the
old ones, never over them: a workflow (and a CronWorkflow's every next run) calls the version it
names until its team changes the templateRef, so nobody's pipeline changes under them, and two
versions can be compared side by side. A version nothing calls any more is deleted by its label:
``kubectl delete workflowtemplates -l mlflows.io/version=0.1.0``.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass

from hera.workflows import ClusterWorkflowTemplate, WorkflowTemplate
from hera.workflows import models as m

from mlflows import __version__
from mlflows.errors import UserError
from mlflows.help_text import plain
from mlflows.kinds import templates_of
from mlflows.names import k8s_name
from mlflows.output import write_stdout
from mlflows.rendering import ARGO_VERSIONS, DEFAULT_ARGO_VERSION, render, to_yaml
from mlflows.storage import SharedVolume
from mlflows.workloads import Workloads

BLOCK_LABEL = "mlflows.io/block"
VERSION_LABEL = "mlflows.io/version"
# The workflow parameter naming the InferenceService; the caller's, as the dataset is.
SERVICE_PARAMETER = "service"


@dataclass(frozen=True)
class TemplateLibrary:
    """The library of one mlflows version: its templates' names and how to call them."""

    version: str = __version__
    cluster_scope: bool = False

    @property
    def kind(self) -> str:
        return "ClusterWorkflowTemplate" if self.cluster_scope else "WorkflowTemplate"

    def name(self, block: str) -> str:
        """``mlflows-<block>-v<version>``, the version's dots (and anything else a Kubernetes name
        cannot hold) as '-'."""
        return f"mlflows-{block}-v{re.sub(r'[^a-z0-9]+', '-', self.version.lower()).strip('-')}"

    def labels(self, block: str) -> dict[str, str]:
        return {BLOCK_LABEL: block, VERSION_LABEL: self.version}

    def ref(self, block: str) -> m.TemplateRef:
        """How a task calls ``block``: the template of the block's name in its WorkflowTemplate."""
        return m.TemplateRef(
            name=self.name(block), template=block, cluster_scope=self.cluster_scope or None
        )


def library_workloads() -> Workloads:
    """What the library's templates are built with: the defaults, and the service the caller's
    workflow names."""
    return Workloads(service_name=f"{{{{workflow.parameters.{SERVICE_PARAMETER}}}}}")


def template_manifests(
    namespace: str | None,
    library: TemplateLibrary | None = None,
    argo_version: str = DEFAULT_ARGO_VERSION,
) -> list[dict]:
    """One WorkflowTemplate (or ClusterWorkflowTemplate) per block, rendered for
    ``argo_version``; ``namespace`` is that of WorkflowTemplates (None for cluster ones)."""
    library = library or TemplateLibrary()
    if library.cluster_scope == (namespace is not None):
        raise ValueError("a namespace is for WorkflowTemplates, none for ClusterWorkflowTemplates")
    workloads = library_workloads()
    holder = ClusterWorkflowTemplate if library.cluster_scope else WorkflowTemplate
    manifests = []
    for block, make in workloads.library_templates().items():
        with holder(
            name=library.name(block), namespace=namespace, labels=library.labels(block)
        ) as templates:
            make()
        manifest = render(templates, argo_version)
        _declare_volume(manifest, workloads.volume)
        manifests.append(manifest)
    return manifests


def _declare_volume(manifest: dict, volume: SharedVolume) -> None:
    """Each container that mounts the shared volume declares it itself (a template's own
    ``volumes``), as a workflow calling it by templateRef does not."""
    declared = volume.volume().model_dump(by_alias=True, exclude_none=True)
    for template in templates_of(manifest):
        mounts = (template.get("container") or {}).get("volumeMounts") or []
        if any(mount["name"] == volume.volume_name for mount in mounts):
            template["volumes"] = [declared]


# --- the `mlflows templates` command --------------------------------------------------------


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "templates",
        help="print the building blocks as versioned WorkflowTemplates to kubectl apply",
        description=plain(__doc__),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--namespace",
        help="namespace of the WorkflowTemplates (default: mlflows; none with --cluster)",
    )
    parser.add_argument(
        "--cluster",
        action="store_true",
        help="ClusterWorkflowTemplates instead, callable from every namespace (clusterScope)",
    )
    parser.add_argument(
        "--argo-version",
        choices=ARGO_VERSIONS,
        default=DEFAULT_ARGO_VERSION,
        help="Argo Workflows version to render for (default: %(default)s)",
    )
    parser.set_defaults(func=_print_templates)


def _print_templates(args: argparse.Namespace) -> int:
    if args.cluster and args.namespace:
        raise UserError(
            "--namespace: ClusterWorkflowTemplates belong to no namespace; "
            "drop --namespace, or --cluster for WorkflowTemplates in it"
        )
    namespace = None if args.cluster else k8s_name(args.namespace or "mlflows", "--namespace")
    manifests = template_manifests(
        namespace, TemplateLibrary(cluster_scope=args.cluster), args.argo_version
    )
    write_stdout("---\n".join(to_yaml(manifest) for manifest in manifests))
    return 0
