"""Batch-invariant reductions: a candidate's sums in an order fixed by its own shape, on any device.

A stack trains candidates side by side, and a candidate's result must not depend on its company
(:mod:`workers.kernels`). On the CPU, torch's reductions over a stack give each candidate the
bits it gets alone (``tests/workers/test_batched.py`` checks it). On CUDA they do not: a
reduction kernel chooses how many threads share one output from the size of the whole tensor,
so a bias gradient summed over a mini-batch's rows, a log-softmax over the classes or a mean
loss changed in the last bits with the number of candidates in the stack (seen on an H200:
digits candidates trained alone and five together gave other scores), and ``gather``'s backward
adds with atomics, in no fixed order at all.

So on such devices the training path sums with :func:`pairwise_sum`: halves added elementwise,
an order that depends only on the length of the summed dimension. An elementwise add is one
IEEE rounding wherever the element lies, so the result is the same bits alone or in any stack.
It is ours because no library offers a reduction whose order is fixed by contract; the cost is
``log2(n)`` elementwise kernels per sum, small beside the matrix products on a GPU.
:func:`uses_invariant_reductions` says where it is used: every device but the CPU, whose
results stay the bits they were. The exception is the loss: :func:`cross_entropy_rows` is used on
every device, the CPU included, because torch's fused cross-entropy computes the rows past its
last full vector with scalar code, so on the CPU a short mini-batch got other bits under AVX2
than under AVX-512 (``tests/workers/test_cpu_kernels.py``).
"""

from __future__ import annotations

from typing import Any

import torch

from connevo.workers.kernels import per_candidate_matmul

__all__ = [
    "add_bias",
    "broadcast_bias",
    "cross_entropy_rows",
    "gather_shared",
    "pairwise_mean",
    "pairwise_sum",
    "softmax",
    "uses_invariant_reductions",
]


def uses_invariant_reductions(device: torch.device) -> bool:
    """Whether training on ``device`` sums with :func:`pairwise_sum` (every device but the CPU)."""
    return device.type != "cpu"


def _tree_sum(x: torch.Tensor, dim: int) -> torch.Tensor:
    """The first half plus the second, again and again (an odd element left over is carried to
    the next round), keeping ``dim`` at length 1."""
    n = x.shape[dim]
    if n == 0:
        return x.sum(dim=dim, keepdim=True)  # zeros: no order to fix
    while n > 1:
        half = n // 2
        paired = x.narrow(dim, 0, half) + x.narrow(dim, half, half)
        x = paired if n % 2 == 0 else torch.cat([paired, x.narrow(dim, 2 * half, 1)], dim=dim)
        n = x.shape[dim]
    return x


class _PairwiseSum(torch.autograd.Function):
    """:func:`_tree_sum` with a one-op backward: every summand's gradient is the sum's (an
    expand, where autograd through the tree would replay its slices and adds)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, dim: int) -> torch.Tensor:
        ctx.shape, ctx.dim = x.shape, dim
        return _tree_sum(x, dim)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return grad.expand(ctx.shape), None


def pairwise_sum(x: torch.Tensor, dim: int, keepdim: bool = False) -> torch.Tensor:
    """The sum of ``x`` over ``dim`` as a tree of elementwise adds: the first half plus the
    second, again and again (an odd element left over is carried to the next round). The order
    of the adds is a function of ``x.shape[dim]`` alone. Differentiable."""
    dim = dim % x.dim()
    total = _PairwiseSum.apply(x, dim) if x.requires_grad else _tree_sum(x, dim)
    return total if keepdim else total.squeeze(dim)


def pairwise_mean(x: torch.Tensor, dim: int) -> torch.Tensor:
    """The mean over ``dim``: :func:`pairwise_sum` divided by the count."""
    return pairwise_sum(x, dim) / x.shape[dim]


class _AddBias(torch.autograd.Function):
    """``z + b`` for ``b`` ``(C, 1, W)`` broadcast over the rows of ``z`` ``(C, rows, W)``; the
    bias gradient summed over the rows by :func:`pairwise_sum`."""

    @staticmethod
    def forward(ctx: Any, z: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        ctx.z_dtype = z.dtype
        return b + z

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return grad.to(ctx.z_dtype), pairwise_sum(grad.float(), 1, keepdim=True)


def add_bias(z: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``b + z`` (``b`` ``(C, 1, W)``, ``z`` ``(C, rows, W)``) with a batch-invariant bias gradient."""
    return _AddBias.apply(z, b)


