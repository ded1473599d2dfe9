"""What a canary rollout is (``--rollout canary[:PERCENT]``): the share of traffic a new model
gets first, and the limits its verify step (:mod:`mlflows.ml.verify`) judges it by.

Kept free of Hera and TensorFlow: the flow's parser and the verify entry point both read it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from mlflows.errors import UserError

REPLACE, CANARY = "replace", "canary"
DEFAULT_PERCENT = 10
PROMOTE, ROLLBACK = "promote", "rollback"  # what verify decides, and the rollout acts on


@dataclass(frozen=True)
class Thresholds:
    """Where verify rolls a canary back: more failed probes, a slower p99, or an accuracy on the
    probes further below the previous revision's than ``max_accuracy_drop``, or further below
    the model's own offline accuracy than :meth:`offline_tolerance`."""

    max_error_rate: float = 0.02
    max_p99_latency_ms: float = 1000.0
    max_accuracy_drop: float = 0.05
    # One-sided 99 %: a model serving as it evaluated falls below this by chance 1 time in 100.
    sampling_z: float = 2.33

    def offline_tolerance(self, offline_accuracy: float, probes: int) -> float:
        """How far below its offline accuracy a model's accuracy on ``probes`` images may be:
        ``max_accuracy_drop`` or the probes' sampling error, whichever is larger; the sampling
        error a one-sided bound of ``sampling_z`` standard errors of a proportion,
        ``sqrt(p (1 - p) / probes)`` with ``p`` the offline accuracy."""
        p = offline_accuracy
        return max(self.max_accuracy_drop, self.sampling_z * math.sqrt(p * (1 - p) / probes))


@dataclass(frozen=True)
class Canary:
    """A rollout to ``percent`` of the traffic, verified with ``probes`` held-out images."""

    percent: int = DEFAULT_PERCENT
    probes: int = 100
    thresholds: Thresholds = field(default_factory=Thresholds)

    def __post_init__(self) -> None:
        if not 1 <= self.percent <= 99:
            raise UserError(
                f"--rollout canary:{self.percent}: the canary's share is a percent from 1 to 99"
            )


def parse_rollout(text: str) -> Canary | None:
    """``--rollout``: ``replace`` (None: the new model takes all traffic at once), ``canary``
    or ``canary:PERCENT``."""
    kind, colon, percent = text.partition(":")
    if kind == REPLACE and not colon:
        return None
    if kind == CANARY:
        if not colon:
            return Canary()
        if percent.isdigit():
            return Canary(percent=int(percent))
    raise UserError(
        f"--rollout {text!r}: give {REPLACE}, {CANARY} or {CANARY}:PERCENT (e.g. {CANARY}:"
        f"{DEFAULT_PERCENT})"
    )
