"""Fixed layouts: networks whose neurons (and coordinates) are given; evolution only adds and
removes connections between adjacent layers."""

from __future__ import annotations

import numpy as np

from connevo.search_space.genome import ConnectionGene, Genome, NodeGene, Regularization
from connevo.search_space.innovation import InnovationTracker

# The 8-8-4-2-1 retina network of Clune, Mouret and Lipson (2013), with its neuron coordinates:
# inputs x = -3.5..3.5 at y = 0, first hidden layer the same x at y = 1, second hidden
# x = -2, -1, 1, 2 at y = 2, third hidden x = -1, 1 at y = 3, output at (0, 4).
RETINA_LAYERS: tuple[tuple[tuple[float, float], ...], ...] = (
    tuple((x - 3.5, 0.0) for x in range(8)),
    tuple((x - 3.5, 1.0) for x in range(8)),
    ((-2.0, 2.0), (-1.0, 2.0), (1.0, 2.0), (2.0, 2.0)),
    ((-1.0, 3.0), (1.0, 3.0)),
    ((0.0, 4.0),),
)

FIXED_LAYOUTS = ("retina",)


def layered_nodes(layers: tuple[tuple[tuple[float, float], ...], ...], activation: str) -> list[NodeGene]:
    """Node genes of a layered layout: inputs 0.., the outputs next, then hidden layer by layer."""
    inputs, outputs, hidden = layers[0], layers[-1], [p for layer in layers[1:-1] for p in layer]
    nodes = [NodeGene(i, "input", x=x, y=y) for i, (x, y) in enumerate(inputs)]
    nodes += [NodeGene(len(inputs) + o, "output", x=x, y=y) for o, (x, y) in enumerate(outputs)]
    first_hidden = len(inputs) + len(outputs)
    nodes += [NodeGene(first_hidden + h, "hidden", activation, x=x, y=y) for h, (x, y) in enumerate(hidden)]
    return nodes


def adjacent_pairs(nodes: list[NodeGene]) -> list[tuple[int, int]]:
    """Every (source, target) with the target one layer above the source."""
    return [(a.id, b.id) for a in nodes for b in nodes if a.role != "output" and b.role != "input" and a.y is not None and b.y == a.y + 1]


def fixed_layout_genome(
    name: str,
    rng: np.random.Generator,
    innovations: InnovationTracker,
    density: float = 0.5,
    activation: str = "tanh",
    regularization: Regularization | None = None,
) -> Genome:
    """A genome of the named fixed layout with a random ``density`` share of adjacent-layer links."""
    if name != "retina":
        raise ValueError(f"unknown fixed layout {name!r}; known: {FIXED_LAYOUTS}")
    nodes = layered_nodes(RETINA_LAYERS, activation)
    innovations.reserve_node_ids(max(n.id for n in nodes) + 1)
    pairs = adjacent_pairs(nodes)
    keep = max(1, int(round(density * len(pairs))))
    chosen = sorted(rng.choice(len(pairs), size=keep, replace=False).tolist())
    connections = [ConnectionGene(innovations.connection(*pairs[k]), *pairs[k]) for k in chosen]
    return Genome(tuple(nodes), tuple(connections), regularization or Regularization()).validate()
