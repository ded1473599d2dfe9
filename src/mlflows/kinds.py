"""The Argo kinds that hold templates, and where each keeps them."""

from __future__ import annotations

TEMPLATE_PATHS = {
    "Workflow": ("spec", "templates"),
    "WorkflowTemplate": ("spec", "templates"),
    "ClusterWorkflowTemplate": ("spec", "templates"),
    # The spec of the workflows it creates.
    "CronWorkflow": ("spec", "workflowSpec", "templates"),
}


def templates_of(manifest: dict) -> list:
    """The templates of a manifest of one of these kinds (a Workflow when it names none); an empty
    list when it has none, or none where they belong."""
    found: object = manifest
    for key in TEMPLATE_PATHS.get(manifest.get("kind", "Workflow"), ()):
        found = found.get(key) if isinstance(found, dict) else None
    return found if isinstance(found, list) else []
