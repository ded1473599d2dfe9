"""Run a workflow locally with some of its templates mocked, for a test to ask about."""

from __future__ import annotations

from pathlib import Path

from mlflows.local.spec.workflow import workflow_dict
from mlflows.testing.mocks import Mock, apply_mocks
from mlflows.testing.trace import Trace


def run_workflow(
    workflow,
    *,
    mocks: dict[str, Mock] | None = None,
    parameters: dict[str, str] | None = None,
    templates: list[str | Path] | None = None,
    work_dir: str | Path,
    cache_dir: str | Path,
    **options,
) -> Trace:
    """Run ``workflow`` (a Hera Workflow, a dict or a YAML path) with the local runner, each
    template matching a key of ``mocks`` (a name or a glob) replaced by its mock; its trace.

    ``options`` are :func:`mlflows.local.run`'s (``parallelism``, ``apply``, ...). The run is
    quiet; a failed workflow is returned, not raised, for the test to assert on.
    """
    from mlflows.local import run

    document = apply_mocks(workflow_dict(workflow), mocks or {})
    result = run(
        document,
        parameters=parameters,
        templates=templates,
        work_dir=work_dir,
        cache_dir=cache_dir,
        quiet=True,
        **options,
    )
    return Trace(result)
