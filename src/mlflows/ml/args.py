"""Command-line parsing for the entry points, with mistakes reported like every other one.

argparse normally prints its usage and exits by itself; here a bad or missing flag raises a
:class:`~mlflows.errors.UserError`, so ``run_cli`` prints it as the one ``error: ...`` line.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from mlflows.errors import UserError


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str):
        raise UserError(f"{message} (see {self.prog} --help)")


def _number(convert, accept, expected: str):
    """An argparse ``type`` converting with ``convert`` and accepting what ``accept`` allows."""

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not accept(value):  # nan fails every comparison: refused too
            raise argparse.ArgumentTypeError(f"must be {expected}, got {text!r}")
        return value

    return parse


positive_int = _number(int, lambda value: value > 0, "a whole number above 0")
positive_float = _number(float, lambda value: value > 0, "a number above 0")
non_negative_float = _number(float, lambda value: value >= 0, "a number 0 or above")
non_negative_int = _number(int, lambda value: value >= 0, "a whole number 0 or above")
fraction = _number(float, lambda value: 0 <= value <= 1, "a number from 0 to 1")


def _given(args: argparse.Namespace, flags: tuple[str, ...]):
    """``(flag, path)`` for each of ``flags`` given a value."""
    for flag in flags:
        path = getattr(args, flag.removeprefix("--").replace("-", "_"), None)
        if path:
            yield flag, path


def _nearest_existing(flag: str, path: str) -> Path:
    """The nearest existing parent of ``path``; refused if it is a file (nothing goes below)."""
    absolute = Path(os.path.abspath(path))  # "." has no parents
    # The root, the last parent of any absolute path, exists; "/" has none but is the root.
    parent = next(parent for parent in [*absolute.parents, absolute] if parent.exists())
    if not parent.is_dir():
        raise UserError(f"{flag}: {path} is below {parent}, a file; give another path")
    return parent


def _writable_in(flag: str, path: str, directory: Path) -> None:
    """Create and remove an entry in ``directory``, as writing ``path`` will: permissions, a
    read-only or pseudo file system (``/proc``) all show now rather than after the work."""
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".mlflows-write-check.", dir=directory))
    except OSError as err:
        raise UserError(
            f"{flag}: cannot write {path} ({err.strerror or err}); give a writable path"
        ) from None


def directories(args: argparse.Namespace, *flags: str) -> None:
    """Directory flags may name a directory or nothing yet (it is created), never a file."""
    for flag, path in _given(args, flags):
        if Path(path).exists() and not Path(path).is_dir():
            raise UserError(f"{flag}: {path} is a file; give a directory")
        _nearest_existing(flag, path)


def output_files(args: argparse.Namespace, *flags: str) -> None:
    """Flags naming a file to write, checked before any work: not a directory, not below a file,
    and writable: a device or a pipe (``/dev/stdout``) itself, any other file where it goes."""
    for flag, path in _given(args, flags):
        if Path(path).is_dir():
            raise UserError(f"{flag}: {path} is a directory; give a file path")
        if Path(path).exists() and not Path(path).is_file():  # written in place, see files
            if not os.access(path, os.W_OK):
                raise UserError(f"{flag}: cannot write {path} (not writable); give another path")
            continue
        _writable_in(flag, path, _nearest_existing(flag, path))


def replaced_whole(
    args: argparse.Namespace, replaced: str, *others: str, ours: Callable[[Path], bool]
) -> None:
    """``replaced`` names a directory the command replaces whole, so nothing else may go with it:
    refuse the working directory or one holding it, a directory that is or holds one of
    ``others``, and an existing directory that is neither empty nor ``ours`` (written by this
    command before, so replacing it loses nothing)."""
    (_, target), *_ = _given(args, (replaced,))
    target_path = Path(target).resolve()
    cwd = Path.cwd().resolve()
    if target_path == cwd or target_path in cwd.parents:
        raise UserError(
            f"{replaced}: {target} is or holds the working directory {cwd}, which saving there "
            f"would replace; give {replaced} a directory of its own"
        )
    for flag, path in _given(args, others):
        other = Path(path).resolve()
        if other == target_path or target_path in other.parents:
            raise UserError(
                f"{replaced}: {target} holds {flag} {path}, which saving there would replace; "
                f"give {replaced} a directory of its own"
            )
    if target_path.is_dir() and not ours(target_path):
        entries = sorted(entry.name for entry in target_path.iterdir())
        if entries:
            shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
            raise UserError(
                f"{replaced}: {target} already holds files ({shown}) that saving there would "
                f"replace; give {replaced} a new or empty directory"
            )
