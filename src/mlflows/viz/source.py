"""The workflow a picture is drawn from: a YAML (or JSON) file, standard input (``-``), or a flow
script, which prints its workflow's YAML when run without options (``python flows/e2e.py``) and
is run so, with this interpreter, in a process of its own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from mlflows.errors import UserError
from mlflows.viz.workflow import SPEC_KINDS


def read_workflow(source: str) -> dict:
    """The workflow document ``source`` names (the first of a kind that has templates)."""
    if source == "-":
        return _workflow_document(sys.stdin.read(), "standard input")
    path = Path(source)
    if path.suffix == ".py":
        return _workflow_document(_printed_by(path), f"{source} (what it printed)")
    try:
        text = path.read_text()
    except OSError as err:
        raise UserError(f"{source}: cannot read it: {err.strerror or err}") from None
    return _workflow_document(text, source)


def _printed_by(path: Path) -> str:
    if not path.is_file():
        raise UserError(f"{path}: no such flow script")
    try:
        done = subprocess.run(
            [sys.executable, str(path)], capture_output=True, text=True, timeout=300
        )
    except subprocess.TimeoutExpired:
        raise UserError(f"{path}: printed no workflow within 5 minutes") from None
    if done.returncode != 0:
        said = (done.stderr.strip().splitlines() or ["(nothing on stderr)"])[-1]
        raise UserError(f"{path}: running it failed with exit code {done.returncode}: {said}")
    return done.stdout


def _workflow_document(text: str, where: str) -> dict:
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark else ""
        raise UserError(f"{where}: not valid YAML{at}") from None
    for document in documents:
        if isinstance(document, dict) and document.get("kind") in SPEC_KINDS:
            return document
    raise UserError(f"{where}: no {', '.join(SPEC_KINDS)} document in it")
