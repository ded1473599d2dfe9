"""Fixtures for the local runner's tests: runs isolated in tmp_path, and a model to serve."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mlflows.local import run


@pytest.fixture
def run_local(tmp_path):
    """``run`` with its work and cache directories in tmp_path, and no output."""

    def run_in_tmp(workflow, **options):
        options.setdefault("work_dir", tmp_path / "work")
        options.setdefault("cache_dir", tmp_path / "cache")
        options.setdefault("quiet", True)
        return run(workflow, **options)

    return run_in_tmp


@pytest.fixture(scope="session")
def saved_model(tmp_path_factory) -> Path:
    """A servable (untrained) SavedModel, saved by the ML entry points' own exporter."""
    pytest.importorskip("mlflows.ml.serve")
    path = tmp_path_factory.mktemp("model") / "cnn"
    script = (
        "import sys; from mlflows.ml import export, models; from mlflows.ml.cluster import Role; "
        "export.save(models.build('cnn', 1e-3), sys.argv[1], Role('worker', 0, 1, is_chief=True))"
    )
    subprocess.run([sys.executable, "-c", script, str(path)], check=True, capture_output=True)
    return path
