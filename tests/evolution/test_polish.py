"""The final polish: front networks train on from their weights on training + validation rows (or,
asked, on every row) and take their place on the front."""

import dataclasses
import time

import numpy as np
import pytest
import torch

from connevo.evolution import run
from connevo.evolution.campaign import Campaign, load_task, training_settings
from connevo.evolution.export import export_candidate
from connevo.evolution.polish import polish_dataset, polish_front
from connevo.evolution.spec import parse_spec
from connevo.results import queries
from connevo.results.store import open_store
from connevo.search_space import Genome
from connevo.search_space.compile import compile_genome
from tests.support import Crash, CrashAfter, comparable, small_spec

DIGITS = {"task.dataset": "digits", "evolution.population": 6, "evolution.generations": 1,
          "training.epochs": 6, "training.learning_rate": 0.01, "training.min_steps": 0, "training.polish_epochs": None}


@pytest.fixture(scope="module")
def polished(tmp_path_factory):
    return run(small_spec(**DIGITS), str(tmp_path_factory.mktemp("p") / "p.db"))


@pytest.fixture(scope="module")
def unpolished(tmp_path_factory):
    """The same campaign without the polish: evolution is the same, the polish comes after it."""
    return run(small_spec(**{**DIGITS, "training.polish_epochs": 0}), str(tmp_path_factory.mktemp("u") / "u.db"))


@pytest.fixture(scope="module")
def polished_on_all(tmp_path_factory):
    """The same campaign polished on every row: the test rows train too."""
    return run(small_spec(**{**DIGITS, "training.polish_rows": "all"}), str(tmp_path_factory.mktemp("a") / "a.db"))


@pytest.fixture(scope="module")
def dataset(polished):
    return load_task(parse_spec(polished.store.get_campaign(polished.campaign_id)["spec"]))


def polishes(result):
    rows = result.store.candidates(result.campaign_id)
    return {e["polished_from"]: row for e, row in zip(rows["extra"], rows.to_dict("records")) if "polished_from" in e}


def logits(genome: dict, x: np.ndarray) -> torch.Tensor:
    with torch.no_grad():
        return compile_genome(Genome.from_dict(genome), use_genome_weights=True).eval()(torch.as_tensor(x))


def by_number(ids, campaign_id):
    return sorted(int(i.removeprefix(campaign_id + "-")) for i in ids)


def test_every_network_of_the_evolved_front_is_replaced_on_the_front_by_its_polish(polished, unpolished):
    evolved = queries.front(unpolished.store, unpolished.campaign_id)["candidate_id"]
    assert len(evolved) > 1
    assert by_number(polishes(polished), polished.campaign_id) == by_number(evolved, unpolished.campaign_id)
    front = queries.front(polished.store, polished.campaign_id)
    assert set(front["candidate_id"]) == {row["id"] for row in polishes(polished).values()}
    before = queries.front(polished.store, polished.campaign_id, unpolished=True)
    assert by_number(before["candidate_id"], polished.campaign_id) == by_number(evolved, unpolished.campaign_id)


@pytest.mark.slow
def test_a_ray_campaign_polishes_on_its_workers_what_the_driver_would(polished, tmp_path, ray_session, monkeypatch):
    import connevo.evolution.polish as polish_module

    monkeypatch.setattr(polish_module, "LocalEvaluator", lambda *a, **k: pytest.fail("polished in the driver"))
    on_ray = run(small_spec(**{**DIGITS, "workers.backend": "ray", "workers.count": 2}), str(tmp_path / "ray.db"))
    assert len(polishes(on_ray)) == len(polishes(polished)) > 1
    assert comparable(on_ray.candidates(), on_ray.campaign_id) == comparable(polished.candidates(), polished.campaign_id)


