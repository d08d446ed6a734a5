"""Training is real, seeded and turns every failure into a status."""

import dataclasses

import numpy as np
import pytest

from connevo.search_space import InnovationTracker, minimal_genome
from connevo.workers import EvaluationRequest, Status, TrainingSettings, load_dataset, train


@pytest.fixture(scope="module")
def iris():
    return load_dataset("iris", seed=0)


def request(dataset, seed=0, density=1.0, cid="c-0"):
    genome = minimal_genome(dataset.n_features, dataset.n_classes, np.random.default_rng(seed), InnovationTracker(), density)
    return EvaluationRequest(cid, genome, seed)


def test_a_linear_network_learns_iris(iris):
    [result] = train([request(iris)], iris, TrainingSettings(epochs=40, batch_size=32, learning_rate=0.05))
    assert result.status is Status.OK
    assert result.val_accuracy > 0.8 and result.test_accuracy > 0.8
    assert result.costs["connections"] == 12 and result.costs["params"] == 15
    assert result.epochs == 40
    # the trained weights come back on the genome
    assert all(c.weight is not None for c in result.trained_genome.connections)


def test_training_is_reproducible_from_the_seed(iris):
    settings = TrainingSettings(epochs=5, batch_size=16)
    a = train([request(iris, seed=1)], iris, settings)[0]
    b = train([request(iris, seed=1)], iris, settings)[0]
    assert dataclasses.replace(a, seconds=0) == dataclasses.replace(b, seconds=0)


def test_a_nan_loss_is_reported_as_diverged_not_raised(iris):
    poisoned = iris.x_train.copy()
    poisoned[3, 0] = np.nan
    dataset = dataclasses.replace(iris, x_train=poisoned)
    [result] = train([request(iris)], dataset, TrainingSettings(epochs=3, batch_size=16))
    assert result.status is Status.DIVERGED
    assert "loss" in result.error and result.val_accuracy is None
    assert result.costs["connections"] == 12


def test_a_candidate_past_its_time_limit_is_a_timeout(iris):
    [result] = train([request(iris)], iris, TrainingSettings(epochs=1000, batch_size=1, time_limit=0.05))
    assert result.status is Status.TIMEOUT and "time limit" in result.error


def test_a_candidate_that_raises_is_failed_and_the_others_still_train(iris):
    bad = request(iris, cid="bad")
    # a genome for another input width makes the forward pass raise inside the worker
    wrong = minimal_genome(7, 3, np.random.default_rng(0), InnovationTracker(), 1.0)
    bad = dataclasses.replace(bad, genome=wrong)
    results = train([bad, request(iris, cid="good")], iris, TrainingSettings(epochs=2))
    assert [r.candidate_id for r in results] == ["bad", "good"]
    assert results[0].status is Status.FAILED and "RuntimeError" in results[0].error
    assert results[1].status is Status.OK


def test_early_stopping_stops_before_the_last_epoch(iris):
    settings = TrainingSettings(epochs=500, batch_size=32, learning_rate=0.1, patience=3)
    [result] = train([request(iris)], iris, settings)
    assert result.status is Status.OK and result.epochs < 500


def test_a_regression_trains_one_output_on_the_standardized_target_and_scores_in_its_units():
    import torch
    from sklearn.metrics import mean_absolute_error, r2_score

    from connevo.results.metrics import prediction_metrics
    from connevo.search_space.compile import compile_genome

    diabetes = load_dataset("diabetes", kind="regression", seed=0)
    rng, tracker = np.random.default_rng(0), InnovationTracker()
    requests = [EvaluationRequest(f"c-{k}", minimal_genome(10, diabetes.n_outputs, rng, tracker, density), k)
                for k, density in enumerate((0.3, 1.0))]
    settings = TrainingSettings(epochs=20, batch_size=32, learning_rate=0.05,
                                prediction_metrics=prediction_metrics("regression"))
    results = train(requests, diabetes, settings)
    alone = train(requests[1:], diabetes, dataclasses.replace(settings, batched=False))[0]
    assert dataclasses.replace(alone, seconds=0) == dataclasses.replace(results[1], seconds=0)  # its company aside
    for result in results:
        assert result.status is Status.OK and result.confusion is None
        assert result.train_accuracy is result.val_accuracy is result.test_accuracy is None
        net = compile_genome(result.trained_genome, use_genome_weights=True, two_class_logits=False)
        with torch.no_grad():
            z = net(torch.as_tensor(diabetes.x_val))[:, 0].double().numpy()
        assert result.val_loss == pytest.approx(np.mean((z - diabetes.y_val) ** 2), rel=1e-5)  # standardized MSE
        y, predicted = diabetes.original(diabetes.y_val), diabetes.original(z)
        assert result.scores["val_r2"] == pytest.approx(r2_score(y, predicted), rel=1e-5)
        assert result.scores["val_mse"] == pytest.approx(result.val_loss * diabetes.y_std ** 2, rel=1e-5)
        assert result.scores["val_mae"] == pytest.approx(mean_absolute_error(y, predicted), rel=1e-5)
    assert results[1].scores["val_r2"] > 0.3  # a linear model of all ten features explains a good part
    # a network without connections predicts its bias: about the mean (R^2 near 0)
    [bias_only] = train([dataclasses.replace(requests[0], genome=requests[0].genome.with_connections([]))], diabetes,
                        settings)
    assert bias_only.status is Status.OK and abs(bias_only.scores["val_r2"]) < 0.1
