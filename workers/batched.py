"""Train many genomes of different topologies at once: stacked, padded, batched matmuls.

Each candidate is compiled to a *plan*: its live neurons grouped by depth into levels
(:mod:`search_space.layout`), each level one masked dense block from the inputs (``x``) and one
from the earlier hidden levels that feed it (``h``), the same forward pass as
:class:`search_space.compile.GenomeNetwork`. Candidates whose plans have the same *shape*
(depth, padded level widths, source levels, padded number of sharing groups) form a *bucket*:
their weights are stacked into ``(C, in, out)`` tensors and trained together (one matrix
product per candidate, the elementwise work stacked), one Adam over the stacked parameters and the per-candidate losses summed,
so every candidate's gradient, and its Adam update (elementwise), stays its own.

Determinism: a candidate's padded shape is a function of its own genome only (level widths are
rounded up on a fixed ladder, :func:`padded_width`), never of the other candidates of a chunk.
Every matrix product is one BLAS call *per candidate* (:func:`per_candidate_matmul`) on that
candidate's own 64-byte-aligned operands, never a batched GEMM: a batched GEMM may pick its
kernel and summation order from the number and shapes of the whole batch (MKL on AMD EPYC gives
other bits for one entry of a ``bmm`` of 2 or 64 entries than of 1), while a call with the same
arguments gives the same bits. Every elementwise op used here gives the same bits at any offset
of a tensor (the sigmoid is written as ``1 / (1 + exp(-x))`` because ``torch.sigmoid``'s scalar
tail rounds differently from its vector body). So a candidate's metrics do not depend on which
candidates share its chunk, its bucket or its worker; ``tests/workers/test_batched.py`` checks
this bit for bit. Padding a candidate to *another* candidate's shape would break it: BLAS picks
different kernels and summation orders for different shapes.

Randomness, per candidate, the same as :func:`workers.train.train_one`: initial weights from a
``torch.Generator`` seeded with the candidate's seed, drawn node by node in layer order as
:func:`search_space.compile.compile_genome` does; the mini-batch order from a second generator
seeded with the seed (one ``randperm`` per epoch); dropout masks from a counter-based hash of
(seed, step, level, row, node position) (:func:`dropout_noise`).
"""

from __future__ import annotations

import math
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from search_space.cost import measure
from search_space.genome import ConnectionGene, Genome, NodeGene
from search_space.layout import layered_layout
from workers.records import Evaluation, EvaluationRequest, Status, TrainingSettings

__all__ = [
    "MAX_BUCKET",
    "Adam",
    "BatchResult",
    "BatchStats",
    "DataTensors",
    "Shape",
    "check_fits",
    "class_logits",
    "dropout_noise",
    "flop_counts",
    "padded_width",
    "plan_shape",
    "seed_key",
    "train_batched",
]

SCORE_ROWS = 8192
"""Rows scored per forward pass when measuring accuracy and loss (bounds memory)."""

ACTIVATION_CODES: dict[str, int] = {"identity": 0, "relu": 1, "tanh": 2, "sigmoid": 3, "steep_tanh": 4}


class _Sigmoid(torch.autograd.Function):
    """``1 / (1 + exp(-x))``: the same bits at every offset of a tensor (see the module doc)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        out = torch.exp(-x).add_(1.0).reciprocal_()
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        (out,) = ctx.saved_tensors
        return grad * out * (1.0 - out)


_ALIGNMENT = 64  # bytes: the CPU allocator's alignment, asked of every matmul operand


def _aligned(t: torch.Tensor) -> torch.Tensor:
    """``t`` contiguous and starting on a 64-byte boundary (a copy when it is not): a BLAS call
    then sees the same layout for a candidate wherever its rows lie in a stack."""
    if t.is_contiguous() and t.data_ptr() % _ALIGNMENT == 0:
        return t
    return t.clone(memory_format=torch.contiguous_format)


def _matmuls(a: torch.Tensor, b: torch.Tensor, transpose_a: bool = False, transpose_b: bool = False
             ) -> torch.Tensor:
    """``op(a[c]) @ op(b[c])`` for every candidate ``c`` (``op``: transposed when asked), one
    ``torch.mm`` each on aligned operands, each result in an allocation of its own."""
    def operand(t: torch.Tensor, c: int, transpose: bool) -> torch.Tensor:
        matrix = _aligned(t[c])
        return matrix.t() if transpose else matrix

    return torch.stack([
        torch.mm(operand(a, c, transpose_a), operand(b, c, transpose_b)) for c in range(a.shape[0])
    ])


class _PerCandidateMatmul(torch.autograd.Function):
    """``(C, r, k) @ (C, k, n)`` as one matrix product per candidate, forward and backward."""

    @staticmethod
    def forward(ctx: Any, a: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(a, w)
        return _matmuls(a, w)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        a, w = ctx.saved_tensors
        grad_a = _matmuls(grad, w, transpose_b=True) if ctx.needs_input_grad[0] else None
        grad_w = _matmuls(a, grad, transpose_a=True) if ctx.needs_input_grad[1] else None
        return grad_a, grad_w


def per_candidate_matmul(a: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``a @ w`` over stacked candidates (``(C, r, k) @ (C, k, n)``), each candidate's product and
    its gradients computed by BLAS calls of its own on aligned operands: the same bits whatever
    the other candidates of the stack and their number (see the module doc). Under autocast
    both operands are cast to the autocast dtype, as autocast does for ``bmm``."""
    device = a.device.type
    if torch.is_autocast_enabled(device):
        dtype = torch.get_autocast_dtype(device)
        a, w = a.to(dtype), w.to(dtype)
    with torch.autocast(device, enabled=False):
        return _PerCandidateMatmul.apply(a, w)


