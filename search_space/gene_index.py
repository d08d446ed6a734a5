"""Lookups the variation operators make on a genome's connection columns: which row holds a
(source, target) pair, and whether a new connection would close a cycle."""

from __future__ import annotations

import numpy as np

from connevo.search_space import graph
from connevo.search_space.connection_table import dense_positions, positions_in
from connevo.search_space.genome import ROLES, Genome

_HIDDEN = ROLES.index("hidden")


def rows_of(keys: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """Each key's position in ``sorted_keys`` (ascending, distinct), -1 where absent: through a
    dense table of positions for small counters, by binary search for rewired innovations."""
    return positions_in(keys, sorted_keys, dense_positions(sorted_keys, room=len(keys)))


class PairIndex:
    """The row of each (source, target) pair of a genome's connection genes, by binary search
    over one sorted integer key per row (no dict of tens of thousands of tuples)."""

    def __init__(self, genome: Genome) -> None:
        table = genome.table
        self._base = 1 + max(int(genome.node_ids.max(initial=0)), int(table.source.max(initial=0)),
                             int(table.target.max(initial=0)))
        keys = table.pair_keys(self._base)
        self._order = np.argsort(keys, kind="stable")
        self._keys = keys[self._order]

    def row(self, source: int, target: int) -> int | None:
        """The row of the gene ``source -> target``, or None."""
        if not (0 <= source < self._base and 0 <= target < self._base):
            return None
        key = source * self._base + target
        at = int(np.searchsorted(self._keys, key))
        if at < len(self._keys) and self._keys[at] == key:
            return int(self._order[at])
        return None

    def present(self, sources: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Per pair ``sources[k] -> targets[k]``: whether the genome has a gene for it (one
        binary search for them all)."""
        sources, targets = np.asarray(sources, dtype=np.int64), np.asarray(targets, dtype=np.int64)
        inside = (sources >= 0) & (sources < self._base) & (targets >= 0) & (targets < self._base)
        keys = np.where(inside, sources * self._base + targets, -1)
        found: np.ndarray = inside & (positions_in(keys, self._keys) >= 0)
        return found


class CycleCheck:
    """Whether a new connection would close a cycle in a genome (disabled genes count: they may
    be enabled again), with the connections added since.

    Only a hidden -> hidden pair can close one: inputs have no incoming connections and outputs
    no outgoing ones, so a path from the target back to the source runs over hidden neurons only.
    The graph searched is the hidden -> hidden genes, built on the first such question.
    """

    def __init__(self, genome: Genome) -> None:
        self._genome = genome
        self._hidden = set(genome.hidden_ids)
        self._successors: dict[int, set[int]] | None = None

    def _graph(self) -> dict[int, set[int]]:
        if self._successors is None:
            genome, table = self._genome, self._genome.table
            roles = genome.node_roles
            source_at, target_at = genome.source_positions, genome.target_positions
            inner = (source_at >= 0) & (target_at >= 0)
            inner &= (roles[np.maximum(source_at, 0)] == _HIDDEN) & (roles[np.maximum(target_at, 0)] == _HIDDEN)
            successors: dict[int, set[int]] = {}
            for source, target in zip(table.source[inner].tolist(), table.target[inner].tolist()):
                successors.setdefault(source, set()).add(target)
            self._successors = successors
        return self._successors

    def closes(self, source: int, target: int) -> bool:
        """True if ``source -> target`` would close a cycle (a self-loop included)."""
        if source == target:
            return True
        if source not in self._hidden or target not in self._hidden:
            return False
        return graph.reaches(self._graph(), target, source)

    def add(self, source: int, target: int) -> None:
        """Count the connection ``source -> target`` as added."""
        if source in self._hidden and target in self._hidden:
            self._graph().setdefault(source, set()).add(target)


__all__ = ["CycleCheck", "PairIndex", "rows_of"]
