"""``python -m mlflows.ml.select``: evaluate models, pick the best, promote it for serving.

Subcommands (accuracy files hold one bare number, which Argo reads as an output parameter):

* ``evaluate``: one SavedModel's accuracy on the test split.
* ``champion``: the newest promoted version's recorded accuracy, ``-1`` if none is promoted (a
  version a canary rollout rolled back does not count).
* ``promote``: copy a model atomically into the next version of the versions directory
  (``--version-file``: write its number, which a canary rollout serves).
* ``best``: evaluate the candidates that exist and load (a failed training branch leaves none),
  keep the top ``k`` at or above the threshold, promote the best unless it already is the
  newest version, and write the result JSON. With ``--members-file`` (an ensemble's members),
  each kept model is also promoted into ``<members-dir>/top-<rank>`` and the file lists them;
  fewer than ``k`` kept is said, none kept is an error. The candidates are named, or are every
  folder in one (``--candidates-in``: a run's models, for a caller that cannot list them), or a
  JSON list (``--candidates-json``), which may give each one's accuracy as a loop's evaluate
  step measured it: those are taken as measured, not evaluated again.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from mlflows.candidates import ACCURACY, MODEL_DIR
from mlflows.cli import run_cli
from mlflows.errors import UserError
from mlflows.ml import datasets, versions
from mlflows.ml.args import ArgumentParser, directories, fraction, output_files, positive_int
from mlflows.ml.files import json_text, write_output

NO_CHAMPION = -1.0
VERSIONS_DIR_HELP = "the numbered model versions <DIR>/<N>, the newest one served"


def test_batches(dataset: str, data_dir: str | Path):
    """The test split, scaled and batched; raises if the dataset is not in ``data_dir``.

    Cached in memory by the first full pass, so ``best`` reads and decodes the split once, not
    once per candidate.
    """
    from mlflows.ml import pipeline

    return pipeline.evaluation_dataset(datasets.examples(dataset, "test", data_dir)).cache()


def accuracy_on(predictor, batches) -> float:
    """The fraction of ``batches`` the model classifies correctly."""
    correct = total = 0
    for images, labels in batches:
        predicted = np.argmax(predictor.from_arrays(images), axis=1)
        correct += int(np.sum(predicted == labels.numpy()))
        total += len(predicted)
    if not total:
        raise UserError("--dataset: the test split is empty; ingest the dataset again")
    return correct / total


def evaluate(model_dir: str | Path, dataset: str, data_dir: str | Path) -> float:
    from mlflows.ml.predictor import Predictor

    batches = test_batches(dataset, data_dir)
    return accuracy_on(Predictor(model_dir), batches)


def champion_accuracy(version: Path | None) -> float:
    """The accuracy recorded when ``version`` was promoted; ``NO_CHAMPION`` if none is readable."""
    if version is None:
        return NO_CHAMPION
    try:
        return float(versions.metadata(version).get("accuracy", NO_CHAMPION))
    except (TypeError, ValueError):  # a hand-edited promotion.json
        return NO_CHAMPION


@dataclass
class Candidate:
    model_dir: str
    accuracy: float


@dataclass
class Skipped:
    model_dir: str
    reason: str


def score(
    model_dirs: Sequence[str], dataset: str, data_dir: str | Path
) -> tuple[list[Candidate], list[Skipped]]:
    """Evaluate each model that exists and loads; the others are skipped with the reason."""
    from mlflows.ml.predictor import Predictor

    batches = test_batches(dataset, data_dir)  # first: missing data is no candidate's fault
    scored, skipped = [], []
    for model_dir in model_dirs:
        if not Path(model_dir).exists():
            skipped.append(Skipped(model_dir, "does not exist (did its training fail?)"))
            continue
        try:
            predictor = Predictor(model_dir)
        except UserError as err:
            skipped.append(Skipped(model_dir, str(err)))
            continue
        scored.append(Candidate(model_dir, accuracy_on(predictor, batches)))
    return scored, skipped


def folders_in(directory: str) -> list[str]:
    """The folders in ``directory``, sorted; none if it does not exist (no training got as far as
    saving). Hidden ones are a save's temporary folders, and files (metrics) are no models."""
    path = Path(directory)
    if path.exists() and not path.is_dir():
        raise UserError(
            f"--candidates-in: {directory} is a file; give the folder holding the models"
        )
    return sorted(str(p) for p in path.glob("[!.]*") if p.is_dir())


def listed(text: str) -> list[str | Candidate]:
    """``--candidates-json``: a JSON list of model folders, or of a loop's aggregated outputs,
    ``{"model-dir": DIR, "accuracy": A}`` per item that succeeded: a candidate whose accuracy
    its item's evaluate step already measured, which is not evaluated again."""
    try:
        entries = json.loads(text)
    except json.JSONDecodeError:
        entries = None
    if not isinstance(entries, list):
        entries = [None]
    return [_entry(entry, text) for entry in entries]


