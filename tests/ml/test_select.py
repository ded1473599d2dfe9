"""Selection: evaluation, the champion, atomic promotion, and choosing the better model."""

from __future__ import annotations

import json
import shutil
import threading

import pytest

from mlflows.errors import UserError
from mlflows.ml import select, versions


@pytest.fixture
def good(trained):
    return trained("cnn")[0]


def run_best(cli, candidates, digits_dir, versions_dir, out, *extra):
    argv = [
        "best", "--candidates", *map(str, candidates), "--dataset", "digits",
        "--data-dir", str(digits_dir), "--versions-dir", str(versions_dir),
        "--result-file", str(out / "result.json"), "--accuracy-file", str(out / "accuracy"),
        *extra,
    ]  # fmt: skip
    code, stdout, err = cli(select.main, argv)
    result = json.loads((out / "result.json").read_text()) if code == 0 else None
    return code, result, stdout, err


def test_evaluate_writes_the_bare_accuracy(tmp_path, cli, good, digits_dir, trained):
    accuracy_file = tmp_path / "accuracy"
    argv = ["evaluate", "--model-dir", str(good), "--dataset", "digits"]
    argv += ["--data-dir", str(digits_dir)]
    code, out, _ = cli(select.main, [*argv, "--accuracy-file", str(accuracy_file)])

    assert code == 0
    measured = float(accuracy_file.read_text())  # a bare number, nothing else
    assert measured == pytest.approx(trained("cnn")[1]["accuracy"], abs=0.01)
    assert accuracy_file.read_text() in out


def test_the_champion_is_minus_one_until_a_version_is_promoted(tmp_path, cli, good):
    versions_dir = tmp_path / "serving"
    accuracy_file = tmp_path / "champion"
    champion = ["champion", "--versions-dir", str(versions_dir)]
    champion += ["--accuracy-file", str(accuracy_file)]

    assert cli(select.main, champion)[0] == 0
    assert accuracy_file.read_text() == "-1"

    promote = ["promote", "--model-dir", str(good), "--versions-dir", str(versions_dir)]
    assert cli(select.main, [*promote, "--accuracy", "0.875"])[0] == 0
    assert cli(select.main, [*promote, "--accuracy", "0.5"])[0] == 0
    assert cli(select.main, champion)[0] == 0

    assert versions.numbers(versions_dir) == [1, 2]
    assert accuracy_file.read_text() == "0.5000"  # the newest, not the best
    recorded = versions.metadata(versions_dir / "1")
    assert recorded["accuracy"] == 0.875 and recorded["source"] == str(good)
    assert recorded["fingerprint"] == versions.fingerprint(good)


@pytest.mark.parametrize("recorded", ['{"accuracy": "high"}', '{"accuracy": null}', "[0.9]", "{"])
def test_an_unreadable_recorded_accuracy_counts_as_no_champion(tmp_path, cli, recorded):
    (tmp_path / "serving" / "1").mkdir(parents=True)
    (tmp_path / "serving" / "1" / versions.METADATA_FILE).write_text(recorded)
    argv = ["champion", "--versions-dir", str(tmp_path / "serving")]

    code, _, _ = cli(select.main, [*argv, "--accuracy-file", str(tmp_path / "champion")])

    assert code == 0 and (tmp_path / "champion").read_text() == "-1"


def test_a_reader_polling_during_promotion_never_sees_a_partial_version(tmp_path, good):
    versions_dir = tmp_path / "serving"
    expected = {p.relative_to(good).as_posix() for p in good.rglob("*")} | {versions.METADATA_FILE}
    seen_partial: list[tuple[str, set]] = []
    seen_versions: set[str] = set()
    done = threading.Event()

    def poll():
        while not done.is_set():
            for version in list(versions_dir.glob("[0-9]*")) if versions_dir.exists() else []:
                try:
                    found = {p.relative_to(version).as_posix() for p in version.rglob("*")}
                except FileNotFoundError:
                    continue
                seen_versions.add(version.name)
                if found != expected:
                    seen_partial.append((version.name, expected - found))

    reader = threading.Thread(target=poll)
    reader.start()
    try:
        for _ in range(4):
            versions.promote(good, versions_dir, 0.9)
    finally:
        done.set()
        reader.join()

    assert seen_versions, "the reader never saw a version"
    assert not seen_partial
    assert versions.numbers(versions_dir) == [1, 2, 3, 4]
    assert [p.name for p in versions_dir.iterdir() if not p.name.isdigit()] == []  # no staging


