"""Score a campaign's Pareto front on rows it never saw: ``connevo score``.

The question a user asks of a finished campaign is how its front does on *their* held-out data:
for each connection budget, how accurate the front's network is there. :func:`score_front` reads a
labelled file (CSV, Parquet or NPZ, or a pandas frame) with the columns of the campaign's data,
runs every front network (as ``connevo front`` lists it) on the raw rows exactly as
``connevo export`` would (the training standardization inside, a missing value the training
mean), and gives each network's held-out accuracy (a regression: R^2), which of them are on the
held-out front, and the held-out hypervolume of (score, connections): the figure
``benchmarks/frontier.py`` compares methods by, with the campaign's own reference point (score 0,
and twice the connections of the dense input-to-output network).

Columns are matched by name: the file may hold them in any order, and columns the campaign did not
train on (an id, a note) are left out and named. A held-out label the campaign never saw counts as
a wrong prediction of every network, and is counted; so are the missing feature values (each
becomes its column's training mean, as in the exported network).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from connevo.errors import ConnevoError, DataError
from connevo.evolution.export import trained_model
from connevo.evolution.spec import parse_spec
from connevo.evolution.summary import REFERENCE_COST_FACTOR
from connevo.evolution.task import load_task, target_name
from connevo.results import queries
from connevo.results.pareto import normalized_hypervolume, pareto_mask
from connevo.results.storage import BaseStore
from connevo.workers.data_files import example_non_numeric, meant_target, non_numeric_columns, read_frame, read_npz
from connevo.workers.tasks import FILE_EXTENSIONS, Dataset, class_names_of


@dataclass(frozen=True)
class HeldOutScores:
    """A front scored on held-out rows: one row per network (``candidate_id``, ``connections``,
    ``hidden_nodes``, the campaign's validation and test scores, ``heldout_<metric>`` and
    ``heldout_front``), and the held-out hypervolume of (``heldout_<metric>``, connections)."""

    campaign_id: str
    kind: str
    metric: str
    """``accuracy``, or ``r2`` for a regression."""
    rows: int
    networks: pd.DataFrame
    hypervolume: float
    reference_connections: float
    """The hypervolume's reference point in connections (its score reference is 0)."""
    ignored_columns: tuple[str, ...] = ()
    unseen_labels: dict[str, int] = field(default_factory=dict)
    """Held-out labels the campaign's data never had, with their row counts (wrong for every network)."""
    missing_values: dict[str, int] = field(default_factory=dict)
    """Feature columns with missing values, with their counts (each read as the column's training mean)."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: every field, the networks as records."""
        return {"campaign_id": self.campaign_id, "kind": self.kind, "metric": self.metric, "rows": self.rows,
                "hypervolume": self.hypervolume, "reference": {self.metric: 0.0,
                                                               "connections": self.reference_connections},
                "ignored_columns": list(self.ignored_columns), "unseen_labels": dict(self.unseen_labels),
                "missing_values": dict(self.missing_values),
                "networks": self.networks.to_dict("records")}


def score_front(store: BaseStore | str | None, campaign: str, data: str | Path | pd.DataFrame, *,
                max_connections: int | None = None, unpolished: bool = False) -> HeldOutScores:
    """Score every network of the front of ``campaign`` (id or name) on ``data``: a file path
    (CSV, Parquet, NPZ) or a frame holding the campaign's feature columns and its target.
    ``max_connections`` and ``unpolished`` choose the front as ``connevo front`` does. ``store``:
    a store or its URL/path (None: ``$CONNEVO_STORE``, else ./connevo.db)."""
    from connevo.results.store import open_store

    opened = store if isinstance(store, BaseStore) else open_store(store)
    try:
        return _score_front(opened, campaign, data, max_connections, unpolished)
    finally:
        if opened is not store:
            opened.close()


