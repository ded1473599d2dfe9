"""Where templates come from, checked against Argo's rules (workflow/templateresolution): names,
templateRef to WorkflowTemplates and ClusterWorkflowTemplates given as files, inline templates,
workflowTemplateRef, templateDefaults and dag.target. Each run asserts the workflow's phase and
every node as Argo reports it: name, displayName, type, phase and where its template came from.
"""

import argparse
import textwrap
from datetime import datetime, timezone

import pytest
import yaml

from mlflows.cli import main
from mlflows.errors import UserError
from mlflows.local import add_arguments, run_from_args

LIBRARY = """
apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata:
  name: lib
spec:
  templates:
  - name: greet
    inputs:
      parameters:
      - name: who
    steps:
    - - name: say
        template: echo
        arguments:
          parameters:
          - name: msg
            value: "hello {{inputs.parameters.who}}"
  - name: echo
    inputs:
      parameters:
      - name: msg
    container:
      image: alpine
      command: [sh, -c]
      args: ["echo {{inputs.parameters.msg}}"]
---
apiVersion: argoproj.io/v1alpha1
kind: ClusterWorkflowTemplate
metadata:
  name: shared
spec:
  templates:
  - name: shout
    inputs:
      parameters:
      - name: word
        default: hey
    container:
      image: alpine
      command: [sh, -c]
      args: ["echo {{inputs.parameters.word}} | tr a-z A-Z"]
"""

REFS = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: refs
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - name: a
        templateRef: {name: lib, template: greet}
        arguments:
          parameters: [{name: who, value: world}]
      - name: b
        depends: a
        templateRef: {name: shared, template: shout, clusterScope: true}
      - name: c
        depends: b
        inline:
          container:
            image: alpine
            command: [sh, -c]
            args: ["echo inline {{tasks.b.outputs.result}} {{pod.name}}"]
