"""The optimizer of both training paths: Adam over stacked parameters, row by row as alone."""

from __future__ import annotations

import math

import torch

__all__ = ["Adam"]


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
    """

    def __init__(self, params: list[torch.Tensor], lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, scales: list[torch.Tensor] | None = None,
                 device_scalars: bool = False) -> None:
        self.params = list(params)
        self.lr, self.betas, self.eps = lr, betas, eps
        self.scales = scales
        self.steps = 0
        self.device_scalars = device_scalars
        device = self.params[0].device if self.params else torch.device("cpu")
        self.step_count = torch.zeros((), dtype=torch.float64, device=device) if device_scalars else None
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
        denom = torch._foreach_sqrt(self.exp_avg_sq)
        if self.step_count is not None:
            self._device_update(denom)
        else:
            step_size = self.lr / (1 - beta1**self.steps)
            bias_correction2_sqrt = math.sqrt(1 - beta2**self.steps)
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
        out = Adam(params, self.lr, self.betas, self.eps, scales, self.device_scalars)
        out.steps = self.steps
        if self.step_count is not None:
            out.step_count = self.step_count.clone()
        out.exp_avg = [t.index_select(0, rows) for t in self.exp_avg]
        out.exp_avg_sq = [t.index_select(0, rows) for t in self.exp_avg_sq]
        return out
