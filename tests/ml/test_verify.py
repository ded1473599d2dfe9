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


def probed(correct: int, errors: int = 0, latency_ms: float = 10.0, requests: int = 100):
    return Probed(requests, errors, correct, (latency_ms,) * requests)


def test_a_canary_within_every_limit_is_promoted():
    decision = decide(probed(88), probed(90), LIMITS)
    assert decision.action == PROMOTE
    assert (
        "canary: accuracy 0.880" in decision.reason
        and "previous: accuracy 0.900" in decision.reason
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
    decision = decide(canary, probed(90), LIMITS)
    assert decision.action == ROLLBACK
    assert says in decision.reason


def test_the_p99_is_of_all_probes_so_one_slow_answer_in_a_hundred_does_not_decide():
    latencies = (10.0,) * 99 + (5000.0,)
    assert decide(Probed(100, 0, 90, latencies), None, LIMITS).action == PROMOTE
    slow = (10.0,) * 97 + (5000.0,) * 3
    assert decide(Probed(100, 0, 90, slow), None, LIMITS).action == ROLLBACK


def test_without_a_previous_revision_accuracy_is_not_compared():
    assert decide(probed(10), None, LIMITS).action == PROMOTE


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
            "--version-dir", str(versions_dir / "2"),
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
    ],
)
def test_mistakes_are_one_line(cli, tmp_path, flags, says):
    base = [
        "--canary-url", "http://127.0.0.1:1", "--canary-revision", "r", "--tagged-revision", "r",
        "--model-name", "digits", "--data-dir", str(tmp_path), "--version-dir", str(tmp_path),
        "--decision-file", str(tmp_path / "d"), "--reason-file", str(tmp_path / "r"),
        "--dataset", "digits",
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
            "--reason-file", str(tmp_path / "r"),
        ],
    )  # fmt: skip
    assert (
        code == 2
        and err == "error: --canary-url: 'nope' is not an http(s) URL; give e.g. http://host:8080\n"
    )
