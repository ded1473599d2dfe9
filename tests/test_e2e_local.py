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
    _, report = first_run
    nodes = nodes_by_name(report)
    accuracies = {
        name: float(output(node, "accuracy"))
        for name, node in nodes.items()
        if name.startswith("evaluate-")
    }
    selected = json.loads(output(nodes["select"], "result"))
    best_branch = max(accuracies, key=accuracies.get).removeprefix("evaluate-")
    assert selected["best"]["model_dir"].endswith(f"/models/{best_branch}")
    assert float(output(nodes["select"], "accuracy")) == pytest.approx(
        max(accuracies.values()), abs=1e-4
    )


# Runs the trainer only once a model version has been published for serving (or after 180 s).
WAIT_FOR_SERVING_THEN_TRAIN = """
import pathlib, runpy, sys, time
versions, deadline = pathlib.Path(sys.argv[1]), time.time() + 180
while time.time() < deadline and not any(versions.glob("*/saved_model.pb")):
    time.sleep(0.5)
served = any(versions.glob("*/saved_model.pb"))
print("serving had begun" if served else "gave up waiting", flush=True)
sys.argv = ["train", *sys.argv[2:]]
runpy.run_module("mlflows.ml.train", run_name="__main__")
"""


def worker_container(template: dict) -> tuple[dict, dict]:
    job = yaml.safe_load(template["resource"]["manifest"])
    return job, job["spec"]["tfReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]


def test_rerun_hits_the_memo_serves_early_and_survives_a_failed_branch(first_run, dirs, e2e):
    """A second run within maxAge skips ingestion (memo hit). Of its three branches, `dropout`
    fails (its trainer gets an invalid --epochs) and `batch-norm` trains only once a model is being
    served: the asynchronous fan-in serves `cnn` while `batch-norm` still waits, and the pipeline
    succeeds without `dropout`."""
    models = [
        ModelSpec(name=name, architecture=architecture, epochs=1, steps_per_epoch=5, workers=1)
        for name, architecture in (
            ("cnn", "cnn"),
            ("dropout", "dropout"),
            ("batch-norm", "batch_norm"),
        )
    ]
    manifest = render(e2e.build_workflow(models, dataset="digits"))
    templates = {template["name"]: template for template in manifest["spec"]["templates"]}
    job, failing = worker_container(templates["train-dropout"])
    failing["args"][failing["args"].index("--epochs") + 1] = "0"
    templates["train-dropout"]["resource"]["manifest"] = yaml.safe_dump(job)
    job, waiting = worker_container(templates["train-batch-norm"])
    waiting["command"] = [
        sys.executable,
        "-c",
        WAIT_FOR_SERVING_THEN_TRAIN,
        "/mnt/data/runs/{{workflow.name}}/serving",
    ]
    templates["train-batch-norm"]["resource"]["manifest"] = yaml.safe_dump(job)

    result = local.run(manifest, work_dir=dirs["work"], cache_dir=dirs["cache"])

    nodes = {node.display_name: node for node in result.nodes}
    assert nodes["ingest"].memoization["hit"] is True
    assert (
        "serving had begun"
        in (dirs["work"] / "runs" / result.name / "logs")
        .joinpath(f"{result.name}.train-batch-norm.0.worker-0.log")
        .read_text()
    )
    first_served = min(
        node.finished_at
        for node in result.nodes
        if node.template_name == "serve" and node.phase == "Succeeded"
    )
    assert first_served < nodes["train-batch-norm"].finished_at
    assert nodes["train-dropout"].phase == "Failed"
    assert nodes["promote-dropout"].phase == "Omitted"
    assert nodes["select"].phase == "Succeeded"
    assert result.phase == "Succeeded"
