"""The README's API tour is code that runs and renders the pipeline it describes."""

from __future__ import annotations

import contextlib
import io
import re

import yaml
from repo_workflows import REPO


def test_api_tour_runs_and_renders_a_sweep():
    readme = (REPO / "README.md").read_text()
    tour = re.search(r"## A tour of the API\n\n```python\n(.*?)```", readme, re.S).group(1)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(tour, "README.md", "exec"), {})
    workflow = yaml.safe_load(printed.getvalue())
    names = [template["name"] for template in workflow["spec"]["templates"]]
    assert {"train-cnn", "train-cnn-fast", "promote", "select", "serve", "predict"} <= set(names)
