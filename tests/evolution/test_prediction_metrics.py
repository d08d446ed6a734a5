"""Metrics of the predicted probabilities: ROC AUC and log loss built in, the user's own from Python
(``connevo.run(spec, metrics={"name": fn})``, ``fn(y_true, y_score)``); the workers measure
them for every candidate, they are stored, queried and may be objectives."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

import connevo
import connevo.results.metrics as metrics_module
from connevo.errors import SpecError
from connevo.evolution.campaign import load_task
from connevo.evolution.spec import parse_spec
from connevo.search_space.compile import compile_genome
from connevo.search_space.genome import Genome
from tests.support import small_spec


@pytest.fixture(autouse=True)
def own_registry(monkeypatch):
    """Metrics registered by a test stay in it."""
    monkeypatch.setattr(metrics_module, "_REGISTRY", dict(metrics_module._REGISTRY))


def class1_probability(genome: dict, x: np.ndarray) -> np.ndarray:
    net = compile_genome(Genome.from_dict(genome), use_genome_weights=True)
    with torch.no_grad():
        logits = net(torch.as_tensor(x, dtype=torch.float32))  # two classes: [0, z], z the class-1 logit
        return torch.softmax(logits.double(), dim=1)[:, 1].numpy()


def brier(y_true: np.ndarray, y_score: np.ndarray) -> float:
    return float(brier_score_loss(y_true, y_score))


def test_auc_log_loss_and_a_users_metric_are_measured_for_every_candidate_as_scikit_learn_computes_them(tmp_path):
    spec = small_spec(**{"evolution.generations": 1, "objectives.minimize": ["connections", "val_brier"]})
    result = connevo.run(spec, str(tmp_path / "s.db"), metrics={"brier": {"fn": brier, "sense": "min"}})
    rows = result.candidates()
    data = load_task(parse_spec(spec))
    checked = 0
    for extra, genome, val_loss in zip(rows["extra"], rows["genome"], rows["val_loss"]):
        p_val, p_test = class1_probability(genome, data.x_val), class1_probability(genome, data.x_test)
        if len(Genome.from_dict(genome).effective_connections) == 0:
            continue
        assert extra["val_auc"] == pytest.approx(roc_auc_score(data.y_val, p_val), abs=1e-6)
        assert extra["test_auc"] == pytest.approx(roc_auc_score(data.y_test, p_test), abs=1e-6)
        assert extra["val_brier"] == pytest.approx(brier(data.y_val, p_val), abs=1e-6)
        assert extra["test_brier"] == pytest.approx(brier(data.y_test, p_test), abs=1e-6)
        assert extra["val_log_loss"] == pytest.approx(log_loss(data.y_val, p_val, labels=[0, 1]), rel=1e-5)
        assert extra["test_log_loss"] == pytest.approx(log_loss(data.y_test, p_test, labels=[0, 1]), rel=1e-5)
        assert extra["val_log_loss"] == pytest.approx(val_loss, rel=1e-5)  # the training's cross-entropy
        checked += 1
    assert checked >= 6
    front = result.front(["val_accuracy", "val_brier"])  # a user metric, minimized, on the front
    assert len(front) >= 1 and "val_brier" in front
    assert (result.generations()["hypervolume"] > 0).all()


def test_a_campaign_can_select_on_validation_auc_and_log_loss(tmp_path):
    spec = small_spec(**{"evolution.generations": 1, "objectives.maximize": ["val_auc"],
                         "objectives.minimize": ["connections", "val_log_loss"]})
    result = connevo.run(spec, str(tmp_path / "s.db"))
    front = result.front(["val_auc", "connections", "val_log_loss"])
    assert len(front) >= 1 and front["val_auc"].between(0, 1).all() and (front["val_log_loss"] > 0).all()
    # log loss's hypervolume reference is ln(2) on two classes (a uniform prediction): a network that learned scores
    assert (result.generations()["hypervolume"] > 0).all()


def test_bad_user_metrics_are_refused_naming_them(tmp_path):
    store = str(tmp_path / "s.db")
    with pytest.raises(SpecError, match=r"metrics\['val_x'\].*without a part prefix"):
        connevo.run(small_spec(), store, metrics={"val_x": brier})
    with pytest.raises(SpecError, match=r"metrics\['x'\].*function"):
        connevo.run(small_spec(), store, metrics={"x": 3})
    with pytest.raises(SpecError, match=r"metrics\['x'\].*unknown: \['direction'\]"):
        connevo.run(small_spec(), store, metrics={"x": {"fn": brier, "direction": "down"}})
    with pytest.raises(SpecError, match=r"metrics\['auc'\].*registered already"):
        connevo.run(small_spec(), store, metrics={"auc": brier})  # val_auc is connevo's
    with pytest.raises(SpecError, match=r"'objectives.maximize.0'.*'val_auc'.*got 'val_f2'"):
        connevo.run(small_spec(**{"objectives.maximize": ["val_f2"]}), store)  # not registered
