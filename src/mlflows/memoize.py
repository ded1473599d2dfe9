"""Memoized steps: a template whose outputs are cached in a ConfigMap and reused within ``max_age``.

The key is built from the template's own input parameters (what its result depends on), never a
constant, so changing the dataset or its version is a cache miss; and from the names of the
outputs it declares, so an entry cached by an older template without an output the new one
declares is a miss, never a hit that cannot resolve that output. Argo accepts only
``[a-zA-Z0-9][-a-zA-Z0-9]*`` as a cache key (workflow/controller/cache/cache.go), and values such as
``fashion_mnist`` or ``3.0.1`` are known only at run time, so each one is sanitized there by an
expression tag rather than trusted.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from hera.workflows import models as m
from hera.workflows._mixins import TemplateMixin

from mlflows.duration import parse_duration
from mlflows.errors import UserError
from mlflows.names import k8s_name


@dataclass(frozen=True)
class MemoCache:
    """Where Argo keeps memoized outputs (a ConfigMap) and how long an entry stays valid."""

    config_map: str = "mlflows-memo"
    max_age: str = "24h"

    def __post_init__(self) -> None:
        k8s_name(self.config_map, "memo cache ConfigMap name")
        parse_duration(self.max_age, "cache max age")


def memoized(template: TemplateMixin, *, key_parameters: list[str], cache: MemoCache):
    """Memoize ``template`` under a key made of ``key_parameters``, names of its inputs."""
    built = template._build_inputs()
    inputs = {parameter.name for parameter in (built.parameters or [])} if built else set()
    missing = [name for name in key_parameters if name not in inputs]
    if not key_parameters or missing:
        raise UserError(
            f"{template.name}: memo key parameters {missing or '(none)'} are not inputs of the "
            f"template; key it on the inputs its result depends on ({', '.join(sorted(inputs))})"
        )
    key = "-".join([template.name, _outputs_digest(template), *map(key_safe, key_parameters)])
    template.memoize = m.Memoize(
        key=key,
        max_age=cache.max_age,
        cache=m.Cache(config_map=m.LocalObjectReference(name=cache.config_map)),
    )
    return template


def _outputs_digest(template: TemplateMixin) -> str:
    """8 hex digits naming the output parameters and artifacts the template declares."""
    built = template._build_outputs()
    names = sorted(
        f"{kind}:{item.name}"
        for kind in ("parameters", "artifacts")
        for item in (getattr(built, kind, None) or [] if built else [])
    )
    return hashlib.sha256("\n".join(names).encode()).hexdigest()[:8]


def key_safe(parameter: str) -> str:
    """An expression tag giving the input parameter's value with every character Argo's cache key
    does not allow replaced by ``-``."""
    return f"{{{{=sprig.regexReplaceAll('[^-a-zA-Z0-9]', inputs.parameters['{parameter}'], '-')}}}}"
