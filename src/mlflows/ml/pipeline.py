"""The ``tf.data`` input pipelines the trainer and the evaluator feed their models.

Training follows the multi-worker recipe: scale pixels to [0, 1], cache, shuffle, repeat,
batch by the *global* batch (per-replica batch x replicas in sync, which the strategy splits
back across replicas), and shard by DATA so every worker reads its own part of each batch.
"""

from __future__ import annotations

from mlflows.ml.quiet import tensorflow

SHUFFLE_BUFFER = 10_000
# Every worker shuffles with the same seed, so all see the same order and DATA sharding hands
# each a disjoint part of it; unseeded, the workers' parts would overlap.
SHUFFLE_SEED = 1234


def scale(image, label):
    tf = tensorflow()

    return tf.cast(image, tf.float32) / 255.0, label


def _sharded_by_data():
    tf = tensorflow()

    # DATA, not the default AUTO: AUTO shards by file, and a split stored as fewer files than
    # there are workers (digits is one array; small tfds splits are one file) cannot be.
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return options


def training_dataset(examples, batch_size_per_replica: int, replicas_in_sync: int):
    """An endless, shuffled stream of global batches; ``fit`` bounds it by steps per epoch."""
    tf = tensorflow()

    return (
        examples.map(scale, num_parallel_calls=tf.data.AUTOTUNE)
        .cache()
        .shuffle(SHUFFLE_BUFFER, seed=SHUFFLE_SEED)
        .repeat()
        .batch(batch_size_per_replica * replicas_in_sync, drop_remainder=True)
        .with_options(_sharded_by_data())
        .prefetch(tf.data.AUTOTUNE)
    )


def evaluation_dataset(examples, batch_size: int = 256):
    """Every example once, scaled, in order (split between workers when distributed)."""
    tf = tensorflow()

    return (
        examples.map(scale, num_parallel_calls=tf.data.AUTOTUNE)
        .batch(batch_size)
        .with_options(_sharded_by_data())
    )
