"""Ray evaluation: a pool of trainer actors, each holding the data set, fed chunks of genomes.

The data set is put in the object store once; every actor receives it once, at construction.
Requests are ordered by stacked shape and cut into chunks (by default one per worker, at most
:data:`workers.batched.MAX_BUCKET` candidates), which go to whichever actor is free. An actor
that dies is restarted by Ray and its chunk retried (``max_retries``); a chunk that still fails
becomes ``failed`` evaluations and a fresh actor takes the dead one's place, so the campaign
always goes on.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import ray

from workers.batched import MAX_BUCKET
from workers.evaluator import Evaluator, ProgressCallback, by_shape, chunked
from workers import records
from workers.records import Evaluation, EvaluationRequest, Status, TrainingSettings
from workers.tasks import Dataset
from workers.train import train

log = logging.getLogger(__name__)


class _Trainer:
    """Body of one Ray actor: the data set stays resident between chunks."""

    def __init__(self, dataset: Dataset, settings: TrainingSettings) -> None:
        self.dataset = dataset
        self.settings = settings

    def train(self, chunk: bytes) -> bytes:
        """Train the pickled chunk of requests; the evaluations pickled (:func:`records.dumps`)."""
        return records.dumps(train(records.loads(chunk), self.dataset, self.settings))

    def pid(self) -> int:
        return os.getpid()


def ensure_ray(address: str = "", num_cpus: int | None = None) -> bool:
    """Connect to ``address`` or start a local Ray in-process; True if this call started it."""
    if ray.is_initialized():
        return False
    kwargs: dict = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.WARNING}
    if address:
        ray.init(address=address, **kwargs)
    else:
        ray.init(address="local", num_cpus=num_cpus, **kwargs)  # never join a stray cluster
    return True


class RayEvaluator(Evaluator):
    """Evaluates on Ray: an embedded local Ray by default, or the cluster at ``ray_address``."""

    def __init__(
        self,
        dataset: Dataset,
        settings: TrainingSettings,
        *,
        workers: int = 2,
        ray_address: str = "",
        gpus_per_worker: float = 0.0,
        cpus_per_worker: float = 1.0,
        chunk_size: int | None = None,
        max_retries: int = 2,
    ) -> None:
        super().__init__(dataset, settings)
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self._started_ray = ensure_ray(ray_address, num_cpus=max(workers, os.cpu_count() or 1))
        self.workers = workers
        self.chunk_size = chunk_size
        self.max_retries = max_retries
        self._dataset_ref = ray.put(dataset)
        self._actor_class = ray.remote(_Trainer).options(
            num_cpus=cpus_per_worker,
            num_gpus=gpus_per_worker,
            max_restarts=max_retries,
            max_task_retries=max_retries,
        )
        self._actors = [self._new_actor() for _ in range(workers)]
        self._closed = False

    def _new_actor(self):
        return self._actor_class.remote(self._dataset_ref, self.settings)

    def _chunk_size(self, n: int) -> int:
        if self.chunk_size:
            return self.chunk_size
        # One chunk per worker: the batched trainer is fastest on large chunks of equal shapes.
        return max(1, min(MAX_BUCKET, -(-n // self.workers)))

    def evaluate(
        self, requests: Sequence[EvaluationRequest], on_done: ProgressCallback | None = None
    ) -> list[Evaluation]:
        if self._closed:
            raise RuntimeError("this RayEvaluator is closed")
        ordered = by_shape(requests) if self.settings.batched else list(requests)
        pending = chunked(ordered, self._chunk_size(len(requests)))
        pending.reverse()
        idle = list(range(len(self._actors)))
        running: dict = {}
        results: dict[str, Evaluation] = {}
        while pending or running:
            while pending and idle:
                slot = idle.pop()
                chunk = pending.pop()
                running[self._actors[slot].train.remote(records.dumps(chunk))] = (slot, chunk)
            ready, _ = ray.wait(list(running), num_returns=1)
            for ref in ready:
                slot, chunk = running.pop(ref)
                try:
                    done = records.loads(ray.get(ref))
                except ray.exceptions.RayError as exc:
                    log.warning("a worker failed on %d candidates: %s", len(chunk), exc)
                    done = [_failed(r, f"worker failed: {type(exc).__name__}: {exc}") for r in chunk]
                    if isinstance(exc, ray.exceptions.RayActorError):
                        self._actors[slot] = self._new_actor()
                idle.append(slot)
                for evaluation in done:
                    results[evaluation.candidate_id] = evaluation
                if on_done is not None:
                    on_done(done)
        return [results[r.candidate_id] for r in requests]

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for actor in self._actors:
            ray.kill(actor)
        self._actors = []
        if self._started_ray:
            ray.shutdown()


def _failed(request: EvaluationRequest, error: str) -> Evaluation:
    return Evaluation(candidate_id=request.candidate_id, status=Status.FAILED, error=error[:2000], seconds=0.0)


__all__ = ["RayEvaluator", "ensure_ray"]
