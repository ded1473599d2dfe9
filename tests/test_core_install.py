"""``pip install mlflows`` without extras, in a virtual environment of its own: every command that
needs no TensorFlow runs, and the flow renders.

pip installs from the package index (its cache makes a second run take seconds); the children run
with this environment minus PYTHONPATH, so they import the installed package, not the tree.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from repo_workflows import REPO

from mlflows import schema


@pytest.fixture(scope="module")
def core(tmp_path_factory) -> Path:
    """The bin directory of a fresh virtual environment with only mlflows' core dependencies."""
    venv = tmp_path_factory.mktemp("core") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    install = subprocess.run(
        [venv / "bin" / "python", "-m", "pip", "install", "--quiet", str(REPO)],
        capture_output=True, text=True, env=environment(), timeout=300,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr
    return venv / "bin"


def environment(**variables: str) -> dict[str, str]:
    kept = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {**kept, **variables}


def run(*argv: str | Path, **variables: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(word) for word in argv],
        cwd=REPO, capture_output=True, text=True, env=environment(**variables), timeout=120,
    )  # fmt: skip


pytestmark = pytest.mark.slow


def test_the_core_install_has_no_tensorflow_and_this_package(core):
    found = run(
        core / "python",
        "-c",
        "import importlib.util, mlflows; "
        "print(importlib.util.find_spec('tensorflow') is None, mlflows.__file__)",
    )
    assert found.returncode == 0, found.stderr
    missing, path = found.stdout.split()
    assert missing == "True"
    assert Path(path).is_relative_to(core.parent)  # not the tree's src


def test_the_command_runs(core):
    result = run(core / "mlflows", "--help")
    assert result.returncode == 0, result.stderr
    assert "validate" in result.stdout and "setup-manifests" in result.stdout
    result = run(core / "mlflows", "setup-manifests", "--namespace", "team-a")
    assert result.returncode == 0, result.stderr
    assert "kind: RoleBinding" in result.stdout


def test_a_workflow_runs_locally(core, tmp_path):
    result = run(
        core / "mlflows", "run", "examples/hello_world.yaml",
        "--work-dir", tmp_path / "work", "--cache-dir", tmp_path / "cache",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    [log] = (tmp_path / "work" / "runs").glob("*/logs/*.log")
    assert log.read_text() == "hello world\n"


def test_the_flow_renders(core):
    result = run(core / "python", "flows/e2e.py")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (REPO / "flows" / "e2e.yaml").read_text()


def test_a_flow_is_drawn(core):
    result = run(core / "mlflows", "graph", "flows/e2e.py", "--format", "svg")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("<svg ")
    # the default fan-out: the loop, whose one train template is inside the branches box
    assert ">branches</text>" in result.stdout and ">train</text>" in result.stdout


def test_validate_runs(core, tmp_path):
    cache = str(tmp_path / "cache")
    result = run(core / "mlflows", "validate", "flows/e2e.yaml", XDG_CACHE_HOME=cache)
    if schema.schema_dir() is None:  # none to validate with: said in one line
        assert result.returncode == 2
        assert result.stderr.startswith("error: no schemas to validate with: run 'mlflows")
    else:
        assert (result.returncode, result.stdout) == (0, "valid\n"), result.stderr