def _steep_tanh(x: torch.Tensor) -> torch.Tensor:
    return torch.tanh(20.0 * x)


_FUNCTIONS: dict[int, Callable[[torch.Tensor], torch.Tensor]] = {
    0: lambda x: x,
    1: torch.relu,
    2: torch.tanh,
    3: _Sigmoid.apply,
    4: _steep_tanh,
}


# ----------------------------------------------------------------------------------------------
# Shared pieces of both training paths


def class_logits(logits: torch.Tensor) -> torch.Tensor:
    """Logits over the classes: a single output ``z`` of a two-class task is the logit of
    class 1 against class 0, i.e. the class logits are ``(0, z)`` (cross-entropy = logistic loss)."""
    if logits.shape[-1] != 1:
        return logits
    return torch.cat([torch.zeros_like(logits), logits], dim=-1)


class DataTensors:
    """The data set's three parts as tensors on one device, made once per chunk."""

    def __init__(self, dataset: Any, device: torch.device) -> None:
        def t(a: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
            return torch.as_tensor(a, dtype=dtype, device=device)

        self.x_train, self.y_train = t(dataset.x_train, torch.float32), t(dataset.y_train, torch.long)
        self.x_val, self.y_val = t(dataset.x_val, torch.float32), t(dataset.y_val, torch.long)
        self.x_test, self.y_test = t(dataset.x_test, torch.float32), t(dataset.y_test, torch.long)
        self.n_features = int(self.x_train.shape[1])
        self.n_classes = int(getattr(dataset, "n_classes", int(self.y_train.max()) + 1))


_MASK32 = 0xFFFFFFFF


def _mix(h: torch.Tensor) -> torch.Tensor:
    """A 32-bit integer hash on int64 tensors (multipliers below 2**31: no int64 overflow)."""
    h = h ^ (h >> 16)
    h = (h * 0x45D9F3B) & _MASK32
    h = h ^ (h >> 16)
    h = (h * 0x2C1B3C6D) & _MASK32
    return h ^ (h >> 15)


def seed_key(seed: int) -> int:
    """The 32-bit key of a candidate seed for :func:`dropout_noise`."""
    return (seed ^ (seed >> 32) ^ (seed >> 64)) & _MASK32


def dropout_noise(
    keys: torch.Tensor, p: torch.Tensor, step: int, level: int, rows: int, width: int
) -> torch.Tensor:
    """Inverted-dropout multipliers ``(C, rows, width)``: 0 or ``1 / (1 - p)``.

    Element ``(c, r, j)`` depends only on (``keys[c]``, ``step``, ``level``, ``r``, ``j``), so a
    candidate gets the same mask alone or in a stack, and whatever its level is padded to.
    ``keys``: int64 ``(C,)`` from :func:`seed_key`; ``p``: float32 ``(C,)`` drop probabilities.
    """
    device = keys.device
    base = _mix(keys ^ ((step * 0x9E3779B + level * 0x7F4A7C1) & _MASK32))          # (C,)
    row = _mix(base[:, None] ^ torch.arange(rows, device=device, dtype=torch.int64))  # (C, rows)
    col = (torch.arange(width, device=device, dtype=torch.int64) * 0x27D4EB2F) & _MASK32
    h = _mix((row[:, :, None] + col) & _MASK32)
    uniform = (h >> 8).to(torch.float32) * (1.0 / (1 << 24))
    scale = (1.0 / (1.0 - p.double())).to(torch.float32)
    return (uniform >= p[:, None, None]).to(torch.float32) * scale[:, None, None]


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


def _shape(genome: Genome, orders: list[list[int]], level_of: dict[int, int]) -> Shape:
    sources: list[set[int]] = [set() for _ in orders]
    for c in genome.effective_connections:
        sources[level_of[c.target] - 1].add(level_of[c.source])
    depth = len(orders)
    widths = tuple(padded_width(len(o)) if i < depth - 1 else len(o) for i, o in enumerate(orders))
    return Shape(widths, tuple(tuple(sorted(s)) for s in sources), _padded_groups(len(genome.shared_groups)))


# ----------------------------------------------------------------------------------------------
# Plans: one candidate in stacked layout


@dataclass
class _LevelPlan:
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
class _Plan:
    request: EvaluationRequest
    shape: Shape
    levels: list[_LevelPlan]
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


def _initial_values(genome: Genome, layout: Any, incoming: dict[int, list[ConnectionGene]], seed: int
                    ) -> dict[int, float]:
    """Initial weight per effective connection (innovation), drawn exactly as
    :class:`search_space.compile.GenomeNetwork` draws them from ``Generator(seed)``: node by node,
    layers in order, nodes by (activation, id), ``uniform(-1/sqrt(fan_in), 1/sqrt(fan_in))``.

    One ``uniform_(0, 1)`` call of the total length, transformed in float64 and rounded to
    float32, gives the same bits as the per-node calls (checked by the tests).
    """
    nodes = genome.node_by_id
    genes: list[ConnectionGene] = []
    bounds: list[float] = []
    for layer in layout.layers[1:]:
        for node in sorted(layer, key=lambda n: (nodes[n].activation, n)):
            mine = incoming.get(node, [])
            genes.extend(mine)
            bound = 1.0 / math.sqrt(max(1, len(mine)))
            bounds.extend([bound] * len(mine))
    if not genes:
        return {}
    generator = torch.Generator().manual_seed(seed)
    u = torch.empty(len(genes)).uniform_(0.0, 1.0, generator=generator).double().numpy()
    b = np.asarray(bounds, dtype=np.float32).astype(np.float64)
    values = (u * (b - (-b)) + (-b)).astype(np.float32)
    return {g.innovation: float(v) for g, v in zip(genes, values)}


def check_fits(genome: Genome, n_features: int, n_classes: int) -> None:
    """Raise RuntimeError unless ``genome`` has one input per feature and one output per class
    (or a single output for a two-class task)."""
    if genome.n_inputs != n_features:
        raise RuntimeError(f"the genome has {genome.n_inputs} inputs but the data set has {n_features} features")
    if genome.n_outputs != n_classes and not (genome.n_outputs == 1 and n_classes == 2):
        raise RuntimeError(f"the genome has {genome.n_outputs} outputs but the data set has {n_classes} classes")


def _plan(request: EvaluationRequest, n_features: int, n_outputs: int,
          settings: TrainingSettings | None = None) -> _Plan:
    start = time.perf_counter()
    settings = settings or TrainingSettings()
    genome = request.genome
    costs = dict(request.costs) if request.costs is not None else measure(genome).as_dict()
    check_fits(genome, n_features, n_outputs)
    layout = layered_layout(genome)
    orders, level_of = _level_orders(genome, layout)
    shape = _shape(genome, orders, level_of)
    nodes = genome.node_by_id
    effective = genome.effective_connections
    incoming: dict[int, list[ConnectionGene]] = defaultdict(list)
    for c in effective:
        incoming[c.target].append(c)
    init = _initial_values(genome, layout, incoming, request.seed)
    warm, epochs = settings.start(request)
    if warm:  # weight inheritance: the genome's own weights; a connection without one starts small
        scale = settings.new_weight_scale
        init = {c.innovation: c.weight if c.weight is not None else init[c.innovation] * scale for c in effective}
    position = {n: i for order in orders for i, n in enumerate(order)}
    input_index = {n: i for i, n in enumerate(genome.input_ids)}
    group_slot = {g: i for i, g in enumerate(genome.shared_groups)}
    shared = np.zeros(shape.groups, dtype=np.float32)
    seen_groups: set[int] = set()
    # the first connection of a group in GenomeNetwork's order gives the group's initial value
    for layer in layout.layers[1:]:
        for node in sorted(layer, key=lambda n: (nodes[n].activation, n)):
            for c in incoming.get(node, []):
                if c.group is not None and c.group not in seen_groups:
                    seen_groups.add(c.group)
                    shared[group_slot[c.group]] = init[c.innovation]

    levels: list[_LevelPlan] = []
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
        levels.append(_LevelPlan(
            wx=zeros(n_features, has_x), mx=zeros(n_features, has_x),
            gx=zeros(n_features, has_x and grouped, np.int64), gmx=zeros(n_features, has_x and grouped),
            wh=zeros(k, has_h), mh=zeros(k, has_h),
            gh=zeros(k, has_h and grouped, np.int64), gmh=zeros(k, has_h and grouped),
            codes=codes,
        ))
    # per (level, block): connection index, row, col, and initial value or group slot (-1: own)
    found: dict[tuple[int, int], list[tuple[int, int, int, float, int]]] = defaultdict(list)
    for k, c in enumerate(effective):
        level = level_of[c.target]
        if c.source in input_index:
            key, row = (level, 0), input_index[c.source]
        else:
            key, row = (level, 1), offsets[level - 1][level_of[c.source]] + position[c.source]
        slot = -1 if c.group is None else group_slot[c.group]
        found[key].append((k, row, position[c.target], init[c.innovation], slot))
    export = {}
    for (level, block), items in found.items():
        index, rows, cols, values, slots = (np.asarray(v) for v in zip(*items))
        lv = levels[level - 1]
        w, m, g, gm = (lv.wx, lv.mx, lv.gx, lv.gmx) if block == 0 else (lv.wh, lv.mh, lv.gh, lv.gmh)
        own = slots < 0
        w[rows[own], cols[own]] = values[own]
        m[rows[own], cols[own]] = 1.0
        if not own.all():
            g[rows[~own], cols[~own]] = slots[~own]
            gm[rows[~own], cols[~own]] = 1.0
        export[level, block] = (index, rows, cols)
    biases = None
    if warm:
        biases = []
        for index, order in enumerate(orders):
            b = np.zeros(shape.widths[index], dtype=np.float32)
            b[: len(order)] = [nodes[n].bias for n in order]
            biases.append(b)
    reg = genome.regularization
    return _Plan(
        request=request, shape=shape, levels=levels, shared=shared, orders=orders, export=export,
        costs=costs, useful_per_sample=2 * len(effective), seconds=time.perf_counter() - start,
        weight_decay=float(reg.weight_decay), l1_ratio=float(reg.l1_ratio), dropout=float(reg.dropout),
        epochs=epochs, biases=biases,
    )


# ----------------------------------------------------------------------------------------------
# A stack: the candidates of one bucket as stacked tensors


class _Level:
    def __init__(self) -> None:
        self.wx: torch.Tensor | None = None
        self.mx: torch.Tensor | None = None
        self.gx: torch.Tensor | None = None
        self.gmx: torch.Tensor | None = None
        self.wh: torch.Tensor | None = None
        self.mh: torch.Tensor | None = None
        self.gh: torch.Tensor | None = None
        self.gmh: torch.Tensor | None = None
        self.b: torch.Tensor | None = None
        self.hidden: tuple[int, ...] = ()
        self.acts: list[tuple[int, torch.Tensor | None]] = []


class _Stack:
    """Stacked parameters (leaves) and constant masks of candidates with one shape."""

    def __init__(self, shape: Shape, levels: list[_Level], shared: torch.Tensor | None,
                 weight_decay: torch.Tensor, l1_ratio: torch.Tensor, dropout: torch.Tensor,
                 keys: torch.Tensor) -> None:
        self.shape = shape
        self.levels = levels
        self.shared = shared
        self.weight_decay, self.l1_ratio, self.dropout, self.keys = weight_decay, l1_ratio, dropout, keys
        self.any_penalty = bool((weight_decay > 0).any())
        self.any_dropout = bool((dropout > 0).any())

    @classmethod
    def build(cls, plans: Sequence[_Plan], device: torch.device) -> _Stack:
        shape = plans[0].shape

        def stack(get: Callable[[_Plan], np.ndarray | None], dtype: torch.dtype = torch.float32) -> torch.Tensor | None:
            first = get(plans[0])
            if first is None:
                return None
            return torch.from_numpy(np.stack([get(p) for p in plans])).to(device=device, dtype=dtype)

        levels = []
        for i in range(shape.depth):
            lv = _Level()
            lv.wx, lv.mx = stack(lambda p: p.levels[i].wx), stack(lambda p: p.levels[i].mx)
            lv.wh, lv.mh = stack(lambda p: p.levels[i].wh), stack(lambda p: p.levels[i].mh)
            lv.gx, lv.gmx = stack(lambda p: p.levels[i].gx, torch.long), stack(lambda p: p.levels[i].gmx)
            lv.gh, lv.gmh = stack(lambda p: p.levels[i].gh, torch.long), stack(lambda p: p.levels[i].gmh)
            if lv.gx is not None:
                lv.gx = lv.gx.flatten(1)
            if lv.gh is not None:
                lv.gh = lv.gh.flatten(1)
            if any(p.biases is not None for p in plans):
                lv.b = torch.from_numpy(np.stack([
                    p.biases[i] if p.biases is not None else np.zeros(shape.widths[i], dtype=np.float32)
                    for p in plans])).to(device)[:, None, :]
            else:
                lv.b = torch.zeros(len(plans), 1, shape.widths[i], device=device)
            lv.hidden = tuple(j for j in shape.sources[i] if j > 0)
            codes = np.stack([p.levels[i].codes for p in plans])
            real = np.zeros_like(codes, dtype=bool)
            for row, p in enumerate(plans):
                real[row, : len(p.orders[i])] = True
            present = sorted(set(codes[real].tolist())) or [0]
            if len(present) == 1:
                lv.acts = [(present[0], None)]
            else:
                codes_t = torch.from_numpy(codes).to(device)[:, None, :]
                lv.acts = [(present[0], None)] + [(code, codes_t == code) for code in present[1:]]
            levels.append(lv)
        shared = None
        if shape.groups:
            shared = torch.from_numpy(np.stack([p.shared for p in plans])).to(device)

        def column(values: list[float]) -> torch.Tensor:
            return torch.tensor(values, dtype=torch.float32, device=device)

        out = cls(
            shape, levels, shared,
            column([p.weight_decay for p in plans]), column([p.l1_ratio for p in plans]),
            column([p.dropout for p in plans]),
            torch.tensor([seed_key(p.request.seed) for p in plans], dtype=torch.int64, device=device),
        )
        for t in out.parameters():
            t.requires_grad_(True)
        return out

    # parameters: every level's own weights and bias, then the shared weights
    def parameters(self) -> list[torch.Tensor]:
        params: list[torch.Tensor] = []
        for lv in self.levels:
            params.extend(t for t in (lv.wx, lv.wh, lv.b) if t is not None)
        if self.shared is not None:
            params.append(self.shared)
        return params

    def _set_parameters(self, params: list[torch.Tensor]) -> None:
        it = iter(params)
        for lv in self.levels:
            if lv.wx is not None:
                lv.wx = next(it)
            if lv.wh is not None:
                lv.wh = next(it)
            lv.b = next(it)
        if self.shared is not None:
            self.shared = next(it)

    def select(self, rows: torch.Tensor, params: list[torch.Tensor] | None = None) -> _Stack:
        """The candidates at ``rows`` as a new stack with fresh leaves (``params``: replacements)."""
        def pick(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t.index_select(0, rows)

        levels = []
        for lv in self.levels:
            new = _Level()
            for name in ("mx", "gx", "gmx", "mh", "gh", "gmh"):
                setattr(new, name, pick(getattr(lv, name)))
            new.wx, new.wh, new.b = lv.wx, lv.wh, lv.b
            new.hidden = lv.hidden
            new.acts = [(code, None if mask is None else mask.index_select(0, rows)) for code, mask in lv.acts]
            levels.append(new)
        out = _Stack(self.shape, levels, self.shared, pick(self.weight_decay), pick(self.l1_ratio),
                     pick(self.dropout), pick(self.keys))
        source = params if params is not None else [p.detach().index_select(0, rows) for p in self.parameters()]
        out._set_parameters([p.detach().clone().requires_grad_(True) for p in source])
        return out

    def _effective(self, w: torch.Tensor, mask: torch.Tensor, groups: torch.Tensor | None,
                   group_mask: torch.Tensor | None) -> torch.Tensor:
        eff = w * mask
        if groups is not None and self.shared is not None:
            eff = eff + torch.gather(self.shared, 1, groups).view_as(w) * group_mask
        return eff

    def forward(self, x: torch.Tensor, step: int | None = None,
                trace: list[tuple[torch.Tensor, torch.Tensor]] | None = None) -> torch.Tensor:
        """Logits ``(C, rows, outputs)`` of inputs ``x`` ``(C, rows, F)``; ``step`` (training)
        applies dropout on hidden levels; ``trace`` receives each level's (pre-activation,
        activation), padded columns included."""
        hs: dict[int, torch.Tensor] = {}
        depth = len(self.levels)
        z = x
        for index, lv in enumerate(self.levels, start=1):
            z = lv.b
            if lv.wx is not None:
                z = z + per_candidate_matmul(x, self._effective(lv.wx, lv.mx, lv.gx, lv.gmx))
            if lv.wh is not None:
                h = hs[lv.hidden[0]] if len(lv.hidden) == 1 else torch.cat([hs[j] for j in lv.hidden], dim=2)
                z = z + per_candidate_matmul(h, self._effective(lv.wh, lv.mh, lv.gh, lv.gmh))
            if z.shape[1] != x.shape[1]:  # a level fed by nothing: bias only
                z = z.expand(z.shape[0], x.shape[1], z.shape[2])
            a = _FUNCTIONS[lv.acts[0][0]](z)
            for code, mask in lv.acts[1:]:
                a = torch.where(mask, _FUNCTIONS[code](z), a)
            if step is not None and index < depth and self.any_dropout:
                a = a * dropout_noise(self.keys, self.dropout, step, index, a.shape[1], a.shape[2]).to(a.dtype)
            if trace is not None:
                trace.append((z, a))
            hs[index] = a
            z = a
        return z

    def penalty(self) -> torch.Tensor:
        """Per candidate, the elastic-net penalty of its regularization genes ``(C,)``."""
        l1 = torch.zeros_like(self.weight_decay)
        l2 = torch.zeros_like(self.weight_decay)
        for lv in self.levels:
            for w, m in ((lv.wx, lv.mx), (lv.wh, lv.mh)):
                if w is not None:
                    own = w * m
                    l1 = l1 + own.abs().sum(dim=(1, 2))
                    l2 = l2 + own.pow(2).sum(dim=(1, 2))
        if self.shared is not None:
            l1 = l1 + self.shared.abs().sum(dim=1)
            l2 = l2 + self.shared.pow(2).sum(dim=1)
        return self.weight_decay * (self.l1_ratio * l1 + (1.0 - self.l1_ratio) * 0.5 * l2)

    def effective_weights(self) -> list[tuple[torch.Tensor | None, torch.Tensor | None]]:
        """Per level, the (x, h) weight blocks the forward pass uses (own and shared)."""
        with torch.no_grad():
            return [
                (None if lv.wx is None else self._effective(lv.wx, lv.mx, lv.gx, lv.gmx),
                 None if lv.wh is None else self._effective(lv.wh, lv.mh, lv.gh, lv.gmh))
                for lv in self.levels
            ]


# ----------------------------------------------------------------------------------------------
# Training


@dataclass
class BatchStats:
    """What a batched training run did: candidates, buckets, FLOPs (multiply-adds x 2)."""

    candidates: int = 0
    buckets: int = 0
    useful_flops: float = 0.0      # 2 x connections x samples (x 3 for a training step)
    executed_flops: float = 0.0    # the same over the padded matmuls actually run
    seconds: float = 0.0
    bucket_sizes: list[int] = field(default_factory=list)

    def add(self, other: BatchStats) -> None:
        self.candidates += other.candidates
        self.buckets += other.buckets
        self.useful_flops += other.useful_flops
        self.executed_flops += other.executed_flops
        self.seconds += other.seconds
        self.bucket_sizes.extend(other.bucket_sizes)


@dataclass
class BatchResult:
    evaluations: list[Evaluation]
    stats: BatchStats


class Adam:
    """Adam (Kingma and Ba; torch's defaults) as seven ``torch._foreach_*`` calls per step.

    The arithmetic of ``torch.optim.Adam``'s single-tensor path, elementwise, so a stacked
    parameter's rows are updated exactly as each candidate's own would be. Both training paths
    use it. After :meth:`step` the gradients are cleared.
    """

    def __init__(self, params: list[torch.Tensor], lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        self.params = list(params)
        self.lr, self.betas, self.eps = lr, betas, eps
        self.steps = 0
        self.exp_avg = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]

    @torch.no_grad()
    def step(self) -> None:
        beta1, beta2 = self.betas
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in self.params]
        self.steps += 1
        torch._foreach_lerp_(self.exp_avg, grads, 1 - beta1)
        torch._foreach_mul_(self.exp_avg_sq, beta2)
        torch._foreach_addcmul_(self.exp_avg_sq, grads, grads, 1 - beta2)
        step_size = self.lr / (1 - beta1**self.steps)
        bias_correction2_sqrt = math.sqrt(1 - beta2**self.steps)
        denom = torch._foreach_sqrt(self.exp_avg_sq)
        torch._foreach_div_(denom, bias_correction2_sqrt)
        torch._foreach_add_(denom, self.eps)
        torch._foreach_addcdiv_(self.params, self.exp_avg, denom, -step_size)
        for p in self.params:
            p.grad = None

    def select(self, params: list[torch.Tensor], rows: torch.Tensor) -> Adam:
        """The state of stack rows ``rows`` for the (compacted) ``params``."""
        out = Adam(params, self.lr, self.betas, self.eps)
        out.steps = self.steps
        out.exp_avg = [t.index_select(0, rows) for t in self.exp_avg]
        out.exp_avg_sq = [t.index_select(0, rows) for t in self.exp_avg_sq]
        return out


class _Autocast:
    def __init__(self, device: torch.device, precision: str) -> None:
        self.device, self.enabled = device, precision == "bfloat16"

    def __call__(self) -> Any:
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.enabled)


