"""Shapes of one depth train in one stack, each candidate multiplying on its own shape: the same
bits as each gets alone, in fewer stacks."""

import dataclasses

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from connevo.search_space.genome import ConnectionGene, Genome, NodeGene, Regularization
from connevo.workers import EvaluationRequest, TrainingSettings, batched, load_dataset
from connevo.workers.data_tensors import DataTensors
from connevo.workers.kernels import Part, per_candidate_matmul
from connevo.workers.merging import MIN_SHARE, merged_shapes, volume, widen
from connevo.workers.plans import Shape, build_plan
from tests.support import random_genomes

CPU = torch.device("cpu")
SETTINGS = TrainingSettings(epochs=3, batch_size=16, learning_rate=0.02)
CHAIN = ((0,), (1,), (2,))


@pytest.fixture
def genome_of():
    """``genome_of(dataset, widths, skip=False, seed=0, regularization=None)``: hidden layers of
    ``widths`` wired one to the next at random (a neuron may have a single connection); with
    ``skip``, every other layer also feeds the outputs, so the output level has several sources."""
    def make(dataset, widths, skip=False, seed=0, regularization=None):
        rng = np.random.default_rng(seed)
        n_in, n_out = dataset.n_features, dataset.n_outputs
        layers = [list(range(n_in))]
        nodes = [NodeGene(i, "input") for i in range(n_in)] + [NodeGene(n_in + o, "output") for o in range(n_out)]
        next_id = n_in + n_out
        for k, w in enumerate(widths):
            layers.append(list(range(next_id, next_id + w)))
            nodes += [NodeGene(n, "hidden", ("relu", "tanh", "sigmoid")[k % 3]) for n in layers[-1]]
            next_id += w
        outputs = list(range(n_in, n_in + n_out))
        pairs = {(s, t) for a, b in zip(layers, layers[1:] + [outputs]) for s in a for t in b if rng.random() < 0.6}
        for a, b in zip(layers, layers[1:] + [outputs]):  # every neuron keeps an input and an output
            pairs |= {(a[0], t) for t in b} | {(s, b[0]) for s in a}
        if skip:
            pairs |= {(s, outputs[s % n_out]) for layer in layers[1:-1:2] for s in layer}
        edges = sorted(pairs)
        genome = Genome(tuple(nodes), tuple(ConnectionGene(k, s, t) for k, (s, t) in enumerate(edges)))
        if regularization is not None:
            genome = genome.replace(regularization=regularization)
        return genome.validate()
    return make


def test_shapes_of_one_depth_merge_into_the_widest_of_each_level_fed_from_all_their_sources():
    narrow = Shape((40, 16, 10), CHAIN, 0)
    wide = Shape((48, 24, 10), CHAIN, 0)
    skipping = Shape((40, 24, 10), ((0,), (1,), (1, 2)), 0)
    into = merged_shapes([narrow, wide, skipping], n_features=64, rows=128)
    assert into[narrow] == into[wide] == into[skipping] == Shape((48, 24, 10), ((0,), (1,), (1, 2)), 0)


def test_weight_sharing_another_depth_or_a_far_larger_shape_keeps_a_stack_of_its_own():
    small = Shape((8, 10), ((0,), (1,)), 0)
    shared = Shape((8, 10), ((0,), (1,)), 2)
    deeper = Shape((8, 8, 10), CHAIN, 0)
    large = Shape((256, 10), ((0,), (1,)), 0)
    into = merged_shapes([small, shared, deeper, large], n_features=64, rows=128)
    assert into == {small: small, shared: shared, deeper: deeper, large: large}


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.integers(1, 3), st.lists(st.sampled_from([8, 16, 24, 40, 64, 96]), min_size=3,
                                                      max_size=3)), min_size=1, max_size=12))
def test_no_shape_is_padded_to_more_than_its_share_of_the_merged_volume(members):
    shapes = [Shape(tuple(widths[: depth - 1]) + (10,),
                    tuple(tuple(range(level)) for level in range(1, depth + 1)), 0) for depth, widths in members]
    into = merged_shapes(shapes, n_features=20, rows=32)
    for shape, merged in into.items():
        assert merged.depth == shape.depth
        assert all(m >= s for m, s in zip(merged.widths, shape.widths))
        assert volume(shape, 20, 32) >= MIN_SHARE * volume(merged, 20, 32)


