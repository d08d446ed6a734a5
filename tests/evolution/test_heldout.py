"""`connevo score` / `connevo.score_front`: a campaign's front scored on rows it never saw, as its
exported networks would score them, with the held-out hypervolume."""

import json

import numpy as np
import pandas as pd
import pytest

import connevo
from connevo.errors import ConnevoError, DataError
from connevo.evolution.heldout import r_squared
from connevo.evolution.task import load_task
from tests.support import connevo as connevo_cli
from tests.support import small_spec


def _campaign(tmp, frame: pd.DataFrame, target: str, npz: bool = False, **overrides) -> tuple:
    """Run a small in-process campaign on ``frame`` (written as data.csv, or data.npz: the features
    as one array ``X``); its store and split."""
    if npz:
        np.savez(tmp / "data.npz", X=frame.drop(columns=target).to_numpy(), **{target: frame[target].to_numpy()})
    else:
        frame.to_csv(tmp / "data.csv", index=False)
    spec = small_spec(**{"task.dataset": "data.npz" if npz else "data.csv", "task.target": target,
                         "evolution.generations": 1,
                         "training.epochs": 30, "training.polish_epochs": 5,
                         "search_space.initial_density": [0.3, 1.0], **overrides})
    (tmp / "spec.json").write_text(json.dumps(spec))
    store = tmp / "s.db"
    connevo.run(connevo.load_spec(tmp / "spec.json"), str(store))
    return store, load_task(connevo.load_spec(tmp / "spec.json"))


def _raw_test_rows(data, features: list[str]) -> pd.DataFrame:
    """The campaign's own test part as raw rows (as its data file held them)."""
    raw = data.x_test.astype(np.float64) * data.std + data.mean
    return pd.DataFrame(raw.astype(np.float32), columns=features)


@pytest.fixture(scope="module")
def classified(tmp_path_factory):
    """A finished three-class campaign with string labels, and its test part as a held-out frame
    whose columns are in another order, with an id column the campaign never trained on."""
    tmp = tmp_path_factory.mktemp("heldout")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(360, 3)) * [10.0, 0.1, 3.0] + [100.0, -5.0, 0.0]
    score = (x[:, 0] - 100) / 10 + 10 * (x[:, 1] + 5)
    label = np.where(score > 0.5, "yes", np.where(score < -0.5, "no", "maybe"))
    store, data = _campaign(tmp, pd.DataFrame({"a": x[:, 0], "klass": label, "b": x[:, 1], "c": x[:, 2]}), "klass")
    held = _raw_test_rows(data, ["a", "b", "c"])
    held["klass"] = np.asarray(data.class_names, dtype=object)[data.y_test]
    held["id"] = np.arange(len(held))
    return {"tmp": tmp, "store": store, "held": held[["id", "c", "klass", "a", "b"]]}


def test_each_front_network_scores_its_stored_test_accuracy_on_the_campaigns_own_test_rows(classified):
    held = classified["tmp"] / "held.csv"
    classified["held"].to_csv(held, index=False)
    scores = connevo.score_front(str(classified["store"]), "tiny-xor", held)
    front = connevo.open_store(str(classified["store"]))
    listed = front.candidates("tiny-xor")
    assert scores.metric == "accuracy" and scores.rows == len(classified["held"])
    assert list(scores.networks["candidate_id"]) == list(
        connevo.CampaignResult(scores.campaign_id, front).front()["candidate_id"])
    assert any(cid.split("-")[-1].startswith("p") for cid in scores.networks["candidate_id"])  # the polished front
    stored = listed.set_index("id")["test_accuracy"]
    for row in scores.networks.itertuples():
        assert row.heldout_accuracy == stored[row.candidate_id], row.candidate_id
    assert scores.ignored_columns == ("id",) and scores.unseen_labels == {}