def _score_front(store: BaseStore, campaign: str, data: str | Path | pd.DataFrame, max_connections: int | None,
                 unpolished: bool) -> HeldOutScores:
    info = store.get_campaign(campaign)
    spec = parse_spec(info["spec"])
    objectives = queries.campaign_objectives(info["spec"])
    front = queries.front(store, info["id"], objectives, max_connections=max_connections, unpolished=unpolished,
                          genomes=False, rank_accuracy_by=queries.spec_accuracy_ranking(info["spec"]))
    if front.empty:
        within = f" within {max_connections} connections" if max_connections is not None else ""
        raise ConnevoError(f"campaign {info['id']} ({info['name']!r}) has no trained network on its front{within}: "
                           "nothing to score")
    dataset = load_task(spec)
    target = target_name(spec)
    x, y_raw, ignored = heldout_rows(data, dataset, target)
    regression = dataset.kind == "regression"
    metric = "r2" if regression else "accuracy"
    if regression:
        truth = _numeric(y_raw, target)
        unseen: dict[str, int] = {}
    else:
        labels = class_names_of(y_raw)
        known = set(dataset.class_names)
        missing = pd.Series([label for label in labels if label not in known], dtype=object)
        unseen = {str(k): int(v) for k, v in missing.value_counts().items()}
    rows = torch.from_numpy(x.astype(np.float32))  # a copy: a frame's arrays may be read-only
    scores = []
    for candidate_id in front["candidate_id"]:
        model, _genome, _ = trained_model(store, candidate_id, dataset)
        with torch.no_grad():
            out = model(rows).double().numpy()
        if regression:
            scores.append(r_squared(truth, out))
        else:
            predicted = np.asarray(dataset.class_names, dtype=object)[out.argmax(axis=1)]
            scores.append(float(np.mean(predicted == labels)))
    column = f"heldout_{metric}"
    shown = [c for c in ("candidate_id", "connections", "hidden_nodes", f"val_{metric}", f"test_{metric}")
             if c in front.columns]
    networks = front[shown].reset_index(drop=True).assign(**{column: scores})
    points = networks[[column, "connections"]].to_numpy(dtype=float)
    networks["heldout_front"] = pareto_mask(points, ["max", "min"])
    reference = REFERENCE_COST_FACTOR * dataset.n_features * dataset.n_outputs
    hv = normalized_hypervolume(networks[[column, "connections"]], [column, "connections"],
                                {column: 0.0, "connections": reference}, {column: 1.0, "connections": 0.0},
                                ["max", "min"])
    return HeldOutScores(info["id"], dataset.kind, metric, len(x), networks, float(hv), float(reference),
                         ignored, unseen, missing_values(x, list(dataset.feature_names)))


def missing_values(x: np.ndarray, features: list[str]) -> dict[str, int]:
    """The feature columns of ``x`` with missing values (NaN), in column order, and their counts."""
    counts = np.isnan(x).sum(axis=0)
    return {features[k]: int(counts[k]) for k in np.flatnonzero(counts)}


def heldout_rows(data: str | Path | pd.DataFrame, dataset: Dataset, target: str
                 ) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """(raw features in the campaign's column order, raw targets, the columns left out) of ``data``."""
    if isinstance(data, pd.DataFrame):
        frame, source = data.rename(columns=str), "the held-out frame"
    else:
        path = Path(data)
        if not path.is_file():
            raise DataError(f"held-out file {str(path)!r} does not exist")
        suffix = path.suffix.lower()
        if suffix not in FILE_EXTENSIONS:
            raise DataError(f"held-out file {str(path)!r}: expected one of {', '.join(FILE_EXTENSIONS)}")
        source = f"held-out file {str(path)!r}"
        frame = _npz_frame(path, target) if suffix == ".npz" else read_frame(path, suffix)
    columns = list(frame.columns)
    if target not in columns:
        guess = meant_target(target, columns)
        hint = f"; did you mean {guess!r}?" if guess else ""
        raise DataError(f"{source} has no target column {target!r} (the campaign's task.target){hint}")
    features = list(dataset.feature_names)
    absent = [c for c in features if c not in columns]
    if absent:
        raise DataError(f"{source} lacks {len(absent)} of the campaign's {len(features)} feature columns: "
                        f"{absent[:10]}{' ...' if len(absent) > 10 else ''}; it has {columns[:20]}")
    if len(frame) == 0:
        raise DataError(f"{source} has no data rows")
    text = non_numeric_columns(frame, features)
    if text:
        example = example_non_numeric(frame[text[0]])
        raise DataError(f"{source}: feature column {text[0]!r} is not numeric (dtype {frame[text[0]].dtype}; "
                        f"example value {example!r}); the campaign trained on numbers: "
                        "encode it as the training file encoded it")
    x = frame[features].to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isinf(x).any():
        column = features[int(np.argwhere(np.isinf(x))[0, 1])]
        raise DataError(f"{source}: feature column {column!r} has infinite values")
    y = frame[target]
    if y.isna().any():
        raise DataError(f"{source}: target column {target!r} has {int(y.isna().sum())} missing value(s)")
    ignored = tuple(c for c in columns if c not in features and c != target)
    return x, y.to_numpy(), ignored


def _npz_frame(path: Path, target: str) -> pd.DataFrame:
    """An NPZ file's features (named ``x0``, ``x1``, ... as connevo names them) and target as a frame."""
    x, y, names = read_npz(path, target)
    frame = pd.DataFrame(x, columns=list(names))
    frame[target] = y
    return frame


def _numeric(values: np.ndarray, target: str) -> np.ndarray:
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"held-out target {target!r} of a regression must be numbers: {exc}") from exc


def r_squared(truth: np.ndarray, predicted: np.ndarray) -> float:
    """1 - SSE / SST on the held-out rows (SST about their own mean; 0 where the target is constant
    and the prediction is not exact)."""
    sse = float(np.sum((truth - predicted) ** 2))
    sst = float(np.sum((truth - truth.mean()) ** 2))
    return 1.0 - sse / sst if sst > 0 else (1.0 if sse == 0 else 0.0)


__all__ = ["HeldOutScores", "heldout_rows", "missing_values", "r_squared", "score_front"]
