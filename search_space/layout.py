"""Layered placement of a genome's neurons: depth per node and (x, y) coordinates.

Only the live part of the network is laid out (inputs, and the nodes that can reach an output).
Inputs sit on layer 0; a hidden node sits one layer above its deepest input (layer 1 if it has
none); every output sits on the top layer, so the forward pass can run layer by layer.
Within a layer, nodes are ordered by id and centred on x = 0 with unit spacing. A genome whose
nodes all carry fixed coordinates (``NodeGene.x``/``y``) keeps them instead.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from connevo.search_space import graph
from connevo.search_space.genome import Genome


@dataclass(frozen=True)
class Layout:
    depth: dict[int, int]                        # node id -> layer
    layers: tuple[tuple[int, ...], ...]          # layer -> node ids, sorted
    coordinates: dict[int, tuple[float, float]]  # node id -> (x, y)

    @property
    def n_layers(self) -> int:
        """Layers of computation (the input layer not counted)."""
        return len(self.layers) - 1


def layered_layout(genome: Genome) -> Layout:
    """Depths, layers and coordinates of the live network (kept with the genome object:
    :meth:`Genome.derived`)."""
    return genome.derived("layered_layout", _layout)


def _layout(genome: Genome) -> Layout:
    live = genome.live_nodes
    inputs = genome.input_ids
    effective = genome.effective_table
    edges = list(zip(effective.source.tolist(), effective.target.tolist()))
    nodes = [*inputs, *sorted(live)]
    order = graph.topological_order(nodes, edges)
    if order is None:  # validated genomes never get here
        raise ValueError("genome has a cycle")
    predecessors: dict[int, list[int]] = defaultdict(list)
    for a, b in edges:
        predecessors[b].append(a)
    input_set = set(inputs)
    depth: dict[int, int] = {}
    for node in order:
        if node in input_set:
            depth[node] = 0
        else:
            depth[node] = 1 + max((depth[p] for p in predecessors.get(node, ())), default=0)
    hidden_top = max((d for n, d in depth.items() if n in live and n not in genome.output_ids), default=0)
    top = hidden_top + 1
    for out in genome.output_ids:
        depth[out] = top
    layers: list[list[int]] = [[] for _ in range(top + 1)]
    for node, d in depth.items():
        layers[d].append(node)
    layer_tuples = tuple(tuple(sorted(layer)) for layer in layers)
    pinned = genome.node_by_id
    if all(pinned[n].x is not None and pinned[n].y is not None for n in depth):
        coordinates = {n: (float(pinned[n].x or 0.0), float(pinned[n].y or 0.0)) for n in depth}  # fixed layout
    else:
        coordinates = {
            node: (i - (len(layer) - 1) / 2.0, float(y))
            for y, layer in enumerate(layer_tuples)
            for i, node in enumerate(layer)
        }
    return Layout(depth=depth, layers=layer_tuples, coordinates=coordinates)
