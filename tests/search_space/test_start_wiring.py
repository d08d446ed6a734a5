"""``start_wiring = "gradient"``: the first generation's sparse linear networks wire the input ->
output pairs of largest loss gradient at zero weights; ``"auto"``: random pairs, and on many inputs
sparser starts that wire the strongest pairs. Both score the inputs for the hidden-layer starts
(``"auto"`` from 20 inputs on)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from connevo.evolution import run
from connevo.evolution.initial import AUTO_INPUTS_PER_OUTPUT, AUTO_SCORED_INPUTS, InitialPopulation, wiring_plan
from connevo.evolution.spec import parse_spec
from connevo.evolution.task import load_task
from connevo.search_space import InnovationTracker, Limits
from connevo.search_space.genome import Genome
from connevo.search_space.start_wiring import (
    concentrated,
    hidden_input_scores,
    input_scores,
    magnitude_gradients,
    strongest_pairs,
    zero_weight_gradients,
)
from tests.support import small_spec


@pytest.fixture
def rows() -> tuple[np.ndarray, np.ndarray]:
    """120 standardized rows of 6 features; three classes set by features 1 and 4."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((120, 6))
    y = np.where(x[:, 1] > 0.5, 2, np.where(x[:, 4] > 0, 1, 0))
    return x, y


def autograd_gradients(x: np.ndarray, y: np.ndarray, kind: str, n_outputs: int) -> np.ndarray:
    """|d loss / d W| at W = 0 by torch autograd, the biases at their best constant fit."""
    xt = torch.as_tensor(x, dtype=torch.float64)
    w = torch.zeros(x.shape[1], n_outputs, dtype=torch.float64, requires_grad=True)
    if kind == "regression":
        target = torch.as_tensor(y, dtype=torch.float64).reshape(-1, 1)
        loss = 0.5 * ((xt @ w + target.mean() - target) ** 2).sum()
    elif n_outputs == 1:
        target = torch.as_tensor(y == 1, dtype=torch.float64).reshape(-1, 1)
        bias = torch.logit(target.mean())
        loss = torch.nn.functional.binary_cross_entropy_with_logits(xt @ w + bias, target, reduction="sum")
    else:
        labels = torch.as_tensor(y, dtype=torch.int64)
        bias = torch.log(torch.bincount(labels, minlength=n_outputs).double() / len(labels))
        loss = torch.nn.functional.cross_entropy(xt @ w + bias, labels, reduction="sum")
    loss.backward()
    assert w.grad is not None
    return w.grad.abs().numpy()


def test_zero_weight_gradients_are_the_loss_gradients_of_a_multiclass_softmax(rows):
    x, y = rows
    np.testing.assert_allclose(zero_weight_gradients(x, y, "classification", 3),
                               autograd_gradients(x, y, "classification", 3), rtol=1e-9, atol=1e-9)


def test_zero_weight_gradients_of_one_logit_and_of_a_regression(rows):
    x, y = rows
    binary = (y == 2).astype(np.int64)
    np.testing.assert_allclose(zero_weight_gradients(x, binary, "classification", 1),
                               autograd_gradients(x, binary, "classification", 1), rtol=1e-9, atol=1e-9)
    target = 2.0 * x[:, 3] - x[:, 0]
    np.testing.assert_allclose(zero_weight_gradients(x, target, "regression", 1),
                               autograd_gradients(x, target, "regression", 1), rtol=1e-9, atol=1e-9)


def test_the_gradients_are_summed_row_after_row_whatever_the_blas(rows):
    """Bit for bit the rows' products added in order (a BLAS matmul may add them in another order
    on another machine, and near-equal gradients could then rank differently)."""
    x, y = rows
    residual = np.zeros((len(y), 3))
    residual[np.arange(len(y)), y] = 1.0
    residual -= residual.mean(axis=0)
    total = np.zeros((6, 3))
    for row in range(len(y)):
        total = total + np.outer(x[row], residual[row])
    assert np.array_equal(zero_weight_gradients(x, y, "classification", 3), np.abs(total))


def test_the_informative_inputs_score_highest(rows):
    x, y = rows
    by_input = zero_weight_gradients(x, y, "classification", 3).sum(axis=1)
    assert set(np.argsort(-by_input)[:2]) == {1, 4}


