"""``mlflows schemas fetch``: download the engines' published schemas that validation reads.

Each file comes from its project's repository at the version mlflows targets, as GitHub serves
the raw file, and is saved under the name ``mlflows validate`` looks for, in the user cache
(:func:`mlflows.schema.user_schema_dir`), as kubeconform caches its schemas. ``--base-url`` (or
``$MLFLOWS_SCHEMA_BASE_URL``) replaces ``https://raw.githubusercontent.com`` with a mirror laid
out the same way.

Every file is downloaded into a staging folder and read as validation reads it (an error page,
a Git LFS pointer or another file under the name is refused) before any is moved into place,
each by an atomic rename: a failed fetch leaves the cache as it was.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from mlflows.errors import UserError
from mlflows.help_text import plain
from mlflows.schema import (
    ARGO_SCHEMA_FILES,
    CUSTOM_RESOURCES,
    SchemaFileError,
    check_files,
    user_schema_dir,
)

BASE_URL_VARIABLE = "MLFLOWS_SCHEMA_BASE_URL"
GITHUB_RAW = "https://raw.githubusercontent.com"
TIMEOUT = 60.0  # seconds without an answer before a download is given up
# The Argo Server's REST API, which the submit tests hold mlflows to (tests/argo_server).
ARGO_SERVER_API_FILE = "argo-workflows-v4.1.2.swagger.json"
CREATE_WORKFLOW = "/api/v1/workflows/{namespace}"


@dataclass(frozen=True)
class Source:
    repository: str  # owner/name on GitHub
    ref: str  # the tag (or release branch) of the version mlflows targets
    path: str  # the file in the repository

    def url(self, base: str) -> str:
        return f"{base.rstrip('/')}/{self.repository}/{self.ref}/{self.path}"


ARGO = "argoproj/argo-workflows"
# As listed in shared/schemas/README.md: saved under the key, fetched from the source.
SOURCES = {
    ARGO_SCHEMA_FILES["4.1"]: Source(ARGO, "v4.1.2", "api/jsonschema/schema.json"),
    ARGO_SCHEMA_FILES["3.7"]: Source(ARGO, "v3.7.18", "api/jsonschema/schema.json"),
    ARGO_SERVER_API_FILE: Source(ARGO, "v4.1.2", "api/openapi-spec/swagger.json"),
    CUSTOM_RESOURCES["TFJob"].crd_file: Source(
        "kubeflow/training-operator", "release-1.9", "manifests/base/crds/kubeflow.org_tfjobs.yaml"
    ),
    CUSTOM_RESOURCES["InferenceService"].crd_file: Source(
        "kserve/kserve", "v0.20.0", "config/crd/full/serving.kserve.io_inferenceservices.yaml"
    ),
}


def fetch(directory: Path | None = None, base_url: str | None = None) -> Path:
    """Download every schema file into ``directory`` (default: the user cache) from
    ``base_url`` (default: $MLFLOWS_SCHEMA_BASE_URL, else GitHub); returns the directory."""
    directory = directory or user_schema_dir()
    base = _base_url(base_url)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".fetching-", dir=directory))
    except OSError as err:
        raise UserError(f"cannot create {directory}: {err.strerror or err}") from None
    try:
        for name, source in SOURCES.items():
            _download(source.url(base), staging / name)
        try:
            check_files(staging)
            _check_argo_server_api(staging / ARGO_SERVER_API_FILE)
        except SchemaFileError as err:
            raise UserError(
                f"{SOURCES[err.path.name].url(base)} is not the published "
                f"{err.path.name} ({err.problem}); check the base URL {base}"
            ) from None
        for name in SOURCES:
            os.replace(staging / name, directory / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return directory


def _base_url(given: str | None) -> str:
    base = given or os.environ.get(BASE_URL_VARIABLE) or GITHUB_RAW
    if urlsplit(base).scheme not in ("http", "https", "file"):
        raise UserError(f"--base-url: {base!r} is not an http://, https:// or file:// URL")
    return base


def _download(url: str, path: Path) -> None:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as answer, path.open("wb") as file:
            shutil.copyfileobj(answer, file)
    except urllib.error.HTTPError as err:
        raise UserError(f"cannot download {url}: {err.code} {err.reason}") from None
    except (urllib.error.URLError, OSError) as err:  # offline, refused, timed out
        reason = getattr(err, "reason", None) or err
        raise UserError(
            f"cannot download {url}: {getattr(reason, 'strerror', None) or reason}; without "
            "internet, copy the files (mlflows schemas fetch --help lists them) into a folder "
            "and set MLFLOWS_SCHEMA_DIR to it"
        ) from None


def _check_argo_server_api(path: Path) -> None:
    try:
        document = json.loads(path.read_bytes())
        if CREATE_WORKFLOW not in document["paths"] or document["swagger"] != "2.0":
            raise ValueError(f"not a Swagger 2.0 API with {CREATE_WORKFLOW}")
    except (ValueError, LookupError, TypeError) as err:
        raise SchemaFileError(path, f"{type(err).__name__}: {err}") from None


# --- the `mlflows schemas` command ----------------------------------------------------------


def register(subparsers: argparse._SubParsersAction) -> None:
    schemas = subparsers.add_parser(
        "schemas",
        help="download the engines' published schemas that validate uses",
        description=plain(__doc__),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = schemas.add_subparsers(dest="action", required=True, metavar="ACTION")
    fetching = actions.add_parser(
        "fetch",
        help=f"download them into {user_schema_dir()}",
        description="Download the schema files of the Argo Workflows, training-operator and\n"
        "KServe versions mlflows targets into the user cache, where validate finds them.",
        epilog="files, and where they come from:\n"
        + "".join(f"  {name}\n    {source.url(GITHUB_RAW)}\n" for name, source in SOURCES.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fetching.add_argument(
        "--base-url",
        metavar="URL",
        help=f"where to download from, laid out as GitHub's raw files (default: "
        f"${BASE_URL_VARIABLE}, else {GITHUB_RAW})",
    )
    fetching.set_defaults(func=_fetch_command)


def _fetch_command(args: argparse.Namespace) -> int:
    directory = fetch(base_url=args.base_url)
    for name in SOURCES:
        print(directory / name)
    return 0
