"""``mlflows.ml.verify``: the decision on a canary from its probes, the rollback of one that never
became ready (its version then no longer the champion), and one-line mistakes. Probing real
servers is tests/test_canary_rollout.py's, through the whole pipeline."""

from __future__ import annotations

import json

import pytest

from mlflows.canary import Thresholds
from mlflows.ml import select, verify, versions
from mlflows.ml.verify import PROMOTE, ROLLBACK, Probed, decide

LIMITS = Thresholds(max_error_rate=0.02, max_p99_latency_ms=500, max_accuracy_drop=0.05)
OFFLINE = 0.9  # the accuracy evaluate measured on the test split


def probed(correct: int, errors: int = 0, latency_ms: float = 10.0, requests: int = 100):
    return Probed(requests, errors, correct, (latency_ms,) * requests)


def test_a_canary_within_every_limit_is_promoted():
    decision = decide(probed(88), probed(90), LIMITS, OFFLINE)
    assert decision.action == PROMOTE
    assert decision.reason == (
        "canary: accuracy 0.880, error rate 0.000, p99 10 ms, offline accuracy 0.900; "
        "previous: accuracy 0.900, error rate 0.000, p99 10 ms"
    )


@pytest.mark.parametrize(
    "canary, says",
    [
        (probed(90, errors=3), "canary error rate 0.030 > 0.02 (3 of 100 probes failed)"),
        (probed(90, latency_ms=501), "canary p99 latency 501 ms > 500 ms"),
        (probed(84), "canary accuracy 0.840 on 100 probes is more than 0.05 below"),
    ],
    ids=["errors", "latency", "accuracy"],
)
def test_a_canary_breaking_a_limit_is_rolled_back(canary, says):
    decision = decide(canary, probed(90), LIMITS, offline_accuracy=0.85)
    assert decision.action == ROLLBACK
    assert says in decision.reason


def test_the_p99_is_of_all_probes_so_one_slow_answer_in_a_hundred_does_not_decide():
    latencies = (10.0,) * 99 + (5000.0,)
    assert decide(Probed(100, 0, 90, latencies), None, LIMITS, OFFLINE).action == PROMOTE
    slow = (10.0,) * 97 + (5000.0,) * 3
    assert decide(Probed(100, 0, 90, slow), None, LIMITS, OFFLINE).action == ROLLBACK


def test_a_broken_first_model_is_rolled_back_against_its_offline_accuracy():
    """Nothing served before: no previous revision, yet serving's 0 correct of 100 is far below
    the 0.97 its evaluate step measured (an export that serves differently)."""
    decision = decide(probed(0), None, LIMITS, offline_accuracy=0.97)
    assert decision.action == ROLLBACK
    assert decision.reason == (
        "canary accuracy 0.000 on 100 probes, offline 0.970: more than 0.050 below (the larger "
        "of the allowed drop 0.05 and 2.33 standard errors over 100 probes, one-sided)"
    )


def test_a_good_first_model_is_promoted():
    decision = decide(probed(96), None, LIMITS, offline_accuracy=0.97)
    assert decision.action == PROMOTE
    assert decision.reason.endswith("offline accuracy 0.970")


def test_a_weak_model_within_the_sampling_error_of_few_probes_is_promoted():
    """0.5 offline over 20 probes: one standard error is sqrt(0.25 / 20) = 0.112, so the bound
    is 2.33 of them, 0.260, not the 0.05 drop: 5 of 20 (0.25, 0.25 below) passes, 4 (0.2) not."""
    assert LIMITS.offline_tolerance(0.5, 20) == pytest.approx(0.2605, abs=1e-4)
    assert decide(probed(5, requests=20), None, LIMITS, 0.5).action == PROMOTE
    decision = decide(probed(4, requests=20), None, LIMITS, 0.5)
    assert decision.action == ROLLBACK
    assert "offline 0.500: more than 0.261 below" in decision.reason


