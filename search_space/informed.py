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

import numpy as np

from connevo.search_space.connection_table import NO_GROUP, ConnectionTable
from connevo.search_space.gene_index import CycleCheck, PairIndex
from connevo.search_space.genome import ROLES, ConnectionGene, Genome, NodeGene
from connevo.search_space.innovation import InnovationTracker
from connevo.search_space.limits import DEFAULT_LIMITS, Limits

PRUNE_SHARE = (0.05, 0.5)
"""A pruning removes this share of the effective connections, drawn log-uniformly."""
GROW_SHARE = (0.02, 0.25)
"""A growth adds this share of the effective connections (at least one), drawn log-uniformly."""


def _share(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    low, high = bounds
    return float(np.exp(rng.uniform(math.log(low), math.log(high))))


def _prunable(genome: Genome) -> np.ndarray:
    """Per row: effective and carrying a trained weight (what a prune may remove)."""
    prunable: np.ndarray = genome.effective_mask & genome.table.has_weight
    return prunable


SELECTION_SAMPLE = 1024
"""Values in the strided sample that brackets a k-th smallest magnitude (:func:`kth_smallest`)."""


def kth_smallest(values: np.ndarray, k: int) -> float:
    """The ``k``-th smallest of ``values`` (1-based; no NaN among them), exactly as
    ``np.partition(values, k - 1)[k - 1]``, in a fraction of its time on long arrays.

    numpy's introselect reads and moves every value several times (about 1.2 ms for 10^5 on a
    2-core machine). Here a strided sample of :data:`SELECTION_SAMPLE` values, sorted, gives a
    bracket [lo, hi] around the k-th value with a wide margin; one pass counts the values below
    lo and picks those inside, and introselect runs on those few (0.23-0.45 ms for 10^5). The
    result does not rest on the sample: when the bracket misses (the count says so), the whole
    array is partitioned."""
    n = len(values)
    if n < 8 * SELECTION_SAMPLE:
        return float(np.partition(values, k - 1)[k - 1])
    sample = np.sort(values[:: n // SELECTION_SAMPLE])
    m, q = len(sample), k / n
    margin = 3 * math.sqrt(m * q * (1 - q)) + 2  # three standard deviations of the sample's rank
    low, high = math.floor(q * m - margin), math.ceil(q * m + margin)
    lo = sample[low] if low >= 0 else -np.inf
    hi = sample[high] if high < m else np.inf
    below = int(np.count_nonzero(values < lo))
    candidates = values[(values >= lo) & (values <= hi)]
    if not below <= k - 1 < below + len(candidates):  # the k-th value is outside the bracket
        return float(np.partition(values, k - 1)[k - 1])
    return float(np.partition(candidates, k - 1 - below)[k - 1 - below])


def weakest_rows(genome: Genome, k: int) -> np.ndarray:
    """The table rows of the ``k`` effective connections of smallest ``|weight|`` (ties: lower
    innovation first), weakest first; connections without a trained weight are never among them."""
    table = genome.table
    rows = np.flatnonzero(_prunable(genome))
    k = max(0, min(k, len(rows)))
    if k == 0:
        return rows[:0]
    magnitude = np.abs(table.weight[rows])
    if k < len(rows):  # only the candidates up to the k-th smallest magnitude (ties included) are sorted
        keep = magnitude <= kth_smallest(magnitude, k)
        rows, magnitude = rows[keep], magnitude[keep]
    # Rows climb with the innovation number, so a stable sort breaks ties by innovation.
    return rows[np.argsort(magnitude, kind="stable")[:k]]


def weakest_mask(genome: Genome, k: int, prunable: np.ndarray | None = None) -> np.ndarray:
    """A boolean mask over the table of the rows :func:`weakest_rows` names, found without
    sorting (a prune needs the set, not its order): every row below the ``k``-th smallest
    magnitude, then the first rows at that magnitude (lowest innovation) until there are ``k``.
    ``prunable``: the genome's effective rows with a trained weight, when the caller has them."""
    if prunable is None:
        prunable = _prunable(genome)
    k = max(0, min(k, int(np.count_nonzero(prunable))))
    if k == 0:
        return np.zeros(len(prunable), dtype=bool)
    # Over the whole table, the rows that may not go at an infinite magnitude: passes over
    # contiguous columns, no positions gathered and scattered back.
    magnitude = np.abs(genome.table.weight)
    magnitude[~prunable] = np.inf
    threshold = kth_smallest(magnitude, k)
    mask: np.ndarray = magnitude < threshold
    ties = np.flatnonzero(magnitude == threshold)[: k - int(np.count_nonzero(mask))]  # rows climb with innovation
    mask[ties] = True
    return mask


def weakest_connections(genome: Genome, k: int) -> list[ConnectionGene]:
    """The genes of :func:`weakest_rows`."""
    genes = genome.connections
    return [genes[row] for row in weakest_rows(genome, k).tolist()]


def without_dead_neurons(genome: Genome, rows: np.ndarray | None = None) -> Genome:
    """``genome`` without the hidden neurons that no longer reach an output (and their genes);
    with ``rows`` (a boolean mask over its table), ``genome`` less the other rows, then without
    its dead neurons: one copy of the columns for both steps."""
    live = genome.live_mask_over(rows)
    dead = (genome.node_roles == ROLES.index("hidden")) & ~live
    nodes = genome.nodes
    dead_at = [int(p) for p in np.flatnonzero(dead) if nodes[p].x is None]
    # When every dead neuron goes (none is pinned to coordinates), each kept row leads into a
    # node as live as it was (removing rows revives nothing), so it is as effective as it was.
    effective = genome.__dict__.get("effective_mask") if len(dead_at) == int(np.count_nonzero(dead)) else None
    if not dead_at:
        if rows is None:
            return genome
        fewer = genome._minus_rows(rows)
        fewer.__dict__["live_mask"] = live
        if effective is not None:
            fewer.__dict__["effective_mask"] = kept_effective = effective[rows]
            kept_effective.setflags(write=False)
        return fewer
    table = genome.table
    sources, targets = genome.source_positions, genome.target_positions
    gone = np.zeros(len(nodes), dtype=bool)
    gone[dead_at] = True
    known = bool((sources >= 0).all() and (targets >= 0).all())
    if known:  # a node-sized mark read at each row's positions: one pass, whatever the number dead
        keep = ~(gone[sources] | gone[targets])
    else:
        dead_ids = genome.node_ids[dead_at]
        keep = ~(np.isin(table.source, dead_ids) | np.isin(table.target, dead_ids))
    if rows is not None:
        keep &= rows
    kept = np.flatnonzero(keep)
    pruned = genome._minus_nodes({nodes[p].id for p in dead_at}, table.take(kept))
    # No path to an output runs through a dead neuron, so the others stay as live as they were:
    # the live mask is the one found above, less the removed nodes (not searched again); the
    # kept rows' node positions move down by the number of removed nodes before them.
    views = [("live_mask", live[~gone])]
    if effective is not None:
        views.append(("effective_mask", effective.take(kept)))
    if known:
        moved = np.arange(len(nodes)) - np.cumsum(gone)  # each kept node's new position
        for name, at in (("source_positions", sources), ("target_positions", targets)):
            views.append((name, moved.take(at.take(kept))))
    for name, view in views:
        view.setflags(write=False)
        pruned.__dict__[name] = view
    return pruned


def prune_magnitude(
    genome: Genome,
    rng: np.random.Generator,
    innovations: InnovationTracker,
    limits: Limits = DEFAULT_LIMITS,
) -> Genome:
    """Remove a drawn share (:data:`PRUNE_SHARE`) of the effective connections, the smallest by
    trained ``|weight|``, keeping at least one; then the neurons left without a path to an output."""
    effective = int(np.count_nonzero(genome.effective_mask))
    prunable = _prunable(genome)
    if effective <= 1 or not prunable.any():
        return genome
    k = min(effective - 1, max(1, round(_share(rng, PRUNE_SHARE) * effective)))
    return prune_weakest(genome, k, keep_neurons=limits.fixed_layout, prunable=prunable)


def prune_weakest(genome: Genome, k: int, keep_neurons: bool = False, prunable: np.ndarray | None = None) -> Genome:
    """``genome`` without its ``k`` weakest connections (:func:`weakest_connections`) and, unless
    ``keep_neurons``, without the hidden neurons that no longer reach an output (``prunable``: as
    :func:`weakest_mask` takes it)."""
    keep = ~weakest_mask(genome, k, prunable)
    return genome._minus_rows(keep) if keep_neurons else without_dead_neurons(genome, keep)


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
    want = max(1, round(_share(rng, GROW_SHARE) * int(np.count_nonzero(genome.effective_mask))))
    if limits.max_connections is not None:
        want = min(want, limits.max_connections - genome.n_enabled)
    nodes = genome.node_by_id
    pairs, cycles = PairIndex(genome), CycleCheck(genome)
    adjacent = set(_adjacent(genome)) if limits.fixed_layout else None
    added: dict[tuple[int, int], int] = {}  # new pairs and their innovation numbers, in order
    proposed = hints.grow
    present = pairs.present(np.array([s for s, _, _ in proposed], dtype=np.int64),
                            np.array([t for _, t, _ in proposed], dtype=np.int64)).tolist()
    for (source, target, _score), exists in zip(proposed, present):
        if len(added) >= want:
            break
        if exists or source not in nodes or target not in nodes or (source, target) in added:
            continue
        if nodes[source].role == "output" or nodes[target].role == "input":
            continue
        if adjacent is not None and (source, target) not in adjacent:
            continue
        if cycles.closes(source, target):
            continue
        added[source, target] = innovations.connection(source, target)
        cycles.add(source, target)
    if not added:
        return genome
    weight = 0.0 if genome.carries_weights else np.nan
    new = ConnectionTable.of(list(added.values()), [s for s, _ in added], [t for _, t in added], True, weight)
    return genome._plus_connections(new, hints=genome.hints)


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
        room = limits.max_connections - genome.n_enabled
        if room < 2:
            return genome
        k_out = min(k_out, max(1, room // 2))
        k_in = min(k_in, room - k_out)
    chosen_in, chosen_out = fan_in[:k_in], fan_out[:k_out]
    weighted = genome.carries_weights
    norm = math.sqrt(sum(w * w for _, w in chosen_in)) or 1.0
    node_id = innovations.new_node()
    activation = limits.activations[int(rng.integers(len(limits.activations)))]
    into = [innovations.connection(n, node_id) for n, _ in chosen_in]
    out = [innovations.connection(node_id, n) for n, _ in chosen_out]
    new = ConnectionTable.of(
        [*into, *out], [n for n, _ in chosen_in] + [node_id] * len(out), [node_id] * len(into) + [n for n, _ in chosen_out],
        True, [w / norm if weighted else np.nan for _, w in chosen_in] + [0.0 if weighted else np.nan] * len(out))
    return genome._plus_connections(new, NodeGene(node_id, "hidden", activation), hints=genome.hints)


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
    table = genome.table
    rows = np.flatnonzero(genome.effective_mask)
    sources, targets = table.source[rows], table.target[rows]
    shared = table.group[rows] != NO_GROUP
    hidden = genome.node_roles == ROLES.index("hidden")
    ids = genome.node_ids[hidden]
    eligible = genome.live_mask[hidden] & np.isin(ids, sources)
    if shared.any():
        eligible &= ~np.isin(ids, np.concatenate([sources[shared], targets[shared]]))
    choices = ids[eligible].tolist()
    if not choices:
        return genome
    original = genome.node_by_id[choices[int(rng.integers(len(choices)))]]
    fan_in, fan_out = rows[targets == original.id], rows[sources == original.id]
    if limits.max_connections is not None and genome.n_enabled + len(fan_in) + len(fan_out) > limits.max_connections:
        return genome
    share = float(rng.uniform(0.3, 0.7))
    copy = NodeGene(innovations.new_node(), "hidden", original.activation, original.bias)
    into = [innovations.connection(int(s), copy.id) for s in table.source[fan_in].tolist()]
    out = [innovations.connection(copy.id, int(t)) for t in table.target[fan_out].tolist()]
    new = ConnectionTable.of([*into, *out], [*table.source[fan_in].tolist(), *[copy.id] * len(out)],
                             [*[copy.id] * len(into), *table.target[fan_out].tolist()], True,
                             np.concatenate([table.weight[fan_in], table.weight[fan_out] * (1.0 - share)]))
    scaled = table.updated(fan_out, weight=table.weight[fan_out] * share)
    return genome._plus_node(copy, scaled.concat(new), hints=genome.hints)
