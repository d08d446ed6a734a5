"""Where a network drawing puts its neurons: layers bottom to top, and within each layer an order
that keeps connections from crossing.

The order is Sugiyama's barycenter heuristic (Sugiyama, Tagawa and Toda 1981): sweeping up and
down the layers, each neuron moves to the mean position of its neighbours in the layers already
placed, and the sweep's order with the fewest crossings is kept. Written here rather than taken
from a library: networkx's ``multipartite_layout`` orders a layer by node id only, igraph's
Sugiyama layout inserts dummy vertices for long edges and returns their bends (a drawing of
straight connections needs neither), and graphviz is not a Python dependency.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np

SWEEPS = 8
"""Up-and-down sweeps of the barycenter heuristic (it settles within a few)."""
MAX_COUNTED_EDGES = 3000
"""Crossings are counted (to keep the best sweep) only up to this many connections: the count
compares every pair. Beyond it the last sweep's order is drawn."""


def layered_positions(layer: Mapping[int, int], edges: Sequence[tuple[int, int]]) -> dict[int, tuple[float, float]]:
    """(x, y) of every node: y its layer, x its place in the layer, spread over [-0.5, 0.5] so that
    layers of any width span the same breadth, in the order of fewest crossings found."""
    rows: dict[int, list[int]] = defaultdict(list)
    for node in sorted(layer):
        rows[layer[node]].append(node)
    neighbours: dict[int, list[int]] = defaultdict(list)
    for a, b in edges:
        if a != b and a in layer and b in layer:
            neighbours[a].append(b)
            neighbours[b].append(a)
    order = {y: list(nodes) for y, nodes in rows.items()}
    best = _positions(order)
    best_count = crossings(best, edges) if len(edges) <= MAX_COUNTED_EDGES else None
    levels = sorted(order)
    for sweep in range(SWEEPS):
        downward = sweep % 2 == 0
        placed = _positions(order)
        for y in (levels[1:] if downward else levels[-2::-1]):
            # neighbours in the layers already swept: below on the way up the drawing, above on the way down
            def side(other: int, y: int = y) -> bool:
                return layer[other] < y if downward else layer[other] > y

            def barycenter(node: int) -> float:
                xs = [placed[n][0] for n in neighbours[node] if side(n)]
                return float(np.mean(xs)) if xs else placed[node][0]

            order[y] = sorted(order[y], key=lambda n: (barycenter(n), placed[n][0]))
            placed.update(_positions({y: order[y]}))
        if best_count is None:
            best = placed
            continue
        count = crossings(placed, edges)
        if count < best_count:
            best, best_count = placed, count
    return best


def crossings(positions: Mapping[int, tuple[float, float]], edges: Sequence[tuple[int, int]]) -> int:
    """How many pairs of straight connections cross (pairs sharing a neuron do not count)."""
    segments = [(a, b) for a, b in edges if a in positions and b in positions and a != b]
    if len(segments) < 2:
        return 0
    ends = np.array([[a, b] for a, b in segments])
    p = np.array([positions[a] for a, _ in segments], dtype=float)
    q = np.array([positions[b] for _, b in segments], dtype=float)
    total = 0
    for i in range(len(segments) - 1):
        others = slice(i + 1, None)
        disjoint = ~np.isin(ends[others], ends[i]).any(axis=1)
        d1 = _orientation(p[i], q[i], p[others])
        d2 = _orientation(p[i], q[i], q[others])
        d3 = _orientation(p[others], q[others], p[i])
        d4 = _orientation(p[others], q[others], q[i])
        total += int((disjoint & (d1 * d2 < 0) & (d3 * d4 < 0)).sum())
    return total


def _orientation(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Sign of the turn a -> b -> c (the cross product), row-wise; 0 when collinear."""
    turn: np.ndarray = np.sign((b[..., 0] - a[..., 0]) * (c[..., 1] - a[..., 1])
                               - (b[..., 1] - a[..., 1]) * (c[..., 0] - a[..., 0]))
    return turn


def _positions(order: Mapping[int, Sequence[int]]) -> dict[int, tuple[float, float]]:
    return {node: ((rank + 0.5) / len(nodes) - 0.5, float(y))
            for y, nodes in order.items() for rank, node in enumerate(nodes)}


__all__ = ["crossings", "layered_positions"]
