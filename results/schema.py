"""The SQL store's schema (tables and column types) and the conversions between its rows and
plain Python values / DataFrames."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from connevo.errors import StoreError
from connevo.results import genome_codec


class PackedGenome(sa.types.TypeDecorator[dict[str, Any]]):
    """A genome's JSON document (or a pending candidate row holding one) stored as the compact
    bytes of :mod:`results.genome_codec` (binary: BLOB / bytea); read back as the same dict.
    Values a store wrote before they were encoded (JSON text) read as well."""

    impl = sa.LargeBinary
    cache_ok = True

    def process_bind_param(self, value: Mapping[str, Any] | None, dialect: sa.Dialect) -> bytes | None:
        if value is None:
            return None
        # what is stored is what a JSON column kept (numpy values as plain numbers, tuples as
        # lists), and reading it back gives what reading JSON gave: a document of plain JSON
        # types (every genome's and candidate row's) as it is, any other through JSON first
        try:
            return genome_codec.encode(value, strict=True)  # type: ignore[arg-type]
        except genome_codec.NotPlain:
            return genome_codec.encode(json.loads(json_dumps(value)))

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> dict[str, Any] | None:
        return genome_codec.read(value)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A datetime stored as naive UTC and always read back timezone-aware (UTC)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise StoreError(f"naive datetime {value!r}: connevo stores timezone-aware UTC datetimes")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# --------------------------------------------------------------------------------------------
# Schema

metadata = sa.MetaData()

meta_table = sa.Table(
    "connevo_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

campaigns_table = sa.Table(
    "campaigns",
    metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, index=True),
    sa.Column("spec", sa.JSON, nullable=False),
    sa.Column("seed", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("generations_done", sa.Integer, nullable=False, default=0),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("driver", sa.String(200), nullable=True),  # the process running it (Store.claim)
    # its rows in candidates, kept by every write that adds some: read per status request
    sa.Column("candidate_count", sa.Integer, nullable=False, default=0, server_default="0"),
)

candidates_table = sa.Table(
    "candidates",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("campaign_id", sa.String(16), sa.ForeignKey("campaigns.id"), nullable=False, index=True),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("generation", sa.Integer, nullable=False),
    sa.Column("parents", sa.JSON, nullable=False),
    sa.Column("genome", PackedGenome, nullable=False),  # results/genome_codec.py: about a tenth of its JSON
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("seed", sa.BigInteger, nullable=False),
    sa.Column("train_accuracy", sa.Float, nullable=True),
    sa.Column("val_accuracy", sa.Float, nullable=True),
    sa.Column("test_accuracy", sa.Float, nullable=True),
    sa.Column("train_loss", sa.Float, nullable=True),
    sa.Column("val_loss", sa.Float, nullable=True),
    sa.Column("test_loss", sa.Float, nullable=True),
    sa.Column("connections", sa.Integer, nullable=True),
    sa.Column("params", sa.BigInteger, nullable=True),
    sa.Column("flops", sa.BigInteger, nullable=True),
    sa.Column("depth", sa.Integer, nullable=True),
    sa.Column("hidden_nodes", sa.Integer, nullable=True),
    sa.Column("wiring_length", sa.Float, nullable=True),
    sa.Column("modularity", sa.Float, nullable=True),
    sa.Column("train_val_gap", sa.Float, nullable=True),
    sa.Column("train_test_gap", sa.Float, nullable=True),
    sa.Column("epochs", sa.Integer, nullable=True),
    sa.Column("seconds", sa.Float, nullable=True),
    # version 4: what every front query filters on, as columns (also kept in extra, where writers put
    # them): the front then reads no candidate's extra JSON
    sa.Column("fidelity", sa.Float, nullable=True),  # extra["fidelity"]: share of its training (multi-fidelity)
    sa.Column("polished_from", sa.String(64), nullable=True),  # extra["polished_from"]: the candidate it replaces
    sa.Column("extra", sa.JSON, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("campaign_id", "number", name="uq_candidates_campaign_number"),
    sa.Index("ix_candidates_campaign_status", "campaign_id", "status"),
)

generations_table = sa.Table(
    "generations",
    metadata,
    sa.Column("campaign_id", sa.String(16), sa.ForeignKey("campaigns.id"), primary_key=True),
    sa.Column("generation", sa.Integer, primary_key=True),
    sa.Column("population", sa.JSON, nullable=False),
    sa.Column("front_size", sa.Integer, nullable=False),
    sa.Column("hypervolume", sa.Float, nullable=False),
    sa.Column("best_val_accuracy", sa.Float, nullable=True),
    sa.Column("evaluations", sa.Integer, nullable=False),
    sa.Column("checkpoint", sa.JSON, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

pending_table = sa.Table(
    "pending_evaluations",
    metadata,
    sa.Column("campaign_id", sa.String(16), sa.ForeignKey("campaigns.id"), primary_key=True),
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("generation", sa.Integer, nullable=False),
    sa.Column("row", PackedGenome, nullable=False),  # a candidate row with its genome: encoded the same way
    sa.Column("created_at", UTCDateTime, nullable=False),
)
"""Finished evaluations of a generation not yet committed: a resumed driver reuses them, so no
finished evaluation is lost or repeated. The generation's commit deletes them atomically."""

CAMPAIGN_COLUMNS = tuple(c.name for c in campaigns_table.columns)
CANDIDATE_COLUMNS = tuple(c.name for c in candidates_table.columns)
GENERATION_COLUMNS = tuple(c.name for c in generations_table.columns)

