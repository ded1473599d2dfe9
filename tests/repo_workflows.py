"""The repository's flows and examples, for tests to import (a plain module, not conftest: every
test directory has a conftest, and they would shadow each other)."""

from __future__ import annotations

import importlib.util
import os
import runpy
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(path for path in (REPO / "examples").glob("*.py"))


def load_flow(path: Path):
    """A flow file (flows/*.py) imported as a module, without running its __main__."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def example_workflow(path: Path):
    """The ``workflow`` an example file builds."""
    return runpy.run_path(str(path))["workflow"]


def child_environment(**variables: str) -> dict[str, str]:
    """Only ``variables`` and PATH for a child process, plus PYTHONPATH when set: a git worktree
    runs its tests with its own src there, and its children must import that mlflows too."""
    environment = {"PATH": os.environ["PATH"], **variables}
    if os.environ.get("PYTHONPATH"):
        environment["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return environment
