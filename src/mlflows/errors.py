"""The exception types for user mistakes and for what is missing right now.

Raised anywhere a user's input or environment is wrong; the CLI prints it as one line
(``error: <message>``) and exits non-zero, never as a traceback. The exit code tells a retry
policy which is which: 2, a usage error, fails the same way every time (workflows never retry it);
1, something unavailable right now (the network, a server, disk space), may pass later.
"""


class UserError(Exception):
    """A mistake the user can fix: the message names the field and the fix, in one line."""

    exit_code = 2


class Unavailable(UserError):
    """Something the command needs is unavailable right now; the same command may succeed later."""

    exit_code = 1
