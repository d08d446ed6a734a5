"""The optimizer of both training paths: Adam over stacked parameters, row by row as alone."""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["Adam", "flat_leaves", "ieee_sqrt"]


def ieee_sqrt(tensors: list[torch.Tensor], out: list[torch.Tensor] | None = None) -> list[torch.Tensor]:
    """Square roots of ``tensors``, correctly rounded (IEEE 754) on every device.

    On the CPU, torch's ``sqrt`` goes through MKL's vector math: up to one unit in the last place
    off the correctly rounded root (17% of float32 inputs, measured) and, where many entries are
    zero or subnormal, as Adam's second moments of absent connections are, 5-35x slower than on
    normal numbers. NumPy's ``sqrt`` is the processor's square-root instruction: correctly
    rounded, so the same bits on every machine, at one speed for every input. CUDA's ``sqrt`` is
    correctly rounded already.

    ``out``: CPU tensors of the same shapes to write the roots into (else new ones).
    """
    if not tensors:
        return []
    if tensors[0].device.type != "cpu":
        return torch._foreach_sqrt(tensors)
    roots = out if out is not None else [torch.empty_like(t) for t in tensors]
    for t, root in zip(tensors, roots):
        np.sqrt(t.numpy(), out=root.numpy())
    return roots


COMPACT_SHARE = 1 / 3
"""The largest share of a flat buffer's entries that are live for which :class:`Adam` keeps the
state of the live entries only: gathering their gradients and values and writing the values back
cost about three passes over them, each arithmetic step saved one pass over the dead ones."""
MIN_COMPACT_DEAD = 1 << 16
"""Fewer dead entries than this and the state stays whole: three more ops a step cost more than
the passes saved over a small buffer (an evolved digits network's stack holds a few thousand)."""


def flat_leaves(params: list[torch.Tensor]) -> list[torch.Tensor]:
    """Copies of ``params`` (the same values) as leaves that require grad and are, in order, views
    of one flat buffer. :class:`Adam` then updates them all with one op per arithmetic step
    instead of one per parameter: a small stack's step is mostly per-op overhead on the CPU."""
    flat = torch.cat([p.detach().reshape(-1) for p in params]) if params else torch.empty(0)
    return [view.requires_grad_(True) for view in _views(flat, params)]


def _flat_base(params: list[torch.Tensor]) -> torch.Tensor | None:
    """The buffer ``params`` are consecutive views of, whole and in order (:func:`flat_leaves`)."""
    base = params[0]._base if params else None
    if base is None or not base.is_contiguous() or base.dim() != 1:
        return None
    offset = 0
    for p in params:
        if p._base is not base or not p.is_contiguous() or p.storage_offset() - base.storage_offset() != offset:
            return None
        offset += p.numel()
    return base if offset == base.numel() else None


