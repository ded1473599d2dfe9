"""Every example in examples/ runs locally, given as the Hera Workflow it builds."""

import runpy
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[path.stem for path in EXAMPLES])
def test_example_runs_locally(run_local, path):
    workflow = runpy.run_path(str(path))["workflow"]
    result = run_local(workflow)
    assert result.phase == "Succeeded", result.message
    assert all(node.fulfilled for node in result.nodes)
