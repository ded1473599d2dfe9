"""The WorkflowTemplate library: each block is the template the inline pipeline holds (nothing
copied, only what a task would write in made an input), versioned by name, called by the
``--use-templates`` pipeline in a way the local runner's checks accept, and run locally."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml
from repo_workflows import REPO, child_environment

from mlflows import __version__, cli
from mlflows.library import BLOCK_LABEL, VERSION_LABEL, TemplateLibrary, template_manifests
from mlflows.manifest import to_yaml
from mlflows.rendering import render
from mlflows.specs import ModelSpec
from mlflows.workloads import Training, Workloads

SERVICE = "{{workflow.parameters.service}}"


def comparable(template: dict, substitutions: dict[str, str]) -> dict:
    """``template`` with each key of ``substitutions`` replaced in its strings, a resource's
    manifest parsed (so that quoting does not count), and its own volumes left out."""

    def substitute(value):
        if isinstance(value, dict):
            return {key: substitute(item) for key, item in value.items()}
        if isinstance(value, list):
            return [substitute(item) for item in value]
        if isinstance(value, str):
            for expression, replacement in substitutions.items():
                value = value.replace(expression, replacement)
        return value

    result = substitute(template)
    result.pop("volumes", None)
    if "resource" in result:
        result["resource"]["manifest"] = yaml.safe_load(result["resource"]["manifest"])
    return result


@pytest.fixture(scope="module")
def inline(e2e) -> dict[str, dict]:
    """The static fan-out's templates: the library's blocks outside the loop are those."""
    return {t["name"]: t for t in render(e2e.build_workflow(loop=False))["spec"]["templates"]}


@pytest.fixture(scope="module")
def inline_loop(e2e) -> dict[str, dict]:
    """The loop's templates, swept, with a priority class (so its branch takes one)."""
    models = [ModelSpec(name="cnn", architecture="cnn", priority_class="high")]
    workflow = e2e.build_workflow(models, sweep="learning_rate=1e-3,3e-3")
    return {t["name"]: t for t in render(workflow)["spec"]["templates"]}


@pytest.fixture(scope="module")
def library() -> dict[str, dict[str, dict]]:
    """Block -> template name -> template, for the library in namespace mlflows."""
    return {
        manifest["metadata"]["labels"][BLOCK_LABEL]: {
            t["name"]: t for t in manifest["spec"]["templates"]
        }
        for manifest in template_manifests("mlflows")
    }


def test_the_library_has_one_workflow_template_per_block_named_by_version(library):
    manifests = template_manifests("team-a")
    blocks = list(Workloads().library_templates())
    assert blocks == [
        "ingest", "train", "evaluate", "promote", "serve", "select", "predict", "sweep", "branch"
    ]  # fmt: skip
    assert [m["metadata"]["name"] for m in manifests] == [
        f"mlflows-{block}-v{__version__.replace('.', '-')}" for block in blocks
    ]
    for manifest, block in zip(manifests, blocks, strict=True):
        assert manifest["kind"] == "WorkflowTemplate"
        assert manifest["metadata"]["namespace"] == "team-a"
        assert manifest["metadata"]["labels"] == {BLOCK_LABEL: block, VERSION_LABEL: __version__}
        assert block in {t["name"] for t in manifest["spec"]["templates"]}
    # The next version goes beside this one, under other names.
    upgrade = template_manifests("team-a", TemplateLibrary(version="0.2.0rc1"))
    assert upgrade[1]["metadata"]["name"] == "mlflows-train-v0-2-0rc1"
    assert upgrade[1]["metadata"]["labels"][VERSION_LABEL] == "0.2.0rc1"
    cluster = template_manifests(None, TemplateLibrary(cluster_scope=True))
    assert {m["kind"] for m in cluster} == {"ClusterWorkflowTemplate"}
    assert all("namespace" not in m["metadata"] for m in cluster)


@pytest.mark.parametrize("block", ["ingest", "evaluate", "promote", "serve", "predict"])
def test_a_block_is_the_template_the_inline_pipeline_holds(block, library, inline):
    for name, template in library[block].items():
        assert comparable(template, {SERVICE: "fashion-mnist"}) == comparable(inline[name], {})


def test_the_train_block_is_each_models_train_template_with_the_spec_as_inputs(
    e2e, library, inline
):
    [template] = library["train"].values()
    for spec in e2e.MODELS:
        arguments = Training.of(spec).arguments()
        values = {f"{{{{inputs.parameters.{k}}}}}": v for k, v in arguments.items()}
        called = {**comparable(template, values), "name": f"train-{spec.name}"}
        assert [p["name"] for p in called.pop("inputs")["parameters"]] == list(arguments)
        assert called == comparable(inline[f"train-{spec.name}"], {})
    # The worker count reaches the TFJob as a number once Argo substitutes it.
    assert "replicas: {{inputs.parameters.workers}}\n" in template["resource"]["manifest"]


