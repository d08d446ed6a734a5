"""Train candidates of several shapes in one stack, each multiplying on its own shape.

A stack's per-step cost on the CPU is mostly a fixed number of small ops per level (the
elementwise work, autograd and Adam), whatever the number of candidates in it; the matrix
products are a BLAS call per candidate either way (:mod:`workers.kernels`). Chunks of evolved
networks hold many shapes of a few candidates each (32 of the throughput benchmark's layered
genomes: 8 shapes), so each shape's stack paid those ops for its few candidates: 0.61 s for the
32, against 0.23 s for 32 of one shape.

So shapes of one depth (without weight sharing) and close sizes are *merged*: their plans are
padded to the widest of each level, each level fed from every level that feeds it in any of
them (:func:`widen`), and stacked together. Every elementwise op then runs over the padded
stack, and each candidate's matrix products still run on its own shape
(:class:`workers.kernels.Part`): the same BLAS calls, on the same operands, as a stack of its
shape alone makes. Its bias gradient is summed over the rows of its own columns, the tensor its
own stack sums (:func:`workers.kernels.add_bias`); its structure hints' products run on its own
shape too; dropout masks depend on a neuron's position, not its level's width. So a candidate
gets the same bits merged or not, and whichever candidates share its chunk
(``tests/workers/test_merging.py``).
Merging happens on the CPU in float32 only; CUDA keeps a stack per shape (its products are one
launch per stack: :mod:`workers.triton_matmul`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

import numpy as np

from connevo.workers.kernels import Part
from connevo.workers.plans import LevelPlan, Plan, Shape
from connevo.workers.sparse_products import MIN_BLOCK

__all__ = ["MIN_SHARE", "level_parts", "merged_shapes", "product_parts", "widen"]

MIN_SHARE = 0.5
"""A shape joins a merged stack only while its elementwise volume is at least this share of the
merged shape's (so padding at most doubles any member's elementwise work)."""


def _fan_in(shape: Shape, level: int, n_features: int) -> int:
    return (n_features if 0 in shape.sources[level - 1] else 0) + shape.hidden_in(level)


def mergeable(shape: Shape, n_features: int) -> bool:
    """Whether ``shape`` may share a stack with other shapes: no weight sharing, and no block
    large enough to multiply sparse (:mod:`workers.sparse_products`), whose products are not parted."""
    if shape.groups:
        return False
    return all(_fan_in(shape, level, n_features) * shape.widths[level - 1] < MIN_BLOCK
               for level in range(1, shape.depth + 1))


def volume(shape: Shape, n_features: int, rows: int) -> int:
    """Elements a step's elementwise work touches per candidate: weights and activations."""
    return sum((_fan_in(shape, level, n_features) + rows) * shape.widths[level - 1]
               for level in range(1, shape.depth + 1))


def _widest(shapes: Iterable[Shape]) -> Shape:
    """The widest of each level, each level fed from every level that feeds it in any of ``shapes``."""
    shapes = list(shapes)
    widths = tuple(max(widths) for widths in zip(*(s.widths for s in shapes)))
    sources = tuple(tuple(sorted(set().union(*level))) for level in zip(*(s.sources for s in shapes)))
    return Shape(widths, sources, shapes[0].groups)


def merged_shapes(shapes: Iterable[Shape], n_features: int, rows: int) -> dict[Shape, Shape]:
    """The shape each of ``shapes`` is stacked as: shapes of as many levels merged greedily,
    largest volume first, into the widest of each level fed from all their sources
    (:func:`_widest`), while every member keeps :data:`MIN_SHARE` of the merged volume; a shape
    that merges with none maps to itself."""
    out: dict[Shape, Shape] = {}
    families: dict[tuple, list[Shape]] = {}
    for shape in sorted(set(shapes)):
        if mergeable(shape, n_features):
            families.setdefault(shape.depth, []).append(shape)
        else:
            out[shape] = shape
    for members in families.values():
        groups: list[list[Shape]] = []
        for shape in sorted(members, key=lambda s: (-volume(s, n_features, rows), s)):
            for group in groups:
                widest = _widest([*group, shape])
                if (mergeable(widest, n_features) and all(
                        volume(m, n_features, rows) >= MIN_SHARE * volume(widest, n_features, rows)
                        for m in [*group, shape])):
                    group.append(shape)
                    break
            else:
                groups.append([shape])
        for group in groups:
            widest = _widest(group)
            out.update((shape, widest) for shape in group)
    return out


def _hidden_rows(own: Shape, wide: Shape, level: int) -> np.ndarray:
    """Per row of ``own``'s ``h`` block of ``level``, its row in ``wide``'s: each hidden source's
    rows move to where that source starts in the wider block."""
    starts, at = {}, 0
    for j in wide.sources[level - 1]:
        if j > 0:
            starts[j] = at
            at += wide.widths[j - 1]
    rows = [starts[j] + np.arange(own.widths[j - 1]) for j in own.sources[level - 1] if j > 0]
    return np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)


