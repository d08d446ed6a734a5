"""A campaign's start on the embedded Ray: its data set loads while Ray starts.

Starting a local Ray takes a few seconds (its services, then its workers), most of it spent
waiting on other processes, and it can only be started from the main thread. Loading and
splitting the data set (scikit-learn's import included, for a built-in set) takes most of a
second more. :func:`data_loaded_beside_embedded_ray` does the second in a thread while the main
thread does the first, where the campaign will train on the embedded Ray; the campaign then
finds Ray up and its data set loaded (the same data set: ``load_task`` of the same spec).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from connevo.evolution.spec import CampaignSpec
from connevo.evolution.task import load_task
from connevo.workers.tasks import Dataset


def trains_on_embedded_ray(spec: CampaignSpec) -> bool:
    """Whether a campaign of ``spec`` would start the embedded Ray from this thread: the Ray
    backend without a cluster address, from the main thread, with no Ray running yet."""
    if spec.workers.backend != "ray" or spec.workers.ray_address:
        return False
    if threading.current_thread() is not threading.main_thread():
        return False
    import ray

    return not ray.is_initialized()


@contextmanager
def data_loaded_beside_embedded_ray(spec: CampaignSpec | None) -> Iterator[Dataset | None]:
    """Where a campaign of ``spec`` would start the embedded Ray: start it here while a thread
    loads the data set, yield the data set, and shut Ray down on leaving (the campaign's
    evaluator leaves a Ray it did not start running). Else (or ``spec`` None: the campaign
    brings its own evaluator) yield None and start nothing. A data set that fails to load
    raises here, after Ray is shut down again."""
    if spec is None or not trains_on_embedded_ray(spec):
        yield None
        return
    from connevo.workers.ray_evaluator import embedded_cpus, ensure_ray, shutdown_ray

    with ThreadPoolExecutor(1, thread_name_prefix="connevo-data") as pool:
        loading = pool.submit(load_task, spec)
        started = ensure_ray(num_cpus=embedded_cpus(spec.workers.count))
        try:
            dataset = loading.result()
        except BaseException:
            if started:
                shutdown_ray()
            raise
    try:
        yield dataset
    finally:
        if started:
            shutdown_ray()


__all__ = ["data_loaded_beside_embedded_ray", "trains_on_embedded_ray"]
