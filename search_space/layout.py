"""Layered placement of a genome's neurons: depth per node and (x, y) coordinates.

Only the live part of the network is laid out (inputs, and the nodes that can reach an output).
Inputs sit on layer 0; a hidden node sits one layer above its deepest input (layer 1 if it has
none); every output sits on the top layer, so the forward pass can run layer by layer.
Within a layer, nodes are ordered by id and centred on x = 0 with unit spacing. A genome whose
nodes all carry fixed coordinates (``NodeGene.x``/``y``) keeps them instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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
    inputs = np.asarray(genome.input_ids, dtype=np.int64)
    effective = genome.effective_table
    ids = np.union1d(inputs, np.fromiter(live, dtype=np.int64, count=len(live)))  # sorted, unique
    depth = dict(zip(ids.tolist(), _depths(ids, inputs, effective.source, effective.target).tolist()))
    outputs = genome.output_ids
    hidden_top = max((depth[n] for n in live if n not in outputs), default=0)
    top = hidden_top + 1
    for out in outputs:
        depth[out] = top
    layers: list[list[int]] = [[] for _ in range(top + 1)]
    for node, d in depth.items():  # ids ascending: every layer comes out sorted
        layers[d].append(node)
    layer_tuples = tuple(tuple(layer) for layer in layers)
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


def _positions(ids: np.ndarray, values: np.ndarray, what: str) -> np.ndarray:
    """Where each of ``values`` sits in the sorted ``ids``; every value must be one of them."""
    at = np.searchsorted(ids, values)
    if len(values) and (at.max() >= len(ids) or not np.array_equal(ids[at], values)):
        raise ValueError(f"a connection's {what} is neither an input nor a live node")
    return at


def _depths(ids: np.ndarray, inputs: np.ndarray, sources: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Per node of ``ids``: 0 for an input, else one above its deepest source (1 with none).

    Kahn's algorithm a wave at a time: each wave takes every node whose sources are all done, in
    a few array operations over the connections (a Python step per connection took 3-4 ms for a
    3,000-connection genome; a layered genome needs as many waves as it has layers). The depths
    are those of the node-at-a-time recursion in any topological order."""
    n = len(ids)
    src, tgt = _positions(ids, sources, "source"), _positions(ids, targets, "target")
    is_input = np.zeros(n, dtype=bool)
    is_input[np.searchsorted(ids, inputs)] = True
    depth = np.where(is_input, 0, 1).astype(np.int64)
    indegree = np.bincount(tgt, minlength=n)
    ready = np.flatnonzero(indegree == 0)
    done = 0
    while len(ready):
        done += len(ready)
        in_wave = np.zeros(n, dtype=bool)
        in_wave[ready] = True
        out = in_wave[src]
        s, t = src[out], tgt[out]
        np.maximum.at(depth, t, depth[s] + 1)
        depth[is_input] = 0
        released = np.bincount(t, minlength=n)
        indegree -= released
        ready = np.flatnonzero((released > 0) & (indegree == 0))
    if done != n:  # validated genomes never get here
        raise ValueError("genome has a cycle")
    return depth