def test_a_parted_product_and_its_gradients_are_each_part_s_own_stack_s_bit_for_bit():
    """Parts of own shapes (a narrower output, a narrower inner dimension, inner rows picked
    from two segments) inside one padded stack: every value and gradient is the one a stack of
    that part alone computes, and the padding outside the parts gets zeros."""
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(6, 20, 24, generator=gen)
    w = torch.randn(6, 24, 16, generator=gen)
    picked = np.r_[0:8, 12:20]
    parts = [Part(0, 2, None, None, None), Part(2, 4, None, 16, 8), Part(4, 6, None, picked, 12)]
    a_, w_ = a.clone().requires_grad_(), w.clone().requires_grad_()
    out = per_candidate_matmul(a_, w_, parts=parts)
    grad = torch.randn(out.shape, generator=gen)
    out.backward(grad)
    for part in parts:
        rows = slice(part.start, part.stop)
        inner = slice(None) if part.inner is None else (
            slice(0, part.inner) if isinstance(part.inner, int) else torch.as_tensor(part.inner))
        cols = slice(None) if part.cols is None else slice(0, part.cols)
        own_a = a[rows][:, :, inner].contiguous().requires_grad_()
        own_w = w[rows][:, inner][:, :, cols].contiguous().requires_grad_()
        own_out = per_candidate_matmul(own_a, own_w)
        own_grad = grad[rows][:, :, cols].contiguous()
        own_out.backward(own_grad)
        assert torch.equal(out[rows][:, :, cols], own_out)
        assert torch.equal(a_.grad[rows][:, :, inner], own_a.grad)
        assert torch.equal(w_.grad[rows][:, inner][:, :, cols], own_w.grad)
    assert not out[2:4, :, 8:].any() and not w_.grad[2:4, 16:].any() and not a_.grad[2:4, :, 16:].any()


def test_a_widened_plan_keeps_every_connection_where_its_export_reads_it(wine, genome_of):
    plan = build_plan(EvaluationRequest("x", genome_of(wine, [5, 9], skip=True), 3), wine.n_features, wine.n_classes)
    wider = Shape(tuple(w + 8 for w in plan.shape.widths[:-1]) + plan.shape.widths[-1:],
                  tuple(tuple(sorted(set(s) | {0})) for s in plan.shape.sources), 0)
    wide = widen(plan, wider, wine.n_features)
    assert wide.shape == wider and wide.product_shape == plan.shape
    for (level, block), (_, rows, cols) in plan.export.items():
        own, padded = plan.levels[level - 1], wide.levels[level - 1]
        before = (own.wx if block == 0 else own.wh)[rows, cols]
        _, wide_rows, wide_cols = wide.export[level, block]
        assert np.array_equal((padded.wx if block == 0 else padded.wh)[wide_rows, wide_cols], before)
        assert np.array_equal((padded.mx if block == 0 else padded.mh).sum(), (own.mx if block == 0 else own.mh).sum())
    with pytest.raises(ValueError, match="cannot pad"):
        widen(plan, Shape((8,) * (plan.shape.depth - 1) + (wine.n_classes,), plan.shape.sources, 0), wine.n_features)


def comparable(evaluation):
    return dataclasses.replace(evaluation, seconds=0.0)


