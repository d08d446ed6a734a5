"""Output shared by the CLI and the HTTP API: JSON-safe values and records, the front's
columns, and tables for the terminal."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

from connevo.results.pareto import POOLED_LOSS

FRONT_COLUMNS = ["candidate_id", "generation", "val_accuracy", "val_loss", "test_accuracy", "train_accuracy",
                 "connections", "params", "flops", "wiring_length", "status"]
"""``val_loss`` beside the accuracy: it decides accuracy ties on the front, or ranks the
front (``objectives.rank_accuracy_by``; results.pareto.TIE_BREAKERS).
A regression's front shows its scores instead of the accuracies (:func:`front_columns`)."""


def front_columns(kind: str) -> list[str]:
    """The front table's columns for a campaign of task ``kind``: :data:`FRONT_COLUMNS`, a
    regression's scores (:data:`results.metrics.HEADLINE`) in place of the accuracy and loss."""
    from connevo.results.metrics import HEADLINE

    if kind == "classification":
        return list(FRONT_COLUMNS)
    scores = [c for c in FRONT_COLUMNS if c.endswith(("_accuracy", "_loss"))]
    at = FRONT_COLUMNS.index(scores[0])
    rest = [c for c in FRONT_COLUMNS if c not in scores]
    return rest[:at] + list(HEADLINE[kind]) + rest[at:]


def frame_kind(frame: pd.DataFrame) -> str:
    """The task kind a front or candidates table comes from: a regression's has R^2 and no accuracy."""
    accuracy = frame["val_accuracy"].notna().any() if "val_accuracy" in frame.columns else False
    return "regression" if "val_r2" in frame.columns and not accuracy else "classification"


def jsonable(value: Any) -> Any:
    """Plain JSON values: NaN/inf and pandas NA become None, timestamps ISO strings."""
    kind = type(value)
    if kind is str or kind is int or kind is bool:  # most values: answered before any other check
        return value
    if kind is float:
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return jsonable(value.item())
    return value


def records(frame: pd.DataFrame, drop: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """The rows of ``frame`` as JSON-safe dicts, without the ``drop`` columns."""
    frame = frame.drop(columns=[c for c in drop if c in frame.columns])
    return [jsonable(dict(zip(frame.columns, row))) for row in frame.itertuples(index=False, name=None)]


def console() -> Console:
    """Standard output for tables: 200 columns wide when it is not a terminal (a supervised
    campaign command writes to a pipe, drawn for its supervisor's terminal if that is one)."""
    from connevo.service.supervisor import STDOUT_COLUMNS_ENV, terminal_columns

    columns = terminal_columns(STDOUT_COLUMNS_ENV)
    if columns is not None:
        return Console(soft_wrap=False, force_terminal=True, width=columns)
    return Console(soft_wrap=False, width=200 if not sys.stdout.isatty() else None)


def front_view(front: pd.DataFrame, objectives: Sequence[str], every_metric: bool = False,
               kind: str | None = None) -> pd.DataFrame:
    """The front's columns to show: the table's (:func:`front_columns` of the campaign's task
    ``kind``, else of the kind the front's columns say) and the objectives; with ``every_metric``
    (JSON and CSV) every registered metric of that kind too (:mod:`results.metrics`)."""
    from connevo.results.metrics import applies, metrics

    kind = kind or frame_kind(front)
    columns = [c for c in front_columns(kind) if c in front.columns]
    if POOLED_LOSS in front.columns:  # what ranks the front ("pooled"): beside the score it ranks
        first = objectives[0] if objectives and objectives[0] in columns else None
        columns.insert(columns.index(first) + 1 if first is not None else len(columns), POOLED_LOSS)
    extra = [m.name for m in metrics() if applies(m, kind)] if every_metric else []
    columns += [o for o in [*objectives, *extra] if o in front.columns and o not in columns]
    return front[columns]


def fmt_value(value: Any) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def print_frame(console: Console, frame: pd.DataFrame) -> None:
    table = Table()
    for column in frame.columns:
        table.add_column(str(column), justify="right" if pd.api.types.is_numeric_dtype(frame[column]) else "left")
    for record in frame.itertuples(index=False):
        table.add_row(*(fmt_value(v) for v in record))
    console.print(table)


def emit(frame: pd.DataFrame, fmt: str, empty: str) -> None:
    if fmt == "json":
        print(json.dumps(records(frame), indent=2))
    elif fmt == "csv":
        sys.stdout.write(frame.to_csv(index=False))
    elif frame.empty:
        print(empty)
    else:
        print_frame(console(), frame)


__all__ = ["FRONT_COLUMNS", "console", "emit", "fmt_value", "frame_kind", "front_columns", "front_view", "jsonable",
           "print_frame", "records"]
