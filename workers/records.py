"""Immutable records that cross the boundary between the driver and the workers."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields
from typing import Any

from search_space.genome import Genome


class Status(str, enum.Enum):
    """How a candidate's evaluation ended. Failures are data: the campaign carries on."""

    OK = "ok"
    FAILED = "failed"
    DIVERGED = "diverged"
    TIMEOUT = "timeout"


@dataclass(frozen=True)
class TrainingSettings:
    """How every candidate of a campaign is trained (Adam, mini-batches, cross-entropy)."""

    epochs: int = 10
    batch_size: int = 128
    learning_rate: float = 0.01
    patience: int | None = None      # early stopping on validation loss; None = off
    time_limit: float = 300.0        # seconds per candidate
    device: str = "auto"             # "auto" (CUDA when the worker has a GPU), "cpu", "cuda"


@dataclass(frozen=True)
class EvaluationRequest:
    """One candidate to train: its id (assigned by the driver), genome and derived seed."""

    candidate_id: str
    genome: Genome
    seed: int


@dataclass(frozen=True)
class Evaluation:
    """What a worker returns for one candidate."""

    candidate_id: str
    status: Status
    error: str | None = None
    train_accuracy: float | None = None
    val_accuracy: float | None = None
    test_accuracy: float | None = None
    train_loss: float | None = None
    val_loss: float | None = None
    test_loss: float | None = None
    epochs: int = 0
    seconds: float = 0.0
    costs: dict[str, Any] = field(default_factory=dict)
    trained_genome: Genome | None = None
    device: str = "cpu"

    @property
    def ok(self) -> bool:
        return self.status is Status.OK

    def metrics(self) -> dict[str, Any]:
        """Flat metric columns (no genome), as the store keeps them."""
        skip = {"trained_genome", "costs", "candidate_id"}
        row = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}
        row["status"] = self.status.value
        row.update(self.costs)
        return row
