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

from connevo.search_space.genome import ConnectionGene, Genome
from connevo.search_space.layout import layered_layout


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
    """The torch form of one genome. Input: (batch, n_inputs) floats; output: (batch, n_outputs)
    class logits. A genome with a single output neuron is a binary classifier: the output is
    ``[0, z]``, z being the neuron's value (the logit of class 1); with ``two_class_logits``
    False (a regression), the output is the neurons' values as they are, ``[z]``."""

    def __init__(self, genome: Genome, *, use_genome_weights: bool = False, generator: torch.Generator | None = None,
                 new_weight_scale: float = 1.0, two_class_logits: bool = True) -> None:
        super().__init__()
        self.two_class_logits = two_class_logits
        layout = layered_layout(genome)
        self.input_ids = list(genome.input_ids)
        self.output_ids = list(genome.output_ids)
        nodes = genome.node_by_id
        incoming: dict[int, list[ConnectionGene]] = {}
        for c in genome.effective_connections:
            incoming.setdefault(c.target, []).append(c)

        # Column of each node in the running activation matrix: inputs first, then layer by layer.
        column = {node: i for i, node in enumerate(self.input_ids)}
        width = len(self.input_ids)
        groups_used = genome.shared_groups
        group_slot = {g: i for i, g in enumerate(groups_used)}
        group_init: dict[int, float] = {}
        self.dropout = float(genome.regularization.dropout)
        self.weight_decay = float(genome.regularization.weight_decay)
        self.l1_ratio = float(genome.regularization.l1_ratio)
        self.n_shared = len(groups_used)
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
            group_mask = torch.zeros(len(ordered), width)
            group_index = torch.zeros(len(ordered), width, dtype=torch.long)
            for row, node in enumerate(ordered):
                genes = incoming.get(node, [])
                bound = 1.0 / math.sqrt(max(1, len(genes)))
                init = torch.empty(len(genes)).uniform_(-bound, bound, generator=generator)
                for k, gene in enumerate(genes):
                    col = column[gene.source]
                    if not use_genome_weights:
                        value = float(init[k])
                    elif gene.weight is not None:
                        value = gene.weight
                    else:  # a new connection in an inherited network starts small
                        value = float(init[k]) * new_weight_scale
                    if gene.group is not None:
                        group_mask[row, col] = 1.0
                        group_index[row, col] = group_slot[gene.group]
                        group_init.setdefault(gene.group, value)
                    else:
                        mask[row, col] = 1.0
                        weight[row, col] = value
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
            self.register_buffer(f"group_mask_{index}", group_mask)
            self.register_buffer(f"group_index_{index}", group_index)
            width += len(ordered)
        # One trained weight per sharing group, started from its first connection's value.
        self.shared = nn.Parameter(torch.tensor([group_init[g] for g in groups_used], dtype=torch.float32))
        self.output_columns = [column[o] for o in self.output_ids]
        self._column = column

    def masks(self) -> list[torch.Tensor]:
        """Per layer, 1 where a connection has a weight of its own."""
        return [getattr(self, f"mask_{i}") for i in range(1, len(self.weights) + 1)]

    def effective_weights(self) -> list[torch.Tensor]:
        """Per layer, the weight matrix the forward pass uses (own and shared weights)."""
        out = []
        for i, (weight, mask) in enumerate(zip(self.weights, self.masks()), start=1):
            w = weight * mask
            if self.n_shared:
                w = w + self.shared[getattr(self, f"group_index_{i}")] * getattr(self, f"group_mask_{i}")
            out.append(w)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        acts = x
        last = len(self.weights) - 1
        for i, (weight, bias, groups) in enumerate(zip(self.effective_weights(), self.biases, self.layer_groups)):
            z = torch.nn.functional.linear(acts, weight, bias)
            parts = [ACTIVATION_FUNCTIONS[act](z[:, start:end]) for act, start, end in groups]
            new = torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]
            if self.dropout > 0 and i < last:  # hidden layers only
                new = torch.nn.functional.dropout(new, self.dropout, self.training)
            acts = torch.cat([acts, new], dim=1)
        out = acts[:, self.output_columns]
        if len(self.output_columns) == 1 and self.two_class_logits:
            # One output neuron is a binary classifier: its value is the logit of class 1.
            out = torch.cat([torch.zeros_like(out), out], dim=1)
        return out

    def penalty(self) -> torch.Tensor:
        """The elastic-net penalty of the regularization genes over every trained weight."""
        if self.weight_decay == 0:
            return torch.zeros((), device=self.shared.device)
        own = [w[m.bool()] for w, m in zip(self.weights, self.masks())]
        flat = torch.cat([*own, self.shared])
        l1 = flat.abs().sum()
        l2 = flat.pow(2).sum()
        return self.weight_decay * (self.l1_ratio * l1 + (1.0 - self.l1_ratio) * 0.5 * l2)

    def effective_parameter_count(self) -> int:
        """Trained numbers that reach the output: own weights, shared weights, biases."""
        own = sum(m.sum().item() for m in self.masks())
        return int(own + self.shared.numel() + sum(b.numel() for b in self.biases))

    def export_weights(self, genome: Genome) -> Genome:
        """A copy of ``genome`` carrying this module's weights on its effective connections and
        its biases on its live nodes."""
        position = {
            node: (layer, row)
            for layer, nodes in enumerate(self.layer_nodes)
            for row, node in enumerate(nodes)
        }
        weights = [w.detach().cpu() for w in self.effective_weights()]
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
        return Genome(tuple(nodes), tuple(connections), genome.regularization)


def compile_genome(genome: Genome, *, use_genome_weights: bool = False, seed: int | None = None,
                   new_weight_scale: float = 1.0, two_class_logits: bool = True) -> GenomeNetwork:
    """Build the torch module of ``genome``; weights from the genome or freshly initialised.

    With ``use_genome_weights``, a connection the genome gives no weight gets its fresh initial
    value times ``new_weight_scale`` (weight inheritance: new connections start small).
    ``two_class_logits`` False: a single output is a value (a regression), not a class-1 logit."""
    generator = None
    if seed is not None:
        generator = torch.Generator().manual_seed(seed)
    return GenomeNetwork(genome, use_genome_weights=use_genome_weights, generator=generator,
                         new_weight_scale=new_weight_scale, two_class_logits=two_class_logits)
