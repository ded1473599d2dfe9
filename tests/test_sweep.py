"""Sweeps: a search space expanded into specs by the ``sweep`` step, the loop running over its
output (``withParam``); grid and seeded random search; mistakes in one line before any work."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from repo_workflows import REPO
from test_structure import dag_tasks

from mlflows import local
from mlflows.errors import UserError
from mlflows.rendering import render, to_yaml
from mlflows.schema import validate_workflow
from mlflows.specs import ModelSpec, from_item, to_item
from mlflows.sweep import expand, parse_space
from mlflows.workloads import Training

GRID = "learning_rate=1e-3,3e-3;batch_size=32,64"
BASES = [ModelSpec(name="cnn", architecture="cnn"), ModelSpec(name="drop", architecture="dropout")]


def test_a_grid_is_every_combination_for_every_model():
    specs = expand(BASES, parse_space(GRID))
    assert [spec.name for spec in specs] == [
        f"{b}-{i}" for b in ("cnn", "drop") for i in (1, 2, 3, 4)
    ]
    assert {(s.learning_rate, s.batch_size_per_replica) for s in specs[:4]} == {
        (1e-3, 32),
        (1e-3, 64),
        (3e-3, 32),
        (3e-3, 64),
    }
    assert {s.architecture for s in specs[4:]} == {"dropout"}


def test_a_random_search_is_the_same_for_the_same_seed():
    space = parse_space("learning_rate=1e-4..1e-2;workers=1..4;epochs=1,2")
    first, again, other = (expand(BASES[:1], space, 5, seed) for seed in (3, 3, 4))
    assert first == again and first != other
    assert len({spec.hyperparameters for spec in first}) == 5
    for spec in first:
        assert 1e-4 <= spec.learning_rate <= 1e-2 and 1 <= spec.workers <= 4


@pytest.mark.parametrize(
    "space, samples, message",
    [
        ("lr=1e-3", None, "'lr' is not a field to sweep"),
        ("learning_rate=0", None, "learning_rate: 0.0 is out of range"),
        ("learning_rate=1e-4..1e-2", None, "learning_rate is a range"),
        ("batch_size=32,32", None, "lists a value twice"),
        ("architecture=cnn,mlp", None, "architecture 'mlp' is unknown"),
        ("workers=1,2", 5, "5 distinct points do not fit"),
        ("learning_rate", None, "is not field=values"),
    ],
)
def test_a_bad_space_is_one_named_mistake(space, samples, message):
    with pytest.raises(UserError, match=message):
        expand(BASES[:1], parse_space(space), samples)


def test_an_item_is_what_the_train_template_takes():
    """As a loop writes them: with the priority class when any spec of the loop has one."""
    plain = ModelSpec(name="x", architecture="cnn", learning_rate=3e-3)
    urgent = ModelSpec(name="y", architecture="cnn", priority_class="high")
    for spec, priority in ((plain, False), (plain, True), (urgent, True)):
        item = to_item(spec, priority=priority)
        assert item == Training.of(spec, priority=priority).arguments()
        assert from_item(item, "item") == spec


def test_the_rendering_does_not_grow_with_the_space(e2e):
    small = render(e2e.build_workflow(sweep="learning_rate=1e-3,2e-3,3e-3"))
    large = render(e2e.build_workflow(sweep="learning_rate=1e-4..1e-2", sweep_samples=30))
    for manifest in (small, large):
        for parameter in dag_tasks(manifest)["sweep"]["arguments"]["parameters"]:
            if parameter["name"] in ("space", "samples"):
                parameter["value"] = ""
    assert to_yaml(small) == to_yaml(large)
    branches = dag_tasks(small)["branches"]
    assert branches["withParam"] == "{{tasks.sweep.outputs.parameters.specs}}"
    assert branches["depends"] == "ingest && sweep"


def test_the_sweep_step_writes_the_items_and_needs_no_tensorflow(tmp_path):
    specs_file = tmp_path / "specs.json"
    models = json.dumps([to_item(spec) for spec in BASES])
    code = (
        "import sys; from mlflows.ml import sweep; "
        f"sweep.main(['--models', {models!r}, '--space', {GRID!r}, '--samples', '', "
        f"'--specs-file', {str(specs_file)!r}]); "
        "print('tensorflow' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "False"
    assert json.loads(specs_file.read_text()) == [
        to_item(spec) for spec in expand(BASES, parse_space(GRID))
    ]


@pytest.mark.parametrize(
    "argv, line",
    [
        (["--sweep", "lr=1"], "error: --sweep: 'lr' is not a field to sweep"),
        (["--sweep-samples", "3"], "error: --sweep-samples: it draws from a --sweep space"),
        (["--sweep", GRID, "--fan-out", "static"], "error: --fan-out static: a --sweep runs"),
    ],
)
def test_sweep_mistakes_are_one_line(argv, line):
    result = subprocess.run(
        [sys.executable, "flows/e2e.py", *argv], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(line) and result.stderr.count("\n") == 1


@pytest.mark.parametrize("argo_version", ["4.1", "3.7"])
def test_a_sweep_is_valid(e2e, schema_dir, argo_version):
    manifest = render(e2e.build_workflow(sweep=GRID, max_concurrent_training=2), argo_version)
    assert validate_workflow(manifest, argo_version, schema_dir) == []


@pytest.mark.slow
def test_a_sweep_runs_locally(e2e, tmp_path):
    """The sweep step's output is the loop's withParam: two learning rates on digits, tiny."""
    base = [ModelSpec(name="cnn", architecture="cnn", epochs=1, steps_per_epoch=3, workers=1)]
    workflow = e2e.build_workflow(base, dataset="digits", sweep="learning_rate=1e-3,3e-3")
    result = local.run(
        render(workflow), work_dir=tmp_path / "work", cache_dir=tmp_path / "cache", quiet=True
    )
    assert result.succeeded
    swept = json.loads(result.node("sweep").outputs.parameters["specs"])
    assert [item["learning-rate"] for item in swept] == ["0.001", "0.003"]
    selected = json.loads(result.node("select").outputs.parameters["result"])
    folders = [c["model_dir"] for c in selected["candidates"]]
    assert len(set(folders)) == 2  # one model each, in folders of their own keys
    assert all(re.search(r"/models/[0-9a-f]{32}$", folder) for folder in folders), folders
