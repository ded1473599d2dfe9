"""Artifacts, with a directory of the work dir as the default artifact repository.

Follows Argo v4.1.2: the executor's StageFiles/LoadArtifacts (an input is placed at its ``path``
before the main container starts: ``raw`` data written as a file, else fetched by key, a tarball
unpacked — a lone top-level entry becomes the path itself — and ``subPath`` picked from it) and
SaveArtifacts (an output is read from its ``path`` once the container ended: tar+gzip as
``<name>.tgz`` by default, ``archive: {none: {}}`` stored as is under the path's base name), the
controller's artifact resolution in operator.go (``from`` of
``{{tasks|steps.X.outputs.artifacts.Y}}``, ``{{inputs.artifacts.Y}}``,
``{{workflow.outputs.artifacts.Z}}``; ``fromExpression`` and ``from`` of DAG and steps
outputs; ``globalName``), and the default repository's key format ``{{workflow.name}}/{{pod.name}}``
(workflow/common). The repository is ``<work-dir>/artifacts/``;
an artifact's place in it is its key.

What names an outside location (``s3`` with more than a ``key``, ``http``, ``git``, ``gcs``,
``azure``, ``hdfs``, ``oss``, ``artifactory``, ``plugin``) is refused up front. A *key-only*
artifact (``s3: {key: ...}`` alone, Argo's way of using the default repository) reads and writes
that key here. ``spec.artifactRepositoryRef`` is ignored: a workflow with artifacts only ever
uses this repository, as Argo does when the ref names its default.

Inside the controller an artifact reference (what ``{{tasks.X.outputs.artifacts.Y}}`` resolves
to) is the artifact as compact JSON — its name, path and key, or its raw data — as Argo's scope
holds the Artifact object. In the report, ``outputs.artifacts`` lists ``name`` and ``path`` only:
Argo's Artifact schema has no location kind for a local directory (its ``s3.key`` would claim a
bucket that does not exist).
"""

from __future__ import annotations

import gzip
import json
import posixpath
import shutil
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mlflows.errors import UserError
from mlflows.local.executor.volumes import Mount
from mlflows.local.lang import keys
from mlflows.local.lang.templating import STRICT_PREFIXES, Scope, UnresolvedReference, substitute
from mlflows.local.spec.fields import check_fields, mapping, named, refuse

OUTSIDE = ("s3", "http", "git", "gcs", "azure", "hdfs", "oss", "artifactory", "plugin")
COMMON = {"name", "path", "optional", "archive", "mode", "globalName", "raw", "s3", "description"}
INPUT_FIELDS = COMMON | {"from", "subPath", "recurseMode"}
OUTPUT_FIELDS = COMMON | {"from", "fromExpression", "archiveLogs", "artifactGC", "deleted"}
ARGUMENT_FIELDS = COMMON | {"from", "fromExpression", "subPath"}
IGNORED = set(OUTSIDE) - {"s3"}  # only to name them in the refusal: never run
DEFAULT_COMPRESSION = 6  # Go's gzip.DefaultCompression


class ArtifactError(Exception):
    """An artifact the node cannot stage or save: the node ends Error with this message."""


class MissingArtifact(ArtifactError):
    """No artifact under the key (fine for an optional input)."""


# -- the up-front check ------------------------------------------------------------------------


def check_artifacts(where: str, listed, fields: set[str]) -> None:
    """Inputs, outputs or arguments ``artifacts``: their fields, and no outside location."""
    for art in named(where, listed, fields, IGNORED | {"s3"}):
        here = f"{where}[{art['name']}]"
        for kind in OUTSIDE:
            if kind in art and not (kind == "s3" and set(mapping(here, art["s3"])) == {"key"}):
                raise refuse(
                    here,
                    f"an artifact in {kind} (an outside location)",
                    "the local repository is a directory; give raw data, from, or s3 with only a "
                    "key (a key-only artifact)",
                )
        archive = check_fields(f"{here}.archive", art.get("archive"), {"none", "tar", "zip"})
        if "zip" in archive:
            raise refuse(here, "archive.zip", "Argo cannot unpack it either; use tar or none")
        tar = check_fields(f"{here}.archive.tar", archive.get("tar"), {"compressionLevel"})
        level = tar.get("compressionLevel", -1)
        if isinstance(level, bool) or not isinstance(level, int) or not -1 <= level <= 9:
            raise UserError(f"{here}.archive.tar.compressionLevel: give -1 to 9, not {level!r}")
        check_fields(f"{here}.raw", art.get("raw"), {"data"})
        if art.get("subPath") and ".." in _parts(art["subPath"]):
            raise UserError(f"{here}.subPath: give a relative path without '..'")


