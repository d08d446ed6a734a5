"""Pure helpers over a directed acyclic graph given as (source, target) edges. No torch here."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Mapping

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import breadth_first_order, connected_components


def reaches(successors: Mapping[int, Iterable[int]], start: int, goal: int) -> bool:
    """True if ``goal`` can be reached from ``start`` (``start`` != ``goal``) along the edges
    ``successors`` maps each node to."""
    seen = {start}
    frontier = [start]
    while frontier:
        for nxt in successors.get(frontier.pop(), ()):
            if nxt == goal:
                return True
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    return False


def creates_cycle(edges: Iterable[tuple[int, int]], new_edge: tuple[int, int]) -> bool:
    """True if adding ``new_edge`` to the acyclic ``edges`` would create a cycle."""
    source, target = new_edge
    if source == target:
        return True
    successors: dict[int, list[int]] = defaultdict(list)
    for a, b in edges:
        successors[a].append(b)
    return reaches(successors, target, source)  # a cycle appears iff source is reachable from target


def topological_order(nodes: Iterable[int], edges: Iterable[tuple[int, int]]) -> list[int] | None:
    """Kahn's algorithm; ties broken by node id so the order is deterministic. None on a cycle."""
    nodes = list(nodes)
    indegree = {n: 0 for n in nodes}
    successors: dict[int, list[int]] = defaultdict(list)
    for a, b in edges:
        successors[a].append(b)
        indegree[b] = indegree.get(b, 0) + 1
        indegree.setdefault(a, 0)
    ready = deque(sorted(n for n, d in indegree.items() if d == 0))
    order: list[int] = []
    while ready:
        node = ready.popleft()
        order.append(node)
        released = []
        for nxt in successors.get(node, ()):
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                released.append(nxt)
        for nxt in sorted(released):
            ready.append(nxt)
    return order if len(order) == len(indegree) else None


def required_for_output(
    outputs: Iterable[int], edges: Iterable[tuple[int, int]]
) -> set[int]:
    """Nodes from which some output can be reached (outputs included), as neat-python defines it."""
    predecessors: dict[int, list[int]] = defaultdict(list)
    for a, b in edges:
        predecessors[b].append(a)
    required = set(outputs)
    frontier = list(required)
    while frontier:
        node = frontier.pop()
        for prev in predecessors.get(node, ()):
            if prev not in required:
                required.add(prev)
                frontier.append(prev)
    return required


_SWEEPS = 8


def reaching(n: int, sources: np.ndarray, targets: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per node ``0..n-1`` (nodes given by position): whether some node of ``starts`` can be
    reached from it along the edges ``sources[k] -> targets[k]`` (``starts`` included).

    A few sweeps over the edges for shallow graphs; then one breadth-first search over the
    reversed edges in C (scipy's csgraph), from a virtual node joined to every node reached so far:
    linear in the edges, whatever the depth of the graph.
    """
    sources, targets = np.asarray(sources, dtype=np.int64), np.asarray(targets, dtype=np.int64)
    reached = np.zeros(n, dtype=bool)
    reached[np.asarray(starts, dtype=np.int64)] = True
    # Most networks are a few layers deep: sweeping every edge once per layer (in numpy) finds
    # them all sooner than building a sparse graph; deeper ones go to the search below.
    for _ in range(_SWEEPS):
        grown = reached.copy()
        grown[sources[reached[targets]]] = True
        if np.array_equal(grown, reached):
            return reached
        reached = grown
    starts = np.flatnonzero(reached)
    rows = np.concatenate([targets, np.full(len(starts), n, dtype=np.int64)])
    cols = np.concatenate([sources, starts])
    matrix = csr_matrix((np.ones(len(rows), dtype=np.int32), (rows, cols)), shape=(n + 1, n + 1))
    order = breadth_first_order(matrix, n, directed=True, return_predecessors=False)
    reached = np.zeros(n + 1, dtype=bool)
    reached[order] = True
    return reached[:n]


def is_acyclic(n: int, sources: np.ndarray, targets: np.ndarray) -> bool:
    """Whether the edges ``sources[k] -> targets[k]`` over nodes ``0..n-1`` form no cycle: no
    self-loop, and every strongly connected component is a single node (scipy's csgraph, in C)."""
    sources, targets = np.asarray(sources, dtype=np.int64), np.asarray(targets, dtype=np.int64)
    if bool((sources == targets).any()):
        return False
    if n == 0 or len(sources) == 0:
        return True
    matrix = csr_matrix((np.ones(len(sources), dtype=np.int32), (sources, targets)), shape=(n, n))
    count, _ = connected_components(matrix, directed=True, connection="strong")
    return int(count) == n
