"""Memoized training and evaluation, content-addressed: real local runs on digits sharing one
volume and one memo cache, as workflows of one namespace share a claim and a ConfigMap."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from mlflows import local
from mlflows.rendering import render
from mlflows.specs import ModelSpec

pytestmark = pytest.mark.slow

SPECS = [
    ModelSpec(name="a", architecture="cnn", epochs=1, steps_per_epoch=3, workers=1),
    ModelSpec(
        name="b", architecture="cnn", epochs=1, steps_per_epoch=3, workers=1, learning_rate=3e-3
    ),
]


@pytest.fixture(scope="module")
def runs(e2e, tmp_path_factory):
    """Three runs: cold, unchanged, then with b's learning rate changed; each run's memo status
    of its train and evaluate nodes, by the model's name, and its select's candidates."""
    root = tmp_path_factory.mktemp("memo")
    changed = [SPECS[0], replace(SPECS[1], learning_rate=2e-3)]
    results = []
    for index, specs in enumerate([SPECS, SPECS, changed]):
        report = root / f"report-{index}.json"
        result = local.run(
            render(e2e.build_workflow(specs, dataset="digits", loop=True)),
            work_dir=root / "work",
            cache_dir=root / "cache",
            report_json=report,
            quiet=True,
        )
        assert result.succeeded, index
        results.append((json.loads(report.read_text()), result))
    return results


def memo(status: dict, template: str) -> dict[str, bool]:
    """Each ``template`` node's memo hit, by the model its branch trained (from the item)."""
    nodes = status["nodes"]
    hits = {}
    for node in nodes.values():
        if node.get("templateName") == template and node["displayName"] == template:
            parent = next(n for n in nodes.values() if node["id"] in n.get("children", []))
            while not parent["displayName"].startswith("branches("):
                parent = next(n for n in nodes.values() if parent["id"] in n.get("children", []))
            model = parent["displayName"].split("model:")[1].split(",")[0]
            hits[model] = node["memoizationStatus"]["hit"]
    return hits


def measured(status: dict) -> dict[str, float]:
    """Each evaluate node's accuracy, by the model folder it was given."""
    found = {}
    for node in status["nodes"].values():
        if node.get("templateName") == "evaluate" and node["phase"] == "Succeeded":
            [folder] = [
                p["value"] for p in node["inputs"]["parameters"] if p["name"] == "model-dir"
            ]
            [accuracy] = [
                p["value"] for p in node["outputs"]["parameters"] if p["name"] == "accuracy"
            ]
            found[folder] = float(accuracy)
    return found


def test_a_cold_run_trains_and_evaluates_every_spec(runs):
    status, _ = runs[0]
    assert memo(status, "train") == {"a": False, "b": False}
    assert memo(status, "evaluate") == {"a": False, "b": False}


def test_an_unchanged_rerun_trains_and_evaluates_nothing(runs):
    status, result = runs[1]
    assert memo(status, "train") == {"a": True, "b": True}
    assert memo(status, "evaluate") == {"a": True, "b": True}
    # The models it found are the first run's, under their keys, with the accuracies their
    # (memoized) evaluate nodes gave: select takes those, it evaluates nothing again.
    first = json.loads(runs[0][1].node("select").outputs.parameters["result"])
    again = json.loads(result.node("select").outputs.parameters["result"])
    assert again["candidates"] == first["candidates"]
    assert {c["model_dir"]: c["accuracy"] for c in again["candidates"]} == measured(status)
    assert "/runs/" not in again["candidates"][0]["model_dir"]  # not the workflow's folder


def test_a_changed_spec_retrains_only_its_branch(runs):
    status, _ = runs[2]
    assert memo(status, "train") == {"a": True, "b": False}
    assert memo(status, "evaluate") == {"a": True, "b": False}