@pytest.mark.parametrize(
    ("argv", "subcommand"),
    [
        (["promote", "--model-dir", "m", "--accuracy", "2", "--versions-dir", "v"], " promote"),
        (["best", "--candidates", "m", "--data-dir", "d", "--versions-dir", "v"], " best"),
        (["rank"], ""),
    ],
)
def test_a_flag_mistake_is_one_error_line_pointing_at_its_help(cli, argv, subcommand):
    code, _, err = cli(select.main, argv)
    assert code == UserError.exit_code and err.count("\n") == 1
    assert err.endswith(f"(see python -m mlflows.ml.select{subcommand} --help)\n")


def test_promoting_something_that_is_not_a_model_publishes_nothing(tmp_path, cli):
    (tmp_path / "not-a-model").mkdir()
    argv = ["promote", "--model-dir", str(tmp_path / "not-a-model"), "--accuracy", "0.9"]
    code, _, err = cli(select.main, [*argv, "--versions-dir", str(tmp_path / "serving")])

    assert code == UserError.exit_code and err.startswith("error: --model-dir")
    assert not (tmp_path / "serving").exists() or not list((tmp_path / "serving").iterdir())


def test_promotion_never_lands_on_an_entry_already_there(tmp_path, cli, untrained_model):
    """A stray file named like a version is neither replaced nor retried forever."""
    versions_dir = tmp_path / "serving"
    versions.promote(untrained_model, versions_dir, 0.1)
    (versions_dir / "2").write_text("not a version, but not ours to replace")

    argv = ["promote", "--model-dir", str(untrained_model), "--accuracy", "0.2"]
    code, out, err = cli(select.main, [*argv, "--versions-dir", str(versions_dir)])

    assert code == 0, err
    assert f"to {versions_dir / '3'}" in out
    assert (versions_dir / "2").read_text() == "not a version, but not ours to replace"
    assert versions.numbers(versions_dir) == [1, 3]


def test_a_versions_dir_inside_the_model_is_refused(tmp_path, cli, untrained_model):
    model = tmp_path / "model"
    shutil.copytree(untrained_model, model)
    argv = ["promote", "--model-dir", str(model), "--accuracy", "0.2"]

    code, _, err = cli(select.main, [*argv, "--versions-dir", str(model / "serving")])

    assert code == UserError.exit_code and err.startswith("error: --versions-dir:")
    names = sorted(p.name for p in untrained_model.iterdir())
    assert sorted(p.name for p in model.iterdir()) == names


def test_best_promotes_the_really_better_model_and_skips_what_is_missing_or_broken(
    tmp_path, cli, good, untrained_model, digits_dir
):
    broken = tmp_path / "broken"
    shutil.copytree(good, broken)
    (broken / "saved_model.pb").write_bytes(b"not a protobuf")
    missing = tmp_path / "never-trained"
    versions_dir = tmp_path / "serving"
    candidates = [untrained_model, missing, broken, good]

    code, result, out, _ = run_best(cli, candidates, digits_dir, versions_dir, tmp_path)

    assert code == 0
    by_dir = {c["model_dir"]: c["accuracy"] for c in result["candidates"]}
    assert by_dir[str(good)] > by_dir[str(untrained_model)] + 0.3
    assert result["best"]["model_dir"] == str(good)
    assert {s["model_dir"] for s in result["skipped"]} == {str(missing), str(broken)}
    assert f"skipped {missing}" in out and f"skipped {broken}" in out
    assert result["promoted"] == {"version": 1, "path": str(versions_dir / "1")}
    assert versions.fingerprint(versions_dir / "1") == versions.fingerprint(good)
    assert float((tmp_path / "accuracy").read_text()) == pytest.approx(by_dir[str(good)], abs=1e-4)

    # The same candidates again: the best already is the newest version, so nothing changes.
    code, again, _, _ = run_best(cli, candidates, digits_dir, versions_dir, tmp_path)
    assert code == 0 and again["promoted"] is None and "already" in again["reason"]
    assert versions.numbers(versions_dir) == [1]


def test_best_keeps_the_top_k_above_the_threshold(tmp_path, cli, good, untrained_model, digits_dir):
    code, result, _, _ = run_best(
        cli, [untrained_model, good], digits_dir, tmp_path / "serving", tmp_path,
        "--top-k", "2", "--threshold", "0.5",
    )  # fmt: skip
    assert code == 0
    assert [c["model_dir"] for c in result["selected"]] == [str(good)]

    code, result, out, _ = run_best(
        cli, [untrained_model, good], digits_dir, tmp_path / "other", tmp_path,
        "--threshold", "1.0",
    )  # fmt: skip
    assert code == 0 and result["selected"] == [] and result["promoted"] is None
    assert "nothing promoted" in out and not (tmp_path / "other").exists()


