"""The e2e flow run on this machine with the local runner: real TensorFlow on `digits`, TFJobs as
worker processes, a real model server. Small step counts keep it within the suite's budget; the
failed branch, the memo hit and the asynchronous fan-in are tests/test_e2e_mocked.py's, with the
training mocked. It runs the default fan-out, the loop."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from repo_workflows import REPO

pytestmark = pytest.mark.slow

QUICK = ["--dataset", "digits", "--steps-per-epoch", "5", "--epochs", "1"]


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    return {"work": root / "work", "cache": root / "cache", "report": root / "report.json"}


def nodes_by_name(report: dict) -> dict[str, dict]:
    return {node["displayName"]: node for node in report["nodes"].values()}


def output(node: dict, name: str) -> str:
    return next(p["value"] for p in node["outputs"]["parameters"] if p["name"] == name)


@pytest.fixture(scope="module")
def first_run(dirs):
    result = subprocess.run(
        [
            sys.executable,
            "flows/e2e.py",
            "--local",
            *QUICK,
            "--work-dir",
            str(dirs["work"]),
            "--cache-dir",
            str(dirs["cache"]),
            "--report-json",
            str(dirs["report"]),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return result, json.loads(dirs["report"].read_text())


def test_pipeline_succeeds_and_predicts_through_the_server(first_run):
    result, report = first_run
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert report["phase"] == "Succeeded"
    nodes = nodes_by_name(report)
    assert nodes["predict"]["outputs"]["result"].startswith("predicted class")
    # The flow ends by telling the user what is served and what it predicted.
    assert "predicted class" in result.stdout
    assert f"accuracy {float(output(nodes['select'], 'accuracy')):.4f}" in result.stdout


def test_select_keeps_the_most_accurate_model(first_run):
    """The default fan-out is the loop: every item's ``evaluate`` node has the same name, and
    the model it evaluated is its input."""
    _, report = first_run
    evaluated = {
        next(p["value"] for p in node["inputs"]["parameters"] if p["name"] == "model-dir"): float(
            output(node, "accuracy")
        )
        for node in report["nodes"].values()
        if node["displayName"] == "evaluate" and node["phase"] == "Succeeded"
    }
    assert len(evaluated) == 3  # one model per spec, each in its own folder
    select = nodes_by_name(report)["select"]
    selected = json.loads(output(select, "result"))
    assert selected["best"]["model_dir"] == max(evaluated, key=evaluated.get)
    assert float(output(select, "accuracy")) == pytest.approx(max(evaluated.values()), abs=1e-4)
