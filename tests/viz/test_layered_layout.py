"""The layered layout: layers by longest path, few crossings, no overlaps, arrows that go
around boxes, and the same picture for the same graph."""

from __future__ import annotations

import pytest

from mlflows.viz.graph import Box, Graph
from mlflows.viz.layout import layout
from mlflows.viz.svg import render_svg


def graph_of(*edges: str, boxes: str = "") -> Graph:
    """A graph from edges written ``a>b``; ``boxes`` adds boxes first, in that order."""
    graph = Graph()
    names = boxes.split() + [name for edge in edges for name in edge.split(">")]
    for name in names:
        if name not in graph.boxes:
            graph.add(Box(name, name))
    for edge in edges:
        source, target = edge.split(">")
        graph.connect(source, target)
    return graph


def place(graph: Graph, direction: str = "LR"):
    return layout(graph, {box: (60.0, 30.0) for box in graph.boxes}, direction)


def test_layers_are_longest_paths_from_the_sources():
    placed = place(graph_of("a>b", "a>c", "b>d", "c>d", "a>d"))
    x = {name: rect.x for name, rect in placed.boxes.items()}
    assert x["a"] < x["b"] == x["c"] < x["d"]
    y = {name: rect.y for name, rect in placed.boxes.items()}
    assert abs(y["b"] - y["c"]) >= 30  # side by side across the layer, not on top of each other


def test_a_source_sits_just_before_what_it_leads_to():
    placed = place(graph_of("a>b", "b>c", "c>d", "late>d"))
    x = {name: rect.x for name, rect in placed.boxes.items()}
    assert x["late"] == x["c"]


@pytest.mark.parametrize("direction", ["LR", "TB"])
def test_a_long_arrow_goes_around_the_boxes_between(direction):
    """a -> d skips two layers, where b and c stand: its route must not cross their boxes."""
    graph = graph_of("a>b", "b>c", "c>d", "a>d", "a>e", "e>f", "f>d")
    placed = place(graph, direction)
    [points] = [r.points for r in placed.routes if (r.edge.source, r.edge.target) == ("a", "d")]
    assert len(points) == 2 + 2 * 2  # out of a, in and out of each layer between, into d
    for name in "bcef":
        rect = placed.boxes[name]
        for x, y in points:
            inside = rect.x < x < rect.x + rect.width and rect.y < y < rect.y + rect.height
            assert not inside, f"the arrow a -> d passes through {name}"


def test_crossings_are_undone():
    """In the order added, b -> x crosses r -> y and a -> y; reordered, nothing crosses."""
    edges = ["r>x", "r>y", "a>y", "b>x"]
    placed = place(graph_of(*edges, boxes="r a b"))
    y = {name: rect.y for name, rect in placed.boxes.items()}
    pairs = [edge.split(">") for edge in edges]
    crossings = [
        (one, other)
        for k, one in enumerate(pairs)
        for other in pairs[k + 1 :]
        if (y[one[0]] - y[other[0]]) * (y[one[1]] - y[other[1]]) < 0
    ]
    assert crossings == []


def test_boxes_of_a_layer_keep_their_gaps():
    graph = graph_of(*[f"root>leaf{k}" for k in range(7)])
    placed = layout(graph, {box: (40.0 + 10 * len(box), 24.0) for box in graph.boxes}, "TB")
    leaves = sorted(
        (rect for name, rect in placed.boxes.items() if name != "root"), key=lambda r: r.x
    )
    for left, right in zip(leaves, leaves[1:], strict=False):
        assert left.x + left.width < right.x
    root = placed.boxes["root"]
    middle = (leaves[0].x + leaves[-1].x + leaves[-1].width) / 2
    assert abs(root.center[0] - middle) < 1  # centred over what it leads to


def test_a_cycle_is_drawn_with_one_arrow_turned_back():
    placed = place(graph_of("a>b", "b>c", "c>a"))
    [points] = [r.points for r in placed.routes if (r.edge.source, r.edge.target) == ("c", "a")]
    assert points[0][0] > points[-1][0]  # from c, on the right, back to a, on the left


def test_the_same_graph_gives_the_same_picture():
    edges = ["a>b", "a>c", "c>d", "b>d", "x>c", "a>d", "d>e", "b>e"]
    assert render_svg(graph_of(*edges)) == render_svg(graph_of(*edges))
