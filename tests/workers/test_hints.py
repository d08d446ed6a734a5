"""Structure hints: the gradients training reports are the loss's true gradients."""

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from connevo.search_space import InnovationTracker, minimal_genome
from connevo.search_space.compile import compile_genome
from connevo.search_space.genome import ConnectionGene
from connevo.search_space.starts import hidden_layer_genome
from connevo.workers import EvaluationRequest, TrainingSettings, train
from connevo.workers.batched import class_logits
from connevo.workers.hints import HINT_ROWS

SETTINGS = TrainingSettings(epochs=3, batch_size=32, learning_rate=0.02)


@pytest.fixture(scope="module")
def trained(wine):
    """Three trained candidates: sparse linear, one hidden layer, and a hidden layer with skips."""
    rng = np.random.default_rng(4)
    tracker = InnovationTracker()
    linear = minimal_genome(wine.n_features, wine.n_classes, rng, tracker, 0.4)
    hidden = hidden_layer_genome(wine.n_features, wine.n_classes, 5, rng, tracker, input_density=0.3)
    skips = hidden.with_connections([*hidden.connections, *linear.connections[:6]])
    requests = [EvaluationRequest(f"c-{i}", g, 50 + i) for i, g in enumerate((linear, hidden, skips))]
    return train(requests, wine, SETTINGS)


def loss_gradients(genome, wine, pairs):
    """d(mean cross-entropy over the hint rows)/dw of each (source, target) in ``pairs``, the
    genome given those connections at weight 0, by autograd on the compiled network."""
    top = max(c.innovation for c in genome.connections) + 1
    added = [ConnectionGene(top + k, s, t, weight=0.0) for k, (s, t) in enumerate(pairs)]
    grown = genome.with_connections([*genome.connections, *added]).validate()
    net = compile_genome(grown, use_genome_weights=True)
    x = torch.as_tensor(wine.x_train[:HINT_ROWS])
    y = torch.as_tensor(wine.y_train[:HINT_ROWS])
    loss = nn.functional.cross_entropy(class_logits(net(x)), y)
    loss.backward()
    position = {n: (layer, row) for layer, nodes in enumerate(net.layer_nodes) for row, n in enumerate(nodes)}
    out = []
    for s, t in pairs:
        layer, row = position[t]
        out.append(float(net.weights[layer].grad[row, net._column[s]]))
    return out


def test_grow_hints_are_absent_connections_with_the_true_loss_gradient(trained, wine):
    for evaluation in trained:
        genome = evaluation.trained_genome
        grow = genome.hints.grow
        assert 5 <= len(grow) and [g for *_, g in grow] == sorted((g for *_, g in grow), reverse=True)
        existing = {(c.source, c.target) for c in genome.connections}
        assert not existing & {(s, t) for s, t, _ in grow}
        pairs = [(s, t) for s, t, _ in grow[:5]]
        true = loss_gradients(genome, wine, pairs)
        assert np.allclose(np.abs(true), [g for *_, g in grow[:5]], rtol=1e-3, atol=1e-7)


def test_the_proposed_neuron_follows_the_top_singular_vector_of_the_input_output_gradient(trained, wine):
    genome = trained[0].trained_genome  # linear: every input -> output pair is a connection or a hint
    inputs, outputs = genome.input_ids, genome.output_ids
    existing = {(c.source, c.target) for c in genome.connections}
    absent = [(i, o) for i in inputs for o in outputs if (i, o) not in existing]
    gradient = dict(zip(absent, loss_gradients(genome, wine, absent)))
    net = compile_genome(genome, use_genome_weights=True)
    loss = nn.functional.cross_entropy(net(torch.as_tensor(wine.x_train[:HINT_ROWS])),
                                       torch.as_tensor(wine.y_train[:HINT_ROWS]))
    loss.backward()
    for i, o in existing:
        gradient[i, o] = float(net.weights[0].grad[net.layer_nodes[0].index(o), net._column[i]])
    matrix = np.array([[gradient[i, o] for o in outputs] for i in inputs])
    u = np.linalg.svd(matrix)[0][:, 0]
    proposed = dict(genome.hints.neuron_in)
    chosen = list(proposed)
    assert chosen == [inputs[k] for k in np.argsort(-np.abs(u), kind="stable")[: len(chosen)]]
    direction = np.array([u[inputs.index(n)] for n in chosen])
    direction *= np.sign(direction[0]) * np.sign(proposed[chosen[0]]) / np.linalg.norm(direction)
    assert np.allclose([proposed[n] for n in chosen], direction, atol=1e-3)


def test_hints_are_the_same_alone_and_in_company_and_can_be_turned_off(trained, wine):
    rng = np.random.default_rng(4)
    tracker = InnovationTracker()
    genome = minimal_genome(wine.n_features, wine.n_classes, rng, tracker, 0.4)
    request = EvaluationRequest("c-0", genome, 50)
    alone = train([request], wine, SETTINGS)[0]
    assert alone.trained_genome.hints == trained[0].trained_genome.hints
    off = train([request], wine, dataclasses.replace(SETTINGS, structure_hints=False))[0]
    assert off.trained_genome.hints is None
    assert off.trained_genome == alone.trained_genome.replace(hints=None)
