"""Sparse dynamics at a fixed budget (SET/RigL): one rewiring of a trained genome.

Inside one evaluation a worker trains for a few epochs, then :func:`rewire` drops the weakest
connections by trained ``|weight|`` and grows as many of the absent ones whose loss gradient is
largest (the genome's :class:`search_space.hints.StructureHints`, measured on the trained
network), at weight 0, and training goes on (:mod:`workers.rewiring`). The result is written
back into the genome (Lamarckian): the candidate is the rewired network.

Measured hints run from a lower to a higher level of the trained network's layering, so they
never close a cycle; a hint that would (hints are data, read from anywhere) is skipped.
"""

from __future__ import annotations

from connevo.search_space import graph
from connevo.search_space.genome import ConnectionGene, Genome
from connevo.search_space.informed import without_dead_neurons
from connevo.search_space.innovation import rewired_innovation


def rewire_count(genome: Genome, fraction: float) -> int:
    """Connections a rewiring of ``fraction`` would swap in ``genome`` (before hints limit it)."""
    return max(0, round(fraction * len(genome.effective_connections)))


def rewire(genome: Genome, fraction: float) -> Genome:
    """``genome`` with ``k = round(fraction x effective connections)`` of its weakest own
    connections (ties: lower innovation first) replaced by the ``k`` hinted absent connections
    of largest gradient, at weight 0; fewer when fewer hints are usable (the budget never grows),
    at least one connection kept. Then the hidden neurons left without a path to an output go.
    Unchanged without weights or hints. Shared-weight connections are never dropped."""
    hints = genome.hints
    if fraction <= 0 or hints is None or not hints.grow:
        return genome
    effective = genome.effective_connections
    own = sorted((c for c in effective if c.group is None and c.weight is not None),
                 key=lambda c: (abs(c.weight), c.innovation))  # type: ignore[arg-type]
    k = min(rewire_count(genome, fraction), len(own), len(effective) - 1)
    if k <= 0:
        return genome
    dropped = {c.innovation for c in own[:k]}
    kept = genome.with_connections([c for c in genome.connections if c.innovation not in dropped])
    live, nodes = kept.live_nodes, genome.node_by_id
    existing = {(c.source, c.target) for c in genome.connections}
    successors: dict[int, set[int]] = {}
    for c in genome.connections:
        successors.setdefault(c.source, set()).add(c.target)
    grown: list[ConnectionGene] = []
    for source, target, _gradient in hints.grow:
        if len(grown) == k:
            break
        if (source, target) in existing or source not in nodes or target not in live:
            continue
        if nodes[source].role == "output" or nodes[target].role == "input":
            continue
        if source == target or graph.reaches(successors, target, source):
            continue
        grown.append(ConnectionGene(rewired_innovation(source, target), source, target, weight=0.0))
        existing.add((source, target))
        successors.setdefault(source, set()).add(target)
    if not grown:
        return genome
    if len(grown) < k:  # a fixed budget: drop only as many as can grow
        dropped = {c.innovation for c in own[: len(grown)]}
    connections = [c for c in genome.connections if c.innovation not in dropped] + grown
    return without_dead_neurons(genome.with_connections(connections)).replace(hints=None)


__all__ = ["rewire", "rewire_count"]
