"""Scheduling knobs: a model spec's priority class in its TFJob, and a semaphore capping the
TFJobs that run at once (its size in a ConfigMap setup-manifests makes)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml
from repo_workflows import REPO
from test_structure import dag_tasks, templates, tfjobs

from mlflows.cluster import setup_manifests
from mlflows.errors import UserError
from mlflows.rendering import render
from mlflows.schema import validate_workflow
from mlflows.specs import ModelSpec

URGENT = [
    ModelSpec(name="urgent", architecture="cnn", priority_class="training-high"),
    ModelSpec(name="later", architecture="dropout"),
]


def test_a_spec_priority_class_reaches_its_tfjob_and_its_workers(e2e):
    jobs = tfjobs(render(e2e.build_workflow(URGENT, loop=False)))  # one template per spec
    urgent, later = (jobs[f"train-{name}"][1]["spec"] for name in ("urgent", "later"))
    assert urgent["runPolicy"]["schedulingPolicy"] == {"priorityClass": "training-high"}
    pod = urgent["tfReplicaSpecs"]["Worker"]["template"]["spec"]
    assert pod["priorityClassName"] == "training-high"
    assert "schedulingPolicy" not in later["runPolicy"]
    assert "priorityClassName" not in later["tfReplicaSpecs"]["Worker"]["template"]["spec"]


def test_in_a_loop_the_priority_class_is_an_item_value(e2e):
    manifest = render(e2e.build_workflow(URGENT, loop=True))
    assert [item["priority-class"] for item in dag_tasks(manifest)["branches"]["withItems"]] == [
        "training-high",
        "",  # the cluster's default
    ]
    text = templates(manifest)["train"]["resource"]["manifest"]
    job = yaml.safe_load(text.replace("{{inputs.parameters.workers}}", "2"))
    policy = job["spec"]["runPolicy"]["schedulingPolicy"]
    assert policy == {"priorityClass": "{{inputs.parameters.priority-class}}"}
    # Without any priority class, the loop's templates are as they were: no such input.
    plain = render(e2e.build_workflow(loop=True))
    assert "priority-class" not in str(plain)


def test_a_priority_class_is_a_kubernetes_name():
    with pytest.raises(UserError, match="priority_class"):
        ModelSpec(name="x", architecture="cnn", priority_class="High Priority")


def test_priority_does_not_make_a_second_model(e2e):
    twins = [URGENT[0], ModelSpec(name="copy", architecture="cnn")]
    with pytest.raises(UserError, match="trains the same model"):
        e2e.build_workflow(twins)


def test_every_train_template_holds_the_training_semaphore(e2e):
    for loop in (False, True):
        manifest = render(e2e.build_workflow(loop=loop, max_concurrent_training=2))
        trains = [name for name in templates(manifest) if name.startswith("train")]
        assert trains
        for name in trains:
            assert templates(manifest)[name]["synchronization"] == {
                "semaphores": [
                    {"configMapKeyRef": {"name": "mlflows-semaphores", "key": "training"}}
                ]
            }
    assert "semaphores" not in str(render(e2e.build_workflow()))


def test_setup_manifests_size_the_semaphore():
    [config_map] = [
        manifest
        for manifest in setup_manifests("team-a", max_concurrent_training=3)
        if manifest["kind"] == "ConfigMap"
    ]
    assert config_map["metadata"] == {"name": "mlflows-semaphores", "namespace": "team-a"}
    assert config_map["data"] == {"training": "3"}
    assert not [m for m in setup_manifests("team-a") if m["kind"] == "ConfigMap"]


@pytest.mark.parametrize(
    "argv",
    [
        ["flows/e2e.py", "--max-concurrent-training", "0"],
        ["-m", "mlflows", "setup-manifests", "--max-concurrent-training", "0"],
    ],
)
def test_a_limit_below_one_is_one_line(argv):
    result = subprocess.run([sys.executable, *argv], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("error: --max-concurrent-training: 0 ")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("argo_version", ["4.1", "3.7"])
@pytest.mark.parametrize("loop", [False, True], ids=["static", "loop"])
def test_knobs_are_valid(e2e, schema_dir, argo_version, loop):
    workflow = e2e.build_workflow(URGENT, loop=loop, max_concurrent_training=2)
    assert validate_workflow(render(workflow, argo_version), argo_version, schema_dir) == []
