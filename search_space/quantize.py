"""Dynamic int8 quantization of a trained genome network.

Weights are quantized once, per output neuron (symmetric, scale = max|w| / 127); activations
are quantized per batch and layer when the network runs (dynamic quantization). Products are
accumulated exactly in int32 and rescaled to floats before the bias and activation.
"""

from __future__ import annotations

import torch
from torch import nn

from connevo.search_space.compile import ACTIVATION_FUNCTIONS, GenomeNetwork

QMAX = 127


def _symmetric_scale(values: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    peak = values.abs().max() if dim is None else values.abs().amax(dim=dim)
    return torch.clamp(peak / QMAX, min=1e-12)


class Int8Network(nn.Module):
    """Inference-only int8 form of a :class:`GenomeNetwork` (same inputs and outputs)."""

    def __init__(self, network: GenomeNetwork) -> None:
        super().__init__()
        self.layer_groups = network.layer_groups
        self.output_columns = network.output_columns
        self.two_class_logits = network.two_class_logits
        self.neurons = 0
        # buffers, so that the module's state (and an exported file) holds the int8 weights
        with torch.no_grad():
            for i, (weight, bias) in enumerate(zip(network.effective_weights(), network.biases)):
                scale = _symmetric_scale(weight, dim=1)
                self.register_buffer(f"qweight{i}", torch.round(weight / scale[:, None]).clamp(-QMAX, QMAX).to(torch.int8))
                self.register_buffer(f"scale{i}", scale)
                self.register_buffer(f"bias{i}", bias.detach().clone())
                self.neurons += len(scale)
        self.connections = sum(int((w != 0).sum()) for w in network.effective_weights())
        self.n_shared = network.n_shared

    def weight_bytes(self) -> int:
        """Bytes of the stored numbers: one byte per connection weight, a float32 scale per
        neuron and a float32 bias per neuron."""
        return self.connections + 4 * self.neurons + 4 * self.neurons

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        acts = x.float()
        for i, groups in enumerate(self.layer_groups):
            qweight, scale, bias = getattr(self, f"qweight{i}"), getattr(self, f"scale{i}"), getattr(self, f"bias{i}")
            act_scale = _symmetric_scale(acts)
            qacts = torch.round(acts / act_scale).clamp(-QMAX, QMAX).to(torch.int32)
            z = (qacts @ qweight.to(torch.int32).T).float() * (act_scale * scale) + bias
            parts = [ACTIVATION_FUNCTIONS[act](z[:, start:end]) for act, start, end in groups]
            acts = torch.cat([acts, *parts], dim=1)
        out = acts[:, self.output_columns]
        if len(self.output_columns) == 1 and self.two_class_logits:
            out = torch.cat([torch.zeros_like(out), out], dim=1)
        return out