def test_the_heldout_front_and_hypervolume_are_those_of_the_heldout_scores(classified):
    scores = connevo.score_front(str(classified["store"]), "tiny-xor", classified["held"])
    points = sorted(zip(scores.networks["connections"], scores.networks["heldout_accuracy"]))
    assert scores.reference_connections == 2 * 3 * 3  # twice the dense 3-input, 3-class network
    area, best = 0.0, 0.0
    edges = [c for c, _ in points] + [scores.reference_connections]
    for (connections, accuracy), right in zip(points, edges[1:]):  # the staircase of the best accuracy so far
        best = max(best, accuracy)
        area += best * (right - connections) / scores.reference_connections
    assert scores.hypervolume == pytest.approx(area, abs=1e-12)
    for row in scores.networks.itertuples():
        beaten = any(o.connections <= row.connections and o.heldout_accuracy >= row.heldout_accuracy
                     and (o.connections, o.heldout_accuracy) != (row.connections, row.heldout_accuracy)
                     for o in scores.networks.itertuples())
        assert row.heldout_front == (not beaten)


def test_a_label_the_campaign_never_saw_is_counted_and_wrong_for_every_network(classified):
    held = classified["held"]
    more = pd.concat([held, held.iloc[:4].assign(klass="unknown")], ignore_index=True)
    before = connevo.score_front(str(classified["store"]), "tiny-xor", held).networks["heldout_accuracy"]
    after = connevo.score_front(str(classified["store"]), "tiny-xor", more)
    assert after.unseen_labels == {"unknown": 4}
    assert list(after.networks["heldout_accuracy"]) == pytest.approx(list(before * len(held) / len(more)))


def test_max_connections_scores_only_the_cheap_part_of_the_front(classified):
    whole = connevo.score_front(str(classified["store"]), "tiny-xor", classified["held"])
    cap = int(whole.networks["connections"].median())
    cheap = connevo.score_front(str(classified["store"]), "tiny-xor", classified["held"], max_connections=cap)
    assert 0 < len(cheap.networks) < len(whole.networks) and (cheap.networks["connections"] <= cap).all()


def test_bad_heldout_data_is_refused_naming_the_column(classified):
    store, held = str(classified["store"]), classified["held"]
    with pytest.raises(DataError, match=r"lacks 1 of the campaign's 3 feature columns: \['b'\]"):
        connevo.score_front(store, "tiny-xor", held.drop(columns="b"))
    with pytest.raises(DataError, match=r"no target column 'klass'.*did you mean 'Klass'"):
        connevo.score_front(store, "tiny-xor", held.rename(columns={"klass": "Klass"}))
    with pytest.raises(DataError, match=r"column 'a' is not numeric.*value 'x'.*encode it as"):
        connevo.score_front(store, "tiny-xor", held.assign(a="x"))
    with pytest.raises(DataError, match=r"'c' has infinite values"):
        connevo.score_front(store, "tiny-xor", held.assign(c=np.inf))
    with pytest.raises(DataError, match=r"target column 'klass' has 1 missing"):
        connevo.score_front(store, "tiny-xor", held.assign(klass=[None, *held["klass"][1:]]))
    with pytest.raises(DataError, match=r"held-out file .*nope.csv' does not exist"):
        connevo.score_front(store, "tiny-xor", classified["tmp"] / "nope.csv")
    with pytest.raises(ConnevoError, match=r"no trained network on its front within -1 connections"):
        connevo.score_front(store, "tiny-xor", held, max_connections=-1)


def test_a_missing_value_reads_as_the_training_mean(classified):
    held = classified["held"].copy()
    model = connevo.load_model(connevo.score_front(str(classified["store"]), "tiny-xor", held)
                               .networks["candidate_id"].iloc[-1], store=str(classified["store"]))
    with_nan, with_mean = held.copy(), held.copy()
    with_nan.loc[::2, "a"], with_mean.loc[::2, "a"] = np.nan, float(model.mean[0])
    with_nan.loc[:2, "c"] = np.nan
    nan_scores = connevo.score_front(str(classified["store"]), "tiny-xor", with_nan)
    mean_scores = connevo.score_front(str(classified["store"]), "tiny-xor", with_mean)
    assert list(nan_scores.networks["heldout_accuracy"]) == list(mean_scores.networks["heldout_accuracy"])
    assert nan_scores.missing_values == {"a": len(held[::2]), "c": 3}  # counted per column, in the campaign's order
    assert mean_scores.missing_values == {} and nan_scores.as_dict()["missing_values"] == {"a": len(held[::2]), "c": 3}


