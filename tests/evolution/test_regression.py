"""Regression (``task.kind = "regression"``): a continuous target, one output neuron trained on the
standardized target, R^2/MSE/MAE in the target's units as scores and objectives, and exported
networks that predict in those units."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

import connevo
from connevo.errors import SpecError
from connevo.evolution.campaign import load_task
from connevo.evolution.compress import TRAINED_ON_PARTS
from connevo.evolution.spec import parse_spec
from connevo.results.store import open_store
from tests.support import small_spec

SPEC = small_spec(**{
    "name": "tiny-diabetes", "task": {"dataset": "diabetes", "kind": "regression", "validation_fraction": 0.2,
                                      "test_fraction": 0.2},
    "objectives": {}, "training.polish_epochs": 2,  # objectives left out: a regression's defaults
    "training.polish_rows": "all",  # the polish trains on the test rows too (the classifications' tests: without)
})


@pytest.fixture(scope="module")
def diabetes(tmp_path_factory):
    """A finished regression campaign on diabetes (polished), with int8 copies of its best network
    and of that network before its polish; its store and data set."""
    path = tmp_path_factory.mktemp("regression") / "s.db"
    result = connevo.run(SPEC, str(path))
    store = open_store(str(path))
    front = result.front()
    best = front.loc[front["val_r2"].idxmax(), "candidate_id"]
    connevo.compress(store, best, quantize="int8")
    connevo.compress(store, store.candidate(best)["extra"]["polished_from"], quantize="int8")
    yield {"result": result, "store": store, "data": load_task(parse_spec(SPEC)), "best": best, "path": path}
    store.close()


def raw(data, part: str) -> torch.Tensor:
    """A part's rows as the data set had them (standardization undone)."""
    x = getattr(data, f"x_{part}").astype(np.float64) * data.std + data.mean
    return torch.as_tensor(x, dtype=torch.float32)


def test_every_candidates_scores_are_scikit_learns_on_its_exported_networks_predictions(diabetes):
    store, data = diabetes["store"], diabetes["data"]
    rows = store.candidates(diabetes["result"].campaign_id)
    assert (rows["status"] == "ok").all() and rows[["val_accuracy", "test_accuracy", "train_val_gap"]].isna().all().all()
    y = {part: data.original(getattr(data, f"y_{part}")) for part in ("val", "test")}
    models: dict[str, torch.nn.Module] = {}

    def predicted(candidate_id: str, part: str) -> np.ndarray:
        if candidate_id not in models:
            models[candidate_id] = connevo.load_model(candidate_id, store=store)
        return models[candidate_id](raw(data, part)).double().numpy()

    for row in rows.to_dict("records"):
        extra = row["extra"]
        if extra.get(TRAINED_ON_PARTS):  # the copy of a network polished on every row: scored on none of them
            assert extra[TRAINED_ON_PARTS] == ["val", "test"] and extra["compressed_from"] == diabetes["best"]
            assert {extra[m] for m in ("val_r2", "val_mse", "test_r2", "test_mse", "test_mae")} == {None}
            continue
        # a polished network keeps the validation scores of its source (it trained on those rows)
        validated = extra.get("validation_from", row["id"])
        assert extra["val_r2"] == pytest.approx(r2_score(y["val"], predicted(validated, "val")), rel=1e-4)
        # and, having trained on the test rows too, its source's test scores
        test = predicted(extra.get("test_from", row["id"]), "test")
        assert extra["test_mse"] == pytest.approx(mean_squared_error(y["test"], test), rel=1e-4)
        assert extra["test_mae"] == pytest.approx(mean_absolute_error(y["test"], test), rel=1e-4)
        assert extra["test_r2"] == pytest.approx(r2_score(y["test"], test), rel=1e-4, abs=1e-6)
    polished = rows[rows["id"].str.contains("-p")]
    assert rows["id"].str.contains("-c").sum() == 2 and len(polished) >= 1
    assert all(e["test_from"] == e["validation_from"] for e in polished["extra"])
    model = connevo.load_model(diabetes["best"], store=store)
    assert model.classes == [] and model.features == list(data.feature_names)


