"""The training core: scores that an independent forward pass of the trained network reproduces,
bit for bit the same whatever a candidate's chunk (alone, `batched = False`, or in any company)."""

import dataclasses
import math

import numpy as np
import pytest
import torch

from connevo.search_space import InnovationTracker, minimal_genome
from connevo.search_space.compile import compile_genome
from connevo.search_space.genome import ConnectionGene, Genome, NodeGene
from connevo.workers import EvaluationRequest, Status, TrainingSettings, batched, load_dataset, train
from tests.support import random_genomes

SETTINGS = TrainingSettings(epochs=4, batch_size=16, learning_rate=0.02)


def layered(dataset, widths, rng, density=0.8):
    """An MLP-like genome: consecutive layers wired at random."""
    n_in, n_out = dataset.n_features, dataset.n_classes
    next_id = n_in + n_out
    layers = [list(range(n_in))]
    nodes = [NodeGene(i, "input") for i in range(n_in)] + [NodeGene(n_in + o, "output") for o in range(n_out)]
    for w in widths:
        layers.append(list(range(next_id, next_id + w)))
        nodes += [NodeGene(n, "hidden", "relu" if len(layers) % 2 else "tanh") for n in layers[-1]]
        next_id += w
    layers.append(list(range(n_in, n_in + n_out)))
    pairs = [(s, t) for a, b in zip(layers, layers[1:]) for s in a for t in b]
    keep = [p for p in pairs if rng.random() < density]
    for a, b in zip(layers, layers[1:]):  # every neuron keeps an input and an output
        for t in b:
            keep.append((a[0], t))
        for s in a:
            keep.append((s, b[0]))
    edges = sorted(set(keep))
    return Genome(tuple(nodes), tuple(ConnectionGene(k, s, t) for k, (s, t) in enumerate(edges))).validate()


def requests_for(genomes, first_seed=100):
    return [EvaluationRequest(f"c-{i}", g, first_seed + i) for i, g in enumerate(genomes)]


def comparable(evaluation):
    return dataclasses.replace(evaluation, seconds=0.0)


def test_initial_weights_are_those_of_compile_genome(wine):
    for genome in random_genomes(wine, 6, seed=3):
        net = compile_genome(genome, seed=77)
        plan = batched._plan(EvaluationRequest("x", genome, 77), wine.n_features, wine.n_classes)
        own = {}
        for layer, (w, m) in enumerate(zip(net.weights, net.masks())):
            for row, node in enumerate(net.layer_nodes[layer]):
                for col in torch.nonzero(m[row]).flatten().tolist():
                    own[(node, col)] = float(w.detach()[row, col])
        values = {}
        for (level, block), (index, rows, cols) in plan.export.items():
            lv = plan.levels[level - 1]
            weights = lv.wx if block == 0 else lv.wh
            for k, r, c in zip(index, rows, cols):
                values[int(k)] = float(weights[r, c])
        for k, c in enumerate(genome.effective_connections):
            if c.group is None:
                assert values[k] == own[(c.target, net._column[c.source])]
        assert plan.shared[: net.shared.numel()].tolist() == net.shared.detach().tolist()


def test_random_genomes_score_as_their_compiled_networks_and_the_same_alone(
        wine, assert_reproduced_by_the_compiled_network):
    reqs = requests_for(random_genomes(wine, 14))
    assert any(r.genome.shared_groups for r in reqs) and any(r.genome.hidden_ids for r in reqs)
    assert any(r.genome.regularization.dropout > 0 for r in reqs)
    together = train(reqs, wine, SETTINGS)
    for e in together:
        assert_reproduced_by_the_compiled_network(e, wine)
    single = train(reqs, wine, dataclasses.replace(SETTINGS, batched=False))
    assert [comparable(e) for e in single] == [comparable(e) for e in together]