@pytest.mark.parametrize("block", ["sweep", "select"])
def test_a_block_is_the_template_the_inline_loop_holds(block, library, inline_loop):
    """select takes its candidates as an input, a JSON list: the loop's aggregated outputs."""
    [template] = library[block].values()
    assert comparable(template, {}) == comparable(inline_loop[block], {})


def test_the_branch_block_is_the_loops_branch_with_the_templates_it_calls(library, inline_loop):
    """Content-addressed, memoized train and evaluate, then promote; a priority class is an
    input with the default none, so a caller without one need not pass it."""
    held = library["branch"]
    assert set(held) == {"branch", "train", "evaluate", "promote", "champion", "publish", "serve"}
    workers = {"{{inputs.parameters.workers}}": "2"}  # so that the TFJob parses
    for name, template in held.items():
        assert comparable(template, {SERVICE: "fashion-mnist", **workers}) == comparable(
            inline_loop[name], workers
        ), name
    assert {"name": "priority-class", "default": ""} in held["branch"]["inputs"]["parameters"]
    assert "memoize" in held["train"] and "memoize" in held["evaluate"]
    assert "memoize" not in library["evaluate"]["evaluate"]  # its folder is not its content


def test_containers_carry_the_volume_they_mount(library):
    for templates in library.values():
        for template in templates.values():
            mounts = (template.get("container") or {}).get("volumeMounts")
            assert bool(mounts) == ("volumes" in template), template["name"]


SHAPES = {"loop": {}, "sweep": {"sweep": "learning_rate=1e-3,3e-3"}, "static": {"loop": False}}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("scope", ["namespace", "cluster"])
def test_every_call_of_the_pipeline_names_a_template_of_the_library(e2e, scope, shape):
    library = TemplateLibrary(cluster_scope=scope == "cluster")
    namespace = None if library.cluster_scope else "mlflows"
    held = {
        (m["metadata"]["name"], t["name"])
        for m in template_manifests(namespace, library)
        for t in m["spec"]["templates"]
    }
    workflow = render(e2e.build_workflow(library=library, **SHAPES[shape]))
    [pipeline] = workflow["spec"]["templates"]  # nothing inline
    refs = [task["templateRef"] for task in pipeline["dag"]["tasks"]]
    assert {(ref["name"], ref["template"]) for ref in refs} <= held
    assert all(ref.get("clusterScope", False) == library.cluster_scope for ref in refs)
    assert "volumes" not in workflow["spec"]
    assert {"name": "service", "value": "fashion-mnist"} in workflow["spec"]["arguments"][
        "parameters"
    ]


@pytest.fixture
def rendered(tmp_path, e2e):
    """The --use-templates pipeline and its library, as files."""

    def write(scope: str, shape: str = "loop") -> tuple:
        library = TemplateLibrary(cluster_scope=scope == "cluster")
        namespace = None if library.cluster_scope else "mlflows"
        workflow = tmp_path / f"{scope}-{shape}-workflow.yaml"
        workflow.write_text(to_yaml(render(e2e.build_workflow(library=library, **SHAPES[shape]))))
        templates = tmp_path / f"{scope}-templates.yaml"
        templates.write_text(
            "---\n".join(to_yaml(m) for m in template_manifests(namespace, library))
        )
        return workflow, templates

    return write


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("scope", ["namespace", "cluster"])
def test_the_pipeline_with_its_library_passes_the_local_runners_checks(
    rendered, schema_dir, capsys, scope, shape
):
    """Every template called exists and gets every input it has no default for."""
    workflow, templates = rendered(scope, shape)
    validate = ["validate", str(workflow), "--schema-dir", str(schema_dir)]

    assert cli.main([*validate, "--templates", str(templates)]) == 0
    assert capsys.readouterr().out == "valid\n"

    # Without the library, the first call names what is missing.
    assert cli.main(validate) == 1
    kind = "ClusterWorkflowTemplate" if scope == "cluster" else "WorkflowTemplate"
    assert f"task ingest: templateRef: no {kind} named 'mlflows-ingest-v" in capsys.readouterr().out


def test_the_library_in_the_same_file_counts_too(rendered, schema_dir, capsys, tmp_path):
    workflow, templates = rendered("namespace")
    both = tmp_path / "both.yaml"
    both.write_text(templates.read_text() + "---\n" + workflow.read_text())
    assert cli.main(["validate", str(both), "--schema-dir", str(schema_dir)]) == 0
    assert capsys.readouterr().out == "valid\n"


