"""The one exception type for user mistakes.

Raised anywhere a user's input or environment is wrong; the CLI prints it as one line
(``error: <message>``) and exits non-zero, never as a traceback.
"""


class UserError(Exception):
    """A mistake the user can fix: the message names the field and the fix, in one line."""

    exit_code = 2
