"""The memoization cache on disk, standing in for Argo's ConfigMap cache.

One JSON file per entry, ``<cache-dir>/memo/<cache name>/<key>.json``, holding what Argo keeps in
a ConfigMap entry: ``nodeID``, ``outputs``, ``creationTimestamp``, ``lastHitTimestamp``. Like
Argo, an entry is written only when the memoized node succeeded, an entry older than ``maxAge``
(counted from its creation) is a miss, and every lookup stamps ``lastHitTimestamp``, which is
what ``mlflows cache prune`` collects by: caches otherwise pile up forever. An entry that cannot
be read (a crash mid-write, a hand edit) is a miss too, as Argo's cache treats an entry it cannot
unmarshal: the run warns once and the node's success overwrites it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mlflows.errors import UserError
from mlflows.local.controller.nodes import Outputs

# Argo's own rule for keys; it also keeps them safe as file names.
KEY_PATTERN = re.compile(r"^[a-zA-Z0-9][-a-zA-Z0-9]*$")
CACHE_NAME_PATTERN = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


def default_cache_dir(work_dir: str | Path) -> Path:
    """A work directory's memo cache: beside the volumes its entries' outputs name, as a
    namespace's memo ConfigMaps live beside its claims (a cache shared by work directories would
    hit on models another one holds)."""
    return Path(work_dir) / "cache"


class InvalidCacheKey(ValueError):
    """A memoize key or cache name Argo would refuse."""


@dataclass
class MemoEntry:
    cache_name: str
    key: str
    node_id: str
    outputs: Outputs
    created_at: float
    last_hit_at: float
    path: Path


class MemoCache:
    def __init__(self, cache_dir: Path, warn: Callable[[str], None] = lambda text: None):
        """``warn`` is told, once per entry, of an entry that cannot be read."""
        self.root = Path(cache_dir) / "memo"
        self._warn = warn
        self._warned: set[Path] = set()
        self._lock = threading.Lock()

    def check_writable(self) -> None:
        """UserError unless entries can be written here: checked before a run that memoizes,
        not after its first node succeeded."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            handle, probe = tempfile.mkstemp(dir=self.root, suffix=".tmp")
            os.close(handle)
            os.unlink(probe)
        except OSError as err:
            raise UserError(
                f"--cache-dir {self.root.parent}: cannot write the memo cache there "
                f"({err.strerror or err}); give a writable directory"
            ) from None

    def _cache_dir(self, cache_name: str) -> Path:
        if not CACHE_NAME_PATTERN.match(cache_name):
            raise InvalidCacheKey(f"invalid cache name {cache_name!r} (a ConfigMap name)")
        return self.root / cache_name

    def _path(self, cache_name: str, key: str) -> Path:
        cache_dir = self._cache_dir(cache_name)
        if not KEY_PATTERN.match(key):
            raise InvalidCacheKey(
                f"invalid cache key {key!r}: letters, digits and '-' only, as Argo requires"
            )
        return cache_dir / f"{key}.json"

    def load(self, cache_name: str, key: str) -> MemoEntry | None:
        """The entry, if any, with its last hit stamped now (as Argo's load does)."""
        path = self._path(cache_name, key)
        entry = self._read(path)
        if entry is not None:
            entry.last_hit_at = time.time()
            _write(entry)
        return entry

    def save(self, cache_name: str, key: str, node_id: str, outputs: Outputs) -> None:
        now = time.time()
        _write(MemoEntry(cache_name, key, node_id, outputs, now, now, self._path(cache_name, key)))

    def entries(self) -> list[MemoEntry]:
        """The readable entries (the unreadable ones are warned of)."""
        found = (self._read(path) for path in sorted(self.root.glob("*/*.json")))
        return [entry for entry in found if entry is not None]

    def prune(self, older_than: float) -> list[MemoEntry]:
        """Delete entries whose last hit is more than ``older_than`` seconds ago."""
        cutoff = time.time() - older_than
        removed = [entry for entry in self.entries() if entry.last_hit_at < cutoff]
        for entry in removed:
            entry.path.unlink(missing_ok=True)
        return removed

    def caches(self) -> list[str]:
        """The names of the caches that hold entries."""
        return sorted({path.parent.name for path in self.root.glob("*/*.json")})

    def clear(self, cache_name: str | None = None) -> int:
        """Delete every entry, or one cache's (InvalidCacheKey for a name such as ``..``)."""
        target = self._cache_dir(cache_name) if cache_name else self.root
        count = len(list(target.glob("**/*.json")))
        shutil.rmtree(target, ignore_errors=True)
        return count

    def _read(self, path: Path) -> MemoEntry | None:
        """The entry at ``path``; None if there is none or it cannot be read."""
        try:
            return _parse(path)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
            with self._lock:
                first = path not in self._warned
                self._warned.add(path)
            if first:
                self._warn(
                    f"memo cache entry {path} cannot be read ({err}); it counts as a miss and "
                    "is overwritten when the node succeeds"
                )
            return None


def _parse(path: Path) -> MemoEntry:
    data = json.loads(path.read_text())
    return MemoEntry(
        cache_name=path.parent.name,
        key=path.stem,
        node_id=str(data["nodeID"]),
        outputs=Outputs.from_json(data.get("outputs") or {}),
        created_at=float(data["creationTimestamp"]),
        last_hit_at=float(data["lastHitTimestamp"]),
        path=path,
    )


def _write(entry: MemoEntry) -> None:
    data = {
        "nodeID": entry.node_id,
        "outputs": entry.outputs.to_json(with_keys=True),
        "creationTimestamp": entry.created_at,
        "lastHitTimestamp": entry.last_hit_at,
    }
    entry.path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=entry.path.parent, suffix=".tmp")
    with os.fdopen(handle, "w") as out:
        json.dump(data, out, indent=2)
    os.replace(temp, entry.path)
