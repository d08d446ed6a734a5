"""Stacked matrix products on CUDA in one kernel launch, each candidate's in a fixed order (Triton).

On the CPU a candidate's product is one BLAS call of its own (:mod:`workers.kernels`). On a GPU
that is one kernel launch per candidate: on an H200, 64 digits-sized products took 1.3 ms one
by one against 25 us as one ``torch.bmm``, and training ran at half the speed of two CPU cores.
``torch.bmm`` is no way out: cuBLAS picks its kernel from the whole batch, and an entry of a
64-entry ``bmm`` had other bits than the same product alone (measured there).

This kernel computes every candidate's product in one launch, and each output tile the same way
whatever the grid: a ``BLOCK_M x BLOCK_N`` tile accumulates ``BLOCK_K``-wide slices of the
shared dimension in order, with fixed block sizes and warps (no autotuning), in float32 (IEEE
products, no TF32). A candidate's result is then a function of its own operands and shapes, so
it is the same bits alone or in any stack. Ours because no library's batched product promises
that; cuBLAS and Triton's own tutorials choose tiles by the problem's size.
"""

from __future__ import annotations

import functools
from typing import Any

import torch

__all__ = ["available", "stacked_matmul"]

BLOCK_M, BLOCK_N, BLOCK_K, WARPS = 64, 32, 32, 4


@functools.cache
def _kernel() -> Any:
    """The compiled-on-demand Triton kernel (imported on first use: CPU machines need no Triton)."""
    import triton
    import triton.language as tl

    @triton.jit(do_not_specialize=["M", "N", "K", "sab", "sam", "sak", "sbb", "sbk", "sbn", "scb", "scm", "scn"])
    def stacked_matmul_kernel(a, b, c, M, N, K, sab, sam, sak, sbb, sbk, sbn, scb, scm, scn,
                              BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
                              IEEE: tl.constexpr):
        pid_m, pid_n, pid_c = tl.program_id(0), tl.program_id(1), tl.program_id(2).to(tl.int64)
        rm = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
        rn = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
        rk = tl.arange(0, BLOCK_K)
        a_ptrs = a + pid_c * sab + rm[:, None] * sam + rk[None, :] * sak
        b_ptrs = b + pid_c * sbb + rk[:, None] * sbk + rn[None, :] * sbn
        acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
        for k0 in range(0, K, BLOCK_K):
            a_tile = tl.load(a_ptrs, mask=(rm[:, None] < M) & (rk[None, :] + k0 < K), other=0.0)
            b_tile = tl.load(b_ptrs, mask=(rk[:, None] + k0 < K) & (rn[None, :] < N), other=0.0)
            if IEEE:
                acc = tl.dot(a_tile, b_tile, acc, input_precision="ieee")
            else:
                acc = tl.dot(a_tile, b_tile, acc)
            a_ptrs += BLOCK_K * sak
            b_ptrs += BLOCK_K * sbk
        c_ptrs = c + pid_c * scb + rm[:, None] * scm + rn[None, :] * scn
        tl.store(c_ptrs, acc.to(c.dtype.element_ty), mask=(rm[:, None] < M) & (rn[None, :] < N))

    return stacked_matmul_kernel


@functools.cache
def _triton_importable() -> bool:
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


def available(device: torch.device) -> bool:
    """Whether :func:`stacked_matmul` runs on ``device``: a CUDA device with Triton installed."""
    return device.type == "cuda" and _triton_importable()


def _launch(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a[c] @ b[c]`` for every ``c`` of ``(C, M, K)`` and ``(C, K, N)`` (any strides, one dtype)."""
    count, m, k = a.shape
    n = b.shape[2]
    out = torch.empty(count, m, n, dtype=a.dtype, device=a.device)
    if count == 0 or m == 0 or n == 0:
        return out
    if k == 0:
        return out.zero_()
    grid = (-(-m // BLOCK_M), -(-n // BLOCK_N), count)
    _kernel()[grid](a, b, out, m, n, k, *a.stride(), *b.stride(), *out.stride(),
                    BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N, BLOCK_K=BLOCK_K, IEEE=a.dtype == torch.float32,
                    num_warps=WARPS)
    return out


class _StackedMatmul(torch.autograd.Function):
    """Forward and both backward products through :func:`_launch`."""

    @staticmethod
    def forward(ctx: Any, a: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(a, w)
        return _launch(a, w)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        a, w = ctx.saved_tensors
        grad = grad.to(a.dtype)
        grad_a = _launch(grad, w.transpose(1, 2)) if ctx.needs_input_grad[0] else None
        grad_w = _launch(a.transpose(1, 2), grad) if ctx.needs_input_grad[1] else None
        return grad_a, grad_w


def stacked_matmul(a: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``a @ w`` over stacked candidates (``(C, r, k) @ (C, k, n)``, one dtype), differentiable:
    one launch for the stack, each candidate's bits its own (see the module doc)."""
    return _StackedMatmul.apply(a, w)
