"""The e2e flow run on this machine with the local runner: real TensorFlow on `digits`, TFJobs as
worker processes, a real model server. Small step counts keep it within the suite's budget."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml
from repo_workflows import REPO

from mlflows import local
from mlflows.rendering import render
from mlflows.specs import ModelSpec

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
            sys.executable, "flows/e2e.py", "--local", *QUICK,
            "--work-dir", str(dirs["work"]), "--cache-dir", str(dirs["cache"]),
            "--report-json", str(dirs["report"]),
        ],
        cwd=REPO, capture_output=True, text=True, timeout=600,
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


def test_first_model_is_served_before_the_last_branch_is_evaluated(first_run):
    _, report = first_run
    nodes = report["nodes"].values()
    served = sorted(n["finishedAt"] for n in nodes
                    if n.get("templateName") == "serve" and n["phase"] == "Succeeded")
    evaluated = sorted(n["finishedAt"] for n in nodes if n.get("templateName") == "evaluate")
    assert len(evaluated) == 3
    assert served and served[0] < evaluated[-1]


def test_select_keeps_the_most_accurate_model(first_run):
    _, report = first_run
    nodes = nodes_by_name(report)
    accuracies = {name: float(output(node, "accuracy")) for name, node in nodes.items()
                  if name.startswith("evaluate-")}
    selected = json.loads(output(nodes["select"], "result"))
    best_branch = max(accuracies, key=accuracies.get).removeprefix("evaluate-")
    assert selected["best"]["model_dir"].endswith(f"/models/{best_branch}")
    assert float(output(nodes["select"], "accuracy")) == pytest.approx(max(accuracies.values()), abs=1e-4)


def test_rerun_hits_the_memo_and_survives_a_failed_branch(first_run, dirs, e2e):
    """A second run within maxAge skips ingestion (memo hit). One of its training branches is made
    to fail (its trainer gets an invalid --epochs); the pipeline still succeeds on the other."""
    models = [ModelSpec(name="cnn", architecture="cnn", epochs=1, steps_per_epoch=5, workers=1),
              ModelSpec(name="dropout", architecture="dropout", epochs=1, steps_per_epoch=5, workers=1)]
    manifest = render(e2e.build_workflow(models, dataset="digits"))
    for template in manifest["spec"]["templates"]:
        if template["name"] == "train-dropout":
            job = yaml.safe_load(template["resource"]["manifest"])
            args = job["spec"]["tfReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]["args"]
            args[args.index("--epochs") + 1] = "0"
            template["resource"]["manifest"] = yaml.safe_dump(job)

    result = local.run(manifest, work_dir=dirs["work"], cache_dir=dirs["cache"])

    nodes = {node.display_name: node for node in result.nodes}
    assert nodes["ingest"].memoization["hit"] is True
    assert nodes["train-dropout"].phase == "Failed"
    assert nodes["promote-dropout"].phase == "Omitted"
    assert nodes["select"].phase == "Succeeded"
    assert result.phase == "Succeeded"
