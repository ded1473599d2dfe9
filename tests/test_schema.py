"""Strict validation against the published schemas (MLFLOWS_SCHEMA_DIR, which CI always sets).

Tests that need the schema files take the ``schema_dir`` fixture, which skips them, saying so,
when the variable is unset; the rest (the closing rule, the variable's checks, the command's
exit code without schemas) always run.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import pytest
import yaml
from hera.workflows import DAG, Container, Resource, Workflow
from hera.workflows import models as m

from mlflows import local, schema
from mlflows.cli import run_cli
from mlflows.errors import UserError
from mlflows.rendering import render

TFJOB = """\
apiVersion: kubeflow.org/v1
kind: TFJob
metadata:
  name: train-{{workflow.name}}
  labels: {app.kubernetes.io/part-of: mlflows}
spec:
  tfReplicaSpecs:
    Worker:
      replicas: {{inputs.parameters.workers}}
      restartPolicy: OnFailure
      template:
        spec:
          containers:
          - name: tensorflow
            image: trainer:latest
            resources:
              limits: {cpu: 1, memory: "{{inputs.parameters.memory}}"}
"""

ISVC = """\
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: fashion
spec:
  predictor:
    minReplicas: 1
    model:
      modelFormat: {name: tensorflow}
      storageUri: pvc://mlflows-data/runs/{{workflow.name}}/serving
"""

CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: notes}
data: {anything: goes}
"""


def hera_workflow(argo_version: str = "4.1") -> dict:
    """A workflow using what mlflows renders: parameters, resources, retries, memoization, a DAG,
    and resource templates for a TFJob, an InferenceService and a ConfigMap; rendered for
    ``argo_version``."""
    parameters = [m.Parameter(name="workers"), m.Parameter(name="memory")]
    with Workflow(
        generate_name="schema-test-", entrypoint="main", namespace="mlflows", labels={"team": "ml"}
    ) as workflow:
        ingest = Container(
            name="ingest",
            image="trainer:latest",
            command=["python", "-m", "mlflows.ml.ingest"],
            inputs=[m.Parameter(name="dataset")],
            resources=m.ResourceRequirements(limits={"cpu": "500m", "memory": "1Gi"}),
            retry_strategy=m.RetryStrategy(limit=2),
            memoize=m.Memoize(
                key="{{inputs.parameters.dataset}}",
                max_age="24h",
                cache=m.Cache(config_map=m.LocalObjectReference(name="ingest-cache")),
            ),
        )
        train = Resource(
            name="train",
            action="create",
            manifest=TFJOB,
            success_condition="status.replicaStatuses.Worker.succeeded = 2",
            failure_condition="status.replicaStatuses.Worker.failed > 0",
            inputs=parameters,
        )
        serve = Resource(name="serve", action="apply", manifest=ISVC)
        note = Resource(name="note", action="apply", manifest=CONFIGMAP)
        with DAG(name="main"):
            (
                ingest(arguments={"dataset": "digits"})
                >> train(arguments={"workers": "2", "memory": "2Gi"})
                >> serve()
                >> note()
            )
    return render(workflow, argo_version)


def template(manifest: dict, name: str) -> dict:
    return next(t for t in manifest["spec"]["templates"] if t["name"] == name)


def index_of(manifest: dict, name: str) -> int:
    return [t["name"] for t in manifest["spec"]["templates"]].index(name)


# --- the Workflow ---------------------------------------------------------------------------


@pytest.mark.parametrize("argo_version", ["4.1", "3.7"])
def test_hera_workflow_is_valid(schema_dir, argo_version):
    assert schema.validate_workflow(hera_workflow(argo_version), argo_version, schema_dir) == []


def test_success_condition_on_the_template_instead_of_in_resource_is_rejected(schema_dir):
    manifest = hera_workflow()
    train = template(manifest, "train")
    train["successCondition"] = train["resource"].pop("successCondition")
    where = f"spec.templates[{index_of(manifest, 'train')}]"
    assert schema.validate_workflow(manifest, schemas=schema_dir) == [
        f"{where}.successCondition: unknown field"
    ]


