"""CUDA graphs of the training steps (workers/step_graphs.py), what can be checked on the CPU.

Off the CPU, Adam's step count and bias corrections and the dropout step are tensors updated in
place, so a step launches nothing that depends on a Python number. The GPU tests
(``tests/workers/test_cuda.py``) check that the replayed graphs give the eager steps' bits;
these check that the eager steps themselves train as the host-scalar path does and keep a
candidate's result its own, and :class:`StepGraphs`' policy (warm up, capture, replay, fall
back) against a stand-in for torch.cuda's stream and graph API.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc

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


class _FakeGraph:
    def __init__(self, api: FakeCudaGraphs) -> None:
        self.api, self.work = api, []

    def capture_begin(self) -> None:
        self.api.capturing = self
        self.api.captures += 1

    def capture_end(self) -> None:
        self.api.capturing = None
        if self.api.refuse:
            raise RuntimeError("CUDA error: operation not permitted when stream is capturing")

    def replay(self) -> None:
        self.api.replays += 1
        for work in self.work:
            work()


class _FakeStream:
    def wait_stream(self, other: _FakeStream) -> None:
        pass


class FakeCudaGraphs:
    """torch.cuda's streams and graphs on the CPU: a capture records the work a step asks for
    (nothing runs, as in a real capture) and a replay runs it. ``refuse``: captures fail."""

    def __init__(self) -> None:
        self.capturing: _FakeGraph | None = None
        self.captures = self.replays = 0
        self.refuse = False

    def Stream(self, device):  # noqa: N802 -- torch.cuda's names
        return _FakeStream()

    def current_stream(self, device):
        return _FakeStream()

    def stream(self, stream):
        return contextlib.nullcontext()

    def CUDAGraph(self):  # noqa: N802
        return _FakeGraph(self)


@pytest.fixture
def fake_cuda(monkeypatch):
    api = FakeCudaGraphs()
    for name in ("Stream", "current_stream", "stream", "CUDAGraph"):
        monkeypatch.setattr(torch.cuda, name, getattr(api, name))
    return api


def counting_step(state: torch.Tensor, api: FakeCudaGraphs | None, collecting: list[bool]):
    """A step that adds each candidate's index sum to ``state`` in place and returns twice the
    new state; inside a capture it records that work instead of doing it."""
    def step(index: torch.Tensor) -> torch.Tensor:
        out = torch.empty_like(state)

        def work() -> None:
            state.add_(index.sum(dim=1).to(state.dtype))
            torch.mul(state, 2.0, out=out)

        if api is not None and api.capturing is not None:
            api.capturing.work.append(work)
            collecting.append(gc.isenabled())
        else:
            work()
        return out
    return step


SHAPES = [4, 4, 4, 1, 4, 4, 1, 1]  # rows of each mini-batch of 3 candidates: full ones and a short last one


def batches():
    rng = torch.Generator().manual_seed(5)
    return [torch.randint(0, 100, (3, rows), generator=rng) for rows in SHAPES]


def eager_losses():
    state = torch.zeros(3)
    step = counting_step(state, None, [])
    return [step(index).clone() for index in batches()], state


def test_each_size_warms_up_eagerly_is_captured_once_then_replayed(fake_cuda):
    state, collecting = torch.zeros(3), []
    graphs = step_graphs.StepGraphs(torch.device("cuda"), [])
    step = counting_step(state, fake_cuda, collecting)
    losses = [graphs(step, index).clone() for index in batches()]
    expected, expected_state = eager_losses()
    assert all(torch.equal(a, b) for a, b in zip(losses, expected))
    assert torch.equal(state, expected_state)
    assert fake_cuda.captures == 2 and set(graphs.graphs) == {(3, 4), (3, 1)}
    assert fake_cuda.replays == len(SHAPES) - 2  # all but the first step of each size
    assert collecting == [False, False] and gc.isenabled()  # no garbage collection inside a capture


def test_a_refused_capture_warns_once_and_the_steps_run_eagerly(fake_cuda):
    fake_cuda.refuse = True
    state = torch.zeros(3)
    trained = torch.zeros(2, requires_grad=True)
    graphs = step_graphs.StepGraphs(torch.device("cuda"), [trained])
    step = counting_step(state, fake_cuda, [])
    trained.grad = torch.ones(2)  # as a step stopped midway by the refusal would leave it
    with pytest.warns(RuntimeWarning, match="capture of a training step failed, training eagerly: RuntimeError"):
        losses = [graphs(step, index).clone() for index in batches()]
    expected, expected_state = eager_losses()
    assert all(torch.equal(a, b) for a, b in zip(losses, expected))
    assert torch.equal(state, expected_state)
    assert fake_cuda.captures == 1 and fake_cuda.replays == 0 and not graphs.graphs
    assert gc.isenabled()
    assert trained.grad is None  # the eager steps start without a half-made gradient


def test_graphs_are_used_on_cuda_only_and_can_be_turned_off(monkeypatch):
    assert step_graphs.uses_step_graphs(torch.device("cuda"))
    assert not step_graphs.uses_step_graphs(torch.device("cpu"))
    monkeypatch.setattr(step_graphs, "ENABLED", False)
    assert not step_graphs.uses_step_graphs(torch.device("cuda"))
