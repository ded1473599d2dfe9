"""Fixtures for the local runner's tests: runs isolated in tmp_path."""

from __future__ import annotations

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
