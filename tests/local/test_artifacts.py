"""Artifacts as Argo v4.1.2 passes them, with ``<work-dir>/artifacts/`` as the default repository:
files and directories between DAG tasks and steps, raw, optional, ``archive: none``, globalName,
``spec.arguments``, key-only, DAG outputs ``from``; outside locations refused in one line. Each
workflow runs with pods isolated (where this machine can) and not."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
from localrun_helpers import by_display_name, dag, sh, task, workflow

from mlflows.errors import UserError
from mlflows.local.executor.isolation import SETTING


@pytest.fixture(params=["auto", "none"], autouse=True)
def isolation(request, monkeypatch):
    monkeypatch.setenv(SETTING, request.param)
    return request.param


def arts(*listed: dict) -> dict:
    return {"artifacts": list(listed)}


def phases(result) -> dict[str, str]:
    return {name: node["phase"] for name, node in by_display_name(result).items()}


def printed(result, name: str) -> str:
    return by_display_name(result)[name]["outputs"]["result"]


def test_file_and_directory_artifacts_pass_between_dag_tasks(run_local, tmp_path):
    result = run_local(
        workflow(
            dag(
                "main",
                task("make", "make"),
                task(
                    "use",
                    "use",
                    depends="make",
                    arguments=arts(
                        {"name": "file", "from": "{{tasks.make.outputs.artifacts.file}}"},
                        {"name": "dir", "from": "{{tasks.make.outputs.artifacts.dir}}"},
                    ),
                ),
            ),
            sh(
                "make",
                "mkdir -p /tmp/out/sub && echo hello > /tmp/one.txt && echo a > /tmp/out/a "
                "&& echo b > /tmp/out/sub/b",
                outputs=arts(
                    {"name": "file", "path": "/tmp/one.txt"},
                    {"name": "dir", "path": "/tmp/out"},
                ),
            ),
            sh(
                "use",
                "cat /data/file.txt; cat /data/dir/a /data/dir/sub/b",
                inputs=arts(
                    {"name": "file", "path": "/data/file.txt"},
                    {"name": "dir", "path": "/data/dir"},
                ),
            ),
        )
    )
    assert result.phase == "Succeeded", result.status["message"]
    assert phases(result) == {result.name: "Succeeded", "make": "Succeeded", "use": "Succeeded"}
    assert printed(result, "use") == "hello\na\nb"
    make = by_display_name(result)["make"]
    assert make["outputs"]["artifacts"] == [
        {"name": "file", "path": "/tmp/one.txt"},
        {"name": "dir", "path": "/tmp/out"},
    ]
    # Argo's default key format: {{workflow.name}}/{{pod.name}}/<artifact>.tgz, a gzipped tarball
    pods = list((tmp_path / "work" / "artifacts" / result.name).iterdir())
    stored = {path.name for pod in pods for path in pod.iterdir()}
    assert stored == {"file.tgz", "dir.tgz"}
    with tarfile.open(next(p for p in pods if (p / "dir.tgz").exists()) / "dir.tgz") as tar:
        assert sorted(tar.getnames()) == ["out", "out/a", "out/sub", "out/sub/b"]


def test_steps_pass_an_unarchived_directory_and_a_sub_path(run_local, tmp_path):
    result = run_local(
        workflow(
            {
                "name": "main",
                "steps": [
                    [{"name": "make", "template": "make"}],
                    [
                        {
                            "name": "use",
                            "template": "use",
                            "arguments": arts(
                                {
                                    "name": "in",
                                    "from": "{{steps.make.outputs.artifacts.out}}",
                                    "subPath": "sub/b",
                                }
                            ),
                        }
                    ],
                ],
            },
            sh(
                "make",
                "mkdir -p /tmp/out/sub && echo b > /tmp/out/sub/b",
                outputs=arts({"name": "out", "path": "/tmp/out", "archive": {"none": {}}}),
            ),
            sh("use", "cat /tmp/in", inputs=arts({"name": "in", "path": "/tmp/in"})),
        )
    )
    assert result.phase == "Succeeded", result.status["message"]
    assert phases(result) == {
        result.name: "Succeeded",
        "[0]": "Succeeded",
        "make": "Succeeded",
        "[1]": "Succeeded",
        "use": "Succeeded",
    }
    assert printed(result, "use") == "b"
    (pod,) = (tmp_path / "work" / "artifacts" / result.name).iterdir()
    assert (pod / "out" / "sub" / "b").read_text() == "b\n"  # stored as is, named after the path


def test_raw_and_optional_artifacts(run_local):
    result = run_local(
        workflow(
            dag(
                "main",
                task(
                    "raw",
                    "raw",
                    arguments=arts({"name": "arg", "raw": {"data": "from the task\n"}}),
                ),
                task("missing", "missing"),
            ),
            sh(
                "raw",
                "cat /tmp/raw /tmp/arg; test ! -e /tmp/none && echo absent",
                inputs=arts(
                    {"name": "raw", "path": "/tmp/raw", "raw": {"data": "raw data\n"}},
                    {"name": "arg", "path": "/tmp/arg"},
                    {"name": "none", "path": "/tmp/none", "optional": True},
                ),
            ),
            sh(
                "missing",
                "true",
                outputs=arts({"name": "gone", "path": "/tmp/gone", "optional": True}),
            ),
        )
    )
    assert result.phase == "Succeeded", result.status["message"]
    assert phases(result) == {result.name: "Succeeded", "raw": "Succeeded", "missing": "Succeeded"}
    assert printed(result, "raw") == "raw data\nfrom the task\nabsent"
    assert "artifacts" not in (by_display_name(result)["missing"].get("outputs") or {})


def test_an_input_without_a_source_errs(run_local):
    result = run_local(
        workflow(
            dag("main", task("use", "use")),
            sh("use", "true", inputs=arts({"name": "a", "path": "/tmp/a"})),
        )
    )
    assert result.phase == "Error"
    assert phases(result) == {result.name: "Error", "use": "Error"}
    assert by_display_name(result)["use"]["message"] == "inputs.artifacts.a was not supplied"


def test_spec_arguments_raw_reaches_the_entrypoint(run_local):
    result = run_local(
        workflow(
            sh(
                "main",
                "cat {{inputs.artifacts.text.path}}; test ! -e /tmp/none && echo absent",
                inputs=arts(
                    {"name": "text", "path": "/tmp/text"},
                    {"name": "none", "path": "/tmp/none", "optional": True},
                ),
            ),
            arguments={"artifacts": [{"name": "text", "raw": {"data": "from spec\n"}}]},
        )
    )
    assert result.phase == "Succeeded", result.status["message"]
    assert phases(result) == {result.name: "Succeeded"}
    assert printed(result, result.name) == "from spec\nabsent"


def test_a_missing_output_artifact_fails_the_pod(run_local):
    result = run_local(workflow(sh("main", "true", outputs=arts({"name": "a", "path": "/tmp/a"}))))
    assert result.phase == "Error"
    assert by_display_name(result)[result.name]["message"] == (
        "outputs.artifacts.a: no file or directory at /tmp/a"
    )


def test_global_name_dag_outputs_and_key_only(run_local, tmp_path):
    result = run_local(
        workflow(
            {
                "name": "main",
                "steps": [
                    [{"name": "inner", "template": "inner"}],
                    [
                        {
                            "name": "show",
                            "template": "show",
                            "arguments": arts(
                                {"name": "a", "from": "{{steps.inner.outputs.artifacts.out}}"},
                                {"name": "b", "from": "{{workflow.outputs.artifacts.glob}}"},
                            ),
                        }
                    ],
                ],
            },
            dag(
                "inner",
                task("make", "make"),
                task("keyed", "keyed", depends="make"),
                outputs=arts({"name": "out", "from": "{{tasks.make.outputs.artifacts.a}}"}),
            ),
            sh(
                "make",
                "echo made > /tmp/a",
                outputs=arts(
                    {"name": "a", "path": "/tmp/a", "globalName": "glob"},
                    {"name": "k", "path": "/tmp/a", "s3": {"key": "shared/made.tgz"}},
                ),
            ),
            sh(
                "keyed",
                "cat /tmp/k",
                inputs=arts({"name": "k", "path": "/tmp/k", "s3": {"key": "shared/made.tgz"}}),
            ),
            sh(
                "show",
                "cat /tmp/a /tmp/b",
                inputs=arts({"name": "a", "path": "/tmp/a"}, {"name": "b", "path": "/tmp/b"}),
            ),
        )
    )
    assert result.phase == "Succeeded", result.status["message"]
    assert phases(result) == {
        result.name: "Succeeded",
        "[0]": "Succeeded",
        "inner": "Succeeded",
        "make": "Succeeded",
        "keyed": "Succeeded",
        "[1]": "Succeeded",
        "show": "Succeeded",
    }
    assert printed(result, "keyed") == "made"
    assert printed(result, "show") == "made\nmade"
    assert by_display_name(result)["inner"]["outputs"]["artifacts"] == [
        {"name": "out", "path": "/tmp/a"}
    ]
    assert (tmp_path / "work" / "artifacts" / "shared" / "made.tgz").is_file()


@pytest.mark.parametrize(
    ("artifact", "line"),
    [
        (
            {"name": "a", "path": "/tmp/a", "s3": {"bucket": "b", "key": "k"}},
            "template main: inputs.artifacts[a]: an artifact in s3 (an outside location) is not "
            "supported by the local runner",
        ),
        (
            {"name": "a", "path": "/tmp/a", "http": {"url": "https://example.com/a"}},
            "template main: inputs.artifacts[a]: an artifact in http (an outside location) is "
            "not supported by the local runner",
        ),
    ],
)
def test_outside_locations_are_refused_in_one_line(run_local, tmp_path, artifact, line):
    with pytest.raises(UserError) as refused:
        run_local(workflow(sh("main", "cat /tmp/a", inputs=arts(artifact))))
    assert str(refused.value).startswith(line)
    assert "\n" not in str(refused.value)
    assert not (tmp_path / "work" / "runs").exists() or not any(
        (tmp_path / "work" / "runs").iterdir()
    )


def test_the_report_and_the_workflow_are_valid_argo(run_local, schema_dir):
    from mlflows.schema import validate_argo_object, validate_workflow

    wf = workflow(
        dag(
            "main",
            task("make", "make"),
            task(
                "use",
                "use",
                depends="make",
                arguments=arts({"name": "in", "from": "{{tasks.make.outputs.artifacts.out}}"}),
            ),
            outputs=arts({"name": "out", "from": "{{tasks.make.outputs.artifacts.out}}"}),
        ),
        sh(
            "make",
            "echo x > /tmp/out",
            outputs=arts({"name": "out", "path": "/tmp/out", "archive": {"tar": {}}}),
        ),
        sh("use", "cat /tmp/in", inputs=arts({"name": "in", "path": "/tmp/in"})),
    )
    assert validate_workflow(wf, "4.1", schema_dir) == []
    result = run_local(wf)
    assert result.phase == "Succeeded", result.status["message"]
    assert phases(result) == {result.name: "Succeeded", "make": "Succeeded", "use": "Succeeded"}
    assert printed(result, "use") == "x"
    status = "io.argoproj.workflow.v1alpha1.WorkflowStatus"
    assert validate_argo_object(result.status, status, "4.1", schema_dir) == []


def test_a_memoized_node_hands_on_its_artifacts(run_local):
    """A cache hit's outputs keep their keys: the consumer reads what the first run saved."""
    wf = workflow(
        dag(
            "main",
            task("make", "make"),
            task(
                "use",
                "use",
                depends="make",
                arguments=arts({"name": "in", "from": "{{tasks.make.outputs.artifacts.out}}"}),
            ),
        ),
        sh(
            "make",
            "echo $$-$(date +%N) > /tmp/out",
            outputs=arts({"name": "out", "path": "/tmp/out"}),
            memoize={"key": "made", "cache": {"configMap": {"name": "artifacts-test"}}},
        ),
        sh("use", "cat /tmp/in", inputs=arts({"name": "in", "path": "/tmp/in"})),
    )
    first, second = run_local(wf), run_local(wf)
    for result in (first, second):
        assert result.phase == "Succeeded", result.status["message"]
        assert phases(result) == {result.name: "Succeeded", "make": "Succeeded", "use": "Succeeded"}
    assert by_display_name(second)["make"]["memoizationStatus"]["hit"] is True
    assert printed(second, "use") == printed(first, "use")


