"""Properties of the rendered e2e workflow that the pipeline's meaning depends on: of its default
(the loop) and, where they name one task per spec, of ``--fan-out static`` (test_loop.py holds the
loop's own)."""

from __future__ import annotations

import re

import pytest
import yaml
from hera.workflows import Container, Parameter

from mlflows.local.controller.scope import inputs_scope
from mlflows.local.lang.templating import substitute
from mlflows.local.spec.ancestry import ancestors as task_ancestors
from mlflows.local.spec.ancestry import task_dependencies
from mlflows.memoize import MemoCache, memoized
from mlflows.patterns import FINISHED_PHASES
from mlflows.rendering import render
from mlflows.specs import ModelSpec


def templates(manifest: dict) -> dict[str, dict]:
    return {template["name"]: template for template in manifest["spec"]["templates"]}


def dag_tasks(manifest: dict) -> dict[str, dict]:
    entry = templates(manifest)[manifest["spec"]["entrypoint"]]
    return {task["name"]: task for task in entry["dag"]["tasks"]}


def depends_on(task: dict) -> set[str]:
    """The task names a ``depends`` expression mentions."""
    return set(task_dependencies(task))


def ancestors(tasks: dict[str, dict], name: str) -> set[str]:
    dependencies = {key: task_dependencies(task) for key, task in tasks.items()}
    return set(task_ancestors(name, dependencies))


def tfjobs(manifest: dict) -> dict[str, tuple[dict, dict]]:
    """Template name -> (resource section, embedded TFJob) for every TFJob step."""
    found = {}
    for name, template in templates(manifest).items():
        resource = template.get("resource")
        if resource and yaml.safe_load(resource["manifest"])["kind"] == "TFJob":
            found[name] = (resource, yaml.safe_load(resource["manifest"]))
    return found


@pytest.fixture(scope="module")
def manifest(e2e) -> dict:
    return render(e2e.build_workflow())


@pytest.fixture(scope="module")
def static(e2e) -> dict:
    return render(e2e.build_workflow(loop=False))


def test_success_condition_counts_every_replica(e2e):
    specs = [
        ModelSpec(name="one", architecture="cnn", workers=1),
        ModelSpec(name="three", architecture="dropout", workers=3),
    ]
    jobs = tfjobs(render(e2e.build_workflow(specs, loop=False)))
    assert set(jobs) == {"train-one", "train-three"}
    for resource, job in jobs.values():
        replicas = job["spec"]["tfReplicaSpecs"]["Worker"]["replicas"]
        assert (
            resource["successCondition"] == f"status.replicaStatuses.Worker.succeeded = {replicas}"
        )
        assert resource["failureCondition"] == "status.replicaStatuses.Worker.failed > 0"
        # ...which only holds if the operator waits for every worker before cleaning up.
        assert job["spec"]["successPolicy"] == "AllWorkers"
    assert [job["spec"]["tfReplicaSpecs"]["Worker"]["replicas"] for _, job in jobs.values()] == [
        1,
        3,
    ]


