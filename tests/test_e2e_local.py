"""The e2e flow run on this machine with the local runner: real TensorFlow on `digits`, TFJobs as
worker processes, a real model server. Small step counts keep it within the suite's budget; the
failed branch, the memo hit and the asynchronous fan-in are tests/test_e2e_mocked.py's, with the
training mocked. It runs the default fan-out, the loop."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime

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
    # named by the spec that trained it, not by the folder its content key names
    served = result.stdout.splitlines()[-1]
    assert served.split()[1] in {"cnn", "dropout", "batch-norm"}, served


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
    selected = json.loads(output(select, "result"))["best"]["model_dir"]
    # Short training can tie two models: the best is any of the most accurate, and the accuracy
    # select reports is the one measured for the model it chose.
    assert evaluated[selected] == pytest.approx(max(evaluated.values()), abs=1e-4)
    assert float(output(select, "accuracy")) == pytest.approx(evaluated[selected], abs=1e-4)


# Six configs of two workers each; the last one's step (1,024 x 2 workers) is more than the
# digits train split (1,438), which only the trainer can know: it refuses it at run time.
SWEEP = ["--models", "cnn", "--workers", "2", "--sweep", "batch_size=8,16,24,32,48,1024"]
FAILING = "batch-size-per-replica:1024"


@pytest.fixture(scope="module")
def sweep_run(tmp_path_factory):
    """The 6-config sweep, one TFJob at a time (the training semaphore), so that an item's
    evaluate, promote and model server do not wait for CPU behind every other item's training."""
    root = tmp_path_factory.mktemp("sweep")
    report = root / "report.json"
    result = subprocess.run(
        [sys.executable, "flows/e2e.py", "--local", *QUICK, *SWEEP,
         "--max-concurrent-training", "1", "--work-dir", str(root / "work"),
         "--cache-dir", str(root / "cache"), "--report-json", str(report)],
        cwd=REPO, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads(report.read_text())


def items(report: dict) -> dict[str, dict[str, dict]]:
    """Each loop item's nodes by display name (train, evaluate, promote, its serve...), by the
    item's: the nodes whose template boundaries lead up to it (its children also name the next
    task of the pipeline, select, which is not the item's)."""
    nodes = report["nodes"]

    def inside(node: dict, item: dict) -> bool:
        while node.get("boundaryID") and node["boundaryID"] != item["id"]:
            node = nodes[node["boundaryID"]]
        return node.get("boundaryID") == item["id"]

    return {
        item["displayName"]: {n["displayName"]: n for n in nodes.values() if inside(n, item)}
        for item in nodes.values()
        if item["displayName"].startswith("branches(")
    }


def finished(node: dict) -> datetime:
    return datetime.fromisoformat(node["finishedAt"].replace("Z", "+00:00"))


def test_a_six_config_sweep_tolerates_its_failed_item_and_selects_the_best(sweep_run):
    assert sweep_run["phase"] == "Succeeded"
    by_item = items(sweep_run)
    assert len(by_item) == 6
    [failed] = [name for name in by_item if FAILING in name]
    assert by_item[failed]["train"]["phase"] == "Failed"
    assert by_item[failed]["evaluate"]["phase"] == by_item[failed]["promote"]["phase"] == "Omitted"
    succeeded = {name: nodes for name, nodes in by_item.items() if name != failed}
    evaluated = {}
    for nodes in succeeded.values():
        assert nodes["promote"]["phase"] == "Succeeded"  # each promote ran: served if better
        evaluated[output(nodes["train"], "model-dir")] = float(
            output(nodes["evaluate"], "accuracy")
        )
    select = nodes_by_name(sweep_run)["select"]
    selected = json.loads(output(select, "result"))
    # select took the accuracies the items measured, and only the items that succeeded
    assert {c["model_dir"]: c["accuracy"] for c in selected["candidates"]} == evaluated
    assert selected["best"]["model_dir"] == max(evaluated, key=evaluated.get)
    assert nodes_by_name(sweep_run)["predict"]["outputs"]["result"].startswith("predicted class")


def test_a_model_is_served_before_the_last_item_has_trained(sweep_run):
    """One TFJob at a time: after the first item has trained, four more train one after the
    other, each two workers starting TensorFlow and training; meanwhile the first item is
    evaluated, promoted and served (the serve inside its promote waits until it is Ready)."""
    by_item = items(sweep_run)
    trained = [
        finished(nodes["train"])
        for nodes in by_item.values()
        if nodes["train"]["phase"] == "Succeeded"
    ]
    served = [
        finished(node)
        for nodes in by_item.values()
        for name, node in nodes.items()
        if name == "serve" and node["phase"] == "Succeeded"
    ]
    assert served and min(served) < max(trained), (min(served), sorted(trained))