def test_with_many_probes_the_allowed_drop_is_the_bound():
    assert LIMITS.offline_tolerance(0.97, 10_000) == LIMITS.max_accuracy_drop
    assert LIMITS.offline_tolerance(1.0, 100) == LIMITS.max_accuracy_drop  # no sampling error
    # 0.97 over 100 probes: 2.33 standard errors are 0.040, under the 0.05 drop.
    assert LIMITS.offline_tolerance(0.97, 100) == LIMITS.max_accuracy_drop
    assert decide(probed(93), None, LIMITS, 0.97).action == PROMOTE
    assert decide(probed(91), None, LIMITS, 0.97).action == ROLLBACK


def test_a_canary_that_never_became_ready_is_rolled_back_and_is_no_champion(cli, tmp_path):
    versions_dir = tmp_path / "serving"
    for accuracy in (0.8, 0.9):
        (versions_dir / "staged").mkdir(parents=True)
        (versions_dir / "staged" / "saved_model.pb").write_text("x")
        versions.promote(versions_dir / "staged", versions_dir, accuracy)
        (versions_dir / "staged" / "saved_model.pb").unlink()
        (versions_dir / "staged").rmdir()
    assert versions.newest(versions_dir) == versions_dir / "2"
    code, out, _ = cli(
        verify.main,
        [
            "--canary-url", "", "--canary-revision", "digits-predictor-00002",
            "--tagged-revision", "digits-predictor-00001", "--model-name", "digits",
            "--dataset", "digits", "--data-dir", str(tmp_path),
            "--version-dir", str(versions_dir / "2"), "--offline-accuracy", "0.9",
            "--decision-file", str(tmp_path / "decision"),
            "--reason-file", str(tmp_path / "reason"),
        ],
    )  # fmt: skip
    assert code == 0
    assert (tmp_path / "decision").read_text() == ROLLBACK
    reason = (tmp_path / "reason").read_text()
    assert reason == (
        "revision digits-predictor-00002 did not become ready (the latest tag reaches "
        "digits-predictor-00001)"
    )
    assert out.strip() == f"rollback: {reason}"
    assert json.loads((versions_dir / "2" / versions.REJECTED_FILE).read_text())["reason"] == reason
    assert versions.newest(versions_dir) == versions_dir / "1"  # rolled back: not the champion
    assert select.champion_accuracy(versions.newest(versions_dir)) == 0.8


@pytest.mark.parametrize(
    "flags, says",
    [
        (["--probes", "0"], "--probes: must be a whole number above 0, got '0'"),
        (["--max-accuracy-drop", "2"], "--max-accuracy-drop: must be a number from 0 to 1"),
        (["--dataset", "cifar"], "--dataset"),
        (["--offline-accuracy", "97"], "--offline-accuracy: must be a number from 0 to 1"),
    ],
)
def test_mistakes_are_one_line(cli, tmp_path, flags, says):
    base = [
        "--canary-url", "http://127.0.0.1:1", "--canary-revision", "r", "--tagged-revision", "r",
        "--model-name", "digits", "--data-dir", str(tmp_path), "--version-dir", str(tmp_path),
        "--decision-file", str(tmp_path / "d"), "--reason-file", str(tmp_path / "r"),
        "--dataset", "digits", "--offline-accuracy", "0.9",
    ]  # fmt: skip
    code, out, err = cli(verify.main, [*base, *flags])
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and says in err
    assert not (tmp_path / "d").exists()


def test_a_canary_url_that_is_no_url_is_one_line(cli, tmp_path):
    code, _, err = cli(
        verify.main,
        [
            "--canary-url", "nope", "--canary-revision", "r", "--tagged-revision", "r",
            "--model-name", "digits", "--dataset", "digits", "--data-dir", str(tmp_path),
            "--version-dir", str(tmp_path), "--decision-file", str(tmp_path / "d"),
            "--reason-file", str(tmp_path / "r"), "--offline-accuracy", "0.9",
        ],
    )  # fmt: skip
    assert (
        code == 2
        and err == "error: --canary-url: 'nope' is not an http(s) URL; give e.g. http://host:8080\n"
    )