@pytest.mark.parametrize("training", [
    SETTINGS,
    dataclasses.replace(SETTINGS, epochs=6, patience=1),  # early stopping compacts the stack
    dataclasses.replace(SETTINGS, fan_in_boost=3.0),
])
def test_candidates_of_many_shapes_train_merged_to_the_bits_each_gets_alone(wine, genome_of, training):
    """Widths, skips to the outputs, dropout and elastic-net genes: far fewer stacks than shapes,
    and every metric, trained weight and structure hint the candidate's own stack gives it."""
    genomes = [genome_of(wine, widths, skip=skip, seed=k, regularization=Regularization(0.01 * (k % 3), k % 2, 0.1 * (k % 4)))
               for k, (widths, skip) in enumerate([([5, 9], False), ([7, 3], False), ([12, 12], True), ([2, 14], True),
                                                   ([9, 9], False), ([16, 4], True), ([3, 3], False), ([6], False),
                                                   ([11], False)])]
    requests = [EvaluationRequest(f"c{k}", g, 50 + k) for k, g in enumerate(genomes)]
    data = DataTensors(wine, CPU)
    together = batched.train_batched(requests, data, training, CPU, hints=True)
    shapes = {batched.plan_shape(g) for g in genomes}
    assert together.stats.buckets < len(shapes)
    for request, evaluation in zip(requests, together.evaluations):
        alone = batched.train_batched([request], data, training, CPU, hints=True).evaluations[0]
        assert evaluation.ok and evaluation.trained_genome.hints is not None
        assert comparable(evaluation) == comparable(alone)


def test_grown_genomes_with_shared_weights_keep_their_stacks_and_every_candidate_its_bits(wine, genome_of):
    """Genomes grown by the operators (weight sharing, skips, every activation) among layered
    ones: those that share weights keep stacks of their own, the others merge; the bits are
    each one's alone."""
    genomes = random_genomes(wine, 12, seed=5) + [genome_of(wine, widths, seed=9) for widths in ([4, 6], [6, 4], [9, 2])]
    requests = [EvaluationRequest(f"g{k}", g, 200 + k) for k, g in enumerate(genomes)]
    shapes = {batched.plan_shape(r.genome) for r in requests}
    assert any(s.groups for s in shapes)
    into = merged_shapes(shapes, wine.n_features, SETTINGS.batch_size)
    assert all(into[s] == s for s in shapes if s.groups)
    data = DataTensors(wine, CPU)
    together = batched.train_batched(requests, data, SETTINGS, CPU)
    assert together.stats.buckets < len(shapes)
    for request, evaluation in zip(requests, together.evaluations):
        assert comparable(evaluation) == comparable(batched.train_batched([request], data, SETTINGS, CPU).evaluations[0])


def test_a_stack_of_one_own_shape_multiplies_as_before(wine, genome_of):
    """No parts where every candidate is of the stack's shape: the products are the unparted ones."""
    plans = [build_plan(EvaluationRequest(f"c{k}", genome_of(wine, [5, 9], seed=1), k), wine.n_features, wine.n_classes)
             for k in range(3)]
    stack = batched.Stack.build(plans, CPU)
    assert all(lv.px is None and lv.ph is None and lv.pb is None for lv in stack.levels)


@pytest.mark.parametrize("name", ["breast_cancer", "diabetes"])
def test_a_binary_task_and_a_regression_train_merged_to_the_bits_each_gets_alone(name, genome_of):
    """One output (the logit of class 1; a standardized prediction), warm starts carrying
    weights and biases among fresh ones: the same bits merged as alone."""
    dataset = load_dataset(name, seed=0, kind="regression" if name == "diabetes" else "classification")
    genomes = [genome_of(dataset, widths, seed=k) for k, widths in enumerate([[6, 4], [9, 5], [3, 12], [12, 2]])]
    data = DataTensors(dataset, CPU)
    first = batched.train_batched([EvaluationRequest(f"w{k}", g, 300 + k) for k, g in enumerate(genomes)],
                                  data, SETTINGS, CPU)
    warm = [EvaluationRequest(f"h{k}", e.trained_genome, 400 + k, epochs=2, warm_start=True)
            for k, e in enumerate(first.evaluations[:2])]
    requests = [*warm, *(EvaluationRequest(f"c{k}", g, 500 + k) for k, g in enumerate(genomes))]
    together = batched.train_batched(requests, data, SETTINGS, CPU)
    assert together.stats.buckets < len({(batched.plan_shape(r.genome), r.epochs) for r in requests})
    for request, evaluation in zip(requests, together.evaluations):
        assert evaluation.ok
        assert comparable(evaluation) == comparable(batched.train_batched([request], data, SETTINGS, CPU).evaluations[0])
