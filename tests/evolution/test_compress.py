"""Pruning and int8 quantization of trained networks, re-measured and stored."""

import numpy as np
import pytest
import torch

import connevo
from connevo.errors import ConnevoError
from connevo.evolution import run
from connevo.evolution.compress import compress, prune
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
