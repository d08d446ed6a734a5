"""Batch-invariant reductions (workers/invariant.py): the sums CUDA training uses, checked on the CPU.

The order of every sum is fixed by the summed length alone; the values and gradients are those
of torch's own reductions to rounding; and a whole training run on that path gives a candidate
the same result alone and in any stack.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from connevo.workers import EvaluationRequest, Status, TrainingSettings, invariant, load_dataset, train
from tests.support import random_genomes


@pytest.fixture
def invariant_on_cpu(monkeypatch):
    """Train on the CPU as on CUDA: every reduction of the training path through workers.invariant."""
    monkeypatch.setattr(invariant, "uses_invariant_reductions", lambda device: True)


def test_pairwise_sum_adds_halves_not_left_to_right():
    x = torch.tensor([1e8, 1.0, -1e8, 1.0])
    assert float(invariant.pairwise_sum(x, 0)) == 2.0      # (1e8 + -1e8) + (1 + 1)
    assert float(((x[0] + x[1]) + x[2]) + x[3]) == 1.0      # left to right loses a 1


@pytest.mark.parametrize("length", [1, 2, 7, 64, 127, 360])
def test_pairwise_sum_matches_the_float64_sum_and_keeps_the_dimension_when_asked(length):
    x = torch.randn(3, length, 5, generator=torch.Generator().manual_seed(length))
    total = invariant.pairwise_sum(x, 1)
    assert total.shape == (3, 5)
    assert torch.allclose(total.double(), x.double().sum(dim=1), rtol=1e-5, atol=1e-5)
    assert invariant.pairwise_sum(x, 1, keepdim=True).shape == (3, 1, 5)
    assert torch.equal(invariant.pairwise_mean(x, 1), total / length)


def test_a_candidates_sum_is_the_same_bits_alone_and_in_any_stack():
    g = torch.Generator().manual_seed(0)
    stack = torch.randn(9, 131, 10, generator=g) * torch.logspace(-3, 3, 10)
    together = invariant.pairwise_sum(stack, 1)
    for c in range(9):
        assert torch.equal(invariant.pairwise_sum(stack[c : c + 1].clone(), 1)[0], together[c])
    assert torch.equal(invariant.pairwise_sum(stack[2:7], 1), together[2:7])


def test_the_bias_gradient_is_the_pairwise_sum_over_the_rows():
    g = torch.Generator().manual_seed(1)
    z = torch.randn(4, 33, 6, generator=g, requires_grad=True)
    b = torch.randn(4, 1, 6, generator=g, requires_grad=True)
    upstream = torch.randn(4, 33, 6, generator=g)
    out = invariant.add_bias(z, b)
    assert torch.equal(out, b + z)
    out.backward(upstream)
    assert torch.equal(z.grad, upstream)
    assert torch.equal(b.grad, invariant.pairwise_sum(upstream, 1, keepdim=True))
    b.grad = None
    invariant.broadcast_bias(b, 33).backward(upstream)
    assert torch.equal(b.grad, invariant.pairwise_sum(upstream, 1, keepdim=True))


def test_gathered_shared_weights_get_the_summed_gradient_of_their_positions():
    g = torch.Generator().manual_seed(2)
    shared = torch.randn(3, 4, generator=g, requires_grad=True)
    groups = torch.randint(0, 4, (3, 50), generator=g)
    upstream = torch.randn(3, 50, generator=g)
    out = invariant.gather_shared(shared, groups)
    assert torch.equal(out, torch.gather(shared.detach(), 1, groups))
    out.backward(upstream)
    expected = torch.zeros(3, 4).scatter_add_(1, groups, upstream)
    assert torch.allclose(shared.grad, expected, rtol=1e-5, atol=1e-6)


def test_cross_entropy_and_softmax_match_torchs_with_their_gradients():
    g = torch.Generator().manual_seed(3)
    logits = (torch.randn(5, 40, 10, generator=g) * 4).requires_grad_(True)
    y = torch.randint(0, 10, (5, 40), generator=g)
    ours = invariant.cross_entropy_rows(logits, y)
    reference = torch.nn.functional.cross_entropy(logits.transpose(1, 2), y, reduction="none")
    assert torch.allclose(ours, reference, rtol=1e-5, atol=1e-6)
    (grad_ours,) = torch.autograd.grad(ours.sum(), logits)
    (grad_ref,) = torch.autograd.grad(reference.sum(), logits)
    assert torch.allclose(grad_ours, grad_ref, rtol=1e-4, atol=1e-6)
    probabilities = invariant.softmax(logits.detach())
    assert torch.allclose(probabilities, torch.softmax(logits.detach(), dim=2), rtol=1e-5, atol=1e-7)


def comparable(evaluation):
    return dataclasses.replace(evaluation, seconds=0.0)


def test_training_on_the_invariant_path_gives_a_candidate_the_same_bits_alone_and_together(invariant_on_cpu):
    wine = load_dataset("wine", seed=0)
    genomes = random_genomes(wine, 10, seed=7)
    assert any(g.shared_groups for g in genomes) and any(g.hidden_ids for g in genomes)
    reqs = [EvaluationRequest(f"c-{i}", g, 100 + i) for i, g in enumerate(genomes)]
    settings = TrainingSettings(epochs=4, batch_size=16, learning_rate=0.02, patience=2)
    together = [comparable(e) for e in train(reqs, wine, settings)]
    assert all(e.status is Status.OK for e in together)
    assert together == [comparable(train([r], wine, settings)[0]) for r in reqs]
    order = np.random.default_rng(1).permutation(len(reqs))[:6]
    assert [comparable(e) for e in train([reqs[i] for i in order], wine, settings)] == [together[i] for i in order]


def test_the_invariant_path_trains_as_the_default_one_to_rounding(invariant_on_cpu, monkeypatch):
    wine = load_dataset("wine", seed=0)
    reqs = [EvaluationRequest(f"c-{i}", g, 100 + i) for i, g in enumerate(random_genomes(wine, 8, seed=3))]
    settings = TrainingSettings(epochs=3, batch_size=16, learning_rate=0.02)
    invariant_path = train(reqs, wine, settings)
    monkeypatch.undo()
    default_path = train(reqs, wine, settings)
    rows = len(wine.y_val)
    for a, b in zip(invariant_path, default_path):
        assert a.status is b.status is Status.OK
        assert abs(a.val_accuracy - b.val_accuracy) <= 2.0 / rows + 1e-9
        assert abs(a.val_loss - b.val_loss) <= 0.02 * abs(b.val_loss) + 1e-4


def test_every_summand_gets_the_gradient_of_the_pairwise_sum():
    x = torch.randn(4, 13, 3, generator=torch.Generator().manual_seed(4), requires_grad=True)
    upstream = torch.randn(4, 3, generator=torch.Generator().manual_seed(5))
    invariant.pairwise_sum(x, 1).backward(upstream)
    assert torch.equal(x.grad, upstream[:, None, :].expand(4, 13, 3))
