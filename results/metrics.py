"""The registry of metrics: every number a candidate carries, with its direction, where it comes
from, the kind of task it belongs to, and whether a campaign may select on it.

One entry per metric is the single list that the spec's objectives, selection, the hypervolume's
reference point, sorting and front queries read (``results.pareto.OBJECTIVE_SENSES`` is derived
from it). Adding an objective is one :func:`register_metric` call: one the workers measure, a
function of the candidate's genome (``compute``), of the confusion matrix the workers measure on
each data part (``confusion``: balanced accuracy and macro F1 are two), or of the predictions
(``predictions``: ROC AUC, log loss, and a regression's R^2, MSE and MAE).

A metric belongs to a task ``kind`` (:data:`KINDS`): accuracies, confusion metrics and
probability metrics to classification, R^2/MSE/MAE to regression; costs, losses and seconds to
both (``kind`` None). A campaign measures, selects on and shows the metrics of its own kind.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from connevo.errors import SpecError

Sense = Literal["max", "min"]
Source = Literal["score", "cost", "derived"]
Kind = Literal["classification", "regression"]

KINDS: tuple[Kind, ...] = ("classification", "regression")
"""The kinds of task (``task.kind``): class labels, or a continuous target."""


@dataclass(frozen=True)
class Metric:
    """One metric. ``source``: "score" (measured on data by the training: an attribute of the
    evaluation), "cost" (counted on the genome: a key of the evaluation's costs) or "derived"
    (computed from others when stored, e.g. the train/validation gap). ``objective``: a campaign
    may select on it (``objectives.maximize`` / ``minimize`` by its sense); ``compute`` gives a
    metric the workers do not measure from the candidate's genome. A cost objective's
    hypervolume reference is ``reference_factor`` x its value on the fully connected
    input-to-output network; a score's reference and ideal are ``worst`` and ``best`` (or
    ``worst_of`` the campaign's data). ``kind``: the task kind it belongs to (None: every kind)."""

    name: str
    sense: Sense
    source: Source
    description: str
    objective: bool = False
    worst: float | None = None
    best: float | None = None
    reference_factor: float = 2.0
    compute: Callable[[Any], float] | None = None
    """For a metric the workers do not measure: its value from a candidate's genome (computed on
    the driver, stored under the candidate's ``extra``)."""
    reference: Callable[[Any], float] | None = None
    """For a cost objective that the fully connected input-to-output network does not have
    (hidden neurons, depth beyond one): its scale from the campaign's spec instead, the most its
    search space allows (the hypervolume's reference is ``reference_factor`` x that)."""
    confusion: Callable[[np.ndarray], float] | None = None
    """For a score derived from predictions: its value from the confusion matrix (``[true][predicted]``
    counts) the workers measure on the part its name starts with (``val_``, ``test_``, ``train_``);
    stored under the candidate's ``extra``."""
    predictions: Callable[[np.ndarray, np.ndarray], float] | None = None
    """For a score of the predictions: ``fn(y_true, y_score)``, called by the worker on the part
    its name starts with, after training, as scikit-learn's metrics take them. Classification:
    ``y_true`` the class indices, ``y_score`` the probability of class 1 for a two-class task
    (rows,), else every class's (rows, classes). Regression: ``y_true`` and ``y_score`` (the
    prediction) in the target's original units, (rows,) each. Stored under the candidate's ``extra``."""
    predictions_many: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
    """Optionally, ``predictions`` of many candidates at once: ``fn(y_true, y_scores)`` with
    ``y_scores`` the candidates' ``y_score`` stacked (candidates first), giving each one's value,
    bit for bit what ``predictions`` gives it (the workers score a stack of candidates)."""
    kind: Kind | None = None
    """The task kind the metric belongs to; None: every kind (costs, losses, seconds)."""
    worst_of: Callable[[Any], float] | None = None
    """For a score whose worst value depends on the campaign's data: that value from the
    campaign's data set (a :class:`workers.tasks.Dataset`), taking the place of ``worst`` as the
    hypervolume's reference (log loss: ln of the class count, a uniform prediction's loss)."""

    @property
    def part(self) -> str:
        """The data part a confusion metric is measured on: the first word of its name."""
        return self.name.split("_", 1)[0]


_REGISTRY: dict[str, Metric] = {}


def register_metric(metric: Metric) -> Metric:
    """Add ``metric`` to the registry; returns it."""
    if not metric.name.isidentifier():
        raise ValueError(f"a metric's name must be an identifier (it is a column and a spec value), got {metric.name!r}")
    if metric.name in _REGISTRY:
        raise ValueError(f"a metric named {metric.name!r} is registered already")
    if metric.sense not in ("max", "min"):
        raise ValueError(f"metric {metric.name!r}: sense must be 'max' or 'min', got {metric.sense!r}")
    if (metric.confusion is not None or metric.predictions is not None) and metric.part not in ("train", "val", "test"):
        raise ValueError(f"metric {metric.name!r} is measured on data: its name must start with train_, val_ or "
                         "test_ (its data part)")
    if metric.objective and metric.source == "score" and (
            (metric.worst is None and metric.worst_of is None) or metric.best is None):
        raise ValueError(f"score objective {metric.name!r} needs its worst and best values (the hypervolume's bounds)")
    if metric.kind is not None and metric.kind not in KINDS:
        raise ValueError(f"metric {metric.name!r}: kind must be one of {', '.join(KINDS)} or None, got {metric.kind!r}")
    _REGISTRY[metric.name] = metric
    return metric


def metric(name: str) -> Metric:
    """The registered metric ``name`` (a :class:`SpecError` naming the known ones otherwise)."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise SpecError(f"unknown metric {name!r}; known: {', '.join(_REGISTRY)}") from None


def metrics() -> tuple[Metric, ...]:
    """Every registered metric, in registration order."""
    return tuple(_REGISTRY.values())


def applies(m: Metric, kind: str | None) -> bool:
    """Whether metric ``m`` is measured for a task of ``kind`` (None: any kind)."""
    return kind is None or m.kind is None or m.kind == kind


def objective_names(sense: Sense, kind: str | None = None) -> tuple[str, ...]:
    """The metrics a campaign (of task ``kind``; None: any) may maximize (``"max"``) or minimize (``"min"``)."""
    return tuple(m.name for m in _REGISTRY.values() if m.objective and m.sense == sense and applies(m, kind))


DEFAULT_OBJECTIVES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "classification": (("val_accuracy",), ("connections",)),
    "regression": (("val_r2",), ("connections",)),
}
"""(maximized, minimized) objectives of a campaign whose spec names none, by task kind."""

HEADLINE: dict[str, tuple[str, ...]] = {
    "classification": ("val_accuracy", "val_loss", "test_accuracy", "train_accuracy"),
    "regression": ("val_r2", "val_mse", "test_r2", "test_mse", "train_r2"),
}
"""The scores tables show first (fronts, trackers, compression), by task kind."""


def worst_value(m: Metric, dataset: Any = None) -> float:
    """The worst value of score ``m`` (its hypervolume reference): ``worst_of`` the campaign's
    ``dataset`` when it has one and a data set is given, else ``worst`` (0 when unset)."""
    if m.worst_of is not None and dataset is not None:
        return float(m.worst_of(dataset))
    if m.worst is None and m.worst_of is not None:
        raise ValueError(f"the worst value of metric {m.name!r} depends on the campaign's data set; give it")
    return float(m.worst or 0.0)


class _Senses(Mapping[str, str]):
    """A live read-only view: metric name -> sense, including metrics registered later."""

    def __getitem__(self, name: str) -> str:
        return _REGISTRY[name].sense

    def __iter__(self) -> Iterator[str]:
        return iter(_REGISTRY)

    def __len__(self) -> int:
        return len(_REGISTRY)


SENSES: Mapping[str, str] = _Senses()
"""Every registered metric's sense by name (a live view of the registry)."""


def value_of(evaluation: Any, name: str, genome: Any = None) -> float:
    """The value of metric ``name`` for an evaluation (a score attribute or a cost), or computed
    from ``genome`` for a metric with ``compute``."""
    m = metric(name)
    if m.compute is not None:
        return float(m.compute(genome))
    if m.confusion is not None:
        matrices = getattr(evaluation, "confusion", None) or {}
        if m.part not in matrices:
            raise ValueError(f"metric {name!r} needs the {m.part} confusion matrix, which this evaluation lacks")
        return float(m.confusion(np.asarray(matrices[m.part], dtype=np.float64)))
    if m.predictions is not None:
        scores = getattr(evaluation, "scores", None) or {}
        if name not in scores:
            raise ValueError(f"metric {name!r} is measured by the workers, and this evaluation lacks it")
        return float(scores[name])
    measured = getattr(evaluation, "scores", None) or {}
    if name in measured:  # measured by the worker after training (latency_us)
        return float(measured[name])
    if m.source == "cost":
        costs: Mapping[str, Any] = evaluation.costs
        return float(costs[name])
    return float(getattr(evaluation, name))


def _dense_bytes(genome: Any) -> float:
    from connevo.search_space.cost import dense_bytes  # imported when used: results needs no search space

    return dense_bytes(genome)


def balanced_accuracy(confusion: np.ndarray) -> float:
    """The mean recall over the classes present (scikit-learn's ``balanced_accuracy_score``)."""
    support = confusion.sum(axis=1)
    present = support > 0
    return float(np.mean(np.diag(confusion)[present] / support[present])) if present.any() else 0.0


# The workers measure these for every candidate after its training. They are written here in
# numpy, to scikit-learn's definitions, because scikit-learn's functions spend 1-2 ms a call
# validating their input: with AUC and log loss on two parts that was 8 ms a candidate, more
# than training a small network on a small data set. The tests check them against scikit-learn.


def roc_auc(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Area under the ROC curve: of the class-1 probability for two classes, else one class
    against the rest, averaged over the classes (scikit-learn's ``roc_auc_score``, ``"ovr"``,
    macro average); NaN when the rows hold a single class or lack one."""
    y_true = np.asarray(y_true)
    y_score = np.asarray(y_score, dtype=np.float64)
    if y_score.ndim == 1:
        return float(_binary_aucs(y_true[:, None] == 1, y_score[:, None])[0])
    classes = np.arange(y_score.shape[1])
    return float(np.mean(_binary_aucs(y_true[:, None] == classes, y_score)))  # NaN when any class is absent


def roc_auc_many(y_true: np.ndarray, y_scores: np.ndarray) -> np.ndarray:
    """:func:`roc_auc` of each of many candidates' scores (``y_scores``: theirs stacked, ``(C,
    rows)`` or ``(C, rows, classes)``), every column of every candidate in one sort: the same
    areas, each column's rank sum being exact whatever the others."""
    y_true = np.asarray(y_true)
    scores = np.asarray(y_scores, dtype=np.float64)
    count, rows = scores.shape[0], scores.shape[1]
    if scores.ndim == 2:
        return _binary_aucs(np.broadcast_to((y_true == 1)[:, None], (rows, count)), scores.T)
    classes = scores.shape[2]
    columns = scores.transpose(1, 0, 2).reshape(rows, count * classes)
    positive = np.tile(y_true[:, None] == np.arange(classes), (1, count))
    areas: np.ndarray = np.mean(_binary_aucs(positive, columns).reshape(count, classes), axis=1)
    return areas