def test_a_polish_keeps_its_sources_topology_costs_and_selection_scores(polished):
    for source_id, row in polishes(polished).items():
        source = polished.store.candidate(source_id)
        assert row["parents"] == [source_id] and row["number"] < 0 and "-p" in row["id"]
        topology = lambda g: sorted((c["source"], c["target"]) for c in g["connections"] if c["enabled"])  # noqa: E731
        assert topology(row["genome"]) == topology(source["genome"])
        for column in ("connections", "params", "flops", "wiring_length", "val_accuracy", "val_loss", "generation"):
            assert row[column] == source[column], column
        assert row["extra"]["validation_from"] == source_id
        assert row["genome"] != source["genome"]  # the weights moved


def accuracy(genome: dict, x: np.ndarray, y: np.ndarray) -> float:
    predicted = logits(genome, x)
    predicted = (predicted[:, 0] > 0).long() if predicted.shape[1] == 1 else predicted.argmax(1)
    return float((predicted.numpy() == y).mean())


def mean_losses(result, dataset, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """The mean cross-entropy on rows ``x, y`` of the sources and of their polished copies."""
    losses: dict[str, list[float]] = {"source": [], "polish": []}
    for source_id, row in polishes(result).items():
        for kind, genome in (("source", result.store.candidate(source_id)["genome"]), ("polish", row["genome"])):
            losses[kind].append(float(torch.nn.functional.cross_entropy(logits(genome, x), torch.as_tensor(y))))
    return {kind: float(np.mean(values)) for kind, values in losses.items()}


def test_polish_rows_all_trains_the_polish_on_every_row(polished_on_all, dataset):
    polished = polished_on_all
    spec = parse_spec(polished.store.get_campaign(polished.campaign_id)["spec"])
    epochs = training_settings(spec, dataset).inherited_epochs
    merged = polish_dataset(dataset, "all")
    assert len(merged.y_train) == len(dataset.y_train) + len(dataset.y_val) + len(dataset.y_test)
    for row in polishes(polished).values():
        assert row["epochs"] == epochs and row["extra"]["polish_rows"] == len(merged.y_train)
        # its reported training accuracy is measured on every row it trained on
        assert row["train_accuracy"] == pytest.approx(accuracy(row["genome"], merged.x_train, merged.y_train), abs=1e-9)
    # having trained on them, the polished networks fit the validation and the test rows better
    for x, y in ((dataset.x_val, dataset.y_val), (dataset.x_test, dataset.y_test)):
        losses = mean_losses(polished, dataset, x, y)
        assert losses["polish"] < losses["source"]


def test_a_polish_on_every_row_reports_the_test_scores_of_the_network_it_polished(polished_on_all):
    """It trained on the test rows: their scores are the held-out estimate of its source."""
    polished = polished_on_all
    for source_id, row in polishes(polished).items():
        source = polished.store.candidate(source_id)
        assert row["extra"]["test_from"] == source_id
        assert (row["test_accuracy"], row["test_loss"]) == (source["test_accuracy"], source["test_loss"])
        assert row["extra"]["test_balanced_accuracy"] == source["extra"]["test_balanced_accuracy"]
        assert row["extra"]["confusion"]["test"] == source["extra"]["confusion"]["test"]
        assert row["extra"]["confusion"]["train"] != source["extra"]["confusion"]["train"]  # its own
        assert row["train_test_gap"] is None or np.isnan(row["train_test_gap"])  # stored as NULL


def test_by_default_a_polish_trains_on_training_and_validation_rows_and_keeps_the_test_rows_unseen(polished, dataset):
    spec = parse_spec(polished.store.get_campaign(polished.campaign_id)["spec"])
    assert spec.training.polish_rows == "training+validation"
    epochs = training_settings(spec, dataset).inherited_epochs
    merged = polish_dataset(dataset, "training+validation")
    assert len(merged.y_train) == len(dataset.y_train) + len(dataset.y_val)
    assert np.array_equal(merged.x_train[len(dataset.x_train):], dataset.x_val)
    for row in polishes(polished).values():
        assert row["epochs"] == epochs and row["extra"]["polish_rows"] == len(merged.y_train)
        assert "test_from" not in row["extra"]
        assert row["train_accuracy"] == pytest.approx(accuracy(row["genome"], merged.x_train, merged.y_train), abs=1e-9)
        # its test scores are its own, on rows it never saw
        assert row["test_accuracy"] == pytest.approx(accuracy(row["genome"], dataset.x_test, dataset.y_test), abs=1e-9)
        assert row["train_test_gap"] == pytest.approx(row["train_accuracy"] - row["test_accuracy"])
    # having trained on them, the polished networks fit the validation rows better
    losses = mean_losses(polished, dataset, dataset.x_val, dataset.y_val)
    assert losses["polish"] < losses["source"]


def test_evolution_is_the_same_whatever_rows_the_polish_takes(polished, polished_on_all):
    unpolished = [queries.front(r.store, r.campaign_id, unpolished=True)["candidate_id"].tolist()
                  for r in (polished, polished_on_all)]
    assert unpolished[0] == [i.replace(polished_on_all.campaign_id, polished.campaign_id) for i in unpolished[1]]


def test_the_polish_rows_are_refused_unless_one_of_the_two(dataset):
    with pytest.raises(ValueError, match="rows must be 'training\\+validation' or 'all', got 'test'"):
        polish_dataset(dataset, "test")


def test_an_exported_polish_is_the_polished_network(polished, dataset, tmp_path):
    row = next(iter(polishes(polished).values()))
    export_candidate(polished.store, row["id"], tmp_path / "m.pt2")
    raw = dataset.x_test * dataset.std + dataset.mean
    with torch.no_grad():
        exported = torch.export.load(str(tmp_path / "m.pt2")).module()(torch.as_tensor(raw, dtype=torch.float32))
    assert torch.allclose(exported, logits(row["genome"], dataset.x_test), atol=1e-4)


def test_a_polish_reports_its_wall_time_not_the_sum_of_its_networks_times(tmp_path, dataset):
    """Networks of one bucket train together and each reports the bucket's time: summed, they
    would count it once per network."""
    result = run(small_spec(**{**DIGITS, "training.polish_epochs": 0}), str(tmp_path / "w.db"))
    spec = parse_spec(result.store.get_campaign(result.campaign_id)["spec"])
    settings = dataclasses.replace(training_settings(spec, dataset), polish_rows="all")
    began = time.perf_counter()
    report = polish_front(result.store, result.campaign_id, dataset, settings, 2)
    took = time.perf_counter() - began
    assert report is not None and report.polished >= 2
    assert 0 < report.seconds <= took
    assert report.rows == len(dataset.y_train) + len(dataset.y_val) + len(dataset.y_test)
    assert f"on {report.rows} rows (training + validation + test):" in report.line()


def test_polish_happens_once(polished, dataset):
    spec = parse_spec(polished.store.get_campaign(polished.campaign_id)["spec"])
    count = len(polished.store.candidates(polished.campaign_id))
    assert polish_front(polished.store, polished.campaign_id, dataset, training_settings(spec, dataset), 3) is None
    assert len(polished.store.candidates(polished.campaign_id)) == count


def test_polish_epochs_zero_leaves_the_front_as_evolution_made_it(unpolished):
    rows = unpolished.store.candidates(unpolished.campaign_id)
    assert (rows["number"] >= 0).all() and not polishes(unpolished)


def test_a_campaign_killed_before_its_polish_polishes_on_resume_as_if_never_killed(tmp_path):
    spec = parse_spec(small_spec(**DIGITS))
    whole = open_store(str(tmp_path / "whole.db"))
    expected_id = Campaign(spec, whole).run()
    cut = open_store(str(tmp_path / "cut.db"))
    with pytest.raises(Crash):
        Campaign(spec, cut, observers=[CrashAfter(spec.evolution.generations)]).run()
    campaign_id = cut.list_campaigns()["id"].iloc[0]
    assert (cut.candidates(campaign_id)["number"] >= 0).all()  # the polish did not happen
    Campaign.from_store(cut, campaign_id).run()
    assert comparable(cut.candidates(campaign_id), campaign_id) == comparable(whole.candidates(expected_id), expected_id)
    assert cut.get_campaign(campaign_id)["status"] == "finished"
