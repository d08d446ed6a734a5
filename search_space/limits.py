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
    max_layers: int | None = None
    """The most layers of computation a network may have (outputs' layer included; None: any)."""
    activations: tuple[str, ...] = HIDDEN_ACTIVATIONS
    fixed_layout: bool = False
    """Neurons are fixed (e.g. the retina network): no node is added or removed, and new
    connections only go from one layer to the next (by the nodes' y coordinates)."""

    def __post_init__(self) -> None:
        unknown = [a for a in self.activations if a not in ACTIVATIONS]
        if unknown or not self.activations:
            raise ValueError(f"activations must be a non-empty subset of {ACTIVATIONS}, got {self.activations}")
        if self.max_layers is not None and self.max_layers < 1:
            raise ValueError(f"max_layers must be at least 1 (the outputs' layer), got {self.max_layers}")


DEFAULT_LIMITS = Limits()
