"""latency_us: single-row inference time, measured by the worker that trained the network, stored
with every candidate of a campaign that asks for it, and an objective like any other (the one
whose selection the seed does not fix)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from connevo.errors import SpecError
from connevo.evolution import parse_spec, run
from connevo.evolution.task import load_task, training_settings
from connevo.results import queries
from connevo.results.pareto import front_matrix, pareto_mask
from connevo.search_space.innovation import InnovationTracker
from connevo.search_space.operators import minimal_genome
from connevo.workers.latency import add_latency, inference_latency_us
from connevo.workers.records import Evaluation, EvaluationRequest, Status
from connevo.workers.train import train
from tests.support import small_spec

LATENCY_SPEC = small_spec(**{"name": "fast", "objectives.minimize": ["latency_us", "connections"]})


@pytest.fixture(scope="module")
def xor_training():
    """(data set, training settings, a fully connected genome) of the small XOR spec."""
    spec = parse_spec(small_spec())
    dataset = load_task(spec)
    genome = minimal_genome(dataset.n_features, dataset.n_classes, np.random.default_rng(0), InnovationTracker(), 1.0)
    return dataset, training_settings(spec, dataset), genome


@pytest.fixture(scope="module")
def latency_campaign(tmp_path_factory):
    return run(LATENCY_SPEC, str(tmp_path_factory.mktemp("latency") / "s.db"))


def test_workers_measure_it_only_when_the_spec_asks():
    plain = parse_spec(small_spec())
    assert not training_settings(plain, load_task(plain)).measure_latency
    for spec in (LATENCY_SPEC, small_spec(**{"training.measure_latency": True})):
        parsed = parse_spec(spec)
        assert training_settings(parsed, load_task(parsed)).measure_latency


def test_measuring_it_adds_a_positive_time_and_changes_nothing_the_training_gives(xor_training):
    dataset, settings, genome = xor_training
    requests = [EvaluationRequest("a", genome, 1), EvaluationRequest("b", genome, 2)]
    plain = train(requests, dataset, settings)
    timed = train(requests, dataset, replace(settings, measure_latency=True))
    for without, with_latency in zip(plain, timed):
        assert without.scores is None or "latency_us" not in without.scores
        latency = with_latency.scores["latency_us"]
        assert math.isfinite(latency) and latency > 0
        assert with_latency.val_accuracy == without.val_accuracy
        assert with_latency.trained_genome == without.trained_genome
    assert inference_latency_us(plain[0].trained_genome, calls=3) > 0


def test_a_failed_training_gets_no_latency(xor_training):
    dataset, settings, genome = xor_training
    trained = train([EvaluationRequest("a", genome, 1)], dataset, settings)[0]
    failed = Evaluation(candidate_id="b", status=Status.FAILED, error="boom")
    measured = add_latency([failed, trained])
    assert measured[0] is failed
    assert measured[1].scores["latency_us"] > 0


def test_a_campaign_stores_it_for_every_candidate_and_selects_on_it(latency_campaign):
    candidates = latency_campaign.candidates()
    ok = candidates[candidates["status"] == "ok"]
    assert len(ok) and all(e["latency_us"] > 0 for e in ok["extra"])
    objectives = ["val_accuracy", "latency_us", "connections"]
    front = latency_campaign.front()
    assert "latency_us" in front.columns and len(front) >= 1
    senses = ["max", "min", "min"]  # val_accuracy ranked as the campaign ranks it (objectives.rank_accuracy_by)
    ranking = queries.accuracy_ranking(latency_campaign.store, latency_campaign.campaign_id)
    assert pareto_mask(*front_matrix(front, objectives, senses, ranking)).all()
    assert (latency_campaign.store.generations(latency_campaign.campaign_id)["hypervolume"] > 0).all()


def test_a_campaign_that_did_not_measure_it_says_how_to(tmp_path):
    result = run(small_spec(**{"evolution.generations": 0}), str(tmp_path / "s.db"))
    with pytest.raises(SpecError, match=r"latency_us is measured only .*training.measure_latency"):
        queries.front(result.store, result.campaign_id, ["val_accuracy", "latency_us"])