@pytest.mark.parametrize(
    "misplace, problem",
    [
        (lambda w: template(w, "ingest")["container"].update(imagePullPolcy="Always"),
         "spec.templates[{ingest}].container.imagePullPolcy: unknown field"),
        (lambda w: template(w, "ingest")["container"]["resources"].update(limit={"cpu": "1"}),
         "spec.templates[{ingest}].container.resources.limit: unknown field"),
        (lambda w: template(w, "main")["dag"]["tasks"][1].update(dependecies=["ingest"]),
         "spec.templates[{main}].dag.tasks[1].dependecies: unknown field"),
        (lambda w: w["metadata"].update(lables={"team": "ml"}), "metadata.lables: unknown field"),
        (lambda w: w["spec"].update(podGc={"strategy": "OnPodSuccess"}),
         "spec.podGc: unknown field"),
        (lambda w: w["metadata"].update({1.5: "x"}), "metadata[1.5]: unknown field"),  # YAML key
    ],
)  # fmt: skip
def test_unknown_field_anywhere_is_rejected(schema_dir, misplace, problem):
    manifest = hera_workflow()
    misplace(manifest)
    where = {name: index_of(manifest, name) for name in ("ingest", "main")}
    assert schema.validate_workflow(manifest, schemas=schema_dir) == [problem.format(**where)]


@pytest.mark.parametrize(
    "value, problems",
    [
        (4, []),
        ("{{inputs.parameters.n}}", []),
        ("{{= asInt(inputs.parameters.n) * 2 }}", []),
        ("{{=\n  asInt(inputs.parameters.n) * 2\n}}", []),  # Argo's tags may span lines
        ("abc", ["spec.parallelism: 'abc' is not of type 'integer'"]),
        ("4", ["spec.parallelism: '4' is not of type 'integer'"]),
    ],
)
def test_an_expression_stands_for_any_type(schema_dir, value, problems):
    manifest = hera_workflow()
    manifest["spec"]["parallelism"] = value
    assert schema.validate_workflow(manifest, schemas=schema_dir) == problems


def test_int_or_string_and_quantities_take_both_forms(schema_dir):
    manifest = hera_workflow()
    ingest = template(manifest, "ingest")
    for limit, cpu in [(3, 0.5), ("3", "250m")]:
        ingest["retryStrategy"]["limit"] = limit
        ingest["container"]["resources"]["limits"]["cpu"] = cpu
        assert schema.validate_workflow(manifest, schemas=schema_dir) == []
    ingest["retryStrategy"]["limit"] = 2.5
    assert schema.validate_workflow(manifest, schemas=schema_dir) == [
        f"spec.templates[{index_of(manifest, 'ingest')}].retryStrategy.limit: "
        "2.5 is not of type 'integer', 'string'"
    ]


def test_parameter_values_take_numbers_as_argo_reads_them(schema_dir):
    manifest = hera_workflow()
    manifest["spec"]["arguments"] = {"parameters": [{"name": "n", "value": 3, "enum": [3, True]}]}
    assert schema.validate_workflow(manifest, schemas=schema_dir) == []
    manifest["spec"]["arguments"]["parameters"][0]["value"] = {"nested": 1}
    [problem] = schema.validate_workflow(manifest, schemas=schema_dir)
    assert problem.startswith("spec.arguments.parameters[0].value: {'nested': 1} is not of type")


def test_open_maps_stay_open(schema_dir):
    manifest = hera_workflow()
    manifest["metadata"]["annotations"] = {"example.com/any-key": "x"}
    template(manifest, "ingest")["container"]["resources"]["limits"]["nvidia.com/gpu"] = 1
    assert schema.validate_workflow(manifest, schemas=schema_dir) == []


@pytest.mark.parametrize(
    "argo_version, with_key, problems",
    [
        ("3.7", True, []),
        (
            "3.7",
            False,
            ["spec.templates[{i}].memoize.cache.configMap: 'key' is a required property"],
        ),
        ("4.1", False, []),
        ("4.1", True, ["spec.templates[{i}].memoize.cache.configMap.key: unknown field"]),
    ],
)
def test_memo_cache_key_is_required_on_3_7_and_rejected_on_4_1(
    schema_dir, argo_version, with_key, problems
):
    manifest = hera_workflow("3.7" if with_key else "4.1")
    i = index_of(manifest, "ingest")
    found = schema.validate_workflow(manifest, argo_version, schema_dir)
    assert found == [problem.format(i=i) for problem in problems]


def test_kind_must_be_an_argo_kind(schema_dir):
    manifest = hera_workflow()
    manifest["kind"] = "Workflows"
    [problem] = schema.validate_workflow(manifest, schemas=schema_dir)
    assert problem.startswith("kind: expected one of Workflow, WorkflowTemplate")


