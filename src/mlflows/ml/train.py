"""``python -m mlflows.ml.train``: train one architecture under MultiWorkerMirroredStrategy.

The cluster comes from ``TF_CONFIG`` (as the TFJob operator sets it; one worker without it).
Every worker runs this same program: they train in lock-step, evaluate on the test split,
and all take part in saving; the chief publishes the SavedModel to ``--saved-model-dir`` and
writes ``--metrics-file``::

    {"model_type", "dataset", "accuracy", "loss",            # on the test split
     "train_accuracy", "train_loss",                         # the last epoch's
     "epochs", "initial_epoch", "steps_per_epoch", "steps",  # steps run by this process
     "replicas", "workers", "global_batch_size",
     "images_per_second", "train_seconds", "epoch_seconds", "wall_seconds"}

``initial_epoch`` is 0 for a fresh run and the epoch it resumed at after a restart.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from mlflows.cli import run_cli
from mlflows.errors import UserError
from mlflows.ml import cluster, datasets, export, models
from mlflows.ml.args import (
    ArgumentParser,
    directories,
    output_files,
    positive_float,
    positive_int,
    replaced_whole,
)
from mlflows.ml.files import json_text, write_output
from mlflows.ml.quiet import tensorflow


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="python -m mlflows.ml.train",
        description="Train a model under MultiWorkerMirroredStrategy (cluster from TF_CONFIG).",
    )
    parser.add_argument("--model-type", default="cnn", help=", ".join(models.MODELS))
    parser.add_argument("--dataset", default="fashion_mnist", help=", ".join(datasets.NAMES))
    parser.add_argument("--data-dir", required=True, help="where ingest stored the dataset")
    parser.add_argument(
        "--saved-model-dir",
        required=True,
        help="the chief saves the model here, replacing the directory: new, empty, or a model "
        "saved before",
    )
    parser.add_argument("--checkpoint-dir", required=True, help="backups and TensorBoard logs")
    parser.add_argument(
        "--epochs", type=positive_int, default=3, help="epochs to train (default %(default)s)"
    )
    parser.add_argument(
        "--steps-per-epoch",
        type=positive_int,
        default=70,
        help="training steps per epoch, each one global batch (default %(default)s)",
    )
    parser.add_argument(
        "--batch-size-per-replica",
        type=positive_int,
        default=64,
        help="examples per replica per step; the global batch is this times the replicas "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--learning-rate",
        type=positive_float,
        default=1e-3,
        help="Adam's initial learning rate, cut tenfold at fixed epochs (default %(default)s)",
    )
    parser.add_argument("--metrics-file", help="the chief writes the metrics JSON here")
    return parser


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    models.check_model_type(args.model_type)
    datasets.check_name(args.dataset)
    directories(args, "--data-dir", "--saved-model-dir", "--checkpoint-dir")
    replaced_whole(
        args, "--saved-model-dir", "--data-dir", "--checkpoint-dir", ours=export.saved_here
    )
    output_files(args, "--metrics-file")  # before training, not after it
    return args


def check_global_batch(args: argparse.Namespace, workers: int) -> None:
    """Refuse a step larger than the training split: the stream repeats, so each step would
    hold examples twice. Known only here, where the ingested data is; each worker holds at
    least one replica, so the global batch is at least the batch per replica times them."""
    examples = datasets.split_size(args.dataset, "train", args.data_dir)
    least = args.batch_size_per_replica * workers
    if examples is not None and least > examples:
        raise UserError(
            f"--batch-size-per-replica {args.batch_size_per_replica}: {workers} worker(s) would "
            f"take {least} examples a step, more than the {examples} in the {args.dataset} train "
            f"split; use at most {examples // workers}"
        )


def train(args: argparse.Namespace, role: cluster.Role) -> dict:
    """Train, evaluate and save as this worker; returns the metrics."""
    started = time.monotonic()
    tf = tensorflow()

    from mlflows.ml import pipeline
    from mlflows.ml.callbacks import Progress, training_callbacks

    # The strategy first: it configures the collective ops, which must precede any other op.
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    replicas = strategy.num_replicas_in_sync
    examples = datasets.examples(args.dataset, "train", args.data_dir)
    train_data = pipeline.training_dataset(examples, args.batch_size_per_replica, replicas)
    test_data = pipeline.evaluation_dataset(datasets.examples(args.dataset, "test", args.data_dir))
    with strategy.scope():
        model = models.build(args.model_type, args.learning_rate)

    progress = Progress(role, args.epochs)
    fit_started = time.monotonic()
    model.fit(
        train_data,
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch,
        callbacks=training_callbacks(args.checkpoint_dir, args.learning_rate, role, progress),
        verbose=0,
    )
    train_seconds = time.monotonic() - fit_started
    loss, accuracy = model.evaluate(test_data, verbose=0)
    export.save(model, args.saved_model_dir, role)

    initial_epoch = progress.initial_epoch or 0
    steps = (args.epochs - initial_epoch) * args.steps_per_epoch
    global_batch = args.batch_size_per_replica * replicas
    return {
        "model_type": args.model_type,
        "dataset": args.dataset,
        "accuracy": float(accuracy),
        "loss": float(loss),
        "train_accuracy": float(progress.last_logs.get("accuracy", float("nan"))),
        "train_loss": float(progress.last_logs.get("loss", float("nan"))),
        "epochs": args.epochs,
        "initial_epoch": initial_epoch,
        "steps_per_epoch": args.steps_per_epoch,
        "steps": steps,
        "replicas": replicas,
        "workers": role.num_workers,
        "global_batch_size": global_batch,
        "images_per_second": steps * global_batch / train_seconds if steps else 0.0,
        "train_seconds": train_seconds,
        "epoch_seconds": progress.epoch_seconds,
        "wall_seconds": time.monotonic() - started,
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    role = cluster.role_from_env()
    check_global_batch(args, role.num_workers)
    metrics = train(args, role)
    if not role.is_chief:
        print(f"{role.name}: done; the chief saved the model")
        return 0
    print(
        f"{role.name}: trained {args.model_type} on {args.dataset} with {metrics['replicas']} "
        f"replica(s): test accuracy {metrics['accuracy']:.4f}, loss {metrics['loss']:.4f}"
    )
    if args.metrics_file:
        write_output("--metrics-file", args.metrics_file, json_text(metrics))
    where = f", metrics to {args.metrics_file}" if args.metrics_file else ""
    print(f"saved model to {args.saved_model_dir}{where}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
