"""Sparse matrix products for candidates whose weight blocks are mostly absent connections.

A stack holds each candidate's weight block dense and masked, ``(in, width)``, and multiplies it
whole: at 784 inputs a candidate with 5% of the block's connections pays for all of them. For
such a block the product runs on its connections only, in compressed sparse rows (torch's CSR
kernels), forward and backward: ``a @ W`` as ``(W^T a^T)^T``, the input gradient as
``(W g^T)^T``, the weight gradient only where connections are (a sampled product,
``torch.sparse.sampled_addmm``). Measured on one core (2 cores, AMD EPYC, 128 rows, forward and
backward through :func:`workers.kernels.per_candidate_matmul`, a CSR matrix made from the
weights at each step), the sparse path's time as a share of the dense one's:

| inputs x width | dense | 1% | 2% | 5% | 10% of the block present |
|---|---|---|---|---|---|
| 784 x 16 | 252 us | | 1.92 | 2.01 | 2.22 |
| 784 x 64 | 570 us | | 0.95 | 1.13 | 1.34 |
| 784 x 128 | 1.06 ms | 0.56 | 0.62 | 0.74 | 0.95 |
| 784 x 256 | 1.89 ms | 0.37 | 0.43 | 0.59 | 0.90 |
| 2048 x 256 | 5.61 ms | 0.27 | 0.34 | 0.66 | 0.95 |
| 2048 x 512 | 10.6 ms | 0.25 | 0.30 | 0.50 | 0.87 |

Below about 100,000 weights a block's fixed costs (the CSR matrices, the transposed operands)
outweigh what it saves; above it, sparse pays up to a few percent present. (The dense column is
torch's MKL products. Measured again the same way after the dense products moved to NumPy's BLAS,
the crossing did not move: dense 546 us at 784 x 64 and 946 us at 784 x 128, the sparse shares
at 2% 0.96 and 0.64, at 5% 1.08 and 0.78. NumPy's BLAS is much faster only on small operands.)
:func:`prefers_sparse` is the rule drawn from it, a function of the candidate's own block (its
size and connections) with fixed constants: which kernel a candidate gets never depends on its
company or the machine, so a candidate's result stays its own (:mod:`workers.kernels`). The
CPU only, in float32: CUDA's products are one launch per stack (:mod:`workers.triton_matmul`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["MAX_DENSITY", "MIN_BLOCK", "SparseBlock", "prefers_sparse", "sparse_blocks", "sparse_gradients", "sparse_product"]

MIN_BLOCK = 100_000
"""Blocks of fewer weights (inputs x width) stay dense: below it the sparse kernels' fixed costs win."""
MAX_DENSITY = 0.03
"""Blocks with a larger share of their weights present stay dense."""


def prefers_sparse(rows: int, cols: int, present: int) -> bool:
    """Whether a ``rows x cols`` weight block with ``present`` connections multiplies sparse."""
    return rows * cols >= MIN_BLOCK and present <= MAX_DENSITY * rows * cols


@dataclass(frozen=True)
class SparseBlock:
    """One candidate's block pattern: CSR of ``W`` (``(in, width)``) and of ``W^T``, and where
    each stored value sits in the dense block (flat positions, row-major)."""

    rows: int
    cols: int
    crow: torch.Tensor
    col: torch.Tensor
    flat: torch.Tensor          # positions of W's values, in W's CSR order
    crow_t: torch.Tensor
    col_t: torch.Tensor
    flat_t: torch.Tensor        # positions of W's values, in W^T's CSR order

    @classmethod
    def of(cls, pattern: np.ndarray, device: torch.device) -> SparseBlock:
        rows, cols = pattern.shape
        r, c = np.nonzero(pattern)                      # row-major: W's CSR order
        order_t = np.lexsort((r, c))                    # by column, then row: W^T's CSR order

        def crow_of(index: np.ndarray, length: int) -> np.ndarray:
            return np.concatenate([[0], np.cumsum(np.bincount(index, minlength=length))])

        def as_tensor(a: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(a, dtype=np.int64)).to(device)

        return cls(rows, cols, as_tensor(crow_of(r, rows)), as_tensor(c), as_tensor(r * cols + c),
                   as_tensor(crow_of(c, cols)), as_tensor(r[order_t]), as_tensor((r * cols + c)[order_t]))

    def matrix(self, w: torch.Tensor) -> torch.Tensor:
        """``w`` ``(in, width)`` dense as CSR on the pattern."""
        return _csr(self.crow, self.col, w.reshape(-1)[self.flat], (self.rows, self.cols))

    def transposed(self, w: torch.Tensor) -> torch.Tensor:
        """``w^T`` as CSR on the pattern."""
        return _csr(self.crow_t, self.col_t, w.reshape(-1)[self.flat_t], (self.cols, self.rows))


def _csr(crow: torch.Tensor, col: torch.Tensor, values: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    with warnings.catch_warnings():  # "Sparse CSR tensor support is in beta state": what is used here is tested
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(crow, col, values, size=size)


def sparse_blocks(patterns: list[np.ndarray], device: torch.device) -> list[SparseBlock | None] | None:
    """Per candidate, its :class:`SparseBlock` where :func:`prefers_sparse` says so, else None;
    None for all when no candidate's block is sparse (or off the CPU)."""
    if device.type != "cpu":
        return None
    blocks = [SparseBlock.of(p, device) if prefers_sparse(*p.shape, int(np.count_nonzero(p))) else None
              for p in patterns]
    return blocks if any(b is not None for b in blocks) else None


def sparse_product(a: torch.Tensor, a_t: torch.Tensor, w: torch.Tensor, block: SparseBlock) -> torch.Tensor:
    """``a @ w`` ``(rows, width)`` on ``block``'s pattern (``a_t``: ``a`` transposed, contiguous)."""
    return (block.transposed(w) @ a_t).t()


def sparse_gradients(a_t: torch.Tensor | None, w: torch.Tensor, grad: torch.Tensor, block: SparseBlock,
                     need_a: bool, need_w: bool) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """The input gradient ``grad @ w^T`` and the weight gradient ``a^T @ grad`` on the pattern
    (zero elsewhere, dense ``(in, width)``) of one candidate's sparse product."""
    grad_a = (block.matrix(w) @ grad.t().contiguous()).t() if need_a else None
    grad_w = None
    if need_w and a_t is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            sampled = torch.sparse.sampled_addmm(block.matrix(torch.zeros_like(w)), a_t, grad, beta=0.0)
        grad_w = torch.zeros(block.rows * block.cols, dtype=w.dtype, device=w.device)
        grad_w[block.flat] = sampled.values()
        grad_w = grad_w.view(block.rows, block.cols)
    return grad_a, grad_w
