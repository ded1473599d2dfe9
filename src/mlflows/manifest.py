"""Kubernetes manifests are built as dicts and serialized here, never assembled from strings."""

from __future__ import annotations

from hera import _yaml as hera_yaml


class Bare(str):
    """An Argo expression written unquoted in a resource template's manifest, so that the value
    Argo substitutes into the text keeps its type: ``replicas: {{inputs.parameters.workers}}``
    becomes ``replicas: 2``, a number, where a quoted expression would stay the string "2" (which
    a CRD rejects). Such a manifest is YAML only once substituted."""


def to_yaml(manifest: dict) -> str:
    """YAML as Hera writes it: the dict's own key order (same manifest, same bytes), multi-line
    strings as blocks, Argo ``{{...}}`` expressions never wrapped across lines; :class:`Bare`
    values unquoted."""
    bare: list[str] = []
    text = hera_yaml.dump(_with_tokens(manifest, bare))
    # Each Bare value was dumped as a plain word, found once in the text: put the expression back.
    for index, expression in enumerate(bare):
        token = _token(index)
        if text.count(token) != 1:
            raise ValueError(f"cannot write {expression!r} unquoted: {token!r} is in the manifest")
        text = text.replace(token, expression)
    return text


def _with_tokens(value: object, bare: list[str]) -> object:
    if isinstance(value, Bare):
        bare.append(str(value))
        return _token(len(bare) - 1)
    if isinstance(value, dict):
        return {key: _with_tokens(item, bare) for key, item in value.items()}
    if isinstance(value, list):
        return [_with_tokens(item, bare) for item in value]
    return value


def _token(index: int) -> str:
    return f"mlflowsbare{index}z"


def resources(cpu: str | None, memory: str | None) -> dict:
    """Container resources with requests equal to limits (a TFJob worker or a server is steady)."""
    amounts = {key: value for key, value in (("cpu", cpu), ("memory", memory)) if value}
    return {"requests": amounts, "limits": dict(amounts)} if amounts else {}