def test_a_dag_hands_its_input_artifact_on(run_local):
    result = run_local(
        workflow(
            dag(
                "main",
                task(
                    "inner",
                    "inner",
                    arguments=arts({"name": "text", "raw": {"data": "handed on\n"}}),
                ),
            ),
            dag(
                "inner",
                task(
                    "use",
                    "use",
                    arguments=arts({"name": "in", "from": "{{inputs.artifacts.text}}"}),
                ),
                inputs=arts({"name": "text"}),
            ),
            sh("use", "cat /tmp/in", inputs=arts({"name": "in", "path": "/tmp/in"})),
        )
    )
    assert result.phase == "Succeeded", result.status["message"]
    assert phases(result) == {result.name: "Succeeded", "inner": "Succeeded", "use": "Succeeded"}
    assert printed(result, "use") == "handed on"


def test_a_file_in_a_directory_the_pod_makes(run_local, tmp_path):
    """As the map step of Argo's map-reduce: the pod makes the output's directory itself (here
    below /mnt, which the host has): isolated or not, it is the pod's, never the host's."""
    out = "/mnt/mlflows-artifacts-test-made"
    wf = workflow(
        sh(
            "main",
            f"mkdir {out} && echo made > {out}/part.json",
            outputs=arts({"name": "part", "path": f"{out}/part.json", "archive": {"none": {}}}),
        )
    )
    first, second = run_local(wf), run_local(wf)  # a second pod makes it again, as in Argo
    for result in (first, second):
        assert result.phase == "Succeeded", result.status["message"]
        assert phases(result) == {result.name: "Succeeded"}
        (pod,) = (tmp_path / "work" / "artifacts" / result.name).iterdir()
        assert (pod / "part.json").read_text() == "made\n"
    assert not Path(out).exists()


