"""Every rendered workflow equals its committed golden YAML (``pytest --update-goldens`` rewrites
them); rendering is deterministic; the scripts print exactly what the goldens hold."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from repo_workflows import EXAMPLES, REPO, example_workflow

from mlflows.cluster import setup_manifests
from mlflows.library import TemplateLibrary, template_manifests
from mlflows.load_testing import LoadTest
from mlflows.rendering import render, to_yaml
from mlflows.schedule import cron_workflow

FLOW_RENDERINGS = {
    "e2e.yaml": ({}, "4.1"),
    "e2e.argo-3.7.yaml": ({}, "3.7"),
    "e2e.sync.yaml": ({"asynchronous": False}, "4.1"),
    "e2e.templates.yaml": ({"library": TemplateLibrary()}, "4.1"),
    "e2e.static.yaml": ({"loop": False}, "4.1"),
    "e2e.static.argo-3.7.yaml": ({"loop": False}, "3.7"),
    "e2e.static.sync.yaml": ({"loop": False, "asynchronous": False}, "4.1"),
    "e2e.sweep.yaml": ({"sweep": "learning_rate=1e-3,3e-3;batch_size=32,64"}, "4.1"),
    "e2e.load-test.yaml": ({"load": LoadTest(duration="30s")}, "4.1"),
    "e2e.load-test.argo-3.7.yaml": ({"load": LoadTest(duration="30s")}, "3.7"),
}
SCHEDULE = ["0 3 * * 1", "Europe/Berlin"]
LIBRARY_GOLDENS = {"templates.yaml": "4.1", "templates.argo-3.7.yaml": "3.7"}


def library_text(argo_version: str, namespace: str | None = "mlflows", cluster=False) -> str:
    manifests = template_manifests(namespace, TemplateLibrary(cluster_scope=cluster), argo_version)
    return "---\n".join(to_yaml(manifest) for manifest in manifests)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.stem)
def test_example_matches_golden(example: Path, goldens):
    goldens.check(example.with_suffix(".yaml"), to_yaml(render(example_workflow(example))))


@pytest.mark.parametrize("golden", sorted(FLOW_RENDERINGS))
def test_e2e_matches_golden(golden: str, e2e, goldens):
    options, argo_version = FLOW_RENDERINGS[golden]
    goldens.check(
        REPO / "flows" / golden, to_yaml(render(e2e.build_workflow(**options), argo_version))
    )


def test_e2e_schedule_matches_golden(e2e, goldens):
    manifest = cron_workflow(render(e2e.build_workflow()), *SCHEDULE)
    goldens.check(REPO / "flows" / "e2e.cron.yaml", to_yaml(manifest))


@pytest.mark.parametrize("golden", sorted(LIBRARY_GOLDENS))
def test_template_library_matches_golden(golden, goldens):
    goldens.check(REPO / "tests" / "golden" / golden, library_text(LIBRARY_GOLDENS[golden]))


def test_setup_manifests_match_golden(goldens):
    text = "---\n".join(to_yaml(manifest) for manifest in setup_manifests("mlflows"))
    goldens.check(REPO / "tests" / "golden" / "setup-manifests.yaml", text)


def test_rendering_is_deterministic(e2e):
    first = to_yaml(render(e2e.build_workflow()))
    second = to_yaml(render(e2e.build_workflow()))
    assert first == second
    assert "{{workflow.name}}" in first  # run-specific names are left to Argo, not made up here
    assert library_text("4.1") == library_text("4.1")


@pytest.mark.parametrize(
    "command, golden",
    [
        (["flows/e2e.py"], "flows/e2e.yaml"),
        (["flows/e2e.py", "--argo-version", "3.7"], "flows/e2e.argo-3.7.yaml"),
        (["flows/e2e.py", "--use-templates"], "flows/e2e.templates.yaml"),
        (["flows/e2e.py", "--fan-out", "loop"], "flows/e2e.yaml"),
        (["flows/e2e.py", "--fan-out", "static"], "flows/e2e.static.yaml"),
        (
            ["flows/e2e.py", "--sweep", "learning_rate=1e-3,3e-3;batch_size=32,64"],
            "flows/e2e.sweep.yaml",
        ),
        (["flows/e2e.py", "--load-test", "30s"], "flows/e2e.load-test.yaml"),
        (
            ["flows/e2e.py", "--schedule", SCHEDULE[0], "--timezone", SCHEDULE[1]],
            "flows/e2e.cron.yaml",
        ),
        (["-m", "mlflows", "templates"], "tests/golden/templates.yaml"),
        (
            ["-m", "mlflows", "templates", "--argo-version", "3.7"],
            "tests/golden/templates.argo-3.7.yaml",
        ),
        *[([f"examples/{path.name}"], f"examples/{path.stem}.yaml") for path in EXAMPLES],
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_script_prints_its_golden(command: list[str], golden: str):
    printed = subprocess.run(
        [sys.executable, *command], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    assert printed == (REPO / golden).read_text()


def test_output_option_writes_the_file(tmp_path):
    target = tmp_path / "workflow.yaml"
    result = subprocess.run(
        [sys.executable, "flows/e2e.py", "--output", str(target)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert target.read_text() == (REPO / "flows" / "e2e.yaml").read_text()
