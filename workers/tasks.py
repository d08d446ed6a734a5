"""The data sets of connevo's training tasks.

A task's data is either a built-in data set (generated from a seed, or shipped with scikit-learn)
or a user file (``.csv``, ``.npz``, ``.parquet``) with a named target column. :func:`load_dataset`
turns either into a :class:`Dataset`: a seeded train/validation/test split (stratified by class
for classification, random for regression) whose features are standardized with the training
part's statistics only, and a missing feature value (NaN) becomes the training part's mean (0
once standardized; exported models do the same). The task's ``kind`` (:data:`KINDS`) says what
the target is: class labels (classification, the default) or a continuous number (regression,
standardized with the training part's mean and standard deviation too).

Every bad input (unknown name, missing or unreadable file, missing column, non-numeric,
infinite or wholly missing features, missing labels, too few classes or rows, bad fractions, a
target that does not fit the task's kind) raises :class:`connevo.errors.DataError` with a
message that names the offending field, column or file.
"""

from __future__ import annotations

import math
import numbers
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from connevo.errors import DataError
from connevo.workers.data_files import read_npz, read_table, row_number_notes

__all__ = [
    "BUILTIN_DATASETS",
    "BUILTIN_KINDS",
    "FILE_EXTENSIONS",
    "KINDS",
    "POLISH_ROWS",
    "Dataset",
    "builtin_kind",
    "class_names_of",
    "is_builtin",
    "load_dataset",
    "polish_dataset",
    "polish_row_count",
]

POLISH_ROWS: tuple[str, ...] = ("training+validation", "all")
"""What the final polish may train on (``training.polish_rows``; :func:`polish_dataset`)."""

KINDS: tuple[str, ...] = ("classification", "regression")
"""Kinds of task: class labels, or a continuous target (``task.kind``)."""

BUILTIN_DATASETS: tuple[str, ...] = (
    "xor",
    "parity",
    "moons",
    "circles",
    "spirals",
    "digits",
    "iris",
    "wine",
    "breast_cancer",
    "retina",
    "diabetes",
)
"""Names accepted by :func:`load_dataset` without a file."""

BUILTIN_KINDS: dict[str, str] = {"diabetes": "regression"}
"""The task kind of each built-in data set that is not a classification."""


def polish_row_count(dataset: Dataset, rows: str = "training+validation") -> int:
    """The rows :func:`polish_dataset` trains on, counted without building it."""
    return len(dataset.y_train) + len(dataset.y_val) + (len(dataset.y_test) if rows == "all" else 0)


def polish_dataset(dataset: Dataset, rows: str = "training+validation") -> Dataset:
    """``dataset`` with the rows the final polish trains on (:mod:`evolution.polish`) as its
    training rows: its validation rows added to them, and with ``rows = "all"`` its test rows too
    (``training.polish_rows``). Standardization unchanged: an exported network standardizes with
    the training part's statistics."""
    if rows not in POLISH_ROWS:
        raise ValueError(f"rows must be {POLISH_ROWS[0]!r} or {POLISH_ROWS[1]!r}, got {rows!r}")
    x_parts, y_parts = [dataset.x_train, dataset.x_val], [dataset.y_train, dataset.y_val]
    if rows == "all":
        x_parts.append(dataset.x_test)
        y_parts.append(dataset.y_test)
    return replace(dataset, x_train=np.concatenate(x_parts), y_train=np.concatenate(y_parts))


def builtin_kind(name: str) -> str:
    """The task kind of built-in data set ``name``: its target's nature."""
    return BUILTIN_KINDS.get(name, "classification")

FILE_EXTENSIONS: tuple[str, ...] = (".csv", ".npz", ".parquet")
"""File extensions accepted by :func:`load_dataset` (case-insensitive)."""

_MAX_SEED = 2**32 - 1  # what sklearn's random_state accepts

# Defaults of the generated sets: (samples, noise).
_GENERATED_DEFAULTS: dict[str, tuple[int, float]] = {
    "xor": (400, 0.05),
    "parity": (512, 0.0),
    "moons": (500, 0.1),
    "circles": (500, 0.05),
    "spirals": (500, 0.1),
}
_DEFAULT_PARITY_BITS = 6
# scikit-learn is imported where it is used, not with this module: a Ray worker imports this
# module to receive its Dataset and never loads a data set (a second of import per worker)
_SKLEARN_LOADERS: dict[str, str] = {
    "digits": "load_digits",
    "iris": "load_iris",
    "wine": "load_wine",
    "breast_cancer": "load_breast_cancer",
    "diabetes": "load_diabetes",  # 442 patients, 10 features, disease progression after a year
}


