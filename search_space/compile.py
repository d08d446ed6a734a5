"""Compile a genome into a torch module whose forward pass honours exactly its connections.

The live network is computed layer by layer (:mod:`search_space.layout`). Each layer holds a
dense weight matrix from every earlier node to the layer's nodes, multiplied by a fixed 0/1 mask
with a 1 exactly where the genome has an effective connection; masked entries get no gradient
and never reach the output. Nodes in a layer are grouped by activation.
"""

from __future__ import annotations

import math
from dataclasses import replace

import torch
from torch import nn

from search_space.genome import Genome
from search_space.layout import layered_layout


def steep_tanh(x: torch.Tensor) -> torch.Tensor:
    return torch.tanh(20.0 * x)


ACTIVATION_FUNCTIONS = {
    "relu": torch.relu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "identity": lambda x: x,
    "steep_tanh": steep_tanh,
}


class GenomeNetwork(nn.Module):
    """The torch form of one genome. Input: (batch, n_inputs) floats; output: (batch, n_outputs)."""

    def __init__(self, genome: Genome, *, use_genome_weights: bool = False, generator: torch.Generator | None = None) -> None:
        super().__init__()
        layout = layered_layout(genome)
        self.input_ids = list(genome.input_ids)
        self.output_ids = list(genome.output_ids)
        nodes = genome.node_by_id
        incoming: dict[int, list] = {}
        for c in genome.effective_connections:
            incoming.setdefault(c.target, []).append(c)

        # Column of each node in the running activation matrix: inputs first, then layer by layer.
        column = {node: i for i, node in enumerate(self.input_ids)}
        width = len(self.input_ids)
        self.layer_nodes: list[list[int]] = []
        self.layer_groups: list[list[tuple[str, int, int]]] = []
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for index, layer in enumerate(layout.layers[1:], start=1):
            # Order the layer by (activation, id) so each activation is one contiguous slice.
            ordered = sorted(layer, key=lambda n: (nodes[n].activation, n))
            mask = torch.zeros(len(ordered), width)
            weight = torch.zeros(len(ordered), width)
            bias = torch.zeros(len(ordered))
            for row, node in enumerate(ordered):
                genes = incoming.get(node, [])
                bound = 1.0 / math.sqrt(max(1, len(genes)))
                init = torch.empty(len(genes)).uniform_(-bound, bound, generator=generator)
                for k, gene in enumerate(genes):
                    col = column[gene.source]
                    mask[row, col] = 1.0
                    if use_genome_weights and gene.weight is not None:
                        weight[row, col] = gene.weight
                    else:
                        weight[row, col] = init[k]
                if use_genome_weights:
                    bias[row] = nodes[node].bias
            groups: list[tuple[str, int, int]] = []
            for row, node in enumerate(ordered):
                column[node] = width + row
                act = nodes[node].activation
                if groups and groups[-1][0] == act:
                    groups[-1] = (act, groups[-1][1], row + 1)
                else:
                    groups.append((act, row, row + 1))
            self.layer_nodes.append(ordered)
            self.layer_groups.append(groups)
            self.weights.append(nn.Parameter(weight))
            self.biases.append(nn.Parameter(bias))
            self.register_buffer(f"mask_{index}", mask)
            width += len(ordered)
        self.output_columns = [column[o] for o in self.output_ids]
        self._column = column

    def masks(self) -> list[torch.Tensor]:
        return [getattr(self, f"mask_{i}") for i in range(1, len(self.weights) + 1)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        acts = x
        for weight, bias, mask, groups in zip(self.weights, self.biases, self.masks(), self.layer_groups):
            z = torch.nn.functional.linear(acts, weight * mask, bias)
            parts = [ACTIVATION_FUNCTIONS[act](z[:, start:end]) for act, start, end in groups]
            acts = torch.cat([acts, *parts], dim=1)
        return acts[:, self.output_columns]

    def effective_parameter_count(self) -> int:
        """Trainable entries that reach the output: unmasked weights plus biases."""
        return int(sum(m.sum().item() for m in self.masks()) + sum(b.numel() for b in self.biases))

    def export_weights(self, genome: Genome) -> Genome:
        """A copy of ``genome`` carrying this module's weights on its effective connections and
        its biases on its live nodes."""
        position = {
            node: (layer, row)
            for layer, nodes in enumerate(self.layer_nodes)
            for row, node in enumerate(nodes)
        }
        weights = [w.detach().cpu() for w in self.weights]
        biases = [b.detach().cpu() for b in self.biases]
        effective = {c.innovation for c in genome.effective_connections}
        connections = []
        for c in genome.connections:
            if c.innovation in effective:
                layer, row = position[c.target]
                c = replace(c, weight=float(weights[layer][row, self._column[c.source]]))
            connections.append(c)
        nodes = []
        for n in genome.nodes:
            if n.id in position:
                layer, row = position[n.id]
                n = replace(n, bias=float(biases[layer][row]))
            nodes.append(n)
        return Genome(tuple(nodes), tuple(connections))


def compile_genome(genome: Genome, *, use_genome_weights: bool = False, seed: int | None = None) -> GenomeNetwork:
    """Build the torch module of ``genome``; weights from the genome or freshly initialised."""
    generator = None
    if seed is not None:
        generator = torch.Generator().manual_seed(seed)
    return GenomeNetwork(genome, use_genome_weights=use_genome_weights, generator=generator)
