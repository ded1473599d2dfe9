"""Hyperparameter sweeps: a search space expanded into model specs, one training branch each.

A space is ``field=values`` parts separated by ``;``, e.g.
``learning_rate=1e-3,3e-3;batch_size=32,64``. A field is a ModelSpec field (``batch_size`` for
``batch_size_per_replica``); its values are a comma-separated list, or, for a random search, a
range ``low..high`` (learning rates are drawn log-uniformly, whole numbers uniformly). A grid
takes every combination; a random search draws ``samples`` distinct points per base spec from a
generator seeded with ``seed``, so the same seed gives the same specs. Each base spec
(``--models``) is swept; its specs are named ``<base>-<n>``.

The pipeline's ``sweep`` step (``python -m mlflows.ml.sweep``) expands the space at run time
into the loop's items; rendering expands it too, so a mistake is one line before anything runs.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace

from mlflows.errors import UserError
from mlflows.specs import ARCHITECTURES, LIMITS, ModelSpec, check_specs

ALIASES = {"batch_size": "batch_size_per_replica"}
SWEPT_FIELDS = ("architecture", *LIMITS)
MAX_SPECS = 1000  # a name's suffix stays within three digits


@dataclass(frozen=True)
class Range:
    low: float
    high: float


@dataclass(frozen=True)
class SearchSpace:
    """Each field's values: a tuple of values, or a Range (random search only)."""

    fields: dict[str, tuple | Range]

    def grid(self) -> list[dict]:
        ranged = [field for field, values in self.fields.items() if isinstance(values, Range)]
        if ranged:
            raise UserError(
                f"--sweep: {ranged[0]} is a range, which only a random search can draw from; "
                "give --sweep-samples N, or list its values"
            )
        names = list(self.fields)
        return [
            dict(zip(names, point, strict=True))
            for point in itertools.product(*self.fields.values())
        ]

    def draw(self, rng: random.Random) -> dict:
        return {field: _draw(field, values, rng) for field, values in self.fields.items()}


def parse_space(text: str) -> SearchSpace:
    """The space ``text`` describes; UserError naming the part that is wrong."""
    fields: dict[str, tuple | Range] = {}
    for part in (part.strip() for part in text.split(";")):
        if not part:
            continue
        name, equals, values = (piece.strip() for piece in part.partition("="))
        field = ALIASES.get(name, name)
        if not equals or not values:
            raise UserError(f"--sweep: {part!r} is not field=values; e.g. learning_rate=1e-3,3e-3")
        if field not in SWEPT_FIELDS:
            raise UserError(
                f"--sweep: {name!r} is not a field to sweep; "
                f"known: {', '.join([*SWEPT_FIELDS, *ALIASES])}"
            )
        if field in fields:
            raise UserError(f"--sweep: {name} is given twice; list all its values in one part")
        fields[field] = _values(field, values)
    if not fields:
        raise UserError(
            '--sweep: no field to sweep; e.g. "learning_rate=1e-3,3e-3;batch_size=32,64"'
        )
    return SearchSpace(fields)


def expand(
    bases: Sequence[ModelSpec], space: SearchSpace, samples: int | None = None, seed: int = 0
) -> tuple[ModelSpec, ...]:
    """Every base spec swept over ``space``: the grid, or ``samples`` random points each."""
    if samples is not None and not 1 <= samples <= MAX_SPECS:
        raise UserError(f"--sweep-samples: {samples} is out of range; use 1 to {MAX_SPECS}")
    rng = random.Random(seed)
    specs = []
    for base in bases:
        points = space.grid() if samples is None else _distinct_draws(space, samples, rng)
        specs += [
            replace(base, name=f"{base.name}-{index}", **point)
            for index, point in enumerate(points, start=1)
        ]
    if len(specs) > MAX_SPECS:
        raise UserError(
            f"--sweep: {len(specs)} specs is more than {MAX_SPECS}; sweep fewer values or models"
        )
    return check_specs(specs)


def _values(field: str, text: str) -> tuple | Range:
    low, dots, high = text.partition("..")
    if dots:
        if field == "architecture":
            raise UserError("--sweep: architecture takes a list of names, not a range")
        bounds = Range(_number(field, low), _number(field, high))
        if bounds.low >= bounds.high:
            raise UserError(f"--sweep: {field} range {text!r} is empty; give low..high")
        return bounds
    values = tuple(_value(field, value.strip()) for value in text.split(","))
    if len(set(values)) != len(values):
        raise UserError(f"--sweep: {field} lists a value twice ({text}); list each once")
    return values


def _value(field: str, text: str):
    if field == "architecture":
        if text not in ARCHITECTURES:
            raise UserError(
                f"--sweep: architecture {text!r} is unknown; known: {', '.join(ARCHITECTURES)}"
            )
        return text
    return _number(field, text)


def _number(field: str, text: str) -> int | float:
    limits = LIMITS[field]
    try:
        value = int(text) if limits.whole else float(text)
    except ValueError:
        raise UserError(f"--sweep: {field} value {text!r} is not {limits}") from None
    limits.admit(value, f"--sweep: {field}")
    return value


def _draw(field: str, values: tuple | Range, rng: random.Random):
    if not isinstance(values, Range):
        return rng.choice(values)
    if LIMITS[field].whole:
        return rng.randint(int(values.low), int(values.high))
    # Learning rates matter by their order of magnitude: drawn log-uniformly, 3 digits kept.
    drawn = math.exp(rng.uniform(math.log(values.low), math.log(values.high)))
    return float(f"{drawn:.3g}")


def _distinct_draws(space: SearchSpace, samples: int, rng: random.Random) -> list[dict]:
    points: list[dict] = []
    for _ in range(samples * 100):
        point = space.draw(rng)
        if point not in points:
            points.append(point)
        if len(points) == samples:
            return points
    raise UserError(
        f"--sweep-samples: {samples} distinct points do not fit in the space "
        f"(found {len(points)}); draw fewer or widen it"
    )