def _binary_aucs(positive: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Each column's Mann-Whitney form of the ROC area: the chance that a positive row scores
    above a negative one, ties counting a half (average ranks); NaN for a column whose rows are
    all positive or all negative. All columns in one sort: the workers score every candidate's
    predicted probabilities of every class. The rank sums are sums of half-integers, exact in
    float64, so the areas are those of one column at a time."""
    n_pos = positive.sum(axis=0)
    n_neg = len(positive) - n_pos
    scores = np.ascontiguousarray(scores.T)
    order = np.argsort(scores, axis=1, kind="stable")
    ranks = _average_ranks(np.take_along_axis(scores, order, axis=1))
    rank_sums = np.where(np.take_along_axis(positive.T, order, axis=1), ranks, 0.0).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        areas = (rank_sums - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return np.where((n_pos == 0) | (n_neg == 0), np.nan, areas)


def _average_ranks(ordered: np.ndarray) -> np.ndarray:
    """The ranks 1..n of each row of sorted values, tied values sharing their average rank
    (scipy's ``rankdata``, at a fraction of its cost on a few hundred values)."""
    n = ordered.shape[1]
    position = np.arange(n)
    starts = np.ones(ordered.shape, dtype=bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    ends = np.ones(ordered.shape, dtype=bool)
    ends[:, :-1] = starts[:, 1:]
    first = np.maximum.accumulate(np.where(starts, position, 0), axis=1)
    last = np.minimum.accumulate(np.where(ends, position, n)[:, ::-1], axis=1)[:, ::-1]
    return (first + last) / 2 + 1


def register_prediction_metric(name: str, fn: Callable[[np.ndarray, np.ndarray], float], *, sense: Sense = "max",
                               worst: float | None = None, best: float | None = None,
                               description: str | None = None, kind: Kind = "classification"
                               ) -> tuple[Metric, Metric]:
    """Register a metric of the predictions, ``fn(y_true, y_score) -> float``, as
    ``val_<name>`` (an objective: selection may use it) and ``test_<name>`` (reported); the
    workers measure both after every training of a task of ``kind`` (classification: of the
    predicted probabilities; regression: of the predicted values, see :attr:`Metric.predictions`).
    Its hypervolume bounds default to [0, 1] (worst
    0 and best 1 when maximized, the reverse when minimized). Registering the same function
    again returns the metrics already there; another function under a taken name is an error."""
    if not callable(fn):
        raise ValueError(f"metric {name!r}: expected a function fn(y_true, y_score) -> float, got {type(fn).__name__}")
    if not name.isidentifier() or name.startswith(("val_", "test_", "train_")):
        raise ValueError(f"metric name {name!r}: give an identifier without a part prefix (val_{name} and "
                         f"test_{name} are registered)" if name.isidentifier() else
                         f"metric name {name!r} must be an identifier")
    if sense not in ("max", "min"):
        raise ValueError(f"metric {name!r}: sense must be 'max' or 'min', got {sense!r}")
    if kind not in KINDS:
        raise ValueError(f"metric {name!r}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    worst = (0.0 if sense == "max" else 1.0) if worst is None else float(worst)
    best = (1.0 if sense == "max" else 0.0) if best is None else float(best)
    if not (best > worst if sense == "max" else best < worst):
        raise ValueError(f"metric {name!r} ({sense}): best ({best}) must be better than worst ({worst})")
    existing = [_REGISTRY.get(f"{part}_{name}") for part in ("val", "test")]
    if all(m is not None and m.predictions is fn for m in existing):
        return existing[0], existing[1]  # type: ignore[return-value]
    if any(m is not None for m in existing):
        raise ValueError(f"a metric named val_{name} or test_{name} is registered already (with another function)")
    of = "predicted probabilities" if kind == "classification" else "predicted values"
    text = description or f"{name} of the {of} (the user's function)"
    return (register_metric(Metric(f"val_{name}", sense, "score", f"{text}, on the validation rows", objective=True,
                                   worst=worst, best=best, predictions=fn, kind=kind)),
            register_metric(Metric(f"test_{name}", sense, "score", f"{text}, on the test rows", worst=worst,
                                   best=best, predictions=fn, kind=kind)))


def prediction_metrics(kind: str | None = None) -> tuple[Metric, ...]:
    """The registered metrics of the predictions (the workers measure these), of a task of
    ``kind`` (None: every kind)."""
    return tuple(m for m in _REGISTRY.values() if m.predictions is not None and applies(m, kind))


def log_loss(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """The mean negative log-likelihood of the true classes (scikit-learn's ``log_loss``, with
    every class of the task as its labels; probabilities clipped to [eps, 1 - eps] of their
    float type): the cross-entropy the network trained on."""
    y_true = np.asarray(y_true).astype(np.int64)
    y_score = np.asarray(y_score)
    eps = np.finfo(y_score.dtype).eps if y_score.dtype.kind == "f" else np.finfo(np.float64).eps
    if y_score.ndim == 1:
        scores = y_score.astype(np.float64)
        truth = np.where(y_true == 1, scores, 1.0 - scores)
    else:  # a float32 softmax sums to 1 only within its rounding: renormalized, as scikit-learn does
        rows = np.clip(y_score.astype(np.float64), eps, 1 - eps)
        rows = rows / rows.sum(axis=1, keepdims=True)
        truth = rows[np.arange(len(y_true)), y_true]
    return float(np.mean(-np.log(np.clip(truth, eps, 1 - eps))))


def uniform_log_loss(dataset: Any) -> float:
    """ln(number of classes): the log loss of predicting every class alike, the worst a network
    that learned anything beats (the hypervolume's reference of log loss)."""
    return math.log(max(2, int(dataset.n_classes)))


def r2(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """The coefficient of determination (scikit-learn's ``r2_score``): 1 - MSE / variance of the
    rows' targets; 0 for predicting their mean, negative below that (rows of one target value:
    1 when predicted exactly, else 0, as scikit-learn)."""
    y_true = np.asarray(y_true, dtype=np.float64)
    residual = float(np.sum((y_true - np.asarray(y_pred, dtype=np.float64)) ** 2))
    total = float(np.sum((y_true - y_true.mean()) ** 2))
    if total == 0.0:
        return 1.0 if residual == 0.0 else 0.0
    return 1.0 - residual / total


def mse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """The mean squared error, in the target's units squared (scikit-learn's ``mean_squared_error``)."""
    return float(np.mean((np.asarray(y_true, dtype=np.float64) - np.asarray(y_pred, dtype=np.float64)) ** 2))


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """The mean absolute error, in the target's units (scikit-learn's ``mean_absolute_error``)."""
    return float(np.mean(np.abs(np.asarray(y_true, dtype=np.float64) - np.asarray(y_pred, dtype=np.float64))))


def target_variance(dataset: Any) -> float:
    """The MSE of predicting the training rows' mean target on the training rows: the variance
    of the training targets, in the target's units squared (``y_std`` squared)."""
    return float(dataset.y_std) ** 2


def target_mean_absolute_deviation(dataset: Any) -> float:
    """The MAE of predicting the training rows' mean target on the training rows, in the
    target's units (about 0.8 ``y_std`` for a normal target)."""
    return float(dataset.y_std) * float(np.mean(np.abs(np.asarray(dataset.y_train, dtype=np.float64))))


def macro_f1(confusion: np.ndarray) -> float:
    """The mean F1 over the classes that are true or predicted at least once (scikit-learn's
    ``f1_score(average="macro")``, a class never predicted and never true left out)."""
    tp = np.diag(confusion)
    denominator = confusion.sum(axis=0) + confusion.sum(axis=1)  # 2tp + fp + fn
    present = denominator > 0
    return float(np.mean(2 * tp[present] / denominator[present])) if present.any() else 0.0


_CLASSES: Kind = "classification"
_REGRESSION: Kind = "regression"
_LOSS = ("the training loss on {}: cross-entropy (classification), the mean squared error of the standardized "
         "target (regression)")

for _metric in (
    Metric("val_accuracy", "max", "score", "accuracy on the validation rows (selection's)", objective=True,
           worst=0.0, best=1.0, kind=_CLASSES),
    Metric("test_accuracy", "max", "score", "accuracy on the test rows (reported, never selected on)", kind=_CLASSES),
    Metric("train_accuracy", "max", "score", "accuracy on the training rows", kind=_CLASSES),
    Metric("val_loss", "min", "score", _LOSS.format("the validation rows") + "; decides accuracy ties"),
    Metric("test_loss", "min", "score", _LOSS.format("the test rows")),
    Metric("train_loss", "min", "score", _LOSS.format("the training rows")),
    Metric("connections", "min", "cost", "weights on an input-to-output path", objective=True),
    Metric("params", "min", "cost", "own weights + one per weight-sharing group + live biases", objective=True),
    Metric("flops", "min", "cost", "forward multiply-adds x 2 per sample", objective=True),
    Metric("wiring_length", "min", "cost", "sum of squared neuron distances over connections", objective=True),
    Metric("depth", "min", "cost", "longest input-to-output path, in connections", objective=True,
           reference=lambda spec: spec.search_space.max_hidden_nodes + 1.0, reference_factor=1.0),
    Metric("hidden_nodes", "min", "cost", "live hidden neurons", objective=True,
           reference=lambda spec: max(1.0, float(spec.search_space.max_hidden_nodes)), reference_factor=1.0),
    Metric("modularity", "max", "cost", "Newman's Q of the live network (Louvain, igraph)"),
    Metric("bytes", "min", "cost", "float32 bytes of the network as a dense deployment holds it: per layer, a "
           "matrix from every earlier neuron, and biases", objective=True, compute=_dense_bytes),
    # a time, so the one objective a seed does not fix (workers/latency.py); 1 ms, the reference of
    # its hypervolume, is about 20x what a small network takes: a slower one adds nothing
    Metric("latency_us", "min", "score", "median microseconds of one single-row CPU inference of the compiled "
           "network on one thread, measured by the worker (when an objective or training.measure_latency)",
           objective=True, worst=1000.0, best=0.0),
    Metric("seconds", "min", "score", "training wall time"),
    Metric("train_val_gap", "min", "derived", "train_accuracy - val_accuracy", kind=_CLASSES),
    Metric("train_test_gap", "min", "derived", "train_accuracy - test_accuracy", kind=_CLASSES),
):
    register_metric(_metric)

for _part, _role in (("val", "the validation rows (selection's)"), ("test", "the test rows"),
                     ("train", "the training rows")):
    register_metric(Metric(f"{_part}_balanced_accuracy", "max", "score",
                           f"mean per-class recall on {_role}: accuracy that imbalanced classes cannot flatter",
                           objective=_part == "val", worst=0.0, best=1.0, confusion=balanced_accuracy, kind=_CLASSES))
    register_metric(Metric(f"{_part}_macro_f1", "max", "score", f"mean per-class F1 on {_role}",
                           objective=_part == "val", worst=0.0, best=1.0, confusion=macro_f1, kind=_CLASSES))

for _part, _role in (("val", "the validation rows (selection's)"), ("test", "the test rows")):
    register_metric(Metric(f"{_part}_auc", "max", "score",
                           f"ROC AUC on {_role} (several classes: one against the rest, averaged)",
                           objective=_part == "val", worst=0.0, best=1.0, predictions=roc_auc,
                           predictions_many=roc_auc_many, kind=_CLASSES))
for _part, _role in (("val", "the validation rows (selection's)"), ("test", "the test rows")):
    # worst: a uniform prediction's loss, ln(classes); a network that learned nothing scores about that
    register_metric(Metric(f"{_part}_log_loss", "min", "score",
                           f"log loss (mean cross-entropy) of the predicted probabilities on {_role}",
                           objective=_part == "val", worst_of=uniform_log_loss, best=0.0, predictions=log_loss,
                           kind=_CLASSES))

# Regression: scores of the predictions in the target's original units (the network trains on the
# standardized target; its exports predict in the original units). Hypervolume bounds: R^2 from 0
# (predicting the mean) to 1; MSE and MAE from what predicting the training mean scores on the
# training rows (the target's variance; its mean absolute deviation, about 0.8 of its standard
# deviation) to 0. A network worse than predicting the mean adds nothing to the hypervolume.
for _part, _role in (("val", "the validation rows (selection's)"), ("test", "the test rows"),
                     ("train", "the training rows")):
    register_metric(Metric(f"{_part}_r2", "max", "score", f"R^2 (coefficient of determination) on {_role}",
                           objective=_part == "val", worst=0.0, best=1.0, predictions=r2, kind=_REGRESSION))
    register_metric(Metric(f"{_part}_mse", "min", "score",
                           f"mean squared error on {_role}, in the target's units squared",
                           objective=_part == "val", worst_of=target_variance, best=0.0, predictions=mse,
                           kind=_REGRESSION))
    register_metric(Metric(f"{_part}_mae", "min", "score", f"mean absolute error on {_role}, in the target's units",
                           objective=_part == "val", worst_of=target_mean_absolute_deviation, best=0.0,
                           predictions=mae, kind=_REGRESSION))


__all__ = ["DEFAULT_OBJECTIVES", "HEADLINE", "KINDS", "SENSES", "Kind", "Metric", "applies", "balanced_accuracy",
           "log_loss", "macro_f1", "mae", "metric", "metrics", "mse", "objective_names", "prediction_metrics", "r2",
           "register_metric", "register_prediction_metric", "roc_auc", "roc_auc_many", "target_mean_absolute_deviation",
           "target_variance", "uniform_log_loss", "value_of", "worst_value"]
