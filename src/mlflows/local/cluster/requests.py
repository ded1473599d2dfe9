"""What a resource step asks of the Kubernetes stand-in and what it answers: the engine builds a
:class:`ResourceRequest` without importing the stand-in, which
(:class:`~mlflows.local.cluster.resources.LocalCluster`) is loaded only when a run has resource
templates."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ResourceRequest:
    node_name: str  # unique per node, safe for file names, e.g. "e2e-abc12.train-cnn"
    action: str  # create | apply | get | delete | patch | replace
    manifest: dict  # parsed YAML, all {{...}} already substituted by the engine
    success_condition: str | None
    failure_condition: str | None
    output_parameters: list[dict] = field(default_factory=list)  # the template's outputs.parameters


@dataclass
class ResourceResult:
    phase: str  # "Succeeded" | "Failed" | "Error"
    message: str
    outputs: dict[str, str] = field(default_factory=dict)