def _parts(path: str) -> tuple[str, ...]:
    return tuple(part for part in str(path).split("/") if part)


def check_template_inputs(where: str, inputs: dict) -> None:
    check_artifacts(f"{where}: inputs.artifacts", inputs.get("artifacts"), INPUT_FIELDS)


def check_template_outputs(where: str, kind: str, outputs: dict) -> None:
    """A pod's outputs are read from a ``path``; a DAG's or steps' come ``from`` its children."""
    here = f"{where}: outputs.artifacts"
    check_artifacts(here, outputs.get("artifacts"), OUTPUT_FIELDS)
    for art in outputs.get("artifacts") or []:
        if kind in ("dag", "steps"):
            if not (art.get("from") or art.get("fromExpression")):
                raise UserError(
                    f"{here}[{art['name']}]: a {kind} output needs from or fromExpression"
                )
        elif kind in ("container", "script"):
            if not (art.get("path") or "raw" in art):
                raise UserError(f"{here}[{art['name']}]: needs the path to read it from")
        else:
            raise refuse(f"{here}[{art['name']}]", f"an output artifact of a {kind} template")


def check_arguments(where: str, arguments: dict) -> None:
    check_artifacts(f"{where}.artifacts", arguments.get("artifacts"), ARGUMENT_FIELDS)


# -- references ---------------------------------------------------------------------------------


def reference(art: dict) -> str:
    """What a scope holds for an artifact (see the module docstring)."""
    shown = {key: art[key] for key in ("name", "path", "key", "raw") if key in art}
    return json.dumps(shown, sort_keys=True, separators=(",", ":"))


def dereference(where: str, value) -> dict:
    try:
        art = json.loads(value)
    except (TypeError, ValueError):
        art = None
    if not isinstance(art, dict) or not ({"key", "raw"} & set(art)):
        raise ArtifactError(f"{where}: {value!r} is not an artifact")
    return art


def argument_artifacts(item: dict, scope: Scope, strict=STRICT_PREFIXES) -> list[dict]:
    """A call's argument artifacts, substituted, as ``{"name", "artifact"}`` entries beside its
    parameters."""
    listed = (item.get("arguments") or {}).get("artifacts") or []
    return [{"name": art["name"], "artifact": substitute(art, scope, strict)} for art in listed]


def source_of(where: str, art: dict) -> dict | None:
    """Where an input artifact's content comes from: a reference, or None when it has none."""
    if "raw" in art:
        return {"raw": str((art["raw"] or {}).get("data", ""))}
    if art.get("from"):
        found = dereference(f"{where}.from", art["from"])
        return {**found, "subPath": art["subPath"]} if art.get("subPath") else found
    if "s3" in art:
        return {
            "key": art["s3"]["key"],
            **({"subPath": art["subPath"]} if "subPath" in art else {}),
        }
    return None


@dataclass
class BoundInputs:
    """A template's input artifacts, each with what fills it (None: optional and absent)."""

    artifacts: dict[str, tuple[dict, dict | None]] = field(default_factory=dict)

    def scope(self) -> Scope:
        scope: Scope = {}
        for name, (art, source) in self.artifacts.items():
            if art.get("path"):
                scope[keys.INPUTS_ARTIFACT_PATH(name)] = art["path"]
            if source is not None:
                scope[keys.INPUTS_ARTIFACT(name)] = reference({**source, "name": name})
        return scope


