"""The Evaluator extension point, and the in-process implementation."""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence

from connevo.workers.batched import MAX_BUCKET, plan_shape
from connevo.workers.records import Evaluation, EvaluationRequest, TrainingSettings
from connevo.workers.tasks import Dataset
from connevo.workers.train import train

ProgressCallback = Callable[[list[Evaluation]], None]


class Evaluator(abc.ABC):
    """Trains and scores candidates.

    Contract: :meth:`evaluate` returns exactly one :class:`Evaluation` per request, in request
    order, whatever happens to a candidate or a worker (failures are statuses, never exceptions);
    a candidate's result depends only on its genome, its seed, the data set and the training
    settings, not on the evaluator, the chunking or the number of workers. ``on_done`` is called
    from the calling thread with each batch of finished evaluations, as they finish.
    """

    def __init__(self, dataset: Dataset, settings: TrainingSettings) -> None:
        self.dataset = dataset
        self.settings = settings

    @abc.abstractmethod
    def evaluate(
        self, requests: Sequence[EvaluationRequest], on_done: ProgressCallback | None = None
    ) -> list[Evaluation]: ...

    def polishing(self, settings: TrainingSettings) -> Evaluator | None:
        """An evaluator that trains with ``settings`` on the rows of this one's data set that the
        final polish trains on (:func:`workers.tasks.polish_dataset`), on this one's
        workers, while this one is open; None (the default) where there are no workers to share,
        and the caller trains in its own process. Its results are those of a
        :class:`LocalEvaluator` on those rows, as every evaluator's are."""
        return None

    def close(self) -> None:
        """Release workers. Safe to call twice."""

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def chunked(items: Sequence, size: int) -> list[list]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def by_shape(requests: Sequence[EvaluationRequest]) -> list[EvaluationRequest]:
    """``requests`` reordered so that candidates of one stacked shape are neighbours.

    The batched trainer stacks candidates of equal shape (:func:`workers.batched.plan_shape`);
    chunks cut from this order keep them together. A candidate's result does not depend on the
    order (only the speed does); genomes whose shape cannot be computed go last.
    """
    keyed = []
    for index, request in enumerate(requests):
        try:
            key = (0, plan_shape(request.genome))
        except Exception:
            key = (1, ())
        keyed.append((key, index, request))
    keyed.sort(key=lambda item: (item[0], item[1]))
    return [request for _, _, request in keyed]


class LocalEvaluator(Evaluator):
    """Trains candidates one chunk at a time in this process (debugging, tests, notebooks).

    ``chunk_size`` None: chunks of up to :data:`workers.batched.MAX_BUCKET` candidates.
    """

    def __init__(self, dataset: Dataset, settings: TrainingSettings, chunk_size: int | None = None) -> None:
        super().__init__(dataset, settings)
        self.chunk_size = chunk_size

    def evaluate(
        self, requests: Sequence[EvaluationRequest], on_done: ProgressCallback | None = None
    ) -> list[Evaluation]:
        ordered = by_shape(requests) if self.settings.batched else list(requests)
        results: dict[str, Evaluation] = {}
        for chunk in chunked(ordered, self.chunk_size or MAX_BUCKET):
            done = train(chunk, self.dataset, self.settings)
            for evaluation in done:
                results[evaluation.candidate_id] = evaluation
            if on_done is not None:
                on_done(done)
        return [results[r.candidate_id] for r in requests]
