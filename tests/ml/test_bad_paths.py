"""A file where an entry point wants a directory: one error line naming the flag, no traceback."""

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
