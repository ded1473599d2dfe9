"""``python -m mlflows.ml.sweep``: expand a search space into the specs of the training loop.

    --models JSON     the base specs, as the loop's items (a JSON list of objects)
    --space TEXT      e.g. "learning_rate=1e-3,3e-3;batch_size=32,64" (see mlflows.sweep)
    --samples N       a random search of N points per base spec ("": the grid)
    --seed S          the random search's seed (default 0)
    --specs-file F    where the swept specs go, a JSON list of items (the loop's withParam)

Needs no TensorFlow: it is arithmetic on specs.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

from mlflows.cli import run_cli
from mlflows.errors import UserError
from mlflows.ml.args import ArgumentParser, output_files, positive_int
from mlflows.ml.files import write_output
from mlflows.specs import from_item, item_key, to_item
from mlflows.sweep import expand, parse_space


def parse_args(argv: Sequence[str] | None):
    parser = ArgumentParser(prog="python -m mlflows.ml.sweep", description=__doc__)
    parser.add_argument("--models", required=True)
    parser.add_argument("--space", required=True)
    parser.add_argument("--samples", type=sample_count, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--specs-file", required=True)
    args = parser.parse_args(argv)
    output_files(args, "--specs-file")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        items = json.loads(args.models)
    except json.JSONDecodeError as err:
        raise UserError(f"--models: not JSON ({err.msg}); give a list of specs") from None
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise UserError("--models: give a JSON list of specs (objects)")
    bases = [from_item(item, f"--models[{index}]") for index, item in enumerate(items)]
    priority = any(item_key("priority_class") in item for item in items)
    specs = expand(bases, parse_space(args.space), args.samples, args.seed)
    swept = [to_item(spec, priority=priority) for spec in specs]
    # Compact: it is an output parameter, which Argo keeps in the workflow's status.
    write_output("--specs-file", args.specs_file, json.dumps(swept, separators=(",", ":")))
    for spec in specs:
        print(f"{spec.name}: {spec.architecture} {describe(spec)}")
    print(f"{len(specs)} specs")
    return 0


def sample_count(text: str) -> int | None:
    """``--samples``: a count, or empty for the grid (the workflow passes its input as is)."""
    return None if text == "" else positive_int(text)


def describe(spec) -> str:
    return (
        f"learning_rate={spec.learning_rate} batch_size={spec.batch_size_per_replica} "
        f"epochs={spec.epochs} steps_per_epoch={spec.steps_per_epoch} workers={spec.workers}"
    )


if __name__ == "__main__":
    sys.exit(run_cli(main))
