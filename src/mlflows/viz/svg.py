"""The graph as one self-contained SVG element: boxes, arrows and text, no fonts or scripts.

Text is measured with the advance widths of DejaVu Sans Bold, the widest sans-serif a viewer is
likely to fall back to, so that labels fit whatever font draws them; a long detail wraps onto a
second line and is then shortened with an ellipsis, and every box carries its full text as a
tooltip (``<title>``).
"""

from __future__ import annotations

import textwrap
from html import escape

from mlflows.viz.graph import Box, Graph
from mlflows.viz.layout import Rect, Route, layout
from mlflows.viz.palette import (
    BOX_FILL,
    BOX_STROKE,
    EDGE,
    HOOK_FILL,
    HOOK_STROKE,
    INK,
    MUTED,
    phase_colour,
    tint,
)

FONT_FAMILY = "Helvetica, Arial, 'DejaVu Sans', sans-serif"
TITLE_SIZE = 13.0
DETAIL_SIZE = 11.0
LABEL_SIZE = 10.0
TITLE_LINE = 17.0
DETAIL_LINE = 14.0
PAD_X = 12.0
PAD_Y = 7.0
MIN_WIDTH = 64.0
DOT = 14.0  # a step group's dot
STACK = 5.0  # how far a loop's copies stick out behind it
TITLE_CHARACTERS = 40
DETAIL_CHARACTERS = 36  # per line; a longer detail wraps onto a second line, then is cut

# Advance widths in thousandths of an em (DejaVu Sans Bold); anything else counts as a full em.
_NARROW = dict.fromkeys("iljI.,:;|!'` ", 360)
_SLIM = dict.fromkeys('frt()[]{}-/\\"*_', 480)
_WIDE = dict.fromkeys("mwMW@%&", 1000)
_DIGITS = dict.fromkeys("0123456789$#?", 700)
REGULAR = 0.9  # DejaVu Sans is about this much narrower than its bold


def _advance(character: str) -> int:
    for table in (_NARROW, _SLIM, _WIDE, _DIGITS):
        if character in table:
            return table[character]
    if character.isascii():
        return 800 if character.isupper() or not character.isalnum() else 700
    return 1000


def text_width(text: str, size: float, bold: bool = True) -> float:
    width = sum(_advance(character) for character in text) * size / 1000
    return width if bold else width * REGULAR


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def detail_lines(box: Box) -> list[str]:
    """The box's details as drawn: each on at most two lines."""
    lines = []
    for detail in box.details:
        wrapped = textwrap.wrap(detail, DETAIL_CHARACTERS) or [""]
        if len(wrapped) > 2:
            wrapped = [wrapped[0], shorten(" ".join(wrapped[1:]), DETAIL_CHARACTERS)]
        lines += wrapped
    return lines


def box_size(box: Box) -> tuple[float, float]:
    if box.kind == "group":
        return DOT, DOT
    lines = detail_lines(box)
    width = max(
        [text_width(shorten(box.title, TITLE_CHARACTERS), TITLE_SIZE)]
        + [text_width(line, DETAIL_SIZE, bold=False) for line in lines]
    )
    width = max(MIN_WIDTH, width + 2 * PAD_X)
    height = 2 * PAD_Y + TITLE_LINE + DETAIL_LINE * len(lines)
    if box.kind == "loop":
        return width + STACK, height + STACK
    return width, height


