"""Kubernetes objects a user keeps in YAML files, read as ``kubectl apply -f PATH`` reads them.

A path is a file of one or more YAML documents (``---`` between them), or a directory whose
``*.yaml``, ``*.yml`` and ``*.json`` files are read in name order (not its subdirectories, like
``kubectl apply -f DIR`` without ``-R``). Each object comes with where it was found, for error
lines: ``--templates lib.yaml document 2``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from mlflows.errors import UserError

SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class Manifest:
    where: str  # "--templates lib.yaml document 2"
    body: dict

    @property
    def kind(self) -> str:
        return str(self.body.get("kind", ""))

    @property
    def name(self) -> str:
        return str((self.body.get("metadata") or {}).get("name") or "")


def read_manifests(paths, option: str) -> list[Manifest]:
    """Every object in ``paths`` (given with ``option``, named in errors), in order; each needs a
    kind and a metadata.name."""
    manifests = []
    for path in map(Path, paths):
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix in SUFFIXES and p.is_file())
            if not files:
                raise UserError(f"{option} {path}: no {'/'.join(SUFFIXES)} files in it")
        else:
            files = [path]
        for file in files:
            manifests.extend(_documents(file, option))
    return manifests


def _documents(path: Path, option: str) -> list[Manifest]:
    try:
        text = path.read_text()
    except OSError as err:
        raise UserError(f"{option} {path}: cannot read it ({err.strerror})") from None
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark else ""
        problem = getattr(err, "problem", None) or "syntax error"
        raise UserError(f"{option} {path}: not valid YAML{line}: {problem}") from None
    manifests = []
    for number, body in enumerate(documents, start=1):
        if body is None:
            continue
        where = f"{option} {path} document {number}"
        if not isinstance(body, dict):
            raise UserError(f"{where}: expected a Kubernetes object (a mapping)")
        manifest = Manifest(where, body)
        metadata = body.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            raise UserError(f"{where}: metadata must be a mapping")
        if manifest.kind == "Workflow":  # a workflow is run, not kept (and has no name yet)
            raise UserError(f"{where}: a Workflow; give the one to run as the file, not {option}")
        if not manifest.kind or not manifest.name:
            raise UserError(f"{where}: needs a kind and a metadata.name")
        manifests.append(manifest)
    return manifests
