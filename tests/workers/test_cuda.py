"""Training on a CUDA device: what the card promises when a worker has a GPU.

Skipped where torch sees no GPU (CI's machines); run on a GPU machine with
``pytest tests/workers/test_cuda.py``. ``benchmarks/gpu.py`` measures the speed and the agreement
with the CPU on a larger population.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from connevo.evolution import run
from connevo.search_space import InnovationTracker, minimal_genome
from connevo.workers import EvaluationRequest, Status, TrainingSettings, load_dataset, step_graphs, train, triton_matmul
from tests.support import comparable as comparable_rows
from tests.support import random_genomes, small_spec

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason="no CUDA device (torch.cuda.is_available() is False)")

CUDA = TrainingSettings(epochs=4, batch_size=16, learning_rate=0.02, device="cuda")


TRITON = triton_matmul.available(torch.device("cuda"))  # Triton importable (touches no GPU)
needs_triton = pytest.mark.skipif(not TRITON, reason="Triton is not installed")


@pytest.fixture(params=[pytest.param("stacked kernel", marks=needs_triton), "per-candidate products"])
def matmul(request, monkeypatch):
    """Each test runs with both CUDA matrix-product paths: the Triton kernel (the default where
    Triton is installed) and one cuBLAS call per candidate (where it is not)."""
    if request.param == "per-candidate products":
        monkeypatch.setattr(triton_matmul, "available", lambda device: False)
    return request.param


@pytest.fixture
def captures(monkeypatch):
    """The outcome of every CUDA graph capture of a training step: True captured, False refused."""
    seen: list[bool] = []
    capture = step_graphs.StepGraphs._capture

    def spy(self, step, index):
        captured = capture(self, step, index)
        seen.append(captured is not None)
        return captured

    monkeypatch.setattr(step_graphs.StepGraphs, "_capture", spy)
    return seen


@pytest.fixture(scope="module")
def wine_requests(wine):
    genomes = random_genomes(wine, 12, seed=7)
    assert any(g.hidden_ids for g in genomes) and any(g.shared_groups for g in genomes)
    return [EvaluationRequest(f"c-{i}", g, 100 + i) for i, g in enumerate(genomes)]


def comparable(evaluation):
    return dataclasses.replace(evaluation, seconds=0.0)


def test_auto_trains_on_the_gpu_and_reports_it(wine, wine_requests, matmul):
    evaluations = train(wine_requests[:3], wine, dataclasses.replace(CUDA, device="auto"))
    assert all(e.status is Status.OK for e in evaluations), [e.error for e in evaluations]
    assert all(e.device.startswith("cuda") for e in evaluations)


def test_trained_networks_score_on_the_cpu_as_the_gpu_reported(wine, wine_requests, matmul,
                                                               assert_reproduced_by_the_compiled_network):
    """The trained genome, compiled on the CPU, reproduces the GPU's scores: accuracy to a row,
    loss within float tolerance (the devices reduce in different orders)."""
    for e in train(wine_requests, wine, CUDA):
        assert_reproduced_by_the_compiled_network(e, wine, rel_tol=1e-3, abs_tol=1e-4)


def test_a_candidates_result_on_the_gpu_does_not_depend_on_its_chunk(wine, wine_requests, matmul):
    """Bit for bit, as on the CPU: alone, together, in another order and company."""
    together = [comparable(e) for e in train(wine_requests, wine, CUDA)]
    alone = [comparable(train([r], wine, CUDA)[0]) for r in wine_requests]
    assert together == alone
    order = np.random.default_rng(1).permutation(len(wine_requests))[:7]
    shuffled = train([wine_requests[i] for i in order], wine, CUDA)
    assert [comparable(e) for e in shuffled] == [together[i] for i in order]


def test_gpu_and_cpu_agree_to_rounding(wine, wine_requests, matmul):
    """Not the same bits (other reduction orders), but the same training: each candidate's
    validation accuracy within two rows, its validation loss within 5%."""
    on_gpu = train(wine_requests, wine, CUDA)
    on_cpu = train(wine_requests, wine, dataclasses.replace(CUDA, device="cpu"))
    rows = len(wine.y_val)
    for g, c in zip(on_gpu, on_cpu):
        assert g.status is c.status is Status.OK
        assert abs(g.val_accuracy - c.val_accuracy) <= 2.0 / rows + 1e-9
        assert math.isclose(g.val_loss, c.val_loss, rel_tol=0.05, abs_tol=1e-3)


@pytest.mark.parametrize("batch_size", [49, 134])
def test_digits_candidates_give_the_same_bits_alone_and_in_a_stack_on_the_gpu(batch_size, matmul):
    digits = load_dataset("digits", seed=0)
    settings = TrainingSettings(epochs=2, batch_size=batch_size, learning_rate=0.02, device="cuda")
    genomes = [minimal_genome(64, 10, np.random.default_rng(i), InnovationTracker(), 1.0) for i in range(5)]
    reqs = [EvaluationRequest(f"c-{i}", g, 100 + i) for i, g in enumerate(genomes)]
    together = [comparable(e) for e in train(reqs, digits, settings)]
    alone = [comparable(train([r], digits, settings)[0]) for r in reqs]
    assert together == alone


def test_bfloat16_autocast_trains_on_the_gpu(wine, wine_requests, matmul):
    settings = dataclasses.replace(CUDA, precision="bfloat16")
    evaluations = train(wine_requests[:4], wine, settings)
    assert all(e.status is Status.OK for e in evaluations)
    assert max(e.val_accuracy for e in evaluations) > 0.5


@needs_triton
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_the_stacked_kernel_gives_each_candidate_its_own_bits_and_bmms_values(dtype):
    g = torch.Generator(device="cuda").manual_seed(0)
    for count, rows, k, n in [(64, 128, 64, 10), (7, 133, 784, 40), (3, 1, 5, 2)]:
        a = torch.randn(count, rows, k, device="cuda", generator=g).to(dtype).requires_grad_(True)
        w = torch.randn(count, k, n, device="cuda", generator=g).to(dtype).requires_grad_(True)
        up = torch.randn(count, rows, n, device="cuda", generator=g).to(dtype)
        out = triton_matmul.stacked_matmul(a, w)
        grads = torch.autograd.grad(out, [a, w], up)
        for c in (0, count // 2, count - 1):
            a1 = a[c : c + 1].detach().clone().requires_grad_(True)
            w1 = w[c : c + 1].detach().clone().requires_grad_(True)
            alone = triton_matmul.stacked_matmul(a1, w1)
            assert torch.equal(alone[0], out[c])
            for mine, theirs in zip(torch.autograd.grad(alone, [a1, w1], up[c : c + 1]), grads):
                assert torch.equal(mine[0], theirs[c])
        with torch.no_grad():
            reference = torch.bmm(a.double(), w.double())
        tolerance = 1e-4 if dtype == torch.float32 else 3e-2
        assert torch.allclose(out.double(), reference, rtol=tolerance, atol=tolerance * k**0.5)
    x = torch.randn(50, 8, device="cuda", generator=g)  # one input matrix expanded over candidates
    w = torch.randn(3, 8, 4, device="cuda", generator=g)
    assert torch.allclose(triton_matmul.stacked_matmul(x.expand(3, 50, 8), w), torch.bmm(x.expand(3, 50, 8), w),
                          rtol=1e-5, atol=1e-5)


def test_a_campaign_on_the_gpu_gives_the_same_candidates_whatever_its_chunks(tmp_path, matmul):
    """The card's promise on a GPU: a campaign's seed fixes its candidates, trained one per chunk
    or six per chunk, and its final polish (on the driver's GPU)."""
    trained_here = {"training.device": "cuda", "training.polish_epochs": None, "evolution.generations": 3}
    one = run(small_spec(**trained_here, **{"workers.chunk_size": 1}), str(tmp_path / "one.db"))
    six = run(small_spec(**trained_here, **{"workers.chunk_size": 6}), str(tmp_path / "six.db"))
    rows = comparable_rows(one.candidates(), one.campaign_id)
    assert any(row["number"] < 0 for row in rows)  # the polished copies are compared too
    assert rows == comparable_rows(six.candidates(), six.campaign_id)


@pytest.mark.parametrize("patience", [None, 1])
def test_replayed_step_graphs_give_the_bits_of_eager_steps(wine, wine_requests, matmul, captures, monkeypatch, patience):
    """The steps of every bucket are captured and replayed (a last short mini-batch and, with
    early stopping, compacted stacks included), and train exactly as the same steps run eagerly."""
    settings = dataclasses.replace(CUDA, batch_size=40, patience=patience)  # 40 does not divide wine's rows
    replayed = [comparable(e) for e in train(wine_requests, wine, settings)]
    assert captures and all(captures), "every capture succeeded"
    assert all(e.status is Status.OK for e in replayed)
    monkeypatch.setattr(step_graphs, "ENABLED", False)
    count = len(captures)
    eager = [comparable(e) for e in train(wine_requests, wine, settings)]
    assert len(captures) == count  # nothing captured with the graphs off
    assert replayed == eager


def test_step_graphs_train_with_dropout_and_bfloat16_as_eager_steps(wine, wine_requests, matmul, captures, monkeypatch):
    settings = dataclasses.replace(CUDA, precision="bfloat16")
    assert any(r.genome.regularization is not None and r.genome.regularization.dropout > 0 for r in wine_requests)
    replayed = [comparable(e) for e in train(wine_requests, wine, settings)]
    assert captures and all(captures)
    monkeypatch.setattr(step_graphs, "ENABLED", False)
    assert replayed == [comparable(e) for e in train(wine_requests, wine, settings)]
