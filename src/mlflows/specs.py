"""Model specs: an architecture plus the hyperparameters it trains with.

One spec is one training branch, so a hyperparameter sweep is just a longer list. Each spec's
numbers must lie within LIMITS (a spec refuses others when it is made); specs are checked
together: names must be unique Kubernetes names, and no two specs may train the same model (the
book's third branch trained ``dropout`` a second time — a copy-paste bug this makes impossible).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace

from mlflows.errors import UserError
from mlflows.names import k8s_name

# The architectures mlflows.ml.models registers. Kept here as plain names so rendering a workflow
# does not import TensorFlow; tests/test_specs.py checks the two lists agree.
ARCHITECTURES = ("cnn", "dropout", "batch_norm")


@dataclass(frozen=True)
class Limits:
    """The values a number may take: ``low`` (or above it, when ``low_excluded``) to ``high``."""

    low: int | float
    high: int | float
    whole: bool = True
    low_excluded: bool = False

    def admit(self, value: object, field: str) -> None:
        """UserError naming ``field`` and the allowed range unless ``value`` lies within."""
        number = not isinstance(value, bool) and isinstance(
            value, int if self.whole else (int, float)
        )
        low_ok = number and (value > self.low if self.low_excluded else value >= self.low)
        if not (low_ok and value <= self.high):  # nan fails both comparisons
            raise UserError(f"{field}: {value!r} is out of range; use {self}")

    def __str__(self) -> str:
        kind = "a whole number" if self.whole else "a number"
        if self.low_excluded:
            return f"{kind} above {self.low}, at most {self.high}"
        return f"{kind} from {self.low} to {self.high}"


# Low ends are what training needs; high ends are far beyond a real run, so that a slip
# (--workers 1000000, 20 digits of epochs) is refused instead of rendered.
LIMITS = {
    "learning_rate": Limits(0, 10, whole=False, low_excluded=True),
    "batch_size_per_replica": Limits(1, 65_536),
    "epochs": Limits(1, 100_000),
    "steps_per_epoch": Limits(1, 1_000_000),
    "workers": Limits(1, 1_024),
}


@dataclass(frozen=True)
class ModelSpec:
    name: str
    architecture: str
    learning_rate: float = 1e-3
    batch_size_per_replica: int = 64
    epochs: int = 3
    steps_per_epoch: int = 100
    workers: int = 2
    # The Kubernetes PriorityClass of its TFJob (None: the cluster's default); not part of the
    # model it trains.
    priority_class: str | None = None

    def __post_init__(self) -> None:
        for field, limits in LIMITS.items():
            limits.admit(getattr(self, field), f"ModelSpec {self.name!r}: {field}")
        if self.priority_class is not None:
            k8s_name(self.priority_class, f"ModelSpec {self.name!r}: priority_class")

    @property
    def hyperparameters(self) -> tuple:
        """What decides the model it trains: everything but its name and how it is scheduled."""
        return tuple(
            getattr(self, f.name) for f in fields(self) if f.name not in ("name", "priority_class")
        )


def check_specs(specs: Sequence[ModelSpec]) -> tuple[ModelSpec, ...]:
    """The specs, if together they make a valid fan-out; else UserError naming the first problem."""
    if not specs:
        raise UserError("models: no model to train; name at least one, e.g. --models cnn")
    seen: dict[tuple, str] = {}
    names: set[str] = set()
    for index, spec in enumerate(specs):
        field = f"models[{index}]"
        k8s_name(spec.name, f"{field}.name", max_length=40)  # leaves room for "train-" etc.
        if spec.name in names:
            raise UserError(
                f"{field}.name: {spec.name!r} is used twice; give each model its own name"
            )
        names.add(spec.name)
        if spec.architecture not in ARCHITECTURES:
            raise UserError(
                f"{field}.architecture: unknown architecture {spec.architecture!r}; "
                f"known: {', '.join(ARCHITECTURES)}"
            )
        if spec.hyperparameters in seen:
            raise UserError(
                f"{field}: {spec.name!r} trains the same model as {seen[spec.hyperparameters]!r} "
                "(same architecture and hyperparameters); change one or drop it"
            )
        seen[spec.hyperparameters] = spec.name
    return tuple(specs)


def select_specs(names: Sequence[str], catalogue: Sequence[ModelSpec]) -> list[ModelSpec]:
    """The catalogue's specs named in ``names``, in that order; UserError for an unknown name."""
    by_name = {spec.name: spec for spec in catalogue}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise UserError(f"models: unknown model spec {unknown[0]!r}; known: {', '.join(by_name)}")
    return [by_name[name] for name in names]


def with_overrides(specs: Sequence[ModelSpec], **overrides) -> list[ModelSpec]:
    """Every spec with the given fields replaced (None leaves a field as it is)."""
    changes = {key: value for key, value in overrides.items() if value is not None}
    return [replace(spec, **changes) for spec in specs]


# A spec as a loop's item (the branch template's input parameters): each field under its
# parameter's name, every value a string; the priority class only where asked (a loop some of
# whose specs have one), "" for the cluster's default. workloads.Training writes the same.
ITEM_KEYS = {"name": "model", "architecture": "model-type"}


def item_key(field: str) -> str:
    return ITEM_KEYS.get(field, field.replace("_", "-"))


def to_item(spec: ModelSpec, *, priority: bool = False) -> dict[str, str]:
    item = {
        item_key(f.name): str(getattr(spec, f.name))
        for f in fields(spec)
        if f.name != "priority_class"
    }
    if priority:
        item[item_key("priority_class")] = spec.priority_class or ""
    return item


def from_item(item: dict, where: str) -> ModelSpec:
    """The spec an item describes; UserError naming ``where`` if it is not one."""
    values = {}
    for f in fields(ModelSpec):
        key = item_key(f.name)
        if key not in item:
            if f.name in ("name", "architecture"):
                raise UserError(f"{where}: no {key!r}; each spec needs a model and a model-type")
            continue
        text = str(item[key])
        if f.name in LIMITS:
            try:
                values[f.name] = int(text) if LIMITS[f.name].whole else float(text)
            except ValueError:
                raise UserError(f"{where}.{key}: {text!r} is not {LIMITS[f.name]}") from None
        else:
            values[f.name] = text or None if f.name == "priority_class" else text
    return ModelSpec(**values)