def test_best_with_no_usable_candidate_fails_in_one_line_and_promotes_nothing(
    tmp_path, cli, digits_dir
):
    (tmp_path / "empty").mkdir()
    code, _, out, err = run_best(
        cli, [tmp_path / "gone", tmp_path / "empty"], digits_dir, tmp_path / "serving", tmp_path
    )

    assert code == UserError.exit_code
    assert err.startswith("error: --candidates") and err.count("\n") == 1
    assert "skipped" in out
    assert versions.numbers(tmp_path / "serving") == []


def test_best_candidates_in_a_folder_are_its_model_folders(
    tmp_path, cli, good, untrained_model, digits_dir
):
    models = tmp_path / "models"
    models.mkdir()
    shutil.copytree(good, models / "good")
    shutil.copytree(untrained_model, models / "untrained")
    (models / "good.metrics.json").write_text("{}")  # what train writes beside a model
    (models / ".good.staging.x1").mkdir()  # what a save that crashed leaves
    options = [
        "--dataset", "digits", "--data-dir", str(digits_dir),
        "--versions-dir", str(tmp_path / "serving"), "--result-file", str(tmp_path / "r.json"),
    ]  # fmt: skip

    code, _, err = cli(select.main, ["best", "--candidates-in", str(models), *options])

    assert code == 0, err
    result = json.loads((tmp_path / "r.json").read_text())
    assert [c["model_dir"] for c in result["candidates"]] == [
        str(models / "good"),
        str(models / "untrained"),
    ]
    assert result["skipped"] == [] and result["best"]["model_dir"] == str(models / "good")

    code, _, err = cli(select.main, ["best", "--candidates-in", str(tmp_path / "none"), *options])
    assert code == UserError.exit_code and err.count("\n") == 1
    assert err.startswith(f"error: --candidates-in {tmp_path / 'none'}: none of the 0 candidate")


def test_a_missing_dataset_is_the_data_dirs_fault_not_the_candidates(tmp_path, cli, good):
    code, _, _, err = run_best(cli, [good], tmp_path / "no-data", tmp_path / "serving", tmp_path)
    assert code == UserError.exit_code and "mlflows.ml.ingest" in err


def test_best_takes_the_accuracies_a_loop_measured_without_evaluating_again(
    tmp_path, cli, good, untrained_model
):
    """A loop's aggregated outputs: each item's folder and the accuracy its evaluate step
    measured. Taken as given (the untrained model "wins" here, and there is no dataset to
    evaluate on); a folder that no longer holds a model is skipped, as a failed item would be."""
    measured = [
        {"model-dir": str(good), "accuracy": "0.2"},
        {"model-dir": str(untrained_model), "accuracy": "0.9"},
        {"model-dir": str(tmp_path / "gone"), "accuracy": "0.99"},
    ]
    options = [
        "--dataset", "digits", "--data-dir", str(tmp_path / "no-data"),
        "--versions-dir", str(tmp_path / "serving"), "--result-file", str(tmp_path / "r.json"),
    ]  # fmt: skip

    code, out, err = cli(select.main, ["best", "--candidates-json", json.dumps(measured), *options])

    assert code == 0, err
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["candidates"] == [
        {"model_dir": str(good), "accuracy": 0.2},
        {"model_dir": str(untrained_model), "accuracy": 0.9},
    ]
    assert [s["model_dir"] for s in result["skipped"]] == [str(tmp_path / "gone")]
    assert result["best"]["model_dir"] == str(untrained_model)
    assert versions.metadata(tmp_path / "serving" / "1")["accuracy"] == 0.9

    # A plain folder in the list is still evaluated: here on data that is not there.
    listed = json.dumps([measured[0], str(good)])
    code, _, err = cli(select.main, ["best", "--candidates-json", listed, *options])
    assert code == UserError.exit_code and "mlflows.ml.ingest" in err


@pytest.mark.parametrize(
    "given",
    ['{"model-dir": "/m"}', '[{"model-dir": "/m", "accuracy": "1.5"}]', '[{"accuracy": 1}]', "[3]"],
)
def test_a_candidates_json_that_is_not_folders_or_measured_models_is_one_line(tmp_path, cli, given):
    argv = [
        "best", "--candidates-json", given, "--dataset", "digits", "--data-dir", str(tmp_path),
        "--versions-dir", str(tmp_path / "serving"), "--result-file", str(tmp_path / "r.json"),
    ]  # fmt: skip
    code, _, err = cli(select.main, argv)
    assert code == UserError.exit_code and err.count("\n") == 1
    assert err.startswith("error: --candidates-json: ") and '"accuracy": 0 to 1}' in err
