"""Training-informed variation: operators that read what a parent's training learned.

Pure functions ``(genome, rng, innovations, limits) -> genome`` like those of
:mod:`search_space.operators`, for genomes that carry trained weights (weight inheritance) and
:class:`search_space.hints.StructureHints`:

- :func:`prune_magnitude` removes the weakest connections by trained magnitude (magnitude
  pruning, Frankle & Carbin 2019), then the hidden neurons left without a path to an output;
- :func:`grow_gradient` adds the absent connections with the largest loss gradient, at weight 0
  (RigL, Evci et al. 2020): the network computes what it computed before;
- :func:`add_neuron_gradient` adds a hidden neuron wired from the inputs and to the outputs the
  gradient favours (GradMax, Evci et al. 2022), its fan-out at weight 0: function-preserving;
- :func:`widen_neuron` copies a hidden neuron and splits its fan-out between the two (Net2Net's
  wider, Chen et al. 2016): function-preserving, the copy free to specialise.

Without the weights or hints they need, they return the genome unchanged (or, for the last
two, work without weights: new connections get none).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from connevo.search_space import graph
from connevo.search_space.genome import ConnectionGene, Genome, NodeGene
from connevo.search_space.innovation import InnovationTracker
from connevo.search_space.limits import DEFAULT_LIMITS, Limits

PRUNE_SHARE = (0.05, 0.5)
"""A pruning removes this share of the effective connections, drawn log-uniformly."""
GROW_SHARE = (0.02, 0.25)
"""A growth adds this share of the effective connections (at least one), drawn log-uniformly."""


def _share(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    low, high = bounds
    return float(np.exp(rng.uniform(math.log(low), math.log(high))))


def _carries_weights(genome: Genome) -> bool:
    return any(c.weight is not None for c in genome.effective_connections)


def weakest_connections(genome: Genome, k: int) -> list[ConnectionGene]:
    """The ``k`` effective connections of smallest ``|weight|`` (ties: lower innovation first);
    connections without a trained weight are never among them."""
    weighted = [c for c in genome.effective_connections if c.weight is not None]
    return sorted(weighted, key=lambda c: (abs(c.weight), c.innovation))[: max(0, k)]  # type: ignore[arg-type]


def without_dead_neurons(genome: Genome) -> Genome:
    """``genome`` without the hidden neurons that no longer reach an output (and their genes)."""
    live = genome.live_nodes
    dead = {n for n in genome.hidden_ids if n not in live and genome.node_by_id[n].x is None}
    if not dead:
        return genome
    return Genome(
        tuple(n for n in genome.nodes if n.id not in dead),
        tuple(c for c in genome.connections if c.source not in dead and c.target not in dead),
        genome.regularization,
        genome.hints,
    )


def prune_magnitude(
    genome: Genome,
    rng: np.random.Generator,
    innovations: InnovationTracker,
    limits: Limits = DEFAULT_LIMITS,
) -> Genome:
    """Remove a drawn share (:data:`PRUNE_SHARE`) of the effective connections, the smallest by
    trained ``|weight|``, keeping at least one; then the neurons left without a path to an output."""
    effective = genome.effective_connections
    if len(effective) <= 1 or not _carries_weights(genome):
        return genome
    k = min(len(effective) - 1, max(1, round(_share(rng, PRUNE_SHARE) * len(effective))))
    return prune_weakest(genome, k, keep_neurons=limits.fixed_layout)


def prune_weakest(genome: Genome, k: int, keep_neurons: bool = False) -> Genome:
    """``genome`` without its ``k`` weakest connections (:func:`weakest_connections`) and, unless
    ``keep_neurons``, without the hidden neurons that no longer reach an output."""
    removed = {c.innovation for c in weakest_connections(genome, k)}
    pruned = genome.with_connections([c for c in genome.connections if c.innovation not in removed])
    return pruned if keep_neurons else without_dead_neurons(pruned)


def grow_gradient(
    genome: Genome,
    rng: np.random.Generator,
    innovations: InnovationTracker,
    limits: Limits = DEFAULT_LIMITS,
) -> Genome:
    """Add the absent connections with the largest training gradient (the genome's hints), a
    drawn share (:data:`GROW_SHARE`) of its size; at weight 0 when the genome carries weights."""
    hints = genome.hints
    if hints is None or not hints.grow:
        return genome
    want = max(1, round(_share(rng, GROW_SHARE) * len(genome.effective_connections)))
    if limits.max_connections is not None:
        want = min(want, limits.max_connections - len(genome.enabled_connections))
    nodes = genome.node_by_id
    existing = {(c.source, c.target) for c in genome.connections}
    successors: dict[int, set[int]] = {}
    for c in genome.connections:
        successors.setdefault(c.source, set()).add(c.target)
    adjacent = set(_adjacent(genome)) if limits.fixed_layout else None
    weight = 0.0 if _carries_weights(genome) else None
    added: list[ConnectionGene] = []
    for source, target, _score in hints.grow:
        if len(added) >= want:
            break
        if source not in nodes or target not in nodes or (source, target) in existing:
            continue
        if nodes[source].role == "output" or nodes[target].role == "input":
            continue
        if adjacent is not None and (source, target) not in adjacent:
            continue
        if source == target or graph.reaches(successors, target, source):
            continue
        added.append(ConnectionGene(innovations.connection(source, target), source, target, weight=weight))
        existing.add((source, target))
        successors.setdefault(source, set()).add(target)
    if not added:
        return genome
    return genome.with_connections([*genome.connections, *added])


def _adjacent(genome: Genome) -> list[tuple[int, int]]:
    from connevo.search_space.fixed_layouts import adjacent_pairs

    return adjacent_pairs(list(genome.nodes))


def add_neuron_gradient(
    genome: Genome,
    rng: np.random.Generator,
    innovations: InnovationTracker,
    limits: Limits = DEFAULT_LIMITS,
) -> Genome:
    """Add a hidden neuron with the fan-in and fan-out the genome's hints propose (GradMax):
    a drawn number of the proposed inputs (their proposed weights, renormalized) and of the
    proposed outputs, those at weight 0, so the network computes what it computed before."""
    hints = genome.hints
    if hints is None or not hints.neuron_in or not hints.neuron_out or limits.fixed_layout:
        return genome
    if len(genome.hidden_ids) >= limits.max_hidden_nodes:
        return genome
    nodes = genome.node_by_id
    fan_in = [(n, w) for n, w in hints.neuron_in if n in nodes and nodes[n].role == "input"]
    fan_out = [(n, g) for n, g in hints.neuron_out if n in nodes and nodes[n].role == "output"]
    if not fan_in or not fan_out:
        return genome
    k_in = int(rng.integers(1, len(fan_in) + 1)) if len(fan_in) > 1 else 1
    strongest = fan_out[0][1]
    k_out = max(1, sum(1 for _, g in fan_out if g >= 0.25 * strongest))
    if limits.max_connections is not None:
        room = limits.max_connections - len(genome.enabled_connections)
        if room < 2:
            return genome
        k_out = min(k_out, max(1, room // 2))
        k_in = min(k_in, room - k_out)
    chosen_in, chosen_out = fan_in[:k_in], fan_out[:k_out]
    weighted = _carries_weights(genome)
    norm = math.sqrt(sum(w * w for _, w in chosen_in)) or 1.0
    node_id = innovations.new_node()
    activation = limits.activations[int(rng.integers(len(limits.activations)))]
    genes = [ConnectionGene(innovations.connection(n, node_id), n, node_id, weight=w / norm if weighted else None)
             for n, w in chosen_in]
    genes += [ConnectionGene(innovations.connection(node_id, n), node_id, n, weight=0.0 if weighted else None)
              for n, _ in chosen_out]
    return Genome((*genome.nodes, NodeGene(node_id, "hidden", activation)), (*genome.connections, *genes),
                  genome.regularization, genome.hints)


def widen_neuron(
    genome: Genome,
    rng: np.random.Generator,
    innovations: InnovationTracker,
    limits: Limits = DEFAULT_LIMITS,
) -> Genome:
    """Copy a live hidden neuron (activation, bias, fan-in with its weights) and split each of
    its fan-out weights ``w`` into ``a * w`` for the original and ``(1 - a) * w`` for the copy,
    ``a`` drawn in [0.3, 0.7] (Net2Net): the network computes what it computed before."""
    if limits.fixed_layout or len(genome.hidden_ids) >= limits.max_hidden_nodes:
        return genome
    effective = genome.effective_connections
    live = genome.live_nodes
    incoming: dict[int, list[ConnectionGene]] = {}
    outgoing: dict[int, list[ConnectionGene]] = {}
    for c in effective:
        incoming.setdefault(c.target, []).append(c)
        outgoing.setdefault(c.source, []).append(c)
    grouped = {c.source for c in effective if c.group is not None} | {c.target for c in effective if c.group is not None}
    choices = [n for n in genome.hidden_ids if n in live and n in outgoing and n not in grouped]
    if not choices:
        return genome
    original = genome.node_by_id[choices[int(rng.integers(len(choices)))]]
    fan_in, fan_out = incoming.get(original.id, []), outgoing[original.id]
    if limits.max_connections is not None and len(genome.enabled_connections) + len(fan_in) + len(fan_out) > limits.max_connections:
        return genome
    share = float(rng.uniform(0.3, 0.7))
    copy = NodeGene(innovations.new_node(), "hidden", original.activation, original.bias)
    scaled = {c.innovation: replace(c, weight=None if c.weight is None else c.weight * share) for c in fan_out}
    connections = [scaled.get(c.innovation, c) for c in genome.connections]
    connections += [ConnectionGene(innovations.connection(c.source, copy.id), c.source, copy.id, weight=c.weight)
                    for c in fan_in]
    connections += [ConnectionGene(innovations.connection(copy.id, c.target), copy.id, c.target,
                                   weight=None if c.weight is None else c.weight * (1.0 - share))
                    for c in fan_out]
    return Genome((*genome.nodes, copy), tuple(connections), genome.regularization, genome.hints)