class Adam:
    """Adam (Kingma and Ba; torch's defaults) as a few ``torch._foreach_*`` calls per step.

    The arithmetic of ``torch.optim.Adam``'s single-tensor path, elementwise, so a stacked
    parameter's rows are updated exactly as each candidate's own would be. Both training paths
    use it. After :meth:`step` the gradients are cleared. ``scales`` (one tensor per parameter,
    broadcastable to its shape) multiply each element's step: per-element learning rates, ``lr x scale``.

    ``device_scalars``: the step count and the bias corrections live on the parameters' device
    and are computed there, so a step launches no work that depends on a Python number and can
    be captured in a CUDA graph and replayed (:mod:`workers.step_graphs`). Its values differ
    from the host-scalar path's in the last bits of the corrections; CUDA training always uses it,
    eager or replayed, so both give the same bits.

    ``live`` (one tensor or None per parameter, broadcastable to its shape; None: every entry):
    the entries that may move; the others' gradients are set to zero at each step (``grad *
    mask``), so an entry that starts at zero stays exactly zero. Where parameters share a flat
    buffer, at most :data:`COMPACT_SHARE` of it is live and at least :data:`MIN_COMPACT_DEAD`
    entries are not (a sparse network's large masked blocks), the state is kept for the live
    entries only and each step gathers their gradients and values and writes the new values
    back: the same arithmetic on each live entry, so the same bits, in a fraction of the passes
    over the whole buffer.
    """

    def __init__(self, params: list[torch.Tensor], lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, scales: list[torch.Tensor] | None = None,
                 device_scalars: bool = False, live: list[torch.Tensor | None] | None = None) -> None:
        self.params = list(params)
        self.lr, self.betas, self.eps = lr, betas, eps
        self.scales = scales
        self.live = live
        self.live_index: torch.Tensor | None = None  # positions in the flat buffer of a compact state
        self.steps = 0
        self.device_scalars = device_scalars
        device = self.params[0].device if self.params else torch.device("cpu")
        self.step_count = torch.zeros((), dtype=torch.float64, device=device) if device_scalars else None
        # parameters that are views of one buffer (flat_leaves) are updated through that buffer:
        # their gradients accumulate into views of one gradient buffer, zeroed after each step
        self.flat = None if device_scalars else _flat_base(self.params)
        if self.flat is not None:
            self.flat_grad = torch.zeros_like(self.flat)
            flat_avg, flat_avg_sq = torch.zeros_like(self.flat), torch.zeros_like(self.flat)
            self.exp_avg, self.exp_avg_sq = _views(flat_avg, self.params), _views(flat_avg_sq, self.params)
            for p, g in zip(self.params, _views(self.flat_grad, self.params)):
                p.grad = g
            self.flat_state = [flat_avg], [flat_avg_sq]
            self.flat_denom = [torch.empty_like(self.flat)]  # the roots, written anew at each step
            self.flat_scales = None if scales is None else [torch.cat([
                s.expand_as(p).reshape(-1) for s, p in zip(scales, self.params)])]
        else:
            self.exp_avg = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]
            self.exp_avg_sq = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]
        self.flat_live: torch.Tensor | None = None  # of a whole flat state: 1 at the live entries, 0 elsewhere
        self._restrict()

    @property
    def compact(self) -> bool:
        """Whether the state is kept for the live entries only."""
        return self.live_index is not None

    def _restrict(self) -> None:
        """Where ``live`` marks entries that may not move in a flat buffer: keep the state of the
        live ones only where few are live, else a mask of them to zero the others' gradients."""
        if self.flat is None or self.live is None or all(m is None for m in self.live) or self.flat.numel() == 0:
            return
        alive = torch.cat([torch.ones(p.numel(), dtype=torch.bool, device=p.device) if m is None
                           else (m.expand_as(p) != 0).reshape(-1) for p, m in zip(self.params, self.live)])
        index = torch.nonzero(alive).reshape(-1)
        if index.numel() > COMPACT_SHARE * self.flat.numel() or self.flat.numel() - index.numel() < MIN_COMPACT_DEAD:
            self.flat_live = alive.to(self.flat.dtype)
            return
        self.live_index = index
        (flat_avg,), (flat_avg_sq,) = self.flat_state
        self.flat_state = [flat_avg.index_select(0, index)], [flat_avg_sq.index_select(0, index)]
        self.exp_avg, self.exp_avg_sq = [], []  # read through state()
        self.flat_denom = [torch.empty_like(self.flat_state[0][0])]
        self.live_grad = torch.empty_like(self.flat_denom[0])
        self.live_param = torch.empty_like(self.flat_denom[0])
        if self.flat_scales is not None:
            self.flat_scales = [self.flat_scales[0].index_select(0, index)]

    def state(self) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Per parameter, its first and second moments, in its shape (new tensors where the
        state is compact: zero at the entries that are not live)."""
        if self.live_index is None:
            return self.exp_avg, self.exp_avg_sq
        assert self.flat is not None
        out = []
        for (compact,) in self.flat_state:
            dense = torch.zeros_like(self.flat)
            dense.index_copy_(0, self.live_index, compact)
            out.append(_views(dense, self.params))
        return out[0], out[1]

    @torch.no_grad()
    def step(self) -> None:
        beta1, beta2 = self.betas
        self.steps += 1
        if self.live_index is not None:  # the live entries gathered, updated as below, written back
            assert self.flat is not None
            torch.index_select(self.flat_grad, 0, self.live_index, out=self.live_grad)
            torch.index_select(self.flat, 0, self.live_index, out=self.live_param)
            params, grads, scales = [self.live_param], [self.live_grad], self.flat_scales
            exp_avg, exp_avg_sq = self.flat_state
        elif self.flat is not None:  # the same arithmetic on the whole buffers, one op each
            if self.flat_live is not None:
                self.flat_grad.mul_(self.flat_live)
            params, grads, scales = [self.flat], [self.flat_grad], self.flat_scales
            exp_avg, exp_avg_sq = self.flat_state
        else:
            params, scales = self.params, self.scales
            grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in self.params]
            masked = [(g, m) for g, m in zip(grads, self.live or []) if m is not None]
            if masked:
                torch._foreach_mul_([g for g, _ in masked], [m for _, m in masked])
            exp_avg, exp_avg_sq = self.exp_avg, self.exp_avg_sq
        torch._foreach_lerp_(exp_avg, grads, 1 - beta1)
        torch._foreach_mul_(exp_avg_sq, beta2)
        torch._foreach_addcmul_(exp_avg_sq, grads, grads, 1 - beta2)
        denom = ieee_sqrt(exp_avg_sq, self.flat_denom if self.flat is not None else None)
        if self.step_count is not None:
            self._device_update(denom)
        else:
            step_size = self.lr / (1 - beta1**self.steps)
            bias_correction2_sqrt = math.sqrt(1 - beta2**self.steps)
            torch._foreach_div_(denom, bias_correction2_sqrt)
            torch._foreach_add_(denom, self.eps)
            if scales is None:
                torch._foreach_addcdiv_(params, exp_avg, denom, -step_size)
            else:
                update = torch._foreach_div(exp_avg, denom)
                torch._foreach_mul_(update, scales)
                torch._foreach_add_(params, update, alpha=-step_size)
        if self.live_index is not None:
            self.flat.index_copy_(0, self.live_index, self.live_param)
        if self.flat is not None:
            self.flat_grad.zero_()  # the views stay each parameter's .grad: autograd adds into them
            return
        for p in self.params:
            p.grad = None

    def _device_update(self, denom: list[torch.Tensor]) -> None:
        """The bias-corrected update with the step count and corrections as device tensors."""
        assert self.step_count is not None
        beta1, beta2 = self.betas
        self.step_count.add_(1.0)
        step_size = (self.lr / (1.0 - torch.pow(beta1, self.step_count))).to(torch.float32)
        bias_correction2_sqrt = torch.sqrt(1.0 - torch.pow(beta2, self.step_count)).to(torch.float32)
        torch._foreach_div_(denom, bias_correction2_sqrt)
        torch._foreach_add_(denom, self.eps)
        update = torch._foreach_div(self.exp_avg, denom)
        if self.scales is not None:
            torch._foreach_mul_(update, self.scales)
        torch._foreach_mul_(update, step_size)
        torch._foreach_sub_(self.params, update)

    def select(self, params: list[torch.Tensor], rows: torch.Tensor) -> Adam:
        """The state of stack rows ``rows`` for the (compacted) ``params``."""
        scales = None if self.scales is None else [t.index_select(0, rows) for t in self.scales]
        live = None if self.live is None else [None if m is None else m.index_select(0, rows) for m in self.live]
        out = Adam(params, self.lr, self.betas, self.eps, scales, self.device_scalars)
        out.steps = self.steps
        if self.step_count is not None:
            out.step_count = self.step_count.clone()
        for mine, theirs in zip(self.state(), out.state()):
            for source, target in zip(mine, theirs):
                target.copy_(source.index_select(0, rows))
        # told the live entries only now: a compact state's state() returns copies, not its own tensors
        out.live = live
        out._restrict()
        return out


def _views(buffer: torch.Tensor, params: list[torch.Tensor]) -> list[torch.Tensor]:
    """``buffer`` cut into consecutive views of ``params``' shapes."""
    views, offset = [], 0
    for p in params:
        views.append(buffer[offset : offset + p.numel()].view(p.shape))
        offset += p.numel()
    return views
