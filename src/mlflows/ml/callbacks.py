"""The callbacks a training run uses: resume after a restart, decay the learning rate, log.

Under ``<checkpoint-dir>``: ``backup/`` is ``BackupAndRestore``'s state (a restarted worker
resumes at the epoch after the last one backed up instead of starting over; it is deleted when
training completes; non-chief workers back up into temporary directories tf-keras removes), and
``logs/train/`` the chief's TensorBoard event files: ``epoch_loss``, ``epoch_accuracy`` and
``epoch_lr``, the tags Keras' TensorBoard callback uses.

That callback is not used because it needs the ``tensorboard`` package for ``tf.summary.scalar``
and TensorFlow 2.21 no longer installs it; :class:`EpochSummaries` writes the same scalars with
TensorFlow's own summary writer, so TensorBoard reads them alike.
"""

from __future__ import annotations

import time
from pathlib import Path

import tensorflow as tf
import tf_keras
from tensorflow.core.framework.summary_pb2 import SummaryMetadata

from mlflows.ml.cluster import Role

# The book's schedule: the learning rate drops tenfold at these epochs (counted from 0).
DECAY_EPOCHS = (3, 7)
# Marks a summary as a scalar for TensorBoard, as tensorboard's own tf.summary.scalar does.
SCALAR = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="scalars"))


def step_decay(base_rate: float):
    def schedule(epoch: int, _current_rate: float) -> float:
        return base_rate * 0.1 ** sum(epoch >= boundary for boundary in DECAY_EPOCHS)

    return schedule


class EpochSummaries(tf_keras.callbacks.Callback):
    """The epoch's loss, accuracy and learning rate as TensorBoard scalars."""

    def __init__(self, log_dir: str | Path):
        super().__init__()
        self.log_dir = Path(log_dir)
        self._writer = None

    def on_train_begin(self, logs=None):
        self._writer = tf.summary.create_file_writer(str(self.log_dir / "train"))

    def on_epoch_end(self, epoch, logs=None):
        # The logs hold the epoch's metrics and, from LearningRateScheduler (earlier in the
        # list), its learning rate "lr".
        with self._writer.as_default():
            for name, value in (logs or {}).items():
                tf.summary.write(f"epoch_{name}", float(value), step=epoch, metadata=SCALAR)
        self._writer.flush()

    def on_train_end(self, logs=None):
        self._writer.close()


class Progress(tf_keras.callbacks.Callback):
    """Prints one line per epoch; remembers where training (re)started, how long each epoch
    took (the first includes tracing the graph) and how the last one ended."""

    def __init__(self, role: Role, epochs: int):
        super().__init__()
        self.role = role
        self.epochs = epochs
        self.initial_epoch: int | None = None
        self.epoch_seconds: list[float] = []
        self.last_logs: dict = {}
        self._epoch_started = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_started = time.monotonic()
        if self.initial_epoch is None:
            self.initial_epoch = epoch
            how = "resuming from the checkpoint" if epoch else "starting"
            print(f"{self.role.name}: {how} at epoch {epoch + 1}/{self.epochs}", flush=True)

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_seconds.append(time.monotonic() - self._epoch_started)
        self.last_logs = dict(logs or {})
        nan = float("nan")
        print(
            f"{self.role.name}: epoch {epoch + 1}/{self.epochs} done: "
            f"loss {self.last_logs.get('loss', nan):.4f}, "
            f"accuracy {self.last_logs.get('accuracy', nan):.4f}, "
            f"learning rate {self.last_logs.get('lr', nan):.0e}",
            flush=True,
        )


def training_callbacks(
    checkpoint_dir: str | Path, base_rate: float, role: Role, progress: Progress
) -> list:
    checkpoint_dir = Path(checkpoint_dir)
    # Only the chief logs: the workers' numbers are the same (the metrics are all-reduced).
    summaries = [EpochSummaries(checkpoint_dir / "logs")] if role.is_chief else []
    return [
        tf_keras.callbacks.BackupAndRestore(backup_dir=str(checkpoint_dir / "backup")),
        tf_keras.callbacks.LearningRateScheduler(step_decay(base_rate)),
        *summaries,
        # Last, so an epoch is reported only after its backup is written.
        progress,
    ]