"""


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def documents(text: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def nodes(result) -> dict[str, tuple]:
    """Every node of the report: name -> (displayName, type, phase)."""
    return {
        node["name"]: (node["displayName"], node["type"], node["phase"])
        for node in result.status["nodes"].values()
    }


def by_name(result) -> dict[str, dict]:
    return {node["name"]: node for node in result.status["nodes"].values()}


def test_template_ref_to_workflow_and_cluster_templates_and_inline(run_local, tmp_path):
    library = write(tmp_path, "lib.yaml", LIBRARY)
    result = run_local(documents(REFS)[0], templates=[library])

    assert result.phase == "Succeeded"
    assert nodes(result) == {
        "refs": ("refs", "DAG", "Succeeded"),
        "refs.a": ("a", "Steps", "Succeeded"),
        "refs.a[0]": ("[0]", "StepGroup", "Succeeded"),
        "refs.a[0].say": ("say", "Pod", "Succeeded"),
        "refs.b": ("b", "Pod", "Succeeded"),
        "refs.c": ("c", "Pod", "Succeeded"),
    }
    report = by_name(result)
    # templateScope: where the call was resolved; the WorkflowTemplate's own calls resolve in it
    scopes = {name: node["templateScope"] for name, node in report.items()}
    assert scopes == {
        "refs": "local/refs",
        "refs.a": "local/refs",
        "refs.a[0]": "namespaced/lib",
        "refs.a[0].say": "namespaced/lib",
        "refs.b": "local/refs",
        "refs.c": "local/refs",
    }
    assert report["refs.a"]["templateRef"] == {"name": "lib", "template": "greet"}
    assert "templateName" not in report["refs.a"]
    assert report["refs.b"]["templateRef"] == {
        "name": "shared",
        "template": "shout",
        "clusterScope": True,
    }
    assert report["refs.a[0].say"]["templateName"] == "echo"
    assert "templateName" not in report["refs.c"] and "templateRef" not in report["refs.c"]
    assert result.node("say").outputs.result == "hello world"
    assert result.node("b").outputs.result == "HEY"
    # an inline template is substituted with its task; it has no name, so its pod is named after
    # the workflow alone
    assert result.node("c").outputs.result.startswith("inline HEY refs-")


def test_template_ref_in_steps_and_inline_step(run_local, tmp_path):
    library = write(tmp_path, "lib.yaml", LIBRARY)
    wf = documents(
        """
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {name: stepref}
        spec:
          entrypoint: main
          templates:
          - name: main
            steps:
            - - name: loud
                templateRef: {name: shared, template: shout, clusterScope: true}
                arguments: {parameters: [{name: word, value: quiet}]}
            - - name: inline
                inline:
                  script:
                    image: python
                    command: [python]
                    source: print("{{steps.loud.outputs.result}}".lower())
        """.replace("\n        ", "\n")
    )[0]
    result = run_local(wf, templates=[library])

    assert result.phase == "Succeeded"
    assert nodes(result) == {
        "stepref": ("stepref", "Steps", "Succeeded"),
        "stepref[0]": ("[0]", "StepGroup", "Succeeded"),
        "stepref[0].loud": ("loud", "Pod", "Succeeded"),
        "stepref[1]": ("[1]", "StepGroup", "Succeeded"),
        "stepref[1].inline": ("inline", "Pod", "Succeeded"),
    }
    assert result.node("inline").outputs.result == "quiet"


def test_workflow_template_ref_with_argument_override(run_local, tmp_path):
    template = write(
        tmp_path,
        "greeter.yaml",
        """
        apiVersion: argoproj.io/v1alpha1
        kind: WorkflowTemplate
        metadata: {name: greeter}
        spec:
          entrypoint: main
          arguments:
            parameters:
            - {name: who, value: template, enum: [template, nobody]}
            - {name: greeting, value: hello}
          templates:
          - name: main
            container:
              image: alpine
              command: [sh, -c]
              args: ["echo {{workflow.parameters.greeting}} {{workflow.parameters.who}}"]
        """,
    )
    wf = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"name": "byref"},
        "spec": {
            "workflowTemplateRef": {"name": "greeter"},
            "arguments": {"parameters": [{"name": "who", "value": "workflow"}]},
        },
    }
    result = run_local(wf, templates=[template])

    assert result.phase == "Succeeded"
    assert nodes(result) == {"byref": ("byref", "Pod", "Succeeded")}
    # JoinWorkflowSpec: the Workflow's declaration of `who` wins whole (the enum goes with it);
    # `greeting` is the WorkflowTemplate's. Its spec has no name of its own: scope "local/".
    assert result.node("byref").outputs.result == "hello workflow"
    assert by_name(result)["byref"]["templateScope"] == "local/"
    assert by_name(result)["byref"]["templateName"] == "main"

    overridden = run_local(  # a work dir of its own: Argo refuses a second Workflow "byref"
        wf, templates=[template], parameters={"greeting": "hi"}, work_dir=tmp_path / "again"
    )
    assert overridden.node("byref").outputs.result == "hi workflow"


def test_template_defaults_merge_into_every_template(run_local, tmp_path):
    wf = documents(
        """
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {name: defaults}
        spec:
          entrypoint: main
          templateDefaults:
            timeout: 1m
            retryStrategy: {limit: 1}
            container:
              env:
              - {name: SHARED, value: from-defaults}
              - {name: OWN, value: overridden}
            script:
              env:
              - {name: SHARED, value: script-default}
          templates:
          - name: main
            dag:
              tasks:
              - {name: env, template: env}
              - {name: script, template: script}
              - {name: flaky, template: flaky}
          - name: env
            container:
              image: alpine
              command: [sh, -c]
              args: ["echo $SHARED $OWN"]
              env:
              - {name: OWN, value: own}
          - name: script
            script:
              image: alpine
              command: [sh]
              source: echo $SHARED
          - name: flaky
            container:
              image: alpine
              command: [sh, -c]
              args: ["test -e /state/tried && echo again && exit 0; touch /state/tried; exit 1"]
              volumeMounts: [{name: state, mountPath: /state}]
          volumes: [{name: state, persistentVolumeClaim: {claimName: state}}]
        """.replace("\n        ", "\n")
    )[0]
    result = run_local(wf)

    assert result.phase == "Succeeded"
    # retryStrategy from the defaults makes every template a Retry node, its attempts below it;
    # timeout reaches the pods only (on a DAG, which is never Pending, Argo never applies it)
    assert nodes(result) == {
        "defaults": ("defaults", "Retry", "Succeeded"),
        "defaults(0)": ("defaults(0)", "DAG", "Succeeded"),
        "defaults(0).env": ("env", "Retry", "Succeeded"),
        "defaults(0).env(0)": ("env(0)", "Pod", "Succeeded"),
        "defaults(0).script": ("script", "Retry", "Succeeded"),
        "defaults(0).script(0)": ("script(0)", "Pod", "Succeeded"),
        "defaults(0).flaky": ("flaky", "Retry", "Succeeded"),
        "defaults(0).flaky(0)": ("flaky(0)", "Pod", "Failed"),
        "defaults(0).flaky(1)": ("flaky(1)", "Pod", "Succeeded"),
    }
    # env merges by name, the template's own entry winning; a script takes the script defaults
    assert result.node("env(0)").outputs.result == "from-defaults own"
    assert result.node("script(0)").outputs.result == "script-default"
    assert result.node("flaky(1)").outputs.result == "again"


DAG_TARGETS = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: targets}
spec:
  entrypoint: dag-target
  arguments:
    parameters: [{name: target, value: E}]
  templates:
  - name: dag-target
    dag:
      target: "{{workflow.parameters.target}}"
      tasks:
      - {name: A, template: echo, arguments: {parameters: [{name: message, value: A}]}}
      - {name: B, depends: A, template: echo, arguments: {parameters: [{name: message, value: B}]}}
      - {name: C, depends: A, template: echo, arguments: {parameters: [{name: message, value: C}]}}
      - name: D
        depends: B && C
        template: echo
        arguments: {parameters: [{name: message, value: D}]}
      - {name: E, depends: C, template: echo, arguments: {parameters: [{name: message, value: E}]}}
  - name: echo
    inputs: {parameters: [{name: message}]}
    container: {image: alpine, command: [echo, "{{inputs.parameters.message}}"]}
"""


