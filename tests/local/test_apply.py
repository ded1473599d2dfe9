"""``--apply``: objects created before the run, and parameters read from ConfigMaps
(``valueFrom.configMapKeyRef``) with the rules of Argo's controller: only ConfigMaps labelled
``workflows.argoproj.io/configmap-type: Parameter``, ``valueFrom.default`` when one is missing."""

import json

import pytest
import yaml
from localrun_helpers import dag, sh, task, workflow

from mlflows.cli import main
from mlflows.errors import UserError

LABEL = {"workflows.argoproj.io/configmap-type": "Parameter"}


def config_map(name="settings", labels=LABEL, **data):
    metadata = {"name": name, **({"labels": labels} if labels else {})}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data}


def write(tmp_path, *objects, name="objects.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump_all(objects))
    return path


def from_config_map(key, **value_from):
    return {"configMapKeyRef": {"name": "settings", "key": key}, **value_from}


def reader(**spec):
    """A workflow whose `show` template takes `colour` from the ConfigMap `settings`."""
    return workflow(
        dag("main", task("show", "show")),
        sh(
            "show",
            "echo {{inputs.parameters.colour}} {{workflow.parameters.size}}",
            inputs={"parameters": [{"name": "colour", "valueFrom": from_config_map("colour")}]},
        ),
        arguments={"parameters": [{"name": "size", "valueFrom": from_config_map("size")}]},
        **spec,
    )


def nodes(result) -> dict[str, tuple[str, str]]:
    return {n["displayName"]: (n["type"], n["phase"]) for n in result.status["nodes"].values()}


def test_inputs_and_arguments_read_applied_config_maps(run_local, tmp_path):
    applied = write(tmp_path, config_map(colour="blue", size="3"))
    result = run_local(reader(), apply=[applied])
    assert result.phase == "Succeeded"
    assert nodes(result) == {result.name: ("DAG", "Succeeded"), "show": ("Pod", "Succeeded")}
    assert result.node("show").outputs.result == "blue 3"
    assert result.node("show").inputs == {"colour": "blue"}

    # a value given with -p wins over the ConfigMap, as does an argument over an input's
    assert run_local(reader(), apply=[applied], parameters={"size": "9"}).node(
        "show"
    ).outputs.result == ("blue 9")


def test_missing_config_map_takes_the_default_or_is_refused(run_local, tmp_path):
    wf = reader()
    with pytest.raises(UserError) as refused:
        run_local(wf)
    assert str(refused.value) == (
        "template main: task show: inputs.parameters.colour of template show: ConfigMap "
        "'settings' does not exist. Please make sure it has the label "
        "workflows.argoproj.io/configmap-type: Parameter to be detectable by the controller; "
        "give the ConfigMap with --apply or add valueFrom.default"
    )

    # without the label the controller never sees it; with another value it is an error
    unlabelled = write(tmp_path, config_map(labels=None, colour="blue", size="3"))
    with pytest.raises(UserError, match="ConfigMap 'settings' does not exist"):
        run_local(wf, apply=[unlabelled])
    mislabelled = write(
        tmp_path, config_map(labels={**LABEL, **dict.fromkeys(LABEL, "Other")}, colour="b")
    )
    with pytest.raises(UserError, match="needs to have the label .*: Parameter to load"):
        run_local(wf, apply=[mislabelled])

    only_colour = write(tmp_path, config_map(colour="blue"))
    with pytest.raises(UserError) as refused:
        run_local(wf, apply=[only_colour])
    assert str(refused.value) == (
        "spec.arguments.parameters[size]: ConfigMap 'settings' does not have the key 'size'; "
        "give the ConfigMap with --apply, a valueFrom.default, or -p size=VALUE"
    )
    defaults = reader()
    defaults["spec"]["arguments"]["parameters"][0]["valueFrom"]["default"] = "1"
    defaults["spec"]["templates"][1]["inputs"]["parameters"][0]["valueFrom"]["default"] = "grey"
    result = run_local(defaults, apply=[only_colour])
    assert result.node("show").outputs.result == "blue 1"
    assert run_local(defaults).node("show").outputs.result == "grey 1"


def test_config_map_created_during_the_run_is_read_when_the_step_runs(run_local):
    manifest = yaml.safe_dump(config_map(name="made", colour="{{workflow.name}}"))
    wf = workflow(
        dag(
            "main",
            task("make", "make"),
            task("show", "show", depends="make"),
            task("missing", "missing", depends="make"),
        ),
        {"name": "make", "resource": {"action": "create", "manifest": manifest}},
        sh(
            "show",
            "echo {{inputs.parameters.colour}}",
            inputs={
                "parameters": [
                    {
                        "name": "colour",
                        "valueFrom": {"configMapKeyRef": {"name": "made", "key": "colour"}},
                    }
                ]
            },
        ),
        sh(
            "missing",
            "echo never",
            inputs={
                "parameters": [
                    {"name": "x", "valueFrom": {"configMapKeyRef": {"name": "made", "key": "x"}}}
                ]
            },
        ),
    )
    result = run_local(wf)
    assert result.phase == "Error"
    assert nodes(result) == {
        result.name: ("DAG", "Error"),
        "make": ("Pod", "Succeeded"),
        "show": ("Pod", "Succeeded"),
        "missing": ("Pod", "Error"),
    }
    assert result.node("show").outputs.result == result.name
    assert result.node("missing").message == (
        "unable to retrieve inputs.parameters.x from ConfigMap: ConfigMap 'made' does not have "
        "the key 'x'"
    )


def test_applied_objects_are_in_the_object_store(run_local, tmp_path):
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "token"},
        "stringData": {"token": "s3cret"},
    }
    applied = write(tmp_path, config_map(colour="blue"), secret)
    get = "apiVersion: v1\nkind: {kind}\nmetadata:\n  name: {name}\n"
    wf = workflow(
        dag("main", task("cm", "get-cm"), task("secret", "get-secret")),
        {
            "name": "get-cm",
            "resource": {
                "action": "get",
                "manifest": get.format(kind="ConfigMap", name="settings"),
            },
            "outputs": {
                "parameters": [{"name": "colour", "valueFrom": {"jsonPath": "{.data.colour}"}}]
            },
        },
        {
            "name": "get-secret",
            "resource": {"action": "get", "manifest": get.format(kind="Secret", name="token")},
        },
    )
    result = run_local(wf, apply=[applied])
    assert result.phase == "Succeeded"
    assert result.node("cm").outputs.parameters == {"colour": "blue"}
    objects = json.loads((result.run_dir / "objects.json").read_text())
    assert {(o["kind"], o["metadata"]["name"]) for o in objects} == {
        ("ConfigMap", "settings"),
        ("Secret", "token"),
    }


