"""``python -m mlflows.ml.served_accuracy``: a served model's accuracy on the test split, asked
through its URL (KServe V1), so that what is measured is what clients get: one model, or an
ensemble's InferenceGraph averaging several.

The test split goes as raw [0, 1] arrays in requests of ``--batch-size`` images, the pixels that
``select evaluate`` gives a model, so the two accuracies of one model agree.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from mlflows.cli import run_cli
from mlflows.errors import UserError
from mlflows.ml import datasets
from mlflows.ml.args import ArgumentParser, output_files, positive_int
from mlflows.ml.client import check_url, predict_classes
from mlflows.ml.files import write_output


def served_accuracy(
    url: str, model_name: str, dataset: str, data_dir: str, batch_size: int = 64
) -> tuple[float, int]:
    """The fraction of the test split the server classifies correctly, and the split's size."""
    import numpy as np

    from mlflows.ml.select import test_batches

    correct = total = 0
    for images, labels in test_batches(dataset, data_dir).unbatch().batch(batch_size):
        classes = predict_classes(url, model_name, images.numpy(), timeout=60.0)
        correct += int(np.sum(np.asarray(classes) == labels.numpy()))
        total += len(classes)
    if not total:
        raise UserError("--dataset: the test split is empty; ingest the dataset again")
    return correct / total, total


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="python -m mlflows.ml.served_accuracy", description=__doc__)
    parser.add_argument("--url", required=True, help="the server's base URL")
    parser.add_argument("--model-name", required=True, help="the served model's name in its URL")
    parser.add_argument("--dataset", required=True, help=", ".join(datasets.NAMES))
    parser.add_argument("--data-dir", required=True, help="where ingest stored the dataset")
    parser.add_argument("--accuracy-file", help="write the bare accuracy here")
    parser.add_argument(
        "--batch-size", type=positive_int, default=64, help="images per request (default 64)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    datasets.check_name(args.dataset)
    output_files(args, "--accuracy-file")
    check_url(args.url)
    accuracy, count = served_accuracy(
        args.url, args.model_name, args.dataset, args.data_dir, args.batch_size
    )
    print(f"{args.url}: accuracy {accuracy:.4f} on the {count} images of the test split")
    if args.accuracy_file:
        write_output("--accuracy-file", args.accuracy_file, f"{accuracy:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