def test_any_argo_definition_can_be_checked(schema_dir):
    status = "io.argoproj.workflow.v1alpha1.WorkflowStatus"
    node = {"id": "n", "name": "n", "type": "Pod", "phase": "Succeeded"}
    report = {"phase": "Succeeded", "nodes": {"n": node}}
    assert schema.validate_argo_object(report, status, schemas=schema_dir) == []
    node["exitCode"] = 0
    assert schema.validate_argo_object(report, status, schemas=schema_dir) == [
        "nodes.n.exitCode: unknown field"
    ]
    with pytest.raises(ValueError, match="no definition"):
        schema.validate_argo_object(report, "WorkflowStatus", schemas=schema_dir)


# --- embedded manifests ---------------------------------------------------------------------


def with_manifest(text: str, name: str = "train") -> tuple[dict, str]:
    """The workflow with template ``name``'s manifest replaced, and that manifest's path."""
    manifest = hera_workflow()
    template(manifest, name)["resource"]["manifest"] = text
    return manifest, f"spec.templates[{index_of(manifest, name)}].resource.manifest"


@pytest.mark.parametrize(
    "replicas, problem",
    [
        ("{{inputs.parameters.workers}}", None),  # unquoted: "2" after substitution, an integer
        ("{{=\n  asInt(inputs.parameters.workers) }}", None),  # an expression over two lines
        ("2", None),
        (
            "'{{inputs.parameters.workers}}'",
            "'{{inputs.parameters.workers}}' is not of type 'integer'",
        ),
        ("two", "'two' is not of type 'integer'"),
    ],
)
def test_embedded_expression_is_typed_as_argo_substitutes_it(schema_dir, replicas, problem):
    manifest, where = with_manifest(TFJOB.replace("{{inputs.parameters.workers}}", replicas))
    expected = [f"{where} > spec.tfReplicaSpecs.Worker.replicas: {problem}"] if problem else []
    assert schema.validate_workflow(manifest, schemas=schema_dir) == expected


def test_quoted_expression_skips_the_pattern_but_a_bad_quantity_does_not(schema_dir):
    memory = '"{{inputs.parameters.memory}}"'
    assert memory in TFJOB
    manifest, where = with_manifest(TFJOB.replace(memory, "lots").replace("cpu: 1", "cpu: 0.5"))
    limits = "spec.tfReplicaSpecs.Worker.template.spec.containers[0].resources.limits"
    problems = schema.validate_workflow(manifest, schemas=schema_dir)
    assert [p.split(": ")[0] for p in problems] == [
        f"{where} > {limits}.cpu",
        f"{where} > {limits}.memory",
    ]
    assert "0.5 is not valid under any of the given schemas" in problems[0]  # int or string only
    assert "'lots' does not match" in problems[1]


def test_tfjob_unknown_field_in_a_replica_spec_is_rejected(schema_dir):
    manifest, where = with_manifest(TFJOB.replace("restartPolicy:", "restartPolicyy:"))
    assert schema.validate_workflow(manifest, schemas=schema_dir) == [
        f"{where} > spec.tfReplicaSpecs.Worker.restartPolicyy: unknown field"
    ]
    tfjob = yaml.safe_load(TFJOB.replace("{{inputs.parameters.workers}}", "2"))
    tfjob["spec"]["tfReplicaSpecs"]["Worker"]["replica"] = 2
    assert schema.validate_manifest(tfjob, schema_dir) == [
        "spec.tfReplicaSpecs.Worker.replica: unknown field"
    ]


def test_inference_service_with_a_wrong_type_is_rejected(schema_dir):
    isvc = yaml.safe_load(ISVC)
    assert schema.validate_manifest(isvc, schema_dir) == []
    isvc["spec"]["predictor"]["minReplicas"] = "one"
    isvc["spec"]["predictor"]["model"]["storageUri"] = ["pvc://x"]
    assert schema.validate_manifest(isvc, schema_dir) == [
        "spec.predictor.minReplicas: 'one' is not of type 'integer'",
        "spec.predictor.model.storageUri: ['pvc://x'] is not of type 'string'",
    ]
    manifest, where = with_manifest(ISVC.replace("minReplicas: 1", "minReplicas: [1]"), "serve")
    assert schema.validate_workflow(manifest, schemas=schema_dir) == [
        f"{where} > spec.predictor.minReplicas: [1] is not of type 'integer'"
    ]


