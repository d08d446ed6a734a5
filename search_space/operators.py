"""Variation operators: pure functions ``(genome, rng, innovations, limits) -> genome``.

Each takes its random generator as an argument (never the global ``random``), returns a new
valid genome, and returns the genome unchanged when the mutation does not apply (nothing to
remove, no legal connection left to add, a limit reached).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from connevo.search_space.connection_table import NO_GROUP, ConnectionTable
from connevo.search_space.fixed_layouts import adjacent_pairs
from connevo.search_space.gene_index import CycleCheck, PairIndex, rows_of
from connevo.search_space.genome import ROLES, ConnectionGene, Genome, NodeGene, Regularization
from connevo.search_space.innovation import InnovationTracker
from connevo.search_space.layout import layered_layout
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
    keep = linear_connection_count(density, n_inputs, n_outputs)
    chosen = np.sort(rng.choice(n_inputs * n_outputs, size=keep, replace=False))
    return linear_genome(n_inputs, n_outputs, chosen, innovations, regularization)


def linear_connection_count(density: float, n_inputs: int, n_outputs: int) -> int:
    """Connections of a sparse linear start of ``density``: that share of the input -> output
    pairs, at least one."""
    return max(1, int(round(density * n_inputs * n_outputs)))


def linear_genome(
    n_inputs: int,
    n_outputs: int,
    pairs: np.ndarray,
    innovations: InnovationTracker,
    regularization: Regularization | None = None,
) -> Genome:
    """Inputs wired straight to outputs by the ``pairs`` given as ascending flat indices
    ``input * n_outputs + output``. Node ids as :func:`minimal_genome`'s."""
    innovations.reserve_node_ids(n_inputs + n_outputs)
    nodes = [NodeGene(i, "input") for i in range(n_inputs)]
    nodes += [NodeGene(n_inputs + o, "output") for o in range(n_outputs)]
    sources, targets = pairs // n_outputs, n_inputs + pairs % n_outputs
    innovation = [innovations.connection(s, t) for s, t in zip(sources.tolist(), targets.tolist())]
    table = ConnectionTable.of(innovation, sources, targets)
    return Genome(tuple(nodes), table, regularization or Regularization())


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
    innovation numbers and result, with the pair index and the reachability graph built once
    (a mutation that adds a share of a large network's connections stays linear)."""
    if limits.fixed_layout:
        return _add_adjacent_connections(genome, rng, innovations, limits, count)
    table = genome.table
    pairs = PairIndex(genome)
    enabled = genome.n_enabled
    roles = genome.node_roles
    sources = genome.node_ids[roles != ROLES.index("output")]
    targets = genome.node_ids[roles != ROLES.index("input")]
    cycles = CycleCheck(genome)
    enable: list[int] = []  # rows of disabled genes enabled again
    added: dict[tuple[int, int], int] = {}  # new pairs and their innovation numbers, in order
    for _ in range(count):
        if limits.max_connections is not None and enabled >= limits.max_connections:
            break
        for _ in range(attempts):
            source = int(sources[int(rng.integers(len(sources)))])
            target = int(targets[int(rng.integers(len(targets)))])
            if (source, target) in added:
                continue
            row = pairs.row(source, target)
            if row is not None:
                if table.enabled[row] or row in enable:
                    continue
                enable.append(row)
            elif cycles.closes(source, target):
                continue
            else:
                added[source, target] = innovations.connection(source, target)
                cycles.add(source, target)
            enabled += 1
            break
    if not enable and not added:
        return genome
    new = ConnectionTable.of(list(added.values()), [s for s, _ in added], [t for _, t in added])
    return genome.with_table(table.updated(enable, enabled=True).concat(new))


def _add_adjacent_connections(genome: Genome, rng: np.random.Generator, innovations: InnovationTracker,
                              limits: Limits, count: int) -> Genome:
    """:func:`add_connections` of a fixed layout: pairs of adjacent layers only (gene by gene:
    fixed layouts are small)."""
    genes = {(c.source, c.target): c for c in genome.connections}
    enabled = genome.n_enabled
    adjacent = adjacent_pairs(list(genome.nodes))
    changed = False
    for _ in range(count):
        if limits.max_connections is not None and enabled >= limits.max_connections:
            break
        pairs = [p for p in adjacent if p not in genes or not genes[p].enabled]
        if not pairs:
            break
        source, target = pairs[int(rng.integers(len(pairs)))]
        gene = genes.get((source, target))
        if gene is not None:
            genes[source, target] = replace(gene, enabled=True)
        else:
            genes[source, target] = ConnectionGene(innovations.connection(source, target), source, target)
        enabled += 1
        changed = True
    return genome.with_connections(list(genes.values())) if changed else genome


def remove_connections(
    genome: Genome,
    rng: np.random.Generator,
    innovations: InnovationTracker,
    limits: Limits = DEFAULT_LIMITS,
    count: int = 1,
) -> Genome:
    """``count`` successive :func:`remove_connection` calls in one pass (the same draws and result)."""
    rows = np.flatnonzero(genome.table.enabled)
    # A few removals delete from the array; many pop from a list (one C memmove each).
    enabled: Any = rows if count <= 8 else rows.tolist()
    removed: list[int] = []
    for _ in range(count):
        if len(enabled) <= 1:
            break
        at = int(rng.integers(len(enabled)))
        removed.append(int(enabled[at]))
        if isinstance(enabled, list):
            enabled.pop(at)
        else:
            enabled = np.delete(enabled, at)
    if not removed:
        return genome
    return genome.with_table(genome.table.take(_without(len(genome.table), removed)))


def _without(n: int, rows: Any) -> np.ndarray:
    """A mask of ``n`` rows, False at ``rows``."""
    keep = np.ones(n, dtype=bool)
    keep[rows] = False
    return keep


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
    table, enabled = genome.table, genome.n_enabled
    if not enabled or limits.fixed_layout or len(genome.hidden_ids) >= limits.max_hidden_nodes:
        return genome
    if limits.max_connections is not None and enabled + 1 > limits.max_connections:
        return genome
    row = int(np.flatnonzero(table.enabled)[int(rng.integers(enabled))])
    source, target, weight = int(table.source[row]), int(table.target[row]), float(table.weight[row])
    node_id, into, out = innovations.split(int(table.innovation[row]))
    if node_id in genome.node_by_id:  # the same split already happened in this genome
        return genome
    activation = limits.activations[int(rng.integers(len(limits.activations)))]
    node = NodeGene(node_id, "hidden", activation)
    carried = weight == weight  # not NaN: a trained weight
    new = ConnectionTable.of([into, out], [source, node_id], [node_id, target], True,
                             [1.0 if carried else np.nan, weight])
    return genome._plus_node(node, table.updated(row, enabled=False).concat(new))


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
    return _without_node(genome, hidden[int(rng.integers(len(hidden)))]) or genome


def _without_node(genome: Genome, victim: int) -> Genome | None:
    """``genome`` without hidden node ``victim`` and its connections; None where that would leave
    no enabled connection."""
    table = genome.table
    keep = (table.source != victim) & (table.target != victim)
    if not table.enabled[keep].any():
        return None
    return Genome(tuple(n for n in genome.nodes if n.id != victim), table.take(keep), genome.regularization)


def toggle_connection(
    genome: Genome,
    rng: np.random.Generator,
    innovations: InnovationTracker,
    limits: Limits = DEFAULT_LIMITS,
) -> Genome:
    """Flip one connection gene's enabled flag (never disabling the last enabled one).

    Re-enabling cannot close a cycle: genomes are acyclic over disabled genes too.
    """
    table, enabled = genome.table, genome.n_enabled
    if not len(table):
        return genome
    row = int(rng.integers(len(table)))
    on = bool(table.enabled[row])
    if on and enabled <= 1:
        return genome
    if not on and limits.max_connections is not None and enabled >= limits.max_connections:
        return genome
    return genome.with_table(table.updated(row, enabled=not on))


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
    return genome.replace(regularization=replace(reg, **{name: value}))


def share_weights(
    genome: Genome,
    rng: np.random.Generator,
    innovations: InnovationTracker,
    limits: Limits = DEFAULT_LIMITS,
) -> Genome:
    """Make one connection share the weight of another (joining its group, or a new group)."""
    table, enabled = genome.table, genome.n_enabled
    if enabled < 2:
        return genome
    rows = np.flatnonzero(table.enabled)
    first, second = (int(rows[int(i)]) for i in rng.choice(enabled, size=2, replace=False))
    group = int(table.group[first]) if table.group[first] != NO_GROUP else int(table.group.max(initial=NO_GROUP)) + 1
    if table.group[second] == group:
        return genome
    return genome.with_table(table.updated([first, second], group=group))


def unshare_weights(
    genome: Genome,
    rng: np.random.Generator,
    innovations: InnovationTracker,
    limits: Limits = DEFAULT_LIMITS,
) -> Genome:
    """Give one connection of a sharing group a weight of its own again."""
    grouped = np.flatnonzero(genome.table.group != NO_GROUP)
    if not len(grouped):
        return genome
    row = int(grouped[int(rng.integers(len(grouped)))])
    return genome.with_table(genome.table.updated(row, group=NO_GROUP))


def repair(genome: Genome, rng: np.random.Generator, limits: Limits) -> Genome:
    """Bring a genome back within the limits by removing random connections and hidden nodes."""
    while len(genome.hidden_ids) > limits.max_hidden_nodes:
        genome = remove_node(genome, rng, InnovationTracker(), limits)
    cap = limits.max_connections
    if cap is not None and genome.n_enabled > cap:
        enabled = np.flatnonzero(genome.table.enabled)
        drop = enabled[rng.choice(len(enabled), size=len(enabled) - cap, replace=False)]
        genome = genome.with_table(genome.table.take(_without(len(genome.table), drop)))
    genome = _within_layers(genome, rng, limits)
    allowed = set(limits.activations)
    if any(genome.node_by_id[n].activation not in allowed for n in genome.hidden_ids):
        genome = genome.with_nodes([
            replace(n, activation=limits.activations[int(rng.integers(len(limits.activations)))])
            if n.role == "hidden" and n.activation not in allowed else n
            for n in genome.nodes
        ])
    return genome


def _within_layers(genome: Genome, rng: np.random.Generator, limits: Limits) -> Genome:
    """Remove random hidden nodes of the deepest hidden layer until the network has at most
    ``limits.max_layers`` layers (each removal takes the node's connections with it)."""
    while limits.max_layers is not None:
        layout = layered_layout(genome)
        if layout.n_layers <= limits.max_layers or layout.n_layers < 2:
            return genome
        deepest = [n for n in layout.layers[-2] if genome.node_by_id[n].x is None]
        smaller = _without_node(genome, deepest[int(rng.integers(len(deepest)))]) if deepest else None
        if smaller is None:
            return genome  # nothing removable (a fixed layout) or the last connections: leave it
        genome = smaller
    return genome


def within_limits(genome: Genome, limits: Limits) -> bool:
    return (
        len(genome.hidden_ids) <= limits.max_hidden_nodes
        and (limits.max_connections is None or genome.n_enabled <= limits.max_connections)
        and (limits.max_layers is None or layered_layout(genome).n_layers <= limits.max_layers)
        and all(genome.node_by_id[n].activation in limits.activations for n in genome.hidden_ids)
    )


def crossover_coins(rng: np.random.Generator, genes: int) -> tuple[np.ndarray, np.ndarray]:
    """A crossover's draws, one pair per gene of the fitter parent (in gene order): whether the
    child takes the other parent's gene (probability 1/2), and whether a gene disabled in either
    parent stays disabled (3/4, NEAT's rate: either of two fair bits). Fair bits from one call
    for random bytes: an eighth of the stream and a fifth of the time of a double per draw."""
    bits = np.unpackbits(np.frombuffer(rng.bytes(3 * -(-genes // 8)), dtype=np.uint8)).view(np.bool_)
    step = len(bits) // 3
    return bits[:genes], bits[step:step + genes] | bits[2 * step:2 * step + genes]


def crossover(
    fitter: Genome, other: Genome, rng: np.random.Generator
) -> Genome:
    """NEAT crossover: matching genes (same innovation) from either parent at random, disjoint and
    excess genes from the fitter parent. Nodes follow the fitter parent's genes.

    A matching gene disabled in either parent stays disabled with probability 0.75 (NEAT).
    Every child gene is one of the fitter parent's genes, so the child is as acyclic as it.
    """
    mine, theirs = fitter.table, other.table
    take_other, stay_disabled = crossover_coins(rng, len(mine))
    children = mine  # without a gene of the other parent, nothing matches
    if len(theirs):  # each gene's match: the other parent's gene of the same innovation and pair
        at = rows_of(mine.innovation, theirs.innovation)
        match = at >= 0
        at = np.maximum(at, 0)
        match &= (theirs.source.take(at) == mine.source) & (theirs.target.take(at) == mine.target)
        use_theirs = match & take_other
        # Without a sharing group in either parent (the common case), the child's groups are the
        # fitter parent's column itself: two reductions instead of a gather and a select.
        grouped = int(mine.group.max(initial=NO_GROUP)) > NO_GROUP or int(theirs.group.max(initial=NO_GROUP)) > NO_GROUP
        groups = {"group": np.where(use_theirs, theirs.group.take(at), mine.group)} if grouped else {}
        children = mine.replace_fresh(
            enabled=np.where(match, (mine.enabled & theirs.enabled.take(at)) | ~stay_disabled, mine.enabled),
            weight=np.where(use_theirs, theirs.weight.take(at), mine.weight), **groups)
    regularization = fitter.regularization
    if other.regularization != regularization:  # each gene from either parent
        picks = {
            name: getattr(fitter.regularization if rng.random() < 0.5 else other.regularization, name)
            for name in ("weight_decay", "l1_ratio", "dropout")
        }
        regularization = replace(regularization, **picks)
    child = fitter._same_pairs(children, regularization, None)
    return child if child.n_enabled else fitter


__all__ = ["DEFAULT_LIMITS", "HIDDEN_ACTIVATIONS", "Limits",
           "add_connection", "add_connections", "add_node", "change_activation", "crossover", "crossover_coins",
           "linear_connection_count", "linear_genome", "minimal_genome", "mutate_regularization",
           "remove_connection", "remove_connections", "remove_node", "repair",
           "share_weights", "toggle_connection", "unshare_weights", "within_limits"]