@dataclass(frozen=True, eq=False)
class Dataset:
    """A task's data, split into train/validation/test and standardized.

    Features are float32 of shape ``(n, n_features)``, standardized with the training part's
    ``mean`` and ``std``. Classification (``kind``): targets are int64 class indices
    ``0..n_classes-1``, where class ``i`` is the ``i``-th of the sorted distinct target values and
    ``class_names[i]`` is its ``str()``. Regression: targets are float32, standardized with the
    training part's ``y_mean`` and ``y_std`` (the original value is ``y * y_std + y_mean``), and
    ``class_names`` is empty (``n_classes`` 0).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]
    mean: np.ndarray
    std: np.ndarray
    kind: str = "classification"
    y_mean: float = 0.0
    y_std: float = 1.0
    notes: tuple[str, ...] = ()  # what a user should know about their file (``connevo run`` prints them)

    @property
    def n_features(self) -> int:
        """Number of input features."""
        return len(self.feature_names)

    @property
    def n_classes(self) -> int:
        """Number of classes (0 for a regression)."""
        return len(self.class_names)

    @property
    def n_outputs(self) -> int:
        """Output neurons of a network for this task: one for a regression (the standardized
        prediction) and for two classes (the logit of class 1), else one per class."""
        return 1 if self.kind == "regression" or self.n_classes == 2 else self.n_classes

    def original(self, y: np.ndarray) -> np.ndarray:
        """Regression targets (or predictions) ``y`` of the standardized scale in the target's
        original units, float64."""
        return np.asarray(y, dtype=np.float64) * self.y_std + self.y_mean

    def summary(self) -> dict[str, Any]:
        """Name, feature and class counts, and the size of each part, as plain Python values
        (with the kind of task when it is a regression)."""
        summary: dict[str, Any] = {
            "name": self.name,
            "n_features": self.n_features,
            "n_classes": self.n_classes,
            "n_train": int(self.x_train.shape[0]),
            "n_val": int(self.x_val.shape[0]),
            "n_test": int(self.x_test.shape[0]),
        }
        if self.kind != "classification":
            summary["kind"] = self.kind
        return summary


def is_builtin(name: str) -> bool:
    """True when ``name`` is one of :data:`BUILTIN_DATASETS`."""
    return isinstance(name, str) and name in BUILTIN_DATASETS


def load_dataset(
    dataset: str | os.PathLike[str],
    *,
    target: str | None = "label",
    validation_fraction: float = 0.2,
    test_fraction: float = 0.2,
    seed: int = 0,
    samples: int | None = None,
    noise: float | None = None,
    bits: int | None = None,
    base_dir: str | Path | None = None,
    retina_goal: str = "and",
    kind: str = "classification",
) -> Dataset:
    """Load a built-in data set or a ``.csv``/``.npz``/``.parquet`` file as a split :class:`Dataset`.

    ``dataset`` is a built-in name or a file path (relative paths are resolved against
    ``base_dir`` when given, else the current directory). ``target`` names the target column (or
    NPZ array) of a file and is ignored for built-ins. ``samples``, ``noise`` and ``bits`` tune the
    generated sets (``bits`` only ``parity``) and are ignored by the others. ``kind``: what the
    target is, class labels (``"classification"``) or a number (``"regression"``; a built-in
    data set has its own kind, :func:`builtin_kind`). The split is seeded (and stratified by class
    for a classification): the test part (``test_fraction`` of all rows) first, then the
    validation part (``validation_fraction`` of all rows) from the rest. Raises
    :class:`DataError` for any bad input.
    """
    _check_fractions(validation_fraction, test_fraction)
    seed = _check_seed(seed)
    if kind not in KINDS:
        raise DataError(f"task.kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if isinstance(dataset, str) and dataset in BUILTIN_DATASETS and builtin_kind(dataset) != kind:
        raise DataError(_kind_mismatch(dataset, kind))
    if dataset == "retina":
        return _retina(retina_goal)

    notes: tuple[str, ...] = ()
    if isinstance(dataset, str) and dataset in BUILTIN_DATASETS:
        name = dataset
        x, y_raw, feature_names = _load_builtin(dataset, seed=seed, samples=samples, noise=noise, bits=bits)
        source = f"built-in data set {dataset!r}"
    else:
        path = _resolve_file(dataset, base_dir)
        name = path.name
        if target is None or not isinstance(target, str) or not target:
            raise DataError(
                f"target: a file data set needs the name of its class column, got {target!r} "
                f"for {str(path)!r}"
            )
        suffix = path.suffix.lower()
        if suffix == ".npz":
            x, y_raw, feature_names = read_npz(path, target)
        else:
            x, y_raw, feature_names = read_table(path, target, suffix)
        source = f"target {target!r} of {str(path)!r}"
        notes = row_number_notes(x, feature_names)

    if kind == "regression":
        split = _split_regression(name, x, _numeric_target(y_raw, source), feature_names=feature_names,
                                  validation_fraction=float(validation_fraction),
                                  test_fraction=float(test_fraction), seed=seed, source=source)
        return replace(split, notes=notes)
    y, class_names = _encode_classes(y_raw, source)
    split = _split_and_standardize(
        name,
        x,
        y,
        feature_names=feature_names,
        class_names=class_names,
        validation_fraction=float(validation_fraction),
        test_fraction=float(test_fraction),
        seed=seed,
        source=source,
    )
    return replace(split, notes=notes)


def _kind_mismatch(dataset: str, kind: str) -> str:
    """The message refusing built-in data set ``dataset`` for a task of ``kind``."""
    if builtin_kind(dataset) == "regression":
        return (f"task.kind: built-in data set {dataset!r} has a continuous target (a regression); "
                f"set task.kind = \"regression\" (got {kind!r})")
    return (f"task.kind: built-in data set {dataset!r} has class labels (a classification); "
            f"task.kind = {kind!r} needs a continuous target (diabetes, or a file of yours)")


def _retina(goal: str) -> Dataset:
    """All 256 retina patterns as train, validation and test alike (no split, no scaling)."""
    from connevo.workers.retina import RETINA_GOALS, retina_patterns

    if goal not in RETINA_GOALS:
        raise DataError(f"task.retina_goal must be one of {', '.join(RETINA_GOALS)}, got {goal!r}")
    x, y = retina_patterns(goal)
    x32 = x.astype(np.float32)
    return Dataset(
        name=f"retina-{goal}",
        x_train=x32, y_train=y, x_val=x32.copy(), y_val=y.copy(), x_test=x32.copy(), y_test=y.copy(),
        feature_names=tuple(f"pixel{i}" for i in range(8)),
        class_names=("0", "1"),
        mean=np.zeros(8, dtype=np.float32),
        std=np.ones(8, dtype=np.float32),
    )


# --------------------------------------------------------------------------------------------
# Argument checks


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check_fractions(validation_fraction: object, test_fraction: object) -> None:
    for field, value in (("validation_fraction", validation_fraction), ("test_fraction", test_fraction)):
        if not _is_real(value) or not (0.0 < float(value) < 1.0):  # type: ignore[arg-type]
            raise DataError(f"{field} must be a number strictly between 0 and 1, got {value!r}")
    total = float(validation_fraction) + float(test_fraction)  # type: ignore[arg-type]
    if total >= 1.0:
        raise DataError(
            f"validation_fraction + test_fraction must be below 1 to leave rows for training, got "
            f"validation_fraction={validation_fraction!r} + test_fraction={test_fraction!r} = {total:g}"
        )


def _check_seed(seed: object) -> int:
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool) or not 0 <= int(seed) <= _MAX_SEED:
        raise DataError(f"seed must be an integer between 0 and {_MAX_SEED}, got {seed!r}")
    return int(seed)


def _check_samples(samples: object, default: int, dataset: str, minimum: int) -> int:
    if samples is None:
        return default
    if not isinstance(samples, numbers.Integral) or isinstance(samples, bool) or int(samples) < minimum:
        raise DataError(
            f"samples must be an integer of at least {minimum} for data set {dataset!r}, got {samples!r}"
        )
    return int(samples)


def _check_noise(noise: object, default: float, dataset: str) -> float:
    if noise is None:
        return default
    if not _is_real(noise) or not math.isfinite(float(noise)) or float(noise) < 0:  # type: ignore[arg-type]
        raise DataError(f"noise must be a finite number >= 0 for data set {dataset!r}, got {noise!r}")
    return float(noise)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Built-in data sets


def _load_builtin(
    dataset: str, *, seed: int, samples: int | None, noise: float | None, bits: int | None
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Features (float64, 2-D), raw targets and feature names of a built-in data set."""
    from sklearn import datasets as sk_datasets

    if dataset in _SKLEARN_LOADERS:
        bunch = getattr(sk_datasets, _SKLEARN_LOADERS[dataset])()
        x = np.asarray(bunch.data, dtype=np.float64)
        names = tuple(str(n) for n in bunch.feature_names)
        return x, np.asarray(bunch.target), names

    default_samples, default_noise = _GENERATED_DEFAULTS[dataset]
    n = _check_samples(samples, default_samples, dataset, minimum=2)
    rng = np.random.default_rng(seed)
    if dataset == "parity":
        if bits is None:
            n_bits = _DEFAULT_PARITY_BITS
        elif isinstance(bits, numbers.Integral) and not isinstance(bits, bool) and 1 <= int(bits) <= 1024:
            n_bits = int(bits)
        else:
            raise DataError(f"bits must be an integer between 1 and 1024 for data set 'parity', got {bits!r}")
        if noise is not None:
            _check_noise(noise, 0.0, dataset)  # accepted for uniformity, not used
        x = rng.choice(np.array([-1.0, 1.0]), size=(n, n_bits))
        y = ((x > 0).sum(axis=1) % 2).astype(np.int64)
    else:
        sigma = _check_noise(noise, default_noise, dataset)
        if dataset == "xor":
            clean = rng.uniform(-1.0, 1.0, size=(n, 2))
            y = (clean[:, 0] * clean[:, 1] > 0).astype(np.int64)
            x = clean + rng.normal(0.0, sigma, size=(n, 2))
        elif dataset == "moons":
            x, y = sk_datasets.make_moons(n_samples=n, noise=sigma, random_state=seed)
        elif dataset == "circles":
            x, y = sk_datasets.make_circles(n_samples=n, noise=sigma, factor=0.5, random_state=seed)
        else:  # spirals
            x, y = _spirals(n, sigma, rng)
    x = np.asarray(x, dtype=np.float64)
    return x, np.asarray(y, dtype=np.int64), tuple(f"x{i}" for i in range(x.shape[1]))


