"""Writing results so no reader ever sees half of one.

Files and directories are written under a temporary name beside their final path (same
filesystem, so the rename is atomic) and renamed into place. A crash leaves at most a hidden
temporary entry, never a truncated result under the real name. A device or a pipe given as the
file (``/dev/stdout``) is written in place: renaming onto it would replace it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from mlflows import output
from mlflows.errors import UserError

# tempfile creates owner-only entries; results live on a shared volume that other pods (a model
# server running as another user) read, so they get the usual world-readable modes.
FILE_MODE = 0o644
DIR_MODE = 0o755


def write_atomically(path: str | Path, text: str) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    output.write_atomically(path, text, FILE_MODE)


def json_text(data) -> str:
    return json.dumps(data, indent=2) + "\n"


def write_json(path: str | Path, data) -> None:
    write_atomically(path, json_text(data))


def write_output(flag: str, path: str | Path, text: str) -> None:
    """Write the file ``flag`` named; failing (a full disk) is one error line naming the flag."""
    try:
        write_atomically(path, text)
    except OSError as err:
        raise UserError(f"{flag}: cannot write {path}: {err.strerror or err}") from None


def _absolute(path: str | Path) -> Path:
    """``path`` made absolute with ``.`` and ``..`` taken out, so it has a real name and parent
    (``model/..`` or ``.`` have neither, and a temporary name built from them goes astray)."""
    return Path(os.path.abspath(path))


def staging_dir(final: str | Path) -> Path:
    """A fresh, hidden directory beside ``final`` to build it in."""
    final = _absolute(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.staging.", dir=final.parent))
    os.chmod(staging, DIR_MODE)
    return staging


def replace_dir(staging: Path, final: str | Path) -> None:
    """Make ``staging`` the directory ``final``, replacing what was there.

    The old directory is first renamed aside, so ``final`` is, at every moment, either the old
    complete directory, briefly absent, or the new complete one.
    """
    final = _absolute(final)
    retired = None
    if final.exists():
        retired = Path(tempfile.mkdtemp(prefix=f".{final.name}.retired.", dir=final.parent))
        os.rename(final, retired / final.name)
    os.rename(staging, final)
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)
