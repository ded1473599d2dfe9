from __future__ import annotations

import pytest

from mlflows.errors import UserError
from mlflows.specs import (
    ARCHITECTURES,
    LIMITS,
    ModelSpec,
    check_specs,
    select_specs,
    with_overrides,
)

CATALOGUE = [
    ModelSpec(name="cnn", architecture="cnn"),
    ModelSpec(name="dropout", architecture="dropout"),
]


def test_a_sweep_is_a_longer_list():
    sweep = [
        ModelSpec(name=f"cnn-lr{i}", architecture="cnn", learning_rate=rate)
        for i, rate in enumerate((1e-2, 1e-3, 1e-4))
    ]
    assert check_specs(sweep) == tuple(sweep)


@pytest.mark.parametrize(
    "specs, message",
    [
        ([], "models: no model"),
        (
            [
                ModelSpec(name="cnn", architecture="cnn"),
                ModelSpec(name="cnn", architecture="dropout"),
            ],
            "models[1].name: 'cnn' is used twice",
        ),
        (
            [
                ModelSpec(name="a", architecture="dropout"),
                ModelSpec(name="b", architecture="dropout"),
            ],
            "models[1]: 'b' trains the same model as 'a'",
        ),
        (
            [ModelSpec(name="a", architecture="resnet")],
            "models[0].architecture: unknown architecture 'resnet'",
        ),
        (
            [ModelSpec(name="Batch_Norm", architecture="batch_norm")],
            "models[0].name: 'Batch_Norm' is not a valid",
        ),
    ],
)
def test_invalid_specs_name_the_field(specs, message):
    with pytest.raises(UserError) as raised:
        check_specs(specs)
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(
    "field, value, allowed",
    [
        ("workers", 0, "a whole number from 1 to 1024"),
        ("workers", 1_000_000, "a whole number from 1 to 1024"),
        ("workers", 2.0, "a whole number from 1 to 1024"),
        ("workers", True, "a whole number from 1 to 1024"),
        ("epochs", 10**20, "a whole number from 1 to 100000"),
        ("steps_per_epoch", "100", "a whole number from 1 to 1000000"),
        ("batch_size_per_replica", 65_537, "a whole number from 1 to 65536"),
        ("learning_rate", 0, "a number above 0, at most 10"),
        ("learning_rate", float("nan"), "a number above 0, at most 10"),
        ("learning_rate", float("inf"), "a number above 0, at most 10"),
    ],
)
def test_a_spec_refuses_numbers_out_of_range(field, value, allowed):
    with pytest.raises(UserError) as raised:
        ModelSpec(name="a", architecture="cnn", **{field: value})
    assert str(raised.value) == f"ModelSpec 'a': {field}: {value!r} is out of range; use {allowed}"


def test_the_limits_themselves_are_allowed():
    for field, limits in LIMITS.items():
        for value in (limits.high, limits.low + (1e-9 if limits.low_excluded else 0)):
            assert (
                getattr(ModelSpec(name="a", architecture="cnn", **{field: value}), field) == value
            )
    with pytest.raises(UserError, match="workers: 1025 is out of range"):
        with_overrides([ModelSpec(name="a", architecture="cnn")], workers=1025)


def test_select_and_override():
    chosen = with_overrides(select_specs(["dropout", "cnn"], CATALOGUE), workers=4, epochs=None)
    assert [(s.name, s.workers, s.epochs) for s in chosen] == [("dropout", 4, 3), ("cnn", 4, 3)]
    with pytest.raises(UserError, match="unknown model spec 'vgg'; known: cnn, dropout"):
        select_specs(["vgg"], CATALOGUE)


def test_architectures_match_the_model_registry():
    from mlflows.ml import models

    assert set(models.MODELS) == set(ARCHITECTURES)
