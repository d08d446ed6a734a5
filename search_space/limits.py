"""Search-space limits that every variation operator respects."""

from __future__ import annotations

from dataclasses import dataclass

from connevo.search_space.genome import ACTIVATIONS

HIDDEN_ACTIVATIONS: tuple[str, ...] = ("relu", "tanh", "sigmoid", "identity")


@dataclass(frozen=True)
class Limits:
    """Search-space limits that operators respect."""

    max_hidden_nodes: int = 64
    max_connections: int | None = None
    activations: tuple[str, ...] = HIDDEN_ACTIVATIONS
    fixed_layout: bool = False
    """Neurons are fixed (e.g. the retina network): no node is added or removed, and new
    connections only go from one layer to the next (by the nodes' y coordinates)."""

    def __post_init__(self) -> None:
        unknown = [a for a in self.activations if a not in ACTIVATIONS]
        if unknown or not self.activations:
            raise ValueError(f"activations must be a non-empty subset of {ACTIVATIONS}, got {self.activations}")


DEFAULT_LIMITS = Limits()