def render_svg(graph: Graph, direction: str = "LR", prefix: str = "g") -> str:
    """The picture of ``graph``; ``prefix`` keeps its element ids apart from others on a page."""
    labels = {
        i: text_width(label_text, LABEL_SIZE, bold=False) if direction == "LR" else LABEL_SIZE
        for i, edge in enumerate(graph.edges)
        if (label_text := shorten(edge.label, DETAIL_CHARACTERS))
    }
    sizes = {box.id: box_size(box) for box in graph.boxes.values()}
    placed = layout(graph, sizes, direction, labels)
    marker = f"{prefix}-arrow"
    hook_marker = f"{prefix}-arrow-hook"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="mlflows-graph" '
        f'width="{_n(placed.width)}" height="{_n(placed.height)}" '
        f'viewBox="0 0 {_n(placed.width)} {_n(placed.height)}" '
        f'font-family="{escape(FONT_FAMILY)}">',
        "<defs>",
        _marker(marker, EDGE),
        _marker(hook_marker, HOOK_STROKE),
        "</defs>",
        '<g class="edges">',
    ]
    for route in placed.routes:
        parts.append(_edge(route, placed.direction, hook_marker if route.edge.dashed else marker))
    parts.append("</g>")
    parts.append('<g class="nodes">')
    for number, box in enumerate(graph.boxes.values()):
        parts.append(_box(box, placed.boxes[box.id], f"{prefix}-node-{number}"))
    parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _n(value: float) -> str:
    """A coordinate, rounded to a tenth so that the text is stable."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _marker(marker_id: str, colour: str) -> str:
    return (
        f'<marker id="{marker_id}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" '
        f'fill="{colour}"/></marker>'
    )


def _edge(route: Route, direction: str, marker: str) -> str:
    edge, points = route.edge, route.points
    horizontal = direction == "LR"
    (x, y), path = points[0], [f"M{_n(points[0][0])},{_n(points[0][1])}"]
    for x1, y1 in points[1:]:
        if horizontal:
            middle = (x + x1) / 2
            path.append(f"C{_n(middle)},{_n(y)} {_n(middle)},{_n(y1)} {_n(x1)},{_n(y1)}")
        else:
            middle = (y + y1) / 2
            path.append(f"C{_n(x)},{_n(middle)} {_n(x1)},{_n(middle)} {_n(x1)},{_n(y1)}")
        x, y = x1, y1
    colour = HOOK_STROKE if edge.dashed else EDGE
    dashes = ' stroke-dasharray="5 4"' if edge.dashed else ""
    element = (
        f'<path class="edge{" hook" if edge.dashed else ""}" d="{" ".join(path)}" fill="none" '
        f'stroke="{colour}" stroke-width="1.5"{dashes} marker-end="url(#{marker})"/>'
    )
    if not edge.label:
        return element
    x, y = route.label_at
    return element + (
        f'\n<text class="edge-label" x="{_n(x)}" y="{_n(y)}" '
        f'text-anchor="middle" dominant-baseline="central" font-size="{_n(LABEL_SIZE)}" '
        f'fill="{MUTED}" '
        f'stroke="#ffffff" stroke-width="3" paint-order="stroke">'
        f"{escape(shorten(edge.label, DETAIL_CHARACTERS))}</text>"
    )


def _box(box: Box, rect: Rect, element_id: str) -> str:
    classes = escape(" ".join(part for part in ("node", box.kind, box.phase) if part))
    phase = f' data-phase="{escape(box.phase)}"' if box.phase else ""
    tooltip = box.tooltip or "\n".join([box.title, *box.details])
    body = "".join(_shape(box, rect) + (_text(box, rect) if box.kind != "group" else []))
    if box.link:
        body = f'<a href="{escape(box.link)}">{body}</a>'
    return (
        f'<g id="{element_id}" class="{classes}"{phase}><title>{escape(tooltip)}</title>{body}</g>'
    )


def _colours(box: Box) -> tuple[str, str]:
    """(fill, stroke) of a box."""
    if box.phase:
        colour = phase_colour(box.phase)
        return tint(colour), colour
    if box.kind in ("hook", "exit"):
        return HOOK_FILL, HOOK_STROKE
    return BOX_FILL, BOX_STROKE


def _shape(box: Box, rect: Rect) -> list[str]:
    fill, stroke = _colours(box)
    if box.kind == "group":
        x, y = rect.center
        colour = phase_colour(box.phase) if box.phase else BOX_STROKE
        return [f'<circle cx="{_n(x)}" cy="{_n(y)}" r="{_n(DOT / 2)}" fill="{colour}"/>']
    dashed = ' stroke-dasharray="5 3"' if box.kind in ("hook", "exit", "collapsed") else ""
    radius = min(rect.height / 2, 14.0) if box.kind == "exit" else 6.0

    def rectangle(x: float, y: float, width: float, height: float) -> str:
        return (
            f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(width)}" height="{_n(height)}" '
            f'rx="{_n(radius)}" fill="{fill}" stroke="{stroke}" stroke-width="2"{dashed}/>'
        )

    if box.kind != "loop":
        return [rectangle(rect.x, rect.y, rect.width, rect.height)]
    width, height = rect.width - STACK, rect.height - STACK
    return [  # copies behind, up and to the right: a stack of runs
        rectangle(rect.x + STACK, rect.y, width, height),
        rectangle(rect.x + STACK / 2, rect.y + STACK / 2, width, height),
        rectangle(rect.x, rect.y + STACK, width, height),
    ]


def _text(box: Box, rect: Rect) -> list[str]:
    top = rect.y + (STACK if box.kind == "loop" else 0.0) + PAD_Y
    middle = rect.x + (rect.width - (STACK if box.kind == "loop" else 0.0)) / 2
    lines = [
        f'<text x="{_n(middle)}" y="{_n(top + TITLE_LINE / 2)}" text-anchor="middle" '
        f'dominant-baseline="central" font-size="{_n(TITLE_SIZE)}" font-weight="600" '
        f'fill="{INK}">{escape(shorten(box.title, TITLE_CHARACTERS))}</text>'
    ]
    for k, detail in enumerate(detail_lines(box)):
        y = top + TITLE_LINE + DETAIL_LINE * (k + 0.5)
        lines.append(
            f'<text x="{_n(middle)}" y="{_n(y)}" text-anchor="middle" '
            f'dominant-baseline="central" font-size="{_n(DETAIL_SIZE)}" fill="{MUTED}">'
            f"{escape(detail)}</text>"
        )
    return lines
