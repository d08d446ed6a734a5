"""Compile a candidate to a *plan*: its genome laid out as the padded, masked blocks of a stack.

Each candidate's live neurons are grouped by depth into levels (:mod:`search_space.layout`),
each level one masked dense block from the inputs (``x``) and one from the earlier hidden levels
that feed it (``h``), the same forward pass as :class:`search_space.compile.GenomeNetwork`.
Candidates whose plans have the same :class:`Shape` (depth, padded level widths, source levels,
padded number of sharing groups) form a *bucket* and are trained together. A candidate's shape is
a function of its own genome only: level widths are rounded up on a fixed ladder
(:func:`padded_width`), never to the widths of the other candidates of a chunk.

Initial weights are drawn per candidate as :func:`search_space.compile.compile_genome` draws
them: from a ``torch.Generator`` seeded with the candidate's seed, node by node in layer order
(:func:`initial_weights`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import torch

from connevo.search_space.connection_table import NO_GROUP
from connevo.search_space.cost import measure
from connevo.search_space.genome import Genome
from connevo.search_space.layout import layered_layout
from connevo.workers.kernels import ACTIVATION_CODES
from connevo.workers.records import EvaluationRequest, TrainingSettings

__all__ = [
    "LevelPlan",
    "Plan",
    "Shape",
    "build_plan",
    "check_fits",
    "initial_weights",
    "padded_width",
    "plan_shape",
]


def padded_width(n: int) -> int:
    """Width a hidden level of ``n`` neurons is padded to: a fixed ladder, never below 8.

    Multiples of 8 up to 64, of 16 up to 128, of 32 up to 256, then of 64 (waste <= 12.5%
    beyond 56 neurons).
    """
    if n <= 64:
        return max(8, -(-n // 8) * 8)
    for limit, step in ((128, 16), (256, 32)):
        if n <= limit:
            return -(-n // step) * step
    return -(-n // 64) * 64


def _padded_groups(n: int) -> int:
    return 0 if n == 0 else 1 << (n - 1).bit_length()


class Shape(NamedTuple):
    """What a candidate's stacked tensors look like; equal shapes share a bucket."""

    widths: tuple[int, ...]                # per level 1..D: padded width (outputs unpadded)
    sources: tuple[tuple[int, ...], ...]   # per level: levels feeding it (0 = the inputs)
    groups: int                            # padded number of weight-sharing groups

    @property
    def depth(self) -> int:
        return len(self.widths)

    def hidden_in(self, level: int) -> int:
        """Rows of the ``h`` block of ``level`` (1-based): padded widths of its hidden sources."""
        return sum(self.widths[j - 1] for j in self.sources[level - 1] if j > 0)

    def executed_per_sample(self, n_features: int) -> int:
        """Multiply-adds x 2 the padded forward pass executes per sample."""
        total = 0
        for level in range(1, self.depth + 1):
            fan_in = (n_features if 0 in self.sources[level - 1] else 0) + self.hidden_in(level)
            total += fan_in * self.widths[level - 1]
        return 2 * total


def _level_orders(genome: Genome, layout: Any) -> tuple[list[list[int]], dict[int, int]]:
    """Node ids per level 1..D in stacked order (hidden: by (activation, id) as GenomeNetwork;
    outputs: by id, so logits come out in output order) and each node's level."""
    nodes = genome.node_by_id
    top = len(layout.layers) - 1
    orders = []
    for index, layer in enumerate(layout.layers[1:], start=1):
        if index < top:
            orders.append(sorted(layer, key=lambda n: (nodes[n].activation, n)))
        else:
            orders.append(sorted(layer))
    level_of = {n: 0 for n in layout.layers[0]}
    for index, order in enumerate(orders, start=1):
        for n in order:
            level_of[n] = index
    return orders, level_of


def plan_shape(genome: Genome) -> Shape:
    """The bucket shape of ``genome`` (cheap; evaluators sort chunks by it)."""
    return _shape(genome, *_level_orders(genome, layered_layout(genome)))


def _level_at(genome: Genome, level_of: dict[int, int]) -> np.ndarray:
    """Per node position: its level (0: the inputs; -1: a node the layout leaves out)."""
    level_at = np.full(len(genome.nodes), -1, dtype=np.int64)
    ids = np.fromiter(level_of.keys(), dtype=np.int64, count=len(level_of))
    level_at[genome.positions(ids)] = np.fromiter(level_of.values(), dtype=np.int64, count=len(level_of))
    return level_at


