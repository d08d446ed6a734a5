"""One contract suite for every Evaluator: in-process and Ray."""

import dataclasses

import numpy as np
import pytest

from connevo.search_space import InnovationTracker, minimal_genome
from connevo.workers import EvaluationRequest, LocalEvaluator, Status, TrainingSettings

SETTINGS = TrainingSettings(epochs=3, batch_size=32, learning_rate=0.05)


@pytest.fixture(params=["local", "ray"])
def make_evaluator(request, wine):
    created = []

    def factory(settings=SETTINGS, **kwargs):
        if request.param == "local":
            ev = LocalEvaluator(wine, settings, chunk_size=kwargs.get("chunk_size", 3))
        else:
            request.getfixturevalue("ray_session")
            from connevo.workers.ray_evaluator import RayEvaluator

            ev = RayEvaluator(wine, settings, workers=kwargs.get("workers", 2), chunk_size=kwargs.get("chunk_size"))
        created.append(ev)
        return ev

    yield factory
    for ev in created:
        ev.close()


def requests(dataset, n=7):
    rng = np.random.default_rng(0)
    tracker = InnovationTracker()
    return [
        EvaluationRequest(f"c-{i}", minimal_genome(dataset.n_features, dataset.n_classes, rng, tracker, 0.2 + 0.1 * i), seed=100 + i)
        for i in range(n)
    ]


def comparable(evaluation):
    return dataclasses.replace(evaluation, seconds=0.0)


def test_one_evaluation_per_request_in_request_order(make_evaluator, wine):
    reqs = requests(wine)
    seen = []
    results = make_evaluator().evaluate(reqs, on_done=seen.extend)
    assert [r.candidate_id for r in results] == [r.candidate_id for r in reqs]
    assert sorted(e.candidate_id for e in seen) == sorted(r.candidate_id for r in reqs)
    assert all(r.status is Status.OK for r in results)


@pytest.mark.parametrize("chunk_size", [2, None], ids=["chunks of 2", "default chunks"])
def test_results_do_not_depend_on_the_evaluator_or_the_chunking(make_evaluator, wine, chunk_size):
    reqs = requests(wine)
    reference = [comparable(e) for e in LocalEvaluator(wine, SETTINGS, chunk_size=1).evaluate(reqs)]
    got = [comparable(e) for e in make_evaluator(chunk_size=chunk_size).evaluate(reqs)]
    assert got == reference


def test_failures_are_statuses(make_evaluator, wine):
    slow = TrainingSettings(epochs=10_000, batch_size=1, time_limit=0.05)
    results = make_evaluator(slow).evaluate(requests(wine, n=2))
    assert [r.status for r in results] == [Status.TIMEOUT, Status.TIMEOUT]


def test_ray_workers_keep_the_data_set_resident(ray_session, wine):
    """The data set is put in the object store once and each actor receives it once."""
    from connevo.workers.ray_evaluator import RayEvaluator

    with RayEvaluator(wine, SETTINGS, workers=2, chunk_size=1) as ev:
        ref = ev._dataset_ref
        pids = {ray_session.get(a.pid.remote()) for a in ev._actors}
        ev.evaluate(requests(wine, n=6))
        assert ev._dataset_ref is ref
        assert len(pids) == 2


def test_a_killed_ray_worker_is_replaced_and_its_chunk_retried(ray_session, wine):
    import os
    import signal

    from connevo.workers.ray_evaluator import RayEvaluator

    with RayEvaluator(wine, SETTINGS, workers=1, chunk_size=2, max_retries=1) as ev:
        pid = ray_session.get(ev._actors[0].pid.remote())
        os.kill(pid, signal.SIGKILL)
        results = ev.evaluate(requests(wine, n=4))
        assert [r.status for r in results] == [Status.OK] * 4
        assert ray_session.get(ev._actors[0].pid.remote()) != pid


def test_ray_workers_polish_on_the_polish_rows_as_one_process_would(ray_session, wine, monkeypatch):
    """The final polish on a Ray evaluator's workers (:meth:`Evaluator.polishing`): the
    evaluations one process gives on the rows of ``polish_rows`` (every row, or the training and
    validation rows), bit for bit, and none of it trained in the calling process."""
    from connevo.workers.ray_evaluator import RayEvaluator
    from connevo.workers.tasks import polish_dataset

    reqs = requests(wine)
    with RayEvaluator(wine, SETTINGS, workers=2, chunk_size=3) as evaluator:
        references = []
        for rows in ("all", "training+validation"):
            polish = dataclasses.replace(SETTINGS, epochs=2, polish_rows=rows)
            reference = [comparable(e) for e in LocalEvaluator(polish_dataset(wine, rows), polish, chunk_size=1).evaluate(reqs)]
            assert reference != [comparable(e) for e in LocalEvaluator(wine, polish).evaluate(reqs)]  # the rows matter
            references.append(reference)
            monkeypatch.setattr(LocalEvaluator, "evaluate", lambda *a, **k: pytest.fail("trained in this process"))
            seen = []
            got = evaluator.polishing(polish).evaluate(reqs, on_done=seen.extend)
            assert [comparable(e) for e in got] == reference
            assert sorted(e.candidate_id for e in seen) == sorted(r.candidate_id for r in reqs)
            monkeypatch.undo()
        assert references[0] != references[1]
        assert [comparable(e) for e in evaluator.evaluate(reqs)] == [  # its own settings and rows still
            comparable(e) for e in LocalEvaluator(wine, SETTINGS).evaluate(reqs)]


def test_an_in_process_evaluator_leaves_the_polish_to_its_caller(wine):
    assert LocalEvaluator(wine, SETTINGS).polishing(SETTINGS) is None
