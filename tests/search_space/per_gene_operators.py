"""The per-gene reference implementation of the variation operators (connevo 0.x before the columnar
genome): each works on ConnectionGene objects, as written originally. The columnar operators of
search_space.operators and search_space.informed must give the same genomes, draws and innovation
numbers (tests/search_space/test_columnar_operators.py). Operators whose code did not change
(change_activation, mutate_regularization) and the small helpers are not copied here."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from connevo.search_space import graph
from connevo.search_space.fixed_layouts import adjacent_pairs
from connevo.search_space.genome import ConnectionGene, Genome, NodeGene
from connevo.search_space.informed import GROW_SHARE, PRUNE_SHARE, _adjacent, _share
from connevo.search_space.innovation import InnovationTracker
from connevo.search_space.limits import DEFAULT_LIMITS, Limits
from connevo.search_space.operators import crossover_coins


def add_connection(
    genome: Genome,
    rng: np.random.Generator,
    innovations: InnovationTracker,
    limits: Limits = DEFAULT_LIMITS,
    attempts: int = 20,
) -> Genome:
    """Add one new enabled connection that keeps the graph acyclic (or re-enable a disabled gene).

    Up to ``attempts`` random (source, target) draws; the genome comes back unchanged when none
    is legal. With a fixed layout, only pairs of adjacent layers are drawn.
    """
    return add_connections(genome, rng, innovations, limits, 1, attempts)


def add_connections(
    genome: Genome,
    rng: np.random.Generator,
    innovations: InnovationTracker,
    limits: Limits = DEFAULT_LIMITS,
    count: int = 1,
    attempts: int = 20,
) -> Genome:
    """``count`` successive :func:`add_connection` calls in one pass: the same random draws,
    innovation numbers and result, with the gene index and the reachability graph built once
    (a mutation that adds a share of a large network's connections stays linear)."""
    genes = {(c.source, c.target): c for c in genome.connections}
    enabled = sum(1 for c in genome.connections if c.enabled)
    successors: dict[int, set[int]] = {}
    for source, target in genes:
        successors.setdefault(source, set()).add(target)
    sources = [n.id for n in genome.nodes if n.role != "output"]
    targets = [n.id for n in genome.nodes if n.role != "input"]
    adjacent = adjacent_pairs(list(genome.nodes)) if limits.fixed_layout else []
    changed = False

    def enable(gene: ConnectionGene) -> None:
        genes[gene.source, gene.target] = replace(gene, enabled=True)

    def add(source: int, target: int) -> None:
        genes[source, target] = ConnectionGene(innovations.connection(source, target), source, target)
        successors.setdefault(source, set()).add(target)

    for _ in range(count):
        if limits.max_connections is not None and enabled >= limits.max_connections:
            break
        if limits.fixed_layout:
            pairs = [p for p in adjacent if p not in genes or not genes[p].enabled]
            if not pairs:
                break
            source, target = pairs[int(rng.integers(len(pairs)))]
            gene = genes.get((source, target))
            enable(gene) if gene is not None else add(source, target)
            enabled += 1
            changed = True
            continue
        for _ in range(attempts):
            source = sources[int(rng.integers(len(sources)))]
            target = targets[int(rng.integers(len(targets)))]
            gene = genes.get((source, target))
            if gene is not None:
                if gene.enabled:
                    continue
                enable(gene)
            elif source == target or graph.reaches(successors, target, source):
                continue
            else:
                add(source, target)
            enabled += 1
            changed = True
            break
    return genome.with_connections(list(genes.values())) if changed else genome


def remove_connections(
    genome: Genome,
    rng: np.random.Generator,
    innovations: InnovationTracker,
    limits: Limits = DEFAULT_LIMITS,
    count: int = 1,
) -> Genome:
    """``count`` successive :func:`remove_connection` calls in one pass (the same draws and result)."""
    enabled = list(genome.enabled_connections)
    removed: set[int] = set()
    for _ in range(count):
        if len(enabled) <= 1:
            break
        removed.add(enabled.pop(int(rng.integers(len(enabled)))).innovation)
    if not removed:
        return genome
    return genome.with_connections([c for c in genome.connections if c.innovation not in removed])


def remove_connection(
    genome: Genome,
    rng: np.random.Generator,
    innovations: InnovationTracker,
    limits: Limits = DEFAULT_LIMITS,
) -> Genome:
    """Delete one enabled connection gene, keeping at least one enabled connection."""
    return remove_connections(genome, rng, innovations, limits, 1)


def add_node(
    genome: Genome,
    rng: np.random.Generator,
    innovations: InnovationTracker,
    limits: Limits = DEFAULT_LIMITS,
) -> Genome:
    """Split an enabled connection a->b into a->new->b; the old gene is disabled (NEAT).

    When the split connection carries a trained weight w (weight inheritance), a->new gets 1
    and new->b gets w, as NEAT does, so the signal keeps flowing through the new neuron.
    """
    enabled = genome.enabled_connections
    if not enabled or limits.fixed_layout or len(genome.hidden_ids) >= limits.max_hidden_nodes:
        return genome
    if limits.max_connections is not None and len(enabled) + 1 > limits.max_connections:
        return genome
    split = enabled[int(rng.integers(len(enabled)))]
    node_id, into, out = innovations.split(split.innovation)
    if node_id in genome.node_by_id:  # the same split already happened in this genome
        return genome
    activation = limits.activations[int(rng.integers(len(limits.activations)))]
    node = NodeGene(node_id, "hidden", activation)
    connections = [replace(c, enabled=False) if c is split else c for c in genome.connections]
    carried = split.weight is not None
    connections.append(ConnectionGene(into, split.source, node_id, weight=1.0 if carried else None))
    connections.append(ConnectionGene(out, node_id, split.target, weight=split.weight))
    return Genome((*genome.nodes, node), tuple(connections), genome.regularization)


def remove_node(
    genome: Genome,
    rng: np.random.Generator,
    innovations: InnovationTracker,
    limits: Limits = DEFAULT_LIMITS,
) -> Genome:
    """Delete one hidden node with every connection into or out of it.

    Keeps at least one enabled connection; a node of a fixed layout (with coordinates) stays.
    """
    hidden = [n for n in genome.hidden_ids if genome.node_by_id[n].x is None]
    if not hidden or limits.fixed_layout:
        return genome
    victim = hidden[int(rng.integers(len(hidden)))]
    connections = [c for c in genome.connections if victim not in (c.source, c.target)]
    if not any(c.enabled for c in connections):
        return genome
    return Genome(tuple(n for n in genome.nodes if n.id != victim), tuple(connections), genome.regularization)


def toggle_connection(
    genome: Genome,
    rng: np.random.Generator,
    innovations: InnovationTracker,
    limits: Limits = DEFAULT_LIMITS,
) -> Genome:
    """Flip one connection gene's enabled flag (never disabling the last enabled one).

    Re-enabling cannot close a cycle: genomes are acyclic over disabled genes too.
    """
    if not genome.connections:
        return genome
    gene = genome.connections[int(rng.integers(len(genome.connections)))]
    if gene.enabled and len(genome.enabled_connections) <= 1:
        return genome
    if not gene.enabled and limits.max_connections is not None and len(genome.enabled_connections) >= limits.max_connections:
        return genome
    return genome.with_connections([replace(c, enabled=not c.enabled) if c is gene else c for c in genome.connections])


def share_weights(
    genome: Genome,
    rng: np.random.Generator,
    innovations: InnovationTracker,
    limits: Limits = DEFAULT_LIMITS,
) -> Genome:
    """Make one connection share the weight of another (joining its group, or a new group)."""
    enabled = genome.enabled_connections
    if len(enabled) < 2:
        return genome
    first, second = (enabled[int(i)] for i in rng.choice(len(enabled), size=2, replace=False))
    if first.group is None:
        group = 1 + max((c.group for c in genome.connections if c.group is not None), default=-1)
    else:
        group = first.group
    if second.group == group:
        return genome
    return genome.with_connections([
        replace(c, group=group) if c is first or c is second else c for c in genome.connections
    ])


def unshare_weights(
    genome: Genome,
    rng: np.random.Generator,
    innovations: InnovationTracker,
    limits: Limits = DEFAULT_LIMITS,
) -> Genome:
    """Give one connection of a sharing group a weight of its own again."""
    grouped = [c for c in genome.connections if c.group is not None]
    if not grouped:
        return genome
    gene = grouped[int(rng.integers(len(grouped)))]
    return genome.with_connections([replace(c, group=None) if c is gene else c for c in genome.connections])


def repair(genome: Genome, rng: np.random.Generator, limits: Limits) -> Genome:
    """Bring a genome back within the limits by removing random connections and hidden nodes."""
    while len(genome.hidden_ids) > limits.max_hidden_nodes:
        genome = remove_node(genome, rng, InnovationTracker(), limits)
    cap = limits.max_connections
    if cap is not None and len(genome.enabled_connections) > cap:
        enabled = genome.enabled_connections
        drop = {c.innovation for c in (enabled[int(i)] for i in rng.choice(len(enabled), size=len(enabled) - cap, replace=False))}
        genome = genome.with_connections([c for c in genome.connections if c.innovation not in drop])
    allowed = set(limits.activations)
    if any(genome.node_by_id[n].activation not in allowed for n in genome.hidden_ids):
        genome = genome.with_nodes([
            replace(n, activation=limits.activations[int(rng.integers(len(limits.activations)))])
            if n.role == "hidden" and n.activation not in allowed else n
            for n in genome.nodes
        ])
    return genome


def within_limits(genome: Genome, limits: Limits) -> bool:
    return (
        len(genome.hidden_ids) <= limits.max_hidden_nodes
        and (limits.max_connections is None or len(genome.enabled_connections) <= limits.max_connections)
        and all(genome.node_by_id[n].activation in limits.activations for n in genome.hidden_ids)
    )


def crossover(
    fitter: Genome, other: Genome, rng: np.random.Generator
) -> Genome:
    """NEAT crossover: matching genes (same innovation) from either parent at random, disjoint and
    excess genes from the fitter parent. Nodes follow the fitter parent's genes.

    A matching gene disabled in either parent stays disabled with probability 0.75 (NEAT).
    Every child gene is one of the fitter parent's genes, so the child is as acyclic as it.
    """
    other_genes = {c.innovation: c for c in other.connections}
    genes = fitter.connections
    # The draws, one pair per gene in gene order, as the columnar crossover makes them.
    take_other, stay_disabled = crossover_coins(rng, len(genes))
    children: list[ConnectionGene] = []
    for i, gene in enumerate(genes):
        mate = other_genes.get(gene.innovation)
        if mate is None or mate.source != gene.source or mate.target != gene.target:
            children.append(gene)
            continue
        chosen = mate if take_other[i] else gene
        enabled = (gene.enabled and mate.enabled) or not stay_disabled[i]
        if chosen.enabled != enabled:
            chosen = ConnectionGene(chosen.innovation, chosen.source, chosen.target, enabled, chosen.weight, chosen.group)
        children.append(chosen)
    regularization = fitter.regularization
    if other.regularization != regularization:  # each gene from either parent
        picks = {
            name: getattr(fitter.regularization if rng.random() < 0.5 else other.regularization, name)
            for name in ("weight_decay", "l1_ratio", "dropout")
        }
        regularization = replace(regularization, **picks)
    child = Genome(fitter.nodes, tuple(children), regularization)
    return child if child.enabled_connections else fitter


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