def _shape(genome: Genome, orders: list[list[int]], level_of: dict[int, int]) -> Shape:
    """From the effective connections' columns: the levels each level's neurons are fed from
    (no connection gene objects: the driver sorts every chunk by shape)."""
    level_at = _level_at(genome, level_of)
    effective = genome.effective_mask
    depth = len(orders)
    pairs = np.unique(level_at[genome.target_positions[effective]] * (depth + 1)
                      + level_at[genome.source_positions[effective]])
    sources: list[list[int]] = [[] for _ in orders]
    for pair in pairs.tolist():  # ascending: each level's sources come out sorted
        sources[pair // (depth + 1) - 1].append(pair % (depth + 1))
    widths = tuple(padded_width(len(o)) if i < depth - 1 else len(o) for i, o in enumerate(orders))
    return Shape(widths, tuple(tuple(s) for s in sources), _padded_groups(len(genome.shared_groups)))


@dataclass
class LevelPlan:
    """One level of a plan: its masked weight blocks and its neurons' activation codes."""

    wx: np.ndarray | None       # (F, W) initial own weights from the inputs
    mx: np.ndarray | None       # (F, W) 1 where an own weight
    gx: np.ndarray | None       # (F, W) group slot of a shared connection
    gmx: np.ndarray | None      # (F, W) 1 where a shared connection
    wh: np.ndarray | None       # (K, W) from the hidden sources
    mh: np.ndarray | None
    gh: np.ndarray | None
    gmh: np.ndarray | None
    codes: np.ndarray           # (W,) activation codes (padding: identity)


@dataclass
class Plan:
    """One candidate in stacked layout, with what its training and its results need."""

    request: EvaluationRequest
    shape: Shape
    levels: list[LevelPlan]
    shared: np.ndarray                      # (G,) initial shared weights
    orders: list[list[int]]                 # node ids per level
    export: dict[tuple[int, int], tuple[np.ndarray, np.ndarray, np.ndarray]]
    # (level, block 0=x/1=h) -> (index among effective connections, row, col) of its connections
    costs: dict[str, Any]
    useful_per_sample: int                  # 2 x effective connections
    seconds: float                          # time spent planning
    weight_decay: float = 0.0
    l1_ratio: float = 0.0
    dropout: float = 0.0
    epochs: int = 0                         # epochs this candidate trains for
    biases: list[np.ndarray] | None = None  # per level, initial biases (None: zeros)
    own_shape: Shape | None = None          # its own shape where ``shape`` pads it further (workers/merging.py)

    @property
    def product_shape(self) -> Shape:
        """The shape its matrix products run on: its own (:func:`_shape`), whatever it is padded to."""
        return self.shape if self.own_shape is None else self.own_shape


def _draw_ranks(genome: Genome, layout: Any) -> np.ndarray:
    """Per node position: its place in GenomeNetwork's drawing order (layers in order, nodes of a
    layer by (activation, id)); -1 for the nodes of no layer above the inputs."""
    nodes = genome.node_by_id
    drawn = [n for layer in layout.layers[1:] for n in sorted(layer, key=lambda n: (nodes[n].activation, n))]
    ranks = np.full(len(genome.nodes), -1, dtype=np.int64)
    ranks[genome.positions(np.asarray(drawn, dtype=np.int64))] = np.arange(len(drawn))
    return ranks


def _drawing_order(genome: Genome, layout: Any) -> np.ndarray:
    """The effective connections (indices among them) in GenomeNetwork's drawing order: by
    their target's place (:func:`_draw_ranks`), each target's in innovation order."""
    targets = genome.target_positions[genome.effective_mask]
    return np.argsort(_draw_ranks(genome, layout)[targets], kind="stable")


def initial_weights(genome: Genome, layout: Any, seed: int) -> np.ndarray:
    """Initial weight per effective connection (float32, in the order of the effective
    connections), drawn exactly as :class:`search_space.compile.GenomeNetwork` draws them from
    ``Generator(seed)``: node by node, layers in order, nodes by (activation, id),
    ``uniform(-1/sqrt(fan_in), 1/sqrt(fan_in))``.

    One ``uniform_(0, 1)`` call of the total length, transformed in float64 and rounded to
    float32, gives the same bits as the per-node calls (checked by the tests).
    """
    targets = genome.target_positions[genome.effective_mask]
    if not len(targets):
        return np.zeros(0, dtype=np.float32)
    order = _drawing_order(genome, layout)
    fan_in = np.bincount(targets, minlength=len(genome.nodes))
    bound = (1.0 / np.sqrt(np.maximum(1, fan_in[targets[order]]).astype(np.float64))).astype(np.float32)
    generator = torch.Generator().manual_seed(seed)
    u = torch.empty(len(targets)).uniform_(0.0, 1.0, generator=generator).double().numpy()
    b = bound.astype(np.float64)
    values = np.empty(len(targets), dtype=np.float32)
    values[order] = (u * (b - (-b)) + (-b)).astype(np.float32)
    return values


def check_fits(genome: Genome, n_features: int, n_classes: int) -> None:
    """Raise RuntimeError unless ``genome`` has one input per feature and one output per class
    (or a single output for a two-class task; ``n_classes`` 1: a regression, a single output)."""
    if genome.n_inputs != n_features:
        raise RuntimeError(f"the genome has {genome.n_inputs} inputs but the data set has {n_features} features")
    if genome.n_outputs != n_classes and not (genome.n_outputs == 1 and n_classes == 2):
        needs = "a single output (a regression)" if n_classes == 1 else f"{n_classes} classes"
        raise RuntimeError(f"the genome has {genome.n_outputs} outputs but the data set needs {needs}")


InitialWeights = Callable[[Genome, Any, int], np.ndarray]
"""The signature of :func:`initial_weights`."""


def build_plan(request: EvaluationRequest, n_features: int, n_outputs: int,
               settings: TrainingSettings | None = None, draw_weights: InitialWeights = initial_weights) -> Plan:
    """The plan of ``request`` for a data set of ``n_features`` and ``n_outputs`` classes.

    ``draw_weights`` draws the initial weights (:func:`initial_weights`; a warm start keeps the
    genome's own). Raises RuntimeError when the genome does not fit the data set.
    """
    start = time.perf_counter()
    settings = settings or TrainingSettings()
    genome = request.genome
    costs = dict(request.costs) if request.costs is not None else measure(genome).as_dict()
    check_fits(genome, n_features, n_outputs)
    layout = layered_layout(genome)
    orders, level_of = _level_orders(genome, layout)
    shape = _shape(genome, orders, level_of)
    warm, epochs = settings.start(request)
    init: np.ndarray  # per effective connection
    if warm:  # weight inheritance: the genome's own weights; a connection without one starts small
        own = genome.table.weight[genome.effective_mask]
        missing = np.isnan(own)
        # a trained genome (hints, the polish) carries every weight: nothing to draw
        init = np.where(missing, draw_weights(genome, layout, request.seed).astype(np.float64)
                        * settings.new_weight_scale, own) if missing.any() else own
    else:
        init = draw_weights(genome, layout, request.seed)  # float32
    shared = _initial_shared(genome, layout, init, shape.groups)
    levels, offsets = _empty_levels(genome, shape, orders, n_features)
    export = _place_connections(genome, levels, offsets, orders, level_of, init)
    biases = _genome_biases(genome, shape, orders) if warm else None
    reg = genome.regularization
    return Plan(
        request=request, shape=shape, levels=levels, shared=shared, orders=orders, export=export,
        costs=costs, useful_per_sample=2 * len(init), seconds=time.perf_counter() - start,
        weight_decay=float(reg.weight_decay), l1_ratio=float(reg.l1_ratio), dropout=float(reg.dropout),
        epochs=epochs, biases=biases,
    )


def _initial_shared(genome: Genome, layout: Any, init: np.ndarray, groups: int) -> np.ndarray:
    """``(groups,)`` initial shared weights: the first connection of a group in GenomeNetwork's
    drawing order gives the group's initial value (padding slots: 0)."""
    shared = np.zeros(groups, dtype=np.float32)
    group = genome.table.group[genome.effective_mask]
    if not (group != NO_GROUP).any():
        return shared
    order = _drawing_order(genome, layout)
    drawn = group[order]
    first = order[drawn != NO_GROUP]  # shared connections, in drawing order
    slots, at = np.unique(np.searchsorted(np.asarray(genome.shared_groups), group[first]), return_index=True)
    shared[slots] = init[first[at]]
    return shared


def _empty_levels(genome: Genome, shape: Shape, orders: list[list[int]], n_features: int
                  ) -> tuple[list[LevelPlan], list[dict[int, int]]]:
    """Per level, its blocks all zeros (activation codes set), and the row offset of each hidden
    source level in its ``h`` block."""
    nodes = genome.node_by_id
    levels: list[LevelPlan] = []
    offsets: list[dict[int, int]] = []
    for index in range(1, shape.depth + 1):
        width = shape.widths[index - 1]
        srcs = shape.sources[index - 1]
        off, k = {}, 0
        for j in srcs:
            if j > 0:
                off[j] = k
                k += shape.widths[j - 1]
        offsets.append(off)
        has_x, has_h = 0 in srcs, k > 0

        def zeros(rows: int, used: bool, dtype: Any = np.float32) -> np.ndarray | None:
            return np.zeros((rows, width), dtype=dtype) if used else None

        codes = np.zeros(width, dtype=np.int64)
        for i, n in enumerate(orders[index - 1]):
            codes[i] = ACTIVATION_CODES[nodes[n].activation]
        grouped = shape.groups > 0
        levels.append(LevelPlan(
            wx=zeros(n_features, has_x), mx=zeros(n_features, has_x),
            gx=zeros(n_features, has_x and grouped, np.int64), gmx=zeros(n_features, has_x and grouped),
            wh=zeros(k, has_h), mh=zeros(k, has_h),
            gh=zeros(k, has_h and grouped, np.int64), gmh=zeros(k, has_h and grouped),
            codes=codes,
        ))
    return levels, offsets


def _place_connections(genome: Genome, levels: list[LevelPlan], offsets: list[dict[int, int]],
                       orders: list[list[int]], level_of: dict[int, int], init: np.ndarray
                       ) -> dict[tuple[int, int], tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Write every effective connection's initial weight (own) or group slot (shared) and mask
    into ``levels``; return where each connection lies, per (level, block), for the export:
    (indices among the effective connections, rows, columns), in the connections' order."""
    depth = len(orders)
    level_at = _level_at(genome, level_of)
    slot_at = np.full(len(genome.nodes), -1, dtype=np.int64)  # node position -> place in its level (inputs: index)
    for order in [list(genome.input_ids), *orders]:
        slot_at[genome.positions(np.asarray(order, dtype=np.int64))] = np.arange(len(order))
    first_row = np.zeros((depth + 1, depth + 1), dtype=np.int64)  # (level, hidden source level) -> row offset
    for level, offset in enumerate(offsets, start=1):
        for source_level, row in offset.items():
            first_row[level, source_level] = row
    effective = genome.effective_mask
    sources, targets = genome.source_positions[effective], genome.target_positions[effective]
    target_level, source_level = level_at[targets], level_at[sources]
    from_inputs = source_level == 0
    rows = np.where(from_inputs, slot_at[sources], first_row[target_level, source_level] + slot_at[sources])
    cols = slot_at[targets]
    group = genome.table.group[effective]
    slots = np.where(group == NO_GROUP, -1, np.searchsorted(np.asarray(genome.shared_groups), group))
    export = {}
    for level in range(1, depth + 1):
        for block in (0, 1):
            index = np.flatnonzero((target_level == level) & (from_inputs == (block == 0)))
            if not len(index):
                continue
            r, c, slot = rows[index], cols[index], slots[index]
            lv = levels[level - 1]
            w, m, g, gm = (lv.wx, lv.mx, lv.gx, lv.gmx) if block == 0 else (lv.wh, lv.mh, lv.gh, lv.gmh)
            own = slot < 0
            w[r[own], c[own]] = init[index[own]]
            m[r[own], c[own]] = 1.0
            if not own.all():
                g[r[~own], c[~own]] = slot[~own]
                gm[r[~own], c[~own]] = 1.0
            export[level, block] = (index, r, c)
    return export


def _genome_biases(genome: Genome, shape: Shape, orders: list[list[int]]) -> list[np.ndarray]:
    """Per level, the genome's own biases padded with zeros (a warm start)."""
    nodes = genome.node_by_id
    biases = []
    for index, order in enumerate(orders):
        b = np.zeros(shape.widths[index], dtype=np.float32)
        b[: len(order)] = [nodes[n].bias for n in order]
        biases.append(b)
    return biases
