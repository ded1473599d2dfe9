"""A versions directory: numbered SavedModels ``<dir>/<N>/``, TF Serving's layout.

A model server (TF Serving, KServe's tensorflow runtime, :mod:`mlflows.ml.serve`) watching the
directory serves the highest ``N``. :func:`promote` publishes a version in one rename of a
complete directory, metadata included, so a watcher never sees a half-written one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

from mlflows.errors import UserError
from mlflows.ml import files
from mlflows.ml.predictor import is_saved_model

METADATA_FILE = "promotion.json"
# A version a canary rollout rolled back: kept (its revision may still be reached by its tag),
# but no longer the newest to serve nor the champion to beat.
REJECTED_FILE = "rejected.json"
# Numbers a concurrent promoter may take before we give up; each retry takes the next one.
PROMOTE_ATTEMPTS = 10


def numbers(versions_dir: str | Path) -> list[int]:
    """The published version numbers, ascending (hidden staging directories are not versions)."""
    versions_dir = Path(versions_dir)
    if not versions_dir.is_dir():
        return []
    return sorted(
        int(entry.name)
        for entry in versions_dir.iterdir()
        if entry.name.isdigit() and entry.is_dir()
    )


def _next_number(versions_dir: Path) -> int:
    """One above every numbered entry, a file named ``3`` included: a rename never lands on it."""
    taken = [int(entry.name) for entry in versions_dir.iterdir() if entry.name.isdigit()]
    return max(taken, default=0) + 1


def newest(versions_dir: str | Path) -> Path | None:
    """The highest version not rejected, or None."""
    found = [Path(versions_dir) / str(n) for n in numbers(versions_dir)]
    kept = [version for version in found if not rejected(version)]
    return kept[-1] if kept else None


def rejected(version_dir: str | Path) -> bool:
    return (Path(version_dir) / REJECTED_FILE).exists()


def reject(version_dir: str | Path, reason: str) -> None:
    """Mark a published version as rolled back, with why."""
    record = {
        "reason": reason,
        "rejected_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    files.write_json(Path(version_dir) / REJECTED_FILE, record)


def metadata(version_dir: str | Path) -> dict:
    """What :func:`promote` recorded about a version; ``{}`` if it was published otherwise."""
    try:
        recorded = json.loads((Path(version_dir) / METADATA_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return recorded if isinstance(recorded, dict) else {}


def fingerprint(model_dir: str | Path) -> str:
    """A digest of a SavedModel's files (not of our metadata), to tell identical models apart."""
    model_dir = Path(model_dir)
    digest = hashlib.sha256()
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        relative = path.relative_to(model_dir).as_posix()
        if relative in (METADATA_FILE, REJECTED_FILE):
            continue
        digest.update(relative.encode() + b"\0")
        digest.update(path.read_bytes())
    return f"sha256:{digest.hexdigest()}"


def promote(model_dir: str | Path, versions_dir: str | Path, accuracy: float) -> Path:
    """Copy ``model_dir`` to the next ``<versions_dir>/<N>``; returns that path."""
    model_dir, versions_dir = Path(model_dir), Path(versions_dir)
    if not is_saved_model(model_dir):
        raise UserError(f"--model-dir: {model_dir} is not a SavedModel (no saved_model.pb)")
    if model_dir.resolve() in [versions_dir.resolve(), *versions_dir.resolve().parents]:
        # The copy would take in the versions being written beside it, its own copy included.
        raise UserError(
            f"--versions-dir: {versions_dir} is inside the model {model_dir}; give a directory "
            "outside it"
        )
    staging = files.staging_dir(versions_dir / "version")
    try:
        shutil.copytree(model_dir, staging, dirs_exist_ok=True)
        record = {
            "accuracy": accuracy,
            "source": str(model_dir),
            "fingerprint": fingerprint(model_dir),
            "promoted_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        files.write_json(staging / METADATA_FILE, record)
        for _ in range(PROMOTE_ATTEMPTS):
            final = versions_dir / str(_next_number(versions_dir))
            try:
                os.rename(staging, final)
                return final
            except OSError:
                if not final.exists():
                    raise
        raise UserError(
            f"--versions-dir: {versions_dir} kept gaining versions while promoting; retry"
        )
    finally:
        shutil.rmtree(staging, ignore_errors=True)
