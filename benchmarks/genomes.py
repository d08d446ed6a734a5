"""Seeded genome families for the benchmarks: layered MLPs and general DAGs of similar size."""

from __future__ import annotations

import numpy as np

from connevo.search_space.genome import ConnectionGene, Genome, NodeGene

HIDDEN_ACTIVATIONS = ("relu", "tanh", "sigmoid", "identity")


def _genome(n_in: int, n_out: int, levels: list[list[int]], edges: list[tuple[int, int]],
            activations: dict[int, str]) -> Genome:
    nodes = [NodeGene(i, "input") for i in range(n_in)]
    nodes += [NodeGene(n_in + o, "output") for o in range(n_out)]
    nodes += [NodeGene(n, "hidden", activations[n]) for level in levels for n in level]
    connections = [ConnectionGene(k, s, t) for k, (s, t) in enumerate(sorted(edges))]
    return Genome(tuple(nodes), tuple(connections)).validate()


def layered_genome(rng: np.random.Generator, n_in: int = 64, n_out: int = 10, connections: int = 3300) -> Genome:
    """An MLP-like genome: one or two hidden layers, consecutive layers wired at random
    with the density that gives about ``connections`` connections; one activation per layer."""
    if rng.random() < 0.5:
        widths = [int(rng.integers(40, 57))]
    else:
        widths = [int(rng.integers(32, 45)), int(rng.integers(14, 25))]
    ids = iter(range(n_in + n_out, n_in + n_out + sum(widths)))
    levels = [[next(ids) for _ in range(w)] for w in widths]
    layers = [list(range(n_in)), *levels, list(range(n_in, n_in + n_out))]
    pairs = [(s, t) for a, b in zip(layers, layers[1:]) for s in a for t in b]
    density = min(1.0, connections / len(pairs))
    keep = rng.random(len(pairs)) < density
    edges = [p for p, k in zip(pairs, keep) if k]
    # every hidden neuron keeps an input and an output so the depth stays as drawn
    have_in = {t for _, t in edges}
    have_out = {s for s, _ in edges}
    for i, level in enumerate(levels):
        for n in level:
            if n not in have_in:
                edges.append((int(rng.choice(layers[i])), n))
            if n not in have_out:
                edges.append((n, int(rng.choice(layers[i + 2]))))
    activations = {n: HIDDEN_ACTIVATIONS[i % 2] for i, level in enumerate(levels) for n in level}
    return _genome(n_in, n_out, levels, sorted(set(edges)), activations)


def dag_genome(rng: np.random.Generator, n_in: int = 64, n_out: int = 10, hidden: int = 100,
               connections: int = 3300, depth: int | None = None) -> Genome:
    """A general DAG: ``hidden`` neurons on ``depth - 1`` hidden levels (depth 2-6), each fed by
    the level below it and by skip connections from any earlier level (inputs included), mixed
    activations, about ``connections`` connections."""
    depth = int(rng.integers(2, 7)) if depth is None else depth
    n_levels = depth - 1
    cuts = np.sort(rng.choice(np.arange(1, hidden), size=n_levels - 1, replace=False)) if n_levels > 1 else []
    sizes = np.diff([0, *cuts, hidden])
    ids = iter(range(n_in + n_out, n_in + n_out + hidden))
    levels = [[next(ids) for _ in range(int(s))] for s in sizes]
    outputs = list(range(n_in, n_in + n_out))
    below = list(range(n_in))
    edges: set[tuple[int, int]] = set()
    earlier: list[list[int]] = [below]
    for level in levels:
        for n in level:
            edges.add((int(rng.choice(earlier[-1])), n))  # fixes the neuron's depth
        earlier.append(level)
    for level in levels:  # every hidden neuron reaches an output or a later level
        for n in level:
            later = [m for lv in earlier[earlier.index(level) + 1:] for m in lv] + outputs
            edges.add((n, int(rng.choice(later))))
    for o in outputs:
        edges.add((int(rng.choice(levels[-1])), o))
    pool = [(s, t) for i, level in enumerate(levels + [outputs], start=1)
            for t in level for lv in earlier[:i] for s in lv]
    extra = max(0, connections - len(edges))
    order = rng.permutation(len(pool))
    for k in order:
        if extra == 0:
            break
        pair = pool[int(k)]
        if pair not in edges:
            edges.add(pair)
            extra -= 1
    activations = {n: HIDDEN_ACTIVATIONS[int(rng.integers(len(HIDDEN_ACTIVATIONS)))] for level in levels for n in level}
    return _genome(n_in, n_out, levels, sorted(edges), activations)


def population(kind: str, size: int, seed: int = 0, n_in: int = 64, n_out: int = 10) -> list[Genome]:
    """``size`` genomes of ``kind`` ("layered" or "dag"), from ``seed``."""
    rng = np.random.default_rng(seed)
    make = {"layered": layered_genome, "dag": dag_genome}[kind]
    return [make(rng, n_in, n_out) for _ in range(size)]


def random_layered_genome(n_in: int, n_out: int, widths: list[int], densities: list[float],
                          rng: np.random.Generator) -> Genome:
    """A layered network with random connections at the given density between adjacent layers
    (ReLU hidden layers; at least one connection between each pair of layers): the fixed-length
    encoding Optuna searches in benchmarks/search_quality.py and benchmarks/frontier.py."""
    nodes = [NodeGene(i, "input") for i in range(n_in)] + [NodeGene(n_in + o, "output") for o in range(n_out)]
    next_id = n_in + n_out
    layers = [list(range(n_in))]
    for width in widths:
        layers.append(list(range(next_id, next_id + width)))
        nodes += [NodeGene(n, "hidden", "relu") for n in layers[-1]]
        next_id += width
    layers.append(list(range(n_in, n_in + n_out)))
    edges = []
    for (a, b), density in zip(zip(layers, layers[1:]), densities):
        pairs = [(s, t) for s in a for t in b]
        keep = rng.random(len(pairs)) < density
        edges += [p for p, k in zip(pairs, keep) if k] or [pairs[int(rng.integers(len(pairs)))]]
    return Genome(tuple(nodes), tuple(ConnectionGene(k, s, t) for k, (s, t) in enumerate(edges))).validate()
