"""Pruning and int8 quantization of trained networks, re-measured and stored."""

import numpy as np
import pytest
import torch

import connevo
from connevo.errors import ConnevoError
from connevo.evolution import run
from connevo.evolution.compress import TRAINED_ON_PARTS, compress, prune
from connevo.results import queries
from connevo.search_space import Genome, measure
from connevo.search_space.compile import compile_genome
from connevo.search_space.quantize import Int8Network
from tests.support import small_spec


@pytest.fixture(scope="module")
def digits_campaign(tmp_path_factory):
    spec = small_spec(**{"task.dataset": "digits", "evolution.population": 4, "evolution.generations": 0,
                         "training.epochs": 8, "training.learning_rate": 0.01,
                         "search_space.initial_density": [1.0, 1.0]})
    return run(spec, str(tmp_path_factory.mktemp("c") / "c.db"))


@pytest.fixture(scope="module")
def polished_campaigns(tmp_path_factory):
    """Two campaigns whose front the final polish trained on: the default rows (training +
    validation) and every row (``training.polish_rows = "all"``)."""
    base = {"task.dataset": "digits", "evolution.population": 4, "evolution.generations": 0,
            "training.epochs": 6, "training.learning_rate": 0.01, "training.polish_epochs": 3}
    return {rows: run(small_spec(**base, **{"training.polish_rows": rows}), str(tmp_path_factory.mktemp(rows[:3]) / "c.db"))
            for rows in ("training+validation", "all")}


def front_ids(result):
    return list(queries.front(result.store, result.campaign_id)["candidate_id"])


def best(result):
    c = result.candidates()
    return c.loc[c["val_accuracy"].idxmax()]


def test_pruning_removes_the_smallest_weights_first(digits_campaign):
    genome = Genome.from_dict(best(digits_campaign)["genome"])
    pruned = prune(genome, 0.5)
    kept = [abs(c.weight) for c in pruned.effective_connections]
    removed = {c.innovation for c in genome.effective_connections} - {c.innovation for c in pruned.effective_connections}
    assert len(removed) == len(genome.effective_connections) // 2
    assert max(abs(c.weight) for c in genome.connections if c.innovation in removed) <= min(kept)


def test_compress_stores_a_remeasured_candidate_linked_to_its_source(digits_campaign):
    source = best(digits_campaign)
    row = compress(digits_campaign.store, source["id"], prune_fraction=0.5)
    stored = digits_campaign.store.candidate(row["id"])
    assert stored["parents"] == [source["id"]] and stored["number"] < 0
    assert stored["extra"]["compressed_from"] == source["id"]
    assert stored["connections"] == source["connections"] - source["connections"] // 2
    assert stored["params"] == measure(Genome.from_dict(stored["genome"])).params
    # halving a linear digits classifier by magnitude keeps most of its accuracy
    assert stored["test_accuracy"] > source["test_accuracy"] - 0.15


def test_a_copy_of_an_unpolished_network_is_scored_on_every_part(digits_campaign):
    row = compress(digits_campaign.store, best(digits_campaign)["id"], quantize="int8")
    assert None not in (row["val_accuracy"], row["val_loss"], row["test_accuracy"], row["train_val_gap"])
    assert TRAINED_ON_PARTS not in row["extra"]


def test_a_copy_of_a_polished_network_has_no_validation_scores_and_stays_off_the_front(polished_campaigns):
    result = polished_campaigns["training+validation"]
    front = front_ids(result)
    assert all("-p" in cid for cid in front)  # the polish replaced the evolved front
    copies = [compress(result.store, cid, quantize="int8") for cid in front]
    for copy in copies:
        stored = result.store.candidate(copy["id"])
        assert stored["val_accuracy"] is None and stored["val_loss"] is None and stored["train_val_gap"] is None
        assert stored["extra"]["val_auc"] is None and stored["extra"][TRAINED_ON_PARTS] == ["val"]
        # the test rows stayed unseen: scored as ever
        assert stored["test_accuracy"] is not None and stored["extra"]["test_auc"] is not None
    # scored on rows they trained on, the copies would have outscored their sources there
    assert front_ids(result) == front
    # nor are they listed with the failed trainings that have no scores
    listed = queries.front(result.store, result.campaign_id, include_failed=True)["candidate_id"]
    assert not set(listed) & {copy["id"] for copy in copies}


def test_a_copy_of_a_network_polished_on_every_row_has_neither_validation_nor_test_scores(polished_campaigns):
    result = polished_campaigns["all"]
    source = front_ids(result)[-1]
    copy = result.store.candidate(compress(result.store, source, quantize="int8")["id"])
    assert copy["extra"][TRAINED_ON_PARTS] == ["val", "test"]
    assert None is copy["val_accuracy"] is copy["test_accuracy"] is copy["test_loss"] is copy["train_test_gap"]
    assert copy["train_accuracy"] is not None


def test_a_copy_of_a_copy_inherits_the_parts_its_source_trained_on(polished_campaigns):
    result = polished_campaigns["training+validation"]
    first = compress(result.store, front_ids(result)[-1], prune_fraction=0.2)
    second = compress(result.store, first["id"], prune_fraction=0.2)
    assert second["extra"][TRAINED_ON_PARTS] == ["val"] and second["val_accuracy"] is None


def test_int8_quantization_keeps_accuracy_and_quarters_the_bytes(digits_campaign):
    source = best(digits_campaign)
    row = connevo.compress(digits_campaign.store, source["id"], quantize="int8")
    assert abs(row["test_accuracy"] - source["test_accuracy"]) <= 0.03
    assert row["extra"]["weight_bytes"] < 0.5 * 4 * source["params"]
    assert row["extra"]["quantization"] == "int8" and row["connections"] == source["connections"]


def test_int8_network_is_close_to_the_float_network():
    rng = np.random.default_rng(0)
    from tests.support import random_genome

    genome = random_genome(2)
    net = compile_genome(genome, seed=0).eval()
    x = torch.as_tensor(rng.normal(size=(64, genome.n_inputs)), dtype=torch.float32)
    q = Int8Network(net)
    assert torch.allclose(net(x), q(x), atol=0.05, rtol=0.05)


def test_bad_compress_requests_are_clear_errors(digits_campaign):
    source = best(digits_campaign)["id"]
    with pytest.raises(ConnevoError, match="nothing to do"):
        compress(digits_campaign.store, source)
    with pytest.raises(ConnevoError, match="prune fraction"):
        compress(digits_campaign.store, source, prune_fraction=1.5)
    with pytest.raises(ConnevoError, match="quantize"):
        compress(digits_campaign.store, source, quantize="int4")
    with pytest.raises(connevo.NotFoundError):
        compress(digits_campaign.store, "zzz-1", prune_fraction=0.1)
