"""A layered drawing of a directed graph (Sugiyama's method, small and deterministic).

1. Cycles are broken by reversing the edges a depth-first search finds going back.
2. Each box goes in the layer of its longest path from a source; a source moves down to just
   before its first successor, so that arrows stay short.
3. An arrow spanning several layers passes through a point in each layer between, so that other
   boxes keep out of its way.
4. The order within each layer comes from barycenter sweeps, keeping the order with the fewest
   crossings found.
5. Positions across the layers are the least-squares fit to each box's neighbours that keeps
   the order and the gaps (an isotonic regression, solved exactly by pooling adjacent violators),
   swept down and up a few times.

Ties are broken by the order boxes and edges were added, so the same graph gives the same
picture. ``direction`` is ``LR`` (layers from left to right) or ``TB`` (from top to bottom).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from mlflows.viz.graph import Edge, Graph

DIRECTIONS = ("LR", "TB")
LAYER_GAP = 56.0  # between the widest boxes of two layers, along the arrows
LABEL_PAD = 10.0  # on each side of an arrow's label, which widens its gap when it needs to
BOX_GAP = 22.0  # between two boxes of one layer
LANE_GAP = 8.0  # beside an arrow passing through a layer
LANE_SIZE = 2.0
MARGIN = 16.0
SWEEPS = 24
PLACEMENT_ROUNDS = 6


@dataclass(frozen=True)
class Rect:
    x: float  # left
    y: float  # top
    width: float
    height: float

    @property
    def center(self) -> tuple[float, float]:
        return self.x + self.width / 2, self.y + self.height / 2


@dataclass(frozen=True)
class Route:
    edge: Edge
    points: list[tuple[float, float]]  # where the arrow passes, from its source to its target
    label_at: tuple[float, float]  # the middle of its first stretch between layers


@dataclass
class Layout:
    width: float
    height: float
    boxes: dict[str, Rect]
    routes: list[Route]
    direction: str


def layout(
    graph: Graph,
    sizes: dict[str, tuple[float, float]],
    direction: str = "LR",
    labels: dict[int, float] | None = None,
) -> Layout:
    """Place every box of ``graph`` (``sizes``: its width and height) and route every edge;
    ``labels``: how long each labelled edge's label is along the arrows, by the edge's index."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction {direction!r}: one of {', '.join(DIRECTIONS)}")
    across = 1 if direction == "LR" else 0  # which of (width, height) lies across the layers
    ids = list(graph.boxes)
    along_size = {box: sizes[box][1 - across] for box in ids}
    cross_size = {box: sizes[box][across] for box in ids}

    edges = [(edge.source, edge.target) for edge in graph.edges]
    upward = _back_edges(ids, edges)
    forward = [(t, s) if i in upward else (s, t) for i, (s, t) in enumerate(edges)]
    layer = _layers(ids, forward)

    # Chains of lane points for arrows longer than one layer.
    chains: list[list[str]] = []
    for i, (source, target) in enumerate(forward):
        lanes = []
        for k in range(layer[source] + 1, layer[target]):
            lane = f"\0{i}.{k}"
            layer[lane], along_size[lane], cross_size[lane] = k, 0.0, LANE_SIZE
            lanes.append(lane)
        chains.append([source, *lanes, target])
    above: dict[str, list[str]] = {node: [] for node in layer}
    below: dict[str, list[str]] = {node: [] for node in layer}
    for chain in chains:
        for upper, lower in pairwise(chain):
            below[upper].append(lower)
            above[lower].append(upper)

    layers = _initial_order(ids, layer, below)
    layers = _fewest_crossings(layers, above, below)
    cross = _place_across(layers, above, below, cross_size)

    # Along the arrows: each layer as wide as its widest box, boxes centred in it; the gap
    # after it wide enough for the labels of the arrows leaving it.
    band = {node: i for i, nodes in enumerate(layers) for node in nodes}
    band_size = [max(along_size[node] for node in nodes) for nodes in layers]
    gaps = [LAYER_GAP] * len(layers)
    for i, length in (labels or {}).items():
        j = band[chains[i][0]]
        gaps[j] = max(gaps[j], length + 2 * LABEL_PAD)
    starts, position = [], MARGIN
    for size, gap in zip(band_size, gaps, strict=True):
        starts.append(position)
        position += size + gap
    extent_along = position - (gaps[-1] if gaps else 0.0) + MARGIN

    extent_across = max((cross[n] + cross_size[n] / 2 for n in cross), default=0) + MARGIN

    def point(along: float, across_at: float) -> tuple[float, float]:
        return (along, across_at) if across == 1 else (across_at, along)

    def near(node: str) -> float:  # where arrows enter a box, along them
        i = band[node]
        return starts[i] + (band_size[i] - along_size[node]) / 2

    def far(node: str) -> float:  # where arrows leave it
        return near(node) + along_size[node]

    ports = _ports(chains, cross, cross_size)
    routes = []
    for i, (edge, chain) in enumerate(zip(graph.edges, chains, strict=True)):
        # Straight out to the end of the source's layer, curving only between layers, so that
        # an arrow from a box narrower than its layer keeps clear of the layer's wider boxes.
        first, last = band[chain[0]], band[chain[-1]]
        points = [point(far(chain[0]), ports[(i, "out")])]
        if far(chain[0]) < starts[first] + band_size[first]:
            points.append(point(starts[first] + band_size[first], ports[(i, "out")]))
        between = len(points) - 1  # where the first stretch between layers starts
        for lane in chain[1:-1]:
            j = band[lane]
            points.append(point(starts[j] - LAYER_GAP / 4, cross[lane]))
            points.append(point(starts[j] + band_size[j] + LAYER_GAP / 4, cross[lane]))
        if near(chain[-1]) > starts[last]:
            points.append(point(starts[last], ports[(i, "in")]))
        points.append(point(near(chain[-1]), ports[(i, "in")]))
        (x0, y0), (x1, y1) = points[between], points[between + 1]
        middle = ((x0 + x1) / 2, (y0 + y1) / 2)
        routes.append(Route(edge, points[::-1] if i in upward else points, middle))

    def rect(node: str) -> Rect:
        low = cross[node] - cross_size[node] / 2
        if across == 1:
            return Rect(near(node), low, along_size[node], cross_size[node])
        return Rect(low, near(node), cross_size[node], along_size[node])

    boxes = {box: rect(box) for box in ids}
    width, height = (extent_along, extent_across) if across == 1 else (extent_across, extent_along)
    return Layout(width, height, boxes, routes, direction)


