"""The numeric kernels of stacked training: per-candidate matmuls, activations, logits, dropout.

Determinism: every matrix product is one BLAS call *per candidate* (:func:`per_candidate_matmul`)
on that candidate's own 64-byte-aligned operands, never a batched GEMM: a batched GEMM may pick
its kernel and summation order from the number and shapes of the whole batch (MKL on AMD EPYC
gives other bits for one entry of a ``bmm`` of 2 or 64 entries than of 1), while a call with the
same arguments gives the same bits. On the CPU in float32 the calls are NumPy's: one
``np.matmul`` over the stack, whose loop calls its BLAS (OpenBLAS) once per candidate with
that candidate's operands (``gemm``; ``gemv`` where the candidate's own shape has a single row
or column), on one BLAS thread (:func:`workers.train.single_thread`; a large stack's calls spread
over the worker's threads, each call unchanged: :mod:`workers.threaded_products`), with
OpenBLAS's Haswell kernels on every x86-64 machine with AVX2 (:mod:`connevo.blas`: its AVX-512
kernels sum in other orders). It is torch's MKL that a stack's products called before: on AMD
CPUs MKL runs its generic code, 1.5-4x slower on these
small products ((128 x 64) @ (64 x 10): 13 us against 3.4 us), and a call per candidate from
Python added a few microseconds each. Every elementwise op used here gives the same bits at any
offset of a tensor (the sigmoid is written as ``1 / (1 + exp(-x))`` because ``torch.sigmoid``'s
scalar tail rounds differently from its vector body). Dropout masks come from a counter-based
hash of (seed, step, level, row, node position) (:func:`dropout_noise`). So a candidate's metrics
do not depend on which candidates share its chunk, its bucket or its worker;
``tests/workers/test_batched.py`` checks this bit for bit. Padding a candidate to *another*
candidate's shape would break it (a candidate's padded shape is a function of its own genome
only, :func:`workers.plans.padded_width`): BLAS picks different kernels and summation orders for
different shapes.

A stack may hold candidates of several shapes padded to one (:mod:`workers.merging`, on the
CPU): each candidate's products then run on its own shape's operands, copied out of the padded
stack (:class:`Part`), so its BLAS calls are the ones a stack of its own shape makes.

On CUDA the same holds by other means (``tests/workers/test_cuda.py``, run on an H200): a
stack's products are one launch of a kernel whose order per candidate is fixed
(:mod:`workers.triton_matmul`; one cuBLAS call per candidate where Triton is missing), and its
sums are pairwise (:mod:`workers.invariant`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import torch

from connevo.workers import threaded_products, triton_matmul
from connevo.workers.sparse_products import SparseBlock, sparse_gradients, sparse_product

__all__ = [
    "ACTIVATION_CODES",
    "ACTIVATIONS_BY_CODE",
    "Autocast",
    "Part",
    "add_bias",
    "class_logits",
    "dropout_noise",
    "per_candidate_matmul",
    "seed_key",
]

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


def _candidates(t: torch.Tensor) -> list[torch.Tensor]:
    """``t[c]`` for every candidate ``c``, each contiguous and on a 64-byte boundary: views of
    :func:`_aligned_stack` (``t`` itself, one matrix for all, or one aligned copy of the stack:
    one copy op where a copy per candidate cost ~3 us each; an output level's gradient arrives
    strided, a last short mini-batch gives parts of odd lengths)."""
    return list(_aligned_stack(t).unbind(0))


def _aligned_copy(t: torch.Tensor) -> torch.Tensor:
    """A copy of the stack ``t`` in which every candidate's matrix is contiguous and starts on a
    64-byte boundary (:func:`_stack_buffer`)."""
    parts = _stack_buffer(*t.shape, like=t)
    parts.copy_(t)
    return parts


def _stack_buffer(count: int, rows: int, cols: int, like: torch.Tensor) -> torch.Tensor:
    """An uninitialised ``(count, rows, cols)`` stack of ``like``'s dtype in which every ``[c]`` is
    contiguous and starts on a 64-byte boundary (each part's length rounded up to 64 bytes)."""
    per = _ALIGNMENT // like.element_size()
    step = -(-(rows * cols) // per) * per
    buffer = torch.empty(count * step + per, dtype=like.dtype, device=like.device)
    start = (-buffer.data_ptr() % _ALIGNMENT) // like.element_size()
    return buffer.as_strided((count, rows, cols), (step, cols, 1), start)


def _aligned_stack(t: torch.Tensor) -> torch.Tensor:
    """The stack ``t`` (``(C, r, k)``) with every candidate's matrix contiguous and on a 64-byte
    boundary: ``t`` itself when it is so; one aligned matrix expanded over the candidates when
    ``t`` is one matrix expanded (scoring rows, the hints' inputs); else one copy."""
    if t.stride(0) == 0:
        return _aligned(t[0]).expand(t.shape)
    if t.is_contiguous() and t.data_ptr() % _ALIGNMENT == 0 and (t[0].numel() * t.element_size()) % _ALIGNMENT == 0:
        return t
    return _aligned_copy(t)


def _blas_products(left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
    """``left[c] @ right[c]`` for every candidate ``c`` of two aligned stacks (transposed views of
    them too), as one ``np.matmul``: its loop makes one BLAS call per candidate on that
    candidate's operands, writing into its own aligned part of the result."""
    out = _stack_buffer(left.shape[0], left.shape[1], right.shape[2], like=left)
    threaded_products.run([threaded_products.Product(left.detach().numpy(), right.detach().numpy(), out.numpy())])
    return out


def _gemm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """One candidate's ``a @ b`` (aligned operands) as :func:`_blas_products` computes it in a stack."""
    return _blas_products(a[None], b[None])[0]


def _products(left: list[torch.Tensor], right: list[torch.Tensor]) -> torch.Tensor:
    """``left[c] @ right[c]`` for every candidate ``c``, one ``torch.mm`` each (operands from
    :func:`_candidates`), each result in an allocation of its own, stacked."""
    return torch.stack(list(map(torch.mm, left, right)))


def _transposed(matrices: list[torch.Tensor]) -> list[torch.Tensor]:
    return list(map(torch.t, matrices))


class _Kernel(NamedTuple):
    """How :class:`_PerCandidateMatmul` splits, multiplies and transposes the operands of a stack."""

    split: Callable[[torch.Tensor], Any]        # a stack -> the candidates' aligned operands
    multiply: Callable[[Any, Any], torch.Tensor]
    transpose: Callable[[Any], Any]


_TORCH = _Kernel(_candidates, _products, _transposed)
"""A ``torch.mm`` per candidate, from Python: the dtypes NumPy lacks (bfloat16 under autocast)."""
_BLAS = _Kernel(_aligned_stack, _blas_products, lambda t: t.transpose(1, 2))
"""One ``np.matmul`` per stack: float32 on the CPU."""


class _PerCandidateMatmul(torch.autograd.Function):
    """``(C, r, k) @ (C, k, n)`` as one matrix product per candidate, forward and backward, by a
    :class:`_Kernel`. The backward reuses the forward's per-candidate operands, and splits the
    incoming gradient into candidates once for both products (an output level's gradient arrives
    strided: one copy)."""

    @staticmethod
    def forward(ctx: Any, a: torch.Tensor, w: torch.Tensor, kernel: _Kernel) -> torch.Tensor:
        ctx.save_for_backward(a, w)  # kept for autograd's check that neither changed in place
        ctx.kernel, ctx.operands = kernel, (kernel.split(a), kernel.split(w))
        return kernel.multiply(*ctx.operands)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None, None]:
        ctx.saved_tensors  # noqa: B018 -- raises if a or w was modified in place since the forward
        kernel, (a, w) = ctx.kernel, ctx.operands
        del ctx.operands
        g = kernel.split(grad)
        grad_a = kernel.multiply(g, kernel.transpose(w)) if ctx.needs_input_grad[0] else None
        grad_w = kernel.multiply(kernel.transpose(a), g) if ctx.needs_input_grad[1] else None
        return grad_a, grad_w, None


class _MixedMatmul(torch.autograd.Function):
    """:class:`_PerCandidateMatmul` where some candidates' weight blocks are sparse
    (:mod:`workers.sparse_products`): theirs on their connections only, the others' as BLAS
    calls exactly as there."""

    @staticmethod
    def forward(ctx: Any, a: torch.Tensor, w: torch.Tensor, blocks: list[SparseBlock | None]) -> torch.Tensor:
        ctx.save_for_backward(a, w)
        a_parts, w_parts = _candidates(a), _candidates(w)
        common = a.stride(0) == 0  # one input matrix for all (scoring): transposed once
        shared_t: torch.Tensor | None = None
        transposed: list[torch.Tensor | None] = []
        for c, block in enumerate(blocks):
            if block is None:
                transposed.append(None)
            elif common:
                shared_t = a_parts[c].t().contiguous() if shared_t is None else shared_t
                transposed.append(shared_t)
            else:
                transposed.append(a_parts[c].t().contiguous())
        ctx.operands, ctx.blocks = (a_parts, w_parts, transposed), blocks
        return torch.stack([
            _gemm(a_parts[c], w_parts[c]) if block is None else sparse_product(a_parts[c], transposed[c],
                                                                               w_parts[c], block)
            for c, block in enumerate(blocks)])

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None, None]:
        ctx.saved_tensors  # noqa: B018 -- raises if a or w was modified in place since the forward
        (a_parts, w_parts, transposed), blocks = ctx.operands, ctx.blocks
        del ctx.operands, ctx.blocks
        need_a, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        grad_parts = _candidates(grad)
        grads_a, grads_w = [], []
        for c, block in enumerate(blocks):
            if block is None:  # as the _BLAS kernel computes them
                grads_a.append(_gemm(grad_parts[c], w_parts[c].t()) if need_a else None)
                grads_w.append(_gemm(a_parts[c].t(), grad_parts[c]) if need_w else None)
            else:
                ga, gw = sparse_gradients(transposed[c], w_parts[c], grad_parts[c], block, need_a, need_w)
                grads_a.append(ga)
                grads_w.append(gw)
        grad_a = torch.stack(grads_a) if need_a else None  # type: ignore[arg-type]
        grad_w = torch.stack(grads_w) if need_w else None  # type: ignore[arg-type]
        return grad_a, grad_w, None


Selection = int | np.ndarray | None
"""Of one dimension of an operand: None, all of it; an int ``n``, its first ``n``; an array, those indices."""


class Part(NamedTuple):
    """Candidates ``start:stop`` of a stack of candidates of several own shapes padded to one
    (:mod:`workers.merging`), all of one own shape: their product is ``a[c][rows][:, inner] @
    w[c][inner][:, cols]``, the operands of that own shape, as a stack of that shape alone multiplies."""

    start: int
    stop: int
    rows: Selection    # of the left operand's rows
    inner: Selection   # of the inner dimension
    cols: Selection    # of the right operand's columns


def _length(selection: Selection, full: int) -> int:
    if selection is None:
        return full
    return selection if isinstance(selection, int) else len(selection)


def _index(selection: Selection) -> slice | np.ndarray:
    if selection is None:
        return slice(None)
    return slice(0, selection) if isinstance(selection, int) else selection


def _taken(stack: np.ndarray, part: Part, rows: Selection, cols: Selection) -> np.ndarray:
    """``stack[part.start:part.stop]`` at ``rows`` x ``cols`` (a view where both are slices; a
    part has indices in one of its dimensions at most)."""
    return stack[part.start : part.stop, _index(rows), _index(cols)]


def _aligned_views(shapes: list[tuple[int, int, int]]) -> list[np.ndarray]:
    """Uninitialised float32 stacks of ``shapes`` in one allocation, every matrix of each
    contiguous and on a 64-byte boundary (as :func:`_stack_buffer`'s)."""
    per = _ALIGNMENT // 4
    steps = [-(-(rows * cols) // per) * per for _, rows, cols in shapes]
    allocation = torch.empty(sum(count * step for (count, _, _), step in zip(shapes, steps)) + per)
    at = (-allocation.data_ptr() % _ALIGNMENT) // 4  # (numpy's ctypes.data costs ~10 us a call)
    buffer = allocation.numpy()
    views = []
    for (count, rows, cols), step in zip(shapes, steps):
        block = buffer[at : at + count * step].reshape(count, step)
        views.append(block[:, : rows * cols].reshape(count, rows, cols))
        at += count * step
    return views


def _own_operands(stack: np.ndarray, parts: list[Part], rows: list[Selection], cols: list[Selection]
                  ) -> list[np.ndarray]:
    """Per part, its candidates' own matrices of the aligned ``stack`` (``rows`` x ``cols`` per
    part), each contiguous and aligned: a view where the part takes whole matrices, else a copy."""
    out: list[np.ndarray | None] = [None] * len(parts)
    copies = []
    for k, (part, r, c) in enumerate(zip(parts, rows, cols)):
        if r is None and c is None:
            out[k] = stack[part.start : part.stop]
        else:
            copies.append(k)
    if copies:
        shapes = [(parts[k].stop - parts[k].start, _length(rows[k], stack.shape[1]), _length(cols[k], stack.shape[2]))
                  for k in copies]
        for k, view in zip(copies, _aligned_views(shapes)):
            np.copyto(view, _taken(stack, parts[k], rows[k], cols[k]))
            out[k] = view
    return out  # type: ignore[return-value]


def _parted_products(left: list[np.ndarray], right: list[np.ndarray], out: np.ndarray, parts: list[Part],
                     rows: list[Selection], cols: list[Selection]) -> None:
    """Per part, ``left @ right`` (one BLAS call per candidate, into aligned matrices of their
    own), written into ``out`` (zeros) at ``rows`` x ``cols``."""
    results = _aligned_views([(lhs.shape[0], lhs.shape[1], r.shape[2]) for lhs, r in zip(left, right)])

    def scatter(part: Part, result: np.ndarray, rs: Selection, cs: Selection) -> Callable[[int, int], None]:
        def write(start: int, stop: int) -> None:
            out[part.start + start : part.start + stop, _index(rs), _index(cs)] = result[start:stop]
        return write

    threaded_products.run([threaded_products.Product(lhs, r, result, scatter(part, result, rs, cs))
                           for part, lhs, r, result, rs, cs in zip(parts, left, right, results, rows, cols)])


class _PartedMatmul(torch.autograd.Function):
    """:class:`_PerCandidateMatmul` (float32 on the CPU) over a stack padded beyond some of its
    candidates' own shapes: each :class:`Part`'s product and gradients are the BLAS calls a stack of
    its own shape makes, on aligned copies of its own operands (the same bits: the same
    arguments); the padding outside them is zero, forward and backward. In NumPy: a few
    microseconds less per part than torch's ops, and a part's work is a handful of them."""

    @staticmethod
    def forward(ctx: Any, a: torch.Tensor, w: torch.Tensor, parts: list[Part]) -> torch.Tensor:
        ctx.save_for_backward(a, w)
        a_np, w_np = _aligned_stack(a.detach()).numpy(), _aligned_stack(w.detach()).numpy()
        left = _own_operands(a_np, parts, [p.rows for p in parts], [p.inner for p in parts])
        right = _own_operands(w_np, parts, [p.inner for p in parts], [p.cols for p in parts])
        out = torch.zeros(a.shape[0], a.shape[1], w.shape[2])
        _parted_products(left, right, out.numpy(), parts, [p.rows for p in parts], [p.cols for p in parts])
        ctx.parts, ctx.operands = parts, (left, right)
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None, None]:
        a, w = ctx.saved_tensors  # raises if a or w was modified in place since the forward
        parts, (left, right) = ctx.parts, ctx.operands
        del ctx.operands
        g = _own_operands(_aligned_stack(grad.detach()).numpy(), parts, [p.rows for p in parts],
                          [p.cols for p in parts])
        grad_a = grad_w = None
        if ctx.needs_input_grad[0]:
            grad_a = torch.zeros(a.shape)
            _parted_products(g, [r.transpose(0, 2, 1) for r in right], grad_a.numpy(), parts,
                             [p.rows for p in parts], [p.inner for p in parts])
        if ctx.needs_input_grad[1]:
            grad_w = torch.zeros(w.shape)
            _parted_products([lhs.transpose(0, 2, 1) for lhs in left], g, grad_w.numpy(), parts,
                             [p.inner for p in parts], [p.cols for p in parts])
        return grad_a, grad_w, None


class _AddBias(torch.autograd.Function):
    """``b + z`` for ``b`` ``(C, 1, W)`` over the rows of ``z`` ``(C, rows, W)`` in a stack padded
    beyond some candidates' own shapes: each part's bias gradient summed over the rows of its own
    columns (a contiguous copy where the level is wider than theirs), the tensor a stack of its
    own shape sums."""

    @staticmethod
    def forward(ctx: Any, z: torch.Tensor, b: torch.Tensor, parts: list[Part]) -> torch.Tensor:
        ctx.parts = parts
        return b + z

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, None]:
        grad_b = grad.new_zeros(grad.shape[0], 1, grad.shape[2])
        for part in ctx.parts:
            own = grad[part.start : part.stop]  # a level as wide as theirs: summed as it comes, as there
            if part.cols is not None:
                own = own[:, :, _index(part.cols)].contiguous()
            grad_b[part.start : part.stop, :, _index(part.cols)] = own.sum(dim=1, keepdim=True)
        return grad, grad_b, None


def add_bias(z: torch.Tensor, b: torch.Tensor, parts: list[Part]) -> torch.Tensor:
    """``b + z`` (``b`` ``(C, 1, W)``, ``z`` ``(C, rows, W)``) in a stack of several own shapes,
    each part's bias gradient summed on its own shape (:class:`_AddBias`)."""
    return _AddBias.apply(z, b, parts)


def per_candidate_matmul(a: torch.Tensor, w: torch.Tensor,
                         sparse: list[SparseBlock | None] | None = None,
                         parts: list[Part] | None = None) -> torch.Tensor:
    """``a @ w`` over stacked candidates (``(C, r, k) @ (C, k, n)``), each candidate's product and
    its gradients computed by BLAS calls of its own on aligned operands: the same bits whatever
    the other candidates of the stack and their number (see the module doc). Under autocast
    both operands are cast to the autocast dtype, as autocast does for ``bmm``. On CUDA (with
    Triton) the whole stack is one launch of a kernel that computes each candidate's product in
    a fixed order (:mod:`workers.triton_matmul`): the same guarantee, without a launch per candidate.
    ``sparse``: per candidate, its weight block's pattern where the product runs on the
    connections only (:mod:`workers.sparse_products`; float32 only). ``parts``: where the
    stack holds candidates of several own shapes padded to one (:mod:`workers.merging`; float32 on
    the CPU only), each part's product on its own shape (:class:`Part`)."""
    if parts is not None:
        if a.device.type != "cpu" or a.dtype != torch.float32 or w.dtype != torch.float32 or sparse is not None:
            raise ValueError("a stack of several own shapes multiplies in float32 on the CPU, densely")
        return _PartedMatmul.apply(a, w, parts)
    device = a.device.type
    if not torch.is_autocast_enabled(device):  # float32 training: no autocast context to leave
        return _matmul(a, w, sparse)
    dtype = torch.get_autocast_dtype(device)
    with torch.autocast(device, enabled=False):
        return _matmul(a.to(dtype), w.to(dtype), sparse)


def _matmul(a: torch.Tensor, w: torch.Tensor, sparse: list[SparseBlock | None] | None) -> torch.Tensor:
    if triton_matmul.available(a.device):
        return triton_matmul.stacked_matmul(a, w)
    float32_cpu = a.device.type == "cpu" and a.dtype == torch.float32 and w.dtype == torch.float32
    if sparse is not None and float32_cpu:
        return _MixedMatmul.apply(a, w, sparse)
    return _PerCandidateMatmul.apply(a, w, _BLAS if float32_cpu else _TORCH)


class Autocast:
    """A factory of the autocast context of a training precision (bfloat16 or none)."""

    def __init__(self, device: torch.device, precision: str) -> None:
        self.device, self.enabled = device, precision == "bfloat16"

    def __call__(self) -> Any:
        if not self.enabled:  # float32: no context to enter and leave every step
            return contextlib.nullcontext()
        # no cast cache off the CPU: a CUDA graph of a step must not capture cached casts
        return torch.autocast(self.device.type, dtype=torch.bfloat16, cache_enabled=self.device.type == "cpu")


def _steep_tanh(x: torch.Tensor) -> torch.Tensor:
    return torch.tanh(20.0 * x)


ACTIVATIONS_BY_CODE: dict[int, Callable[[torch.Tensor], torch.Tensor]] = {
    0: lambda x: x,
    1: torch.relu,
    2: torch.tanh,
    3: _Sigmoid.apply,
    4: _steep_tanh,
}
"""The activation function of each code of :data:`ACTIVATION_CODES`."""


def class_logits(logits: torch.Tensor) -> torch.Tensor:
    """Logits over the classes: a single output ``z`` of a two-class task is the logit of
    class 1 against class 0, i.e. the class logits are ``(0, z)`` (cross-entropy = logistic loss)."""
    if logits.shape[-1] != 1:
        return logits
    return torch.cat([torch.zeros_like(logits), logits], dim=-1)


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
    keys: torch.Tensor, p: torch.Tensor, step: int | torch.Tensor, level: int, rows: int, width: int
) -> torch.Tensor:
    """Inverted-dropout multipliers ``(C, rows, width)``: 0 or ``1 / (1 - p)``.

    Element ``(c, r, j)`` depends only on (``keys[c]``, ``step``, ``level``, ``r``, ``j``), so a
    candidate gets the same mask alone or in a stack, and whatever its level is padded to.
    ``keys``: int64 ``(C,)`` from :func:`seed_key`; ``p``: float32 ``(C,)`` drop probabilities;
    ``step``: an int, or an int64 0-d tensor on ``keys``' device (the same masks, exact integers).
    """
    device = keys.device
    base = _mix(keys ^ ((step * 0x9E3779B + level * 0x7F4A7C1) & _MASK32))          # (C,)
    row = _mix(base[:, None] ^ torch.arange(rows, device=device, dtype=torch.int64))  # (C, rows)
    col = (torch.arange(width, device=device, dtype=torch.int64) * 0x27D4EB2F) & _MASK32
    h = _mix((row[:, :, None] + col) & _MASK32)
    uniform = (h >> 8).to(torch.float32) * (1.0 / (1 << 24))
    scale = (1.0 / (1.0 - p.double())).to(torch.float32)
    return (uniform >= p[:, None, None]).to(torch.float32) * scale[:, None, None]
