"""``parallelism`` counts a TFJob's replicas: each is a pod of this machine."""

from __future__ import annotations

import pytest
import yaml
from localrun_helpers import by_display_name, dag, interval, sh, task, workflow
from resources_fixtures import CLAIM, MOUNT, WORKERS_SUCCEEDED, tfjob

from mlflows.cli import main
from mlflows.errors import UserError
from mlflows.local import run

WORKERS = "{{workflow.parameters.workers}}"


def training(workers: int | str, sleep: float = 0) -> dict:
    """A TFJob step; ``workers`` may be an expression, substituted as a bare YAML number."""
    manifest = tfjob(workers=2, sleep=sleep)
    manifest["spec"]["tfReplicaSpecs"]["Worker"]["replicas"] = workers
    text = yaml.safe_dump(manifest).replace(f"'{WORKERS}'", WORKERS)
    resource = {"action": "create", "manifest": text, "successCondition": WORKERS_SUCCEEDED}
    return {"name": "train", "resource": resource}


def test_a_tfjob_that_can_never_start_is_refused_before_the_run(tmp_path, capsys):
    path = tmp_path / "wf.yaml"
    path.write_text(yaml.safe_dump(workflow(training(3), entrypoint="train")))
    work = tmp_path / "w"
    assert main(["run", str(path), "--parallelism", "2", "--work-dir", str(work)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: template train: a TFJob of 3 replicas can never start: each replica is a pod "
        "here and parallelism lets 2 run at once; raise the parallelism or use fewer replicas"
    ]
    assert not work.exists()


def test_spec_parallelism_refuses_it_too(run_local):
    with pytest.raises(UserError, match="a TFJob of 3 replicas can never start"):
        run_local(workflow(training(3), entrypoint="train", parallelism=2))


def test_a_tfjob_of_a_referenced_workflow_template_is_refused_before_the_run_too(tmp_path):
    template = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "WorkflowTemplate",
        "metadata": {"name": "training"},
        "spec": {"entrypoint": "train", "templates": [training(3)]},
    }
    library = tmp_path / "library.yaml"
    library.write_text(yaml.safe_dump(template))
    wf = workflow(workflowTemplateRef={"name": "training"})
    del wf["spec"]["templates"], wf["spec"]["entrypoint"]
    work = tmp_path / "w"
    with pytest.raises(UserError, match="template train: a TFJob of 3 replicas can never start"):
        run(wf, parallelism=2, templates=[library], work_dir=work, quiet=True)
    assert not (work / "runs").exists()  # nothing was made for the run


def test_a_replica_count_known_only_at_run_time_errors_its_node(run_local):
    result = run_local(
        workflow(
            training(WORKERS),
            entrypoint="train",
            arguments={"parameters": [{"name": "workers", "value": "3"}]},
            parallelism=2,
        )
    )
    assert result.phase == "Error"
    assert result.message.startswith("a TFJob of 3 replicas can never start")


def test_a_tfjob_takes_a_slot_per_replica(run_local, tmp_path):
    """With parallelism 2, two replicas fill the run: the other pod runs before or after them."""
    other = sh("other", "date +%s.%N > /mnt/data/other-started; sleep 0.3")
    other["container"]["volumeMounts"] = [{"name": "data", "mountPath": MOUNT}]
    result = run_local(
        workflow(
            dag("main", task("train", "train"), task("other", "other")),
            training(2, sleep=0.3),
            other,
            volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": CLAIM}}],
        ),
        parallelism=2,
    )
    assert result.phase == "Succeeded", result.message
    nodes = by_display_name(result)
    claim = tmp_path / "work" / "volumes" / CLAIM
    other_started = float((claim / "other-started").read_text())
    train_started = min(path.stat().st_mtime for path in claim.glob("replicas/*.json"))
    assert (
        other_started >= interval(nodes["train"])[1] or train_started >= interval(nodes["other"])[1]
    )