def test_strongest_pairs_are_exactly_the_largest_scores():
    scores = np.array([[0.1, 5.0], [3.0, 0.2], [4.0, 0.3]])
    assert strongest_pairs(scores, 3, np.random.default_rng(0)).tolist() == [1, 2, 4]
    assert strongest_pairs(scores, 100, np.random.default_rng(0)).tolist() == list(range(6))


def test_equal_scores_are_chosen_in_a_random_order_drawn_from_the_generator():
    ties = np.ones((10, 2))
    picks = {tuple(strongest_pairs(ties, 3, np.random.default_rng(seed))) for seed in range(20)}
    assert len(picks) > 1
    assert strongest_pairs(ties, 3, np.random.default_rng(7)).tolist() == \
        strongest_pairs(ties, 3, np.random.default_rng(7)).tolist()


def test_the_spanning_start_wires_its_sparse_linear_networks_by_gradient(rows):
    x, y = rows
    scores = zero_weight_gradients(x, y, "classification", 3)
    start = InitialPopulation("spanning", n_inputs=6, n_outputs=3, density=(0.2, 1.0), activation="relu",
                              pair_scores=scores)
    genomes = start.genomes(8, np.random.default_rng(0), InnovationTracker(), Limits(max_hidden_nodes=4))
    linear = [g for g in genomes if not g.hidden_ids and g.connections]  # not the one without connections
    assert len(linear) == 4
    order = np.argsort(-scores.reshape(-1))
    for genome in linear:
        wired = {(c.source, c.target) for c in genome.enabled_connections}
        best = {(int(k) // 3, 6 + int(k) % 3) for k in order[:len(wired)]}
        assert wired == best
        genome.validate()


def test_a_campaign_with_gradient_wiring_starts_from_the_strongest_pairs(tmp_path):
    spec = small_spec(**{"task.dataset": "wine", "search_space.start_wiring": "gradient",
                         "search_space.initial_density": [0.1, 1.0], "evolution.generations": 1,
                         "evolution.population": 8})
    result = run(spec, str(tmp_path / "wiring.db"))
    dataset = load_task(parse_spec(spec))
    scores = zero_weight_gradients(dataset.x_train, dataset.y_train, dataset.kind, dataset.n_outputs).reshape(-1)
    first = result.candidates()
    first = first[(first["generation"] == 0) & (first["hidden_nodes"] == 0) & (first["connections"] > 0)]
    assert len(first) == 4
    n_inputs = dataset.n_features
    for genome in first["genome"]:
        pairs = [(c["source"], c["target"]) for c in genome["connections"]] if isinstance(genome, dict) else None
        assert pairs is not None
        flat = sorted(s * dataset.n_outputs + (t - n_inputs) for s, t in pairs)
        threshold = np.sort(scores)[::-1][len(flat) - 1]
        assert all(scores[k] >= threshold for k in flat)


def wired_pairs(genome) -> set[tuple[int, int]]:
    return {(c.source, c.target) for c in genome.enabled_connections}


def top_pairs(scores: np.ndarray, count: int) -> set[tuple[int, int]]:
    n_inputs, n_outputs = scores.shape
    order = np.argsort(-scores.reshape(-1), kind="stable")[:count]
    return {(int(k) // n_outputs, n_inputs + int(k) % n_outputs) for k in order}


def test_auto_wiring_reaches_down_to_twenty_inputs_per_output_by_gradient_on_many_inputs():
    plan = wiring_plan("auto", (0.3, 1.0), 784)
    assert plan.density == (AUTO_INPUTS_PER_OUTPUT / 784, 1.0)
    assert plan.gradient and plan.gradient_below == 0.3


@pytest.mark.parametrize("n_inputs", [64, 20, 19, 4])
def test_auto_wiring_on_few_inputs_wires_the_linear_starts_at_random_and_scores_the_hidden_starts_from_20(n_inputs):
    """20 / 64 inputs is above the 0.3 floor: digits and smaller inputs wire their sparse linear
    starts as random wiring does; their hidden-layer starts are scored from 20 inputs on, where
    the sparsest share of a tenth reads two inputs. ``"gradient"`` scores them on any number."""
    auto, random = wiring_plan("auto", (0.3, 1.0), n_inputs), wiring_plan("random", (0.3, 1.0), n_inputs)
    assert (auto.density, auto.gradient) == (random.density, random.gradient) == ((0.3, 1.0), False)
    assert AUTO_SCORED_INPUTS == 20
    assert auto.scored_hidden == (n_inputs >= 20) and not random.scored_hidden
    assert wiring_plan("gradient", (0.3, 1.0), n_inputs).scored_hidden


@pytest.mark.parametrize("case", [dict(start="minimal"), dict(layout="retina")])
def test_auto_wiring_is_random_wiring_where_the_start_is_not_spanning(case):
    """No hidden-layer or sparse linear starts to wire: no scores."""
    assert wiring_plan("auto", (0.3, 1.0), 784, **case) == wiring_plan("random", (0.3, 1.0), 784, **case)
    assert not wiring_plan("auto", (0.3, 1.0), 784, **case).scored_hidden


def test_random_and_gradient_wiring_keep_the_spec_densities():
    assert wiring_plan("random", (0.3, 1.0), 784).density == (0.3, 1.0)
    gradient = wiring_plan("gradient", (0.3, 1.0), 784)
    assert gradient.density == (0.3, 1.0) and gradient.gradient and gradient.gradient_below > 1.0


def test_only_the_starts_below_the_gradient_floor_wire_the_strongest_pairs():
    scores = np.random.default_rng(2).random((40, 3))
    start = InitialPopulation("spanning", n_inputs=40, n_outputs=3, density=(0.05, 1.0), activation="relu",
                              pair_scores=scores, gradient_below=0.5)
    genomes = start.genomes(16, np.random.default_rng(0), InnovationTracker(), Limits(max_hidden_nodes=4))
    linear = [g for g in genomes if not g.hidden_ids]
    sparse = [g for g in linear if len(g.enabled_connections) < 0.5 * 120]
    dense = [g for g in linear if 0.5 * 120 <= len(g.enabled_connections) < 120]
    assert len(sparse) >= 4 and dense
    for genome in sparse:
        assert wired_pairs(genome) == top_pairs(scores, len(genome.enabled_connections))
    for genome in dense:  # a random share: not the top pairs
        assert wired_pairs(genome) != top_pairs(scores, len(genome.enabled_connections))


def test_a_campaign_with_auto_wiring_starts_below_the_floor_from_the_strongest_pairs(tmp_path):
    """digits' 64 inputs with a floor of 0.5: the sparsest starts reach 20 / 64 and wire the pairs
    of largest gradient; the denser ones random pairs."""
    spec = small_spec(**{"task.dataset": "digits", "search_space.start_wiring": "auto",
                         "search_space.initial_density": [0.5, 1.0], "evolution.generations": 0,
                         "evolution.population": 12, "training.epochs": 1})
    result = run(spec, str(tmp_path / "auto.db"))
    dataset = load_task(parse_spec(spec))
    scores = zero_weight_gradients(dataset.x_train, dataset.y_train, dataset.kind, dataset.n_outputs)
    first = result.candidates()
    linear = first[(first["generation"] == 0) & (first["hidden_nodes"] == 0) & (first["connections"] > 0)]
    counts = sorted(int(c) for c in linear["connections"])
    pairs = 64 * 10
    assert counts[0] == round(AUTO_INPUTS_PER_OUTPUT / 64 * pairs) and counts[-1] == pairs
    below = above = 0
    for genome, connections in zip(linear["genome"], linear["connections"]):
        wired = {(c["source"], c["target"]) for c in genome["connections"]}
        if connections < 0.5 * pairs:
            below += 1
            assert wired == top_pairs(scores, connections)
        elif connections < pairs:
            above += 1
            assert wired != top_pairs(scores, connections)
    assert below >= 2 and above >= 1


def inputs_read(genome) -> dict[int, set[int]]:
    """Each hidden neuron's inputs."""
    n_inputs = len(genome.input_ids)
    read: dict[int, set[int]] = {h: set() for h in genome.hidden_ids}
    for c in genome.enabled_connections:
        if c.target in read and c.source < n_inputs:
            read[c.target].add(c.source)
    return read


def concentrated_scores(n_inputs: int = 60, strong: int = 6) -> np.ndarray:
    """Pair scores where ``strong`` inputs carry most of the gradient."""
    scores = np.random.default_rng(4).random((n_inputs, 3))
    scores[:strong] += 5.0
    return scores


def test_the_gradient_is_concentrated_where_the_strongest_tenth_of_the_inputs_carries_over_a_quarter():
    assert concentrated(concentrated_scores())
    assert not concentrated(np.random.default_rng(4).random((60, 3)))  # an even spread: about a fifth
    shares = np.ones((20, 2))
    shares[:2] = 3.4  # the strongest two of twenty: 13.6 of 49.6, 0.27
    assert concentrated(shares)
    shares[:2] = 3.0  # 12 of 48: exactly a quarter
    assert not concentrated(shares)
    assert not concentrated(np.zeros((10, 2)))


def test_input_scores_add_the_outputs_one_after_another():
    scores = np.random.default_rng(1).random((7, 5))
    expected = (((scores[:, 0] + scores[:, 1]) + scores[:, 2]) + scores[:, 3]) + scores[:, 4]
    assert np.array_equal(input_scores(scores)[:, 0], expected)


def test_where_the_gradient_is_concentrated_the_hidden_starts_read_the_inputs_of_largest_gradient():
    """Every hidden neuron of a hidden-layer start reads the inputs of largest summed loss
    gradient, as many as its input share asks: on many inputs, few informative, a random share
    would read mostly noise."""
    scores = concentrated_scores()
    start = InitialPopulation("spanning", n_inputs=60, n_outputs=3, density=(0.05, 1.0), activation="relu",
                              pair_scores=scores, hidden_scores=input_scores(scores), gradient_below=0.3)
    genomes = start.genomes(16, np.random.default_rng(0), InnovationTracker(), Limits(max_hidden_nodes=8))
    hidden = [g for g in genomes if g.hidden_ids]
    assert len(hidden) == 7 and len({len(g.enabled_connections) for g in hidden}) > 3
    ranked = np.argsort(-scores.sum(axis=1), kind="stable")
    for genome in hidden:
        read = inputs_read(genome)
        fan_in = len(next(iter(read.values())))
        assert all(inputs == set(ranked[:fan_in].tolist()) for inputs in read.values())
        genome.validate()


@pytest.mark.parametrize("scores", [None, np.random.default_rng(4).random((60, 3))], ids=["random", "spread"])
def test_without_gradients_or_with_a_spread_one_each_hidden_neuron_reads_a_random_share_of_its_own(scores):
    start = InitialPopulation("spanning", n_inputs=60, n_outputs=3, density=(0.05, 1.0), activation="relu",
                              pair_scores=scores, hidden_scores=None if scores is None else input_scores(scores),
                              gradient_below=0.3)
    genomes = start.genomes(16, np.random.default_rng(0), InnovationTracker(), Limits(max_hidden_nodes=8))
    partial = [inputs_read(g) for g in genomes if len(g.hidden_ids) > 1]
    partial = [read for read in partial if len(next(iter(read.values()))) < 60]
    assert partial and all(len({frozenset(inputs) for inputs in read.values()}) > 1 for read in partial)


@pytest.fixture
def spread_rows() -> tuple[np.ndarray, np.ndarray]:
    """600 standardized rows of 20 features; class 1 has feature 3 shifted and feature 7 spread
    three times as wide, the same mean: a class told by its spread, not its mean."""
    rng = np.random.default_rng(11)
    y = np.repeat([0, 1], 300)
    x = rng.standard_normal((600, 20))
    x[y == 1, 3] += 1.0
    x[y == 1, 7] *= 3.0
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    return x, y


def test_magnitude_gradients_are_the_zero_weight_gradients_of_each_standardized_magnitude(spread_rows):
    x, y = spread_rows
    magnitude = np.abs(x)
    z = (magnitude - magnitude.mean(axis=0)) / magnitude.std(axis=0)
    np.testing.assert_allclose(magnitude_gradients(x, y, "classification", 1),
                               autograd_gradients(z, y, "classification", 1), rtol=1e-9, atol=1e-9)


def test_an_input_told_by_its_spread_scores_for_the_hidden_starts_though_its_gradient_is_noise(spread_rows):
    """Feature 7's classes share a mean: its gradient at zero weights is noise, but a hidden
    neuron folding it about its mean separates them, and the hidden starts' scores rank it
    first or second, beside the shifted feature 3."""
    x, y = spread_rows
    pairs = zero_weight_gradients(x, y, "classification", 1)
    magnitudes = magnitude_gradients(x, y, "classification", 1)
    by_gradient = np.argsort(-pairs[:, 0]).tolist()
    assert by_gradient[0] == 3 and 7 not in by_gradient[:5]
    scores = hidden_input_scores(pairs, magnitudes)
    assert scores.shape == (20, 1)
    assert set(np.argsort(-scores[:, 0])[:2].tolist()) == {3, 7}
    assert np.array_equal(scores, np.maximum(input_scores(pairs), input_scores(magnitudes)))


def test_the_hidden_starts_read_the_strongest_inputs_by_their_own_scores_not_the_pairs():
    """The sparse linear starts wire the pairs of largest gradient; the hidden-layer starts read
    the inputs ``hidden_scores`` ranks first, which may differ."""
    pairs = concentrated_scores()
    hidden_scores = np.random.default_rng(9).random((60, 1))
    hidden_scores[40:46] += 20.0
    start = InitialPopulation("spanning", n_inputs=60, n_outputs=3, density=(0.05, 1.0), activation="relu",
                              pair_scores=pairs, hidden_scores=hidden_scores, gradient_below=0.3)
    genomes = start.genomes(16, np.random.default_rng(0), InnovationTracker(), Limits(max_hidden_nodes=8))
    ranked = np.argsort(-hidden_scores[:, 0], kind="stable")
    hidden = [g for g in genomes if g.hidden_ids]
    assert len(hidden) == 7
    for genome in hidden:
        read = inputs_read(genome)
        fan_in = len(next(iter(read.values())))
        assert all(inputs == set(ranked[:fan_in].tolist()) for inputs in read.values())


@pytest.fixture
def few_inputs_file(tmp_path) -> str:
    """An NPZ table of 24 features, 600 rows: the class by features 2, 9 and 17, the rest noise."""
    rng = np.random.default_rng(21)
    x = rng.standard_normal((600, 24))
    y = ((x[:, 2] + x[:, 9] + x[:, 17]) > 0).astype(np.int64)
    path = tmp_path / "few.npz"
    np.savez(path, x=x, label=y)
    return str(path)


@pytest.mark.parametrize("wiring", ["auto", "random"])
def test_on_24_inputs_3_informative_auto_hidden_starts_read_the_strongest_and_random_ones_do_not(
        tmp_path, few_inputs_file, wiring):
    """24 inputs, 3 informative (fewer than the 66 where the linear starts wire by gradient): under
    ``"auto"`` every hidden neuron of a first-generation network that reads fewer than all inputs
    reads the inputs of largest score, the informative three first; under ``"random"`` each neuron
    draws its own share."""
    spec = small_spec(**{"task.dataset": few_inputs_file, "search_space.start_wiring": wiring,
                         "evolution.generations": 0, "evolution.population": 16, "training.epochs": 1,
                         "search_space.max_hidden_nodes": 8})
    result = run(spec, str(tmp_path / "few.db"))
    dataset = load_task(parse_spec(spec))
    scores = hidden_input_scores(
        zero_weight_gradients(dataset.x_train, dataset.y_train, dataset.kind, dataset.n_outputs),
        magnitude_gradients(dataset.x_train, dataset.y_train, dataset.kind, dataset.n_outputs))
    assert concentrated(scores)
    ranked = np.argsort(-scores[:, 0], kind="stable")
    assert set(ranked[:3].tolist()) == {2, 9, 17}
    first = result.candidates()
    partial = []
    for genome in first[(first["generation"] == 0) & (first["hidden_nodes"] > 0)]["genome"]:
        read = inputs_read(Genome.from_dict(genome))
        partial += [inputs for inputs in read.values() if 0 < len(inputs) < 24]
    assert len(partial) >= 4
    if wiring == "auto":
        assert all(inputs == set(ranked[:len(inputs)].tolist()) for inputs in partial)
    else:
        assert not all(inputs == set(ranked[:len(inputs)].tolist()) for inputs in partial)
