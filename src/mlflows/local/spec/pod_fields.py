"""Fields that shape the pods Argo creates, accepted and said to have no effect here.

Argo applies them to the Pod it builds (workflow/controller/workflowpod.go: ``podSpecPatch`` of the
workflow, then of the template; ``podResources``; the pod's metadata) or to objects around it
(``podGC``, ``podDisruptionBudget``). Here a pod is a process, so they change nothing; each one a
workflow uses, at spec or template level alike, is said once at the start of the run rather than
silently dropped.
"""

from __future__ import annotations

# field -> why it changes nothing here
SPEC_FIELDS = {
    "podSpecPatch": "there is no pod spec to patch",
    "podResources": "processes get no resource requests or limits",
    "podGC": "no pod is left to collect",
    "podMetadata": "no pod carries labels or annotations",
    "podDisruptionBudget": "nothing evicts a pod here",
}
TEMPLATE_FIELDS = {
    "podSpecPatch": SPEC_FIELDS["podSpecPatch"],
    "podResources": SPEC_FIELDS["podResources"],
    "metadata": "no pod carries labels or annotations",
}


def no_effect_notes(spec: dict, templates: list[dict]) -> list[str]:
    """One line per such field the workflow uses (spec or any template), in a fixed order."""
    used = {field: why for field, why in SPEC_FIELDS.items() if field in spec}
    for template in templates:
        used.update({field: why for field, why in TEMPLATE_FIELDS.items() if field in template})
    order = [*SPEC_FIELDS, *TEMPLATE_FIELDS]
    return [
        f"{'pod metadata' if field == 'metadata' else field} has no effect here ({used[field]})"
        for field in sorted(used, key=order.index)
    ]
