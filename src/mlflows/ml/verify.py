"""``python -m mlflows.ml.verify``: judge a canary revision against the one it would replace.

A canary rollout (``--rollout canary``) serves a new model to a share of the traffic; this step
then sends the same held-out images (the first ``--probes`` of the test split, one per request,
alternating) to both revisions through their tag URLs, and compares:

* the error rate of the canary's answers (anything but a 200 with classes), at most
  ``--max-error-rate``;
* its 99th-percentile latency, at most ``--max-p99-latency-ms``;
* its accuracy on the probes against the model's own offline accuracy (``--offline-accuracy``,
  what its evaluate step measured on the whole test split): at most ``--max-accuracy-drop`` or
  the probes' sampling error below it, whichever is larger, the sampling error a one-sided bound
  of 2.33 standard errors of a proportion over the probe count
  (:meth:`mlflows.canary.Thresholds.offline_tolerance`). This catches a model that serves
  differently from how it evaluated (an export or preprocessing mismatch), the first one too,
  which has no previous revision to be compared with;
* its accuracy on the probes, at most ``--max-accuracy-drop`` below the previous revision's
  (the first model's previous revision is itself).

It writes ``promote`` or ``rollback`` to ``--decision-file`` and why, in one line, to
``--reason-file``; on ``rollback`` it marks the canary's version rejected
(:func:`mlflows.ml.versions.reject`), so it no longer counts as the champion. A canary that is
not the revision its tag reaches (``--canary-revision`` differs from ``--tagged-revision``:
it never became ready) is rolled back without probing. Either decision exits 0; the workflow
acts on it.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from mlflows.canary import PROMOTE, ROLLBACK, Thresholds
from mlflows.cli import run_cli
from mlflows.errors import UserError
from mlflows.ml import datasets, versions
from mlflows.ml.args import (
    ArgumentParser,
    directories,
    fraction,
    output_files,
    positive_float,
    positive_int,
)
from mlflows.ml.files import json_text, write_output

REQUEST_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Probed:
    """What one revision answered to the probes."""

    requests: int
    errors: int
    correct: int
    latencies_ms: tuple[float, ...]  # of every request, errors included

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 1.0

    @property
    def accuracy(self) -> float:
        return self.correct / self.requests if self.requests else 0.0

    @property
    def p99_ms(self) -> float:
        return float(np.percentile(self.latencies_ms, 99)) if self.latencies_ms else 0.0

    def summary(self) -> str:
        return (
            f"accuracy {self.accuracy:.3f}, error rate {self.error_rate:.3f}, "
            f"p99 {self.p99_ms:.0f} ms"
        )


@dataclass(frozen=True)
class Decision:
    action: str  # PROMOTE or ROLLBACK
    reason: str


def decide(
    canary: Probed, previous: Probed | None, limits: Thresholds, offline_accuracy: float
) -> Decision:
    """Roll back on the first limit the canary breaks (errors, latency, accuracy against its
    own ``offline_accuracy``, accuracy against the previous revision's on the same probes);
    promote otherwise."""
    if canary.error_rate > limits.max_error_rate:
        return Decision(
            ROLLBACK,
            f"canary error rate {canary.error_rate:.3f} > {limits.max_error_rate} "
            f"({canary.errors} of {canary.requests} probes failed)",
        )
    if canary.p99_ms > limits.max_p99_latency_ms:
        return Decision(
            ROLLBACK, f"canary p99 latency {canary.p99_ms:.0f} ms > {limits.max_p99_latency_ms} ms"
        )
    tolerance = limits.offline_tolerance(offline_accuracy, canary.requests)
    if canary.accuracy < offline_accuracy - tolerance:
        return Decision(
            ROLLBACK,
            f"canary accuracy {canary.accuracy:.3f} on {canary.requests} probes, offline "
            f"{offline_accuracy:.3f}: more than {tolerance:.3f} below (the larger of the allowed "
            f"drop {limits.max_accuracy_drop} and {limits.sampling_z} standard errors over "
            f"{canary.requests} probes, one-sided)",
        )
    if previous is not None and canary.accuracy < previous.accuracy - limits.max_accuracy_drop:
        return Decision(
            ROLLBACK,
            f"canary accuracy {canary.accuracy:.3f} on {canary.requests} probes is more than "
            f"{limits.max_accuracy_drop} below the previous revision's {previous.accuracy:.3f}",
        )
    compared = f"; previous: {previous.summary()}" if previous is not None else ""
    return Decision(
        PROMOTE, f"canary: {canary.summary()}, offline accuracy {offline_accuracy:.3f}{compared}"
    )


def probe_images(dataset: str, data_dir: str, count: int) -> list[tuple[bytes, int]]:
    """The first ``count`` test examples as PNG files with their labels."""
    from mlflows.ml.client import encode_png

    probes: list[tuple[bytes, int]] = []
    for images, labels in datasets.numpy_batches(dataset, "test", data_dir):
        for image, label in zip(images, labels, strict=True):
            if len(probes) == count:
                return probes
            probes.append((encode_png(image), int(label)))
    if len(probes) < count:
        raise UserError(
            f"--probes: the {dataset} test split has {len(probes)} examples; give at most that"
        )
    return probes


def probe(urls: dict[str, str], model_name: str, probes: list[tuple[bytes, int]]) -> dict:
    """Send each probe to every URL in turn; ``{name: Probed}``."""
    from mlflows.ml.client import predict_classes

    errors = dict.fromkeys(urls, 0)
    correct = dict.fromkeys(urls, 0)
    latencies: dict[str, list[float]] = {name: [] for name in urls}
    for image, label in probes:
        for name, url in urls.items():
            started = time.perf_counter()
            try:
                [predicted] = predict_classes(url, model_name, [image], REQUEST_TIMEOUT_SECONDS)
            except UserError:  # a refused connection, a 5xx, an answer that is not classes
                errors[name] += 1
            else:
                correct[name] += int(predicted == label)
            latencies[name].append((time.perf_counter() - started) * 1000)
    return {
        name: Probed(len(probes), errors[name], correct[name], tuple(latencies[name]))
        for name in urls
    }


def verify(args: argparse.Namespace) -> tuple[Decision, dict]:
    limits = Thresholds(args.max_error_rate, args.max_p99_latency_ms, args.max_accuracy_drop)
    if args.canary_revision != args.tagged_revision:
        decision = Decision(
            ROLLBACK,
            f"revision {args.canary_revision} did not become ready (the latest tag reaches "
            f"{args.tagged_revision or 'no revision'})",
        )
        return decision, {}
    check_urls(args)
    urls = {"canary": args.canary_url}
    if args.previous_url:
        urls["previous"] = args.previous_url
    probed = probe(urls, args.model_name, probe_images(args.dataset, args.data_dir, args.probes))
    decision = decide(probed["canary"], probed.get("previous"), limits, args.offline_accuracy)
    measured = {
        name: {
            "probes": p.requests, "errors": p.errors, "accuracy": p.accuracy,
            "error_rate": p.error_rate, "p99_latency_ms": p.p99_ms,
        }
        for name, p in probed.items()
    }  # fmt: skip
    return decision, measured


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="python -m mlflows.ml.verify", description=__doc__)
    parser.add_argument("--canary-url", required=True, help="the canary's tag URL (latest)")
    parser.add_argument(
        "--previous-url", default="", help="the rolled-out revision's tag URL (prev); '' if none"
    )
    parser.add_argument("--canary-revision", required=True, help="the revision rolled out")
    parser.add_argument(
        "--tagged-revision", required=True, help="the revision the canary's tag reaches"
    )
    parser.add_argument("--model-name", required=True, help="the served model's name")
    parser.add_argument("--dataset", default="fashion_mnist", help=", ".join(datasets.NAMES))
    parser.add_argument("--data-dir", required=True, help="where ingest stored the dataset")
    parser.add_argument(
        "--version-dir", required=True, help="the canary's model version, marked on rollback"
    )
    parser.add_argument(
        "--offline-accuracy", type=fraction, required=True,
        help="the model's accuracy on the test split, as its evaluate step measured it",
    )  # fmt: skip
    parser.add_argument(
        "--probes", type=positive_int, default=100, help="held-out images sent to each revision"
    )
    defaults = Thresholds()
    parser.add_argument(
        "--max-error-rate", type=fraction, default=defaults.max_error_rate,
        help="the canary's largest share of failed probes (default %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--max-p99-latency-ms", type=positive_float, default=defaults.max_p99_latency_ms,
        help="the canary's largest 99th-percentile latency (default %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--max-accuracy-drop", type=fraction, default=defaults.max_accuracy_drop,
        help="how far below the previous revision's accuracy the canary's may be "
        "(default %(default)s)",
    )  # fmt: skip
    parser.add_argument("--decision-file", required=True, help="write promote or rollback here")
    parser.add_argument("--reason-file", required=True, help="write why here, one line")
    parser.add_argument("--report-file", help="write every measurement here, as JSON")
    return parser


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    datasets.check_name(args.dataset)
    directories(args, "--data-dir", "--version-dir")
    output_files(args, "--decision-file", "--reason-file", "--report-file")
    return args


def check_urls(args: argparse.Namespace) -> None:
    """Checked only when probing: a canary that never became ready may have no URL."""
    from mlflows.ml.client import check_url

    for flag, url in (("--canary-url", args.canary_url), ("--previous-url", args.previous_url)):
        if url or flag == "--canary-url":
            try:
                check_url(url)
            except UserError as error:
                raise UserError(str(error).replace("--url", flag, 1)) from None


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    decision, measured = verify(args)
    if decision.action == ROLLBACK:
        versions.reject(args.version_dir, decision.reason)
    print(f"{decision.action}: {decision.reason}")
    write_output("--decision-file", args.decision_file, decision.action)
    write_output("--reason-file", args.reason_file, decision.reason)
    if args.report_file:
        report = {"decision": asdict(decision), "probed": measured}
        write_output("--report-file", args.report_file, json_text(report))
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
