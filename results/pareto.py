"""Pareto fronts and hypervolume as pure functions over arrays and DataFrames.

Everything here works in the *minimisation* space internally: a column to maximise is negated.
No database, no plotting, no state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import moocore
import numpy as np
import pandas as pd

from connevo.errors import SpecError
from connevo.results.metrics import SENSES

OBJECTIVE_SENSES: Mapping[str, str] = SENSES
"""Every registered metric's sense (:mod:`results.metrics`)."""

TIE_BREAKERS: dict[str, str] = {
    "val_accuracy": "val_loss",
    "test_accuracy": "test_loss",
    "train_accuracy": "train_loss",
}
"""The loss on the same rows beside each accuracy. It decides accuracy ties, or ranks the
candidates (:data:`ACCURACY_RANKINGS`): accuracy over a few hundred validation rows
ties often (and saturates on easy data), while the cross-entropy still sees which network is
surer of the right class. Without it, the smallest network that reached the top accuracy would
hide every larger one, however much better."""

ACCURACY_RANKINGS = ("accuracy", "loss", "pooled", "accuracy_and_loss")
"""How an accuracy objective with a loss beside it (:data:`TIE_BREAKERS`) ranks the rows of a front:

- ``"accuracy"``: by the accuracy, ties decided by the loss.
- ``"accuracy_and_loss"``: the accuracy and its loss are both objectives of the front: a row
  leaves it only for one as good in every other objective (as few connections) that is at least
  as accurate *and* has no higher loss, better in one. It holds the front ranked by the accuracy
  and the front ranked by the loss, and the networks between them that trade one for the other:
  where the two disagree, the validation rows cannot say which generalizes better
  (:mod:`evolution.accuracy_ranking`).
- ``"loss"``: by the loss on the same rows, lower first (equal losses by the accuracy): steadier
  than the accuracy of a few dozen rows (:mod:`evolution.accuracy_ranking`).
- ``"pooled"``: every validation score (``val_accuracy``, a regression's ``val_r2``, ...) by the
  loss over the training and validation rows together (:data:`POOLED_LOSS`), lower first (equal
  pooled losses by the score)."""

DEFAULT_ACCURACY_RANKING = "accuracy"
"""The ranking of a table, a spec or a stored campaign that names none (every campaign stored
before ``objectives.rank_accuracy_by`` existed ranked this way)."""

POOLED_LOSS = "pooled_loss"
"""The column (a key of a candidate's ``extra``) of the loss over training and validation rows
together, each row weighted alike: ``(n_train x train_loss + n_val x val_loss) / (n_train + n_val)``
(:func:`pooled_loss`). It ranks the front with ``rank_accuracy_by = "pooled"``."""


def pooled_loss(train_loss: float | None, val_loss: float | None, train_share: float) -> float | None:
    """The loss over training and validation rows together (:data:`POOLED_LOSS`), ``train_share``
    the training rows' share of the two parts; None without both finite losses."""
    if train_loss is None or val_loss is None or not (np.isfinite(train_loss) and np.isfinite(val_loss)):
        return None
    return float(train_share * train_loss + (1.0 - train_share) * val_loss)


def train_share(train_rows: int, val_rows: int) -> float:
    """The training rows' share of training and validation rows: the weight of the training loss
    in :func:`pooled_loss`."""
    total = train_rows + val_rows
    return train_rows / total if total else 0.0


def ranks_by_pooled_loss(objective: str, sense: str) -> bool:
    """Whether ``rank_accuracy_by = "pooled"`` ranks ``objective``: a maximised validation score."""
    return sense == "max" and objective.startswith("val_")


_SENSES = ("max", "min")


def _check_senses(senses: Sequence[str], k: int) -> np.ndarray:
    """Return a boolean array, True where the column is maximised."""
    senses = list(senses)
    if len(senses) != k:
        raise SpecError(f"got {len(senses)} senses for {k} objectives: {senses!r}")
    bad = [s for s in senses if s not in _SENSES]
    if bad:
        raise SpecError(f"an objective sense must be 'max' or 'min', got {bad!r}")
    return np.array([s == "max" for s in senses], dtype=bool)


