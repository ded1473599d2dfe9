"""A file where an entry point wants a directory, a directory where it writes a file, a path
below a file: one error line naming the flag before any work, no traceback."""

from __future__ import annotations

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
