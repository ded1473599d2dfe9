"""A flow's modes: render (the default), ``--submit`` to a cluster, ``--local`` here.

Each mode's options are one argument group of the flow's parser; given without their mode they
would be silently ignored (``--wait`` of a rendering, ``--work-dir`` of a submission), so they
are refused in one line instead.
"""

from __future__ import annotations

import argparse

from mlflows.errors import UserError


def refuse_options_without_their_mode(
    parser: argparse.ArgumentParser, args: argparse.Namespace, modes: dict[str, str]
) -> None:
    """``modes``: each mode's switch (``--local``) by the title of its argument group."""
    for group in parser._action_groups:  # argparse keeps a group's actions only privately
        switch = modes.get(group.title or "")
        if switch is None or getattr(args, _dest(switch)):
            continue
        for action in group._group_actions:
            given = getattr(args, action.dest, action.default)
            if action.option_strings[0] != switch and given != action.default:
                option = action.option_strings[0]
                raise UserError(f"{option}: it is an option of {switch}; add {switch}, or drop it")


def _dest(switch: str) -> str:
    return switch.lstrip("-").replace("-", "_")
