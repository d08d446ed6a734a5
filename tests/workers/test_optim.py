"""Adam over a stack's parameters as views of one flat buffer (the CPU's path) against Adam over
the same parameters held apart: the same bits, step by step, with and without per-element scales,
and after selecting rows. Its square roots are correctly rounded, so its updates do not depend on
the machine's vector math library."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from connevo.workers import optim
from connevo.workers.optim import Adam, flat_leaves, ieee_sqrt


def parameters(seed: int) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(4, 5, 3, generator=g), torch.randn(4, 1, 3, generator=g), torch.randn(4, 7, generator=g)]


def gradients(step: int, like: list[torch.Tensor]) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(100 + step)
    grads = [torch.randn(p.shape, generator=g) for p in like]
    grads[0][0, 0, 0] = -0.0  # a zero of either sign: accumulated into a zeroed buffer it reads +0.0
    return grads


def train(params: list[torch.Tensor], optimizer: Adam, steps: range,
          mask_by: list[torch.Tensor | None] | None = None) -> None:
    """Steps of random gradients; ``mask_by``: the gradients multiplied by these masks first."""
    for step in steps:
        loss = sum((p * g).sum() for p, g in zip(params, gradients(step, params)))
        loss.backward()
        for p, m in zip(params, mask_by or []):
            if m is not None:
                p.grad.mul_(m)
        optimizer.step()


@pytest.mark.parametrize("scaled", [False, True])
def test_flat_leaves_train_to_the_bits_of_separate_parameters(scaled):
    apart = [p.clone().requires_grad_(True) for p in parameters(0)]
    flat = flat_leaves(parameters(0))
    assert flat[0]._base is flat[1]._base is flat[2]._base
    scales = [torch.rand(4, 1, 3) + 1, torch.rand(4, 1, 3) + 1, torch.ones(4, 7)] if scaled else None
    a, b = Adam(apart, 0.05, scales=scales), Adam(flat, 0.05, scales=scales)
    assert a.flat is None and b.flat is not None
    train(apart, a, range(6))
    train(flat, b, range(6))
    assert all(torch.equal(x, y) for x, y in zip(apart, flat))
    rows = torch.tensor([3, 1])
    kept_apart = [p.detach().index_select(0, rows).requires_grad_(True) for p in apart]
    kept_flat = flat_leaves([p.detach().index_select(0, rows) for p in flat])
    a, b = a.select(kept_apart, rows), b.select(kept_flat, rows)
    train(kept_apart, a, range(6, 10))
    train(kept_flat, b, range(6, 10))
    assert all(torch.equal(x, y) for x, y in zip(kept_apart, kept_flat))
    assert all(torch.equal(x, y) for x, y in zip(a.state()[1], b.state()[1]))


@pytest.mark.parametrize("scaled", [False, True])
def test_a_compact_state_trains_the_live_entries_to_the_bits_of_the_whole_buffer(scaled, monkeypatch):
    monkeypatch.setattr(optim, "MIN_COMPACT_DEAD", 0)  # compact whatever the buffer's size and share
    monkeypatch.setattr(optim, "COMPACT_SHARE", 1.0)
    g = torch.Generator().manual_seed(3)
    live = [(torch.rand(4, 5, 3, generator=g) < 0.2).float(), None, (torch.rand(4, 7, generator=g) < 0.3).float()]
    start = [p * m if m is not None else p for p, m in zip(parameters(2), live)]  # dead entries are zero
    scales = [torch.rand(4, 1, 3) + 1, torch.rand(4, 1, 3) + 1, torch.ones(4, 7)] if scaled else None
    whole, compact = flat_leaves(start), flat_leaves(start)
    a, b = Adam(whole, 0.05, scales=scales), Adam(compact, 0.05, scales=scales, live=live)
    assert not a.compact and b.compact
    train(whole, a, range(5), mask_by=live)
    train(compact, b, range(5))  # the dead entries' gradients are ignored
    assert all(torch.equal(x, y) for x, y in zip(whole, compact))
    assert all(torch.equal(x, y) for pair in zip(a.state(), b.state()) for x, y in zip(*pair))
    rows = torch.tensor([2, 0, 3])
    kept = [flat_leaves([p.detach().index_select(0, rows) for p in ps]) for ps in (whole, compact)]
    a, b = a.select(kept[0], rows), b.select(kept[1], rows)
    assert b.compact
    kept_live = [None if m is None else m.index_select(0, rows) for m in live]
    train(kept[0], a, range(5, 9), mask_by=kept_live)
    train(kept[1], b, range(5, 9))
    assert all(torch.equal(x, y) for x, y in zip(*kept))
    assert all(torch.equal(x, y) for pair in zip(a.state(), b.state()) for x, y in zip(*pair))


def test_a_whole_state_with_live_entries_ignores_the_others_gradients():
    live = [(torch.rand(4, 5, 3, generator=torch.Generator().manual_seed(5)) < 0.5).float(), None, None]
    start = [parameters(6)[0] * live[0], *parameters(6)[1:]]
    masked, given = flat_leaves(start), flat_leaves(start)
    a, b = Adam(masked, 0.05), Adam(given, 0.05, live=live)
    assert not b.compact  # 12 live entries or more of 100, too few dead to compact
    train(masked, a, range(4), mask_by=live)
    train(given, b, range(4))
    assert all(torch.equal(x, y) for x, y in zip(masked, given))
    assert torch.all(given[0].detach()[live[0] == 0] == 0)


def test_a_mostly_live_or_small_buffer_keeps_its_whole_state(monkeypatch):
    few = [torch.zeros(4, 5, 3), None, torch.zeros(4, 7)]  # 12 of 100 entries live
    assert not Adam(flat_leaves(parameters(4)), 0.05, live=few).compact  # 88 dead: too few to gain
    monkeypatch.setattr(optim, "MIN_COMPACT_DEAD", 80)
    assert Adam(flat_leaves(parameters(4)), 0.05, live=few).compact
    live = [torch.ones(4, 5, 3), None, torch.zeros(4, 7)]  # 72 of 100 entries live
    assert not Adam(flat_leaves(parameters(4)), 0.05, live=live).compact


def test_adam_with_device_scalars_keeps_separate_parameters():
    flat = flat_leaves(parameters(1))
    assert Adam(flat, 0.05, device_scalars=True).flat is None


def every_kind_of_float32(count: int) -> torch.Tensor:
    """Non-negative float32 values of every exponent, subnormals and zeros included."""
    g = torch.Generator().manual_seed(7)
    bits = torch.randint(0, 0x7F800000, (count,), generator=g, dtype=torch.int64).to(torch.int32)
    values = bits.view(torch.float32).clone()
    values[: count // 4] = 0.0
    return values


def test_square_roots_are_correctly_rounded_for_zeros_subnormals_and_normals():
    values = every_kind_of_float32(400_000)
    # a float32's square root taken in float64 and rounded once is the correctly rounded one
    exact = values.double().sqrt().float()
    (roots,) = ieee_sqrt([values])
    assert roots.dtype == torch.float32
    assert torch.equal(roots.view(torch.int32), exact.view(torch.int32))
    strided = values[::3]
    assert torch.equal(ieee_sqrt([strided])[0], exact[::3])
    assert ieee_sqrt([]) == []


def test_square_roots_written_into_given_tensors():
    values = every_kind_of_float32(10_001)
    out = torch.full_like(values, float("nan"))
    (roots,) = ieee_sqrt([values], [out])
    assert roots is out
    assert torch.equal(out.view(torch.int32), values.double().sqrt().float().view(torch.int32))


def test_an_adam_step_divides_by_the_correctly_rounded_root():
    param = every_kind_of_float32(4_000)[:, None].clone().requires_grad_(True)
    optimizer = Adam([param], lr=0.1)
    grad = every_kind_of_float32(4_000)[:, None].flip(0)
    start = param.detach().clone()
    param.grad = grad.clone()
    optimizer.step()
    moment = torch.zeros_like(grad).addcmul_(grad, grad, value=1 - 0.999)
    denom = torch.from_numpy(np.sqrt(moment.numpy())) / np.sqrt(1 - 0.999) + 1e-8
    expected = start.addcdiv(torch.lerp(torch.zeros_like(grad), grad, 1 - 0.9), denom, value=-0.1 / (1 - 0.9))
    assert torch.equal(param.detach(), expected)
