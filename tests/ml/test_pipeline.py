"""The trainer's input pipeline: scaled, global batches, DATA sharding, endless."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from mlflows.ml import datasets, pipeline


def test_training_batches_are_global_scaled_and_endless(digits_dir):
    examples = datasets.examples("digits", "train", digits_dir)
    n_examples = int(examples.cardinality())
    data = pipeline.training_dataset(examples, batch_size_per_replica=16, replicas_in_sync=4)

    batches = list(data.take(n_examples // 64 + 3))  # more batches than one pass holds

    assert len(batches) == n_examples // 64 + 3
    for images, labels in batches:
        assert images.shape == (64, 28, 28, 1) and images.dtype == tf.float32
        assert float(tf.reduce_min(images)) >= 0.0 and float(tf.reduce_max(images)) <= 1.0
        assert labels.shape == (64,)
    assert float(tf.reduce_max(batches[0][0])) > 0.5  # scaled, not squashed to ~0


def test_training_data_is_shuffled_the_same_way_on_every_worker(digits_dir):
    def first_labels():
        examples = datasets.examples("digits", "train", digits_dir)
        data = pipeline.training_dataset(examples, 32, 1)
        return next(iter(data))[1].numpy()

    in_order = next(iter(datasets.examples("digits", "train", digits_dir).batch(32)))[1].numpy()
    one, other = first_labels(), first_labels()
    assert np.array_equal(one, other)  # so DATA sharding gives workers disjoint parts
    assert not np.array_equal(one, in_order)


def test_both_pipelines_shard_by_data(digits_dir):
    examples = datasets.examples("digits", "test", digits_dir)
    data_policy = tf.data.experimental.AutoShardPolicy.DATA
    for data in (pipeline.training_dataset(examples, 8, 2), pipeline.evaluation_dataset(examples)):
        assert data.options().experimental_distribute.auto_shard_policy == data_policy


def test_evaluation_sees_every_example_once_in_order(digits_dir):
    images, labels = datasets.digits.load(digits_dir, "test")
    batches = list(pipeline.evaluation_dataset(datasets.examples("digits", "test", digits_dir)))

    seen = np.concatenate([batch_labels.numpy() for _, batch_labels in batches])
    assert np.array_equal(seen, labels)
    np.testing.assert_allclose(batches[0][0].numpy()[0], images[0] / 255.0, rtol=1e-6)
