"""Variation operators: pure functions ``(genome, rng, innovations, limits) -> genome``.

Each takes its random generator as an argument (never the global ``random``), returns a new
valid genome, and returns the genome unchanged when the mutation does not apply (nothing to
remove, no legal connection left to add, a limit reached).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from search_space import graph
from search_space.genome import ACTIVATIONS, ConnectionGene, Genome, NodeGene
from search_space.innovation import InnovationTracker

HIDDEN_ACTIVATIONS: tuple[str, ...] = ("relu", "tanh", "sigmoid", "identity")


@dataclass(frozen=True)
class Limits:
    """Search-space limits that operators respect."""

    max_hidden_nodes: int = 64
    max_connections: int | None = None
    activations: tuple[str, ...] = HIDDEN_ACTIVATIONS

    def __post_init__(self) -> None:
        unknown = [a for a in self.activations if a not in ACTIVATIONS]
        if unknown or not self.activations:
            raise ValueError(f"activations must be a non-empty subset of {ACTIVATIONS}, got {self.activations}")


DEFAULT_LIMITS = Limits()


def minimal_genome(
    n_inputs: int,
    n_outputs: int,
    rng: np.random.Generator,
    innovations: InnovationTracker,
    density: float = 1.0,
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
    return Genome(tuple(nodes), tuple(connections))


def add_connection(
    genome: Genome,
    rng: np.random.Generator,
    innovations: InnovationTracker,
    limits: Limits = DEFAULT_LIMITS,
    attempts: int = 20,
) -> Genome:
    """Add one new enabled connection that keeps the graph acyclic (or re-enable a disabled gene)."""
    if limits.max_connections is not None and len(genome.enabled_connections) >= limits.max_connections:
        return genome
    sources = [n.id for n in genome.nodes if n.role != "output"]
    targets = [n.id for n in genome.nodes if n.role != "input"]
    existing = {(c.source, c.target): c for c in genome.connections}
    # Disabled genes count too: re-enabling one later must never close a cycle.
    edges = list(existing)
    for _ in range(attempts):
        source = sources[int(rng.integers(len(sources)))]
        target = targets[int(rng.integers(len(targets)))]
        gene = existing.get((source, target))
        if gene is not None:
            if gene.enabled:
                continue
            return genome.with_connections(
                [replace(c, enabled=True) if c is gene else c for c in genome.connections]
            )
        if graph.creates_cycle(edges, (source, target)):
            continue
        new = ConnectionGene(innovations.connection(source, target), source, target)
        return genome.with_connections((*genome.connections, new))
    return genome


def remove_connection(
    genome: Genome,
    rng: np.random.Generator,
    innovations: InnovationTracker,
    limits: Limits = DEFAULT_LIMITS,
) -> Genome:
    """Delete one enabled connection gene, keeping at least one enabled connection."""
    enabled = genome.enabled_connections
    if len(enabled) <= 1:
        return genome
    victim = enabled[int(rng.integers(len(enabled)))]
    return genome.with_connections([c for c in genome.connections if c is not victim])


def add_node(
    genome: Genome,
    rng: np.random.Generator,
    innovations: InnovationTracker,
    limits: Limits = DEFAULT_LIMITS,
) -> Genome:
    """Split an enabled connection a->b into a->new->b; the old gene is disabled (NEAT)."""
    enabled = genome.enabled_connections
    if not enabled or len(genome.hidden_ids) >= limits.max_hidden_nodes:
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
    connections.append(ConnectionGene(into, split.source, node_id))
    connections.append(ConnectionGene(out, node_id, split.target))
    return Genome((*genome.nodes, node), tuple(connections))


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
    return Genome(tuple(new if n is node else n for n in genome.nodes), genome.connections)


def crossover(
    fitter: Genome, other: Genome, rng: np.random.Generator
) -> Genome:
    """NEAT crossover: matching genes (same innovation) from either parent at random, disjoint and
    excess genes from the fitter parent. Nodes follow the fitter parent's genes.

    A matching gene disabled in either parent stays disabled with probability 0.75 (NEAT).
    Every child gene is one of the fitter parent's genes, so the child is as acyclic as it.
    """
    other_genes = {c.innovation: c for c in other.connections}
    children: list[ConnectionGene] = []
    for gene in fitter.connections:
        mate = other_genes.get(gene.innovation)
        if mate is None or (mate.source, mate.target) != (gene.source, gene.target):
            children.append(gene)
            continue
        chosen = gene if rng.random() < 0.5 else mate
        enabled = gene.enabled and mate.enabled
        if not enabled:
            enabled = rng.random() >= 0.75
        children.append(replace(chosen, enabled=enabled))
    child = fitter.with_connections(children)
    return child if child.enabled_connections else fitter


MUTATIONS = {
    "add_connection": add_connection,
    "remove_connection": remove_connection,
    "add_node": add_node,
    "change_activation": change_activation,
}
