"""The metrics registry: one list that objectives, senses and queries read; a new objective is
one registration."""

import json
import subprocess
import sys

import numpy as np
import pytest

from connevo.errors import SpecError
from connevo.evolution.spec import parse_spec
from connevo.results.metrics import Metric, metric, metrics, objective_names, register_metric
from connevo.results.pareto import OBJECTIVE_SENSES
from tests.support import ROOT, small_spec

NEW_OBJECTIVE = """
import json, sys
from connevo.results.metrics import Metric, register_metric

def inputs_used(genome):
    return float(len({c.source for c in genome.effective_connections if c.source in genome.input_ids}))

register_metric(Metric("inputs_used", "min", "cost", "input features the network reads", objective=True,
                       compute=inputs_used))

from connevo.evolution import run  # the spec's objectives are read from the registry
from connevo.results import queries
from connevo.search_space import Genome
from tests.support import small_spec

spec = small_spec(**{"task.dataset": "iris", "evolution.generations": 2,
                     "objectives.minimize": ["inputs_used"]})
result = run(spec, sys.argv[1])
front = queries.front(result.store, result.campaign_id, ["val_accuracy", "inputs_used"], rank_accuracy_by="accuracy")
rows = result.candidates()
print(json.dumps({
    "front": front[["val_accuracy", "inputs_used"]].values.tolist(),
    "stored": [[e["inputs_used"], inputs_used(Genome.from_dict(g))] for e, g in zip(rows["extra"], rows["genome"])],
    "hypervolume": result.generations()["hypervolume"].tolist(),
}))
"""


def test_senses_and_objectives_come_from_the_registry():
    assert OBJECTIVE_SENSES == {m.name: m.sense for m in metrics()}
    assert {k for k, v in OBJECTIVE_SENSES.items() if v == "max"} >= {"val_accuracy", "test_accuracy", "modularity"}
    assert objective_names("max") == ("val_accuracy", "val_balanced_accuracy", "val_macro_f1", "val_auc", "val_r2")
    costs = ("connections", "params", "flops", "wiring_length", "depth", "hidden_nodes", "bytes", "latency_us")
    assert objective_names("min") == (*costs, "val_log_loss", "val_mse", "val_mae")
    assert objective_names("max", "regression") == ("val_r2",)
    assert objective_names("min", "classification") == (*costs, "val_log_loss")
    assert objective_names("min", "regression") == (*costs, "val_mse", "val_mae")
    for name in objective_names("min", "classification"):
        assert parse_spec(small_spec(**{"objectives.minimize": [name]})).objectives.minimize == [name]
    with pytest.raises(SpecError, match=r"'objectives.minimize.0'.*'train_val_gap'"):
        parse_spec(small_spec(**{"objectives.minimize": ["train_val_gap"]}))  # a metric, not an objective


def test_regression_and_log_loss_scores_are_scikit_learns_with_bounds_from_the_campaigns_data():
    from types import SimpleNamespace

    import numpy as np
    from sklearn.metrics import log_loss, mean_absolute_error, mean_squared_error, r2_score

    from connevo.results.metrics import prediction_metrics, worst_value

    rng = np.random.default_rng(0)
    y, p = rng.normal(50, 10, 40), rng.normal(50, 10, 40)
    for name, reference in (("val_r2", r2_score), ("test_mse", mean_squared_error), ("train_mae", mean_absolute_error)):
        assert metric(name).predictions(y, p) == pytest.approx(reference(y, p))
        assert metric(name).kind == "regression"
    probabilities = rng.dirichlet(np.ones(3), 40)
    labels = rng.integers(0, 3, 40)
    assert metric("val_log_loss").predictions(labels, probabilities) == pytest.approx(log_loss(labels, probabilities))
    single = probabilities.astype(np.float32)  # a worker's softmax: sums to 1 only within float32 (no warning)
    assert metric("val_log_loss").predictions(labels, single.astype(np.float64)) == pytest.approx(
        log_loss(labels, probabilities), rel=1e-6)
    assert metric("test_log_loss").predictions(np.zeros(4, int), np.full(4, 0.3)) == pytest.approx(-np.log(0.7))
    assert {m.name for m in prediction_metrics("classification")} == {"val_auc", "test_auc", "val_log_loss",
                                                                      "test_log_loss"}
    # the worst values: a uniform prediction's log loss, predicting the training mean (standardized target)
    data = SimpleNamespace(n_classes=10, y_std=4.0, y_train=np.array([-1.0, 1.0, -0.5, 0.5]))
    assert worst_value(metric("val_log_loss"), data) == pytest.approx(np.log(10))
    assert worst_value(metric("val_mse"), data) == 16.0 and worst_value(metric("val_mae"), data) == 3.0
    assert worst_value(metric("val_r2"), data) == 0.0 and metric("val_r2").best == 1.0
    with pytest.raises(ValueError, match="depends on the campaign's data set"):
        worst_value(metric("val_mse"))