def _entry(entry: object, text: str) -> str | Candidate:
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict) and isinstance(entry.get(MODEL_DIR), str):
        try:
            accuracy = float(entry.get(ACCURACY))
        except (TypeError, ValueError):
            accuracy = float("nan")
        if 0 <= accuracy <= 1:
            return Candidate(entry[MODEL_DIR], accuracy)
    raise UserError(
        f"--candidates-json: {text[:60]!r} is not a JSON list of folders or of "
        f'{{"{MODEL_DIR}": DIR, "{ACCURACY}": 0 to 1}} objects; give e.g. ["/mnt/data/models/a"]'
    )


def still_there(measured: list[Candidate]) -> tuple[list[Candidate], list[Skipped]]:
    """The candidates with a measured accuracy whose folder still holds a SavedModel."""
    from mlflows.ml.predictor import is_saved_model

    kept = [c for c in measured if is_saved_model(c.model_dir)]
    gone = [Skipped(c.model_dir, "holds no SavedModel any more") for c in measured if c not in kept]
    return kept, gone


def choose(scored: list[Candidate], top_k: int, threshold: float) -> list[Candidate]:
    """The ``top_k`` most accurate at or above ``threshold``, best first (ties keep input order)."""
    ranked = sorted(scored, key=lambda c: -c.accuracy)
    return [c for c in ranked if c.accuracy >= threshold][:top_k]


def member_name(rank: int) -> str:
    """An ensemble member's name: its rank among the kept models, from 1."""
    return f"top-{rank}"


def publish_members(selected: list[Candidate], members_dir: str) -> list[dict]:
    """Each kept model as the newest version of its rank's folder (unless it already is), and
    the members' list: ``[{"name": "top-1", "model_dir": ..., "accuracy": ...}, ...]``."""
    members = []
    for rank, candidate in enumerate(selected, start=1):
        name = member_name(rank)
        versions_dir = Path(members_dir) / name
        newest = versions.newest(versions_dir)
        if newest is None or versions.fingerprint(newest) != versions.fingerprint(
            candidate.model_dir
        ):
            newest = versions.promote(candidate.model_dir, versions_dir, candidate.accuracy)
        print(
            f"member {name}: {candidate.model_dir} (accuracy {candidate.accuracy:.4f}) as {newest}"
        )
        members.append({"name": name, **asdict(candidate)})
    return members


def best(args: argparse.Namespace) -> dict:
    named = args.candidates is not None or args.candidates_json is not None
    if args.candidates_json is not None:
        candidates = listed(args.candidates_json)
    else:
        candidates = args.candidates if named else folders_in(args.candidates_in)
    # Measured ones need no TensorFlow: a loop's rerun selects in a fraction of a second.
    scored, skipped = still_there([c for c in candidates if isinstance(c, Candidate)])
    folders = [c for c in candidates if isinstance(c, str)]
    if folders:
        evaluated, unusable = score(folders, args.dataset, args.data_dir)
        scored, skipped = scored + evaluated, skipped + unusable
    for s in skipped:
        print(f"skipped {s.model_dir}: {s.reason}")
    if not scored:
        given = (
            ("--candidates-json" if args.candidates_json is not None else "--candidates")
            if named
            else f"--candidates-in {args.candidates_in}"
        )
        raise UserError(
            f"{given}: none of the {len(candidates)} candidate(s) is a loadable "
            "SavedModel; nothing promoted"
        )
    for c in scored:
        print(f"candidate {c.model_dir}: accuracy {c.accuracy:.4f}")
    selected = choose(scored, args.top_k, args.threshold)
    if args.members_file and not selected:  # before anything is promoted
        top = max(scored, key=lambda c: c.accuracy)
        raise UserError(
            f"--threshold {args.threshold:g}: no candidate reaches it (the best, "
            f"{top.model_dir}, has {top.accuracy:.4f}); lower it or train better models"
        )
    result = {
        "dataset": args.dataset,
        "candidates": [asdict(c) for c in scored],
        "skipped": [asdict(s) for s in skipped],
        "selected": [asdict(c) for c in selected],
        "best": asdict(max(scored, key=lambda c: c.accuracy)),
        "promoted": None,
    }
    if not selected:
        result["reason"] = f"no candidate reached the threshold {args.threshold}"
    else:
        winner = selected[0]
        newest = versions.newest(args.versions_dir)
        if newest is not None and versions.fingerprint(newest) == versions.fingerprint(
            winner.model_dir
        ):
            result["reason"] = f"{winner.model_dir} already is the newest version {newest}"
        else:
            published = versions.promote(winner.model_dir, args.versions_dir, winner.accuracy)
            result["promoted"] = {"version": int(published.name), "path": str(published)}
            result["reason"] = f"{winner.model_dir} is the best candidate"
    print(
        f"promoted {result['promoted']['path']}: {result['reason']}"
        if result["promoted"]
        else f"nothing promoted: {result['reason']}"
    )
    if args.members_file:
        if len(selected) < args.top_k:
            result["note"] = (
                f"only {len(selected)} of the top {args.top_k} reach the threshold "
                f"{args.threshold:g}; the ensemble serves {len(selected)}"
            )
            print(f"ensemble: {result['note']}")
        result["members"] = publish_members(selected, args.members_dir)
    return result