@pytest.mark.parametrize(
    "argv, line",
    [
        (
            ["-m", "mlflows", "templates", "--cluster", "--namespace", "team-a"],
            "error: --namespace: ClusterWorkflowTemplates belong to no namespace; drop "
            "--namespace, or --cluster for WorkflowTemplates in it",
        ),
        (
            ["-m", "mlflows", "templates", "--namespace", "Team_A"],
            "error: --namespace: 'Team_A' is not a valid Kubernetes name",
        ),
        (
            ["flows/e2e.py", "--use-templates", "--image", "registry.local/trainer:1"],
            "error: --image registry.local/trainer:1: the library's templates hold their own "
            "(ghcr.io/mlflows/trainer:0.1.0); drop --image, or --use-templates to render the "
            "templates into the workflow",
        ),
        (
            ["flows/e2e.py", "--use-templates", "--cache-max-age", "1h"],
            "error: --cache-max-age 1h: the library's templates hold their own (24h)",
        ),
    ],
    ids=["cluster-namespace", "bad-namespace", "image", "cache-max-age"],
)
def test_library_mistakes_are_one_line(argv, line):
    result = subprocess.run(
        [sys.executable, *argv], cwd=REPO, capture_output=True, text=True, env=child_environment()
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(line) and result.stderr.count("\n") == 1


def test_use_templates_renders_the_loop_and_refuses_what_the_library_lacks():
    """The loop is the default with --use-templates too (its golden), silently; the static
    fan-out stays one option away; the library's branch always promotes, so --fan-in sync is
    refused in one line with the loop."""

    def e2e_py(*argv):
        return subprocess.run(
            [sys.executable, "flows/e2e.py", *argv],
            cwd=REPO, capture_output=True, text=True, env=child_environment(),
        )  # fmt: skip

    loop = e2e_py("--use-templates")
    assert loop.returncode == 0 and loop.stderr == ""
    assert loop.stdout == (REPO / "flows" / "e2e.templates.yaml").read_text()
    [pipeline] = yaml.safe_load(loop.stdout)["spec"]["templates"]
    tasks = {task["name"]: task for task in pipeline["dag"]["tasks"]}
    assert tasks["branches"]["templateRef"]["name"].startswith("mlflows-branch-v")
    assert len(tasks["branches"]["withItems"]) == 3
    static = e2e_py("--use-templates", "--fan-out", "static", "--fan-in", "sync")
    assert static.returncode == 0 and static.stderr == ""
    [pipeline] = yaml.safe_load(static.stdout)["spec"]["templates"]
    assert "train-cnn" in {task["name"] for task in pipeline["dag"]["tasks"]}
    refused = e2e_py("--use-templates", "--fan-in", "sync")
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr == (
        "error: --fan-in sync: the library's branch promotes each model as it is evaluated; "
        "drop --fan-in sync, or add --fan-out static\n"
    )


@pytest.mark.slow
def test_the_swept_loop_runs_locally_from_the_library(tmp_path):
    """``mlflows run`` with ``--templates``: the sweep, the loop's branch (its train, evaluate
    and promote resolved inside the branch's WorkflowTemplate), select, serve and predict, all by
    templateRef; one model, one worker, a few steps on digits."""
    workflow, templates, report = (tmp_path / n for n in ("wf.yaml", "lib.yaml", "report.json"))
    python = [sys.executable]
    environment = child_environment()
    subprocess.run(
        [*python, "flows/e2e.py", "--use-templates", "--dataset", "digits", "--models", "cnn",
         "--workers", "1", "--epochs", "1", "--steps-per-epoch", "5",
         "--sweep", "learning_rate=3e-3", "--output", str(workflow)],
        cwd=REPO, check=True, env=environment,
    )  # fmt: skip
    with templates.open("w") as out:
        subprocess.run(
            [*python, "-m", "mlflows", "templates"], stdout=out, check=True, env=environment
        )
    result = subprocess.run(
        [*python, "-m", "mlflows", "run", str(workflow), "--templates", str(templates),
         "--work-dir", str(tmp_path / "work"), "--cache-dir", str(tmp_path / "cache"),
         "--report-json", str(report)],
        capture_output=True, text=True, timeout=600, env=environment,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    status = json.loads(report.read_text())
    nodes = {node["displayName"]: node for node in status["nodes"].values()}
    assert status["phase"] == "Succeeded"
    version = __version__.replace(".", "-")
    for task, block in (("sweep", "sweep"), ("select", "select"), ("predict", "predict")):
        assert nodes[task]["templateRef"] == {
            "name": f"mlflows-{block}-v{version}",
            "template": block,
        }
    [item] = [node for name, node in nodes.items() if name.startswith("branches(0:")]
    assert item["templateRef"] == {"name": f"mlflows-branch-v{version}", "template": "branch"}
    assert "model:cnn-1" in item["displayName"]  # the sweep's one spec
    for step in ("train", "evaluate", "promote"):  # called by name inside the branch's template
        assert nodes[step]["phase"] == "Succeeded"
        assert nodes[step]["templateScope"] == f"namespaced/mlflows-branch-v{version}"
    assert nodes["predict"]["outputs"]["result"].startswith("predicted class")
    [selected] = [
        p["value"] for p in nodes["select"]["outputs"]["parameters"] if p["name"] == "result"
    ]
    [candidate] = json.loads(selected)["candidates"]
    [trained] = [
        p["value"] for p in nodes["train"]["outputs"]["parameters"] if p["name"] == "model-dir"
    ]
    [measured] = [
        p["value"] for p in nodes["evaluate"]["outputs"]["parameters"] if p["name"] == "accuracy"
    ]
    assert candidate == {"model_dir": trained, "accuracy": float(measured)}
    assert trained.rsplit("/", 2)[1] == "models"  # content-addressed: models/<key>
