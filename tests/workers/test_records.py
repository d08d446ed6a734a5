"""Records cross process boundaries (Ray) in a packed form and come back equal."""

import pickle

import numpy as np

from connevo.search_space.genome import Genome
from connevo.workers import EvaluationRequest, TrainingSettings, load_dataset, records, train
from tests.support import random_genomes


def test_requests_and_evaluations_come_back_equal_from_a_pickle():
    wine = load_dataset("wine", seed=0)
    genomes = random_genomes(wine, 10, seed=3)  # hidden nodes, shared groups, disabled genes, regularization
    assert any(g.shared_groups for g in genomes) and any(not c.enabled for g in genomes for c in g.connections)
    requests = [EvaluationRequest(f"r{i}", g, 10 + i, None, epochs=i % 3 or None, warm_start=[None, True, False][i % 3])
                for i, g in enumerate(genomes)]
    back = records.loads(records.dumps(requests))
    assert back == requests
    for original, copy in zip(requests, back):
        assert copy.genome.effective_connections == original.genome.effective_connections
        copy.genome.validate()
    evaluations = train(requests[:4], wine, TrainingSettings(epochs=1, batch_size=32))
    assert records.loads(records.dumps(evaluations)) == evaluations
    assert pickle.loads(pickle.dumps(evaluations[0])).trained_genome == evaluations[0].trained_genome


def test_trained_weights_travel_as_arrays_and_rebuild_the_same_trained_genome():
    wine = load_dataset("wine", seed=0)
    genomes = random_genomes(wine, 8, seed=5)
    requests = [EvaluationRequest(f"r{i}", g, 20 + i) for i, g in enumerate(genomes)]
    evaluations = train(requests, wine, TrainingSettings(epochs=2, batch_size=32))
    for request in requests:  # the driver's genomes, their views computed (the rebuilt ones take them over)
        _ = request.genome.effective_mask, request.genome.live_nodes, request.genome.hidden_ids
    assert any(e.ok for e in evaluations)
    for evaluation, request in zip(evaluations, requests):
        detached = records.loads(records.dumps(records.detach_weights(evaluation, request)))
        assert detached[0].trained_genome is None
        rebuilt = records.attach_weights(detached, request)
        assert rebuilt == evaluation
        if evaluation.ok:
            trained = rebuilt.trained_genome
            assert trained.to_dict() == evaluation.trained_genome.to_dict()
            fresh = Genome(trained.nodes, trained.table, trained.regularization, trained.hints)
            for name in ("source_positions", "target_positions", "live_mask", "effective_mask", "node_ids"):
                assert name == "node_ids" or name in trained.__dict__  # taken over, not recomputed
                assert np.array_equal(getattr(trained, name), getattr(fresh, name))
            assert trained.live_nodes == fresh.live_nodes and trained.hidden_ids == fresh.hidden_ids
            assert trained.node_by_id == fresh.node_by_id  # the trained biases, not the request's