def _score(stack: _Stack, x: torch.Tensor, y: torch.Tensor, autocast: _Autocast) -> tuple[list[float], list[float]]:
    """Per candidate (accuracy, mean cross-entropy) on ``x``, ``y``; accuracy as count / rows."""
    c = len(stack.keys)
    losses, correct = [], torch.zeros(c, dtype=torch.long, device=x.device)
    with torch.no_grad():
        for begin in range(0, x.shape[0], SCORE_ROWS):
            xb, yb = x[begin : begin + SCORE_ROWS], y[begin : begin + SCORE_ROWS]
            with autocast():
                logits = stack.forward(xb.expand(c, *xb.shape))
            logits = class_logits(logits.float())
            losses.append(nn.functional.cross_entropy(
                logits.transpose(1, 2), yb.expand(c, -1), reduction="none"))
            correct += (logits.argmax(dim=2) == yb).sum(dim=1)
        loss = (losses[0] if len(losses) == 1 else torch.cat(losses, dim=1)).mean(dim=1)
    n = x.shape[0]
    return [k / n for k in correct.tolist()], loss.tolist()


def _export(plan: _Plan, weights: list[tuple[np.ndarray | None, np.ndarray | None]], biases: list[np.ndarray],
            row: int) -> Genome:
    """``plan``'s genome carrying the trained weights and biases of stack row ``row``."""
    genome = plan.request.genome
    values = np.empty(len(genome.effective_connections), dtype=np.float32)
    for (level, block), (index, rows, cols) in plan.export.items():
        values[index] = weights[level - 1][block][row, rows, cols]
    trained = {c.innovation: v for c, v in zip(genome.effective_connections, values.tolist())}
    connections = tuple(_with_weight(c, trained[c.innovation]) if c.innovation in trained else c
                        for c in genome.connections)
    bias = {n: v for level, order in enumerate(plan.orders) for n, v in zip(order, biases[level][row].tolist())}
    nodes = tuple(
        NodeGene(n.id, n.role, n.activation, bias[n.id], n.x, n.y) if n.id in bias else n for n in genome.nodes
    )
    return Genome(nodes, connections, genome.regularization)