def test_embedded_metadata_is_object_meta_and_status_stays_open(schema_dir):
    isvc = yaml.safe_load(ISVC)
    isvc["status"] = {"url": "http://x", "anythingTheControllerAdds": {"a": 1}}
    assert schema.validate_manifest(isvc, schema_dir) == []
    isvc["metadata"]["namespce"] = "mlflows"
    assert schema.validate_manifest(isvc, schema_dir) == ["metadata.namespce: unknown field"]


@pytest.mark.parametrize(
    "text, problem",
    [
        (TFJOB.replace("kubeflow.org/v1", "kubeflow.org/v2"),
         "apiVersion: TFJob is served as kubeflow.org/v1, not 'kubeflow.org/v2'"),
        ("kind: TFJob\nspec: [unclosed", "not valid YAML"),
    ],
)  # fmt: skip
def test_embedded_manifest_that_cannot_be_checked_is_a_problem(schema_dir, text, problem):
    manifest, where = with_manifest(text)
    [found] = schema.validate_workflow(manifest, schemas=schema_dir)
    assert found.startswith(f"{where}") and problem in found


def test_validate_manifest_takes_the_embedded_text(schema_dir):
    assert schema.validate_manifest(TFJOB, schema_dir) == []
    assert schema.validate_manifest(CONFIGMAP, schema_dir) == [
        "kind: no schema for 'ConfigMap'; known: TFJob, InferenceService"
    ]


# --- the closing rule and the schema directory (no schema files needed) --------------------


def test_close_objects_closes_only_objects_that_list_their_fields():
    closed = schema.close_objects(
        {
            "type": "object",
            "properties": {
                "fixed": {"type": "object", "properties": {"a": {"type": "string"}}},
                "map": {"type": "object", "additionalProperties": {"type": "string"}},
                "free": {"type": "object"},
                "open": {
                    "type": "object",
                    "properties": {"b": {}},
                    "x-kubernetes-preserve-unknown-fields": True,
                },
                "list": {"type": "array", "items": {"properties": {"c": {}}}},
            },
        }
    )
    assert closed["additionalProperties"] is False
    fields = closed["properties"]
    assert fields["fixed"]["additionalProperties"] is False
    assert fields["map"]["additionalProperties"] == {"type": "string"}
    assert "additionalProperties" not in fields["free"]
    assert "additionalProperties" not in fields["open"]
    assert fields["list"]["items"]["additionalProperties"] is False


def test_close_objects_refuses_composed_objects():
    with pytest.raises(ValueError, match="allOf/anyOf/oneOf"):
        schema.close_objects({"anyOf": [{"properties": {"a": {}}}, {"properties": {"b": {}}}]})


def test_schema_dir_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(schema.SCHEMA_DIR_VARIABLE, raising=False)
    assert schema.schema_dir() is None
    monkeypatch.setenv(schema.SCHEMA_DIR_VARIABLE, str(tmp_path / "nowhere"))
    with pytest.raises(UserError, match="is not a directory"):
        schema.schema_dir()
    (tmp_path / schema.ARGO_SCHEMA_FILES["4.1"]).write_text("{}")
    monkeypatch.setenv(schema.SCHEMA_DIR_VARIABLE, str(tmp_path))
    with pytest.raises(
        UserError, match="lacks argo-workflows-v3.7.18.schema.json, training-operator"
    ):
        schema.schema_dir()


def test_schema_file_that_is_not_the_published_one_is_a_user_error(tmp_path):
    lfs_pointer = "version https://git-lfs.github.com/spec/v1\noid sha256:0\nsize 1\n"
    for name in [*schema.ARGO_SCHEMA_FILES.values(), schema.CUSTOM_RESOURCES["TFJob"].crd_file]:
        (tmp_path / name).write_text(lfs_pointer)
    with pytest.raises(UserError, match=r"argo-workflows-v4.1.2.schema.json is not the file as "):
        schema.validate_workflow({"kind": "Workflow"}, schemas=tmp_path)
    (tmp_path / schema.ARGO_SCHEMA_FILES["4.1"]).write_text('{"definitions": {}}')
    with pytest.raises(UserError, match=r"schema.json is not .* \(KeyError: 'io.argoproj"):
        schema.validate_argo_object({}, "io.argoproj.workflow.v1alpha1.Workflow", schemas=tmp_path)
    with pytest.raises(UserError, match=r"^[^\n]*tfjobs.crd.yaml is not the file as published"):
        schema.validate_manifest(TFJOB, tmp_path)


