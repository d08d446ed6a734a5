"""The final polish of a search: each front network trained a little longer, from its own
weights, on the training and validation rows together (``training.polish_rows = "all"``: the
test rows too), and stored as a new candidate that takes its place on the front.

Why: selection needs validation rows the networks never trained on; once the front is chosen
they are more training data (the refit after model selection of auto-sklearn and AutoGluon). The
test rows only report; a user who scores the front on data of their own may have them train too
(``"all"``; measured with ``benchmarks/frontier.py`` on small tables it was a change of seed,
both ways, so it is not the default: the test scores would no longer be the delivered network's).
From the network's own weights, not from scratch: a front network usually grew over
generations of inherited training, which one fresh training of the same length does not
reproduce (measured with ``benchmarks/frontier.py``: from scratch gained on digits and lost on
the clusters set; from its own weights it gained on both).

A polished network has no validation score of its own (it trained on those rows): its
``val_accuracy`` (a regression: ``val_r2``, ``val_mse``, ...) and ``val_loss`` are those of the
network it polishes, on which it was selected (``extra["validation_from"]`` names it). Its
training and test metrics are its own (the test rows stay unseen), except where it trained on the
test rows too (``"all"``): its test scores are then those of the network it polishes
(``extra["test_from"]``), the held-out estimate of the network before the polish. Polishing is
idempotent: a front member is polished once (its polished
copy takes its place on the front), and all the polished rows of one polish are written in one
transaction. An extended campaign (:mod:`evolution.extension`) is polished again at its new end:
the members of its new front that have no polished copy yet, exactly as had the campaign been
launched with its new number of generations.

Where: a campaign on Ray polishes on its own workers (:meth:`workers.evaluator.Evaluator.polishing`:
each holds the data set and adds its validation rows to its training rows), which would otherwise
wait idle while one process polishes; on the local backend and under ``connevo polish``, in this
process. The polished networks are the same either way (on the same kind of device: GPU workers
polish on their GPUs, as they trained the candidates).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from connevo.errors import ConnevoError
from connevo.evolution.candidates import CONFUSION, next_derived_number, stored_genome
from connevo.results import queries
from connevo.results.metrics import metrics, value_of
from connevo.results.queries import POLISHED_FROM
from connevo.results.storage import BaseStore
from connevo.search_space.cost import CostMetrics
from connevo.search_space.genome import Genome
from connevo.workers.evaluator import Evaluator, LocalEvaluator
from connevo.workers.records import Evaluation, EvaluationRequest, TrainingSettings
from connevo.workers.tasks import Dataset, polish_dataset, polish_row_count


@dataclass(frozen=True)
class PolishReport:
    """What a polish did: networks polished (and failed), epochs each, rows trained on, the
    training compute in sample-epochs (rows x epochs, summed), and the polish's wall time in
    seconds (not the sum of its networks' training times: networks of one bucket train together,
    and each one's time is the bucket's)."""

    polished: int
    failed: int
    epochs: int
    rows: int
    sample_epochs: int
    seconds: float
    parts: str = "training + validation"  # the rows' parts (training.polish_rows "all": "... + test")

    def line(self) -> str:
        failed = f" ({self.failed} failed and kept as they were)" if self.failed else ""
        return (f"polish: {self.polished} front networks trained {self.epochs} more epochs on {self.rows} rows "
                f"({self.parts}){failed}: {self.sample_epochs:,} sample-epochs, {self.seconds:.1f} s")


def is_polished(store: BaseStore, campaign_id: str) -> bool:
    """Whether the campaign's front was polished already (at least once)."""
    return bool(queries.polished(store.candidates(campaign_id, genomes=False)).any())


def polish_front(
    store: BaseStore,
    campaign_id: str,
    dataset: Dataset,
    settings: TrainingSettings,
    epochs: int,
    *,
    objectives: tuple[str, ...] = queries.DEFAULT_OBJECTIVES,
    senses: tuple[str, ...] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    evaluator: Evaluator | None = None,
) -> PolishReport | None:
    """Polish the front of a campaign (id) over ``objectives``; returns what was done, or None
    when every member of its front is polished already.

    Each front member that evolution made (not a compressed one) continues training from its
    weights for ``epochs`` epochs on the rows ``settings.polish_rows`` names
    (:func:`workers.tasks.polish_dataset`), with its own seed (the same
    mini-batch order wherever it runs): on the workers of ``evaluator`` where it offers them
    (:meth:`Evaluator.polishing`: the campaign's Ray workers), else in this process; the same
    results either way (the batched trainer: a result does not depend on which networks train
    together, nor where). ``on_progress(done, total)`` before the first chunk and after each one.
    """
    # a polished copy is on the front in place of its source: the members left are the unpolished ones
    members = queries.front(store, campaign_id, objectives, senses=senses, genomes="columns")
    members = members[members["number"] >= 0].to_dict("records")
    if not members and is_polished(store, campaign_id):
        return None
    with_test = settings.polish_rows == "all"
    n_rows = polish_row_count(dataset, settings.polish_rows)
    # on the workers' devices, or on this process's GPU where it polishes and has one (unless the spec asks for the CPU)
    device = "cpu" if settings.device == "cpu" else "auto"
    polishing = replace(settings, patience=None, structure_hints=False, rewire_fraction=0.0, device=device)
    requests = [
        EvaluationRequest(str(m["candidate_id"]), Genome.from_dict(m["genome"]), int(m["seed"]),
                          costs=_costs(m), epochs=epochs, warm_start=True)
        for m in members
    ]
    done = 0
    if on_progress is not None:
        on_progress(0, len(requests))

    def progress(batch: list[Evaluation]) -> None:
        nonlocal done
        done += len(batch)
        if on_progress is not None:
            on_progress(done, len(requests))

    began = time.perf_counter()
    workers = evaluator.polishing(polishing) if evaluator is not None else None
    if workers is not None:
        evaluations = workers.evaluate(requests, progress)
    else:
        with LocalEvaluator(polish_dataset(dataset, polishing.polish_rows), polishing) as local:  # the only copy
            evaluations = local.evaluate(requests, progress)
    seconds = time.perf_counter() - began
    first_number = next_derived_number(store.candidates(campaign_id, genomes=False, columns=["number"])["number"])
    rows = []
    for member, evaluation in zip(members, evaluations):
        if evaluation.ok:
            rows.append(_polished_row(campaign_id, first_number - len(rows), member, evaluation, n_rows, with_test))
    store.add_candidates(campaign_id, rows)
    return PolishReport(
        polished=len(rows),
        failed=len(evaluations) - len(rows),
        epochs=epochs,
        rows=n_rows,
        sample_epochs=sum(e.epochs for e in evaluations) * polishing.rows_per_epoch(n_rows),
        seconds=seconds,
        parts="training + validation + test" if with_test else "training + validation",
    )


