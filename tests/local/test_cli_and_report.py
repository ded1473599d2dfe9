"""The `mlflows run` and `mlflows cache` commands, exit codes, and the Argo-shaped report."""

import json
import subprocess
import sys
import time

import pytest
import yaml
from localrun_helpers import dag, sh, task, workflow

from mlflows.cli import main
from mlflows.local.controller.memo import MemoCache
from mlflows.local.controller.nodes import Outputs


def write(tmp_path, wf, name="wf.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(wf))
    return path


PARAMETERIZED = workflow(
    dag(
        "main",
        task(
            "say",
            "say",
            arguments={
                "parameters": [
                    {
                        "name": "m",
                        "value": "{{workflow.parameters.greeting}} from {{workflow.name}}",
                    }
                ]
            },
        ),
    ),
    sh(
        "say",
        "echo {{inputs.parameters.m}}; test {{workflow.parameters.greeting}} != fail",
        inputs={"parameters": [{"name": "m"}]},
    ),
    arguments={"parameters": [{"name": "greeting", "value": "hi"}]},
)


def mlflows(*argv, cwd):
    return subprocess.run(
        [sys.executable, "-m", "mlflows", *map(str, argv)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_run_command_exit_codes_and_report(tmp_path):
    path = write(tmp_path, PARAMETERIZED)
    report = tmp_path / "report.json"
    ok = mlflows(
        "run",
        path,
        "-p",
        "greeting=hello",
        "--report-json",
        report,
        "--cache-dir",
        tmp_path / "cache",
        cwd=tmp_path,
    )
    assert ok.returncode == 0, ok.stderr
    status = json.loads(report.read_text())
    assert status["phase"] == "Succeeded"
    say = next(n for n in status["nodes"].values() if n["displayName"] == "say")
    assert say["outputs"]["result"].startswith("hello from t-")
    assert "Succeeded" in ok.stdout  # the summary
    assert (tmp_path / ".mlflows" / "runs").is_dir()  # default work dir

    failed = mlflows("run", path, "-p", "greeting=fail", cwd=tmp_path)
    assert failed.returncode == 1
    bad = mlflows("run", path, "-p", "nope=1", cwd=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "error: unknown parameter 'nope'; the workflow's parameters are: greeting"
    ]


def test_run_command_in_process(tmp_path, capsys):
    path = write(tmp_path, PARAMETERIZED)
    code = main(
        [
            "run",
            str(path),
            "--work-dir",
            str(tmp_path / "w"),
            "--cache-dir",
            str(tmp_path / "c"),
            "--parallelism",
            "1",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "Succeeded" in out and "say" in out


@pytest.mark.parametrize(
    "text, expected",
    [
        ("spec: [unclosed", "not valid YAML at line 1"),
        (
            "kind: CronWorkflow\nspec: {}\n",
            "kind 'CronWorkflow': the local runner runs kind: Workflow",
        ),
    ],
)
def test_bad_files(tmp_path, capsys, text, expected):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    assert main(["run", str(path), "--work-dir", str(tmp_path / "w")]) == 2
    assert expected in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["run", "missing.yaml"], "missing.yaml: cannot read it"),
        (["run", "list.yaml"], "list.yaml: expected exactly one Workflow document"),
        (["run", "wf.yaml", "-p", "greeting"], "-p 'greeting': write parameters as NAME=VALUE"),
        (["run", "wf.yaml", "--parallelism", "x"], "--parallelism 'x': give a positive number"),
        (["run", "wf.yaml", "--parallelism", "0"], "--parallelism 0: give a positive number"),
        (["cache", "prune", "--older-than", "xyz"], "--older-than 'xyz': give an age"),
        (["cache", "prune", "--older-than=-1h"], "--older-than '-1h': give an age"),
    ],
)
def test_user_mistakes_are_one_error_line(tmp_path, capsys, monkeypatch, argv, expected):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, PARAMETERIZED)
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    options = ["--work-dir", "w"] if argv[0] == "run" else []
    assert main([*argv, *options, "--cache-dir", "cache"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: ") and expected in line
    assert not (tmp_path / "w").exists()


def test_cache_commands(tmp_path, capsys):
    cache_dir = tmp_path / "cache"
    memo = MemoCache(cache_dir)
    memo.save("data", "old-key", "n1", Outputs(parameters={"record": "{}"}))
    memo.save("data", "new-key", "n2", Outputs())
    old = memo.load("data", "old-key")
    old.last_hit_at = time.time() - 8 * 86400
    from mlflows.local.controller.memo import _write

    _write(old)

    assert main(["cache", "list", "--cache-dir", str(cache_dir)]) == 0
    listing = capsys.readouterr().out
    assert "old-key" in listing and "new-key" in listing and "record" in listing

    assert main(["cache", "prune", "--older-than", "7d", "--cache-dir", str(cache_dir)]) == 0
    assert "removed data/old-key" in capsys.readouterr().out
    assert [e.key for e in memo.entries()] == ["new-key"]

    assert main(["cache", "prune", "--older-than", "soon", "--cache-dir", str(cache_dir)]) == 2
    # a cache name is a ConfigMap name, never a path: "--cache .." must not delete the cache dir
    bystander = cache_dir / "other-tool" / "keep.json"
    bystander.parent.mkdir()
    bystander.write_text("{}")
    assert main(["cache", "clear", "--cache", "..", "--cache-dir", str(cache_dir)]) == 2
    assert "--cache: invalid cache name '..'" in capsys.readouterr().err
    assert bystander.exists() and [e.key for e in memo.entries()] == ["new-key"]
    assert main(["cache", "clear", "--cache-dir", str(cache_dir)]) == 0
    assert memo.entries() == []


def test_report_validates_against_argo_status_schema(run_local, schema_dir):
    from mlflows.schema import validate_argo_object

    result = run_local(
        workflow(
            dag(
                "main",
                task("a", "ok"),
                task("b", "ok", depends="a.Failed"),
                task("c", "retried", depends="a"),
            ),
            sh(
                "ok",
                "echo x > /tmp/o",
                outputs={"parameters": [{"name": "o", "valueFrom": {"path": "/tmp/o"}}]},
                memoize={
                    "key": "k",
                    "maxAge": "1h",
                    "cache": {"configMap": {"name": "schema-test"}},
                },
            ),
            sh("retried", "true", retryStrategy={"limit": 1}),
        )
    )
    status = "io.argoproj.workflow.v1alpha1.WorkflowStatus"
    assert validate_argo_object(result.status, status, "4.1", schema_dir) == []
    assert {n["type"] for n in result.status["nodes"].values()} == {
        "DAG",
        "Pod",
        "Skipped",
        "Retry",
    }
