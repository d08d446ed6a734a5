"""The Python entry point: run a spec, get DataFrames back."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from connevo.errors import SpecError
from connevo.evolution.campaign import Campaign
from connevo.evolution.embedded_ray import data_loaded_beside_embedded_ray
from connevo.evolution.observers import CampaignObserver
from connevo.evolution.spec import CampaignSpec, load_spec
from connevo.results import queries
from connevo.results.metrics import register_prediction_metric
from connevo.results.storage import BaseStore
from connevo.results.store import open_store
from connevo.workers.evaluator import Evaluator


@dataclass
class CampaignResult:
    """A finished (or stored) campaign, queried from its store."""

    campaign_id: str
    store: BaseStore

    def front(self, objectives: Sequence[str] | None = None, *, max_connections: int | None = None) -> pd.DataFrame:
        """Non-dominated candidates; objectives default to the campaign's own."""
        if objectives is None:
            objectives = queries.campaign_objectives(self.store.get_campaign(self.campaign_id)["spec"])
        return queries.front(self.store, self.campaign_id, objectives, max_connections=max_connections)

    def candidates(self) -> pd.DataFrame:
        return self.store.candidates(self.campaign_id)

    def generations(self) -> pd.DataFrame:
        return self.store.generations(self.campaign_id)

    def info(self) -> dict[str, Any]:
        return self.store.get_campaign(self.campaign_id)


DATA_DIR_ENV = "CONNEVO_DATA_DIR"
"""Where :func:`run` keeps the data frames it is given (default: ``connevo-data`` beside an SQLite
store's file, else in the current folder)."""


UserMetrics = Mapping[str, Callable[[np.ndarray, np.ndarray], float] | Mapping[str, Any]]
"""``{name: fn}`` or ``{name: {"fn": fn, "sense": "min", "worst": ..., "best": ..., "kind": ...}}``:
metrics of the predicted probabilities, ``fn(y_true, y_score) -> float`` (scikit-learn's
signature); with ``"kind": "regression"``, of a regression's predictions (``fn(y_true, y_pred)``
in the target's units)."""


def register_metrics(metrics: UserMetrics | None) -> None:
    """Register each user metric as ``val_<name>`` and ``test_<name>``
    (:func:`results.metrics.register_prediction_metric`); a bad one is a :class:`SpecError`."""
    for name, given in (metrics or {}).items():
        options = dict(given) if isinstance(given, Mapping) else {"fn": given}
        unknown = set(options) - {"fn", "sense", "worst", "best", "description", "kind"}
        if unknown or "fn" not in options:
            raise SpecError(f"metrics[{name!r}]: give a function, or a mapping with 'fn' and optionally 'sense', "
                            f"'worst', 'best', 'description', 'kind'" + (f" (unknown: {sorted(unknown)})" if unknown else ""))
        try:
            register_prediction_metric(name, options.pop("fn"), **options)
        except ValueError as exc:
            raise SpecError(f"metrics[{name!r}]: {exc}") from None


def run(
    spec: CampaignSpec | str | Path | dict[str, Any],
    store: BaseStore | str | None = None,
    *,
    data: pd.DataFrame | tuple[Any, Any] | None = None,
    metrics: UserMetrics | None = None,
    observers: Sequence[CampaignObserver] = (),
    evaluator: Evaluator | None = None,
) -> CampaignResult:
    """Run a campaign to the end and return a handle on its results.

    ``spec`` is a :class:`CampaignSpec`, a TOML/JSON path or a dict; ``store`` a :class:`~results.storage.BaseStore`,
    a path or SQLAlchemy URL, or None for ``$CONNEVO_STORE`` / ``./connevo.db``. ``data``: a pandas
    DataFrame to search on instead of ``task.dataset`` (its ``task.target`` column is the label),
    or ``(X, y)`` arrays (:func:`frame_of_arrays`):
    it is saved as a Parquet file named by its content (:func:`keep_frame`), which the campaign's
    spec names, so that the campaign can be resumed and its networks exported later.
    ``metrics``: metrics of the predicted probabilities (:data:`UserMetrics`), measured by the
    workers for every candidate as ``val_<name>`` and ``test_<name>``; ``val_<name>`` may be an
    objective of ``spec``. Give them again to :func:`resume` or :func:`extend` the campaign.
    """
    register_metrics(metrics)
    if not isinstance(store, BaseStore):
        store = open_store(store)
    if data is not None:  # the saved frame is the campaign's data set (a dict spec may leave it out)
        if isinstance(data, tuple | list):
            data = frame_of_arrays(data, _target_of(spec))
        saved = str(keep_frame(data, store))
        if isinstance(spec, dict):
            spec = {**spec, "task": {**(spec.get("task") or {}), "dataset": saved}}
        else:
            spec = (spec if isinstance(spec, CampaignSpec) else load_spec(spec)).with_overrides(
                **{"task.dataset": saved})
    if not isinstance(spec, CampaignSpec):
        spec = load_spec(spec)
    # on the embedded Ray, the data set loads while Ray starts (evolution/embedded_ray.py)
    with data_loaded_beside_embedded_ray(spec if evaluator is None else None) as dataset:
        campaign = Campaign(spec, store, dataset=dataset, evaluator=evaluator, observers=observers)
        campaign_id = campaign.run()
    return CampaignResult(campaign_id, store)