def _feeds(own: Shape, wide: Shape) -> bool:
    """Whether ``wide`` is ``own`` padded: as many levels, each at least as wide and fed from at
    least the same levels."""
    return (own.depth == wide.depth and all(w >= o for w, o in zip(wide.widths, own.widths))
            and all(set(o) <= set(w) for o, w in zip(own.sources, wide.sources)))


def _padded(block: np.ndarray | None, used: bool, height: int, width: int, rows: np.ndarray | None = None
            ) -> np.ndarray | None:
    """``block`` in zeros of ``height`` x ``width``, at ``rows`` (else its own first rows); zeros
    where the wider shape has a block the plan lacks (no connection); None where neither has one."""
    if not used:
        return None
    out = np.zeros((height, width), dtype=np.float32 if block is None else block.dtype)
    if block is not None:
        out[slice(0, block.shape[0]) if rows is None else rows, : block.shape[1]] = block
    return out


def widen(plan: Plan, shape: Shape, n_features: int) -> Plan:
    """``plan`` padded to ``shape`` (the same structure, every level at least as wide): its
    blocks, activation codes and biases padded with zeros (padding neurons: identity, no
    connection), the export's rows moved with their blocks; its products stay on its own shape."""
    own = plan.shape
    if own == shape:
        return plan
    if own.groups or shape.groups or not _feeds(own, shape):
        raise ValueError(f"cannot pad a plan of shape {own} to {shape}")
    levels, moved = [], {}
    for level, lv in enumerate(plan.levels, start=1):
        width, hidden = shape.widths[level - 1], shape.hidden_in(level)
        moved[level] = rows = _hidden_rows(own, shape, level)
        has_x = 0 in shape.sources[level - 1]
        levels.append(LevelPlan(
            wx=_padded(lv.wx, has_x, n_features, width), mx=_padded(lv.mx, has_x, n_features, width),
            gx=None, gmx=None,
            wh=_padded(lv.wh, hidden > 0, hidden, width, rows), mh=_padded(lv.mh, hidden > 0, hidden, width, rows),
            gh=None, gmh=None,
            codes=np.pad(lv.codes, (0, width - len(lv.codes))),  # padding neurons: identity (code 0)
        ))
    export = {(level, block): (index, moved[level][r] if block == 1 else r, c)
              for (level, block), (index, r, c) in plan.export.items()}
    biases = None if plan.biases is None else [np.pad(b, (0, w - len(b))) for w, b in zip(shape.widths, plan.biases)]
    return replace(plan, shape=shape, levels=levels, export=export, biases=biases, own_shape=own)


def _runs(own: Sequence[Shape]) -> list[tuple[int, int, Shape]]:
    """Maximal runs of equal own shapes: (start, stop, shape)."""
    runs: list[tuple[int, int, Shape]] = []
    for row, shape in enumerate(own):
        if runs and runs[-1][2] == shape:
            runs[-1] = (runs[-1][0], row + 1, shape)
        else:
            runs.append((row, row + 1, shape))
    return runs


def _prefix(n: int, full: int) -> int | None:
    return None if n == full else n


def level_parts(own: Sequence[Shape], shape: Shape, level: int
                ) -> tuple[list[Part], list[Part], list[Part]] | None:
    """The parts of ``level``'s products (its ``x`` block's, its ``h`` block's) and of its bias
    (every candidate's own width) for a stack of ``shape`` whose rows have the own shapes ``own``;
    None when every row is of ``shape`` itself."""
    if all(s == shape for s in own):
        return None
    width = shape.widths[level - 1]
    parts_x, parts_h, parts_b = [], [], []
    for start, stop, s in _runs(own):
        cols = _prefix(s.widths[level - 1], width)
        parts_b.append(Part(start, stop, None, None, cols))
        if 0 in s.sources[level - 1]:
            parts_x.append(Part(start, stop, None, None, cols))
        rows = _hidden_rows(s, shape, level)
        if not len(rows):
            continue
        first_rows = np.array_equal(rows, np.arange(len(rows)))  # a slice of the block, not a gather
        parts_h.append(Part(start, stop, None, _prefix(len(rows), shape.hidden_in(level)) if first_rows else rows,
                            cols))
    return parts_x, parts_h, parts_b


def product_parts(own: Sequence[Shape], shape: Shape, source: int, target: int) -> list[Part] | None:
    """The parts of ``a_source^T @ d_target`` (:mod:`workers.hints`: a level's activations
    against a later level's deltas) for a stack of ``shape`` whose rows have the own shapes
    ``own``; level 0 is the inputs. None when every row is of ``shape`` itself."""
    if all(s == shape for s in own):
        return None
    parts = []
    for start, stop, s in _runs(own):
        rows = None if source == 0 else _prefix(s.widths[source - 1], shape.widths[source - 1])
        parts.append(Part(start, stop, rows, None, _prefix(s.widths[target - 1], shape.widths[target - 1])))
    return parts
