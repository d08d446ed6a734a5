"""Compression of trained networks (front members, usually): magnitude pruning and int8
quantization, re-measured on the campaign's data and stored as new candidates linked to their
source. A copy is scored only on the parts of the data its weights never trained on."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from connevo.errors import ConnevoError
from connevo.evolution.campaign import load_task
from connevo.evolution.candidates import next_derived_number
from connevo.evolution.spec import parse_spec
from connevo.results.pareto import POOLED_LOSS, pooled_loss, train_share
from connevo.results.queries import POLISHED_FROM
from connevo.results.storage import BaseStore
from connevo.search_space.compile import compile_genome
from connevo.search_space.cost import measure
from connevo.search_space.genome import Genome
from connevo.search_space.quantize import Int8Network
from connevo.workers.tasks import Dataset

QUANTIZATIONS = ("int8",)
TRAINED_ON_PARTS = "trained_on_parts"
"""Key of a compressed copy's ``extra``: the parts beside the training rows (``"val"``, ``"test"``)
whose rows its weights trained on, so it has no scores there (:func:`parts_trained_on`)."""
PART_NAMES = {"val": "validation", "test": "test"}
"""The parts of :data:`TRAINED_ON_PARTS`, in words."""


def parts_trained_on(source: dict[str, Any]) -> tuple[str, ...]:
    """The parts beside the training rows that ``source``'s weights trained on: a polished network
    trained on the validation rows (``"val"``), and with ``training.polish_rows = "all"`` on the
    test rows too (its test scores are its source's: ``extra["test_from"]``); a compressed copy
    inherits its source's."""
    extra = source.get("extra") if isinstance(source.get("extra"), dict) else {}
    parts = set(extra.get(TRAINED_ON_PARTS) or ())
    if extra.get(POLISHED_FROM) is not None:
        parts.add("val")
    if extra.get("test_from") is not None:
        parts.add("test")
    return tuple(p for p in ("val", "test") if p in parts)


def without_scores_on(metrics: dict[str, Any], parts: tuple[str, ...]) -> dict[str, Any]:
    """``metrics`` (:func:`evaluate_trained`'s) with every score of ``parts`` None: measured on
    rows the network trained on, they would overstate it (and put it on the front)."""
    if not parts:
        return metrics
    row = {name: (None if name.split("_", 1)[0] in parts else value) for name, value in metrics.items()
           if name != "extra"}
    row["train_val_gap"] = None if "val" in parts else row["train_val_gap"]
    row["train_test_gap"] = None if "test" in parts else row["train_test_gap"]
    extra = {name: (None if name.split("_", 1)[0] in parts else value) for name, value in metrics["extra"].items()}
    return {**row, "extra": {**extra, TRAINED_ON_PARTS: list(parts)}}


def prune(genome: Genome, fraction: float) -> Genome:
    """Remove the ``fraction`` of effective connections with the smallest trained |weight|
    (ties: lower innovation number first); at least one connection stays."""
    if not 0 <= fraction < 1:
        raise ConnevoError(f"prune fraction must be in [0, 1), got {fraction!r}")
    effective = sorted(genome.effective_connections, key=lambda c: (abs(c.weight or 0.0), c.innovation))
    if any(c.weight is None for c in effective):
        raise ConnevoError("the genome carries no trained weights; only trained candidates can be pruned")
    count = min(int(fraction * len(effective)), max(0, len(effective) - 1))
    dropped = {c.innovation for c in effective[:count]}
    return genome.with_connections([c for c in genome.connections if c.innovation not in dropped])


def evaluate_trained(genome: Genome, dataset: Dataset, quantize: str | None = None) -> dict[str, Any]:
    """Scores of a trained genome as it is (no training), optionally in int8: accuracy (a
    classification's; None for a regression) and loss on every part, as the workers define them,
    and the prediction metrics of the task's kind under ``extra`` (ROC AUC and log loss, or
    R^2, MSE and MAE in the target's units)."""
    from connevo.results.metrics import prediction_metrics
    from connevo.workers.losses import LOSSES
    from connevo.workers.scoring import prediction_scores

    regression = dataset.kind == "regression"
    net: nn.Module = compile_genome(genome, use_genome_weights=True, two_class_logits=not regression)
    net.eval()
    extra: dict[str, Any] = {"weight_bytes": 4 * measure(genome).params}
    if quantize is not None:
        if quantize not in QUANTIZATIONS:
            raise ConnevoError(f"quantize must be one of {QUANTIZATIONS}, got {quantize!r}")
        net = Int8Network(net)
        extra["weight_bytes"] = net.weight_bytes()
    loss = LOSSES[dataset.kind]
    row: dict[str, Any] = {}
    labels: dict[str, np.ndarray] = {}
    predictions: dict[str, np.ndarray] = {}
    for part, x, y in (("train", dataset.x_train, dataset.y_train), ("val", dataset.x_val, dataset.y_val),
                       ("test", dataset.x_test, dataset.y_test)):
        with torch.no_grad():
            outputs = net(torch.as_tensor(x))[None].float()  # one candidate: (1, rows, outputs)
            target = torch.as_tensor(y)
            row[f"{part}_loss"] = loss.rows(outputs, target).mean().item()
            predicted = loss.predicted_class(outputs)
            row[f"{part}_accuracy"] = None if predicted is None else (predicted[0] == target).float().mean().item()
            predictions[part] = loss.predictions(outputs)[0].detach().double().numpy()
        labels[part] = np.asarray(y)
    extra.update(prediction_scores(prediction_metrics(dataset.kind), labels, predictions,
                                   dataset.original if regression else None))
    accuracies = row["train_accuracy"], row["val_accuracy"], row["test_accuracy"]
    row["train_val_gap"] = None if None in accuracies else accuracies[0] - accuracies[1]
    row["train_test_gap"] = None if None in accuracies else accuracies[0] - accuracies[2]
    return {**row, "extra": extra}


def compress(
    store: BaseStore,
    candidate_id: str,
    *,
    prune_fraction: float = 0.0,
    quantize: str | None = None,
    dataset: Dataset | None = None,
) -> dict[str, Any]:
    """Prune and/or quantize a trained candidate, re-measure it, store it; returns the new row.

    The new candidate has id ``<campaign>-c<k>`` (the k-th compressed one) and a negative
    ``number`` (derived candidates never collide with those a campaign creates), the source as its only parent, and
    ``extra`` recording how it was made. A copy of a network that trained on the validation rows
    (a polished one, :func:`parts_trained_on`; and with ``training.polish_rows = "all"`` the test
    rows) has no scores there: measured on rows it learned from, they would overstate it, and
    its validation scores would put it on the front above the networks it was made from.
    """
    source = store.candidate(candidate_id)
    if source["status"] != "ok":
        raise ConnevoError(f"candidate {candidate_id} has status {source['status']!r}; only trained (ok) candidates can be compressed")
    if prune_fraction == 0 and quantize is None:
        raise ConnevoError("nothing to do: give a prune fraction > 0 and/or a quantization")
    campaign = store.get_campaign(source["campaign_id"])
    spec = parse_spec(campaign["spec"])
    data = dataset if dataset is not None else load_task(spec)
    genome = prune(Genome.from_dict(source["genome"]), prune_fraction)
    metrics = without_scores_on(evaluate_trained(genome, data, quantize), parts_trained_on(source))
    existing = store.candidates(campaign["id"], genomes=False, columns=["number", "extra"])  # no genome decoded
    number = next_derived_number(existing["number"])
    k = 1 + sum(1 for e in existing["extra"] if isinstance(e, dict) and "compressed_from" in e)
    costs = measure(genome).as_dict()
    if spec.objectives.rank_accuracy_by == "pooled":  # ranked on the front as every other candidate
        pooled = pooled_loss(metrics["train_loss"], metrics["val_loss"], train_share(len(data.y_train), len(data.y_val)))
        if pooled is not None:
            metrics["extra"][POOLED_LOSS] = pooled
    row = {
        "id": f"{campaign['id']}-c{k}",
        "campaign_id": campaign["id"],
        "number": number,
        "generation": int(source["generation"]),
        "parents": [candidate_id],
        "genome": genome.to_dict(),
        "status": "ok",
        "seed": int(source["seed"]),
        "epochs": 0,
        "seconds": 0.0,
        **costs,
        **{k: v for k, v in metrics.items() if k != "extra"},
        "extra": {
            **metrics["extra"],
            "compressed_from": candidate_id,
            "prune_fraction": prune_fraction,
            "quantization": quantize,
        },
    }
    store.add_candidates(campaign["id"], [row])
    return row