def test_apply_refuses_what_it_cannot_keep(run_local, tmp_path):
    wf = reader()
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}}
    tfjob = {"apiVersion": "kubeflow.org/v1", "kind": "TFJob", "metadata": {"name": "t"}}
    cases = [
        ([deployment], "document 1: Deployment d: --apply keeps plain objects only"),
        ([tfjob], "TFJob t: --apply keeps plain objects only; its operator runs only for a"),
        ([config_map(colour=3)], "data must map keys to strings"),
        ([config_map(colour="a"), config_map(colour="b")], "ConfigMap default/settings already"),
        ([{"kind": "ConfigMap", "data": {}}], "document 1: needs a kind and a metadata.name"),
    ]
    for objects, expected in cases:
        with pytest.raises(UserError, match=expected):
            run_local(wf, apply=[write(tmp_path, *objects)])
    assert not (tmp_path / "work" / "runs").exists()


def test_value_from_shape_is_checked(run_local):
    for value_from, expected in [
        ({}, "'valueFrom' needs configMapKeyRef"),
        ({"configMapKeyRef": {"name": "x"}}, "valueFrom.configMapKeyRef needs a key"),
        ({"supplied": {}}, "'supplied' is not supported"),
    ]:
        wf = reader()
        wf["spec"]["arguments"]["parameters"][0]["valueFrom"] = value_from
        with pytest.raises(UserError, match=expected):
            run_local(wf)


def test_cli_apply(tmp_path, capsys):
    wf = tmp_path / "wf.yaml"
    wf.write_text(yaml.safe_dump(reader()))
    applied = write(tmp_path, config_map(colour="red", size="2"))
    report = tmp_path / "status.json"
    argv = ["run", str(wf), "--work-dir", str(tmp_path / "w"), "--report-json", str(report)]
    assert main([*argv, "--apply", str(applied)]) == 0
    status = json.loads(report.read_text())
    shown = [n for n in status["nodes"].values() if n["displayName"] == "show"]
    assert shown[0]["outputs"]["result"] == "red 2"
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith(
        "error: template main: task show: inputs.parameters.colour of template show: ConfigMap"
    )
