"""Innovation numbers: the same structural mutation in one generation gets the same number."""

from __future__ import annotations

from typing import Any


class InnovationTracker:
    """Hands out innovation numbers and hidden-node ids for one campaign.

    Within one generation, adding the same (source, target) connection, or splitting the same
    connection, yields the same numbers in every genome, so crossover can align the genes
    (NEAT). :meth:`next_generation` forgets those within-generation memories; :meth:`state`
    and :meth:`from_state` persist the counters with the campaign's checkpoints.
    """

    def __init__(self, next_innovation: int = 0, next_node_id: int = 0) -> None:
        self.next_innovation = next_innovation
        self.next_node_id = next_node_id
        self._connections: dict[tuple[int, int], int] = {}
        self._splits: dict[int, tuple[int, int, int]] = {}

    def connection(self, source: int, target: int) -> int:
        """Innovation number for a new connection source -> target."""
        key = (source, target)
        if key not in self._connections:
            self._connections[key] = self.next_innovation
            self.next_innovation += 1
        return self._connections[key]

    def split(self, innovation: int) -> tuple[int, int, int]:
        """(new node id, innovation into it, innovation out of it) for splitting a connection."""
        if innovation not in self._splits:
            node_id = self.next_node_id
            self.next_node_id += 1
            into = self.next_innovation
            out = self.next_innovation + 1
            self.next_innovation += 2
            self._splits[innovation] = (node_id, into, out)
        return self._splits[innovation]

    def new_node(self) -> int:
        """A fresh hidden-node id, for a neuron that splits no connection."""
        node_id = self.next_node_id
        self.next_node_id += 1
        return node_id

    def reserve_node_ids(self, upto: int) -> None:
        """Make sure new hidden nodes get ids >= ``upto`` (ids below belong to inputs/outputs)."""
        self.next_node_id = max(self.next_node_id, upto)

    def next_generation(self) -> None:
        self._connections.clear()
        self._splits.clear()

    def state(self) -> dict[str, Any]:
        return {"next_innovation": self.next_innovation, "next_node_id": self.next_node_id}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> InnovationTracker:
        return cls(int(state["next_innovation"]), int(state["next_node_id"]))


REWIRED_INNOVATIONS = 1 << 48
"""Innovation numbers from here up name connections grown inside a training (:mod:`search_space.rewiring`)."""


def rewired_innovation(source: int, target: int) -> int:
    """The innovation number of a connection ``source -> target`` grown by a worker while it
    trains: a worker has no campaign tracker, so the number is a function of the pair alone
    (Szudzik's pairing, above :data:`REWIRED_INNOVATIONS`, far from the tracker's counter); the
    same pair grown in two networks aligns in crossover, as NEAT wants."""
    if source < 0 or target < 0:
        raise ValueError(f"node ids must be >= 0, got {source} -> {target}")
    pair = source * source + source + target if source >= target else target * target + source
    return REWIRED_INNOVATIONS + pair