def test_layered_genomes_score_as_their_compiled_networks(wine, assert_reproduced_by_the_compiled_network):
    rng = np.random.default_rng(5)
    genomes = [layered(wine, [int(rng.integers(4, 12))] * int(rng.integers(1, 3)), rng) for _ in range(6)]
    for e in train(requests_for(genomes), wine, SETTINGS):
        assert_reproduced_by_the_compiled_network(e, wine)


def test_a_candidates_result_does_not_depend_on_its_chunk(wine):
    """Bit for bit: alone, in a chunk, in another order, with other company."""
    rng = np.random.default_rng(1)
    genomes = random_genomes(wine, 10, seed=7) + [layered(wine, [6, 5], rng), layered(wine, [6, 5], rng)]
    reqs = requests_for(genomes)
    together = [comparable(e) for e in train(reqs, wine, SETTINGS)]
    alone = [comparable(train([r], wine, SETTINGS)[0]) for r in reqs]
    assert together == alone
    order = rng.permutation(len(reqs))
    shuffled = train([reqs[i] for i in order[:7]], wine, SETTINGS)
    assert [comparable(e) for e in shuffled] == [together[i] for i in order[:7]]


def test_early_stopping_is_per_candidate_and_matches(wine, assert_reproduced_by_the_compiled_network):
    settings = TrainingSettings(epochs=60, batch_size=32, learning_rate=0.1, patience=2)
    reqs = requests_for(random_genomes(wine, 6, seed=11))
    together = train(reqs, wine, settings)
    assert len({e.epochs for e in together}) > 1  # candidates stopped at different epochs
    assert any(e.epochs < settings.epochs for e in together)
    for e in together:
        assert_reproduced_by_the_compiled_network(e, wine)  # the best weights were restored
    assert [comparable(e) for e in together] == [comparable(train([r], wine, settings)[0]) for r in reqs]


def poison(monkeypatch, seed):
    """Give the candidate with ``seed`` an infinite initial weight."""
    original_values = batched._initial_values

    def values(genome, layout, s):
        out = original_values(genome, layout, s)
        if s == seed:
            out[0] = math.inf
        return out

    monkeypatch.setattr(batched, "_initial_values", values)


def test_a_diverging_candidate_does_not_touch_the_others(wine, monkeypatch):
    genomes = [minimal_genome(wine.n_features, wine.n_classes, np.random.default_rng(i), InnovationTracker(), 1.0)
               for i in range(4)]
    reqs = requests_for(genomes)  # one shape: a single stack
    clean = [comparable(e) for e in train(reqs, wine, SETTINGS)]
    poison(monkeypatch, seed=reqs[1].seed)
    together = train(reqs, wine, SETTINGS)
    single = train(reqs, wine, dataclasses.replace(SETTINGS, batched=False))
    assert together[1].status is Status.DIVERGED and "loss became nan in epoch 1" in together[1].error
    assert together[1].epochs == 1 and together[1].val_accuracy is None and together[1].costs
    assert [comparable(e) for i, e in enumerate(together) if i != 1] == [e for i, e in enumerate(clean) if i != 1]
    assert [comparable(e) for e in single] == [comparable(e) for e in together]


def test_failures_and_timeouts_are_the_same_statuses(wine):
    good = requests_for(random_genomes(wine, 3, seed=2))
    wrong = minimal_genome(7, 3, np.random.default_rng(0), InnovationTracker(), 1.0)
    reqs = [good[0], EvaluationRequest("bad", wrong, 5), *good[1:]]
    for settings in (SETTINGS, dataclasses.replace(SETTINGS, batched=False)):
        results = train(reqs, wine, settings)
        assert [r.status for r in results] == [Status.OK, Status.FAILED, Status.OK, Status.OK]
        assert "RuntimeError" in results[1].error
    slow = TrainingSettings(epochs=10_000, batch_size=1, time_limit=0.05)
    for settings in (slow, dataclasses.replace(slow, batched=False)):
        results = train(good, wine, settings)
        assert all(r.status is Status.TIMEOUT and "time limit" in r.error for r in results)


