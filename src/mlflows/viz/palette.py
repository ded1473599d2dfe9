"""Colours, one place: each node phase's colour (after Argo's UI), the light tint its boxes are
filled with, and the neutral colours of a picture of a spec, which has no phases."""

from __future__ import annotations

PHASE_COLOURS = {
    "Succeeded": "#18be94",
    "Failed": "#e96d76",
    "Error": "#c8404d",
    "Running": "#0dadea",
    "Pending": "#f4c030",
    "Skipped": "#8fa4b8",
    "Omitted": "#b4c0cc",
}
UNKNOWN_PHASE = "#8fa4b8"

INK = "#1f2d3d"  # titles
MUTED = "#52606d"  # details, labels
EDGE = "#8a97a8"
BOX_FILL = "#f1f5f9"  # a spec's boxes
BOX_STROKE = "#6b7f95"
HOOK_FILL = "#fff6e5"
HOOK_STROKE = "#d08a1c"


def phase_colour(phase: str | None) -> str:
    return PHASE_COLOURS.get(phase or "", UNKNOWN_PHASE)


def tint(colour: str, strength: float = 0.22) -> str:
    """``colour`` mixed with white: ``strength`` of the colour, the rest white."""
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    mixed = (round(255 - (255 - c) * strength) for c in (red, green, blue))
    return "#" + "".join(f"{c:02x}" for c in mixed)
