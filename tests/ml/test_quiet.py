"""An entry point's stderr is its own: TensorFlow's start-up chatter (absl banners, oneDNN and
CUDA notices, a failed ``cuInit``) never comes before the one ``error:`` line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mlflows.errors import UserError
from mlflows.ml import quiet

BAD_AFTER_TENSORFLOW_STARTS = {
    "train, dataset not ingested": (
        ["mlflows.ml.train", "--dataset", "digits", "--data-dir", "{tmp}/nothing",
         "--saved-model-dir", "{tmp}/model", "--checkpoint-dir", "{tmp}/checkpoints"],
        "error: --data-dir: dataset digits is not in",
    ),
    "select evaluate, not a model": (
        ["mlflows.ml.select", "evaluate", "--model-dir", "{tmp}", "--dataset", "digits",
         "--data-dir", "{digits}"],
        "error: model ",
    ),
}  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "expected"), BAD_AFTER_TENSORFLOW_STARTS.values(), ids=BAD_AFTER_TENSORFLOW_STARTS
)
def test_a_mistake_found_after_tensorflow_starts_is_the_only_line_on_stderr(
    tmp_path, digits_dir, argv, expected
):
    env = {**os.environ}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # the default, as in the images
    argv = [arg.format(tmp=tmp_path, digits=digits_dir) for arg in argv]

    done = subprocess.run(
        [sys.executable, "-m", *argv], capture_output=True, text=True, timeout=300, env=env
    )

    assert done.returncode == UserError.exit_code
    assert done.stderr.startswith(expected) and done.stderr.count("\n") == 1, done.stderr


def test_held_back_output_is_shown_only_when_starting_fails(capfd):
    with quiet._stderr_held_back():
        os.write(2, b"chatter\n")
    assert capfd.readouterr().err == ""

    with pytest.raises(ImportError), quiet._stderr_held_back():
        os.write(2, b"why it failed\n")
        raise ImportError("no TensorFlow")
    assert capfd.readouterr().err == "why it failed\n"