def test_bfloat16_autocast_trains(wine):
    reqs = requests_for(random_genomes(wine, 4, seed=4))
    results = train(reqs, wine, dataclasses.replace(SETTINGS, precision="bfloat16"))
    assert all(r.status is Status.OK and r.val_accuracy > 0.3 for r in results)
    with pytest.raises(ValueError, match="precision"):
        TrainingSettings(precision="float16")


def test_stats_count_useful_and_executed_flops(wine):
    reqs = requests_for(random_genomes(wine, 5, seed=9))
    data = batched.DataTensors(wine, torch.device("cpu"))
    result = batched.train_batched(reqs, data, SETTINGS, torch.device("cpu"))
    stats = result.stats
    assert stats.candidates == 5 and sum(stats.bucket_sizes) == 5 and stats.buckets == len(stats.bucket_sizes)
    connections = sum(len(r.genome.effective_connections) for r in reqs)
    n_train = wine.x_train.shape[0]
    scored = n_train + wine.x_val.shape[0] + wine.x_test.shape[0]
    assert stats.useful_flops == pytest.approx(2 * connections * (3 * SETTINGS.epochs * n_train + scored))
    assert stats.executed_flops >= stats.useful_flops
    useful, executed = batched.flop_counts([r.genome for r in reqs], wine.n_features, 1)
    assert stats.executed_flops == pytest.approx(executed * (3 * SETTINGS.epochs * n_train + scored))


