"""Fixtures of the search-space tests: genomes that look trained (weights and hints)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from connevo.search_space.genome import Genome
from connevo.search_space.hints import StructureHints


def _as_trained(genome: Genome, rng: np.random.Generator, grow: int = 12) -> Genome:
    """``genome`` with a random weight on every connection, a random bias on every non-input
    node and random hints that name existing and absent pairs alike (operators must sort them out)."""
    connections = [replace(c, weight=float(rng.normal())) for c in genome.connections]
    nodes = [n if n.role == "input" else replace(n, bias=float(rng.normal())) for n in genome.nodes]
    sources = [n.id for n in genome.nodes if n.role != "output"]
    targets = [n.id for n in genome.nodes if n.role != "input"]
    pairs = [(int(rng.choice(sources)), int(rng.choice(targets))) for _ in range(grow)]
    scores = sorted(rng.random(grow).tolist(), reverse=True)
    inputs, outputs = list(genome.input_ids), list(genome.output_ids)
    fan_in = rng.permutation(inputs)[: max(1, len(inputs) // 2)]
    hints = StructureHints(
        grow=tuple((s, t, g) for (s, t), g in zip(pairs, scores)),
        neuron_in=tuple((int(n), float(rng.normal())) for n in fan_in),
        neuron_out=tuple((int(n), float(g)) for n, g in zip(outputs, sorted(rng.random(len(outputs)), reverse=True))),
    )
    return Genome(tuple(nodes), tuple(connections), genome.regularization, hints)


@pytest.fixture(scope="session")
def as_trained():
    """``as_trained(genome, rng)``: the genome with random weights, biases and hints."""
    return _as_trained