def _spirals(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved spirals of 1.5 turns in the unit disk; class 1 is class 0 turned by pi."""
    n0 = n // 2
    counts = (n0, n - n0)
    xs, ys = [], []
    for label, count in enumerate(counts):
        # sqrt spreads points evenly along the arc length rather than bunching them at the centre
        t = np.sqrt(rng.uniform(0.0, 1.0, size=count)) * 3.0 * np.pi
        r = t / (3.0 * np.pi)
        angle = t + label * np.pi
        pts = np.column_stack([r * np.cos(angle), r * np.sin(angle)])
        xs.append(pts + rng.normal(0.0, noise, size=pts.shape))
        ys.append(np.full(count, label, dtype=np.int64))
    return np.concatenate(xs), np.concatenate(ys)


# --------------------------------------------------------------------------------------------
# Files


def _unknown_dataset(dataset: object) -> DataError:
    return DataError(
        f"unknown data set {dataset!r}: expected a built-in name ({', '.join(BUILTIN_DATASETS)}) "
        f"or a path to a file with extension {', '.join(FILE_EXTENSIONS)}"
    )


def _resolve_file(dataset: object, base_dir: str | Path | None) -> Path:
    if not isinstance(dataset, (str, os.PathLike)) or not os.fspath(dataset):
        raise _unknown_dataset(dataset)
    path = Path(os.fspath(dataset)).expanduser()
    if path.suffix.lower() not in FILE_EXTENSIONS:
        raise _unknown_dataset(dataset)
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir).expanduser() / path
    if not path.exists():
        raise DataError(f"data file not found: {os.fspath(dataset)!r} (looked for {str(path.absolute())!r})")
    if not path.is_file():
        raise DataError(f"data file {str(path)!r} is not a regular file")
    if path.stat().st_size == 0:
        raise DataError(f"data file {str(path)!r} is empty (0 bytes)")
    return path


MAX_CLASSES = 200
"""Distinct target values a data set may have: more is almost always a continuous or an id
column taken for the class (a classifier with one output per value would be pointless)."""


def _encode_classes(values: np.ndarray, source: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """Class indices by the sorted distinct values, and the values' ``str()`` as class names."""
    values = np.asarray(values)
    if values.dtype.kind == "f" and np.isfinite(values).all() and not np.all(np.mod(values, 1) == 0):
        sample = ", ".join(f"{v:g}" for v in values[np.mod(values, 1) != 0][:3])
        raise DataError(
            f"{source}: the target holds non-integer numbers ({sample}, ...): it looks continuous; "
            "a classification needs class labels: for a regression target set task.kind = \"regression\""
        )
    values = _whole_floats_as_ints(values)
    try:
        distinct, y = np.unique(values, return_inverse=True)
        names = tuple(str(v.item() if isinstance(v, np.generic) else v) for v in distinct)
    except TypeError:  # mixed types (e.g. ints and strings in one object column): order as str
        as_str = np.array([str(v) for v in values.tolist()], dtype=object)
        distinct, y = np.unique(as_str, return_inverse=True)
        names = tuple(str(v) for v in distinct)
    if len(set(names)) != len(names):
        raise DataError(f"{source}: distinct class values {list(distinct)} have the same str() names")
    if len(names) < 2:
        raise DataError(
            f"{source}: needs at least 2 classes, found {len(names)}"
            + (f" (every row is {names[0]!r})" if names else "")
        )
    if len(names) > MAX_CLASSES:
        raise DataError(
            f"{source}: the target has {len(names)} distinct values, more than {MAX_CLASSES} classes; "
            f"is it an id or a continuous column? (first values: {', '.join(names[:5])}, ...; a continuous "
            f"target is a regression: set task.kind = \"regression\")"
        )
    return np.asarray(y, dtype=np.int64).reshape(-1), names


def class_names_of(values: np.ndarray) -> np.ndarray:
    """Each raw target value's class name as :func:`load_dataset` names classes: its ``str()``,
    a float that is a whole number as the integer (``1.0`` is class ``"1"``)."""
    return np.array([str(v) for v in _whole_floats_as_ints(np.asarray(values)).tolist()], dtype=object)


def _whole_floats_as_ints(values: np.ndarray) -> np.ndarray:
    """Finite floats that are all whole numbers as int64 (1.0/2.0 read from a float column name
    classes "1"/"2"); any other array as it is."""
    if values.dtype.kind == "f" and np.isfinite(values).all() and np.all(np.mod(values, 1) == 0):
        return values.astype(np.int64)
    return values


def _numeric_target(values: np.ndarray, source: str) -> np.ndarray:
    """A regression target as float64: numbers only, finite, not all the same."""
    values = np.asarray(values)
    if values.dtype.kind not in "biuf":
        example = next((v for v in values.tolist() if not isinstance(v, (int, float)) or isinstance(v, bool)), None)
        raise DataError(
            f"{source}: task.kind = \"regression\" needs a numeric target, but the column holds "
            f"{values.dtype} values (e.g. {example!r}); encode it as numbers, or set task.kind = "
            f"\"classification\" for class labels"
        )
    y = values.astype(np.float64).reshape(-1)
    if not np.isfinite(y).all():
        raise DataError(f"{source}: the regression target has {int((~np.isfinite(y)).sum())} missing or infinite "
                        "value(s)")
    if y.size and np.all(y == y[0]):
        raise DataError(f"{source}: the regression target is constant (every row is {y[0]:g}): nothing to predict")
    return y


MIN_REGRESSION_ROWS = 2
"""Rows each part of a regression needs at least (R^2 compares a part's errors with its spread)."""


def _split_regression(
    name: str,
    x: np.ndarray,
    y: np.ndarray,
    *,
    feature_names: tuple[str, ...],
    validation_fraction: float,
    test_fraction: float,
    seed: int,
    source: str,
) -> Dataset:
    """A seeded random split (test part first, then validation from the rest, as the stratified
    split of a classification), features and target standardized with the training part's statistics."""
    n = x.shape[0]
    n_test, n_val = _part_sizes(n, validation_fraction, test_fraction, MIN_REGRESSION_ROWS, f"{MIN_REGRESSION_ROWS}",
                                source)
    from sklearn.model_selection import train_test_split

    index = np.arange(n)
    rest, test_idx = train_test_split(index, test_size=n_test, random_state=seed)
    train_idx, val_idx = train_test_split(rest, test_size=n_val, random_state=seed)
    standardize, mean, std = _feature_scaling(x[train_idx])
    y_mean = float(np.mean(y[train_idx]))
    y_std = float(np.std(y[train_idx]))
    if not y_std > 0:
        raise DataError(f"{source}: the regression target is constant on the training rows ({y_mean:g}): "
                        "nothing to learn")

    def target(part: np.ndarray) -> np.ndarray:
        return ((y[part] - y_mean) / y_std).astype(np.float32)

    return Dataset(
        name=name,
        x_train=standardize(x[train_idx]),
        y_train=target(train_idx),
        x_val=standardize(x[val_idx]),
        y_val=target(val_idx),
        x_test=standardize(x[test_idx]),
        y_test=target(test_idx),
        feature_names=tuple(feature_names),
        class_names=(),
        mean=mean,
        std=std,
        kind="regression",
        y_mean=y_mean,
        y_std=y_std,
    )


def _feature_scaling(x_train: np.ndarray) -> tuple[Callable[[np.ndarray], np.ndarray], np.ndarray, np.ndarray]:
    """(standardize, mean, std) of the training part's features: a part standardized as float32,
    a missing value (NaN) the training mean (0 once standardized; exports do the same)."""
    with warnings.catch_warnings():  # a column missing from every training row: mean 0, std 1
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(x_train, axis=0)
        std = np.nanstd(x_train, axis=0)
    mean[~np.isfinite(mean)] = 0.0
    std[(std.astype(np.float32) == 0) | ~np.isfinite(std)] = 1.0  # constant feature: leave it centred

    def standardize(part: np.ndarray) -> np.ndarray:
        return np.nan_to_num((part - mean) / std, nan=0.0).astype(np.float32)

    return standardize, mean.astype(np.float32), std.astype(np.float32)


def _small_classes_hint(class_names: tuple[str, ...], counts: np.ndarray) -> str:
    """What to do about classes of under 3 rows: a target of many distinct numbers is likely a
    quantity (a regression); otherwise the rare classes' rows are to be dropped or merged."""
    small = int((counts < 3).sum())
    some = f"{small} of the {len(class_names)} classes have fewer than 3 rows" if small > 1 else "it is the only one"
    try:
        [float(name) for name in class_names]
    except ValueError:
        numeric = False
    else:
        numeric = len(class_names) > 10
    if numeric:
        return (f" ({some}); the target holds {len(class_names)} distinct numbers: if it is a quantity to "
                f"predict, not a category, set task.kind = \"regression\"")
    return f" ({some}); drop the rows of such classes, or merge them into another class, before the run"


def _split_and_standardize(
    name: str,
    x: np.ndarray,
    y: np.ndarray,
    *,
    feature_names: tuple[str, ...],
    class_names: tuple[str, ...],
    validation_fraction: float,
    test_fraction: float,
    seed: int,
    source: str,
) -> Dataset:
    n = x.shape[0]
    n_classes = len(class_names)
    counts = np.bincount(y, minlength=n_classes)
    smallest = int(np.argmin(counts))
    if counts[smallest] < 3:
        raise DataError(
            f"{source}: class {class_names[smallest]!r} has only {int(counts[smallest])} row(s); a "
            f"stratified train/validation/test split needs at least 3 rows of every class"
            + _small_classes_hint(class_names, counts)
        )
    n_test, n_val = _part_sizes(n, validation_fraction, test_fraction, n_classes, f"the {n_classes} classes", source)

    from sklearn.model_selection import train_test_split

    index = np.arange(n)
    try:
        rest, test_idx = train_test_split(index, test_size=n_test, stratify=y, random_state=seed)
        train_idx, val_idx = train_test_split(rest, test_size=n_val, stratify=y[rest], random_state=seed)
    except ValueError as exc:
        raise DataError(f"{source}: cannot make a stratified split: {exc}") from exc

    standardize, mean, std = _feature_scaling(x[train_idx])
    return Dataset(
        name=name,
        x_train=standardize(x[train_idx]),
        y_train=y[train_idx].astype(np.int64),
        x_val=standardize(x[val_idx]),
        y_val=y[val_idx].astype(np.int64),
        x_test=standardize(x[test_idx]),
        y_test=y[test_idx].astype(np.int64),
        feature_names=tuple(feature_names),
        class_names=tuple(class_names),
        mean=mean,
        std=std,
    )


def _part_sizes(n: int, validation_fraction: float, test_fraction: float, least: int, least_text: str,
                source: str) -> tuple[int, int]:
    """(test rows, validation rows) of ``n``; DataError naming the fraction to change when a part
    (training included) would get fewer than ``least`` rows."""
    n_test = round(test_fraction * n)
    n_val = round(validation_fraction * n)
    for part, size, field in (
        ("test", n_test, "test_fraction"),
        ("validation", n_val, "validation_fraction"),
        ("training", n - n_test - n_val, "validation_fraction + test_fraction"),
    ):
        if size < least:
            raise DataError(f"{source}: the {part} part would have {size} of {n} rows, fewer than {least_text}; "
                            f"change {field} or add rows")
    return n_test, n_val
