"""Kubernetes manifests are built as dicts and serialized here, never assembled from strings."""

from __future__ import annotations

from hera import _yaml as hera_yaml


def to_yaml(manifest: dict) -> str:
    """YAML as Hera writes it: the dict's own key order (same manifest, same bytes), multi-line
    strings as blocks, Argo ``{{...}}`` expressions never wrapped across lines."""
    return hera_yaml.dump(manifest)


def resources(cpu: str | None, memory: str | None) -> dict:
    """Container resources with requests equal to limits (a TFJob worker or a server is steady)."""
    amounts = {key: value for key, value in (("cpu", cpu), ("memory", memory)) if value}
    return {"requests": amounts, "limits": dict(amounts)} if amounts else {}
