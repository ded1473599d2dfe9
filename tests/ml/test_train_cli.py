"""The trainer's bad input: one error line, non-zero exit, no model left behind."""

from __future__ import annotations

import json

import pytest

from mlflows.errors import UserError
from mlflows.ml import train
from mlflows.ml.callbacks import step_decay


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (["--epochs", "0"], "--epochs"),
        (["--steps-per-epoch", "ten"], "--steps-per-epoch"),
        (["--batch-size-per-replica", "-8"], "--batch-size-per-replica"),
        (["--learning-rate", "nan"], "--learning-rate"),
        (["--model-type", "resnet"], "--model-type"),
        (["--dataset", "cifar10"], "--dataset"),
    ],
)
def test_bad_flags_are_refused_before_training(tmp_path, digits_dir, cli, train_argv, bad, field):
    # argparse keeps the last value of a repeated flag: the bad one
    code, _, err = cli(train.main, [*train_argv("cnn", digits_dir, tmp_path), *bad])

    assert code == UserError.exit_code
    assert err.startswith("error: ") and err.count("\n") == 1 and field in err
    assert not (tmp_path / "models").exists()


def test_a_dataset_that_was_not_ingested_says_to_ingest_it(tmp_path, cli, train_argv, monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    code, _, err = cli(train.main, train_argv("cnn", tmp_path / "empty", tmp_path))

    assert code == UserError.exit_code
    assert "python -m mlflows.ml.ingest --dataset digits" in err and err.count("\n") == 1
    assert not (tmp_path / "models").exists()


def test_a_malformed_tf_config_is_one_error_line(
    tmp_path, digits_dir, cli, train_argv, monkeypatch
):
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"worker": ["localhost:1"]}}')
    code, _, err = cli(train.main, train_argv("cnn", digits_dir, tmp_path))

    assert code == UserError.exit_code and err.startswith("error: TF_CONFIG:")


def test_the_learning_rate_drops_tenfold_at_epochs_3_and_7():
    schedule = step_decay(1e-3)
    rates = [schedule(epoch, None) for epoch in range(9)]
    assert rates[:3] == [1e-3] * 3
    assert rates[3:7] == pytest.approx([1e-4] * 4)
    assert rates[7:] == pytest.approx([1e-5] * 2)


@pytest.mark.parametrize(
    ("model_dir", "other"),
    [("data", "--data-dir"), (".", "--data-dir"), ("checkpoints", "--checkpoint-dir")],
)
def test_a_model_dir_that_would_replace_other_data_is_refused(
    tmp_path, digits_dir, cli, train_argv, model_dir, other
):
    """The model replaces --saved-model-dir whole: it may not be (or hold) the data or backups."""
    argv = train_argv("cnn", digits_dir, tmp_path)
    target = {"data": str(digits_dir), ".": str(digits_dir.parent), "checkpoints": None}[model_dir]
    if target is None:
        target = argv[argv.index("--checkpoint-dir") + 1]
    before = sorted(path.name for path in digits_dir.iterdir())

    code, _, err = cli(train.main, [*argv, "--saved-model-dir", target])

    assert code == UserError.exit_code
    assert err.startswith("error: --saved-model-dir:") and other in err and err.count("\n") == 1
    assert sorted(path.name for path in digits_dir.iterdir()) == before


def test_a_model_dir_holding_other_files_is_refused_before_training(
    tmp_path, digits_dir, cli, train_argv
):
    """Saving replaces --saved-model-dir whole: a slip like ~/project must not delete the work."""
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "notes.txt").write_text("a week of work")
    argv = train_argv("cnn", digits_dir, tmp_path)

    code, out, err = cli(train.main, [*argv, "--saved-model-dir", str(project)])

    assert code == UserError.exit_code and out == ""
    assert f"--saved-model-dir: {project} already holds files (notes.txt, src)" in err
    assert err.count("\n") == 1
    assert (project / "notes.txt").read_text() == "a week of work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project"]  # no checkpoints, no staging


@pytest.mark.parametrize("model_dir", [".", "..", "sub/.."])
def test_the_working_directory_or_one_holding_it_is_refused(
    tmp_path, digits_dir, cli, train_argv, monkeypatch, model_dir
):
    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    monkeypatch.chdir(work)
    argv = train_argv("cnn", digits_dir, tmp_path / "out")

    code, _, err = cli(train.main, [*argv, "--saved-model-dir", model_dir])

    assert code == UserError.exit_code and err.count("\n") == 1
    assert err.startswith(f"error: --saved-model-dir: {model_dir} is or holds the working dir")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]  # nothing retired, nothing staged
    assert [p.name for p in work.iterdir()] == ["sub"]


def test_a_model_dir_is_replaceable_when_new_empty_or_a_previous_save_and_nothing_more(
    tmp_path, digits_dir, untrained_model, train_argv
):
    import shutil

    argv = train_argv("cnn", digits_dir, tmp_path / "out")
    previous = tmp_path / "previous"
    shutil.copytree(untrained_model, previous)
    (tmp_path / "empty").mkdir()
    for model_dir in ("new", "empty", "previous"):
        train.parse_args([*argv, "--saved-model-dir", str(tmp_path / model_dir)])

    (previous / "README").write_text("added by hand after the save")
    with pytest.raises(UserError, match=r"already holds files \(README, "):
        train.parse_args([*argv, "--saved-model-dir", str(previous)])


def test_a_step_larger_than_the_training_split_is_refused_before_tensorflow_starts(
    tmp_path, digits_dir, cli, train_argv, monkeypatch
):
    """digits' train split holds 1,438 examples: 2 workers of 720 would repeat some each step.
    Only the trainer knows the split's size, so a sweep's item fails here, at run time."""
    workers = ["localhost:1", "localhost:2"]
    monkeypatch.setenv(
        "TF_CONFIG",
        json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": 0}}),
    )
    argv = [*train_argv("cnn", digits_dir, tmp_path), "--batch-size-per-replica", "720"]

    code, _, err = cli(train.main, argv)

    assert code == UserError.exit_code and err.count("\n") == 1
    assert err == (
        "error: --batch-size-per-replica 720: 2 worker(s) would take 1440 examples a step, more "
        "than the 1438 in the digits train split; use at most 719\n"
    )
    assert not (tmp_path / "models").exists()
