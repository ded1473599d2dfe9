"""``mlflows schemas fetch`` against a loopback mirror laid out as GitHub serves raw files, holding
copies of the published files (MLFLOWS_SCHEMA_DIR); then ``mlflows validate`` with no schema
directory set finds them in the user cache."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from pathlib import Path

import pytest
from argo_server.mock import free_port
from repo_workflows import REPO

from mlflows import schema
from mlflows.cli import main
from mlflows.schema_fetch import BASE_URL_VARIABLE, SOURCES


@pytest.fixture
def mirror(schema_dir, tmp_path):
    """An HTTP server on loopback with each published file at its GitHub path; yields its URL,
    its root, and the paths it was asked for."""
    root = tmp_path / "mirror"
    for name, source in SOURCES.items():
        path = root / source.repository / source.ref / source.path
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(schema_dir / name, path)
    asked: list[str] = []

    class Files(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            asked.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Files, directory=str(root))
    )
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", root, asked
    server.shutdown()
    server.server_close()


@pytest.fixture
def user_cache(monkeypatch, tmp_path) -> Path:
    """No schema directory named: validation has only the user cache (still empty)."""
    monkeypatch.delenv(schema.SCHEMA_DIR_VARIABLE, raising=False)
    monkeypatch.delenv(BASE_URL_VARIABLE, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "mlflows-schemas"


def mlflows(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def cached_files(directory: Path) -> dict[str, bytes]:
    """Everything in the cache: staging left behind would show up here too."""
    if not directory.exists():
        return {}
    return {path.name: path.read_bytes() for path in directory.iterdir()}


def test_fetch_downloads_the_published_files_and_validate_finds_them(
    mirror, user_cache, schema_dir, capsys
):
    url, _, asked = mirror
    e2e = str(REPO / "flows" / "e2e.yaml")
    assert mlflows(capsys, "validate", e2e)[0] == 2  # nothing to validate with yet

    code, out, err = mlflows(capsys, "schemas", "fetch", "--base-url", url)
    assert (code, err) == (0, "")
    assert out.splitlines() == [str(user_cache / name) for name in SOURCES]
    assert sorted(asked) == sorted(f"/{s.repository}/{s.ref}/{s.path}" for s in SOURCES.values())
    assert cached_files(user_cache) == {name: (schema_dir / name).read_bytes() for name in SOURCES}
    assert mlflows(capsys, "validate", e2e) == (0, "valid\n", "")


def test_the_base_url_can_come_from_the_environment(mirror, user_cache, monkeypatch, capsys):
    url, _, asked = mirror
    monkeypatch.setenv(BASE_URL_VARIABLE, url)
    assert mlflows(capsys, "schemas", "fetch")[0] == 0
    assert len(asked) == len(SOURCES)
    assert set(cached_files(user_cache)) == set(SOURCES)


HTML_PAGE = b"<!DOCTYPE html><html><head><title>Sign in to the network</title></head></html>\n"


@pytest.mark.parametrize(
    "name, served, problem",
    [
        (
            "kserve-v0.20.0.serving.kserve.io_inferenceservices.crd.yaml",
            HTML_PAGE,
            "(TypeError: ",  # YAML reads the page as one string
        ),
        (
            "training-operator-v1.9.kubeflow.org_tfjobs.crd.yaml",
            "kserve-v0.20.0.serving.kserve.io_inferenceservices.crd.yaml",
            "(ValueError: it defines InferenceService, not TFJob)",
        ),
        ("argo-workflows-v4.1.2.schema.json", HTML_PAGE, "(JSONDecodeError: "),
        (
            "argo-workflows-v4.1.2.swagger.json",
            "argo-workflows-v4.1.2.schema.json",
            "(KeyError: 'paths')",
        ),
    ],
    ids=["error page", "another CRD", "argo schema", "argo server API"],
)
def test_a_file_that_is_not_the_published_one_is_refused_and_the_cache_kept(
    mirror, user_cache, schema_dir, capsys, name, served, problem
):
    url, root, _ = mirror
    assert mlflows(capsys, "schemas", "fetch", "--base-url", url)[0] == 0
    before = cached_files(user_cache)
    source = SOURCES[name]
    target = root / source.repository / source.ref / source.path
    target.write_bytes(served if isinstance(served, bytes) else (schema_dir / served).read_bytes())

    code, out, err = mlflows(capsys, "schemas", "fetch", "--base-url", url)
    assert (code, out) == (2, "")
    assert err.startswith(f"error: {source.url(url)} is not the published {name} {problem}")
    assert err.endswith(f"; check the base URL {url}\n") and len(err.splitlines()) == 1
    assert cached_files(user_cache) == before


def test_fetch_without_a_network_says_how_to_do_without(user_cache, capsys):
    base = f"http://127.0.0.1:{free_port()}"
    code, out, err = mlflows(capsys, "schemas", "fetch", "--base-url", base)
    first = next(iter(SOURCES.values())).url(base)
    assert (code, out) == (2, "")
    assert err == (
        f"error: cannot download {first}: Connection refused; without internet, copy the files "
        "(mlflows schemas fetch --help lists them) into a folder and set MLFLOWS_SCHEMA_DIR to it\n"
    )
    assert cached_files(user_cache) == {}


def test_fetch_names_a_file_the_server_does_not_have(mirror, user_cache, capsys):
    url, root, _ = mirror
    source = SOURCES["argo-workflows-v3.7.18.schema.json"]
    (root / source.repository / source.ref / source.path).unlink()
    code, _, err = mlflows(capsys, "schemas", "fetch", "--base-url", url)
    assert code == 2
    assert err == f"error: cannot download {source.url(url)}: 404 File not found\n"
    assert cached_files(user_cache) == {}


def test_fetch_takes_only_web_or_file_urls(user_cache, capsys):
    code, _, err = mlflows(capsys, "schemas", "fetch", "--base-url", "ftp://mirror.example")
    assert code == 2
    assert err == "error: --base-url: 'ftp://mirror.example' is not an http://, https:// or " \
        "file:// URL\n"  # fmt: skip