def test_key_only_directory_made_by_the_pod(run_local, tmp_path):
    """As Argo's map-reduce example: a pod makes a directory the host lacks (below the host's
    /mnt), saves it unarchived under a key of its own, and the next reads that key."""
    out = "/mnt/mlflows-artifacts-test-out"
    result = run_local(
        workflow(
            dag("main", task("split", "split"), task("sum", "sum", depends="split")),
            sh(
                "split",
                f"mkdir {out} && echo 1 > {out}/a && echo 2 > {out}/b",
                outputs=arts(
                    {
                        "name": "parts",
                        "path": out,
                        "archive": {"none": {}},
                        "s3": {"key": "{{workflow.name}}/parts/"},
                    }
                ),
            ),
            sh(
                "sum",
                "cat /mnt/in/a /mnt/in/b",
                inputs=arts(
                    {"name": "parts", "path": "/mnt/in", "s3": {"key": "{{workflow.name}}/parts"}}
                ),
            ),
        )
    )
    assert result.phase == "Succeeded", result.status["message"]
    assert phases(result) == {result.name: "Succeeded", "split": "Succeeded", "sum": "Succeeded"}
    assert printed(result, "sum") == "1\n2"
    stored = tmp_path / "work" / "artifacts" / result.name / "parts"
    assert sorted(path.name for path in stored.iterdir()) == ["a", "b"]
    assert not Path(out).exists()  # made inside the pod (or, not isolated, in its scratch)


