"""A candidate on the driver, its training seed, and its store row, both ways."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from connevo.results import genome_codec
from connevo.results.metrics import metrics, prediction_metrics, value_of
from connevo.results.pareto import POOLED_LOSS, pooled_loss
from connevo.search_space.connection_table import COLUMNS
from connevo.search_space.cost import measure
from connevo.search_space.genome import Genome
from connevo.workers.latency import LATENCY
from connevo.workers.records import Evaluation, Status


def candidate_seed(campaign_seed: int, number: int) -> int:
    """Training seed of candidate ``number``: derived from (campaign seed, number) only."""
    return int(np.random.SeedSequence([campaign_seed, number]).generate_state(2, dtype=np.uint32)
               .astype(np.uint64).dot(np.array([1 << 31, 1], dtype=np.uint64)))


@dataclass
class Candidate:
    number: int
    generation: int
    genome: Genome               # structure (with inherited, untrained weights under inheritance)
    parents: list[str]
    seed: int
    evaluation: Evaluation | None = None
    fidelity: float = 1.0        # share of the full training behind ``evaluation`` (multi-fidelity)

    @property
    def complete(self) -> bool:
        """Fully trained (every candidate but the rejects of a multi-fidelity rung)."""
        return self.fidelity >= 1.0


def stored_genome(genome: Genome) -> dict[str, Any]:
    """``genome.to_dict()`` as a store row holds it: its connection genes as columns
    (:class:`results.genome_codec.Records`) where the store packs them as columns anyway, so it
    stores the same bytes without a Python object per gene (a 10^5-connection genome: 40 ms of
    objects less, each time it is stored); as ``to_dict`` gives them where it does not (genes
    without weights, or with groups on some genes only: those stay JSON objects)."""
    table = genome.table
    if len(table) < genome_codec.MIN_ROWS or np.isnan(table.weight).any():
        return genome.to_dict()
    no_group = table.group < 0
    if no_group.any() and not no_group.all():
        return genome.to_dict()
    kept = COLUMNS[:-1] if no_group.all() else COLUMNS  # the group key only where every gene has one
    return genome.document(genome_codec.Records(kept, tuple(getattr(table, name) for name in kept)))


def candidate_row(campaign_id: str, c: Candidate, *, with_fidelity: bool,
                  pooled_share: float | None = None) -> dict[str, Any]:
    """The store row of an evaluated candidate (its trained genome when it has one); with
    ``pooled_share`` (a campaign ranking its front by ``"pooled"``), its pooled loss in ``extra``
    (:data:`results.pareto.POOLED_LOSS`)."""
    e = c.evaluation
    assert e is not None
    genome = e.trained_genome if e.trained_genome is not None else c.genome
    row: dict[str, Any] = {
        "id": f"{campaign_id}-{c.number}",
        "campaign_id": campaign_id,
        "number": c.number,
        "generation": c.generation,
        "parents": c.parents,
        "genome": stored_genome(genome),
        "seed": c.seed,
        **e.metrics(),
    }
    extra: dict[str, Any] = {m.name: float(m.compute(genome)) for m in metrics() if m.compute is not None}
    if e.confusion:
        extra.update({m.name: value_of(e, m.name) for m in metrics() if m.confusion is not None})
        if all(len(matrix) <= MAX_STORED_CONFUSION for matrix in e.confusion.values()):
            extra[CONFUSION] = e.confusion
    if e.scores:
        extra.update(e.scores)
    if with_fidelity:
        extra["fidelity"] = c.fidelity
    pooled = None if pooled_share is None else pooled_loss(e.train_loss, e.val_loss, pooled_share)
    if pooled is not None:
        extra[POOLED_LOSS] = pooled
    if extra:
        row["extra"] = extra
    row.pop("device", None)
    if not e.costs:
        row.update(measure(c.genome).as_dict())
    if e.train_accuracy is not None and e.val_accuracy is not None and e.test_accuracy is not None:
        row["train_val_gap"] = e.train_accuracy - e.val_accuracy
        row["train_test_gap"] = e.train_accuracy - e.test_accuracy
    return row


# the store's columns of worker-measured costs and scores (the registry's, :mod:`results.metrics`)
_COST_COLUMNS = tuple(m.name for m in metrics() if m.source == "cost" and m.compute is None)
_METRIC_COLUMNS = tuple(m.name for m in metrics() if m.source == "score" and m.confusion is None
                        and m.predictions is None and m.name.split("_")[-1] in ("accuracy", "loss"))
CONFUSION = "confusion"
"""Key of a candidate's ``extra``: its confusion matrix per data part (:attr:`Evaluation.confusion`)."""
MAX_STORED_CONFUSION = 32
"""Confusion matrices are stored with a candidate up to this many classes (K x K numbers each)."""


def _stored_scores(extra: Any) -> dict[str, float] | None:
    """The worker-measured scores kept in a stored candidate's ``extra``: prediction metrics and
    the inference latency."""
    if not isinstance(extra, dict):
        return None
    names = [m.name for m in prediction_metrics()] + [LATENCY]
    scores = {name: float(extra[name]) for name in names if extra.get(name) is not None}
    return scores or None


def next_derived_number(numbers: pd.Series) -> int:
    """The number of a campaign's next derived candidate (polished, compressed), given its
    candidates' ``numbers``: below every derived one so far (theirs are negative)."""
    return -1 - int((numbers < 0).sum())


def candidate_from_row(row: dict[str, Any], keep_weights: bool = False) -> Candidate:
    """A stored candidate back as the driver's record (structure without trained weights; the
    evaluation keeps the trained genome when ``keep_weights``)."""
    def value(name: str) -> Any:
        v = row.get(name)
        return None if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA else v

    stored = Genome.from_dict(row["genome"])
    genome = strip_weights(stored)
    evaluation = Evaluation(
        candidate_id=row["id"],
        status=Status(row["status"]),
        error=value("error"),
        **{name: (None if value(name) is None else float(value(name))) for name in _METRIC_COLUMNS},
        epochs=int(value("epochs") or 0),
        seconds=float(value("seconds") or 0.0),
        costs={name: value(name) for name in _COST_COLUMNS},
        trained_genome=stored if keep_weights and row["status"] == "ok" else None,
        confusion=(row.get("extra") or {}).get(CONFUSION) if isinstance(row.get("extra"), dict) else None,
        scores=_stored_scores(row.get("extra")),
    )
    extra = row.get("extra")
    return Candidate(
        number=int(row["number"]),
        generation=int(row["generation"]),
        genome=genome,
        parents=list(row["parents"]),
        seed=int(row["seed"]),
        evaluation=evaluation,
        fidelity=float((extra if isinstance(extra, dict) else {}).get("fidelity", 1.0)),
    )


def strip_weights(genome: Genome) -> Genome:
    """The structure of a trained genome, without its weights and biases."""
    nodes = tuple(n if n.bias == 0.0 else replace(n, bias=0.0) for n in genome.nodes)
    return genome._reweighted(nodes, np.full(len(genome.table), np.nan), None)


__all__ = ["Candidate", "candidate_from_row", "candidate_row", "candidate_seed", "next_derived_number", "stored_genome", "strip_weights"]