def test_the_front_is_over_validation_r2_and_connections_with_a_hypervolume(diabetes):
    result = diabetes["result"]
    objectives = result.info()["spec"]["objectives"]
    assert {k: objectives[k] for k in ("maximize", "minimize", "probability")} == {
        "maximize": ["val_r2"], "minimize": ["connections"], "probability": {}}
    front = result.front()
    assert len(front) >= 1 and front["val_r2"].notna().all()
    assert list(front["connections"]) == sorted(front["connections"])
    # ranked by the loss pooled over training and validation rows: more connections buy a lower one
    pooled = [extra["pooled_loss"] for extra in front["extra"]]
    assert pooled == sorted(pooled, reverse=True) and len(set(pooled)) == len(pooled)
    assert (result.generations()["hypervolume"] > 0).all()


def test_each_candidate_keeps_its_loss_pooled_over_training_and_validation_rows(diabetes):
    result, data = diabetes["result"], diabetes["data"]
    assert result.info()["spec"]["objectives"]["rank_accuracy_by"] == "pooled"  # a regression's "auto"
    share = len(data.y_train) / (len(data.y_train) + len(data.y_val))
    rows = {row["id"]: row for row in result.candidates().to_dict("records")}
    for row in rows.values():
        if row["extra"].get(TRAINED_ON_PARTS):  # no validation loss: it trained on those rows
            assert "pooled_loss" not in row["extra"]
            continue
        source = rows[row["extra"].get("validation_from", row["id"])]  # a polished copy keeps its source's
        want = share * source["train_loss"] + (1 - share) * source["val_loss"]
        assert row["extra"]["pooled_loss"] == pytest.approx(want, rel=1e-12)


def test_no_competing_network_has_a_lower_pooled_loss_with_as_few_connections_as_a_front_member(diabetes):
    result = diabetes["result"]
    front = result.front()
    competing = result.candidates()
    competing = competing[~competing["id"].isin(competing["extra"].map(lambda e: e.get("polished_from")).dropna())]
    pooled = competing["extra"].map(lambda e: e.get("pooled_loss", np.nan))  # none: a polished network's copy
    for member in front.to_dict("records"):
        rivals = pooled[competing["connections"] <= member["connections"]]
        assert rivals.min() == pytest.approx(member["extra"]["pooled_loss"], rel=1e-12)


def test_the_cli_shows_a_regressions_scores_where_a_classifications_show_accuracy(diabetes, cli, tmp_path):
    campaign, path = diabetes["result"].campaign_id, diabetes["path"]
    front = cli("front", campaign, store=path)
    assert front.returncode == 0 and "val_r2" in front.stdout and "test_mse" in front.stdout
    assert "pooled_loss" in front.stdout  # what ranks a regression's front
    assert "accuracy" not in front.stdout
    status = cli("status", campaign, store=path)
    assert status.returncode == 0 and "best_val_r2" in status.stdout
    show = cli("show", diabetes["best"], store=path)
    assert show.returncode == 0 and "val_mae" in show.stdout and "accuracy" not in show.stdout
    plotted = cli("plot", campaign, "--out", str(tmp_path), store=path)
    assert plotted.returncode == 0 and len(list(tmp_path.glob("*.png"))) == 2


