"""TensorFlow imported without its start-up chatter, so what an entry point prints is its own.

TensorFlow 2.21 logs through absl before absl is initialised, and those lines ignore
``TF_CPP_MIN_LOG_LEVEL``: importing it prints, once per native library, a banner saying so, that
oneDNN is on and that no CUDA driver was found; finding the devices adds a failed ``cuInit`` on
a machine without a GPU. So :func:`tensorflow` imports it and finds the devices with file
descriptor 2 (where native code writes) sent to a temporary file, shown only if that fails.
The Python warnings of tensorflow-datasets (the ``absl`` logger) follow the same level: at the
default 2, errors only. ``TF_CPP_MIN_LOG_LEVEL=0`` shows everything as it happens.

Every module of :mod:`mlflows.ml` gets TensorFlow from :func:`tensorflow`, so whichever runs
first starts it quietly. It must run on the main thread before any other thread writes to
stderr: what they wrote meanwhile would be held back too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Iterator

# TF_CPP_MIN_LOG_LEVEL's meaning (0 all, 1 no info, 2 no warnings, 3 no errors) for Python loggers.
PYTHON_LEVELS = {0: logging.NOTSET, 1: logging.WARNING, 2: logging.ERROR, 3: logging.CRITICAL}

_started = False


def _log_level() -> int:
    try:
        return min(max(int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0")), 0), 3)
    except ValueError:  # TensorFlow reads a malformed value as 0 too
        return 0


@contextlib.contextmanager
def _stderr_held_back() -> Iterator[None]:
    """Send file descriptor 2 to a temporary file; replay it if the block raises."""
    sys.stderr.flush()
    original = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        except BaseException:
            sys.stderr.flush()
            os.dup2(original, 2)
            held.seek(0)
            with open(2, "wb", closefd=False) as stderr:
                stderr.write(held.read())
            raise
        finally:
            sys.stderr.flush()
            os.dup2(original, 2)
            os.close(original)


def tensorflow():
    """The ``tensorflow`` module; the first call imports it and finds the devices quietly."""
    global _started
    if not _started:
        level = _log_level()
        logging.getLogger("absl").setLevel(PYTHON_LEVELS[level])
        with _stderr_held_back() if level else contextlib.nullcontext():
            import tensorflow as tf

            tf.config.list_physical_devices()
        _started = True
    import tensorflow as tf

    return tf
