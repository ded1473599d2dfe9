"""Why a pod failed, in its node's message: the last ``error:`` line its process wrote.

Argo's controller gives a failed main container the message ``<reason> (exit code N):
<termination message>`` (workflow/controller/operator.go, ``inferFailedReason``); the termination
message is what the container wrote to /dev/termination-log or, under ``terminationMessagePolicy:
FallbackToLogsOnError``, the end of its log. Here the process's log plays that part: its last line
saying ``error: ...`` (or ``<program>: error: ...``, as argparse writes) is the termination
message, since that is the line the entry points end a failure with, naming the cause and the fix
(``error: cannot download fashion_mnist ...; use --dataset digits``). So the node, and the
workflow above it, say why without anyone opening the log.
"""

from __future__ import annotations

import re
from pathlib import Path

TAIL_BYTES = 64 * 1024  # only the end of the log is read, however long the log is
MAX_MESSAGE_BYTES = 2048  # the kubelet's cap on a termination message taken from a log
ERROR_LINE = re.compile(r"(?:[\w./-]+: )?error: \S", re.IGNORECASE)


def with_log_cause(message: str, log_path: Path) -> str:
    """``message`` (say ``Error (exit code 1)``) followed by the log's last ``error:`` line."""
    cause = last_error_line(log_path)
    return f"{message}: {cause}" if cause else message


def last_error_line(log_path: Path) -> str | None:
    try:
        with open(log_path, "rb") as log:
            size = log.seek(0, 2)
            log.seek(max(0, size - TAIL_BYTES))
            tail = log.read()
    except OSError:
        return None
    lines = tail.decode(errors="replace").splitlines()
    if size > TAIL_BYTES:
        lines = lines[1:]  # the first may be the end of a line cut in two
    for line in reversed(lines):
        line = line.strip()
        if ERROR_LINE.match(line):
            return line.encode()[:MAX_MESSAGE_BYTES].decode(errors="ignore")
    return None
