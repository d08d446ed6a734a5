"""Per-step numbers as device tensors (workers/step_graphs.py): what lets a CUDA graph replay a
training step, checked on the CPU.

Off the CPU, Adam's step count and bias corrections and the dropout step are tensors updated in
place, so a step launches nothing that depends on a Python number. The GPU tests
(``tests/workers/test_cuda.py``) check that the replayed graphs give the eager steps' bits;
these check that the eager steps themselves train as the host-scalar path does and keep a
candidate's result its own.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from connevo.workers import EvaluationRequest, Status, TrainingSettings, invariant, step_graphs, train
from connevo.workers.kernels import dropout_noise, seed_key
from connevo.workers.optim import Adam
from tests.support import random_genomes

SETTINGS = TrainingSettings(epochs=4, batch_size=16, learning_rate=0.02, patience=2)


@pytest.fixture
def device_steps_on_cpu(monkeypatch):
    """Train on the CPU as on CUDA: step numbers on the device, every sum batch-invariant."""
    monkeypatch.setattr(step_graphs, "keeps_step_numbers_on_device", lambda device: True)
    monkeypatch.setattr(invariant, "uses_invariant_reductions", lambda device: True)


@pytest.fixture(scope="module")
def wine_requests(wine):
    genomes = random_genomes(wine, 10, seed=7)
    assert any(g.regularization is not None and g.regularization.dropout > 0 for g in genomes)
    return [EvaluationRequest(f"c-{i}", g, 100 + i) for i, g in enumerate(genomes)]


def comparable(evaluation):
    return dataclasses.replace(evaluation, seconds=0.0)


@pytest.mark.parametrize("scaled", [False, True])
def test_adam_with_device_scalars_steps_as_with_host_scalars_to_rounding(scaled):
    rng = torch.Generator().manual_seed(3)
    scales = [torch.tensor([[1.0, 2.5, 3.0, 1.0]])] if scaled else None
    host, device = torch.zeros(2, 4), torch.zeros(2, 4)
    a = Adam([host], 0.01, scales=scales)
    b = Adam([device], 0.01, scales=scales, device_scalars=True)
    for _ in range(40):
        g = torch.randn(2, 4, generator=rng)
        host.grad, device.grad = g.clone(), g.clone()
        a.step()
        b.step()
    assert b.step_count is not None and float(b.step_count) == 40.0
    torch.testing.assert_close(device, host, rtol=1e-5, atol=1e-7)
    assert host.grad is None and device.grad is None


def test_a_selected_device_adam_keeps_its_step_count_and_continues_as_the_whole():
    whole = torch.zeros(3, 2)
    adam = Adam([whole], 0.05, device_scalars=True)
    for k in range(5):
        whole.grad = torch.full((3, 2), float(k + 1))
        adam.step()
    rows = torch.tensor([2, 0])
    part = whole.detach().index_select(0, rows)
    chosen = adam.select([part], rows)
    assert chosen.step_count is not None and float(chosen.step_count) == 5.0
    whole.grad, part.grad = torch.ones(3, 2), torch.ones(2, 2)
    adam.step()
    chosen.step()
    assert torch.equal(part, whole.index_select(0, rows))


def test_dropout_masks_from_a_step_tensor_are_those_of_the_int_step():
    keys = torch.tensor([seed_key(s) for s in (1, 2**40 + 5, 77)], dtype=torch.int64)
    p = torch.tensor([0.1, 0.5, 0.0])
    for step in (0, 1, 9_999_999):
        assert torch.equal(dropout_noise(keys, p, step, 2, 7, 5),
                           dropout_noise(keys, p, torch.tensor(step, dtype=torch.int64), 2, 7, 5))


def test_device_steps_give_a_candidate_the_same_bits_alone_and_together(wine, wine_requests, device_steps_on_cpu):
    together = [comparable(e) for e in train(wine_requests, wine, SETTINGS)]
    assert all(e.status is Status.OK for e in together)
    assert together == [comparable(train([r], wine, SETTINGS)[0]) for r in wine_requests]
    order = np.random.default_rng(2).permutation(len(wine_requests))[:6]
    assert [comparable(e) for e in train([wine_requests[i] for i in order], wine, SETTINGS)] == [
        together[i] for i in order]


def test_device_steps_train_as_host_steps_to_rounding(wine, wine_requests, device_steps_on_cpu, monkeypatch):
    settings = dataclasses.replace(SETTINGS, patience=None)
    on_device = train(wine_requests, wine, settings)
    monkeypatch.setattr(step_graphs, "keeps_step_numbers_on_device", lambda device: False)
    on_host = train(wine_requests, wine, settings)
    rows = len(wine.y_val)
    assert [a.trained_genome for a in on_device] != [b.trained_genome for b in on_host]  # other roundings: it ran
    for a, b in zip(on_device, on_host):
        assert a.status is b.status is Status.OK
        assert abs(a.val_accuracy - b.val_accuracy) <= 2.0 / rows + 1e-9
        assert abs(a.val_loss - b.val_loss) <= 0.02 * abs(b.val_loss) + 1e-4