def test_the_onnx_export_predicts_as_load_model(diabetes, tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    from connevo.evolution.export import export_candidate

    info = export_candidate(diabetes["store"], diabetes["best"], tmp_path / "m.onnx")
    assert info["kind"] == "regression" and not (tmp_path / "m.classes.json").exists()
    assert (tmp_path / "m.features.json").exists()
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    rows = raw(diabetes["data"], "test")
    [got] = session.run(["prediction"], {"features": rows.numpy()})
    want = connevo.load_model(diabetes["best"], store=diabetes["store"])(rows).numpy()
    assert got.shape == want.shape == (rows.shape[0],)
    np.testing.assert_allclose(got, want, rtol=1e-5)


@pytest.fixture
def own_registry(monkeypatch):
    """Metrics registered by a test stay in it."""
    import connevo.results.metrics as metrics_module

    monkeypatch.setattr(metrics_module, "_REGISTRY", dict(metrics_module._REGISTRY))


def test_a_float_target_given_in_memory_is_a_regression_with_a_users_metric(tmp_path, own_registry):
    from sklearn.metrics import median_absolute_error

    rng = np.random.default_rng(0)
    x = pd.DataFrame({"a": rng.normal(size=120), "b": rng.normal(size=120)})
    y = 3.0 * x["a"].to_numpy() - x["b"].to_numpy() + 10.0 + rng.normal(0, 0.1, 120)
    spec = small_spec(**{"task": {"kind": "regression"}, "evolution.population": 4, "evolution.generations": 0,
                         "training.epochs": 20, "objectives": {"minimize": ["connections", "val_mae"]}})
    medae = {"fn": median_absolute_error, "sense": "min", "worst": 10.0, "kind": "regression"}
    result = connevo.run(spec, str(tmp_path / "s.db"), data=(x, y), metrics={"medae": medae})
    front = result.front()
    assert front["val_r2"].max() > 0.5 and {"val_mae", "connections"} <= set(front.columns)
    best = front.loc[front["val_r2"].idxmax()]
    data = load_task(parse_spec(result.info()["spec"]))
    predicted = connevo.load_model(best["candidate_id"], store=result.store)(raw(data, "test")).double().numpy()
    assert best["test_medae"] == pytest.approx(median_absolute_error(data.original(data.y_test), predicted), rel=1e-4)


@pytest.mark.parametrize("change, message", [
    ({"task": {"dataset": "diabetes", "kind": "regression"}, "objectives": {"maximize": ["val_accuracy"]}},
     r"objectives.maximize: 'val_accuracy' is a classification metric, and task.kind is 'regression'.*'val_r2'"),
    ({"task": {"dataset": "iris"}, "objectives": {"maximize": ["val_r2"]}},
     r"objectives.maximize: 'val_r2' is a regression metric, and task.kind is 'classification'"),
    ({"task": {"dataset": "iris"}, "objectives": {"minimize": ["connections", "val_mse"]}},
     r"objectives.minimize: 'val_mse' is a regression metric"),
    ({"task": {"dataset": "diabetes"}}, r"'task': built-in data set 'diabetes' is a regression: set task.kind"),
    ({"task": {"dataset": "xor.csv", "kind": "ordinal"}}, r"'task.kind'.*'classification' or 'regression'"),
])
def test_an_objective_or_data_set_of_the_other_kind_is_refused_naming_the_field(change, message):
    with pytest.raises(SpecError, match=message):
        parse_spec({"name": "x", **change})
    assert parse_spec({"name": "x", "task": {"dataset": "d.csv", "kind": "regression"},
                       "objectives": {"minimize": ["params"]}}).objectives.maximize == ["val_r2"]


def test_a_regression_extended_is_the_regression_launched_with_more_generations(tmp_path):
    def spec(generations: int) -> dict:
        return {**SPEC, "evolution": {"population": 4, "generations": generations}}

    def scored(result) -> list[tuple]:
        rows = result.candidates()
        rows = rows[rows["number"] >= 0].sort_values("number")
        return [(r["number"], [p.split("-")[-1] for p in r["parents"]], r["genome"], r["val_loss"],
                 r["extra"]["val_r2"], r["extra"]["test_mae"]) for r in rows.to_dict("records")]

    reference = connevo.run(spec(2), str(tmp_path / "r.db"))
    short = connevo.run(spec(1), str(tmp_path / "s.db"))
    extended = connevo.extend(short.campaign_id, 2, short.store)
    assert scored(extended) == scored(reference) and len(scored(reference)) == 12
    assert extended.front()["val_r2"].notna().all()
