"""The Evaluator extension point, and the in-process implementation."""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence

from workers.records import Evaluation, EvaluationRequest, TrainingSettings
from workers.tasks import Dataset
from workers.train import train

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

    def close(self) -> None:
        """Release workers. Safe to call twice."""

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def chunked(items: Sequence, size: int) -> list[list]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


class LocalEvaluator(Evaluator):
    """Trains candidates one chunk at a time in this process (debugging, tests, notebooks)."""

    def __init__(self, dataset: Dataset, settings: TrainingSettings, chunk_size: int = 8) -> None:
        super().__init__(dataset, settings)
        self.chunk_size = chunk_size

    def evaluate(
        self, requests: Sequence[EvaluationRequest], on_done: ProgressCallback | None = None
    ) -> list[Evaluation]:
        results: list[Evaluation] = []
        for chunk in chunked(requests, self.chunk_size):
            done = train(chunk, self.dataset, self.settings)
            results.extend(done)
            if on_done is not None:
                on_done(done)
        return results
