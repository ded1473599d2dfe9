"""A file where an entry point wants a directory, a directory where it writes a file, a path
below a file: one error line naming the flag before any work, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mlflows.errors import UserError
from mlflows.ml import ingest, select, serve, train

CASES = {
    "ingest --data-dir": (ingest.main, ["--dataset", "digits", "--data-dir", "{file}"]),
    "train --checkpoint-dir": (
        train.main,
        [
            "--dataset",
            "digits",
            "--data-dir",
            "{dir}",
            "--saved-model-dir",
            "{dir}/model",
            "--checkpoint-dir",
            "{file}",
        ],
    ),  # fmt: skip
    "select champion --versions-dir": (select.main, ["champion", "--versions-dir", "{file}"]),
    "select promote --versions-dir": (
        select.main,
        ["promote", "--model-dir", "{dir}", "--accuracy", "0.5", "--versions-dir", "{file}"],
    ),
    "serve --model-dir": (serve.main, ["--model-dir", "{file}", "--port", "0"]),
}


@pytest.mark.parametrize(("main", "argv"), CASES.values(), ids=CASES.keys())
def test_a_file_given_for_a_directory_is_one_error_line(tmp_path, cli, main, argv):
    (tmp_path / "file").write_text("a file, not a directory")
    paths = {"file": tmp_path / "file", "dir": tmp_path}
    flag = argv[argv.index("{file}") - 1]

    code, _, err = cli(main, [arg.format(**paths) for arg in argv])

    assert code == UserError.exit_code
    assert err == f"error: {flag}: {tmp_path / 'file'} is a file; give a directory\n"


TRAIN = ["--dataset", "digits", "--data-dir", "{dir}", "--saved-model-dir", "{dir}/model",
         "--checkpoint-dir", "{dir}/checkpoints"]  # fmt: skip
BEST = ["best", "--candidates", "{dir}", "--data-dir", "{dir}", "--versions-dir", "{dir}/v"]
OUTPUT_FILES = {
    "ingest --record-file": (ingest.main, ["--data-dir", "{dir}", "--record-file", "{out}"]),
    "train --metrics-file": (train.main, [*TRAIN, "--metrics-file", "{out}"]),
    "select evaluate --accuracy-file": (
        select.main,
        ["evaluate", "--model-dir", "{dir}", "--data-dir", "{dir}", "--accuracy-file", "{out}"],
    ),
    "select best --result-file": (select.main, [*BEST, "--result-file", "{out}"]),
}


@pytest.mark.parametrize(("main", "argv"), OUTPUT_FILES.values(), ids=OUTPUT_FILES.keys())
def test_a_directory_given_for_an_output_file_is_refused_before_any_work(tmp_path, cli, main, argv):
    flag = argv[argv.index("{out}") - 1]

    code, out, err = cli(main, [arg.format(dir=tmp_path, out=tmp_path) for arg in argv])

    assert code == UserError.exit_code and out == ""
    assert err == f"error: {flag}: {tmp_path} is a directory; give a file path\n"


BELOW_A_FILE = {
    "ingest --data-dir": (ingest.main, ["--data-dir", "{below}"]),
    "train --saved-model-dir": (
        train.main,
        ["--data-dir", "{dir}", "--saved-model-dir", "{below}", "--checkpoint-dir", "{dir}/c"],
    ),
    "train --metrics-file": (train.main, [*TRAIN, "--metrics-file", "{below}"]),
    "select promote --versions-dir": (
        select.main,
        ["promote", "--model-dir", "{dir}", "--accuracy", "0.5", "--versions-dir", "{below}"],
    ),
    "select champion --accuracy-file": (
        select.main,
        ["champion", "--versions-dir", "{dir}", "--accuracy-file", "{below}"],
    ),
}


@pytest.mark.parametrize(("main", "argv"), BELOW_A_FILE.values(), ids=BELOW_A_FILE.keys())
def test_a_path_below_a_file_is_refused_before_any_work(tmp_path, cli, main, argv):
    (tmp_path / "file").write_text("a file, not a directory")
    below = tmp_path / "file" / "sub" / "x"
    flag = argv[argv.index("{below}") - 1]

    code, out, err = cli(main, [arg.format(dir=tmp_path, below=below) for arg in argv])

    assert code == UserError.exit_code and out == ""
    assert (
        err == f"error: {flag}: {below} is below {tmp_path / 'file'}, a file; give another path\n"
    )


@pytest.mark.parametrize(("main", "argv"), OUTPUT_FILES.values(), ids=OUTPUT_FILES.keys())
def test_an_output_file_that_cannot_be_created_is_refused_before_any_work(
    tmp_path, cli, main, argv
):
    flag = argv[argv.index("{out}") - 1]
    unwritable = "/proc/nope/out"  # a pseudo file system: nothing can be created there

    code, out, err = cli(main, [arg.format(dir=tmp_path, out=unwritable) for arg in argv])

    assert code == UserError.exit_code and out == ""
    assert err.startswith(f"error: {flag}: cannot write {unwritable} (") and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []  # no data ingested, no probe left behind


# Through a link in tmp_path: code that renamed a result onto the path would replace the link,
# not the machine's device (as root it could replace /dev/full itself).
@pytest.mark.skipif(not Path("/dev/full").is_char_device(), reason="needs /dev/full")
def test_a_full_disk_at_the_final_write_is_one_error_line(tmp_path, cli):
    full = tmp_path / "full"
    full.symlink_to("/dev/full")
    argv = ["--dataset", "digits", "--data-dir", str(tmp_path / "data")]

    code, _, err = cli(ingest.main, [*argv, "--record-file", str(full)])

    assert code == UserError.exit_code
    assert err == f"error: --record-file: cannot write {full}: No space left on device\n"
    assert full.is_symlink()  # written through, not replaced


def test_a_device_given_as_an_output_file_is_written_in_place(tmp_path):
    stdout = tmp_path / "stdout"
    stdout.symlink_to("/proc/self/fd/1")
    argv = ["--dataset", "digits", "--data-dir", str(tmp_path / "data")]

    done = subprocess.run(
        [sys.executable, "-m", "mlflows.ml.ingest", *argv, "--record-file", str(stdout)],
        capture_output=True,
        text=True,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith('{\n  "name": "digits"')
    assert stdout.is_symlink()


def test_relative_paths_in_the_working_directory_are_fine(tmp_path, cli, monkeypatch):
    monkeypatch.chdir(tmp_path)

    code, _, err = cli(
        ingest.main, ["--dataset", "digits", "--data-dir", ".", "--record-file", "r"]
    )

    assert code == 0, err
    assert (tmp_path / "r").read_text().startswith('{\n  "name": "digits"')
