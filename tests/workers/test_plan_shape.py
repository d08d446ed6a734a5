"""A candidate's bucket shape, read from its connection columns, is the one its connection genes
define: for each level, the levels its neurons are fed from."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from connevo.search_space import operators
from connevo.search_space.innovation import InnovationTracker
from connevo.search_space.layout import layered_layout
from connevo.search_space.limits import HIDDEN_ACTIVATIONS, Limits
from connevo.search_space.mutations import MUTATIONS
from connevo.workers.plans import Shape, padded_width, plan_shape


def shape_from_genes(genome) -> Shape:
    """The definition, gene by gene: a level's sources are the levels of its effective
    connections' sources (inputs: level 0)."""
    layout = layered_layout(genome)
    nodes = genome.node_by_id
    top = len(layout.layers) - 1
    orders = [sorted(layer, key=(lambda n: (nodes[n].activation, n)) if i < top else None)
              for i, layer in enumerate(layout.layers[1:], start=1)]
    level_of = {n: 0 for n in layout.layers[0]} | {n: i for i, o in enumerate(orders, start=1) for n in o}
    sources: list[set[int]] = [set() for _ in orders]
    for c in genome.effective_connections:
        sources[level_of[c.target] - 1].add(level_of[c.source])
    groups = len({c.group for c in genome.effective_connections if c.group is not None})
    widths = tuple(padded_width(len(o)) if i < len(orders) - 1 else len(o) for i, o in enumerate(orders))
    return Shape(widths, tuple(tuple(sorted(s)) for s in sources), 0 if groups == 0 else 1 << (groups - 1).bit_length())


@settings(max_examples=120, deadline=None, derandomize=True)
@given(st.integers(0, 10**6), st.integers(0, 80))
def test_the_shape_from_columns_is_the_shape_the_genes_define(seed: int, steps: int) -> None:
    rng = np.random.default_rng(seed)
    tracker = InnovationTracker()
    genome = operators.minimal_genome(int(rng.integers(1, 12)), int(rng.integers(1, 5)), rng, tracker,
                                      density=float(rng.uniform(0.1, 1.0)))
    limits = Limits(max_hidden_nodes=40, activations=HIDDEN_ACTIVATIONS)
    names = sorted(MUTATIONS)
    for _ in range(steps):  # hidden neurons, skips, disabled genes, dead ends, shared groups
        genome = MUTATIONS[names[int(rng.integers(len(names)))]](genome, rng, tracker, limits)
    assert plan_shape(genome) == shape_from_genes(genome)
