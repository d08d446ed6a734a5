"""Experiment tracking: a campaign reports to a real MLflow store (SQLite) and to TensorBoard
event files, read back with MLflow's client and TensorBoard's own event reader."""

from pathlib import Path

import pandas as pd
import pytest

from connevo.errors import ConnevoError, SpecError
from connevo.evolution import Campaign, parse_spec, run
from connevo.evolution.api import extend
from connevo.results.store import open_store
from tests.support import small_spec


def tracked_spec(tmp_path: Path, **overrides) -> dict:
    return small_spec(**{"evolution.generations": 2, "training.polish_epochs": 2,
                         "tracking.mlflow": f"sqlite:///{tmp_path / 'mlflow.db'}",
                         "tracking.mlflow_experiment": "tests", "tracking.tensorboard": str(tmp_path / "tb"),
                         **overrides})


@pytest.fixture(scope="module")
def tracked(tmp_path_factory):
    """A campaign tracked by both, then extended by a generation: (result, its folder)."""
    folder = tmp_path_factory.mktemp("tracked")
    result = run(tracked_spec(folder), str(folder / "s.db"))
    extend(result.campaign_id, 3, result.store)
    return result, folder


def test_mlflow_has_one_run_per_campaign_with_every_generation_and_the_front(tracked):
    from mlflow.tracking import MlflowClient

    result, folder = tracked
    client = MlflowClient(tracking_uri=f"sqlite:///{folder / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("tests")
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 1  # the extension went on logging to the campaign's run
    run = runs[0]
    assert run.info.status == "FINISHED" and run.data.tags["connevo.campaign_id"] == result.campaign_id
    assert run.data.tags["connevo.generations"] == "3"
    assert run.data.params["evolution.population"] == "6" and run.data.params["seed"] == "3"
    generations = result.generations()
    history = client.get_metric_history(run.info.run_id, "hypervolume")
    assert [(m.step, m.value) for m in sorted(history, key=lambda m: m.step)] == list(
        zip(generations["generation"], generations["hypervolume"]))
    best = client.get_metric_history(run.info.run_id, "best_val_accuracy")
    assert max(m.value for m in best) == pytest.approx(result.candidates()["val_accuracy"].max())
    assert {m.step for m in client.get_metric_history(run.info.run_id, "polish_networks")} == {2, 3}
    tables = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert tables == {"front-generation-2.json", "front-generation-3.json", "front.csv"}  # an end each, the latest
    table = pd.read_json(client.download_artifacts(run.info.run_id, "front-generation-3.json", str(folder)),
                         orient="split")
    pd.testing.assert_frame_equal(table, pd.read_csv(client.download_artifacts(run.info.run_id, "front.csv",
                                                                              str(folder))), check_dtype=False)
    front = result.front()
    assert sorted(table["candidate_id"]) == sorted(front["candidate_id"])
    assert table.set_index("candidate_id")["val_accuracy"].to_dict() == pytest.approx(
        front.set_index("candidate_id")["val_accuracy"].to_dict())
    assert str(folder) in run.info.artifact_uri  # beside the database, not in the current folder


def test_tensorboard_events_hold_every_generation_and_the_front(tracked):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    result, folder = tracked
    log_dir = folder / "tb" / f"tiny-xor-{result.campaign_id}"
    events = EventAccumulator(str(log_dir), size_guidance={"scalars": 0, "tensors": 0})
    events.Reload()
    hypervolume = sorted((e.step, e.value) for e in events.Scalars("connevo/hypervolume"))
    generations = result.generations()
    assert [step for step, _ in hypervolume] == list(generations["generation"])
    assert [value for _, value in hypervolume] == pytest.approx(list(generations["hypervolume"]), rel=1e-6)  # float32
    assert {e.step for e in events.Scalars("connevo/front_size")} == {0, 1, 2, 3}
    texts = [t.tensor_proto.string_val[0].decode() for t in events.Tensors("connevo/front/text_summary")]
    front = result.front()
    assert all(cid in texts[-1] for cid in front["candidate_id"])
    written = pd.read_csv(log_dir / "front.csv")
    assert sorted(written["candidate_id"]) == sorted(front["candidate_id"])


def test_a_stopped_campaign_ends_its_run_killed(tmp_path):
    from mlflow.tracking import MlflowClient

    from connevo.evolution import CampaignObserver

    class StopAtOne(CampaignObserver):
        def on_generation_start(self, campaign, generation, size):
            if generation == 1:
                campaign.request_stop()

    store = open_store(str(tmp_path / "s.db"))
    campaign = Campaign(parse_spec(tracked_spec(tmp_path, **{"tracking.tensorboard": None})), store,
                        observers=[StopAtOne()])
    campaign.run()
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    (found,) = client.search_runs([client.get_experiment_by_name("tests").experiment_id])
    assert found.info.status == "KILLED" and found.data.tags["connevo.error"] == "stop requested"


def test_a_time_limited_campaign_reports_its_front_at_the_last_generation_it_evolved(tmp_path):
    from mlflow.tracking import MlflowClient

    spec = tracked_spec(tmp_path, **{"evolution.time_limit": 1e-6, "tracking.tensorboard": None})
    result = run(spec, str(tmp_path / "s.db"))
    assert result.info()["generations_done"] == 1  # generation 0 of 2: the limit stopped it
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    (tracked_run,) = client.search_runs([client.get_experiment_by_name("tests").experiment_id])
    assert {a.path for a in client.list_artifacts(tracked_run.info.run_id)} == {"front-generation-0.json", "front.csv"}
    assert {m.step for m in client.get_metric_history(tracked_run.info.run_id, "polish_networks")} == {0}


def test_an_unreachable_tracking_server_fails_the_campaign_before_any_training(tmp_path):
    spec = tracked_spec(tmp_path, **{"tracking.mlflow": "http://127.0.0.1:9/", "tracking.tensorboard": None})
    store = open_store(str(tmp_path / "s.db"))
    campaign = Campaign(parse_spec(spec), store)
    with pytest.raises(ConnevoError, match=r"'tracking.mlflow': cannot report to the MLflow tracking URI 'http://127.0.0.1:9/'"):
        campaign.run()
    assert store.candidates(campaign.id).empty and store.get_campaign(campaign.id)["status"] == "failed"


def test_a_missing_library_is_refused_naming_the_key(tmp_path, monkeypatch):
    import sys

    for name in ("mlflow", "mlflow.entities", "mlflow.tracking"):
        monkeypatch.setitem(sys.modules, name, None)  # as if MLflow were not installed
    monkeypatch.delitem(sys.modules, "connevo.evolution.tracking_mlflow", raising=False)
    store = open_store(str(tmp_path / "s.db"))
    with pytest.raises(SpecError, match=r"'tracking.mlflow' needs MLflow.*pip install 'connevo\[mlflow\]'"):
        Campaign(parse_spec(tracked_spec(tmp_path)), store)
    assert store.list_campaigns().empty
