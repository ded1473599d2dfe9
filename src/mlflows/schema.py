"""Strict validation of rendered workflows against the engines' published schemas.

The schema files (Argo's JSON Schema for v4.1.2 and v3.7.18, the TFJob and InferenceService CRDs)
live outside the package: in the directory given by ``--schema-dir`` or ``MLFLOWS_SCHEMA_DIR``,
else in the user cache that ``mlflows schemas fetch`` fills. They do not forbid unknown fields,
but Argo's controller and ``argo lint`` decode strictly and ``kubectl`` validates strictly by
default, so a misplaced field is an error on a cluster. We therefore close every object schema
that lists ``properties`` (unless it already says ``additionalProperties`` or
``x-kubernetes-preserve-unknown-fields``).

Argo expressions: in a Workflow, a string holding ``{{...}}`` stands for a value of any type once
Argo substitutes it. A resource template's ``manifest`` is text that Argo substitutes *before*
parsing it, so there only an unquoted ``{{...}}`` can become a number or a boolean; a quoted one
stays a string (``replicas: "{{inputs.parameters.n}}"`` reaches the TFJob as ``"2"``, which the
CRD rejects). In both cases the content of an expression string is unknown, so patterns and enums
are not checked against it.

Argo decodes a few fields more leniently than its schema says (int-or-string, quantities, and its
``AnyString`` parameters); those definitions are widened to what the Go types accept.
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError

from mlflows.errors import UserError
from mlflows.kinds import TEMPLATE_PATHS, templates_of
from mlflows.kserve_contract import GRAPH_API_VERSION
from mlflows.output import write_stdout

SCHEMA_DIR_VARIABLE = "MLFLOWS_SCHEMA_DIR"

ARGO_SCHEMA_FILES = {
    "4.1": "argo-workflows-v4.1.2.schema.json",
    "3.7": "argo-workflows-v3.7.18.schema.json",
}


@dataclass(frozen=True)
class CustomResource:
    api_version: str
    crd_file: str


# Kinds embedded in resource templates that are checked against their CRD; others are skipped.
CUSTOM_RESOURCES = {
    "TFJob": CustomResource(
        "kubeflow.org/v1", "training-operator-v1.9.kubeflow.org_tfjobs.crd.yaml"
    ),
    "InferenceService": CustomResource(
        "serving.kserve.io/v1beta1", "kserve-v0.20.0.serving.kserve.io_inferenceservices.crd.yaml"
    ),
}

ARGO_DEFINITION = "io.argoproj.workflow.v1alpha1."
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
# Argo kinds a file may hold, and where each keeps its templates.
ARGO_KINDS = TEMPLATE_PATHS
RUNNABLE_KINDS = ("Workflow", "CronWorkflow")  # what the local runner can check (and run)

# What the Go types accept where Argo's schema says only "string".
ANY_SCALAR = {"type": ["string", "number", "boolean"]}
WIDENED_DEFINITIONS = {
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {"type": ["integer", "string"]},
    "io.k8s.apimachinery.pkg.api.resource.Quantity": {"type": ["string", "number"]},
}
WIDENED_PROPERTIES = {  # AnyString fields: numbers and booleans are read as their text
    ARGO_DEFINITION + "Parameter": {
        "default": ANY_SCALAR,
        "value": ANY_SCALAR,
        "description": ANY_SCALAR,
        "enum": {"type": "array", "items": ANY_SCALAR},
    },
    ARGO_DEFINITION + "ValueFrom": {"default": ANY_SCALAR},
}

EXPRESSION = re.compile(r"\{\{.*?\}\}", re.DOTALL)  # as Argo reads tags: one may span lines
# Keywords that check a string's content, which an expression leaves unknown until run time.
CONTENT_KEYWORDS = ("enum", "const", "pattern", "minLength", "maxLength")


# --- the schema directory -------------------------------------------------------------------

# The files validation reads.
REQUIRED_FILES = (*ARGO_SCHEMA_FILES.values(), *(r.crd_file for r in CUSTOM_RESOURCES.values()))


def user_schema_dir() -> Path:
    """Where ``mlflows schemas fetch`` puts the files. Beside the memo cache
    ($XDG_CACHE_HOME/mlflows), not in it: every ``*/*.json`` there is read as a memo entry, and
    ``mlflows cache clear`` empties it."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mlflows-schemas"


def schema_dir() -> Path | None:
    """The directory named by MLFLOWS_SCHEMA_DIR, or None when the variable is unset."""
    value = os.environ.get(SCHEMA_DIR_VARIABLE, "").strip()
    if not value:
        return None
    return _complete(Path(value), f"{SCHEMA_DIR_VARIABLE}={value}")


def _complete(directory: Path, named: str) -> Path:
    if not directory.is_dir():
        raise UserError(f"{named} is not a directory")
    missing = [name for name in REQUIRED_FILES if not (directory / name).is_file()]
    if missing:
        raise UserError(f"{named} lacks {', '.join(missing)}")
    return directory


def find_schema_dir(given: Path | None = None) -> Path:
    """The schemas to validate with: ``given`` (``--schema-dir``), else $MLFLOWS_SCHEMA_DIR,
    else the user cache; when none holds them, a UserError saying how to get them."""
    if given is not None:
        return _complete(given, f"--schema-dir {given}")
    directory = schema_dir()
    if directory is not None:
        return directory
    cached = user_schema_dir()
    if all((cached / name).is_file() for name in REQUIRED_FILES):
        return cached
    raise UserError(
        f"no schemas to validate with: run 'mlflows schemas fetch' to download them into "
        f"{cached}, or set {SCHEMA_DIR_VARIABLE} (or pass --schema-dir) to a folder holding them"
    )


def _resolve_dir(schemas: Path | None) -> Path:
    return schemas or find_schema_dir()


# --- loading and closing the schemas --------------------------------------------------------


def close_objects(schema: Any) -> Any:
    """A copy of ``schema`` in which every object that lists ``properties`` rejects other fields."""
    schema = copy.deepcopy(schema)
    _close_in_place(schema)
    return schema


def _close_in_place(schema: Any) -> None:
    if not isinstance(schema, dict):
        return
    composed = [branch for key in ("allOf", "anyOf", "oneOf") for branch in schema.get(key, [])]
    if any(isinstance(branch, dict) and "properties" in branch for branch in composed):
        # Closing each branch separately would reject the fields the other branches allow.
        raise ValueError("cannot close an object schema composed with allOf/anyOf/oneOf")
    if (
        "properties" in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        schema["additionalProperties"] = False
    for subschema in _subschemas(schema):
        _close_in_place(subschema)


def _subschemas(schema: dict) -> Iterator[Any]:
    for key in ("properties", "patternProperties", "definitions", "$defs"):
        yield from schema.get(key, {}).values()
    for key in ("additionalProperties", "items", "not"):
        if isinstance(schema.get(key), dict):
            yield schema[key]
    for key in ("allOf", "anyOf", "oneOf", "prefixItems"):
        yield from schema.get(key, [])


class SchemaFileError(UserError):
    """A schema file that cannot be read as the published one: a Git LFS pointer, an error page,
    another file under its name."""

    def __init__(self, path: Path, problem: str):
        super().__init__(
            f"{path} is not the file as published ({problem}); "
            "download it again (mlflows schemas fetch) or copy it from its source"
        )
        self.path = path
        self.problem = problem


@contextmanager
def _schema_file(directory: Path, name: str) -> Iterator[Path]:
    """The path of schema file ``name``; reading it as something else is a SchemaFileError."""
    try:
        yield directory / name
    except (OSError, ValueError, LookupError, TypeError, yaml.YAMLError) as err:
        raise SchemaFileError(directory / name, f"{type(err).__name__}: {_one_line(err)}") from None


def check_files(directory: Path) -> None:
    """Read every file validation needs from ``directory``: a SchemaFileError names the first
    that is not the published one."""
    for argo_version in ARGO_SCHEMA_FILES:
        _argo_definitions(directory, argo_version)
    for kind in CUSTOM_RESOURCES:
        _crd_schema(directory, kind)


@functools.cache
def _argo_definitions(directory: Path, argo_version: str) -> dict[str, Any]:
    if argo_version not in ARGO_SCHEMA_FILES:
        known = ", ".join(ARGO_SCHEMA_FILES)
        raise ValueError(f"argo_version is one of {known}, not {argo_version!r}")
    with _schema_file(directory, ARGO_SCHEMA_FILES[argo_version]) as path:
        document = json.loads(path.read_text())
        definitions = {name: close_objects(d) for name, d in document["definitions"].items()}
        definitions.update(WIDENED_DEFINITIONS)
        for name, properties in WIDENED_PROPERTIES.items():
            definitions[name]["properties"].update(properties)
    return definitions


@functools.cache
def _crd_schema(directory: Path, kind: str) -> dict[str, Any]:
    resource = CUSTOM_RESOURCES[kind]
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: the KServe CRD is 2 MB
    version = resource.api_version.split("/")[1]
    with _schema_file(directory, resource.crd_file) as path:
        crd = yaml.load(path.read_text(), Loader=loader)
        if crd["spec"]["names"]["kind"] != kind:  # another CRD under this one's name
            raise ValueError(f"it defines {crd['spec']['names']['kind']}, not {kind}")
        [served] = [v for v in crd["spec"]["versions"] if v["name"] == version]
        schema = close_objects(served["schema"]["openAPIV3Schema"])
        # The CRD leaves metadata open; the API server checks it as ObjectMeta (shared with Argo's).
        schema["properties"]["metadata"] = {"$ref": f"#/definitions/{OBJECT_META}"}
    schema["definitions"] = _argo_definitions(directory, "4.1")
    return schema


# --- the validator --------------------------------------------------------------------------


def _has_expression(instance: object) -> bool:
    return isinstance(instance, str) and EXPRESSION.search(instance) is not None


class Substituted(str):
    """An unquoted YAML scalar in a manifest holding ``{{...}}``: any type once substituted."""


def _validator_class(is_any_type: Callable[[object], bool]) -> type[Draft202012Validator]:
    """A Draft 2020-12 validator that lets expressions through where their value is unknown."""
    base = Draft202012Validator.VALIDATORS

    def skip_when(unknown: Callable[[object], bool], check: Callable) -> Callable:
        def checked(validator, value, instance, schema):
            if not unknown(instance):
                yield from check(validator, value, instance, schema)

        return checked

    keywords = {name: skip_when(_has_expression, base[name]) for name in CONTENT_KEYWORDS}
    keywords["type"] = skip_when(is_any_type, base["type"])
    return validators.extend(Draft202012Validator, keywords)


WorkflowValidator = _validator_class(_has_expression)
ManifestValidator = _validator_class(lambda instance: isinstance(instance, Substituted))


@functools.cache
def _argo_validator(directory: Path, argo_version: str, definition: str) -> Draft202012Validator:
    schema = {
        "$ref": f"#/definitions/{definition}",
        "definitions": _argo_definitions(directory, argo_version),
    }
    return WorkflowValidator(schema)


@functools.cache
def _manifest_validator(directory: Path, kind: str) -> Draft202012Validator:
    return ManifestValidator(_crd_schema(directory, kind))


@functools.cache
def _graph_validator(directory: Path) -> Draft202012Validator | None:
    """The InferenceGraph's, from the kserve SDK; None without it."""
    from mlflows.kserve_contract import inference_graph_schema

    schema = inference_graph_schema()
    if schema is None:
        return None
    schema["properties"]["metadata"] = {"$ref": f"#/definitions/{OBJECT_META}"}
    schema["definitions"] = _argo_definitions(directory, "4.1")
    return ManifestValidator(schema)


def _path(parts: Iterable[str | int]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif isinstance(part, str) and re.fullmatch(r"[A-Za-z0-9_-]+", part):
            text += f".{part}" if text else part
        else:  # a key to quote, or one YAML read as another type (1.5, null, a date)
            text += f"[{json.dumps(part, default=str)}]"
    return text or "(root)"


def _problems(validator: Draft202012Validator, instance: object) -> list[str]:
    problems = []
    for error in validator.iter_errors(instance):
        problems.extend(_describe(error))
    # In document order: templates[2] before templates[10].
    return sorted(
        problems, key=lambda p: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p)]
    )


def _describe(error: ValidationError) -> list[str]:
    path = list(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = error.schema.get("properties", {})
        unknown = [key for key in error.instance if key not in allowed]
        return [f"{_path([*path, key])}: unknown field" for key in unknown]
    return [f"{_path(path)}: {error.message}"]


# --- embedded manifests ---------------------------------------------------------------------


class _ManifestLoader(yaml.SafeLoader):
    """Reads a manifest whose expressions were replaced by tokens, and puts them back."""

    token: re.Pattern[str]
    expressions: list[str]


def _construct_string(loader: _ManifestLoader, node: yaml.ScalarNode) -> str:
    text = loader.token.sub(lambda m: loader.expressions[int(m.group(1))], node.value)
    if node.style is None and text != node.value:
        return Substituted(text)
    return text


_ManifestLoader.add_constructor("tag:yaml.org,2002:str", _construct_string)


def load_manifest_text(text: str) -> list[Any]:
    """The documents of a resource template's manifest, telling unquoted expressions apart.

    ``{{...}}`` is not valid YAML where a value starts (it reads as a flow mapping), so each
    expression is swapped for a plain token before parsing and restored in the strings.
    """
    prefix = "mlflowsexpr"
    while prefix in text:
        prefix += "x"
    expressions: list[str] = []

    def tokenize(match: re.Match[str]) -> str:
        expressions.append(match.group(0))
        return f"{prefix}{len(expressions) - 1}z"

    loader = _ManifestLoader(EXPRESSION.sub(tokenize, text))
    loader.token = re.compile(rf"{prefix}(\d+)z")
    loader.expressions = expressions
    try:
        documents = []
        while loader.check_data():
            documents.append(loader.get_data())
        return documents
    finally:
        loader.dispose()


def validate_manifest(manifest: Mapping[str, Any] | str, schemas: Path | None = None) -> list[str]:
    """Problems of one TFJob or InferenceService: a dict, or YAML text as a template embeds it."""
    if isinstance(manifest, str):
        try:
            documents = load_manifest_text(manifest)
        except yaml.YAMLError as err:
            return [f"(root): not valid YAML: {_one_line(err)}"]
        return [problem for doc in documents for problem in validate_manifest(doc, schemas)]
    if not isinstance(manifest, Mapping):
        return [f"(root): expected a Kubernetes object, got {type(manifest).__name__}"]
    kind = manifest.get("kind")
    if kind == "InferenceGraph":
        return _graph_problems(manifest, _resolve_dir(schemas))
    if kind not in CUSTOM_RESOURCES:
        return [f"kind: no schema for {kind!r}; known: {', '.join(CUSTOM_RESOURCES)}"]
    expected = CUSTOM_RESOURCES[kind].api_version
    if manifest.get("apiVersion") != expected:
        return [f"apiVersion: {kind} is served as {expected}, not {manifest.get('apiVersion')!r}"]
    return _problems(_manifest_validator(_resolve_dir(schemas), kind), manifest)


def _graph_problems(manifest: Mapping[str, Any], directory: Path) -> list[str]:
    """Checked against the kserve SDK's models when it is installed (mlflows.kserve_contract)."""
    if manifest.get("apiVersion") != GRAPH_API_VERSION:
        return [
            f"apiVersion: InferenceGraph is served as {GRAPH_API_VERSION}, not "
            f"{manifest.get('apiVersion')!r}"
        ]
    validator = _graph_validator(directory)
    return [] if validator is None else _problems(validator, manifest)


def _embedded_problems(templates: object, templates_path: str, schemas: Path) -> list[str]:
    if not isinstance(templates, list):
        return []
    problems = []
    for index, template in enumerate(templates):
        resource = template.get("resource") if isinstance(template, dict) else None
        if not isinstance(resource, dict) or not isinstance(resource.get("manifest"), str):
            continue
        where = f"{templates_path}[{index}].resource.manifest"
        try:
            documents = load_manifest_text(resource["manifest"])
        except yaml.YAMLError as err:
            problems.append(f"{where}: not valid YAML: {_one_line(err)}")
            continue
        for document in documents:
            checked = (*CUSTOM_RESOURCES, "InferenceGraph")
            if isinstance(document, dict) and document.get("kind") not in checked:
                continue  # a ConfigMap, a Job...: no schema here, the cluster checks it
            problems.extend(f"{where} > {p}" for p in validate_manifest(document, schemas))
    return problems


def _one_line(err: Exception) -> str:
    return " ".join(str(err).split())


# --- workflows ------------------------------------------------------------------------------


def validate_workflow(
    manifest: Mapping[str, Any], argo_version: str = "4.1", schemas: Path | None = None
) -> list[str]:
    """Problems of a rendered Workflow (or WorkflowTemplate, CronWorkflow) and its embedded
    TFJob/InferenceService manifests, as ``path.to.field: message`` lines; empty when valid."""
    directory = _resolve_dir(schemas)
    kind = manifest.get("kind", "Workflow")
    if kind not in ARGO_KINDS:
        return [f"kind: expected one of {', '.join(ARGO_KINDS)}, not {kind!r}"]
    problems = validate_argo_object(manifest, ARGO_DEFINITION + kind, argo_version, directory)
    templates = templates_of(manifest)
    return problems + _embedded_problems(templates, ".".join(ARGO_KINDS[kind]), directory)


def validate_argo_object(
    instance: object, definition: str, argo_version: str = "4.1", schemas: Path | None = None
) -> list[str]:
    """Problems of ``instance`` against one definition of Argo's schema, strictly, e.g.
    ``io.argoproj.workflow.v1alpha1.WorkflowStatus`` for what a runner reports."""
    directory = _resolve_dir(schemas)
    if definition not in _argo_definitions(directory, argo_version):
        raise ValueError(f"Argo {argo_version}'s schema has no definition {definition!r}")
    return _problems(_argo_validator(directory, argo_version, definition), instance)


# --- the `mlflows validate` command ---------------------------------------------------------


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check rendered workflows and TFJob/InferenceService manifests against the schemas",
        description="Strictly validate every document of FILE against the engines' published "
        f"schemas (from --schema-dir, else ${SCHEMA_DIR_VARIABLE}, else those 'mlflows schemas "
        "fetch' downloaded); a Workflow (or CronWorkflow) must also pass the local runner's "
        "checks (templates that exist, no dependency cycle, parameters that are defined), its "
        "templateRefs resolved in the WorkflowTemplates of FILE and --templates.",
    )
    parser.add_argument(
        "file", type=Path, metavar="FILE.yaml", help="the YAML file, one or more documents"
    )
    parser.add_argument(
        "--templates",
        nargs="+",
        action="extend",
        default=[],
        metavar="PATH",
        help="more WorkflowTemplates and ClusterWorkflowTemplates the workflows call: YAML files "
        "or directories of them (as mlflows run takes them)",
    )
    parser.add_argument(
        "--argo-version",
        choices=sorted(ARGO_SCHEMA_FILES),
        default="4.1",
        help="the Argo Workflows version to validate for (default: %(default)s)",
    )
    parser.add_argument(
        "--schema-dir",
        type=Path,
        metavar="DIR",
        help=f"the folder with the schema files (default: ${SCHEMA_DIR_VARIABLE}, else "
        f"{user_schema_dir()})",
    )
    parser.set_defaults(func=_validate_command)


def _validate_command(args: argparse.Namespace) -> int:
    directory = find_schema_dir(args.schema_dir)
    try:
        # Bytes: YAML finds the encoding, and text that is not UTF-8 is a YAMLError.
        documents = [d for d in yaml.safe_load_all(args.file.read_bytes()) if d is not None]
    except OSError as err:
        raise UserError(f"cannot read {args.file}: {err.strerror}") from None
    except yaml.YAMLError as err:
        raise UserError(f"{args.file} is not valid YAML: {_one_line(err)}") from None
    library = _library(args.file, documents, args.templates)
    problems = []
    checked = 0
    for number, document in enumerate(documents, start=1):
        label = f"{args.file} document {number}"
        kind = document.get("kind") if isinstance(document, dict) else None
        if kind in ARGO_KINDS:
            found = validate_workflow(document, args.argo_version, directory)
            if kind in RUNNABLE_KINDS and not found:  # else the runner would only say it again
                found = _local_runner_problems(document, library)
        elif kind in CUSTOM_RESOURCES:
            found = validate_manifest(document, directory)
        else:
            print(f"{label}: not checked, no schema for kind {kind!r}", file=sys.stderr)
            continue
        checked += 1
        problems.extend(f"{label} ({kind}): {problem}" for problem in found)
    if not checked:
        kinds = ", ".join([*ARGO_KINDS, *CUSTOM_RESOURCES])
        raise UserError(f"{args.file} holds nothing to validate (no {kinds})")
    write_stdout("".join(f"{problem}\n" for problem in problems) or "valid\n")
    return 1 if problems else 0


def _library(file: Path, documents: list, templates: list[Path]) -> list:
    """The WorkflowTemplates and ClusterWorkflowTemplates of ``file`` and ``--templates``, as the
    local runner reads them."""
    from mlflows.local.spec.manifests import Manifest, read_manifests
    from mlflows.local.spec.templates import Library

    return [
        Manifest(f"{file} document {number}", document)
        for number, document in enumerate(documents, start=1)
        if isinstance(document, dict) and document.get("kind") in Library.KINDS
    ] + read_manifests(templates, "--templates")


def _local_runner_problems(document: dict, library: list) -> list[str]:
    """What the local runner finds wrong up front in a Workflow (or the workflow of a
    CronWorkflow), as ``argo lint`` would: a missing template, a dependency cycle, an undefined
    parameter... (the first it finds). ``library`` holds the WorkflowTemplates its templateRefs
    may name. A feature the runner only does not run is no problem of the workflow's."""
    from mlflows.local.spec.checked import check_workflow
    from mlflows.local.spec.fields import NotRunnableHere

    try:
        check_workflow(document, templates=library)
    except NotRunnableHere:
        return []
    except UserError as err:
        return [str(err)]
    return []
