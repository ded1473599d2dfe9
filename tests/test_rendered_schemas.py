"""Every workflow mlflows renders passes Argo's schema strictly (closed objects), for the Argo
version it was rendered for, and every TFJob / InferenceService inside passes its CRD."""

from __future__ import annotations

import pytest
from repo_workflows import EXAMPLES, example_workflow

from mlflows.canary import Canary
from mlflows.library import TemplateLibrary, template_manifests
from mlflows.load_testing import LoadTest
from mlflows.rendering import render
from mlflows.schedule import cron_workflow
from mlflows.schema import validate_workflow

SCOPES = {"namespace": TemplateLibrary(), "cluster": TemplateLibrary(cluster_scope=True)}


@pytest.mark.parametrize("argo_version", ["4.1", "3.7"])
@pytest.mark.parametrize("asynchronous", [True, False], ids=["async", "sync"])
@pytest.mark.parametrize("loop", [False, True], ids=["static", "loop"])
def test_e2e_is_valid(e2e, schema_dir, argo_version, asynchronous, loop):
    manifest = render(e2e.build_workflow(asynchronous=asynchronous, loop=loop), argo_version)
    assert validate_workflow(manifest, argo_version, schema_dir) == []


@pytest.mark.parametrize("argo_version", ["4.1", "3.7"])
@pytest.mark.parametrize("loop", [False, True], ids=["static", "loop"])
def test_e2e_with_a_load_test_is_valid(e2e, schema_dir, argo_version, loop):
    manifest = render(e2e.build_workflow(loop=loop, load=LoadTest()), argo_version)
    assert "load-test" in {template["name"] for template in manifest["spec"]["templates"]}
    assert validate_workflow(manifest, argo_version, schema_dir) == []


@pytest.mark.parametrize("argo_version", ["4.1", "3.7"])
@pytest.mark.parametrize("loop", [False, True], ids=["static", "loop"])
def test_e2e_with_a_canary_rollout_is_valid(e2e, schema_dir, argo_version, loop):
    """The canary, patch and get resource templates too: each InferenceService (the patches'
    partial ones included) against the KServe CRD."""
    manifest = render(e2e.build_workflow(loop=loop, rollout=Canary(percent=20)), argo_version)
    assert validate_workflow(manifest, argo_version, schema_dir) == []


def test_a_v41_rendering_is_not_valid_for_37_and_back(e2e, schema_dir):
    """The versions really differ for this workflow: each rendering fits only its own target."""
    workflow = e2e.build_workflow()
    assert validate_workflow(render(workflow, "4.1"), "3.7", schema_dir)
    assert validate_workflow(render(workflow, "3.7"), "4.1", schema_dir)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.stem)
@pytest.mark.parametrize("argo_version", ["4.1", "3.7"])
def test_example_is_valid(example, argo_version, schema_dir):
    manifest = render(example_workflow(example), argo_version)
    assert validate_workflow(manifest, argo_version, schema_dir) == []


@pytest.mark.parametrize("argo_version", ["4.1", "3.7"])
@pytest.mark.parametrize("scope", sorted(SCOPES))
def test_template_library_is_valid(schema_dir, argo_version, scope):
    library = SCOPES[scope]
    manifests = template_manifests(
        None if library.cluster_scope else "mlflows", library, argo_version
    )
    assert {manifest["kind"] for manifest in manifests} == {library.kind}
    for manifest in manifests:
        assert validate_workflow(manifest, argo_version, schema_dir) == []


LIBRARY_SHAPES = {
    "loop": {},
    "sweep": {"sweep": "learning_rate=1e-3,3e-3"},
    "static": {"loop": False},
}


@pytest.mark.parametrize("argo_version", ["4.1", "3.7"])
@pytest.mark.parametrize("scope", sorted(SCOPES))
@pytest.mark.parametrize("shape", LIBRARY_SHAPES)
def test_e2e_calling_the_library_is_valid(e2e, schema_dir, argo_version, scope, shape):
    workflow = e2e.build_workflow(library=SCOPES[scope], **LIBRARY_SHAPES[shape])
    manifest = render(workflow, argo_version)
    assert validate_workflow(manifest, argo_version, schema_dir) == []


@pytest.mark.parametrize("argo_version", ["4.1", "3.7"])
def test_e2e_schedule_is_valid(e2e, schema_dir, argo_version):
    workflow = render(e2e.build_workflow(), argo_version)
    manifest = cron_workflow(workflow, "0 3 * * 1", "Europe/Berlin")
    assert validate_workflow(manifest, argo_version, schema_dir) == []
    # The v3.7 memo key is rendered into the CronWorkflow's templates too.
    assert validate_workflow(manifest, "3.7" if argo_version == "4.1" else "4.1", schema_dir)


def test_a_cron_schedule_is_a_list_in_v41_and_may_be_in_v37(e2e, schema_dir):
    """v4.1 has only ``schedules``; v3.7 still takes the single ``schedule`` too: ``schedules``,
    as rendered, is the field both accept."""

    def old_style(argo_version: str) -> dict:
        manifest = cron_workflow(render(e2e.build_workflow(), argo_version), "0 3 * * 1")
        spec = {key: value for key, value in manifest["spec"].items() if key != "schedules"}
        return {**manifest, "spec": {"schedule": "0 3 * * 1", **spec}}

    assert "spec.schedule: unknown field" in validate_workflow(old_style("4.1"), "4.1", schema_dir)
    assert validate_workflow(old_style("3.7"), "3.7", schema_dir) == []
