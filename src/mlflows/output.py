"""Writing what a command produces: to standard output, or to a file, whole or not at all.

A full disk or a closed pipe (``> /dev/full``, ``| head``) is a UserError of one line, not a
traceback; a file that cannot be written completely is left as it was.
"""

from __future__ import annotations

import os
import secrets
import stat
import sys
from pathlib import Path

from mlflows.errors import UserError


def write_stdout(text: str) -> None:
    """Write ``text`` to standard output and flush it."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except OSError as err:
        _stdout_failed(err)


def flush_stdout() -> None:
    """Flush what ``print`` left buffered, so that a failure is reported while it can be."""
    try:
        sys.stdout.flush()
    except OSError as err:
        _stdout_failed(err)


def _stdout_failed(err: OSError) -> None:
    # What stays buffered would fail again when the interpreter flushes at exit, printing a
    # traceback after our line: send it to /dev/null instead.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout is no file (captured, closed): nothing is left to flush
        pass
    raise UserError(f"cannot write to standard output: {err.strerror or err}") from None


def write_file(path: str | Path, text: str, field: str, mode: int | None = None) -> None:
    """Write ``text`` to ``path`` whole or not at all (:func:`write_atomically`); a failure, such as
    a full disk, is a UserError naming ``field``."""
    try:
        write_atomically(path, text, mode)
    except OSError as err:
        raise UserError(f"{field}: cannot write {path}: {err.strerror or err}") from None


def write_atomically(path: str | Path, text: str, mode: int | None = None) -> None:
    """Replace a regular file (or create one) through a temporary file beside it,
    so no reader sees half of it; a device or pipe (``/dev/stdout``) is written in place, since a
    rename would replace the device itself. ``mode`` defaults to what the umask gives."""
    path = Path(path)
    if path.exists() and not stat.S_ISREG(path.stat().st_mode):
        with path.open("w") as file:
            file.write(text)
        return
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with temporary.open("x") as file:  # "x": the umask's permissions, as open("w") gives
            file.write(text)
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
