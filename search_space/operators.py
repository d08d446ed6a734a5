"""Variation operators: pure functions ``(genome, rng, innovations, limits) -> genome``.

Each takes its random generator as an argument (never the global ``random``), returns a new
valid genome, and returns the genome unchanged when the mutation does not apply (nothing to
remove, no legal connection left to add, a limit reached).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from connevo.search_space import graph
from connevo.search_space.fixed_layouts import adjacent_pairs
from connevo.search_space.genome import ConnectionGene, Genome, NodeGene, Regularization
from connevo.search_space.innovation import InnovationTracker
from connevo.search_space.limits import DEFAULT_LIMITS, HIDDEN_ACTIVATIONS, Limits


def minimal_genome(
    n_inputs: int,
    n_outputs: int,
    rng: np.random.Generator,
    innovations: InnovationTracker,
    density: float = 1.0,
    regularization: Regularization | None = None,
) -> Genome:
    """Inputs wired straight to outputs (NEAT's minimal start), keeping a random ``density`` share.

    Node ids: inputs ``0..n_inputs-1``, outputs ``n_inputs..n_inputs+n_outputs-1``.
    At least one connection is kept.
    """
    if n_inputs < 1 or n_outputs < 1:
        raise ValueError(f"need at least one input and one output, got {n_inputs=} {n_outputs=}")
    if not 0.0 < density <= 1.0:
        raise ValueError(f"density must be in (0, 1], got {density}")
    innovations.reserve_node_ids(n_inputs + n_outputs)
    nodes = [NodeGene(i, "input") for i in range(n_inputs)]
    nodes += [NodeGene(n_inputs + o, "output") for o in range(n_outputs)]
    pairs = [(i, n_inputs + o) for i in range(n_inputs) for o in range(n_outputs)]
    keep = max(1, int(round(density * len(pairs))))
    chosen = sorted(rng.choice(len(pairs), size=keep, replace=False).tolist())
    connections = [
        ConnectionGene(innovations.connection(*pairs[k]), *pairs[k]) for k in chosen
    ]
    return Genome(tuple(nodes), tuple(connections), regularization or Regularization())


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


def change_activation(
    genome: Genome,
    rng: np.random.Generator,
    innovations: InnovationTracker,
    limits: Limits = DEFAULT_LIMITS,
) -> Genome:
    """Give one hidden node another activation from the allowed list."""
    hidden = genome.hidden_ids
    if not hidden or len(limits.activations) < 2:
        return genome
    node = genome.node_by_id[hidden[int(rng.integers(len(hidden)))]]
    choices = [a for a in limits.activations if a != node.activation]
    new = replace(node, activation=choices[int(rng.integers(len(choices)))])
    return genome.with_nodes([new if n is node else n for n in genome.nodes])


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


REGULARIZATION_BOUNDS = {"weight_decay": (0.0, 0.1), "l1_ratio": (0.0, 1.0), "dropout": (0.0, 0.5)}


def mutate_regularization(
    genome: Genome,
    rng: np.random.Generator,
    innovations: InnovationTracker,
    limits: Limits = DEFAULT_LIMITS,
) -> Genome:
    """Perturb one regularization gene: weight decay on a log scale, L1 ratio and dropout by a
    Gaussian step, each clipped to :data:`REGULARIZATION_BOUNDS`."""
    reg = genome.regularization
    name = ("weight_decay", "l1_ratio", "dropout")[int(rng.integers(3))]
    low, high = REGULARIZATION_BOUNDS[name]
    value = getattr(reg, name)
    if name == "weight_decay":
        value = 1e-4 if value <= 0 else value * float(np.exp(rng.normal(0.0, 1.0)))
        value = 0.0 if value < 1e-6 else value
    else:
        value = value + float(rng.normal(0.0, 0.1 if name == "dropout" else 0.25))
    value = float(min(high, max(low, value)))
    return replace(genome, regularization=replace(reg, **{name: value}))


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
    # All draws at once (one per gene, in gene order): cheaper than a call per gene.
    take_other = rng.random(len(genes)) >= 0.5
    stay_disabled = rng.random(len(genes)) < 0.75
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


__all__ = ["DEFAULT_LIMITS", "HIDDEN_ACTIVATIONS", "Limits",
           "add_connection", "add_connections", "add_node", "change_activation", "crossover", "minimal_genome",
           "mutate_regularization", "remove_connection", "remove_connections", "remove_node", "repair",
           "share_weights", "toggle_connection", "unshare_weights", "within_limits"]