def test_dag_target_runs_the_targets_and_what_they_depend_on(run_local, tmp_path):
    wf = documents(DAG_TARGETS)[0]  # Argo's examples/dag-targets.yaml
    result = run_local(wf)
    assert result.phase == "Succeeded"
    assert nodes(result) == {
        "targets": ("targets", "DAG", "Succeeded"),
        "targets.A": ("A", "Pod", "Succeeded"),
        "targets.C": ("C", "Pod", "Succeeded"),
        "targets.E": ("E", "Pod", "Succeeded"),
    }

    # each run a work dir of its own: Argo refuses a second Workflow of one name
    both = run_local(wf, parameters={"target": "D E"}, work_dir=tmp_path / "both")
    assert set(nodes(both)) == {"targets", *(f"targets.{t}" for t in "ABCDE")}

    unknown = run_local(wf, parameters={"target": "Z"}, work_dir=tmp_path / "unknown")
    assert unknown.phase == "Error"
    assert nodes(unknown) == {"targets": ("targets", "DAG", "Error")}
    assert (
        unknown.node("targets").message == "dag.target names 'Z', which is not a task of this DAG"
    )


REFUSED = [
    (
        "task a: templateRef: no WorkflowTemplate named 'lib'; give it with --templates or --apply",
        lambda wf: wf,
        [],
    ),
    (
        "template main: task a: templateRef: WorkflowTemplate lib has no template named 'gret'",
        lambda wf: wf["spec"]["templates"][0]["dag"]["tasks"][0]["templateRef"].update(
            template="gret"
        ),
        ["lib"],
    ),
    (
        "task b: templateRef: no ClusterWorkflowTemplate named 'shared'",
        lambda wf: wf,
        ["lib-only"],
    ),
    (
        "task a: give exactly one of template, templateRef or inline",
        lambda wf: wf["spec"]["templates"][0]["dag"]["tasks"][0].update(template="main"),
        ["lib"],
    ),
    (
        "task a: the template is chosen at run time",
        lambda wf: wf["spec"]["templates"][0]["dag"]["tasks"][0]["templateRef"].update(
            name="{{workflow.parameters.lib}}"
        ),
        ["lib"],
    ),
    (
        "task c: inline: needs exactly one of container",
        lambda wf: wf["spec"]["templates"][0]["dag"]["tasks"][2].update(inline={}),
        ["lib"],
    ),
]


@pytest.mark.parametrize("expected, change, given", REFUSED, ids=range(len(REFUSED)))
def test_missing_templates_and_refs_are_refused_in_one_line(
    run_local, tmp_path, expected, change, given
):
    wf = documents(REFS)[0]
    change(wf)
    library = documents(LIBRARY)
    files = {
        "lib": [library[0], library[1]],
        "lib-only": [library[0]],
    }
    paths = []
    for name in given:
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump_all(files[name]))
        paths.append(path)
    with pytest.raises(UserError) as refused:
        run_local(wf, templates=paths)
    assert expected in str(refused.value)
    assert "\n" not in str(refused.value)
    assert not (tmp_path / "work" / "runs").exists()


