"""The optimizer of both training paths: Adam over stacked parameters, row by row as alone."""

from __future__ import annotations

import math

import torch

__all__ = ["Adam"]


class Adam:
    """Adam (Kingma and Ba; torch's defaults) as seven ``torch._foreach_*`` calls per step.

    The arithmetic of ``torch.optim.Adam``'s single-tensor path, elementwise, so a stacked
    parameter's rows are updated exactly as each candidate's own would be. Both training paths
    use it. After :meth:`step` the gradients are cleared. ``scales`` (one tensor per parameter,
    broadcastable to its shape) multiply each element's step: per-element learning rates, ``lr x scale``.
    """

    def __init__(self, params: list[torch.Tensor], lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, scales: list[torch.Tensor] | None = None) -> None:
        self.params = list(params)
        self.lr, self.betas, self.eps = lr, betas, eps
        self.scales = scales
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
        if self.scales is None:
            torch._foreach_addcdiv_(self.params, self.exp_avg, denom, -step_size)
        else:
            update = torch._foreach_div(self.exp_avg, denom)
            torch._foreach_mul_(update, self.scales)
            torch._foreach_add_(self.params, update, alpha=-step_size)
        for p in self.params:
            p.grad = None

    def select(self, params: list[torch.Tensor], rows: torch.Tensor) -> Adam:
        """The state of stack rows ``rows`` for the (compacted) ``params``."""
        scales = None if self.scales is None else [t.index_select(0, rows) for t in self.scales]
        out = Adam(params, self.lr, self.betas, self.eps, scales)
        out.steps = self.steps
        out.exp_avg = [t.index_select(0, rows) for t in self.exp_avg]
        out.exp_avg_sq = [t.index_select(0, rows) for t in self.exp_avg_sq]
        return out