def _with_weight(gene: ConnectionGene, weight: float) -> ConnectionGene:
    """``replace(gene, weight=weight)`` without the dataclass machinery (thousands per genome)."""
    new = object.__new__(ConnectionGene)
    new.__dict__.update(gene.__dict__)
    new.__dict__["weight"] = weight
    return new


def _evaluation(plan: _Plan, status: Status, error: str | None, epochs: int, seconds: float,
                device: torch.device, **metrics: Any) -> Evaluation:
    return Evaluation(
        candidate_id=plan.request.candidate_id, status=status, error=error, epochs=epochs,
        seconds=seconds, costs=plan.costs, device=str(device), **metrics,
    )


def _train_bucket(plans: list[_Plan], data: DataTensors, settings: TrainingSettings,
                  device: torch.device, stats: BatchStats) -> list[Evaluation]:
    """Train one bucket (plans of one shape); one Evaluation per plan, in order."""
    start = time.perf_counter()
    autocast = _Autocast(device, settings.precision)
    stack = _Stack.build(plans, device)
    n = data.x_train.shape[0]
    executed = stack.shape.executed_per_sample(data.n_features)
    generators = [torch.Generator().manual_seed(p.request.seed) for p in plans]
    alive = list(range(len(plans)))        # plan index of each stack row
    results: dict[int, Evaluation] = {}
    finals: dict[int, list[torch.Tensor]] = {}   # plan index -> parameters to score
    epochs_run = {i: 0 for i in alive}
    finish_time: dict[int, float] = {}
    optimizer = Adam(stack.parameters(), settings.learning_rate)
    best: list[torch.Tensor] | None = None
    best_val = [math.inf] * len(plans)
    has_best = [False] * len(plans)
    stale = [0] * len(plans)
    step = 0

    def elapsed() -> float:
        return time.perf_counter() - start

    def remove(gone: list[int]) -> None:
        """Drop the stack rows ``gone`` from training (stacked state compacted)."""
        nonlocal stack, optimizer, best, alive, generators
        keep = [r for r in range(len(alive)) if r not in set(gone)]
        if not keep:
            alive = []
            return
        rows = torch.tensor(keep, dtype=torch.long, device=device)
        stack = stack.select(rows)
        optimizer = optimizer.select(stack.parameters(), rows)
        if best is not None:
            best = [b.index_select(0, rows) for b in best]
        alive = [alive[r] for r in keep]
        generators = [generators[r] for r in keep]

    def finish(rows: list[int], use_best: bool) -> None:
        params = stack.parameters()
        for r in rows:
            i = alive[r]
            chosen = best if (use_best and best is not None and has_best[i]) else params
            finals[i] = [t[r].detach().clone() for t in chosen]
            finish_time[i] = elapsed()

    for epoch in range(plans[0].epochs):
        if not alive:
            break
        order = torch.stack([torch.randperm(n, generator=g) for g in generators]).to(device)
        epoch_loss = torch.zeros(len(alive), device=device)
        timed_out = False
        for begin in range(0, n, settings.batch_size):
            index = order[:, begin : begin + settings.batch_size]
            xb, yb = data.x_train[index], data.y_train[index]
            c, rows = index.shape
            with autocast():
                logits = stack.forward(xb, step)
            # classes on dim 1: log-softmax vectorizes over rows (5x faster than over 10 classes)
            loss = nn.functional.cross_entropy(
                class_logits(logits.float()).transpose(1, 2), yb, reduction="none").mean(dim=1)
            objective = loss.sum()
            if stack.any_penalty:
                objective = objective + stack.penalty().sum()
            objective.backward()
            optimizer.step()
            epoch_loss += loss.detach()
            step += 1
            stats.useful_flops += 3.0 * rows * sum(plans[i].useful_per_sample for i in alive)
            stats.executed_flops += 3.0 * rows * executed * c
            if elapsed() > settings.time_limit:
                timed_out = True
                break
        if timed_out:
            message = f"training ran past the time limit of {settings.time_limit:g} s in epoch {epoch + 1}"
            for i in alive:
                results[i] = _evaluation(plans[i], Status.TIMEOUT, message, epochs_run[i], elapsed(), device)
            alive = []
            break
        for i in alive:
            epochs_run[i] = epoch + 1
        values = epoch_loss.tolist()
        diverged = [r for r, v in enumerate(values) if not math.isfinite(v)]
        for r in diverged:
            i = alive[r]
            results[i] = _evaluation(plans[i], Status.DIVERGED,
                                     f"training loss became {values[r]} in epoch {epoch + 1}", epoch + 1,
                                     elapsed(), device)
        if diverged:
            remove(diverged)
        if settings.patience is not None and alive:
            _, val_losses = _score(stack, data.x_val, data.y_val, autocast)
            stats.useful_flops += data.x_val.shape[0] * sum(plans[i].useful_per_sample for i in alive)
            stats.executed_flops += data.x_val.shape[0] * executed * len(alive)
            improved, stopped = [], []
            for r, v in enumerate(val_losses):
                i = alive[r]
                if v < best_val[i] - 1e-6:
                    best_val[i], stale[i] = v, 0
                    improved.append(r)
                    has_best[i] = True
                else:
                    stale[i] += 1
                    if stale[i] >= settings.patience:
                        stopped.append(r)
            if improved:
                params = stack.parameters()
                if best is None:
                    best = [p.detach().clone() for p in params]
                else:
                    rows_t = torch.tensor(improved, dtype=torch.long, device=device)
                    for b, p in zip(best, params):
                        b.index_copy_(0, rows_t, p.detach().index_select(0, rows_t))
            if stopped:
                finish(stopped, use_best=True)
                remove(stopped)
    if alive:
        finish(list(range(len(alive))), use_best=True)

    # score every candidate that finished training, in one stack
    done = sorted(finals)
    if done:
        full = _Stack.build(plans, device)  # masks of every plan; parameters replaced below
        rows_t = torch.tensor(done, dtype=torch.long, device=device)
        params = [torch.stack([finals[i][k] for i in done]) for k in range(len(finals[done[0]]))]
        scored = full.select(rows_t, params)
        metrics = {}
        for part, x, y in (("train", data.x_train, data.y_train), ("val", data.x_val, data.y_val),
                           ("test", data.x_test, data.y_test)):
            metrics[part] = _score(scored, x, y, autocast)
            rows_scored = x.shape[0]
            stats.useful_flops += rows_scored * sum(plans[i].useful_per_sample for i in done)
            stats.executed_flops += rows_scored * executed * len(done)
        weights = [(None if wx is None else wx.float().cpu().numpy(), None if wh is None else wh.float().cpu().numpy())
                   for wx, wh in scored.effective_weights()]
        biases = [lv.b.detach().float().cpu().numpy()[:, 0, :] for lv in scored.levels]
        for r, i in enumerate(done):
            accuracy = {part: metrics[part][0][r] for part in metrics}
            loss = {part: metrics[part][1][r] for part in metrics}
            seconds = plans[i].seconds + finish_time[i]
            if not all(math.isfinite(v) for v in loss.values()):
                results[i] = _evaluation(plans[i], Status.DIVERGED, "final loss is not finite", epochs_run[i],
                                         seconds, device)
                continue
            results[i] = _evaluation(
                plans[i], Status.OK, None, epochs_run[i], seconds, device,
                train_accuracy=accuracy["train"], val_accuracy=accuracy["val"], test_accuracy=accuracy["test"],
                train_loss=loss["train"], val_loss=loss["val"], test_loss=loss["test"],
                trained_genome=_export(plans[i], weights, biases, r),
            )
    stats.buckets += 1
    stats.bucket_sizes.append(len(plans))
    return [results[i] for i in range(len(plans))]


