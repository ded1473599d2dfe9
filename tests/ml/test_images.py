"""The images can't be built here; what they run and install must exist in this repository."""

from __future__ import annotations

import importlib
import json
import re
from importlib.metadata import metadata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKERFILES = sorted((REPO / "images").glob("*/Dockerfile"))


def instruction(dockerfile: Path, name: str) -> list[str] | None:
    """The exec-form argv of the last ``name`` instruction (ENTRYPOINT, CMD), if any."""
    found = re.findall(rf"^{name}\s+(\[.*\])\s*$", dockerfile.read_text(), re.MULTILINE)
    return json.loads(found[-1]) if found else None


def test_there_is_a_trainer_and_a_serving_image():
    assert [d.parent.name for d in DOCKERFILES] == ["serving", "trainer"]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda d: d.parent.name)
def test_every_module_an_image_mentions_is_an_entry_point(dockerfile):
    modules = set(re.findall(r"mlflows\.ml\.(\w+)", dockerfile.read_text()))
    assert modules
    for name in modules:
        module = importlib.import_module(f"mlflows.ml.{name}")
        assert callable(module.main) and callable(module.parse_args), name


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda d: d.parent.name)
def test_the_extras_an_image_installs_are_defined(dockerfile):
    extras_defined = metadata("mlflows").get_all("Provides-Extra")
    installs = re.findall(r'pip install "\.\[([\w,]+)\]"', dockerfile.read_text())
    assert installs
    for extras in installs:
        assert set(extras.split(",")) <= set(extras_defined)
    for copied in re.findall(r"^COPY (.+) \S+$", dockerfile.read_text(), re.MULTILINE):
        assert all((REPO / path).exists() for path in copied.split()), copied


def test_the_serving_image_command_is_a_valid_server_invocation():
    from mlflows.ml import serve

    dockerfile = REPO / "images" / "serving" / "Dockerfile"
    argv = instruction(dockerfile, "ENTRYPOINT") + instruction(dockerfile, "CMD")
    assert argv[:3] == ["python", "-m", "mlflows.ml.serve"]
    args = serve.parse_args(argv[3:])
    assert (args.host, args.port, args.model_dir) == ("0.0.0.0", 8080, "/mnt/models")


def test_the_workflow_names_the_trainer_image():
    from mlflows.workloads import TRAINER_IMAGE

    first_line = (REPO / "images" / "trainer" / "Dockerfile").read_text().splitlines()[0]
    assert TRAINER_IMAGE in first_line