def test_unknown_metrics_and_bad_registrations_are_clear_errors():
    with pytest.raises(SpecError, match="unknown metric 'latency'.*val_accuracy"):
        metric("latency")
    with pytest.raises(ValueError, match="registered already"):
        register_metric(Metric("connections", "min", "cost", "again"))
    with pytest.raises(ValueError, match="sense"):
        register_metric(Metric("sideways", "up", "cost", "x"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="worst and best"):
        register_metric(Metric("auc", "max", "score", "x", objective=True))
    assert "sideways" not in OBJECTIVE_SENSES and "auc" not in OBJECTIVE_SENSES


def test_a_registered_objective_is_selected_on_stored_and_queried(tmp_path):
    done = subprocess.run([sys.executable, "-c", NEW_OBJECTIVE, str(tmp_path / "s.db")], cwd=ROOT,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.splitlines()[-1])
    assert all(stored == recomputed for stored, recomputed in seen["stored"])  # kept under extra
    front = seen["front"]
    assert len(front) > 1 and all(0 <= used <= 4 for _, used in front)  # iris: 4 features
    # a front over (accuracy, inputs used), ranked by the accuracy: fewer inputs never come with more accuracy on it
    assert sorted(front, key=lambda p: p[1]) == sorted(front, key=lambda p: p[0])
    assert all(0 < hv <= 1 for hv in seen["hypervolume"])


@pytest.mark.parametrize("classes", [2, 3, 10])
def test_the_roc_auc_of_a_stack_of_candidates_is_each_ones_bit_for_bit(classes):
    from connevo.results.metrics import roc_auc, roc_auc_many

    rng = np.random.default_rng(classes)
    for trial in range(40):
        rows, count = int(rng.integers(2, 200)), int(rng.integers(1, 12))
        y = rng.integers(0, classes, rows)  # some trials lack a class: NaN, as alone
        logits = rng.normal(size=(count, rows, classes)).astype(np.float32)
        if trial % 2 == 0:
            logits = np.round(logits, 1)  # tied scores
        p = (np.exp(logits) / np.exp(logits).sum(axis=2, keepdims=True)).astype(np.float64)
        stack = p[:, :, 1] if classes == 2 else p
        alone = np.array([roc_auc(y, stack[c]) for c in range(count)])
        assert np.array_equal(roc_auc_many(y, stack), alone, equal_nan=True)


def test_a_stack_of_candidates_gets_the_prediction_scores_each_gets_alone():
    from connevo.results.metrics import prediction_metrics
    from connevo.workers.scoring import prediction_scores, stack_prediction_scores

    rng = np.random.default_rng(5)
    for classes in (2, 4):
        labels = {part: rng.integers(0, classes, 50) for part in ("val", "test")}
        p = rng.dirichlet(np.ones(classes), size=(6, 50))
        probabilities = {part: list(p) for part in labels}
        wanted = prediction_metrics("classification")
        together = stack_prediction_scores(wanted, labels, probabilities)
        assert together == [prediction_scores(wanted, labels, {part: p[c] for part in labels}) for c in range(6)]
        assert list(together[0]) == [m.name for m in wanted]
    truth = {part: rng.normal(size=40) for part in ("val", "test", "train")}
    predicted = {part: list(rng.normal(size=(3, 40))) for part in truth}
    regression = prediction_metrics("regression")
    in_units = lambda v: 2.0 * v + 1.0  # noqa: E731 - the target's units
    assert stack_prediction_scores(regression, truth, predicted, in_units) == [
        prediction_scores(regression, truth, {part: predicted[part][c] for part in truth}, in_units) for c in range(3)]


def test_the_workers_prediction_scores_are_scikit_learns_definitions():
    import warnings

    from sklearn import metrics as sk

    from connevo.results.metrics import log_loss, mae, mse, r2, roc_auc

    rng = np.random.default_rng(0)
    for trial in range(60):
        n, k = int(rng.integers(5, 120)), int(rng.integers(2, 5))
        y = rng.integers(0, k, n)
        logits = rng.normal(size=(n, k)).astype(np.float32)
        if trial % 3 == 0:
            logits = np.round(logits, 1)  # tied scores
        p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        score, probabilities = (p[:, 1], np.stack([1 - p[:, 1], p[:, 1]], axis=1)) if k == 2 else (p, p)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a single class: scikit-learn warns and answers NaN
            try:
                expected = sk.roc_auc_score(y, score, **({} if k == 2 else {"multi_class": "ovr",
                                                                             "labels": np.arange(k)}))
            except ValueError:  # a class absent from the rows
                expected = float("nan")
        assert roc_auc(y, score) == pytest.approx(expected, abs=1e-9, nan_ok=True)
        renormalized = probabilities / probabilities.sum(axis=1, keepdims=True)
        assert log_loss(y, score) == pytest.approx(sk.log_loss(y, renormalized, labels=np.arange(k)), rel=1e-6)
        truth, guess = rng.normal(size=n), rng.normal(size=n)
        assert r2(truth, guess) == pytest.approx(sk.r2_score(truth, guess), abs=1e-12)
        assert mse(truth, guess) == pytest.approx(sk.mean_squared_error(truth, guess), abs=1e-12)
        assert mae(truth, guess) == pytest.approx(sk.mean_absolute_error(truth, guess), abs=1e-12)
    assert r2(np.ones(4), np.ones(4)) == 1.0 and r2(np.ones(4), np.zeros(4)) == 0.0  # constant targets