def _back_edges(ids: list[str], edges: list[tuple[str, str]]) -> set[int]:
    """The indices of edges that close a cycle, found by depth-first search in added order."""
    out: dict[str, list[tuple[int, str]]] = {node: [] for node in ids}
    for i, (source, target) in enumerate(edges):
        out[source].append((i, target))
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    back: set[int] = set()
    for root in ids:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(out[root]))]
        while stack:
            node, pending = stack[-1]
            step = next(pending, None)
            if step is None:
                state[node] = 2
                stack.pop()
                continue
            i, target = step
            if state.get(target) == 1:
                back.add(i)
            elif target not in state:
                state[target] = 1
                stack.append((target, iter(out[target])))
    return back


def _layers(ids: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Longest-path layering of an acyclic graph; sources pulled next to their successors."""
    successors: dict[str, list[str]] = {node: [] for node in ids}
    waiting = {node: 0 for node in ids}
    for source, target in edges:
        successors[source].append(target)
        waiting[target] += 1
    layer = {node: 0 for node in ids}
    ready = [node for node in ids if waiting[node] == 0]
    order = []
    while ready:
        node = ready.pop(0)
        order.append(node)
        for target in successors[node]:
            layer[target] = max(layer[target], layer[node] + 1)
            waiting[target] -= 1
            if waiting[target] == 0:
                ready.append(target)
    has_predecessor = {target for _, target in edges}
    for node in ids:
        if node not in has_predecessor and successors[node]:
            layer[node] = min(layer[target] for target in successors[node]) - 1
    return layer


def _initial_order(
    ids: list[str], layer: dict[str, int], below: dict[str, list[str]]
) -> list[list[str]]:
    """Layers in depth-first order from the boxes as added: a branch's boxes stay together."""
    seen: set[str] = set()
    order: list[str] = []
    for root in ids:
        stack = [root]
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            order.append(node)
            stack.extend(reversed(below[node]))
    layers: list[list[str]] = [[] for _ in range(max(layer.values(), default=-1) + 1)]
    for node in order:
        layers[layer[node]].append(node)
    return [nodes for nodes in layers if nodes]


def _fewest_crossings(
    layers: list[list[str]], above: dict[str, list[str]], below: dict[str, list[str]]
) -> list[list[str]]:
    best, best_crossings = [list(nodes) for nodes in layers], _crossings(layers, below)
    current = [list(nodes) for nodes in layers]
    stale = 0
    for sweep in range(SWEEPS):
        downward = sweep % 2 == 0
        indices = range(1, len(current)) if downward else range(len(current) - 2, -1, -1)
        for i in indices:
            fixed = current[i - 1] if downward else current[i + 1]
            rank = {node: k for k, node in enumerate(fixed)}
            neighbours = above if downward else below
            own = {node: k for k, node in enumerate(current[i])}

            def barycenter(node: str, rank=rank, neighbours=neighbours, own=own) -> float:
                linked = [rank[other] for other in neighbours[node] if other in rank]
                if not linked:  # keeps its place relative to the others
                    return own[node] * len(rank) / max(len(own), 1)
                return sum(linked) / len(linked)

            current[i] = sorted(current[i], key=barycenter)
        crossings = _crossings(current, below)
        if crossings < best_crossings:
            best, best_crossings, stale = [list(nodes) for nodes in current], crossings, 0
        else:
            stale += 1
            if stale >= 4 or best_crossings == 0:
                break
    return best


def _crossings(layers: list[list[str]], below: dict[str, list[str]]) -> int:
    """Edge crossings between consecutive layers, counted as inversions (with a Fenwick tree)."""
    total = 0
    for upper, lower in pairwise(layers):
        rank = {node: k for k, node in enumerate(lower)}
        targets = [rank[t] for node in upper for t in sorted(below[node], key=rank.get)]
        tree = [0] * (len(lower) + 1)
        for seen, target in enumerate(targets):
            k, not_greater = target + 1, 0
            while k > 0:
                not_greater += tree[k]
                k -= k & -k
            total += seen - not_greater
            k = target + 1
            while k <= len(lower):
                tree[k] += 1
                k += k & -k
    return total


def _place_across(
    layers: list[list[str]],
    above: dict[str, list[str]],
    below: dict[str, list[str]],
    size: dict[str, float],
) -> dict[str, float]:
    """The centre of each box across the layers."""

    def gap(a: str, b: str) -> float:
        lane = a.startswith("\0") or b.startswith("\0")
        return (size[a] + size[b]) / 2 + (LANE_GAP if lane else BOX_GAP)

    position: dict[str, float] = {}
    for nodes in layers:
        at = 0.0
        for k, node in enumerate(nodes):
            at += gap(nodes[k - 1], node) if k else 0.0
            position[node] = at
    widest = max((position[nodes[-1]] for nodes in layers), default=0.0)
    for nodes in layers:  # centred on the widest layer
        shift = (widest - position[nodes[-1]]) / 2
        for node in nodes:
            position[node] += shift

    for _ in range(PLACEMENT_ROUNDS):
        for downward in (True, False):
            order = range(1, len(layers)) if downward else range(len(layers) - 2, -1, -1)
            for i in order:
                nodes = layers[i]
                neighbours = above if downward else below
                wanted = []
                for node in nodes:
                    linked = [position[other] for other in neighbours[node]]
                    wanted.append(sum(linked) / len(linked) if linked else position[node])
                for node, at in zip(nodes, _fit_in_order(wanted, nodes, gap), strict=True):
                    position[node] = at
    low = min((position[n] - size[n] / 2 for n in position), default=0.0)
    return {node: at - low + MARGIN for node, at in position.items()}


def _fit_in_order(wanted: list[float], nodes: list[str], gap) -> list[float]:
    """Positions closest to ``wanted`` (least squares) keeping order and gaps: with offsets
    o_k of the tightest packing, y_k = x_k - o_k must not decrease, an isotonic regression."""
    offsets = [0.0]
    for a, b in pairwise(nodes):
        offsets.append(offsets[-1] + gap(a, b))
    blocks: list[list[float]] = []  # [mean, count]
    for target in (w - o for w, o in zip(wanted, offsets, strict=True)):
        blocks.append([target, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            mean, count = blocks.pop()
            blocks[-1] = [
                (blocks[-1][0] * blocks[-1][1] + mean * count) / (blocks[-1][1] + count),
                blocks[-1][1] + count,
            ]
    fitted = [mean for mean, count in blocks for _ in range(int(count))]
    return [y + o for y, o in zip(fitted, offsets, strict=True)]


def _ports(
    chains: list[list[str]], cross: dict[str, float], size: dict[str, float]
) -> dict[tuple[int, str], float]:
    """Where each arrow leaves its source and enters its target, across the layers: spread
    along the box's side in the order of the other ends, so that arrows do not overlap."""
    ports: dict[tuple[int, str], float] = {}
    leaving: dict[str, list[tuple[float, int]]] = {}
    entering: dict[str, list[tuple[float, int]]] = {}
    for i, chain in enumerate(chains):
        leaving.setdefault(chain[0], []).append((cross[chain[1]], i))
        entering.setdefault(chain[-1], []).append((cross[chain[-2]], i))
    for side, ends in (("out", leaving), ("in", entering)):
        for node, others in ends.items():
            others.sort()
            step = min(10.0, size[node] / (len(others) + 1))
            middle = (len(others) - 1) / 2
            for k, (_, i) in enumerate(others):
                ports[(i, side)] = cross[node] + (k - middle) * step
    return ports
