"""The registry of metrics: every number a candidate carries, with its direction, where it comes
from, and whether a campaign may select on it.

One entry per metric is the single list that the spec's objectives, selection, the hypervolume's
reference point, sorting and front queries read (``results.pareto.OBJECTIVE_SENSES`` is derived
from it). Adding an objective is one :func:`register_metric` call: one the workers measure, a
function of the candidate's genome (``compute``), or a function of the confusion matrix the
workers measure on each data part (``confusion``: balanced accuracy and macro F1 are two).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from connevo.errors import SpecError

Sense = Literal["max", "min"]
Source = Literal["score", "cost", "derived"]


@dataclass(frozen=True)
class Metric:
    """One metric. ``source``: "score" (measured on data by the training: an attribute of the
    evaluation), "cost" (counted on the genome: a key of the evaluation's costs) or "derived"
    (computed from others when stored, e.g. the train/validation gap). ``objective``: a campaign
    may select on it (``objectives.maximize`` / ``minimize`` by its sense); ``compute`` gives a
    metric the workers do not measure from the candidate's genome. A cost objective's
    hypervolume reference is ``reference_factor`` x its value on the fully connected
    input-to-output network; a score's reference and ideal are ``worst`` and ``best``."""

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
    """For a score of the predicted probabilities: ``fn(y_true, y_score)``, called by the worker
    on the part its name starts with, after training. ``y_true``: the class indices; ``y_score``:
    the probability of class 1 for a two-class task (rows,), else every class's (rows, classes),
    as scikit-learn's metrics take them. Stored under the candidate's ``extra``."""

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
    if metric.objective and metric.source == "score" and (metric.worst is None or metric.best is None):
        raise ValueError(f"score objective {metric.name!r} needs its worst and best values (the hypervolume's bounds)")
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


def objective_names(sense: Sense) -> tuple[str, ...]:
    """The metrics a campaign may maximize (``"max"``) or minimize (``"min"``)."""
    return tuple(m.name for m in _REGISTRY.values() if m.objective and m.sense == sense)


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


def roc_auc(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Area under the ROC curve: of the class-1 probability for two classes, else one class
    against the rest, averaged over the classes (scikit-learn's ``roc_auc_score``); NaN when
    the rows hold a single class."""
    from sklearn.metrics import roc_auc_score

    try:
        if y_score.ndim == 1:
            return float(roc_auc_score(y_true, y_score))
        return float(roc_auc_score(y_true, y_score, multi_class="ovr", labels=np.arange(y_score.shape[1])))
    except ValueError:  # a part with a single class, or a class absent from it
        return float("nan")


def register_prediction_metric(name: str, fn: Callable[[np.ndarray, np.ndarray], float], *, sense: Sense = "max",
                               worst: float | None = None, best: float | None = None,
                               description: str | None = None) -> tuple[Metric, Metric]:
    """Register a metric of the predicted probabilities, ``fn(y_true, y_score) -> float``, as
    ``val_<name>`` (an objective: selection may use it) and ``test_<name>`` (reported); the
    workers measure both after every training. Its hypervolume bounds default to [0, 1] (worst
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
    worst = (0.0 if sense == "max" else 1.0) if worst is None else float(worst)
    best = (1.0 if sense == "max" else 0.0) if best is None else float(best)
    if not (best > worst if sense == "max" else best < worst):
        raise ValueError(f"metric {name!r} ({sense}): best ({best}) must be better than worst ({worst})")
    existing = [_REGISTRY.get(f"{part}_{name}") for part in ("val", "test")]
    if all(m is not None and m.predictions is fn for m in existing):
        return existing[0], existing[1]  # type: ignore[return-value]
    if any(m is not None for m in existing):
        raise ValueError(f"a metric named val_{name} or test_{name} is registered already (with another function)")
    text = description or f"{name} of the predicted probabilities (the user's function)"
    return (register_metric(Metric(f"val_{name}", sense, "score", f"{text}, on the validation rows", objective=True,
                                   worst=worst, best=best, predictions=fn)),
            register_metric(Metric(f"test_{name}", sense, "score", f"{text}, on the test rows", worst=worst,
                                   best=best, predictions=fn)))


def prediction_metrics() -> tuple[Metric, ...]:
    """The registered metrics of predicted probabilities (the workers measure these)."""
    return tuple(m for m in _REGISTRY.values() if m.predictions is not None)


def macro_f1(confusion: np.ndarray) -> float:
    """The mean F1 over the classes that are true or predicted at least once (scikit-learn's
    ``f1_score(average="macro")``, a class never predicted and never true left out)."""
    tp = np.diag(confusion)
    denominator = confusion.sum(axis=0) + confusion.sum(axis=1)  # 2tp + fp + fn
    present = denominator > 0
    return float(np.mean(2 * tp[present] / denominator[present])) if present.any() else 0.0


for _metric in (
    Metric("val_accuracy", "max", "score", "accuracy on the validation rows (selection's)", objective=True,
           worst=0.0, best=1.0),
    Metric("test_accuracy", "max", "score", "accuracy on the test rows (reported, never selected on)"),
    Metric("train_accuracy", "max", "score", "accuracy on the training rows"),
    Metric("val_loss", "min", "score", "cross-entropy on the validation rows (decides accuracy ties)"),
    Metric("test_loss", "min", "score", "cross-entropy on the test rows"),
    Metric("train_loss", "min", "score", "cross-entropy on the training rows"),
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
    Metric("train_val_gap", "min", "derived", "train_accuracy - val_accuracy"),
    Metric("train_test_gap", "min", "derived", "train_accuracy - test_accuracy"),
):
    register_metric(_metric)

for _part, _role in (("val", "the validation rows (selection's)"), ("test", "the test rows"),
                     ("train", "the training rows")):
    register_metric(Metric(f"{_part}_balanced_accuracy", "max", "score",
                           f"mean per-class recall on {_role}: accuracy that imbalanced classes cannot flatter",
                           objective=_part == "val", worst=0.0, best=1.0, confusion=balanced_accuracy))
    register_metric(Metric(f"{_part}_macro_f1", "max", "score", f"mean per-class F1 on {_role}",
                           objective=_part == "val", worst=0.0, best=1.0, confusion=macro_f1))

for _part, _role in (("val", "the validation rows (selection's)"), ("test", "the test rows")):
    register_metric(Metric(f"{_part}_auc", "max", "score",
                           f"ROC AUC on {_role} (several classes: one against the rest, averaged)",
                           objective=_part == "val", worst=0.0, best=1.0, predictions=roc_auc))


__all__ = ["SENSES", "Metric", "balanced_accuracy", "macro_f1", "metric", "metrics", "objective_names",
           "prediction_metrics", "register_metric", "register_prediction_metric", "roc_auc", "value_of"]
