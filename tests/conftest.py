"""Shared fixtures: the repository's flows and examples, golden files, the engines' schemas."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
from repo_workflows import REPO, load_flow

from mlflows import schema

# Installed, mlflows registers this plugin itself (pytest11); named here for a source checkout.
pytest_plugins = ["mlflows.testing.plugin"]


def pytest_addoption(parser):
    parser.addoption(
        "--update-goldens",
        action="store_true",
        help="rewrite every golden YAML from the current rendering instead of comparing",
    )


@pytest.fixture(scope="session")
def e2e():
    return load_flow(REPO / "flows" / "e2e.py")


class Goldens:
    def __init__(self, update: bool):
        self.update = update

    def check(self, path: Path, text: str) -> None:
        """``text`` must equal the golden file at ``path``; the failure shows a unified diff."""
        if self.update:
            path.write_text(text)
            return
        if not path.exists():
            pytest.fail(
                f"no golden {path.relative_to(REPO)}; create it with pytest --update-goldens"
            )
        expected = path.read_text()
        if text != expected:
            diff = "".join(
                difflib.unified_diff(
                    expected.splitlines(keepends=True),
                    text.splitlines(keepends=True),
                    fromfile=f"{path.relative_to(REPO)} (golden)",
                    tofile="rendered now",
                )
            )
            pytest.fail(
                "rendering differs from the golden; if intended, run pytest --update-goldens\n"
                + diff
            )


@pytest.fixture(scope="session")
def goldens(request) -> Goldens:
    return Goldens(request.config.getoption("--update-goldens"))


@pytest.fixture(scope="session")
def schema_dir() -> Path:
    """The engines' published schemas (MLFLOWS_SCHEMA_DIR, checked complete); CI always sets it."""
    directory = schema.schema_dir()
    if directory is None:
        pytest.skip(
            "MLFLOWS_SCHEMA_DIR is not set: strict schema validation skipped "
            "(set it to the folder with Argo's JSON Schema and the CRDs, e.g. ../shared/schemas)"
        )
    return directory
