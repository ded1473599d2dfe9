"""``flows/e2e.py --serve ensemble:K[:T]``: its rendering (goldens for both Argo versions, strict
schemas, the InferenceGraph held to the kserve SDK's models), its mistakes, and a local run on
digits: the training mocked, everything after it real (ingest, select, two model servers, the
combiner, KServe's router, the client and the ensemble's accuracy through the graph)."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from repo_workflows import REPO

from mlflows.cluster import setup_manifests
from mlflows.ensemble import EnsembleServing
from mlflows.load_testing import LoadTest
from mlflows.local.lang.templating import substitute
from mlflows.rendering import render, to_yaml
from mlflows.schema import load_manifest_text, validate_manifest, validate_workflow
from mlflows.specs import ModelSpec
from mlflows.testing import Mock

GOLDENS = {"e2e.ensemble.yaml": "4.1", "e2e.ensemble.argo-3.7.yaml": "3.7"}
BOOK = EnsembleServing(2, 0.9)  # the book's: the top two with at least 90 % accuracy


@pytest.mark.parametrize("golden", sorted(GOLDENS))
def test_ensemble_matches_golden(golden, e2e, goldens):
    rendered = render(e2e.build_workflow(serve=BOOK), GOLDENS[golden])
    goldens.check(REPO / "flows" / golden, to_yaml(rendered))


def test_the_script_prints_the_golden():
    printed = subprocess.run(
        [sys.executable, "flows/e2e.py", "--serve", "ensemble:2:0.9"],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert printed == (REPO / "flows" / "e2e.ensemble.yaml").read_text()


@pytest.mark.parametrize("argo_version", ["4.1", "3.7"])
def test_ensemble_is_valid(e2e, schema_dir, argo_version):
    manifest = render(e2e.build_workflow(serve=BOOK), argo_version)
    assert validate_workflow(manifest, argo_version, schema_dir) == []


def test_a_load_test_loads_the_graph(e2e, schema_dir):
    manifest = render(e2e.build_workflow(serve=BOOK, load=LoadTest(duration="10s")))
    tasks = {t["name"]: t for t in manifest["spec"]["templates"][0]["dag"]["tasks"]}
    assert tasks["load-test"]["depends"] == "serve-graph"
    [url] = tasks["load-test"]["arguments"]["parameters"]
    assert url["value"] == "{{tasks.serve-graph.outputs.parameters.url}}"
    assert validate_workflow(manifest, "4.1", schema_dir) == []


def test_the_resource_steps_account_may_apply_and_watch_what_they_create(e2e):
    roles = {
        m["metadata"]["name"]: m["rules"] for m in setup_manifests("mlflows") if m["kind"] == "Role"
    }
    created = set()
    for template in render(e2e.build_workflow(serve=BOOK))["spec"]["templates"]:
        if "resource" not in template:
            continue
        manifest = load_manifest_text(template["resource"]["manifest"])[0]
        kind, group = manifest["kind"], manifest["apiVersion"].rpartition("/")[0]
        created.add(kind)
        rules = roles[template["serviceAccountName"]]
        for verb in ("create", "get", "watch", "patch"):  # kubectl apply, then the conditions
            assert any(
                group in r["apiGroups"]
                and f"{kind.lower()}s" in r["resources"]
                and verb in r["verbs"]
                for r in rules
            ), (kind, verb)
    assert {"InferenceService", "InferenceGraph"} <= created


def test_every_entry_point_the_ensemble_calls_takes_its_arguments(e2e):
    """Each container's ``python -m`` command line, its inputs given values, parses."""
    values = {
        "inputs.parameters.candidates": '["/mnt/data/models/a"]',
        "inputs.parameters.url": "http://127.0.0.1:1",
        "workflow.parameters.dataset": "digits",
    }
    called = []
    for template in render(e2e.build_workflow(serve=BOOK))["spec"]["templates"]:
        if template["name"] not in ("select", "predict", "evaluate-ensemble"):
            continue  # the ensemble's own and what it changes; the rest is test_entry_points'
        container = template.get("container") or {}
        argv = substitute([*container.get("command", []), *container.get("args", [])], values)
        if argv[:2] != ["python", "-m"]:
            continue
        called.append(argv[2])
        module = importlib.import_module(argv[2])
        parse = getattr(module, "parse_args", None) or module.build_parser().parse_args
        parse(argv[3:])  # raises on a flag it does not take
    assert sorted(called) == [
        "mlflows.ml.client",
        "mlflows.ml.select",
        "mlflows.ml.served_accuracy",
    ]


