"""The pytest plugin (the ``pytest11`` entry point): the ``mlflows_run`` fixture."""

from __future__ import annotations

import pytest

from mlflows.testing.run import run_workflow


@pytest.fixture
def mlflows_run(tmp_path):
    """``run_workflow`` with a fresh work and cache directory of the test's own."""

    def run(workflow, **options):
        options.setdefault("work_dir", tmp_path / "work")
        options.setdefault("cache_dir", tmp_path / "cache")
        return run_workflow(workflow, **options)

    return run