def test_connevo_score_counts_the_missing_values_it_filled(classified):
    held = classified["held"].copy()
    held.loc[:4, "b"] = np.nan
    held.to_csv(classified["tmp"] / "held_gaps.csv", index=False)
    table = connevo_cli("score", "tiny-xor", str(classified["tmp"] / "held_gaps.csv"), store=classified["store"])
    assert table.returncode == 0, table.stderr
    assert "5 missing feature value(s), each read as its column's training mean: {'b': 5}" in table.stdout


def test_connevo_score_prints_the_table_and_the_hypervolume(classified):
    tmp = classified["tmp"]
    classified["held"].to_csv(tmp / "held_cli.csv", index=False)
    table = connevo_cli("score", "tiny-xor", str(tmp / "held_cli.csv"), store=classified["store"])
    assert table.returncode == 0, table.stderr
    expected = connevo.score_front(str(classified["store"]), "tiny-xor", tmp / "held_cli.csv")
    assert "heldout_accuracy" in table.stdout
    assert f"held-out hypervolume {expected.hypervolume:.4f} (reference: accuracy 0 and 18 connections" in table.stdout
    assert "left out: columns the campaign did not train on: ['id']" in table.stdout
    assert "missing feature value" not in table.stdout
    as_json = connevo_cli("score", "tiny-xor", str(tmp / "held_cli.csv"), "--format", "json", store=classified["store"])
    answer = json.loads(as_json.stdout)
    assert answer["hypervolume"] == pytest.approx(expected.hypervolume)
    assert [n["heldout_accuracy"] for n in answer["networks"]] == list(expected.networks["heldout_accuracy"])
    missing = connevo_cli("score", "tiny-xor", str(tmp / "absent.csv"), store=classified["store"])
    assert missing.returncode == 2 and "absent.csv' does not exist" in missing.stderr


def test_a_regression_front_scores_its_stored_test_r2_on_its_own_test_rows_of_an_npz_file(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 3))
    price = 50 + 8 * x[:, 0] - 3 * x[:, 1] * x[:, 2] + rng.normal(scale=0.5, size=300)
    store, data = _campaign(tmp_path, pd.DataFrame({"u": x[:, 0], "v": x[:, 1], "w": x[:, 2], "price": price}),
                            "price", npz=True, **{"task.kind": "regression", "objectives.maximize": ["val_r2"]})
    held = _raw_test_rows(data, ["x0", "x1", "x2"])  # an NPZ file's features are x0, x1, ...
    np.savez(tmp_path / "held.npz", X=held.to_numpy(), price=data.original(data.y_test))
    scores = connevo.score_front(str(store), "tiny-xor", tmp_path / "held.npz")
    stored = {c["id"]: c["extra"]["test_r2"] for c in connevo.open_store(str(store)).candidates("tiny-xor")
              .to_dict("records")}  # a regression's scores live in extra
    assert scores.metric == "r2" and list(scores.networks.columns[-4:]) == ["val_r2", "test_r2", "heldout_r2", "heldout_front"]
    for row in scores.networks.itertuples():
        assert row.heldout_r2 == pytest.approx(stored[row.candidate_id], abs=1e-4)


def test_r_squared_is_one_minus_the_share_of_variance_left():
    truth = np.array([1.0, 2.0, 3.0, 4.0])
    assert r_squared(truth, truth) == 1.0
    assert r_squared(truth, np.full(4, 2.5)) == 0.0
    assert r_squared(truth, truth + 1) == pytest.approx(1 - 4 / 5)