def test_an_epoch_of_epoch_rows_visits_that_many_rows_the_same_in_any_chunk(wine):
    """``epoch_rows`` below the training rows: each epoch trains on that many of them (the flops
    say so), a fresh sample each epoch, a candidate's result still independent of its company;
    at or above the training rows it changes nothing."""
    reqs = requests_for(random_genomes(wine, 6, seed=9))
    data = batched.DataTensors(wine, torch.device("cpu"))
    n_train = wine.x_train.shape[0]
    sampled = dataclasses.replace(SETTINGS, epoch_rows=n_train // 3)
    result = batched.train_batched(reqs, data, sampled, torch.device("cpu"))
    connections = sum(len(r.genome.effective_connections) for r in reqs)
    scored = n_train + wine.x_val.shape[0] + wine.x_test.shape[0]
    assert result.stats.useful_flops == pytest.approx(2 * connections * (3 * SETTINGS.epochs * (n_train // 3) + scored))
    evaluations = [comparable(e) for e in train(reqs, wine, sampled)]
    assert evaluations == [comparable(train([r], wine, sampled)[0]) for r in reqs]
    assert evaluations != [comparable(e) for e in train(reqs, wine, SETTINGS)]
    every_row = dataclasses.replace(SETTINGS, epoch_rows=n_train)
    assert [comparable(e) for e in train(reqs, wine, every_row)] == [comparable(e) for e in train(reqs, wine, SETTINGS)]


def test_epochs_sample_afresh_rather_than_repeat_one_subset(wine, monkeypatch):
    """The rows of two epochs differ: each epoch takes the head of a new permutation."""
    seen: list[torch.Tensor] = []
    original = batched._BucketTraining._step

    def step(self, index):
        seen.append(index.clone())
        return original(self, index)

    monkeypatch.setattr(batched._BucketTraining, "_step", step)
    settings = dataclasses.replace(SETTINGS, epochs=2, epoch_rows=16, batch_size=16)
    train(requests_for(random_genomes(wine, 1, seed=3)), wine, settings)
    assert len(seen) == 2 and seen[0].shape == (1, 16)
    assert set(seen[0].flatten().tolist()) != set(seen[1].flatten().tolist())


def test_epoch_rows_below_one_is_refused():
    with pytest.raises(ValueError, match="epoch_rows"):
        TrainingSettings(epoch_rows=0)


@pytest.mark.parametrize("rows", [1, 7, 128])
def test_a_candidates_matmul_does_not_depend_on_the_other_candidates(rows):
    """What chunk independence rests on: one candidate's product and its gradients give the same
    bits alone as in any stack, whatever the other candidates and their number (on any BLAS:
    each candidate is a BLAS call of its own; a batched GEMM differs on some machines)."""
    g = torch.Generator().manual_seed(0)
    for k, n in ((2, 2), (13, 8), (64, 10), (64, 48), (120, 10)):
        a, w, up = torch.randn(rows, k, generator=g), torch.randn(k, n, generator=g), torch.randn(rows, n, generator=g)

        def product(a_stack, w_stack, up_stack):
            a_stack, w_stack = a_stack.requires_grad_(True), w_stack.requires_grad_(True)
            out = batched.per_candidate_matmul(a_stack, w_stack)
            (out * up_stack).sum().backward()
            return out.detach(), a_stack.grad, w_stack.grad

        alone = [t[0] for t in product(a[None].clone(), w[None].clone(), up[None])]
        for count in (2, 5, 33, 64):
            big_a, big_w = torch.randn(count, rows, k, generator=g), torch.randn(count, k, n, generator=g)
            big_up = torch.randn(count, rows, n, generator=g)
            big_a[count - 1], big_w[count - 1], big_up[count - 1] = a, w, up
            together = [t[count - 1] for t in product(big_a, big_w, big_up)]
            for x, y in zip(alone, together):
                assert torch.equal(x, y)
        assert torch.allclose(alone[0], a @ w, atol=1e-5)  # and it is the product


@pytest.mark.parametrize("rows", [7, 128])
def test_a_candidates_matmul_does_not_depend_on_how_its_operands_lie_in_memory(rows):
    """Strided stacks (a transposed loss gradient), parts of odd lengths and one matrix expanded
    over the stack from an unaligned start (scoring rows of a shared data array) give each
    candidate the bits of its operands as fresh contiguous matrices."""
    g = torch.Generator().manual_seed(1)
    count, k, n = 5, 13, 10
    w = torch.randn(count, k, n, generator=g)
    reference = torch.randn(count, rows, k, generator=g)
    expected = [batched.per_candidate_matmul(reference[c][None].clone(), w[c][None].clone())[0] for c in range(count)]
    strided = reference.transpose(1, 2).contiguous().transpose(1, 2)  # the same values, column-major parts
    assert not strided.is_contiguous()
    assert all(torch.equal(x, y) for x, y in zip(batched.per_candidate_matmul(strided, w), expected))
    shared = torch.randn(rows, k, generator=g)
    unaligned = torch.empty(rows * k + 1)[1:].view(rows, k)  # starts 4 bytes past an allocation
    unaligned.copy_(shared)
    alone = [batched.per_candidate_matmul(shared[None].clone(), w[c][None].clone())[0] for c in range(count)]
    together = batched.per_candidate_matmul(unaligned.expand(count, rows, k), w)
    assert all(torch.equal(x, y) for x, y in zip(together, alone))


@pytest.mark.parametrize("batch_size", [49, 134])
def test_digits_candidates_give_the_same_bits_alone_and_in_a_stack(batch_size):
    """64 inputs, 10 outputs and a last mini-batch of 7 or 1 rows: the shapes where one entry of
    a batched GEMM depends on the others on some machines."""
    digits = load_dataset("digits", seed=0)
    assert digits.x_train.shape[0] % batch_size in (1, 7)
    settings = TrainingSettings(epochs=2, batch_size=batch_size, learning_rate=0.02)
    genomes = [minimal_genome(64, 10, np.random.default_rng(i), InnovationTracker(), 1.0) for i in range(5)]
    reqs = requests_for(genomes)  # one shape: a single stack of five
    together = [comparable(e) for e in train(reqs, digits, settings)]
    alone = [comparable(train([r], digits, settings)[0]) for r in reqs]
    assert together == alone


def test_padded_widths_follow_a_fixed_ladder():
    assert [batched.padded_width(n) for n in (1, 8, 9, 63, 64, 65, 120, 129, 300)] == [8, 8, 16, 64, 64, 80, 128, 160, 320]


@pytest.mark.parametrize("compact", [False, True])
def test_absent_weights_stay_zero_and_train_to_the_bits_of_a_masked_forward(wine, monkeypatch, compact):
    """A block of own weights multiplies as it is (no ``w * mask`` at each step): its absent
    entries start at zero and stay zero, and every candidate trains to the bits it got when the
    forward pass multiplied by the mask and Adam updated every entry (shared groups, skips,
    dropout and elastic-net genes among the genomes), with Adam's state kept for the live entries
    only (``compact``) or for all."""
    from connevo.workers import optim
    from connevo.workers.stack import Stack

    monkeypatch.setattr(optim, "COMPACT_SHARE", 1.0 if compact else 0.0)
    monkeypatch.setattr(optim, "MIN_COMPACT_DEAD", 0)
    settings = dataclasses.replace(SETTINGS, epochs=3)
    reqs = requests_for(random_genomes(wine, 12, seed=5))
    seen: list[Stack] = []
    build = Stack.build.__func__

    def recording(cls, plans, device):
        stack = build(cls, plans, device)
        seen.append(stack)
        return stack

    monkeypatch.setattr(Stack, "build", classmethod(recording))
    now = [comparable(e) for e in train(reqs, wine, settings)]
    trained = [s for s in seen if any(p.grad is not None for p in s.parameters())]
    assert trained
    for stack in trained:
        for lv in stack.levels:
            for w, mask, groups in ((lv.wx, lv.mx, lv.gx), (lv.wh, lv.mh, lv.gh)):
                if w is not None and not stack._shares(groups):
                    assert torch.all(w.detach()[mask == 0] == 0)

    def masked(self, w, mask, groups, group_mask, copy=True):
        eff = w * mask
        if self._shares(groups):
            eff = eff + torch.gather(self.shared, 1, groups).view_as(w) * group_mask
        return eff

    monkeypatch.setattr(Stack, "_effective", masked)
    monkeypatch.setattr(Stack, "live_masks", lambda self: [None] * len(self.parameters()))
    assert [comparable(e) for e in train(reqs, wine, settings)] == now


def test_the_l1_gradient_added_by_hand_has_the_bits_of_the_penalty_backward_pass(wine, monkeypatch):
    """A stack whose genes weigh the L1 term alone adds ``weight_decay x l1_ratio x sign(w)`` to
    its gradients after the backward pass instead of building the penalty's graph: every
    candidate (L1 strengths from none to strong, dropout among them, weight-sharing groups
    where the operators grew them) trains to the bits it got through the penalty's graph."""
    from connevo.search_space.genome import Regularization
    from connevo.workers.stack import Stack

    strengths = [0.0, 0.001, 0.01, 0.3]
    genomes = [g.replace(regularization=Regularization(strengths[i % 4], 1.0, 0.2 * (i % 2)))
               for i, g in enumerate(random_genomes(wine, 12, seed=11))]
    reqs = requests_for(genomes)
    settings = dataclasses.replace(SETTINGS, epochs=3)
    by_hand: list[bool] = []
    init = Stack.__init__

    def recording(self, *args, **kwargs):
        init(self, *args, **kwargs)
        by_hand.append(self.l1_by_hand)

    monkeypatch.setattr(Stack, "__init__", recording)
    now = [comparable(e) for e in train(reqs, wine, settings)]
    assert any(by_hand)  # the stacks without shared weights take the gradient by hand

    def through_the_graph(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.l1_by_hand = False

    monkeypatch.setattr(Stack, "__init__", through_the_graph)
    assert [comparable(e) for e in train(reqs, wine, settings)] == now
    assert all(e.status == Status.OK for e in now)
