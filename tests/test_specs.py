from __future__ import annotations

import pytest

from mlflows.errors import UserError
from mlflows.specs import ARCHITECTURES, ModelSpec, check_specs, select_specs, with_overrides

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
        ([ModelSpec(name="a", architecture="cnn", workers=0)], "models[0].workers: 0 is too small"),
        ([ModelSpec(name="a", architecture="cnn", learning_rate=0)], "models[0].learning_rate"),
    ],
)
def test_invalid_specs_name_the_field(specs, message):
    with pytest.raises(UserError) as raised:
        check_specs(specs)
    assert str(raised.value).startswith(message)


def test_select_and_override():
    chosen = with_overrides(select_specs(["dropout", "cnn"], CATALOGUE), workers=4, epochs=None)
    assert [(s.name, s.workers, s.epochs) for s in chosen] == [("dropout", 4, 3), ("cnn", 4, 3)]
    with pytest.raises(UserError, match="unknown model spec 'vgg'; known: cnn, dropout"):
        select_specs(["vgg"], CATALOGUE)


def test_architectures_match_the_model_registry():
    from mlflows.ml import models

    assert set(models.MODELS) == set(ARCHITECTURES)
