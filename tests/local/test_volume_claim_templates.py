"""``spec.volumeClaimTemplates``: a claim of the run's own, shared by its pods, removed as
``volumeClaimGC`` says."""

import pytest
from localrun_helpers import by_display_name, sh, workflow

from mlflows.errors import UserError

CLAIM = {
    "metadata": {"name": "workdir"},
    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Mi"}}},
}


def mounted(template):
    template["container"]["volumeMounts"] = [{"name": "workdir", "mountPath": "/mnt/vol"}]
    return template


def writer_then_reader(last="cat /mnt/vol/hello.txt", **spec):
    return workflow(
        {
            "name": "main",
            "steps": [
                [{"name": "write", "template": "write"}],
                [{"name": "read", "template": "read"}],
            ],
        },
        mounted(sh("write", "echo hello > /mnt/vol/hello.txt")),
        mounted(sh("read", last)),
        **{"volumeClaimTemplates": [CLAIM], **spec},
    )


def claim_dir(tmp_path, result):
    return tmp_path / "work" / "volumes" / f"{result.name}-workdir"


def test_pods_share_the_claim_and_it_is_gone_after_the_run(run_local, tmp_path):
    result = run_local(writer_then_reader())
    assert result.phase == "Succeeded"
    nodes = by_display_name(result)
    assert {name: node["phase"] for name, node in nodes.items()} == {
        result.name: "Succeeded",
        "[0]": "Succeeded",
        "write": "Succeeded",
        "[1]": "Succeeded",
        "read": "Succeeded",
    }
    assert (result.run_dir / "logs").exists()
    assert "hello" in "".join(p.read_text() for p in (result.run_dir / "logs").iterdir())
    assert not claim_dir(tmp_path, result).exists()


def test_on_workflow_success_keeps_a_failed_runs_claim(run_local, tmp_path):
    wf = writer_then_reader(
        last="cat /mnt/vol/hello.txt; exit 1", volumeClaimGC={"strategy": "OnWorkflowSuccess"}
    )
    result = run_local(wf)
    assert result.phase == "Failed"
    assert (claim_dir(tmp_path, result) / "hello.txt").read_text() == "hello\n"
    # the default removes it whatever the outcome
    result = run_local(writer_then_reader(last="exit 1"))
    assert result.phase == "Failed"
    assert not claim_dir(tmp_path, result).exists()


def test_bad_claim_templates_are_refused(run_local):
    with pytest.raises(UserError, match=r"spec.volumeClaimTemplates\[0\].metadata.name is missing"):
        run_local(writer_then_reader(volumeClaimTemplates=[{"spec": {}}]))
    with pytest.raises(UserError, match="spec.volumeClaimGC.strategy 'Never': give"):
        run_local(writer_then_reader(volumeClaimGC={"strategy": "Never"}))
