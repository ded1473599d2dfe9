"""The model registry, and every architecture really learning on digits."""

from __future__ import annotations

import pytest

from mlflows.errors import UserError
from mlflows.ml import models, select

CHANCE = 0.1  # ten classes


@pytest.mark.slow
@pytest.mark.parametrize("model_type", sorted(models.MODELS))
def test_each_architecture_trains_well_above_chance(trained, digits_dir, model_type):
    saved_model, metrics = trained(model_type)

    assert metrics["model_type"] == model_type
    assert metrics["accuracy"] > 4 * CHANCE, metrics
    assert metrics["replicas"] == 1 and metrics["initial_epoch"] == 0
    assert metrics["steps"] == metrics["epochs"] * metrics["steps_per_epoch"]
    assert len(metrics["epoch_seconds"]) == metrics["epochs"]
    assert metrics["images_per_second"] > 0
    # The saved model, evaluated by selection, scores what training measured.
    assert select.evaluate(saved_model, "digits", digits_dir) == pytest.approx(
        metrics["accuracy"], abs=0.01
    )


def test_the_three_architectures_differ_where_the_book_says():
    import tf_keras

    def layer_types(name):
        return [type(layer).__name__ for layer in models.MODELS[name](tf_keras.layers)]

    assert "Dropout" in layer_types("dropout") and "Dropout" not in layer_types("cnn")
    assert "BatchNormalization" in layer_types("batch_norm")
    assert "BatchNormalization" not in layer_types("cnn")


def test_a_built_model_maps_images_to_ten_probabilities():
    import numpy as np

    model = models.build("batch_norm", 1e-3)
    probabilities = model.predict(np.zeros((2, 28, 28, 1), np.float32), verbose=0)
    assert probabilities.shape == (2, 10)
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_an_unknown_model_type_lists_the_known_ones():
    with pytest.raises(UserError, match="--model-type: unknown model 'resnet'; .*cnn, dropout"):
        models.build("resnet", 1e-3)


@pytest.mark.slow
def test_training_logs_tensorboard_scalars_per_epoch_and_drops_its_backup(trained):
    import tensorflow as tf
    from tensorflow.core.util.event_pb2 import Event

    saved_model, metrics = trained("cnn")
    checkpoints = saved_model.parent.parent / "checkpoints" / "cnn"
    steps_by_tag: dict[str, list[int]] = {}
    for path in (checkpoints / "logs" / "train").glob("events.out.tfevents.*"):
        for record in tf.data.TFRecordDataset(str(path)):
            event = Event.FromString(record.numpy())
            for value in event.summary.value:
                assert value.metadata.plugin_data.plugin_name == "scalars"
                steps_by_tag.setdefault(value.tag, []).append(event.step)

    every_epoch = list(range(metrics["epochs"]))
    tags = ("epoch_loss", "epoch_accuracy", "epoch_lr")
    assert steps_by_tag == {tag: every_epoch for tag in tags}
    assert not any(p.is_file() for p in (checkpoints / "backup").rglob("*"))