def flop_counts(genomes: Sequence[Genome], n_features: int, samples: int) -> tuple[float, float]:
    """(useful, executed) FLOPs of one forward pass of ``samples`` rows through each genome."""
    useful = executed = 0.0
    for genome in genomes:
        useful += 2.0 * len(genome.effective_connections) * samples
        executed += float(plan_shape(genome).executed_per_sample(n_features)) * samples
    return useful, executed


MAX_BUCKET = 128
"""Candidates trained in one stack at most (bounds memory); larger buckets are split."""


def train_batched(
    requests: Sequence[EvaluationRequest],
    data: DataTensors,
    settings: TrainingSettings,
    device: torch.device,
) -> BatchResult:
    """Train every request, bucketed by shape; one Evaluation each, in request order.

    Failures are statuses, as in :func:`workers.train.train_one`. A bucket whose training raises
    is retried one candidate at a time, so one bad candidate cannot fail the others.
    """
    begin = time.perf_counter()
    stats = BatchStats(candidates=len(requests))
    results: dict[int, Evaluation] = {}
    buckets: dict[tuple[Shape, int], list[tuple[int, _Plan]]] = {}
    for k, request in enumerate(requests):
        start = time.perf_counter()
        try:
            plan = _plan(request, data.n_features, data.n_classes, settings)
        except Exception as exc:  # a failing candidate is data, not a crash of the campaign
            costs: dict = dict(request.costs or {})
            try:
                costs = costs or measure(request.genome).as_dict()
            except Exception:
                pass
            results[k] = Evaluation(
                candidate_id=request.candidate_id, status=Status.FAILED, error=f"{type(exc).__name__}: {exc}",
                seconds=time.perf_counter() - start, costs=costs, device=str(device),
            )
            continue
        buckets.setdefault((plan.shape, plan.epochs), []).append((k, plan))
    for members in buckets.values():
        for first in range(0, len(members), MAX_BUCKET):
            part = members[first : first + MAX_BUCKET]
            error: str | None = None
            try:
                done = _train_bucket([p for _, p in part], data, settings, device, stats)
            except Exception as exc:
                # Only note the error here: retrying inside this block would keep the failed
                # bucket's tensors alive through the traceback (an out-of-memory bucket would
                # then fail every retry too).
                error, done = f"{type(exc).__name__}: {exc}", []
            if error is not None:
                if len(part) == 1:
                    done = [_failed(part[0][1], device, error=error)]
                else:
                    for _, plan in part:
                        try:
                            done.extend(_train_bucket([plan], data, settings, device, stats))
                        except Exception as exc:
                            done.append(_failed(plan, device, exc))
            for (k, _), evaluation in zip(part, done):
                results[k] = evaluation
    stats.seconds = time.perf_counter() - begin
    return BatchResult([results[k] for k in range(len(requests))], stats)


def _failed(plan: _Plan, device: torch.device, exc: BaseException | None = None, error: str | None = None
            ) -> Evaluation:
    if error is None:
        exc = exc or sys.exc_info()[1]
        error = f"{type(exc).__name__}: {exc}" if exc is not None else "training failed"
    return _evaluation(plan, Status.FAILED, error, 0, plan.seconds, device)
