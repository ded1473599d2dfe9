"""The README's API tour is code that runs and renders the pipeline it describes."""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys

import yaml
from repo_workflows import REPO

from mlflows import cli
from mlflows.library import template_manifests
from mlflows.manifest import to_yaml


def test_api_tour_runs_and_renders_a_sweep():
    readme = (REPO / "README.md").read_text()
    tour = re.search(r"## A tour of the API\n\n```python\n(.*?)```", readme, re.S).group(1)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(tour, "README.md", "exec"), {})
    workflow = yaml.safe_load(printed.getvalue())
    names = [template["name"] for template in workflow["spec"]["templates"]]
    assert {"train-cnn", "train-cnn-fast", "promote", "select", "serve", "predict"} <= set(names)


def test_another_teams_workflow_calls_this_versions_library(tmp_path, schema_dir, capsys):
    """The README's YAML workflow names templates this version's library holds, with the
    inputs they need: it passes the schemas and the local runner's checks against it."""
    readme = (REPO / "README.md").read_text()
    section = readme.split("## A library of WorkflowTemplates", 1)[1]
    workflow = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    (tmp_path / "wf.yaml").write_text(workflow)
    library = tmp_path / "lib.yaml"
    library.write_text("---\n".join(map(to_yaml, template_manifests("team-a"))))
    validate = ["validate", str(tmp_path / "wf.yaml"), "--schema-dir", str(schema_dir)]
    assert cli.main([*validate, "--templates", str(library)]) == 0
    assert capsys.readouterr().out == "valid\n"
    assert "mlflows-train-v" in workflow


def test_the_testing_example_passes_under_pytest(tmp_path):
    """The README's mocked-workflow tests, as a user's test file, pass under the plugin."""
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Testing a workflow with mocks", 1)[1]
    (tmp_path / "test_nightly.py").write_text(
        re.search(r"```python\n(.*?)```", section, re.S).group(1)
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "mlflows.testing.plugin", "test_nightly.py"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "2 passed" in result.stdout