def bind_inputs(template: dict, arguments: list[dict], globals_: Scope) -> BoundInputs:
    """Argo's ProcessArgs for artifacts: each input from its argument, else its own source."""
    supplied = {arg["name"]: arg["artifact"] for arg in arguments if "artifact" in arg}
    bound = BoundInputs()
    for art in (template.get("inputs") or {}).get("artifacts") or []:
        name = art["name"]
        where = f"inputs.artifacts.{name}"
        given = supplied.get(name)
        filled = substitute({**art, **given} if given else art, globals_)
        if given:  # the argument's source wins over the input's own
            for kind in ("raw", "from", "s3"):
                if kind not in given:
                    filled.pop(kind, None)
        source = source_of(where, filled)
        if source is None and not filled.get("optional"):
            raise ArtifactError(f"{where} was not supplied")
        bound.artifacts[name] = (filled, source)
    return bound


def output_paths(template: dict) -> Scope:
    """``{{outputs.artifacts.<name>.path}}`` of a pod template."""
    return {
        keys.OUTPUTS_ARTIFACT_PATH(art["name"]): art["path"]
        for art in (template.get("outputs") or {}).get("artifacts") or []
        if art.get("path")
    }


# -- the repository -----------------------------------------------------------------------------


class Repository:
    """The default artifact repository: ``<work-dir>/artifacts/<key>``."""

    def __init__(self, root: Path):
        self.root = root

    def place(self, key: str) -> Path:
        parts = _parts(key)
        if not parts or ".." in parts:
            raise ArtifactError(f"artifact key {key!r}: give a relative key without '..'")
        return self.root.joinpath(*parts)

    def save(self, key: str, source: Path, archive: dict) -> None:
        target = self.place(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        if "none" in archive:
            if target.is_dir():  # a key written again (a retry) holds the newest only
                shutil.rmtree(target)
            if source.is_dir():
                shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)
            else:
                shutil.copyfile(source, target)
            return
        level = (archive.get("tar") or {}).get("compressionLevel")
        level = DEFAULT_COMPRESSION if level is None or level < 0 else level
        partial = target.with_name(target.name + ".partial")
        with gzip.GzipFile(partial, "wb", compresslevel=level, mtime=0) as zipped:
            with tarfile.open(fileobj=zipped, mode="w") as tar:
                tar.add(source, arcname=source.name or "artifact")
        partial.replace(target)

    def load(self, where: str, source: dict, target: Path) -> None:
        """Write the referenced content at ``target`` (a file or a directory)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        if "raw" in source:
            target.write_text(source["raw"])
            return
        stored = self.place(source["key"])
        if not stored.exists():
            raise MissingArtifact(f"{where}: no artifact of key {source['key']!r} in {self.root}")
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".artifact-") as scratch:
            found = Path(scratch) / "content"
            if stored.is_file() and _is_tarball(stored):
                _untar(stored, found)
            elif stored.is_dir():
                shutil.copytree(stored, found, symlinks=True)
            else:
                shutil.copyfile(stored, found)
            sub_path = source.get("subPath")
            if sub_path:
                found = found.joinpath(*_parts(sub_path))
                if not found.exists():
                    raise ArtifactError(f"{where}: no {sub_path!r} inside the artifact")
            shutil.move(str(found), str(target))


def _is_tarball(path: Path) -> bool:
    with open(path, "rb") as stream:
        if stream.read(2) != b"\x1f\x8b":
            return False
    try:
        with tarfile.open(path, "r:gz"):
            return True
    except (tarfile.TarError, OSError, EOFError):
        return False


def _untar(tarball: Path, target: Path) -> None:
    """Unpack; a lone top-level entry becomes ``target`` itself (as Argo's untar)."""
    unpacked = target.with_name(target.name + ".unpacked")
    with tarfile.open(tarball, "r:gz") as tar:
        tar.extractall(unpacked, filter="data")
    entries = list(unpacked.iterdir())
    if len(entries) == 1:
        entries[0].rename(target)
        unpacked.rmdir()
    else:
        unpacked.rename(target)


# -- a pod's artifacts --------------------------------------------------------------------------


@dataclass
class PodArtifacts:
    """What the executor does with a pod's artifacts: stage its inputs, save its outputs."""

    repository: Repository
    key_prefix: str  # {{workflow.name}}/{{pod.name}}
    inputs: list[tuple[dict, dict | None]]
    outputs: list[dict]

    @property
    def output_paths(self) -> tuple[str, ...]:
        return tuple(posixpath.normpath(art["path"]) for art in self.outputs if art.get("path"))

    def stage(self, scratch: Path) -> list[Mount]:
        """Each input at a directory of the node, to be seen at its path (bound or rewritten)."""
        for path in self.output_paths:  # a directory the image would have (/tmp), to write in
            if Path(path).is_dir() and path != "/":
                (scratch / "outputs" / path.lstrip("/")).mkdir(parents=True, exist_ok=True)
        mounts = []
        for art, source in self.inputs:
            if source is None or not art.get("path"):
                continue
            local = scratch / "artifacts" / art["name"]
            if local.exists():
                shutil.rmtree(local) if local.is_dir() else local.unlink()
            where = f"inputs.artifacts.{art['name']}"
            try:
                self.repository.load(where, source, local)
            except MissingArtifact:
                if art.get("optional"):  # as Argo's LoadArtifacts: an optional one may be absent
                    continue
                raise
            except OSError as err:
                raise ArtifactError(f"{where}: {err}") from None
            mounts.append(Mount(posixpath.normpath(art["path"]), local))
        return mounts

    def save(self, local_path: Callable[[str], Path]) -> dict[str, dict]:
        """Each output artifact into the repository; their references by name."""
        saved = {}
        for art in self.outputs:
            where = f"outputs.artifacts.{art['name']}"
            if "raw" in art:
                saved[art["name"]] = {"name": art["name"], "raw": art["raw"].get("data", "")}
                continue
            local = local_path(posixpath.normpath(art["path"]))
            if not local.exists():
                if art.get("optional"):
                    continue
                raise ArtifactError(f"{where}: no file or directory at {art['path']}")
            archive = art.get("archive") or {"tar": {}}
            name = art["name"] + ".tgz" if "none" not in archive else local.name
            key = (art.get("s3") or {}).get("key") or f"{self.key_prefix}/{name}"
            try:
                self.repository.save(key, local, archive)
            except OSError as err:
                raise ArtifactError(f"{where}: {err}") from None
            saved[art["name"]] = {"name": art["name"], "path": art["path"], "key": key}
        return saved


# -- DAG and steps outputs, workflow outputs ---------------------------------------------------


def template_outputs(
    template: dict, scope: Scope, expression: Callable[[str, Scope], str]
) -> dict[str, dict]:
    """A DAG's or steps template's output artifacts (getTemplateOutputsFromScope): ``from`` or
    ``fromExpression`` over its children's outputs. A missing optional one is left out."""
    saved = {}
    for art in (template.get("outputs") or {}).get("artifacts") or []:
        where = f"outputs.artifacts.{art['name']}"
        try:
            if art.get("fromExpression"):
                value = expression(art["fromExpression"], scope)
            else:
                value = substitute(art.get("from", ""), scope, STRICT_PREFIXES)
            found = dereference(where, value)
        except (UnresolvedReference, ArtifactError):
            if art.get("optional"):
                continue
            raise
        saved[art["name"]] = {**found, "name": art["name"]}
    return saved


def global_outputs(template: dict, parameters: dict[str, str], saved: dict[str, dict]) -> Scope:
    """``{{workflow.outputs.parameters|artifacts.<globalName>}}`` a node's outputs set."""
    outputs = template.get("outputs") or {}
    scope: Scope = {}
    for param in outputs.get("parameters") or []:
        if param.get("globalName") and param["name"] in parameters:
            scope[keys.WORKFLOW_OUTPUT_PARAMETER(param["globalName"])] = parameters[param["name"]]
    for art in outputs.get("artifacts") or []:
        if art.get("globalName") and art["name"] in saved:
            scope[keys.WORKFLOW_OUTPUT_ARTIFACT(art["globalName"])] = reference(saved[art["name"]])
    return scope