FLOAT_COLUMNS = frozenset(
    c.name for c in candidates_table.columns if isinstance(c.type, sa.Float)
) | {"hypervolume", "best_val_accuracy"}
NULLABLE_INT_COLUMNS = frozenset(
    c.name
    for c in candidates_table.columns
    if isinstance(c.type, sa.Integer) and c.nullable
)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, genome_codec.Records):
        return obj.rows()
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def json_dumps(obj: Any) -> str:
    return json.dumps(obj, default=_json_default)


# --------------------------------------------------------------------------------------------
# Value coercion


def scalar(column: str, value: Any) -> Any:
    """Plain Python value for a numeric column: numpy scalars unwrapped, NaN/NA made NULL."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, (np.generic,)):
        value = value.item()
    if column in FLOAT_COLUMNS:
        value = float(value)
        return None if math.isnan(value) else value
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if not value.is_integer():
            raise StoreError(f"column {column!r} takes an integer, got {value!r}")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise StoreError(f"column {column!r} takes an integer, got {value!r}")
    return int(value)


INT_COLUMNS = frozenset(
    c.name for c in candidates_table.columns if isinstance(c.type, sa.Integer)
)


def frame(rows: Iterable[Mapping[str, Any]] | Iterable[Sequence[Any]], columns: list[str]) -> pd.DataFrame:
    """A DataFrame with the given columns (even when empty) and stable dtypes, from rows as
    mappings or as tuples in the order of ``columns``.

    Timestamps become ``datetime64[UTC]``; nullable integer metrics become ``Int64``; float
    metrics ``float64``; JSON columns stay Python objects.
    """
    records = list(rows)
    if not records:
        df = pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    elif isinstance(records[0], Mapping):
        df = pd.DataFrame.from_records(records, columns=columns)
    else:  # column by column: from_records probes every row for namedtuple fields, and a SQLAlchemy
        # row answers each probe with a raised and caught exception (most of a 10^4-row front's time)
        df = pd.DataFrame({c: list(values) for c, values in zip(columns, zip(*records), strict=True)}, columns=columns)
    for col in columns:
        if col in ("created_at", "updated_at"):
            df[col] = pd.to_datetime(df[col], utc=True)
        elif col in FLOAT_COLUMNS:
            df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
        elif col in NULLABLE_INT_COLUMNS:
            df[col] = df[col].astype("Int64")
        elif col in ("number", "generation", "seed", "generations_done", "candidates", "front_size", "evaluations"):
            df[col] = df[col].astype("int64")
    return df





CANDIDATE_STATUSES = ("ok", "failed", "diverged", "timeout")
LIFTED_EXTRA = ("fidelity", "polished_from")
"""Keys of a candidate's ``extra`` that are also columns (schema version 4), filled from it when written."""
_REQUIRED_CANDIDATE_KEYS = ("number", "generation", "genome", "status", "seed")


def candidate_values(campaign_id: str, cand: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The candidates-table row of candidate ``cand`` (a dict of its columns); StoreError naming
    an unknown column, a missing required one, another campaign or a bad status."""
    unknown = sorted(set(cand) - set(CANDIDATE_COLUMNS))
    if unknown:
        raise StoreError(
            f"unknown candidate field(s) {unknown!r}; put new metrics under 'extra'"
        )
    missing = [k for k in _REQUIRED_CANDIDATE_KEYS if cand.get(k) is None]
    if missing:
        raise StoreError(f"candidate {cand.get('id', cand.get('number'))!r} lacks {missing!r}")
    if cand.get("campaign_id", campaign_id) != campaign_id:
        raise StoreError(
            f"candidate of campaign {cand['campaign_id']!r} given to campaign {campaign_id!r}"
        )
    if cand["status"] not in CANDIDATE_STATUSES:
        raise StoreError(
            f"candidate status must be one of {CANDIDATE_STATUSES}, got {cand['status']!r}"
        )
    row: dict[str, Any] = {name: None for name in CANDIDATE_COLUMNS}
    for key, value in cand.items():
        if key in FLOAT_COLUMNS or key in INT_COLUMNS:
            row[key] = scalar(key, value)
        else:
            row[key] = value
    row["campaign_id"] = campaign_id
    if not row["id"]:
        row["id"] = f"{campaign_id}-{row['number']}"
    row["id"] = str(row["id"])
    row["parents"] = [str(p) for p in (row["parents"] or [])]
    row["genome"] = dict(row["genome"])
    row["extra"] = dict(row["extra"] or {})
    for lifted in LIFTED_EXTRA:  # the columns versions 4 lifted out of extra follow it
        if row[lifted] is None and row["extra"].get(lifted) is not None:
            row[lifted] = scalar(lifted, row["extra"][lifted]) if lifted in FLOAT_COLUMNS else str(row["extra"][lifted])
    row["created_at"] = row["created_at"] or now
    return row


__all__ = [
    "CAMPAIGN_COLUMNS",
    "CANDIDATE_COLUMNS",
    "CANDIDATE_STATUSES",
    "FLOAT_COLUMNS",
    "GENERATION_COLUMNS",
    "INT_COLUMNS",
    "LIFTED_EXTRA",
    "NULLABLE_INT_COLUMNS",
    "UTCDateTime",
    "campaigns_table",
    "candidate_values",
    "candidates_table",
    "frame",
    "generations_table",
    "json_dumps",
    "meta_table",
    "metadata",
    "pending_table",
    "scalar",
]
