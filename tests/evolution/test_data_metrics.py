"""Metrics the workers measure on data beyond accuracy (balanced accuracy, macro F1): the same
values as scikit-learn's, selectable as objectives, stored and queried without a schema change."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import balanced_accuracy_score, confusion_matrix, f1_score

import connevo
from connevo.evolution import Campaign, parse_spec, run
from connevo.evolution.task import load_task
from connevo.results import queries
from connevo.results.metrics import balanced_accuracy, macro_f1
from connevo.results.store import open_store
from tests.support import Crash, CrashAfter, small_spec
from tests.support import connevo as connevo_cli


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
@pytest.mark.parametrize("seed", range(8))
def test_the_confusion_metrics_are_scikit_learns(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 6))
    y_true = rng.integers(0, k, 60)
    y_pred = np.where(rng.random(60) < 0.6, y_true, rng.integers(0, k + 1, 60))  # class k: predicted only
    y_true[y_true == k - 1] = 0  # class k - 1: never true
    matrix = confusion_matrix(y_true, y_pred, labels=range(k + 1)).astype(float)
    assert balanced_accuracy(matrix) == pytest.approx(balanced_accuracy_score(y_true, y_pred))
    assert macro_f1(matrix) == pytest.approx(f1_score(y_true, y_pred, average="macro", zero_division=0))


@pytest.fixture(scope="module")
def imbalanced(tmp_path_factory):
    """A CSV with three classes of 70%, 20% and 10%, and a campaign selecting on balanced accuracy."""
    tmp = tmp_path_factory.mktemp("imbalanced")
    rng = np.random.default_rng(1)
    labels = rng.choice(["common", "rare", "scarce"], size=600, p=[0.7, 0.2, 0.1])
    centre = {"common": 0.0, "rare": 1.2, "scarce": -1.2}
    x = rng.normal(size=(600, 4)) + np.array([[centre[c], -centre[c], 0, 0] for c in labels])
    pd.DataFrame({**{f"f{i}": x[:, i] for i in range(4)}, "label": labels}).to_csv(tmp / "data.csv", index=False)
    spec = small_spec(**{"name": "balanced", "task.dataset": str(tmp / "data.csv"), "task.target": "label",
                         "objectives.maximize": ["val_balanced_accuracy"], "evolution.generations": 2,
                         "training.epochs": 15})
    return tmp, spec


def test_a_campaign_selects_on_balanced_accuracy_and_stores_scikit_learns_values(imbalanced):
    tmp, spec = imbalanced
    result = run(spec, str(tmp / "s.db"))
    rows = result.candidates()
    ok = rows[rows["status"] == "ok"]
    assert all(isinstance(e, dict) and {"val_balanced_accuracy", "test_macro_f1"} <= set(e) for e in ok["extra"])
    data = load_task(parse_spec(spec))  # the campaign's own split
    raw_val = torch.as_tensor(data.x_val * data.std + data.mean, dtype=torch.float32)
    for candidate_id, extra in zip(ok["id"][:6], ok["extra"][:6]):
        predicted = connevo.load_model(candidate_id, store=result.store)(raw_val).argmax(dim=1).numpy()
        assert extra["val_balanced_accuracy"] == pytest.approx(balanced_accuracy_score(data.y_val, predicted))
        assert extra["val_macro_f1"] == pytest.approx(f1_score(data.y_val, predicted, average="macro",
                                                               zero_division=0))
    front = queries.front(result.store, result.campaign_id, ["val_balanced_accuracy", "connections"])
    assert len(front) >= 1 and front["val_balanced_accuracy"].is_monotonic_increasing
    assert {"test_balanced_accuracy", "val_macro_f1"} <= set(front.columns)
    shown = json.loads(connevo_cli("front", result.campaign_id, "--format", "json", store=tmp / "s.db").stdout)
    assert all("val_balanced_accuracy" in member and "test_macro_f1" in member for member in shown)


def test_a_campaign_on_a_data_metric_resumes_to_the_uninterrupted_result(imbalanced, tmp_path):
    _, spec = imbalanced
    reference = run(spec, str(tmp_path / "ref.db")).candidates()
    store = open_store(str(tmp_path / "cut.db"))
    campaign = Campaign(parse_spec(spec), store, observers=[CrashAfter(1)])
    with pytest.raises(Crash):
        campaign.run()
    Campaign.from_store(store, campaign.id).run()
    resumed = store.candidates(campaign.id)
    assert comparable_with_metric(resumed) == comparable_with_metric(reference)


def comparable_with_metric(frame):
    """Candidates in number order: what selection saw, and their stored balanced accuracy."""
    return [{"number": r["number"], "parents": [p.split("-")[1] for p in r["parents"]],
             "val_accuracy": r["val_accuracy"], "connections": r["connections"],
             "val_balanced_accuracy": (r["extra"] or {}).get("val_balanced_accuracy")}
            for r in frame.sort_values("number").to_dict("records")]
