"""The e2e pipeline's branches as one loop (``--fan-out loop``): one ``branch`` DAG template,
train → evaluate → promote, invoked with ``withItems`` over the model specs."""

from __future__ import annotations

import json

import pytest
import yaml
from test_structure import ancestors, dag_tasks, depends_on, templates

from mlflows import local
from mlflows.patterns import FINISHED_PHASES
from mlflows.rendering import render, to_yaml
from mlflows.specs import ModelSpec


def specs(count: int) -> list[ModelSpec]:
    return [
        ModelSpec(name=f"m{index}", architecture="cnn", learning_rate=1e-4 * (index + 1))
        for index in range(count)
    ]


def items(manifest: dict) -> list[dict]:
    return dag_tasks(manifest)["branches"]["withItems"]


def test_the_templates_do_not_grow_with_the_number_of_specs(e2e):
    few, many = (render(e2e.build_workflow(specs(n), loop=True)) for n in (3, 30))
    assert len(items(few)) == 3 and len(items(many)) == 30
    for manifest in (few, many):
        dag_tasks(manifest)["branches"]["withItems"] = []
    assert to_yaml(few) == to_yaml(many)  # same templates and tasks; only the item list differs


def test_each_item_is_one_spec_whole(e2e):
    spec = ModelSpec(name="wide", architecture="dropout", learning_rate=3e-3, workers=4)
    [item] = items(render(e2e.build_workflow([spec], loop=True)))
    assert item == {
        "model": "wide",
        "model-type": "dropout",
        "epochs": "3",
        "steps-per-epoch": "100",
        "batch-size-per-replica": "64",
        "learning-rate": "0.003",
        "workers": "4",
    }


def test_the_worker_count_is_written_once_and_substituted(e2e):
    """Replicas and the success condition are the one input ``workers``, unquoted in the TFJob."""
    resource = templates(render(e2e.build_workflow(loop=True)))["train"]["resource"]
    substituted = yaml.safe_load(resource["manifest"].replace("{{inputs.parameters.workers}}", "5"))
    assert substituted["spec"]["tfReplicaSpecs"]["Worker"]["replicas"] == 5
    assert resource["successCondition"].endswith("= {{inputs.parameters.workers}}")


@pytest.mark.parametrize("asynchronous, leaf", [(True, "promote"), (False, "evaluate")])
def test_leaves_and_fan_in(e2e, asynchronous, leaf):
    manifest = render(e2e.build_workflow(loop=True, asynchronous=asynchronous))
    tasks = dag_tasks(manifest)
    parents = set().union(*(depends_on(task) for task in tasks.values()))
    assert set(tasks) - parents == {"predict"}  # a failed item cannot fail the workflow
    assert depends_on(tasks["select"]) == {"branches"}
    for phase in FINISHED_PHASES:
        assert f"branches.{phase}" in tasks["select"]["depends"]
    branch = {task["name"]: task for task in templates(manifest)["branch"]["dag"]["tasks"]}
    branch_parents = set().union(*(depends_on(task) for task in branch.values()))
    assert set(branch) - branch_parents == {leaf}
    assert ancestors(branch, leaf) >= {"train"}
    if asynchronous:  # each item promotes as soon as it is evaluated, under the mutex
        assert branch["promote"]["depends"] == "evaluate.Succeeded"
        assert templates(manifest)["promote"]["synchronization"]["mutexes"]


@pytest.mark.slow
def test_a_failed_item_leaves_the_others_served(e2e, tmp_path):
    """Real training on digits (one worker, a few steps); the second item's model type is
    broken after rendering, so its training fails as a bad image would, whatever the checks."""
    quick = [
        ModelSpec(name=name, architecture=kind, epochs=1, steps_per_epoch=3, workers=1)
        for name, kind in (("good", "cnn"), ("broken", "dropout"))
    ]
    manifest = render(e2e.build_workflow(quick, dataset="digits", loop=True))
    items(manifest)[1]["model-type"] = "no-such-architecture"
    report = tmp_path / "report.json"
    result = local.run(
        manifest,
        work_dir=tmp_path / "work",
        cache_dir=tmp_path / "cache",
        report_json=report,
        quiet=True,
    )
    nodes = list(json.loads(report.read_text())["nodes"].values())
    phases = {
        name: sorted(node["phase"] for node in nodes if node["displayName"] == name)
        for name in ("train", "evaluate", "promote")
    }
    assert result.succeeded, phases
    assert phases["train"] == ["Failed", "Succeeded"]
    assert "Succeeded" in phases["promote"] and len(phases["promote"]) <= 2
    [trained] = [
        parameter["value"]
        for node in nodes
        if node["displayName"] == "train" and node["phase"] == "Succeeded"
        for parameter in node["outputs"]["parameters"]
        if parameter["name"] == "model-dir"
    ]
    selected = json.loads(result.node("select").outputs.parameters["result"])
    assert [c["model_dir"] for c in selected["candidates"]] == [trained]  # the loop's outputs
    assert result.node("predict").outputs.result.startswith("predicted class")