def test_each_branch_trains_a_different_model(static):
    jobs = tfjobs(static)
    assert len(jobs) == 3
    trained = {
        tuple(job["spec"]["tfReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]["args"])
        for _, job in jobs.values()
    }
    assert len(trained) == 3
    model_types = sorted(args[args.index("--model-type") + 1] for args in trained)
    assert model_types == ["batch_norm", "cnn", "dropout"]


def test_branches_default_to_two_workers_under_one_owner(static):
    for resource, job in tfjobs(static).values():
        assert job["spec"]["tfReplicaSpecs"]["Worker"]["replicas"] >= 2
        assert resource["setOwnerReference"] is True
        assert resource["action"] == "create"


def test_first_serving_depends_on_exactly_one_training_branch(static):
    tasks = dag_tasks(static)
    promotes = [name for name in tasks if name.startswith("promote-")]
    assert len(promotes) == 3
    for promote in promotes:
        trained = {name for name in ancestors(tasks, promote) if name.startswith("train-")}
        assert trained == {promote.replace("promote-", "train-")}
    # The promote template serves from inside (its `serve` step), guarded by `when`.
    promote_steps = [step for group in templates(static)["promote"]["steps"] for step in group]
    serve = next(step for step in promote_steps if step["name"] == "serve")
    assert serve["template"] == "serve" and ">" in serve["when"]


def test_promotion_is_serialized_by_a_mutex(manifest):
    promote = templates(manifest)["promote"]
    assert promote["synchronization"]["mutexes"][0]["name"]


def test_the_final_step_is_the_only_leaf(manifest):
    """Argo's DAG phase comes from its leaves; an Omitted leaf under a failed branch would fail
    the run, so only the final step may be a leaf."""
    tasks = dag_tasks(manifest)
    parents = set().union(*(depends_on(task) for task in tasks.values()))
    assert set(tasks) - parents == {"predict"}


@pytest.mark.parametrize("asynchronous, joined", [(True, "promote-"), (False, "evaluate-")])
def test_select_runs_whatever_each_branch_did(e2e, asynchronous, joined):
    tasks = dag_tasks(render(e2e.build_workflow(asynchronous=asynchronous, loop=False)))
    depends = tasks["select"]["depends"]
    branches = sorted(name for name in tasks if name.startswith(joined))
    assert depends_on(tasks["select"]) == set(branches)
    for branch in branches:
        for phase in FINISHED_PHASES:
            assert f"{branch}.{phase}" in depends


def test_memo_key_is_built_from_the_dataset(e2e):
    """Resolving the ingest step's key (with the local runner's substitution, as Argo would) for two
    datasets gives two keys, each valid for Argo's ConfigMap cache."""
    keys = set()
    for dataset in ("fashion_mnist", "mnist"):
        manifest = render(e2e.build_workflow(dataset=dataset))
        workflow_scope = {
            f"workflow.parameters.{p['name']}": p["value"]
            for p in manifest["spec"]["arguments"]["parameters"]
        }
        arguments = dag_tasks(manifest)["ingest"]["arguments"]["parameters"]
        inputs = {p["name"]: substitute(p["value"], workflow_scope) for p in arguments}
        key = substitute(templates(manifest)["ingest"]["memoize"]["key"], inputs_scope(inputs))
        assert re.fullmatch(r"[a-zA-Z0-9][-a-zA-Z0-9]*", key), key  # Argo's cacheKeyRegex
        assert dataset.replace("_", "-") in key
        keys.add(key)
    assert len(keys) == 2


def test_argo_37_needs_the_cache_key_and_41_rejects_it(e2e):
    workflow = e2e.build_workflow()
    v41 = templates(render(workflow, "4.1"))["ingest"]["memoize"]
    v37 = templates(render(workflow, "3.7"))["ingest"]["memoize"]
    assert "key" not in v41["cache"]["configMap"]
    assert v37["cache"]["configMap"]["key"] == v37["key"]


def test_every_step_runs_under_a_named_service_account(manifest):
    for name, template in templates(manifest).items():
        if "container" in template or "resource" in template:
            assert template.get("serviceAccountName"), name


def test_one_workloads_builds_several_complete_workflows():
    """Templates are looked up in the workflow being built, so a second workflow from the same
    Workloads gets every template too (the ones only the promote steps call included)."""
    from hera.workflows import DAG, Workflow

    from mlflows import Workloads, fan_in, follow_each

    workloads = Workloads()
    models = [ModelSpec(name="cnn", architecture="cnn")]
    rendered = []
    for _ in range(2):
        with Workflow(generate_name="twice-", entrypoint="main") as workflow:
            with DAG(name="main"):
                evaluated = [
                    workloads.ingest()
                    >> workloads.train(models[0])
                    >> workloads.evaluate(models[0])
                ]
                best = fan_in(
                    follow_each(evaluated, workloads.promote), join=workloads.select(models)
                )
                served = best >> workloads.serve()
                served >> workloads.predict(served)
        rendered.append(render(workflow))
    assert rendered[0] == rendered[1]
    names = [template["name"] for template in rendered[1]["spec"]["templates"]]
    assert len(names) == len(set(names))
    assert {"champion", "publish", "promote", "serve"} <= set(names)


@pytest.mark.parametrize("argo_version", ["4.1", "3.7"])
def test_a_retried_entry_point_is_never_retried_after_a_usage_error(e2e, argo_version, tmp_path):
    """Argo ANDs ``retryStrategy.expression`` with the policy; the expression must name the exit
    code an entry point really gives a usage error, and not the one of a passing outage."""
    from mlflows.cli import run_cli
    from mlflows.errors import Unavailable
    from mlflows.ml import ingest

    retried = {
        name: template["retryStrategy"]
        for name, template in templates(render(e2e.build_workflow(), argo_version)).items()
        if "retryStrategy" in template
        and template.get("container", {}).get("command", [])[:2] == ["python", "-m"]
    }
    assert set(retried) == {"ingest"}
    for strategy in retried.values():
        [code] = re.fullmatch(
            r"asInt\(lastRetry\.exitCode\) != (\d+)", strategy["expression"]
        ).groups()
        assert strategy["retryPolicy"] == "Always"  # a failed download is retried...
        usage = run_cli(lambda: ingest.main(["--dataset", "cifar10", "--data-dir", str(tmp_path)]))
        assert usage == int(code)  # ...a usage error is not
        assert Unavailable.exit_code != int(code)


def test_a_memo_key_changes_with_the_outputs_a_template_declares():
    """An entry cached before a template gained an output must be a miss, not a hit that
    cannot resolve the new output."""

    def key(outputs: list[str]) -> str:
        template = Container(
            name="ingest",
            image="x",
            command=["true"],
            inputs=[Parameter(name="dataset")],
            outputs=[Parameter(name=name, value_from={"path": f"/tmp/{name}"}) for name in outputs],
        )
        return memoized(template, key_parameters=["dataset"], cache=MemoCache()).memoize.key

    assert key(["record"]) == key(["record"])
    assert key(["record"]) != key(["record", "checksum"])