# --- mlflows validate -----------------------------------------------------------------------


def run_validate(capsys, *argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="mlflows")
    schema.register(parser.add_subparsers())
    args = parser.parse_args(["validate", *argv])
    code = run_cli(lambda: args.func(args))
    out, err = capsys.readouterr()
    return code, out, err


def write_documents(path: Path, *documents: dict) -> str:
    path.write_text(yaml.safe_dump_all(documents, sort_keys=False))
    return str(path)


def test_validate_command_accepts_a_valid_file(schema_dir, capsys, tmp_path):
    file = write_documents(tmp_path / "wf.yaml", hera_workflow(), yaml.safe_load(ISVC))
    assert run_validate(capsys, file) == (0, "valid\n", "")


def test_validate_command_prints_each_problem_and_exits_1(schema_dir, capsys, tmp_path):
    tfjob = yaml.safe_load(TFJOB.replace("{{inputs.parameters.workers}}", "2"))
    tfjob["spec"]["tfReplicaSpecs"]["Worker"]["replicas"] = "two"
    workflow = hera_workflow("3.7")
    file = write_documents(tmp_path / "wf.yaml", workflow, tfjob, yaml.safe_load(CONFIGMAP))
    code, out, err = run_validate(capsys, file)
    i = index_of(workflow, "ingest")
    assert code == 1
    assert out.splitlines() == [
        f"{file} document 1 (Workflow): spec.templates[{i}].memoize.cache.configMap.key: "
        "unknown field",
        f"{file} document 2 (TFJob): spec.tfReplicaSpecs.Worker.replicas: "
        "'two' is not of type 'integer'",
    ]
    assert err == f"{file} document 3: not checked, no schema for kind 'ConfigMap'\n"
    assert (
        run_validate(capsys, file, "--argo-version", "3.7")[1].splitlines() == out.splitlines()[1:]
    )


def test_validate_command_without_schemas_says_how_to_get_them(capsys, monkeypatch, tmp_path):
    monkeypatch.delenv(schema.SCHEMA_DIR_VARIABLE, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    file = write_documents(tmp_path / "wf.yaml", {"kind": "Workflow"})
    code, out, err = run_validate(capsys, file)
    assert (code, out) == (2, "")
    assert err == (
        "error: no schemas to validate with: run 'mlflows schemas fetch' to download them into "
        f"{tmp_path}/cache/mlflows-schemas, or set MLFLOWS_SCHEMA_DIR (or pass --schema-dir) to "
        "a folder holding them\n"
    )


def workflow_with(templates: list[dict], entrypoint: str = "main") -> dict:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"generateName": "lint-"},
        "spec": {"entrypoint": entrypoint, "templates": templates},
    }


ECHO = {"container": {"image": "busybox:1.36", "command": ["echo", "hi"]}}


@pytest.mark.parametrize(
    "workflow, problem",
    [
        (
            workflow_with([{"name": "main", **ECHO}], entrypoint="mian"),
            "spec.entrypoint: no template named 'mian'",
        ),
        (
            workflow_with([{"name": "main", "steps": [[{"name": "a", "template": "gone"}]]}]),
            "no template named 'gone'",
        ),
        (
            workflow_with(
                [
                    {"name": "main", "dag": {"tasks": [
                        {"name": "a", "template": "echo", "depends": "b"},
                        {"name": "b", "template": "echo", "depends": "a"},
                    ]}},
                    {"name": "echo", **ECHO},
                ]
            ),
            "dependency cycle a -> b -> a",
        ),
    ],
    ids=["missing entrypoint", "missing template", "cycle"],
)  # fmt: skip
def test_validate_command_runs_the_local_runners_checks(
    schema_dir, capsys, tmp_path, workflow, problem
):
    """Valid against Argo's schema, but Argo (and the local runner) would refuse to run it."""
    assert schema.validate_workflow(workflow, schemas=schema_dir) == []
    file = write_documents(tmp_path / "wf.yaml", workflow)
    code, out, err = run_validate(capsys, file)
    assert (code, err) == (1, "")
    [line] = out.splitlines()
    assert line.startswith(f"{file} document 1 (Workflow): ") and problem in line


