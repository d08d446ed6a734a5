"""Read what a stack learned: per-candidate accuracy and loss, the prediction metrics, and the
trained genomes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from connevo.search_space.genome import Genome, NodeGene
from connevo.workers import invariant
from connevo.workers.kernels import Autocast
from connevo.workers.losses import LOSSES, TaskLoss
from connevo.workers.plans import Plan
from connevo.workers.stack import Stack

__all__ = ["SCORE_ROWS", "StackArrays", "prediction_scores", "score", "stack_arrays", "stack_prediction_scores",
           "trained_genome"]

SCORE_ROWS = 8192
"""Rows scored per forward pass when measuring accuracy and loss (bounds memory)."""

StackArrays = tuple[list[tuple[np.ndarray | None, np.ndarray | None]], list[np.ndarray]]
"""Per level, the (x, h) effective weight blocks ``(C, in, W)``; per level, the biases ``(C, W)``."""


def score(stack: Stack, x: torch.Tensor, y: torch.Tensor, autocast: Autocast, n_classes: int | None = None,
          probabilities: list[np.ndarray] | None = None, loss: TaskLoss = LOSSES["classification"]
          ) -> tuple[list[float | None], list[float], list[list[list[int]]] | None]:
    """Per candidate (accuracy, mean loss) on ``x``, ``y``, accuracy as count / rows (None for a
    task without classes: a regression), the loss of the task's kind (``loss``,
    :mod:`workers.losses`); with ``n_classes``, also its confusion matrix (``[true class][predicted
    class]`` counts), from which :mod:`results.metrics` derives balanced accuracy, macro F1 and the
    like. Given a list as ``probabilities``, appends what each candidate's prediction metrics
    read (:meth:`TaskLoss.predictions`): its class probabilities ``(rows, classes)``, or its
    standardized predictions ``(rows,)`` for a regression."""
    c = len(stack.keys)
    kept: list[torch.Tensor] = []
    losses, correct = [], torch.zeros(c, dtype=torch.long, device=x.device)
    classified = False
    confusion = None if n_classes is None else torch.zeros(c * n_classes * n_classes, dtype=torch.long,
                                                           device=x.device)
    with torch.no_grad():
        for begin in range(0, x.shape[0], SCORE_ROWS):
            xb, yb = x[begin : begin + SCORE_ROWS], y[begin : begin + SCORE_ROWS]
            with autocast():
                outputs = stack.forward(xb.expand(c, *xb.shape))
            outputs = outputs.float()
            losses.append(loss.rows(outputs, yb))
            if probabilities is not None:  # detached: a network without connections outputs its bias parameter
                kept.append(loss.predictions(outputs).detach())
            predicted = loss.predicted_class(outputs)
            if predicted is None:
                continue
            classified = True
            correct += (predicted == yb).sum(dim=1)
            if confusion is not None and n_classes is not None:
                cell = (torch.arange(c, device=x.device)[:, None] * n_classes + yb) * n_classes + predicted
                confusion += torch.bincount(cell.flatten(), minlength=confusion.numel())
        every_loss = losses[0] if len(losses) == 1 else torch.cat(losses, dim=1)
        if invariant.uses_invariant_reductions(x.device):
            mean_loss = invariant.pairwise_mean(every_loss, 1)
        else:
            mean_loss = every_loss.mean(dim=1)
    if probabilities is not None:
        every = (kept[0] if len(kept) == 1 else torch.cat(kept, dim=1)).double().cpu().numpy()
        probabilities.extend(every[i] for i in range(c))
    n = x.shape[0]
    matrices = None if confusion is None or not classified else confusion.view(c, n_classes, n_classes).tolist()
    accuracies: list[float | None] = [k / n for k in correct.tolist()] if classified else [None] * c
    return accuracies, mean_loss.tolist(), matrices


def prediction_scores(metrics: tuple, y: dict[str, np.ndarray], probabilities: dict[str, np.ndarray],
                      original: Callable[[np.ndarray], np.ndarray] | None = None) -> dict[str, float]:
    """Each prediction metric (``fn(y_true, y_score)``) of one candidate, on its part's rows.
    Classification: ``y_score`` is the class-1 probability for two classes, else every class's.
    Regression (``original`` given: standardized values to the target's units): ``y_true`` and
    ``y_score`` (the predictions) in the target's original units."""
    return {m.name: _score(m, y[m.part], probabilities[m.part], original) for m in metrics}


def stack_prediction_scores(metrics: tuple, y: dict[str, np.ndarray], probabilities: dict[str, list[np.ndarray]],
                            original: Callable[[np.ndarray], np.ndarray] | None = None) -> list[dict[str, float]]:
    """:func:`prediction_scores` of each of several candidates (``probabilities``: per part, one
    array per candidate): a metric with ``predictions_many`` measures them all in one call (a
    classification's ROC AUC: one sort for the stack), the others one candidate at a time."""
    count = len(next(iter(probabilities.values()), []))
    out: list[dict[str, float]] = [{} for _ in range(count)]
    for m in metrics:
        y_true, stack = y[m.part], probabilities[m.part]
        if m.predictions_many is not None and original is None and count:
            values = m.predictions_many(y_true, np.stack([_class_scores(p) for p in stack])).tolist()
        else:
            values = [_score(m, y_true, p, original) for p in stack]
        for scores, value in zip(out, values):
            scores[m.name] = float(value)
    return out


def _class_scores(p: np.ndarray) -> np.ndarray:
    """What a classification metric reads: the class-1 probability for two classes, else every class's."""
    return p[:, 1] if p.shape[1] == 2 else p


def _score(m: Any, y_true: np.ndarray, p: np.ndarray, original: Callable[[np.ndarray], np.ndarray] | None) -> float:
    if original is not None:
        return float(m.predictions(original(y_true), original(p)))
    return float(m.predictions(y_true, _class_scores(p)))


def stack_arrays(stack: Stack) -> StackArrays:
    """The weights and biases of every candidate of ``stack`` as float32 arrays on the CPU."""
    weights = [(None if wx is None else wx.float().cpu().numpy(), None if wh is None else wh.float().cpu().numpy())
               for wx, wh in stack.effective_weights()]
    biases = [lv.b.detach().float().cpu().numpy()[:, 0, :] for lv in stack.levels]
    return weights, biases


def trained_genome(plan: Plan, weights: list[tuple[np.ndarray | None, np.ndarray | None]], biases: list[np.ndarray],
                   row: int) -> Genome:
    """``plan``'s genome carrying the trained weights and biases of stack row ``row``."""
    genome = plan.request.genome
    values = np.empty(int(np.count_nonzero(genome.effective_mask)), dtype=np.float32)
    for (level, block), (index, rows, cols) in plan.export.items():
        values[index] = weights[level - 1][block][row, rows, cols]
    weight = genome.table.weight.copy()
    weight[genome.effective_mask] = values  # float32 values, held exactly as float64
    bias = {n: v for level, order in enumerate(plan.orders) for n, v in zip(order, biases[level][row].tolist())}
    nodes = tuple(
        NodeGene(n.id, n.role, n.activation, bias[n.id], n.x, n.y) if n.id in bias else n for n in genome.nodes
    )
    # the same structure: its views (live and effective rows, the layout) carry over to the hints' plan
    return genome._reweighted(nodes, weight, None)
