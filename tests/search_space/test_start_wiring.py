"""``start_wiring = "gradient"``: the first generation's sparse linear networks wire the input ->
output pairs of largest loss gradient at zero weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from connevo.evolution import run
from connevo.evolution.initial import InitialPopulation
from connevo.evolution.spec import parse_spec
from connevo.evolution.task import load_task
from connevo.search_space import InnovationTracker, Limits
from connevo.search_space.start_wiring import strongest_pairs, zero_weight_gradients
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
    linear = [g for g in genomes if not g.hidden_ids]
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
    first = first[(first["generation"] == 0) & (first["hidden_nodes"] == 0)]
    assert len(first) == 4
    n_inputs = dataset.n_features
    for genome in first["genome"]:
        pairs = [(c["source"], c["target"]) for c in genome["connections"]] if isinstance(genome, dict) else None
        assert pairs is not None
        flat = sorted(s * dataset.n_outputs + (t - n_inputs) for s, t in pairs)
        threshold = np.sort(scores)[::-1][len(flat) - 1]
        assert all(scores[k] >= threshold for k in flat)