def polish_campaign(store: BaseStore, id_or_name: str, epochs: int | None = None) -> PolishReport | None:
    """Polish a stored campaign's front (``connevo polish``): over its objectives, with its data
    and training settings; ``epochs`` None: the spec's ``training.polish_epochs``, else
    :func:`evolution.task.default_polish_epochs`. None when it was polished already."""
    from connevo.evolution.spec import parse_spec
    from connevo.evolution.task import default_polish_epochs, load_task, training_settings

    info = store.get_campaign(id_or_name)
    if info["status"] != "finished":
        raise ConnevoError(f"campaign {info['id']} ({info['name']!r}) is {info['status']}: only a finished campaign's "
                           "front is polished (`connevo resume` finishes it, with its polish)")
    spec = parse_spec(info["spec"])
    dataset = load_task(spec)
    settings = training_settings(spec, dataset)
    if epochs is None:
        epochs = spec.training.polish_epochs or default_polish_epochs(spec, dataset)
    if epochs <= 0:
        raise ConnevoError(f"epochs must be a positive number of polish epochs, got {epochs}")
    return polish_front(store, info["id"], dataset, settings, epochs,
                        objectives=tuple(spec.objectives.names), senses=tuple(spec.objectives.senses))


def _stored(value: Any) -> float | None:
    """A front row's metric as a float, None where it has none (NaN in the frame: a regression's accuracy)."""
    return None if value is None or pd.isna(value) else float(value)


def _polished_row(campaign_id: str, number: int, member: dict[str, Any], e: Evaluation, n_rows: int,
                  with_test: bool) -> dict[str, Any]:
    """The polished copy of front ``member``: its own training scores, its source's validation
    scores, and its own test scores unless it trained on the test rows (``with_test``)."""
    assert e.trained_genome is not None
    sourced = ("val", "test") if with_test else ("val",)  # the parts whose scores stay the source's
    extra = dict(member["extra"]) if isinstance(member.get("extra"), dict) else {}  # computed metrics
    if e.scores:
        extra.update({name: v for name, v in e.scores.items() if name.split("_", 1)[0] not in sourced})
    if e.confusion:
        extra.update({m.name: value_of(e, m.name) for m in metrics() if m.confusion is not None and m.part not in sourced})
        if isinstance(extra.get(CONFUSION), dict):
            own = {part: e.confusion[part] for part in ("train", "test") if part not in sourced}
            extra[CONFUSION] = {**extra[CONFUSION], **own}
    test_accuracy, test_loss = ((_stored(member["test_accuracy"]), _stored(member["test_loss"])) if with_test
                                else (e.test_accuracy, e.test_loss))
    return {
        "id": f"{campaign_id}-p{-number}",
        "campaign_id": campaign_id,
        "number": number,
        "generation": int(member["generation"]),
        "parents": [member["candidate_id"]],
        "genome": stored_genome(e.trained_genome),
        "status": "ok",
        "seed": int(member["seed"]),
        "epochs": e.epochs,
        "seconds": e.seconds,
        **e.costs,
        "train_accuracy": e.train_accuracy,
        "train_loss": e.train_loss,
        "test_accuracy": test_accuracy,
        "test_loss": test_loss,
        "val_accuracy": _stored(member["val_accuracy"]),
        "val_loss": _stored(member["val_loss"]),
        "train_val_gap": None,  # it trained on the validation rows
        "train_test_gap": None if with_test or e.train_accuracy is None or e.test_accuracy is None
        else e.train_accuracy - e.test_accuracy,
        "extra": {
            **extra,
            POLISHED_FROM: member["candidate_id"],
            "validation_from": member["candidate_id"],
            **({"test_from": member["candidate_id"]} if with_test else {}),
            "polish_epochs": e.epochs,
            "polish_rows": n_rows,
        },
    }


def _costs(member: dict[str, Any]) -> dict[str, Any]:
    """The member's stored costs (the topology does not change): the worker need not measure."""
    return {name: member[name] for name in CostMetrics.__dataclass_fields__}


__all__ = ["POLISHED_FROM", "PolishReport", "is_polished", "polish_campaign", "polish_front", "polish_dataset"]
