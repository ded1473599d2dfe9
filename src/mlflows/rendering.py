"""Render a Hera workflow for a given Argo version, deterministically (same input, same bytes).

Hera's models follow Argo v4. For v3.7 the one difference mlflows output touches is the memo
cache: v3.7's schema requires ``memoize.cache.configMap.key`` (a ConfigMapKeySelector) where v4 has
a plain reference and rejects it. v3.7's controller stores the entry under the memo key, so that is
the key rendered there. The same goes for the templates of a WorkflowTemplate,
ClusterWorkflowTemplate or CronWorkflow.
"""

from __future__ import annotations

import copy
import sys

import yaml
from hera.workflows import Workflow

from mlflows.cli import OneLineParser
from mlflows.errors import UserError
from mlflows.kinds import templates_of
from mlflows.manifest import to_yaml

__all__ = ["ARGO_VERSIONS", "DEFAULT_ARGO_VERSION", "render", "show", "to_yaml"]

ARGO_VERSIONS = ("4.1", "3.7")
DEFAULT_ARGO_VERSION = "4.1"


def render(workflow: Workflow | dict, argo_version: str = DEFAULT_ARGO_VERSION) -> dict:
    """The workflow as a plain dict, shaped for ``argo_version`` ("4.1" or "3.7")."""
    if argo_version not in ARGO_VERSIONS:
        raise UserError(
            f"argo-version: {argo_version!r} is not supported; "
            f"choose one of {', '.join(ARGO_VERSIONS)}"
        )
    if isinstance(workflow, dict):
        manifest = copy.deepcopy(workflow)
    else:  # through Hera's YAML for its human-readable key order ("name" first, maps last)
        manifest = yaml.safe_load(workflow.to_yaml())
    if argo_version == "3.7":
        for template in templates_of(manifest):
            if memoize := template.get("memoize"):
                memoize["cache"]["configMap"]["key"] = memoize["key"]
    return manifest


def show(workflow: Workflow, argv: list[str] | None = None) -> None:
    """What an example's ``__main__`` does: print the workflow as YAML (``--argo-version 3.7`` to
    render for v3.7)."""
    parser = OneLineParser(description="Print this workflow as YAML.")
    parser.add_argument("--argo-version", choices=ARGO_VERSIONS, default=DEFAULT_ARGO_VERSION)
    args = parser.parse_args(argv)
    sys.stdout.write(to_yaml(render(workflow, args.argo_version)))