def echo_expression(expression: str) -> dict:
    return workflow_with(
        [{"name": "main", "container": {"image": "busybox:1.36", "command": ["echo", expression]}}]
    )


def test_validate_command_passes_an_expression_only_the_local_runner_cannot_evaluate(
    schema_dir, capsys, tmp_path
):
    """``now()`` is Argo's expr-lang: no problem of the workflow's, though the runner refuses it."""
    workflow = echo_expression("{{=now()}}")
    assert run_validate(capsys, write_documents(tmp_path / "wf.yaml", workflow)) == (
        0,
        "valid\n",
        "",
    )
    with pytest.raises(UserError, match=r"now\(\) is not supported by the local runner"):
        local.run(workflow, work_dir=tmp_path / "work", cache_dir=tmp_path / "cache", quiet=True)


def test_validate_command_reports_an_expression_that_is_not_expr_lang(schema_dir, capsys, tmp_path):
    file = write_documents(tmp_path / "wf.yaml", echo_expression("{{=1 +}}"))
    code, out, err = run_validate(capsys, file)
    assert (code, err) == (1, "")
    assert out == (
        f"{file} document 1 (Workflow): template main: expression {{{{=1 +}}}}: unexpected end "
        "of expression (1:4)\n"
    )


def test_validate_command_with_a_name_that_is_a_number_is_a_problem_line(
    schema_dir, capsys, tmp_path
):
    workflow = workflow_with([{"name": "main", **ECHO}])
    workflow["metadata"]["generateName"] = 5
    file = write_documents(tmp_path / "wf.yaml", workflow)
    code, out, err = run_validate(capsys, file)
    assert (code, err) == (1, "")
    assert (
        out == f"{file} document 1 (Workflow): metadata.generateName: 5 is not of type 'string'\n"
    )


def test_schema_dir_option_then_variable_then_user_cache(schema_dir, capsys, monkeypatch, tmp_path):
    file = write_documents(tmp_path / "wf.yaml", hera_workflow())
    cache = tmp_path / "cache" / "mlflows-schemas"
    cache.mkdir(parents=True)
    for name in schema.REQUIRED_FILES:
        (cache / name).write_text("not the published file")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv(schema.SCHEMA_DIR_VARIABLE, str(tmp_path / "nowhere"))
    assert run_validate(capsys, file, "--schema-dir", str(schema_dir)) == (0, "valid\n", "")
    assert run_validate(capsys, file)[2] == (
        f"error: {schema.SCHEMA_DIR_VARIABLE}={tmp_path}/nowhere is not a directory\n"
    )
    monkeypatch.delenv(schema.SCHEMA_DIR_VARIABLE)
    code, _, err = run_validate(capsys, file)
    assert code == 2
    assert err.startswith(f"error: {cache}/argo-workflows-v4.1.2.schema.json is not the file as")
    code, _, err = run_validate(capsys, file, "--schema-dir", str(tmp_path))
    assert err.startswith(f"error: --schema-dir {tmp_path} lacks argo-workflows-v4.1.2.schema")


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "cannot read {file}: No such file or directory"),
        (b"kind: Workflow\nspec: [unclosed\n", "{file} is not valid YAML: "),
        (b"kind: Workflow\nmetadata: {name: caf\xe9}\n", "{file} is not valid YAML: "),  # Latin-1
    ],
    ids=["missing", "bad YAML", "not UTF-8"],
)
def test_validate_command_with_an_unreadable_file_is_one_line(
    schema_dir, capsys, tmp_path, content, message
):
    file = tmp_path / "wf.yaml"
    if content is not None:
        file.write_bytes(content)
    code, out, err = run_validate(capsys, str(file))
    assert (code, out) == (2, "")
    assert len(err.splitlines()) == 1
    assert err.startswith("error: " + message.format(file=file))


def test_validate_command_with_nothing_to_check_is_an_error(schema_dir, capsys, tmp_path):
    file = write_documents(tmp_path / "cm.yaml", yaml.safe_load(CONFIGMAP))
    code, _, err = run_validate(capsys, file)
    assert code == 2
    assert err.splitlines()[-1].startswith(f"error: {file} holds nothing to validate")


def test_validated_manifest_is_not_modified(schema_dir):
    manifest = hera_workflow()
    before = copy.deepcopy(manifest)
    schema.validate_workflow(manifest, schemas=schema_dir)
    assert manifest == before
