"""Sparse weight blocks (workers/sparse_products.py): which blocks multiply sparse, that the
products and gradients are the dense masked ones, and that training keeps every candidate's
result its own with sparse and dense blocks in one stack."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from connevo.search_space.genome import ConnectionGene, Genome, NodeGene
from connevo.workers import EvaluationRequest, Status, TrainingSettings, batched, train
from connevo.workers import sparse_products as sp
from connevo.workers.kernels import per_candidate_matmul
from connevo.workers.stack import Stack
from connevo.workers.tasks import Dataset

INPUTS = 784


@pytest.fixture(scope="module")
def wide_images():
    """784 features, 4 classes, 600 rows: the class is decided by a few dozen pixels."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, INPUTS)).astype(np.float32)
    informative = rng.choice(INPUTS, 40, replace=False)
    y = np.argmax(x[:, informative].reshape(600, 4, 10).sum(axis=2), axis=1).astype(np.int64)
    parts = (slice(0, 360), slice(360, 480), slice(480, 600))
    return Dataset("wide_images", *[a[s] for s in parts for a in (x, y)],
                   feature_names=tuple(f"p{i}" for i in range(INPUTS)), class_names=("0", "1", "2", "3"),
                   mean=np.zeros(INPUTS, np.float32), std=np.ones(INPUTS, np.float32))


def test_a_block_multiplies_sparse_when_it_is_large_and_mostly_absent():
    assert sp.prefers_sparse(784, 128, 2000)                       # 2% of 100,352
    assert not sp.prefers_sparse(784, 128, 4000)                   # 4%: dense
    assert not sp.prefers_sparse(784, 64, 100)                     # 50,176 weights: too small to pay
    limit = int(sp.MAX_DENSITY * 1024 * 128)
    assert sp.prefers_sparse(1024, 128, limit) and not sp.prefers_sparse(1024, 128, limit + 1)
    assert sp.sparse_blocks([np.ones((784, 128), bool)], torch.device("cpu")) is None
    assert sp.sparse_blocks([np.zeros((784, 128), bool)], torch.device("cuda")) is None  # the CPU only


@pytest.mark.parametrize("density", [0.0, 0.005, 0.025])
def test_sparse_products_and_gradients_are_the_dense_masked_ones(density):
    g = np.random.default_rng(int(density * 100))
    patterns = [g.random((INPUTS, 128)) < density for _ in range(3)]
    patterns[1][:, 5] = False   # a neuron without inputs
    patterns[2][7, :] = False   # an input feeding nothing
    blocks = sp.sparse_blocks(patterns, torch.device("cpu"))
    assert blocks is not None and all(b is not None for b in blocks)
    mask = torch.from_numpy(np.stack(patterns)).float()
    w = (torch.randn(3, INPUTS, 128) * mask).requires_grad_(True)
    a = torch.randn(3, 50, INPUTS, requires_grad=True)
    up = torch.randn(3, 50, 128)
    out = per_candidate_matmul(a, w, blocks)
    grads = torch.autograd.grad(out, [a, w], up)
    w_dense = w.detach().clone().requires_grad_(True)
    a_dense = a.detach().clone().requires_grad_(True)
    reference = per_candidate_matmul(a_dense, w_dense)
    ref_grads = torch.autograd.grad(reference, [a_dense, w_dense], up)
    assert torch.allclose(out, reference, rtol=1e-5, atol=1e-5)
    assert torch.allclose(grads[0], ref_grads[0], rtol=1e-5, atol=1e-5)
    assert torch.allclose(grads[1], ref_grads[1] * mask, rtol=1e-5, atol=1e-4)
    assert torch.equal(grads[1] * (1 - mask), torch.zeros_like(mask))   # no gradient off the pattern
    expanded = per_candidate_matmul(a[0].detach().expand(3, 50, INPUTS), w.detach(), blocks)
    assert torch.allclose(expanded, torch.stack([a[0].detach() @ w.detach()[c] for c in range(3)]), atol=1e-5)


def wide_network(rng, density, hidden=128):
    """784 inputs -> ``hidden`` relu neurons -> 4 outputs: the input block (784 x 128) wired at
    ``density``, every neuron with an input, the hidden-to-output block dense."""
    outputs = list(range(INPUTS, INPUTS + 4))
    neurons = list(range(INPUTS + 4, INPUTS + 4 + hidden))
    nodes = ([NodeGene(i, "input") for i in range(INPUTS)] + [NodeGene(o, "output") for o in outputs]
             + [NodeGene(n, "hidden", "relu") for n in neurons])
    pairs = {(int(s), n) for n in neurons for s in np.flatnonzero(rng.random(INPUTS) < density)}
    pairs |= {(int(rng.integers(INPUTS)), n) for n in neurons} | {(n, o) for n in neurons for o in outputs}
    edges = sorted(pairs)
    return Genome(tuple(nodes), tuple(ConnectionGene(k, s, t) for k, (s, t) in enumerate(edges))).validate()


def sparse_rows(plans):
    """Per plan, whether its stack multiplies its input block sparse."""
    blocks = Stack.build(plans, torch.device("cpu")).levels[0].sx
    return [False] * len(plans) if blocks is None else [b is not None for b in blocks]


def requests_of(genomes):
    return [EvaluationRequest(f"c-{i}", g, 100 + i) for i, g in enumerate(genomes)]


def comparable(evaluation):
    return dataclasses.replace(evaluation, seconds=0.0)


def test_sparse_and_dense_candidates_train_in_one_stack_each_to_its_own_bits(wide_images):
    rng = np.random.default_rng(3)
    reqs = requests_of([wide_network(rng, 0.01 if i % 2 else 0.08) for i in range(6)])
    plans = [batched._plan(r, INPUTS, 4) for r in reqs]
    assert len({tuple(p.shape) for p in plans}) == 1                 # one stack
    assert sparse_rows(plans) == [False, True] * 3                   # sparse and dense blocks in it
    settings = TrainingSettings(epochs=2, batch_size=64, learning_rate=0.01, patience=1)
    together = [comparable(e) for e in train(reqs, wide_images, settings)]
    assert all(e.status is Status.OK for e in together)
    assert together == [comparable(train([r], wide_images, settings)[0]) for r in reqs]
    assert [comparable(e) for e in train(reqs[::-1][:4], wide_images, settings)] == together[::-1][:4]


def test_sparse_candidates_score_as_their_compiled_networks_and_as_trained_dense(
        wide_images, monkeypatch, assert_reproduced_by_the_compiled_network):
    rng = np.random.default_rng(4)
    reqs = requests_of([wide_network(rng, 0.015) for _ in range(3)])
    assert all(sparse_rows([batched._plan(r, INPUTS, 4) for r in reqs]))
    settings = TrainingSettings(epochs=2, batch_size=64, learning_rate=0.01)
    on_sparse = train(reqs, wide_images, settings)
    for e in on_sparse:
        assert_reproduced_by_the_compiled_network(e, wide_images)
    monkeypatch.setattr(sp, "prefers_sparse", lambda rows, cols, present: False)
    on_dense = train(reqs, wide_images, settings)
    for s, d in zip(on_sparse, on_dense):
        assert abs(s.val_accuracy - d.val_accuracy) <= 2.0 / len(wide_images.y_val) + 1e-9
        assert abs(s.val_loss - d.val_loss) <= 0.01 * d.val_loss + 1e-4