def test_from_expression_picks_the_branch_that_ran(run_local):
    """As Argo's dag-conditional-artifacts: a DAG's output artifact from the task that ran."""
    result = run_local(
        workflow(
            {
                "name": "main",
                "steps": [
                    [{"name": "pick", "template": "pick"}],
                    [
                        {
                            "name": "show",
                            "template": "show",
                            "arguments": arts(
                                {"name": "in", "from": "{{steps.pick.outputs.artifacts.result}}"}
                            ),
                        }
                    ],
                ],
            },
            dag(
                "pick",
                task("flip", "flip"),
                task(
                    "heads", "heads", depends="flip", when="{{tasks.flip.outputs.result}} == heads"
                ),
                task(
                    "tails", "tails", depends="flip", when="{{tasks.flip.outputs.result}} == tails"
                ),
                outputs=arts(
                    {
                        "name": "result",
                        "fromExpression": "tasks.flip.outputs.result == 'heads' ? "
                        "tasks.heads.outputs.artifacts.result : "
                        "tasks.tails.outputs.artifacts.result",
                    }
                ),
            ),
            sh("flip", "echo tails"),
            sh(
                "heads",
                "echo it was heads > /tmp/r",
                outputs=arts({"name": "result", "path": "/tmp/r"}),
            ),
            sh(
                "tails",
                "echo it was tails > /tmp/r",
                outputs=arts({"name": "result", "path": "/tmp/r"}),
            ),
            sh("show", "cat /tmp/in", inputs=arts({"name": "in", "path": "/tmp/in"})),
        )
    )
    assert result.phase == "Succeeded", result.status["message"]
    assert phases(result) == {
        result.name: "Succeeded",
        "[0]": "Succeeded",
        "pick": "Succeeded",
        "flip": "Succeeded",
        "heads": "Skipped",
        "tails": "Succeeded",
        "[1]": "Succeeded",
        "show": "Succeeded",
    }
    assert printed(result, "show") == "it was tails"