def write_accuracy(path: str | None, accuracy: float) -> None:
    if path:
        write_output(
            "--accuracy-file", path, "-1" if accuracy == NO_CHAMPION else f"{accuracy:.4f}"
        )


def run(args: argparse.Namespace) -> None:
    if args.command == "evaluate":
        accuracy = evaluate(args.model_dir, args.dataset, args.data_dir)
        print(f"{args.model_dir}: accuracy {accuracy:.4f} on the {args.dataset} test split")
        write_accuracy(args.accuracy_file, accuracy)
    elif args.command == "champion":
        newest = versions.newest(args.versions_dir)
        accuracy = champion_accuracy(newest)
        print(
            f"champion {newest}: accuracy {accuracy:.4f}"
            if newest
            else f"no version in {args.versions_dir} yet: champion accuracy -1"
        )
        write_accuracy(args.accuracy_file, accuracy)
    elif args.command == "promote":
        published = versions.promote(args.model_dir, args.versions_dir, args.accuracy)
        print(f"promoted {args.model_dir} to {published} (accuracy {args.accuracy:.4f})")
        if args.version_file:
            write_output("--version-file", args.version_file, published.name)
    else:
        result = best(args)
        write_output("--result-file", args.result_file, json_text(result))
        if args.members_file:
            write_output("--members-file", args.members_file, json_text(result["members"]))
        write_accuracy(args.accuracy_file, result["best"]["accuracy"])


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="python -m mlflows.ml.select", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        # An ArgumentParser too (add_subparsers makes its parsers of the parser's class), so
        # a subcommand's mistakes are one error line pointing at that subcommand's --help.
        return commands.add_parser(name, help=help_text, description=help_text)

    def dataset_flags(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--dataset", default="fashion_mnist", help=", ".join(datasets.NAMES))
        sub.add_argument("--data-dir", required=True, help="where ingest stored the dataset")

    evaluate_cmd = command("evaluate", "evaluate one SavedModel on the test split")
    evaluate_cmd.add_argument("--model-dir", required=True, help="the SavedModel to evaluate")
    dataset_flags(evaluate_cmd)
    evaluate_cmd.add_argument("--accuracy-file", help="write the bare accuracy here")

    champion_cmd = command("champion", "the newest promoted version's accuracy, -1 if none")
    champion_cmd.add_argument("--versions-dir", required=True, help=VERSIONS_DIR_HELP)
    champion_cmd.add_argument("--accuracy-file", help="write the bare accuracy here")

    promote_cmd = command("promote", "copy a model atomically into the next version")
    promote_cmd.add_argument("--model-dir", required=True, help="the SavedModel to promote")
    promote_cmd.add_argument(
        "--accuracy", type=fraction, required=True, help="its accuracy (0 to 1), recorded with it"
    )
    promote_cmd.add_argument("--versions-dir", required=True, help=VERSIONS_DIR_HELP)
    promote_cmd.add_argument(
        "--version-file", help="write the new version's number here (a canary pins it)"
    )

    best_cmd = command("best", "evaluate candidates, promote the best")
    candidates = best_cmd.add_mutually_exclusive_group(required=True)
    candidates.add_argument(
        "--candidates",
        nargs="+",
        metavar="DIR",
        help="the trained SavedModels; one missing or not loading is skipped",
    )
    candidates.add_argument(
        "--candidates-in",
        metavar="DIR",
        help="instead of --candidates: every folder in DIR (a run's models)",
    )
    candidates.add_argument(
        "--candidates-json",
        metavar="JSON",
        help="instead of --candidates: a JSON list of folders, or of a loop's aggregated "
        'outputs {"model-dir": DIR, "accuracy": A}, whose measured accuracy is taken as is',
    )
    dataset_flags(best_cmd)
    best_cmd.add_argument("--versions-dir", required=True, help=VERSIONS_DIR_HELP)
    best_cmd.add_argument("--result-file", required=True, help="write the result JSON here")
    best_cmd.add_argument("--accuracy-file", help="write the best accuracy here")
    best_cmd.add_argument(
        "--top-k",
        type=positive_int,
        default=1,
        help="keep the K most accurate candidates in the result; the best is promoted "
        "(default %(default)s)",
    )
    best_cmd.add_argument(
        "--threshold",
        type=fraction,
        default=0.0,
        help="keep only candidates at least this accurate, 0 to 1; none kept: none promoted "
        "(default %(default)s)",
    )
    best_cmd.add_argument(
        "--members-file",
        help="an ensemble's members: promote each kept model into --members-dir/top-<rank> "
        "and write their JSON list here; none kept is an error",
    )
    best_cmd.add_argument("--members-dir", help="with --members-file: the members' versions")
    return parser


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    if "dataset" in args:
        datasets.check_name(args.dataset)
    if getattr(args, "members_file", None) and not args.members_dir:
        raise UserError("--members-dir: needed with --members-file; give where members go")
    directories(args, "--data-dir", "--versions-dir", "--members-dir")
    output_files(args, "--accuracy-file", "--result-file", "--version-file", "--members-file")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    run(parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