def test_a_workflow_template_resolves_names_in_itself(run_local, tmp_path):
    """A referenced template calls `echo` by name: in its WorkflowTemplate, never the Workflow."""
    library = documents(LIBRARY)
    del library[0]["spec"]["templates"][1]  # lib's echo
    path = tmp_path / "lib.yaml"
    path.write_text(yaml.safe_dump_all(library))
    wf = documents(REFS)[0]
    wf["spec"]["templates"].append(
        {"name": "echo", "container": {"image": "alpine", "command": ["true"]}}
    )
    with pytest.raises(
        UserError,
        match=r"^WorkflowTemplate lib: template greet: steps\[0\] say: no template named 'echo' "
        r"in WorkflowTemplate lib$",
    ):
        run_local(wf, templates=[path])


def test_template_files_are_checked(run_local, tmp_path):
    wf = documents(REFS)[0]
    cases = [
        ("kind: ConfigMap\nmetadata: {name: c}\n", "kind ConfigMap is not a WorkflowTemplate"),
        (LIBRARY + "---\n" + LIBRARY.split("---")[0], "WorkflowTemplate lib is given twice"),
        ("kind: WorkflowTemplate\nmetadata: {name: x}\nspec: {templates: 3}\n", "expected a list"),
        (
            LIBRARY.replace("name: lib", "name: lib\n  namespace: other"),
            "no WorkflowTemplate named 'lib'; the one given is in namespace other",
        ),
        ("a: [", "not valid YAML at line 1"),
        (  # the workflow itself, beside its library (a directory of both)
            "kind: Workflow\nmetadata: {generateName: e2e-}\n",
            "t.yaml document 1: a Workflow; give the one to run as the file, not --templates$",
        ),
    ]
    for text, expected in cases:
        path = tmp_path / "t.yaml"
        path.write_text(text)
        with pytest.raises(UserError, match=expected):
            run_local(wf, templates=[path])
    wf["spec"]["workflowTemplateRef"] = {"name": "lib"}
    with pytest.raises(UserError, match="takes its templates from the WorkflowTemplate"):
        run_local(wf, templates=[write(tmp_path, "lib.yaml", LIBRARY)])


def test_cli_and_flows_take_templates_from_files_and_directories(tmp_path, capsys):
    library_dir = tmp_path / "library"
    library_dir.mkdir()
    first, second = LIBRARY.split("---")
    (library_dir / "1-lib.yaml").write_text(first)
    (library_dir / "2-shared.yml").write_text(second)
    (library_dir / "notes.txt").write_text("not read")
    workflow = write(tmp_path, "wf.yaml", REFS)
    report = tmp_path / "status.json"
    argv = ["run", str(workflow), "--templates", str(library_dir), "--work-dir", str(tmp_path)]
    assert main([*argv, "--report-json", str(report)]) == 0
    assert '"templateScope": "namespaced/lib"' in report.read_text()

    assert main(["run", str(workflow), "--work-dir", str(tmp_path)]) == 2
    assert "no WorkflowTemplate named 'lib'" in capsys.readouterr().err

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(
        ["--templates", str(library_dir / "1-lib.yaml"), str(library_dir / "2-shared.yml")]
        + ["--work-dir", str(tmp_path / "flow")]
    )
    assert run_from_args(workflow, args).node("b").outputs.result == "HEY"


def test_documents_are_valid_argo(schema_dir):
    from mlflows.schema import validate_workflow

    for text in (LIBRARY, REFS, DAG_TARGETS):
        for document in documents(text):
            assert validate_workflow(document, "4.1", schema_dir) == []


def test_workflow_variables_name_the_run_and_its_spec(run_local):
    wf = documents(
        """
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {generateName: vars-, labels: {team: a}}
        spec:
          entrypoint: main
          priority: 5
          serviceAccountName: runner
          templates:
          - name: main
            container:
              image: alpine
              command: [echo]
              args:
              - "{{workflow.mainEntrypoint}} {{workflow.priority}} {{workflow.serviceAccountName}}"
              - "{{workflow.labels.team}} {{workflow.namespace}}"
              - "{{workflow.creationTimestamp.Y}}"
        """.replace("\n        ", "\n")
    )[0]
    result = run_local(wf)
    assert result.succeeded, result.message
    (pod,) = [node for node in result.nodes if node.type == "Pod"]
    year = str(datetime.now(timezone.utc).year)
    assert pod.outputs.result == f"main 5 runner a default {year}"
