"""The candidates of one bucket as one model: stacked parameters, masks and the forward pass.

A :class:`Stack` holds the weights of candidates of one :class:`~workers.plans.Shape` stacked
into ``(C, in, out)`` tensors, one matrix product per candidate
(:func:`workers.kernels.per_candidate_matmul`), the elementwise work stacked. With one Adam over
the stacked parameters and the per-candidate losses summed, every candidate's gradient, and its
Adam update (elementwise), stays its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from connevo.workers import invariant
from connevo.workers.kernels import ACTIVATIONS_BY_CODE, Part, add_bias, dropout_noise, per_candidate_matmul, seed_key
from connevo.workers.merging import level_parts
from connevo.workers.plans import Plan, Shape
from connevo.workers.sparse_products import MIN_BLOCK, SparseBlock, sparse_blocks

__all__ = ["FAN_IN_REFERENCE", "Stack", "StackLevel"]

FAN_IN_REFERENCE = 10.0
"""Neurons with fewer incoming connections than this may learn faster (``fan_in_boost``)."""


class StackLevel:
    """One level of a stack: its stacked blocks and masks, bias, hidden sources, activations."""

    def __init__(self) -> None:
        self.wx: torch.Tensor | None = None
        self.mx: torch.Tensor | None = None
        self.gx: torch.Tensor | None = None
        self.gmx: torch.Tensor | None = None
        self.wh: torch.Tensor | None = None
        self.mh: torch.Tensor | None = None
        self.gh: torch.Tensor | None = None
        self.gmh: torch.Tensor | None = None
        self.sx: list[SparseBlock | None] | None = None   # per candidate, a sparse x block's pattern
        self.sh: list[SparseBlock | None] | None = None   # the same for the h block
        self.b: torch.Tensor | None = None
        self.hidden: tuple[int, ...] = ()
        self.acts: list[tuple[int, torch.Tensor | None]] = []
        self.px: list[Part] | None = None    # where candidates of several own shapes share the stack:
        self.ph: list[Part] | None = None    # each product's parts, and the bias's (workers/merging.py)
        self.pb: list[Part] | None = None


class Stack:
    """Stacked parameters (leaves) and constant masks of candidates with one shape (their own,
    or padded to it: ``own_shapes``, the shape each row's products run on)."""

    def __init__(self, shape: Shape, levels: list[StackLevel], shared: torch.Tensor | None,
                 weight_decay: torch.Tensor, l1_ratio: torch.Tensor, dropout: torch.Tensor,
                 keys: torch.Tensor, own_shapes: list[Shape] | None = None) -> None:
        self.shape = shape
        self.levels = levels
        self.own_shapes = own_shapes if own_shapes is not None else [shape] * len(keys)
        for level, lv in enumerate(levels, start=1):
            parts = level_parts(self.own_shapes, shape, level)
            lv.px, lv.ph, lv.pb = parts if parts is not None else (None, None, None)
        self.shared = shared
        self.weight_decay, self.l1_ratio, self.dropout, self.keys = weight_decay, l1_ratio, dropout, keys
        self.any_penalty = bool((weight_decay > 0).any())
        # which terms of the elastic net any candidate weighs: a term all candidates weigh 0 stays
        # a constant zero (no sums, no gradient), which adds nothing to any value
        self.any_l1 = bool((l1_ratio > 0).any())
        self.any_l2 = bool((l1_ratio < 1).any())
        self.any_dropout = bool((dropout > 0).any())
        # a pure L1 penalty on own weights (the default genes) has the gradient weight_decay x
        # l1_ratio x sign(w): added by hand after the backward pass (add_l1_gradients), it skips
        # the penalty's graph, five passes over every padded block a step, with the same bits
        self.l1_by_hand = self.any_penalty and self.any_l1 and not self.any_l2 and shared is None
        self.l1_coefficient = (weight_decay * l1_ratio)[:, None, None]
        # CUDA's reductions depend on the stack's size: sum in a fixed order there (workers/invariant.py)
        self.invariant = invariant.uses_invariant_reductions(keys.device)

    @classmethod
    def build(cls, plans: Sequence[Plan], device: torch.device) -> Stack:
        shape = plans[0].shape

        def stack(get: Callable[[Plan], np.ndarray | None], dtype: torch.dtype = torch.float32) -> torch.Tensor | None:
            first = get(plans[0])
            if first is None:
                return None
            return torch.from_numpy(np.stack([get(p) for p in plans])).to(device=device, dtype=dtype)

        levels = []
        for i in range(shape.depth):
            lv = StackLevel()
            lv.wx, lv.mx = stack(lambda p: p.levels[i].wx), stack(lambda p: p.levels[i].mx)
            lv.wh, lv.mh = stack(lambda p: p.levels[i].wh), stack(lambda p: p.levels[i].mh)
            lv.gx, lv.gmx = stack(lambda p: p.levels[i].gx, torch.long), stack(lambda p: p.levels[i].gmx)
            lv.gh, lv.gmh = stack(lambda p: p.levels[i].gh, torch.long), stack(lambda p: p.levels[i].gmh)
            lv.sx = _sparse(plans, lambda p: (p.levels[i].mx, p.levels[i].gmx), device)
            lv.sh = _sparse(plans, lambda p: (p.levels[i].mh, p.levels[i].gmh), device)
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
            [p.product_shape for p in plans],
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

    def live_masks(self) -> list[torch.Tensor | None]:
        """Per parameter (in :meth:`parameters`' order), the entries that get gradients: a weight
        block's own connections (its mask); every entry of a bias and of the shared weights (None)."""
        masks: list[torch.Tensor | None] = []
        for lv in self.levels:
            masks.extend(m for w, m in ((lv.wx, lv.mx), (lv.wh, lv.mh)) if w is not None)
            masks.append(None)
        if self.shared is not None:
            masks.append(None)
        return masks

    def fan_in_scales(self, boost: float, reference: float = FAN_IN_REFERENCE) -> list[torch.Tensor]:
        """Per parameter (in :meth:`parameters`' order), the learning-rate multiplier of each
        element: a neuron with ``n`` incoming connections (own and shared) trains its incoming
        weights and its bias at ``clip(reference / n, 1, boost)``; shared weights at 1. A weight
        block's multipliers are ``(C, 1, W)``, broadcast over its rows (no copy of its size)."""
        scales: list[torch.Tensor] = []
        for lv in self.levels:
            fan_in = torch.zeros_like(lv.b[:, 0, :])  # type: ignore[index]
            for mask in (lv.mx, lv.gmx, lv.mh, lv.gmh):
                if mask is not None:
                    fan_in = fan_in + mask.sum(dim=1)
            neuron = (reference / fan_in.clamp(min=1.0)).clamp(1.0, boost)[:, None, :]
            scales.extend(neuron for w in (lv.wx, lv.wh, lv.b) if w is not None)
        if self.shared is not None:
            scales.append(torch.ones_like(self.shared))
        return scales

    def replace_parameters(self, params: list[torch.Tensor]) -> None:
        """Use ``params`` (in :meth:`parameters`' order and shapes) as this stack's parameters."""
        it = iter(params)
        for lv in self.levels:
            if lv.wx is not None:
                lv.wx = next(it)
            if lv.wh is not None:
                lv.wh = next(it)
            lv.b = next(it)
        if self.shared is not None:
            self.shared = next(it)

    def select(self, rows: torch.Tensor, params: list[torch.Tensor] | None = None) -> Stack:
        """The candidates at ``rows`` as a new stack with fresh leaves (``params``: replacements)."""
        def pick(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t.index_select(0, rows)

        levels = []
        for lv in self.levels:
            new = StackLevel()
            for name in ("mx", "gx", "gmx", "mh", "gh", "gmh"):
                setattr(new, name, pick(getattr(lv, name)))
            new.sx, new.sh = (None if blocks is None else _pick_blocks(blocks, rows) for blocks in (lv.sx, lv.sh))
            new.wx, new.wh, new.b = lv.wx, lv.wh, lv.b
            new.hidden = lv.hidden
            new.acts = [(code, None if mask is None else mask.index_select(0, rows)) for code, mask in lv.acts]
            levels.append(new)
        out = Stack(self.shape, levels, self.shared, pick(self.weight_decay), pick(self.l1_ratio),
                     pick(self.dropout), pick(self.keys), [self.own_shapes[r] for r in rows.tolist()])
        source = params if params is not None else [p.detach().index_select(0, rows) for p in self.parameters()]
        out.replace_parameters([p.detach().clone().requires_grad_(True) for p in source])
        return out

    def _shares(self, groups: torch.Tensor | None) -> bool:
        """Whether a block with these ``groups`` also carries shared weights."""
        return groups is not None and self.shared is not None

    def _effective(self, w: torch.Tensor, mask: torch.Tensor, groups: torch.Tensor | None,
                   group_mask: torch.Tensor | None, copy: bool = True) -> torch.Tensor:
        """The weights a block multiplies with. A block of own weights only is its parameter
        itself (``copy``: a detached copy of it): its absent entries are zero from the plan on and
        stay zero, since they are not live (:meth:`live_masks`): Adam zeroes their gradients and
        moves them by exactly zero. ``w * mask`` gave the same values at the cost of a product (and
        its gradient's) over the whole padded block at every step."""
        if not self._shares(groups):
            return w.detach().clone() if copy else w
        gather = invariant.gather_shared if self.invariant else lambda s, g: torch.gather(s, 1, g)
        shared = gather(self.shared, groups)
        return w * mask + shared.view_as(w) * group_mask

    def forward(self, x: torch.Tensor, step: int | torch.Tensor | None = None,
                trace: list[tuple[torch.Tensor, torch.Tensor]] | None = None) -> torch.Tensor:
        """Logits ``(C, rows, outputs)`` of inputs ``x`` ``(C, rows, F)``; ``step`` (training)
        applies dropout on hidden levels (an int64 0-d tensor on a device that replays steps as
        CUDA graphs); ``trace`` receives each level's (pre-activation,
        activation), padded columns included."""
        hs: dict[int, torch.Tensor] = {}
        depth = len(self.levels)
        z = x
        for index, lv in enumerate(self.levels, start=1):
            products = []
            if lv.wx is not None:
                products.append(per_candidate_matmul(x, self._effective(lv.wx, lv.mx, lv.gx, lv.gmx, copy=False),
                                                    lv.sx, lv.px))
            if lv.wh is not None:
                h = hs[lv.hidden[0]] if len(lv.hidden) == 1 else torch.cat([hs[j] for j in lv.hidden], dim=2)
                products.append(per_candidate_matmul(h, self._effective(lv.wh, lv.mh, lv.gh, lv.gmh, copy=False),
                                                    lv.sh, lv.ph))
            z = self._biased(lv.b, products, x.shape[1], lv.pb)
            a = ACTIVATIONS_BY_CODE[lv.acts[0][0]](z)
            for code, mask in lv.acts[1:]:
                a = torch.where(mask, ACTIVATIONS_BY_CODE[code](z), a)
            if step is not None and index < depth and self.any_dropout:
                a = a * dropout_noise(self.keys, self.dropout, step, index, a.shape[1], a.shape[2]).to(a.dtype)
            if trace is not None:
                trace.append((z, a))
            hs[index] = a
            z = a
        return z

    def _biased(self, b: torch.Tensor, products: list[torch.Tensor], rows: int, parts: list[Part] | None
                ) -> torch.Tensor:
        """``b + products[0] + products[1]``, added in that order; a level fed by nothing repeats its
        bias over the rows. On devices with batch-invariant reductions the bias gradient is summed
        over the rows in a fixed order (:mod:`workers.invariant`); in a stack of several own shapes
        (``parts``, :mod:`workers.merging`), each candidate's on its own width."""
        if parts is not None:
            first = products[0] if products else torch.zeros(b.shape[0], rows, b.shape[2], dtype=b.dtype,
                                                             device=b.device)
            z = add_bias(first, b, parts)
        elif not products:
            return invariant.broadcast_bias(b, rows) if self.invariant else b.expand(b.shape[0], rows, b.shape[2])
        else:
            z = invariant.add_bias(products[0], b) if self.invariant else b + products[0]
        for p in products[1:]:
            z = z + p
        return z

    @torch.no_grad()
    def add_l1_gradients(self) -> None:
        """Add the L1 penalty's gradient, ``weight_decay x l1_ratio x sign(w)``, to every weight
        block's gradient (after the loss's backward pass; stacks of :attr:`l1_by_hand` only).

        The same bits as the backward pass of :meth:`penalty`: autograd multiplies the expanded
        coefficient by ``sign(w x mask)`` and then by the mask, all exact (a sign of 0 or +-1, a
        mask of 0 or 1; an absent entry's weight is 0), and adds the result to the loss's
        gradient, a sum of two terms, whose order does not change its bits."""
        for lv in self.levels:
            for w in (lv.wx, lv.wh):
                if w is not None and w.grad is not None:
                    w.grad.addcmul_(torch.sign(w), self.l1_coefficient)

    def penalty(self) -> torch.Tensor:
        """Per candidate, the elastic-net penalty of its regularization genes ``(C,)``."""
        l1 = torch.zeros_like(self.weight_decay)
        l2 = torch.zeros_like(self.weight_decay)
        for lv in self.levels:
            for w, m in ((lv.wx, lv.mx), (lv.wh, lv.mh)):
                if w is not None:
                    own = w * m
                    if self.any_l1:
                        l1 = l1 + own.abs().sum(dim=(1, 2))
                    if self.any_l2:
                        l2 = l2 + own.pow(2).sum(dim=(1, 2))
        if self.shared is not None:
            if self.any_l1:
                l1 = l1 + self.shared.abs().sum(dim=1)
            if self.any_l2:
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


def _sparse(plans: Sequence[Plan], masks: Callable[[Plan], tuple[np.ndarray | None, np.ndarray | None]],
            device: torch.device) -> list[SparseBlock | None] | None:
    """Per plan, the pattern of its weight block (own and shared connections) where the block
    multiplies sparse (:func:`workers.sparse_products.prefers_sparse`); None when none does."""
    own, _ = masks(plans[0])
    if own is None or own.size < MIN_BLOCK or device.type != "cpu":  # one shape: no block of the stack pays
        return None
    patterns = []
    for p in plans:
        own, grouped = masks(p)
        patterns.append(own != 0 if grouped is None else (own != 0) | (grouped != 0))
    return sparse_blocks(patterns, device)


def _pick_blocks(blocks: list[SparseBlock | None], rows: torch.Tensor) -> list[SparseBlock | None] | None:
    picked = [blocks[r] for r in rows.tolist()]
    return picked if any(b is not None for b in picked) else None