def _as_matrix(values: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 1 and arr.size == 0:
        arr = arr.reshape(0, 0)
    if arr.ndim != 2:
        raise ValueError(f"values must be a 2-D array (n points, k objectives), got shape {arr.shape}")
    return arr


def _to_minimisation(values: np.ndarray, maximise: np.ndarray) -> np.ndarray:
    return np.where(maximise, -values, values)


def pareto_mask(values: np.ndarray, senses: Sequence[str]) -> np.ndarray:
    """Boolean mask of the non-dominated rows of ``values`` (shape ``(n, k)``).

    ``senses[j]`` is ``"max"`` or ``"min"`` for column ``j``. A row dominates another when it is
    at least as good in every objective and strictly better in one, so identical rows are all
    kept. A row with NaN in any objective is never on the front and dominates nothing.
    """
    arr = _as_matrix(values)
    n, k = arr.shape
    maximise = _check_senses(senses, k)
    mask = np.zeros(n, dtype=bool)
    if n == 0:
        return mask
    valid = ~np.isnan(arr).any(axis=1)
    # moocore's dimension sweep: O(n log n) for up to three objectives (a front of 10^4
    # candidates in milliseconds, where comparing every pair took most of a second)
    on_front = moocore.is_nondominated(arr[valid], maximise=maximise.tolist(), keep_weakly=True)
    mask[np.flatnonzero(valid)] = on_front
    return mask


def _resolve_senses(objectives: Sequence[str], senses: Sequence[str] | None) -> list[str]:
    objectives = list(objectives)
    if not objectives:
        raise SpecError("at least one objective is needed")
    if senses is not None:
        _check_senses(senses, len(objectives))
        return list(senses)
    unknown = [o for o in objectives if o not in OBJECTIVE_SENSES]
    if unknown:
        known = ", ".join(OBJECTIVE_SENSES)
        raise SpecError(
            f"no known sense for objective(s) {unknown!r}; give senses explicitly or use one of: {known}"
        )
    return [OBJECTIVE_SENSES[o] for o in objectives]


def _objective_matrix(df: pd.DataFrame, objectives: Sequence[str]) -> np.ndarray:
    missing = [o for o in objectives if o not in df.columns]
    if missing:
        raise SpecError(f"objective column(s) {missing!r} not in the table; columns are {list(df.columns)!r}")
    try:
        matrix: np.ndarray = np.array(df[list(objectives)].to_numpy(dtype=float, na_value=np.nan), copy=True)
        return matrix  # a copy: refined_matrix writes into it, and pandas may hand out a read-only view
    except (TypeError, ValueError) as exc:
        raise SpecError(f"objective columns {list(objectives)!r} must be numeric: {exc}") from exc


def check_accuracy_ranking(ranking: str) -> str:
    """``ranking`` when it is one of :data:`ACCURACY_RANKINGS`; a SpecError naming them otherwise."""
    if ranking not in ACCURACY_RANKINGS:
        raise SpecError(f"rank_accuracy_by must be one of {', '.join(ACCURACY_RANKINGS)}, got {ranking!r}")
    return ranking


def refined_matrix(df: pd.DataFrame, objectives: Sequence[str], senses: Sequence[str],
                   rank_accuracy_by: str = DEFAULT_ACCURACY_RANKING) -> np.ndarray:
    """The objective matrix in which each maximised accuracy with a loss column beside it
    (:data:`TIE_BREAKERS`) is replaced by its rank in the order ``rank_accuracy_by`` names
    (:data:`ACCURACY_RANKINGS`): with ``"accuracy"``, higher accuracy then lower loss (domination
    on these values is domination on accuracy, ties decided by the loss); with ``"loss"``, lower
    loss then higher accuracy; with ``"pooled"``, every maximised validation score by the
    :data:`POOLED_LOSS` column, lower first, then the higher score (a table without that column
    is left as it is). ``"accuracy_and_loss"`` compares more columns than there are objectives:
    :func:`front_matrix` gives them."""
    check_accuracy_ranking(rank_accuracy_by)
    if rank_accuracy_by == "accuracy_and_loss":
        raise ValueError("rank_accuracy_by 'accuracy_and_loss' adds columns to the objectives: use front_matrix")
    matrix = _objective_matrix(df, objectives)
    for j, (objective, sense) in enumerate(zip(objectives, senses)):
        loss_column = POOLED_LOSS if rank_accuracy_by == "pooled" else TIE_BREAKERS.get(objective)
        if rank_accuracy_by == "pooled" and not ranks_by_pooled_loss(objective, sense):
            continue
        if sense != "max" or loss_column not in df.columns:
            continue
        accuracy = matrix[:, j]
        loss = pd.to_numeric(df[loss_column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        loss = np.where(np.isnan(loss), np.inf, loss)
        if rank_accuracy_by in ("loss", "pooled"):  # a row without an accuracy stays off the front
            matrix[:, j] = np.where(np.isnan(accuracy), np.nan, _dense_rank(-loss, np.nan_to_num(accuracy)))
        else:
            matrix[:, j] = _dense_rank(accuracy, -loss)
    return matrix


def front_matrix(df: pd.DataFrame, objectives: Sequence[str], senses: Sequence[str],
                 rank_accuracy_by: str = DEFAULT_ACCURACY_RANKING) -> tuple[np.ndarray, list[str]]:
    """The values a front compares and their senses: :func:`refined_matrix` and ``senses``; with
    ``"accuracy_and_loss"``, the objectives as they are and, after them, the loss column of each
    maximised accuracy that has one in ``df`` (:data:`TIE_BREAKERS`), minimised (a missing loss
    as +inf: never better than a row with one)."""
    check_accuracy_ranking(rank_accuracy_by)
    if rank_accuracy_by != "accuracy_and_loss":
        return refined_matrix(df, objectives, senses, rank_accuracy_by), list(senses)
    matrix = _objective_matrix(df, objectives)
    losses = []
    for objective, sense in zip(objectives, senses):
        loss_column = TIE_BREAKERS.get(objective)
        if sense == "max" and loss_column in df.columns:
            loss = pd.to_numeric(df[loss_column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            losses.append(np.where(np.isnan(loss), np.inf, loss))
    return np.column_stack([matrix, *losses]), list(senses) + ["min"] * len(losses)


def _dense_rank(primary: np.ndarray, secondary: np.ndarray) -> np.ndarray:
    """1, 2, ... in the order (primary, then secondary), equal pairs sharing a rank; NaN stays NaN."""
    ranks = np.full(len(primary), np.nan)
    valid = np.flatnonzero(~np.isnan(primary))
    if not len(valid):
        return ranks
    order = valid[np.lexsort((secondary[valid], primary[valid]))]
    a, b = primary[order], secondary[order]
    new = np.ones(len(order), dtype=bool)
    new[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    ranks[order] = np.cumsum(new)
    return ranks


def pareto_front(
    df: pd.DataFrame, objectives: Sequence[str], senses: Sequence[str] | None = None,
    rank_accuracy_by: str = DEFAULT_ACCURACY_RANKING,
) -> pd.DataFrame:
    """Rows of ``df`` on the Pareto front of ``objectives``; an accuracy with its loss column in
    ``df`` (:data:`TIE_BREAKERS`) ranks as ``rank_accuracy_by`` says (:data:`ACCURACY_RANKINGS`).

    Senses default to :data:`OBJECTIVE_SENSES`. The result (with a fresh index) is sorted by the
    first minimised objective ascending, then the first maximised one descending.
    """
    senses = _resolve_senses(objectives, senses)
    mask = pareto_mask(*front_matrix(df, objectives, senses, rank_accuracy_by))
    front = df.loc[mask]
    keys: list[str] = []
    ascending: list[bool] = []
    for sense in ("min", "max"):
        for obj, s in zip(objectives, senses):
            if s == sense and obj not in keys:
                keys.append(obj)
                ascending.append(sense == "min")
                break
    if keys and len(front) > 1:
        front = front.sort_values(keys, ascending=ascending, kind="mergesort")
    return front.reset_index(drop=True)


def hypervolume(
    values: np.ndarray | Sequence[Sequence[float]], senses: Sequence[str], reference: Sequence[float]
) -> float:
    """Hypervolume dominated by ``values`` and bounded by ``reference`` (moocore's engine).

    Maximised columns (and their reference coordinate) are negated into a minimisation problem.
    Points not strictly better than the reference in every objective, and rows with NaN, add
    nothing and are dropped. Returns 0.0 when no point remains.
    """
    arr = _as_matrix(values)
    ref = np.asarray(reference, dtype=float)
    k = arr.shape[1] if arr.shape[0] else len(ref)
    maximise = _check_senses(senses, k)
    if ref.shape != (k,):
        raise SpecError(f"the reference point needs {k} coordinates, got {list(reference)!r}")
    if np.isnan(ref).any():
        raise SpecError(f"the reference point must not contain NaN, got {list(reference)!r}")
    if arr.shape[0] == 0:
        return 0.0
    pts = _to_minimisation(arr, maximise)
    r = _to_minimisation(ref, maximise)
    keep = (pts < r).all(axis=1)  # NaN compares False: dropped too
    pts = pts[keep]
    if len(pts) == 0:
        return 0.0
    return float(moocore.hypervolume(pts, ref=r))


def normalized_hypervolume(
    df: pd.DataFrame,
    objectives: Sequence[str],
    reference: Mapping[str, float],
    ideal: Mapping[str, float],
    senses: Sequence[str] | None = None,
) -> float:
    """Hypervolume in [0, 1] after mapping each objective linearly so ``ideal -> 0``, ``reference -> 1``.

    Example: ``val_accuracy`` with ideal 1.0 and reference 0.0, ``connections`` with ideal 0 and
    reference 1280. Values better than the ideal count as the ideal.
    """
    objectives = list(objectives)
    senses = _resolve_senses(objectives, senses)
    for name, table in (("reference", reference), ("ideal", ideal)):
        missing = [o for o in objectives if o not in table]
        if missing:
            raise SpecError(f"{name} point lacks objective(s) {missing!r}; it has {sorted(table)!r}")
    ref = np.array([float(reference[o]) for o in objectives])
    best = np.array([float(ideal[o]) for o in objectives])
    for obj, s, r, b in zip(objectives, senses, ref, best):
        if not (b > r if s == "max" else b < r):
            raise SpecError(
                f"objective {obj!r} ({s}): the ideal ({b}) must be strictly better than the reference ({r})"
            )
    if len(df) == 0:
        return 0.0
    arr = _objective_matrix(df, objectives)
    # One formula for both senses: (x - ideal) / (reference - ideal) is 0 at the ideal, 1 at the reference.
    scaled = np.clip((arr - best) / (ref - best), 0.0, None)
    return hypervolume(scaled, ["min"] * len(objectives), [1.0] * len(objectives))


__all__ = [
    "ACCURACY_RANKINGS",
    "DEFAULT_ACCURACY_RANKING",
    "OBJECTIVE_SENSES",
    "POOLED_LOSS",
    "TIE_BREAKERS",
    "check_accuracy_ranking",
    "front_matrix",
    "pooled_loss",
    "ranks_by_pooled_loss",
    "train_share",
    "hypervolume",
    "normalized_hypervolume",
    "pareto_front",
    "pareto_mask",
    "refined_matrix",
]
