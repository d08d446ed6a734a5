"""A stack's per-candidate products on several threads: the same bits as on one."""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest
import torch

from connevo.workers import EvaluationRequest, TrainingSettings, threaded_products
from connevo.workers.threaded_products import Product, groups, product_threads
from connevo.workers.train import train
from tests.support import random_genomes


def stack(count: int, rows: int, inner: int, cols: int, seed: int) -> Product:
    rng = np.random.default_rng(seed)
    return Product(rng.standard_normal((count, rows, inner), dtype=np.float32),
                   rng.standard_normal((count, inner, cols), dtype=np.float32),
                   np.full((count, rows, cols), np.nan, dtype=np.float32))


@pytest.fixture
def threads_seen(monkeypatch):
    """Every product call on several threads (no work threshold, four usable CPUs); the name of
    the thread that ran each group of candidates, in the order they started (an idle pool
    thread may run several groups)."""
    monkeypatch.setattr(threaded_products, "MIN_FLOPS", 0.0)
    monkeypatch.setattr(threaded_products, "usable_cpus", lambda: 4)
    seen: list[str] = []
    run_group = threaded_products._run_group

    def spy(products, group):
        seen.append(threading.current_thread().name)
        run_group(products, group)

    monkeypatch.setattr(threaded_products, "_run_group", spy)
    return seen


@pytest.mark.parametrize("threads", [1, 2, 3, 5])
@pytest.mark.parametrize("counts", [[32], [3, 10, 1], [1, 1], [7]])
def test_groups_cover_every_candidate_once_in_order_with_about_equal_work(threads, counts):
    products = [stack(c, 4, 5 + 40 * k, 6, seed=k) for k, c in enumerate(counts)]
    cut = groups(products, threads)
    covered = [(k, c) for group in cut for k, start, stop in group for c in range(start, stop)]
    assert covered == [(k, c) for k, p in enumerate(products) for c in range(p.left.shape[0])]
    assert 1 <= len(cut) <= threads
    per_candidate = [p.left.shape[1] * p.left.shape[2] * p.right.shape[2] for p in products]
    work = [sum((stop - start) * per_candidate[k] for k, start, stop in group) for group in cut]
    if len(cut) == threads:
        assert max(work) - min(work) <= 2 * max(per_candidate)


def test_products_on_several_threads_are_the_bits_of_one_call_per_stack(threads_seen):
    products = [stack(9, 16, 70, 12, seed=1), stack(4, 16, 30, 3, seed=2), stack(1, 16, 5, 5, seed=3)]
    scattered = np.zeros((9, 16, 12), dtype=np.float32)
    products[0] = products[0]._replace(scatter=lambda a, b: scattered.__setitem__(slice(a, b), products[0].out[a:b]))
    with product_threads(3):
        threaded_products.run(products)
    for p in products:
        assert np.array_equal(p.out, np.matmul(p.left, p.right))
    assert np.array_equal(scattered, products[0].out)
    main = threading.current_thread().name
    assert len(threads_seen) == 3 and threads_seen.count(main) == 1  # three groups, one on the caller


def test_trainings_on_two_threads_share_the_pool_and_each_gets_its_own_bits(threads_seen):
    """Two callers (a service's campaigns train on threads of one process), with two and three
    product threads, growing the pool while the other uses it."""
    stacks = [[stack(6, 8, 20 + k, 4, seed=10 * t + k) for k in range(40)] for t in range(2)]
    errors: list[BaseException] = []

    def caller(mine: list[Product], threads: int) -> None:
        try:
            with product_threads(threads):
                for p in mine:
                    threaded_products.run([p])
        except BaseException as exc:  # reported by the test below
            errors.append(exc)

    callers = [threading.Thread(target=caller, args=(mine, 2 + t)) for t, mine in enumerate(stacks)]
    for c in callers:
        c.start()
    for c in callers:
        c.join()
    assert not errors
    for p in stacks[0] + stacks[1]:
        assert np.array_equal(p.out, np.matmul(p.left, p.right))
    assert len(threads_seen) >= 2 * 80


def test_the_thread_count_is_at_least_one_at_most_the_usable_cpus_and_the_calling_thread_s_own(monkeypatch):
    monkeypatch.setattr(threaded_products, "usable_cpus", lambda: 2)
    assert threaded_products.current_threads() == 1
    seen_elsewhere: list[int] = []
    with product_threads(8):
        assert threaded_products.current_threads() == 2
        other = threading.Thread(target=lambda: seen_elsewhere.append(threaded_products.current_threads()))
        other.start()
        other.join()
    assert threaded_products.current_threads() == 1
    assert seen_elsewhere == [1]
    with pytest.raises(ValueError, match="at least 1"), product_threads(0):
        pass


def test_a_chunk_trains_to_the_same_bits_on_one_thread_and_on_three(wine, threads_seen):
    """Merged stacks of grown genomes (parted products), structure hints, elastic-net genes:
    a worker that had three threads trains every candidate to the bits of a worker of one."""
    requests = [EvaluationRequest(f"c{k}", g, 10 + k) for k, g in enumerate(random_genomes(wine, 10, seed=3))]
    settings = TrainingSettings(epochs=3, batch_size=16, learning_rate=0.02)
    previous = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        alone = train(requests, wine, settings)
        assert not threads_seen  # one thread: no groups
        torch.set_num_threads(3)
        together = train(requests, wine, settings)
    finally:
        torch.set_num_threads(previous)
    assert set(threads_seen) - {threading.current_thread().name}
    assert all(e.ok for e in alone)
    assert [dataclasses.replace(e, seconds=0.0) for e in together] == [dataclasses.replace(e, seconds=0.0) for e in alone]
