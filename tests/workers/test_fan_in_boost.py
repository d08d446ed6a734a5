"""Per-neuron learning rates (``training.fan_in_boost``): a neuron with few incoming connections
trains its incoming weights and bias faster, ``learning_rate x clip(10 / fan-in, 1, boost)``;
every candidate's training stays its own, whatever its company."""

import dataclasses

import pytest
import torch

from connevo.search_space.genome import ConnectionGene, Genome, NodeGene
from connevo.workers import EvaluationRequest, TrainingSettings, train
from connevo.workers.optim import Adam
from connevo.workers.plans import build_plan
from connevo.workers.stack import Stack
from tests.support import random_genomes

SETTINGS = TrainingSettings(epochs=4, batch_size=16, learning_rate=0.02, fan_in_boost=3.0)


@pytest.fixture
def small_genome():
    """4 inputs, 2 outputs, hidden neuron 6 fed by 2 inputs; output 4 fed by 2, output 5 by 5."""
    nodes = (*(NodeGene(i, "input") for i in range(4)), NodeGene(4, "output"), NodeGene(5, "output"),
             NodeGene(6, "hidden", "tanh"))
    edges = [(0, 6), (1, 6), (6, 4), (2, 4), (0, 5), (1, 5), (2, 5), (3, 5), (6, 5)]
    return Genome(nodes, tuple(ConnectionGene(k, s, t) for k, (s, t) in enumerate(edges))).validate()


def neuron_scales(genome, boost):
    """Per node id, the multipliers of its incoming weights (one value per block, masked or not)
    and of its bias, read from the stack's scales."""
    plan = build_plan(EvaluationRequest("c", genome, 0), 4, 2)
    stack = Stack.build([plan], torch.device("cpu"))
    scales = iter(stack.fan_in_scales(boost))
    found: dict[int, set[float]] = {}
    for level, lv in enumerate(stack.levels):
        blocks = [next(scales) for w in (lv.wx, lv.wh) if w is not None]
        bias = next(scales)
        for col, node in enumerate(plan.orders[level]):
            values = {float(bias[0, 0, col])} | {float(v) for b in blocks for v in b[0, :, col]}
            found[node] = values
    return found


@pytest.mark.parametrize("boost", [1.0, 2.5, 3.0, 8.0])
def test_each_neuron_learns_at_ten_over_its_fan_in_clipped_to_the_boost(small_genome, boost):
    found = neuron_scales(small_genome, boost)
    assert found[6] == {min(boost, 10 / 2)}   # hidden: 2 inputs
    assert found[4] == {min(boost, 10 / 2)}   # output 4: the hidden neuron and an input
    assert found[5] == {min(boost, 10 / 5)}   # output 5: 5 incoming


def test_a_scaled_adam_steps_each_element_that_many_times_further():
    grads = [torch.tensor([[0.5, -2.0, 3e-3]]), torch.tensor([[-1.0, 1.0, 0.2]]), torch.tensor([[0.1, 0.3, -0.7]])]
    scale = torch.tensor([[1.0, 2.5, 3.0]])
    plain, scaled = torch.zeros(1, 3), torch.zeros(1, 3)
    a, b = Adam([plain], 0.01), Adam([scaled], 0.01, scales=[scale])
    for g in grads:
        plain.grad, scaled.grad = g.clone(), g.clone()
        a.step()
        b.step()
    torch.testing.assert_close(scaled, plain * scale)


def test_select_keeps_the_scales_of_the_chosen_rows():
    params = [torch.zeros(3, 2)]
    scales = [torch.tensor([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])]
    chosen = Adam(params, 0.01, scales=scales).select([torch.zeros(2, 2)], torch.tensor([2, 0]))
    assert chosen.scales is not None
    assert torch.equal(chosen.scales[0], torch.tensor([[3.0, 3.0], [1.0, 1.0]]))


def test_a_boosted_candidate_trains_the_same_alone_and_in_company(wine):
    reqs = [EvaluationRequest(f"c-{i}", g, 100 + i) for i, g in enumerate(random_genomes(wine, 8, seed=3))]
    together = [dataclasses.replace(e, seconds=0.0) for e in train(reqs, wine, SETTINGS)]
    alone = [dataclasses.replace(train([r], wine, SETTINGS)[0], seconds=0.0) for r in reqs]
    assert together == alone
    plain = [dataclasses.replace(e, seconds=0.0)
             for e in train(reqs, wine, dataclasses.replace(SETTINGS, fan_in_boost=1.0))]
    assert [e.val_loss for e in plain] != [e.val_loss for e in together]


def test_the_boost_must_be_between_1_and_100():
    with pytest.raises(ValueError, match="fan_in_boost"):
        TrainingSettings(fan_in_boost=0.5)
