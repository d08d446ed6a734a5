"""First-generation genomes beyond NEAT's minimal start: one hidden layer of a given width.

A campaign's first generation spans the connection budgets (:mod:`evolution.initial`): sparse
linear networks (:func:`search_space.operators.minimal_genome`) for the small budgets, and
networks with one hidden layer of several widths, from sparse to dense input wiring, for the
larger ones, where hidden units pay for their connections.
"""

from __future__ import annotations

import numpy as np

from connevo.search_space.genome import ConnectionGene, Genome, NodeGene, Regularization
from connevo.search_space.innovation import InnovationTracker


def hidden_layer_genome(
    n_inputs: int,
    n_outputs: int,
    width: int,
    rng: np.random.Generator,
    innovations: InnovationTracker,
    input_density: float = 1.0,
    activation: str = "relu",
    regularization: Regularization | None = None,
    inputs: np.ndarray | None = None,
) -> Genome:
    """Inputs -> ``width`` hidden neurons -> outputs: each hidden neuron reads a random
    ``input_density`` share of the inputs (at least one) and feeds every output; with
    ``inputs``, every hidden neuron reads those inputs instead.

    Node ids: inputs ``0..n_inputs-1``, outputs next, hidden neurons fresh ids from
    ``innovations``; innovation numbers from ``innovations`` too.
    """
    if n_inputs < 1 or n_outputs < 1 or width < 1:
        raise ValueError(f"need at least one input, output and hidden neuron, got {n_inputs=} {n_outputs=} {width=}")
    if not 0.0 < input_density <= 1.0:
        raise ValueError(f"input_density must be in (0, 1], got {input_density}")
    innovations.reserve_node_ids(n_inputs + n_outputs)
    nodes = [NodeGene(i, "input") for i in range(n_inputs)]
    nodes += [NodeGene(n_inputs + o, "output") for o in range(n_outputs)]
    hidden = [innovations.new_node() for _ in range(width)]
    nodes += [NodeGene(h, "hidden", activation) for h in hidden]
    fan_in = max(1, int(round(input_density * n_inputs)))
    connections = []
    for h in hidden:
        chosen = inputs if inputs is not None else rng.choice(n_inputs, size=fan_in, replace=False)
        for i in sorted(np.asarray(chosen).tolist()):
            connections.append(ConnectionGene(innovations.connection(i, h), i, h))
        for o in range(n_outputs):
            connections.append(ConnectionGene(innovations.connection(h, n_inputs + o), h, n_inputs + o))
    return Genome(tuple(nodes), tuple(connections), regularization or Regularization())