def broadcast_bias(b: torch.Tensor, rows: int) -> torch.Tensor:
    """``b`` ``(C, 1, W)`` repeated over ``rows`` (a level fed by nothing), its gradient summed by
    :func:`pairwise_sum`."""
    return add_bias(torch.zeros(b.shape[0], rows, b.shape[2], dtype=b.dtype, device=b.device), b)


class _GatherShared(torch.autograd.Function):
    """``shared[c, groups[c, p]]``; the backward sums each shared weight's positions by one
    matrix product per candidate (a one-hot matrix of its groups), not by atomic adds."""

    @staticmethod
    def forward(ctx: Any, shared: torch.Tensor, groups: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(groups)
        ctx.width = shared.shape[1]
        return torch.gather(shared, 1, groups)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (groups,) = ctx.saved_tensors
        one_hot = (groups[:, :, None] == torch.arange(ctx.width, device=groups.device)).to(grad.dtype)
        return per_candidate_matmul(grad[:, None, :].contiguous(), one_hot)[:, 0, :], None


def gather_shared(shared: torch.Tensor, groups: torch.Tensor) -> torch.Tensor:
    """``torch.gather(shared, 1, groups)`` with a batch-invariant, atomics-free backward."""
    return _GatherShared.apply(shared, groups)


def _log_normalizer(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(logits - max, log(sum(exp(logits - max))))`` over the last dimension; the max is
    detached (its gradient is zero: the log-sum-exp does not depend on the shift)."""
    shifted = logits - logits.detach().amax(dim=-1, keepdim=True)
    return shifted, torch.log(pairwise_sum(torch.exp(shifted), -1, keepdim=True))


class _CrossEntropyRows(torch.autograd.Function):
    """The cross-entropy of each row, computed with the classes as the first dimension (one
    contiguous slab per class), the gradient ``softmax - one_hot`` written out by hand: fewer
    and larger elementwise ops than autograd through :func:`_log_normalizer`, the same sums."""

    @staticmethod
    def forward(ctx: Any, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        slabs = logits.permute(2, 0, 1).contiguous()  # (classes, C, rows)
        shifted = slabs - slabs.amax(dim=0)  # a max is exact in any order
        exp = torch.exp(shifted)
        total = _tree_sum(exp, 0)[0]  # whole contiguous slabs: one vectorized add a round
        ctx.save_for_backward(exp, total, y)
        return torch.log(total).sub_(torch.gather(shifted, 0, y[None])[0])

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        exp, total, y = ctx.saved_tensors
        probabilities = exp / total
        # one -1 per row at its class: each position receives a single add, so no order to fix
        probabilities.scatter_add_(0, y[None], torch.full((1, *y.shape), -1.0, dtype=exp.dtype, device=exp.device))
        return probabilities.mul_(grad).permute(1, 2, 0), None


def cross_entropy_rows(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per row, the cross-entropy of class logits ``(C, rows, classes)`` against ``y``
    ``(C, rows)``: ``log(sum(exp(logits - max))) - (logits - max)[y]``, from elementwise ops, an
    exact max and a sum over the classes in an order fixed by their count: the same bits in any
    stack, at any offset, and under torch's AVX2 and AVX-512 kernels alike. Differentiable in
    ``logits``."""
    return _CrossEntropyRows.apply(logits, y)


def softmax(logits: torch.Tensor) -> torch.Tensor:
    """Class probabilities over the last dimension, the normalizer batch-invariant."""
    shifted, log_total = _log_normalizer(logits)
    return torch.exp(shifted - log_total)
