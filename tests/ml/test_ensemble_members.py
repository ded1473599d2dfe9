"""An ensemble's two ML pieces: select publishing its members (top K at a threshold; fewer than K
said; none an error), and the combiner averaging the members' answers over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from mlflows.local.cluster.pods import free_ports
from mlflows.ml import combine, select, versions


def run_members(cli, candidates, digits_dir, out, top_k: int, threshold: float):
    argv = [
        "best", "--candidates", *map(str, candidates), "--dataset", "digits",
        "--data-dir", str(digits_dir), "--versions-dir", str(out / "serving"),
        "--result-file", str(out / "result.json"), "--top-k", str(top_k),
        "--threshold", str(threshold), "--members-dir", str(out / "ensemble"),
        "--members-file", str(out / "members.json"),
    ]  # fmt: skip
    code, stdout, err = cli(select.main, argv)
    members = json.loads((out / "members.json").read_text()) if code == 0 else None
    return code, members, stdout, err


def test_the_top_k_are_published_as_members_best_first(tmp_path, cli, trained, digits_dir):
    cnn, dropout = trained("cnn")[0], trained("dropout")[0]
    code, members, _, _ = run_members(cli, [dropout, cnn], digits_dir, tmp_path, 2, 0.0)

    assert code == 0
    assert [m["name"] for m in members] == ["top-1", "top-2"]
    assert members[0]["accuracy"] >= members[1]["accuracy"]
    for member in members:  # each the newest version of its own folder, the very model
        newest = versions.newest(tmp_path / "ensemble" / member["name"])
        assert versions.fingerprint(newest) == versions.fingerprint(member["model_dir"])
    # a second selection of the same models publishes nothing new
    code, again, _, _ = run_members(cli, [dropout, cnn], digits_dir, tmp_path, 2, 0.0)
    assert code == 0 and again == members
    assert versions.numbers(tmp_path / "ensemble" / "top-1") == [1]


def test_fewer_than_k_above_the_threshold_are_served_and_said(
    tmp_path, cli, trained, untrained_model, digits_dir
):
    cnn = trained("cnn")[0]
    code, members, stdout, _ = run_members(
        cli, [untrained_model, cnn], digits_dir, tmp_path, 2, 0.5
    )

    assert code == 0
    assert [m["model_dir"] for m in members] == [str(cnn)]  # chance accuracy is below 0.5
    assert "only 1 of the top 2 reach the threshold 0.5; the ensemble serves 1" in stdout
    assert not (tmp_path / "ensemble" / "top-2").exists()


def test_none_above_the_threshold_fails_in_one_line_and_publishes_nothing(
    tmp_path, cli, untrained_model, digits_dir
):
    code, _, _, err = run_members(cli, [untrained_model], digits_dir, tmp_path, 2, 0.99)

    assert code != 0
    [line] = err.strip().splitlines()
    assert line.startswith("error: --threshold 0.99: no candidate reaches it")
    assert not (tmp_path / "ensemble").exists() and not (tmp_path / "serving").exists()


def test_members_file_needs_a_members_dir(tmp_path, cli, untrained_model, digits_dir):
    argv = ["best", "--candidates", str(untrained_model), "--dataset", "digits"]
    argv += ["--data-dir", str(digits_dir), "--versions-dir", str(tmp_path / "v")]
    argv += ["--result-file", str(tmp_path / "r"), "--members-file", str(tmp_path / "m")]
    code, _, err = cli(select.main, argv)
    assert code != 0 and err.strip() == (
        "error: --members-dir: needed with --members-file; give where members go"
    )


# -- the combiner ---------------------------------------------------------------------------------


def test_average_is_the_mean_of_each_instances_probabilities():
    answers = {
        "top-1": {"predictions": [[0.2, 0.8], [1.0, 0.0]]},
        "top-2": {"predictions": [{"probabilities": [0.6, 0.4]}, [0.0, 1.0]]},
    }
    assert combine.average(answers) == {
        "predictions": [[pytest.approx(0.4), pytest.approx(0.6)], [0.5, 0.5]]
    }


@pytest.fixture(scope="module")
def combiner(tmp_path_factory):
    (port,) = free_ports(1, "127.0.0.1")
    log = tmp_path_factory.mktemp("combiner") / "log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mlflows.ml.combine", "--model-name", "digits-combiner"],
            env={**os.environ, "PORT": str(port)},  # the port as Knative gives it
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{url}/v1/models/digits-combiner", timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield url
    finally:
        proc.kill()
        proc.wait(timeout=30)


def post(url: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def test_the_combiner_answers_the_ensembles_mean_as_one_model_would(combiner):
    body = {"a": {"predictions": [[0.1, 0.9]]}, "b": {"predictions": [[0.3, 0.7]]}}
    status, answer = post(
        f"{combiner}/v1/models/digits-combiner:predict", json.dumps(body).encode()
    )
    assert status == 200
    assert answer["predictions"][0] == [pytest.approx(0.2), pytest.approx(0.8)]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"nope", "body: not valid JSON"),
        (b"{}", "body: expected the members' responses"),
        (b'{"a": {"error": "x"}}', 'a: expected a V1 response {"predictions"'),
        (b'{"a": {"predictions": [["x"]]}}', "a.predictions[0]: expected a list of class"),
        (
            b'{"a": {"predictions": [[1, 0]]}, "b": {"predictions": [[1, 0], [0, 1]]}}',
            "b: 2 rows of 2 classes, but a has 1 of 2",
        ),
    ],
)
def test_what_cannot_be_combined_is_a_400_saying_why(combiner, body, says):
    status, answer = post(f"{combiner}/v1/models/digits-combiner:predict", body)
    assert status == 400
    assert answer["error"].startswith(says)


def test_the_combiner_is_ready_under_its_own_name_only(combiner):
    with urllib.request.urlopen(f"{combiner}/v1/models/digits-combiner", timeout=5) as answer:
        assert json.load(answer) == {"name": "digits-combiner", "ready": True}
    status, _ = post(f"{combiner}/v1/models/other:predict", b"{}")
    assert status == 404


def test_a_port_that_is_not_a_number_is_one_error_line(cli, monkeypatch):
    monkeypatch.setenv("PORT", "http")
    code, _, err = cli(combine.main, ["--model-name", "m"])
    assert code != 0 and err.strip() == "error: PORT: 'http' is not a port number; give 0..65535"
