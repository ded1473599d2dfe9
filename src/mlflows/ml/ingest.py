"""``python -m mlflows.ml.ingest``: store a dataset in the data dir and record what was stored.

The record (``--record-file``, JSON) is ``{name, version, splits: {split: count}, checksum,
data_dir}``. The checksum is a SHA-256 over the examples' content (split name, image bytes,
labels), not over files, so the same data gives the same checksum whatever the storage layout:
a memo key built from the record changes exactly when the data does.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mlflows.cli import run_cli
from mlflows.errors import UserError
from mlflows.ml import datasets
from mlflows.ml.args import ArgumentParser, directories, output_files
from mlflows.ml.files import json_text, write_output


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="python -m mlflows.ml.ingest", description=__doc__)
    parser.add_argument("--dataset", default="fashion_mnist", help=", ".join(datasets.NAMES))
    parser.add_argument("--version", default=datasets.LATEST, help="e.g. 3.0.1, or latest")
    parser.add_argument("--splits", default="train,test", help="comma-separated: train,test")
    parser.add_argument("--data-dir", required=True, help="where the data is stored")
    parser.add_argument("--record-file", help="write the JSON record here too")
    parser.add_argument(
        "--checksum-file", help="write the record's checksum alone here (a memo key's part)"
    )
    return parser


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    datasets.check_name(args.dataset)
    directories(args, "--data-dir")
    output_files(args, "--record-file", "--checksum-file")
    return args


def ingest(name: str, version: str, splits: Sequence[str], data_dir: str | Path) -> dict:
    """Store ``name`` under ``data_dir``, then count and checksum ``splits``; returns the record."""
    datasets.check_name(name)
    for split in splits:
        datasets.check_split(split)
    resolved = datasets.prepare(name, version, data_dir)
    digest = hashlib.sha256()
    counts = {}
    for split in sorted(set(splits)):  # train,train is train: the same data, the same checksum
        digest.update(split.encode())
        count = 0
        for images, labels in datasets.numpy_batches(name, split, data_dir, resolved):
            digest.update(np.ascontiguousarray(images, dtype=np.uint8).tobytes())
            digest.update(np.ascontiguousarray(labels, dtype="<i8").tobytes())
            count += len(labels)
        counts[split] = count
    return {
        "name": name,
        "version": resolved,
        "splits": counts,
        "checksum": f"sha256:{digest.hexdigest()}",
        "data_dir": str(data_dir),
    }


def summary(record: dict, record_file: str | None) -> str:
    counts = ", ".join(f"{split}={n}" for split, n in record["splits"].items())
    written = f"\nrecord written to {record_file}" if record_file else ""
    return (
        f"ingested {record['name']} {record['version']} into {record['data_dir']}: {counts}\n"
        f"checksum {record['checksum']}{written}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    splits = [s.strip() for s in args.splits.split(",") if s.strip()]
    if not splits:
        raise UserError("--splits: no split given; pass e.g. --splits train,test")
    record = ingest(args.dataset, args.version, splits, args.data_dir)
    if args.record_file:
        write_output("--record-file", args.record_file, json_text(record))
    if args.checksum_file:
        write_output("--checksum-file", args.checksum_file, record["checksum"])
    print(summary(record, args.record_file))
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