def test_an_uncompressed_tarball_and_a_bad_level(run_local, tmp_path):
    def made(level) -> dict:
        return workflow(
            dag(
                "main",
                task("make", "make"),
                task(
                    "use",
                    "use",
                    depends="make",
                    arguments=arts({"name": "in", "from": "{{tasks.make.outputs.artifacts.out}}"}),
                ),
            ),
            sh(
                "make",
                "echo plain > /tmp/out",
                outputs=arts(
                    {
                        "name": "out",
                        "path": "/tmp/out",
                        "archive": {"tar": {"compressionLevel": level}},
                    }
                ),
            ),
            sh("use", "cat /tmp/in", inputs=arts({"name": "in", "path": "/tmp/in"})),
        )

    result = run_local(made(0))
    assert result.phase == "Succeeded", result.status["message"]
    assert phases(result) == {result.name: "Succeeded", "make": "Succeeded", "use": "Succeeded"}
    assert printed(result, "use") == "plain"
    (pod,) = (p for p in (tmp_path / "work" / "artifacts" / result.name).iterdir())
    assert b"plain\n" in (pod / "out.tgz").read_bytes()  # gzip level 0: stored, not deflated
    with pytest.raises(UserError, match=r"outputs.artifacts\[out\].archive.tar.compressionLevel"):
        run_local(made("fast"))


def test_an_input_path_from_a_parameter_and_an_optional_missing_key(run_local):
    result = run_local(
        workflow(
            dag(
                "main",
                task("use", "use", arguments={"parameters": [{"name": "dir", "value": "/tmp/in"}]}),
            ),
            sh(
                "use",
                "cat {{inputs.artifacts.text.path}}; test ! -e /tmp/gone && echo no key",
                inputs={
                    "parameters": [{"name": "dir"}],
                    "artifacts": [
                        {
                            "name": "text",
                            "path": "{{inputs.parameters.dir}}/text",
                            "raw": {"data": "at the parameter's path\n"},
                        },
                        {
                            "name": "gone",
                            "path": "/tmp/gone",
                            "optional": True,
                            "s3": {"key": "no/such/key"},
                        },
                    ],
                },
            ),
        )
    )
    assert result.phase == "Succeeded", result.status["message"]
    assert phases(result) == {result.name: "Succeeded", "use": "Succeeded"}
    assert printed(result, "use") == "at the parameter's path\nno key"


def test_global_outputs_of_a_dag(run_local):
    """globalName on a DAG's outputs, as on a pod's: later steps read them from workflow.outputs."""
    result = run_local(
        workflow(
            {
                "name": "main",
                "steps": [
                    [{"name": "inner", "template": "inner"}],
                    [
                        {
                            "name": "show",
                            "template": "show",
                            "arguments": arts(
                                {"name": "in", "from": "{{workflow.outputs.artifacts.art}}"}
                            ),
                        }
                    ],
                ],
            },
            dag(
                "inner",
                task("make", "make"),
                outputs={
                    "parameters": [
                        {
                            "name": "p",
                            "globalName": "param",
                            "valueFrom": {"parameter": "{{tasks.make.outputs.parameters.p}}"},
                        }
                    ],
                    "artifacts": [
                        {
                            "name": "a",
                            "globalName": "art",
                            "from": "{{tasks.make.outputs.artifacts.a}}",
                        }
                    ],
                },
            ),
            sh(
                "make",
                "echo value > /tmp/p; echo content > /tmp/a",
                outputs={
                    "parameters": [{"name": "p", "valueFrom": {"path": "/tmp/p"}}],
                    "artifacts": [{"name": "a", "path": "/tmp/a"}],
                },
            ),
            sh(
                "show",
                "echo {{workflow.outputs.parameters.param}}; cat /tmp/in",
                inputs=arts({"name": "in", "path": "/tmp/in"}),
            ),
        )
    )
    assert result.phase == "Succeeded", result.status["message"]
    assert phases(result) == {
        result.name: "Succeeded",
        "[0]": "Succeeded",
        "inner": "Succeeded",
        "make": "Succeeded",
        "[1]": "Succeeded",
        "show": "Succeeded",
    }
    assert printed(result, "show") == "value\ncontent"