def graph_as_applied(e2e, members: list[dict]) -> dict:
    """The serve-graph template's manifest once Argo substituted select's ``members``."""
    manifest = render(e2e.build_workflow(serve=BOOK))
    [template] = [t for t in manifest["spec"]["templates"] if t["name"] == "serve-graph"]
    scope = {"inputs.parameters.members": json.dumps(members)}
    return yaml.safe_load(substitute(template["resource"]["manifest"], scope))


def test_the_graph_is_what_kserve_reads_once_the_members_are_known(e2e, schema_dir):
    members = [{"name": "top-1", "accuracy": 0.97}, {"name": "top-2", "accuracy": 0.95}]
    graph = graph_as_applied(e2e, members)

    assert validate_manifest(graph, schema_dir) == []
    assert graph["spec"]["nodes"]["members"] == {
        "routerType": "Ensemble",
        "steps": [
            {"name": "top-1", "serviceName": "fashion-mnist-top-1", "dependency": "Hard"},
            {"name": "top-2", "serviceName": "fashion-mnist-top-2", "dependency": "Hard"},
        ],
    }
    root = graph["spec"]["nodes"]["root"]["steps"]
    assert root[1] == {
        "name": "combine",
        "serviceName": "fashion-mnist-combiner",
        "data": "$response",
        "dependency": "Hard",
    }


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (lambda g: g["spec"]["nodes"]["root"].update(router="Sequence"), "root.router: unknown"),
        (lambda g: g["spec"]["nodes"]["root"]["steps"][0].update(weight="1"), "is not of type"),
        (lambda g: g["spec"]["nodes"]["members"].pop("routerType"), "'routerType' is a required"),
        (lambda g: g["spec"].update(replicas=2), "spec.replicas: unknown field"),
    ],
)
def test_the_graph_check_is_strict(e2e, schema_dir, edit, says):
    graph = graph_as_applied(e2e, [{"name": "top-1"}])
    edit(graph)
    assert any(says in problem for problem in validate_manifest(graph, schema_dir))


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--serve", "ensemble:1"], "error: --serve ensemble:1: an ensemble has at least 2"),
        (["--serve", "ensemble"], "error: --serve 'ensemble': give single or ensemble:K"),
        (["--serve", "ensemble:two"], "error: --serve 'ensemble:two': give single or"),
        (["--serve", "ensemble:2:1.5"], "error: --serve ensemble:2:1.5: the threshold is an"),
        (["--serve", "ensemble:2:nan"], "error: --serve ensemble:2:nan: the threshold is an"),
        (["--serve", "top:2"], "error: --serve 'top:2': give single or ensemble:K[:THRESHOLD]"),
        (
            ["--serve", "ensemble:2", "--fan-out", "static"],
            "error: --serve ensemble: it serves the loop's models; drop --fan-out static",
        ),
        (
            ["--serve", "ensemble:2", "--use-templates"],
            "error: --serve ensemble: it serves the loop's models; drop --use-templates",
        ),
    ],
)
def test_a_bad_serve_is_one_error_line(argv, says):
    result = subprocess.run(
        [sys.executable, "flows/e2e.py", *argv], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode != 0 and result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(says)


# -- a local run on digits --------------------------------------------------------------------

MODELS = ("cnn", "dropout")


@pytest.fixture(scope="module")
def claim(tmp_path_factory):
    """A work directory whose claim holds two models trained on digits (in this process, one
    worker), where the mocked train steps say they put them."""
    from mlflows.cli import run_cli
    from mlflows.ml import ingest, train

    work = tmp_path_factory.mktemp("ensemble-run")
    data = work / "data"
    ingest.ingest("digits", "latest", ["train", "test"], data)
    models = work / "work" / "volumes" / "mlflows-data" / "models"
    for architecture in MODELS:
        argv = [
            "--model-type", architecture, "--dataset", "digits", "--data-dir", str(data),
            "--saved-model-dir", str(models / architecture),
            "--checkpoint-dir", str(work / "checkpoints" / architecture),
            "--epochs", "3", "--steps-per-epoch", "20", "--batch-size-per-replica", "32",
        ]  # fmt: skip
        with pytest.MonkeyPatch.context() as patch:
            patch.delenv("TF_CONFIG", raising=False)
            assert run_cli(lambda argv=argv: train.main(argv)) == 0
    return work


MOCKS = {
    # the loop's train says where its model is: the folder this test trained it in
    "train": Mock(
        outputs={"job-name": "t", "model-dir": "/mnt/data/models/{{inputs.parameters.model}}"}
    ),  # noqa: E501
    "evaluate": Mock(outputs={"accuracy": "0.9"}),  # select evaluates the models itself
}


def run_ensemble(e2e, mlflows_run, claim, serve: EnsembleServing, name: str):
    specs = [ModelSpec(name=m, architecture=m, workers=1) for m in MODELS]
    workflow = e2e.build_workflow(specs, dataset="digits", serve=serve)
    return mlflows_run(
        workflow, mocks=MOCKS, work_dir=claim / "work", cache_dir=claim / f"cache-{name}"
    )


@pytest.mark.slow
def test_a_local_run_serves_the_ensemble_and_reports_its_accuracy(e2e, mlflows_run, claim):
    # Three asked for, two trained: both are served, and select says so.
    run = run_ensemble(e2e, mlflows_run, claim, EnsembleServing(3), "three")

    run.assert_succeeded()
    assert run.order("select", "serve-members", "serve-graph", "evaluate-ensemble")
    assert "only 2 of the top 3 reach the threshold 0; the ensemble serves 2" in run.log("select")
    members = json.loads(run.outputs("select")["members"])
    assert [m["name"] for m in members] == ["top-1", "top-2"]
    served = json.loads((run.result.run_dir / "objects.json").read_text())
    assert sorted((o["kind"], o["metadata"]["name"]) for o in served) == [
        ("InferenceGraph", "digits-ensemble"),
        ("InferenceService", "digits-combiner"),
        ("InferenceService", "digits-top-1"),
        ("InferenceService", "digits-top-2"),
    ]
    assert run.outputs("serve-graph")["url"].startswith("http://127.0.0.1:")
    assert run.outputs("predict")["result"].startswith("predicted class")
    ensemble = float(run.outputs("evaluate-ensemble")["accuracy"])
    best = max(m["accuracy"] for m in members)
    assert ensemble > 0.5 and abs(ensemble - best) < 0.1  # trained models, averaged
    summary = e2e.served_summary(run.result)
    first = f"top-1 {Path(members[0]['model_dir']).name} {members[0]['accuracy']:.4f}"
    assert summary.startswith(f"served: an ensemble of 2 ({first}")  # with the spec that trained it
    assert f"accuracy {ensemble:.4f} beside the best model's {best:.4f}" in summary


@pytest.mark.slow
def test_a_local_run_with_no_model_above_the_threshold_fails_at_select_in_one_line(
    e2e, mlflows_run, claim
):
    run = run_ensemble(e2e, mlflows_run, claim, EnsembleServing(2, 1.0), "none")

    assert run.phase == "Failed"
    run.assert_phase("select", "Failed")
    assert "error: --threshold 1: no candidate reaches it" in run.log("select")
    assert not run.ran("serve-*")