def _target_of(spec: CampaignSpec | str | Path | dict[str, Any]) -> str:
    """The spec's ``task.target`` (default ``label``), from a spec that may lack ``task.dataset``."""
    if isinstance(spec, CampaignSpec):
        return spec.task.target
    if isinstance(spec, dict):
        task = spec.get("task") or {}
        return str(task.get("target", "label")) if isinstance(task, dict) else "label"
    return load_spec(spec).task.target


def frame_of_arrays(data: tuple[Any, Any] | list[Any], target: str) -> pd.DataFrame:
    """``(X, y)`` as a data frame: X's columns (a DataFrame's names, else ``x0, x1, ...``), then y
    as the ``target`` column. :class:`SpecError` naming ``data`` for anything else."""
    if len(data) != 2:
        raise SpecError(f"data: give a pandas DataFrame or (X, y), got a sequence of {len(data)}")
    x, y = data
    features = x.reset_index(drop=True) if isinstance(x, pd.DataFrame) else None
    if features is None:
        array = np.asarray(x)
        if array.ndim != 2:
            raise SpecError(f"data: X must be 2-D (rows x features), got shape {array.shape}")
        features = pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])
    labels = np.asarray(y)
    if labels.ndim != 1:
        raise SpecError(f"data: y must be 1-D (one label per row), got shape {labels.shape}")
    if len(labels) != len(features):
        raise SpecError(f"data: X has {len(features)} rows but y has {len(labels)}")
    if target in features.columns:
        raise SpecError(f"data: X has a column named {target!r}, the task.target the labels go to")
    return features.assign(**{target: labels})


def keep_frame(frame: pd.DataFrame, store: BaseStore) -> Path:
    """Save ``frame`` as ``<folder>/<content hash>.parquet`` (the same frame, the same file) and
    return the path; the folder is ``$CONNEVO_DATA_DIR``, else ``connevo-data`` beside an SQLite
    store's file, else in the current folder."""
    if not isinstance(frame, pd.DataFrame):
        raise SpecError(f"data must be a pandas DataFrame, got {type(frame).__name__}")
    if frame.empty:
        raise SpecError("data: the data frame has no rows")
    if os.environ.get(DATA_DIR_ENV):
        folder = Path(os.environ[DATA_DIR_ENV])
    elif store.url.startswith("sqlite:///") and store.url != "sqlite:///:memory:":
        folder = Path(store.url[len("sqlite:///"):]).parent / "connevo-data"
    else:
        folder = Path.cwd() / "connevo-data"
    table = frame.reset_index(drop=True)
    table.columns = [str(c) for c in table.columns]
    digest = hashlib.sha256(pd.util.hash_pandas_object(table, index=False).values.tobytes())
    digest.update(",".join(table.columns).encode())
    path = folder.absolute() / f"{digest.hexdigest()[:16]}.parquet"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".parquet.partial")
        table.to_parquet(partial, index=False)
        partial.replace(path)  # a crash never leaves half a file under the final name
    return path


def resume(
    campaign: str,
    store: BaseStore | str | None = None,
    *,
    metrics: UserMetrics | None = None,
    observers: Sequence[CampaignObserver] = (),
    evaluator: Evaluator | None = None,
) -> CampaignResult:
    """Continue a stopped, failed or killed campaign (id or name) to its end (``metrics``: the
    user metrics it was run with, see :func:`run`)."""
    from connevo.evolution.campaign import Campaign as _Campaign

    register_metrics(metrics)
    if not isinstance(store, BaseStore):
        store = open_store(store)
    resumed = _Campaign.from_store(store, campaign, evaluator=evaluator, observers=observers)
    return CampaignResult(resumed.run(), store)


def extend(
    campaign: str,
    generations: int,
    store: BaseStore | str | None = None,
    *,
    metrics: UserMetrics | None = None,
    observers: Sequence[CampaignObserver] = (),
    evaluator: Evaluator | None = None,
) -> CampaignResult:
    """Give a campaign (id or name; finished or not) more generations: it continues to
    ``generations`` as if it had been launched with that many (:mod:`evolution.extension`), and
    its new front is polished. Optuna's ``load_study`` + ``optimize``, for a campaign.
    ``metrics``: the user metrics it was run with (:func:`run`)."""
    from connevo.evolution.campaign import Campaign as _Campaign

    register_metrics(metrics)
    if not isinstance(store, BaseStore):
        store = open_store(store)
    extended = _Campaign.from_store(store, campaign, evaluator=evaluator, observers=observers, generations=generations)
    return CampaignResult(extended.run(), store)

