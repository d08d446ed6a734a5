"""The campaign store: campaigns, candidates and generations over SQLAlchemy.

An SQLite file by default (WAL mode, foreign keys on), any SQLAlchemy URL otherwise (PostgreSQL).
Every method returns plain Python values or pandas DataFrames, never ORM objects. The store is
thread-safe within one process: each call checks a connection out of the engine's pool.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from connevo.errors import CampaignBusyError, NotFoundError, StoreError
from results import drivers, migrations, schema, sqlite_files
from results.drivers import HEARTBEAT_S, STALE_AFTER_S
from results.schema import (
    CANDIDATE_COLUMNS,
    GENERATION_COLUMNS,
    campaigns_table,
    candidates_table,
    generations_table,
    meta_table,
    metadata,
    pending_table,
)
from results.storage import BaseStore

DEFAULT_STORE = "connevo.db"
STORE_ENV = "CONNEVO_STORE"
SCHEMA_VERSION = migrations.LATEST

CAMPAIGN_STATUSES = ("running", "finished", "failed", "stopped")
CANDIDATE_STATUSES = ("ok", "failed", "diverged", "timeout")


# --------------------------------------------------------------------------------------------
# Liveness


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _stale(status: Any, updated_at: Any, now: datetime) -> bool:
    return drivers.is_stale(status, updated_at, now)


# --------------------------------------------------------------------------------------------
# URLs and opening


def resolve_store_url(url_or_path: str | os.PathLike[str] | None) -> str:
    """Turn a store argument into an SQLAlchemy URL.

    ``None`` or ``""``: the ``CONNEVO_STORE`` environment variable, else ``./connevo.db``. A value
    containing ``://`` is used as is; anything else is a file path, made ``sqlite:///<absolute>``.
    """
    value = os.fspath(url_or_path) if url_or_path is not None else ""
    if not value:
        value = os.environ.get(STORE_ENV, "") or DEFAULT_STORE
    if "://" in value:
        return value
    path = Path(value).expanduser().absolute()
    return f"sqlite:///{path}"


def open_store(url_or_path: str | os.PathLike[str] | None = None) -> Store:
    """Open (creating if new) the store at ``url_or_path``; see :func:`resolve_store_url`."""
    return Store(url_or_path)


def _check_version(where: str, version: Any) -> int:
    """The store's schema version; :class:`StoreError` unless this connevo reads or upgrades it."""
    if version is None:
        raise StoreError(f"{where!r} has a connevo_meta table without a schema_version")
    try:
        number = int(version)
    except (TypeError, ValueError):
        raise StoreError(f"{where!r} has an unreadable connevo schema version {version!r}") from None
    if not 1 <= number <= SCHEMA_VERSION:
        raise StoreError(
            f"{where!r} has connevo schema version {version}, but this connevo reads schema versions "
            f"1 to {SCHEMA_VERSION} (a newer connevo wrote it: upgrade connevo)"
        )
    return number

_REQUIRED_CANDIDATE_KEYS = ("number", "generation", "genome", "status", "seed")
_SUMMARY_KEYS = ("population", "front_size", "hypervolume", "best_val_accuracy", "evaluations")


class Store(BaseStore):
    """Campaigns, candidates and generations in one SQLAlchemy database (the
    :class:`results.storage.BaseStore` protocol).

    Open with :func:`open_store`. Writes that belong together (a generation) are one transaction.
    Reads accept a campaign id or name; writes take the id. Use as a context manager or call
    :meth:`close`.
    """

    def __init__(self, url_or_path: str | os.PathLike[str] | None = None) -> None:
        self._url = resolve_store_url(url_or_path)
        try:
            url = make_url(self._url)
        except sa.exc.ArgumentError as exc:
            raise StoreError(f"invalid store URL {self._url!r}: {exc}") from exc
        path = sqlite_files.sqlite_file(url)
        self._sqlite_path = path
        read_only = False
        if path is not None:
            has_meta, version = sqlite_files.check_sqlite_file(path)
            number = _check_version(str(path), version) if has_meta else SCHEMA_VERSION
            reason = sqlite_files.unwritable_reason(path)
            if reason is not None:
                if not path.exists() or path.stat().st_size == 0:
                    raise StoreError(f"cannot create store {str(path)!r}: {reason}")
                if number < SCHEMA_VERSION:
                    raise StoreError(
                        f"store {str(path)!r} has schema version {number}; this connevo upgrades it to "
                        f"{SCHEMA_VERSION} in place when it can write it, and it cannot: {reason}"
                    )
                read_only = True  # reads work; every write fails with ``reason``
        self._read_only = read_only
        self._engine = self._create_engine(url, read_only=read_only)
        try:
            self._prepare_schema()
        except BaseException:
            self._engine.dispose()
            raise

    @staticmethod
    def _create_engine(url: sa.URL, read_only: bool = False) -> Engine:
        kwargs: dict[str, Any] = {"json_serializer": schema.json_dumps}
        is_sqlite = url.get_backend_name() == "sqlite"
        path = sqlite_files.sqlite_file(url)
        if read_only and path is not None:
            engine = sa.create_engine("sqlite://", creator=sqlite_files.read_only_connector(path), poolclass=sa.pool.NullPool,
                                      **kwargs)
            sa.event.listen(engine, "connect", sqlite_files.read_only_on_connect)
            return engine
        if is_sqlite:
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
            if sqlite_files.sqlite_file(url) is None:  # in memory: one shared connection
                kwargs["poolclass"] = sa.pool.StaticPool
        try:
            engine = sa.create_engine(url, **kwargs)
        except (SQLAlchemyError, ImportError) as exc:
            raise StoreError(f"cannot open store {url.render_as_string()!r}: {exc}") from exc
        if is_sqlite:
            sa.event.listen(engine, "connect", sqlite_files.on_connect)
        return engine

    def _prepare_schema(self) -> None:
        """Check the schema version, or create the schema in an empty database. Stores opened at
        once on an empty database (two campaigns starting) create it once: PostgreSQL serializes
        them with an advisory lock; elsewhere the loser of the race checks again."""
        try:
            try:
                self._prepare_schema_once()
            except SQLAlchemyError:
                self._prepare_schema_once()  # another process created the schema meanwhile
        except SQLAlchemyError as exc:
            reason = sqlite_files.sqlite_reason(exc, self._sqlite_path)
            if reason is not None:
                raise StoreError(f"cannot open store {str(self._sqlite_path)!r}: {reason}") from exc
            raise StoreError(f"cannot open store {self._display_url!r}: {exc}") from exc

    def _prepare_schema_once(self) -> None:
        where = self._display_url
        with self._engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7315542)")
            elif conn.dialect.name == "sqlite" and not self._read_only:
                # pysqlite begins a transaction only before DML: begin one now, holding the write
                # lock, so that creating or upgrading the schema is one transaction (all or nothing)
                # and stores opened at once on the file do it one after the other
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            tables = set(sa.inspect(conn).get_table_names())
            if "connevo_meta" in tables:
                key = meta_table.c.key == "schema_version"
                row = conn.execute(sa.select(meta_table.c.value).where(key)).first()
                version = _check_version(where, row[0] if row else None)
                if version < SCHEMA_VERSION:  # an earlier connevo's store: upgrade it in place
                    try:
                        migrations.upgrade(conn, version)
                    except Exception as exc:  # raised inside the transaction: rolled back
                        raise StoreError(f"cannot upgrade store {where!r} from schema version {version} to "
                                         f"{SCHEMA_VERSION} (it is left as it was): {exc}") from exc
                    conn.execute(sa.update(meta_table).where(key).values(value=str(SCHEMA_VERSION)))
                return
            if tables:
                raise StoreError(
                    f"{where!r} is a database but not a connevo store "
                    f"(it has tables {sorted(tables)!r} and no connevo_meta)"
                )
            metadata.create_all(conn)
            conn.execute(sa.insert(meta_table).values(key="schema_version", value=str(SCHEMA_VERSION)))

    # ---------------------------------------------------------------------------------------
    # Housekeeping

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of this store."""
        return self._url

    @property
    def _display_url(self) -> str:
        return make_url(self._url).render_as_string(hide_password=True)

    def __repr__(self) -> str:
        return f"Store({self._display_url!r})"

    def close(self) -> None:
        """Release every pooled connection."""
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------------------------------
    # Campaigns

    def create_campaign(self, name: str, spec: Mapping[str, Any], seed: int, driver: str | None = None) -> str:
        """Insert a campaign with status ``running`` (run by ``driver``); return its new 8-character id."""
        now = _utcnow()
        campaign_id = uuid.uuid4().hex[:8]
        with self._write(f"new campaign {str(name)!r}") as conn:
            conn.execute(
                sa.insert(campaigns_table).values(
                    id=campaign_id,
                    name=str(name),
                    spec=dict(spec),
                    seed=int(seed),
                    status="running",
                    error=None,
                    generations_done=0,
                    created_at=now,
                    updated_at=now,
                    driver=driver,
                )
            )
        return campaign_id

    def claim_campaign(self, campaign_id: str, driver: str) -> None:
        """Make ``driver`` the campaign's one driver, status ``running`` (:mod:`results.drivers`)."""
        now = _utcnow()
        with self._write(f"driver of campaign {campaign_id!r}") as conn:
            result = conn.execute(
                sa.update(campaigns_table)
                .where((campaigns_table.c.id == campaign_id) & drivers.claimable(driver, now))
                .values(status="running", error=None, driver=driver, updated_at=now)
            )
            if result.rowcount == 0:
                row = self._find_campaign(conn, campaign_id)  # NotFoundError when there is none
                if not drivers.died_on_this_host(row["driver"]):
                    raise CampaignBusyError(drivers.busy_message(row, now))
                # its driver was a process of this host that is gone: take over now, unless
                # another process just did (the same driver must still be there)
                taken = conn.execute(
                    sa.update(campaigns_table)
                    .where((campaigns_table.c.id == campaign_id) & (campaigns_table.c.driver == row["driver"]))
                    .values(status="running", error=None, driver=driver, updated_at=now)
                )
                if taken.rowcount == 0:
                    raise CampaignBusyError(drivers.busy_message(self._find_campaign(conn, campaign_id), now))

    def set_campaign_status(self, campaign_id: str, status: str, error: str | None = None,
                            driver: str | None = None) -> None:
        """Set a campaign's status (running, finished, failed, stopped) and error text; with
        ``driver``, only while the campaign is that driver's, and an end releases it."""
        if status not in CAMPAIGN_STATUSES:
            raise StoreError(f"campaign status must be one of {CAMPAIGN_STATUSES}, got {status!r}")
        what = f"status {status!r} of campaign {campaign_id!r}" + (f" (its error: {error})" if error else "")
        values: dict[str, Any] = {"status": status, "error": error, "updated_at": _utcnow()}
        if driver is not None and status != "running":
            values["driver"] = None
        with self._write(what) as conn:
            result = conn.execute(
                sa.update(campaigns_table)
                .where((campaigns_table.c.id == campaign_id) & drivers.owned_by(driver))
                .values(**values)
            )
            if result.rowcount == 0:
                row = self._find_campaign(conn, campaign_id)  # NotFoundError when there is none
                raise CampaignBusyError(drivers.busy_message(row, _utcnow()))

    def get_campaign(self, id_or_name: str) -> dict[str, Any]:
        """A campaign by id, else the most recent one with that name, plus its ``candidates`` count."""
        with self._engine.connect() as conn:
            row = self._find_campaign(conn, id_or_name)
            count = conn.execute(
                sa.select(sa.func.count())
                .select_from(candidates_table)
                .where(candidates_table.c.campaign_id == row["id"])
            ).scalar_one()
        return {**row, "candidates": int(count), "stale": _stale(row["status"], row["updated_at"], _utcnow())}

    def list_campaigns(self) -> pd.DataFrame:
        """All campaigns, newest first: id, name, status, generations_done, candidates, created_at,
        stale (running, but its driver has not been heard of for :data:`STALE_AFTER_S`)."""
        counts = (
            sa.select(candidates_table.c.campaign_id, sa.func.count().label("n"))
            .group_by(candidates_table.c.campaign_id)
            .subquery()
        )
        c = campaigns_table.c
        query = (
            sa.select(
                c.id,
                c.name,
                c.status,
                c.generations_done,
                sa.func.coalesce(counts.c.n, 0).label("candidates"),
                c.created_at,
                c.updated_at,
            )
            .select_from(campaigns_table.outerjoin(counts, counts.c.campaign_id == c.id))
            .order_by(c.created_at.desc(), c.id)
        )
        with self._engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(query)]
        now = _utcnow()
        for row in rows:
            row["stale"] = _stale(row["status"], row.pop("updated_at"), now)
        columns = ["id", "name", "status", "generations_done", "candidates", "created_at", "stale"]
        return schema.frame(rows, columns)

    def heartbeat(self, campaign_id: str, driver: str | None = None) -> bool:
        """Mark a running campaign as alive (its driver calls this every :data:`HEARTBEAT_S`);
        False when it is not running or, with ``driver``, no longer that driver's."""
        c = campaigns_table.c
        with self._write(f"heartbeat of campaign {campaign_id!r}") as conn:
            result = conn.execute(
                sa.update(campaigns_table)
                .where((c.id == campaign_id) & (c.status == "running") & drivers.owned_by(driver))
                .values(updated_at=_utcnow())
            )
        return bool(result.rowcount)

    def _find_campaign(self, conn: Connection, id_or_name: str) -> dict[str, Any]:
        c = campaigns_table.c
        row = conn.execute(sa.select(campaigns_table).where(c.id == id_or_name)).first()
        if row is None:
            row = conn.execute(
                sa.select(campaigns_table)
                .where(c.name == id_or_name)
                .order_by(c.created_at.desc(), c.id.desc())
                .limit(1)
            ).first()
        if row is None:
            raise NotFoundError(f"no campaign with id or name {id_or_name!r}")
        return dict(row._mapping)

    def _campaign_id(self, conn: Connection, id_or_name: str) -> str:
        return str(self._find_campaign(conn, id_or_name)["id"])

    # ---------------------------------------------------------------------------------------
    # Candidates and generations

    def commit_generation(
        self,
        campaign_id: str,
        generation: int,
        candidates: list[Mapping[str, Any]],
        summary: Mapping[str, Any],
        checkpoint: Mapping[str, Any],
        driver: str | None = None,
    ) -> None:
        """Write one generation atomically: its candidates, its summary row and the checkpoint.

        ``summary`` holds population, front_size, hypervolume, best_val_accuracy, evaluations.
        The campaign's ``generations_done`` becomes ``generation + 1``. All or nothing; with
        ``driver``, nothing unless the campaign is still that driver's.
        """
        generation = int(generation)
        unknown = sorted(set(summary) - set(_SUMMARY_KEYS))
        missing = [k for k in _SUMMARY_KEYS if k not in summary and k != "best_val_accuracy"]
        if unknown or missing:
            raise StoreError(
                f"generation summary: unknown keys {unknown!r}, missing keys {missing!r}; "
                f"expected {list(_SUMMARY_KEYS)!r}"
            )
        now = _utcnow()
        rows = [self._candidate_row(campaign_id, cand, now) for cand in candidates]
        gen_row = {
            "campaign_id": campaign_id,
            "generation": generation,
            "population": [str(p) for p in summary["population"]],
            "front_size": schema.scalar("front_size", summary["front_size"]),
            "hypervolume": schema.scalar("hypervolume", summary["hypervolume"]),
            "best_val_accuracy": schema.scalar("best_val_accuracy", summary.get("best_val_accuracy")),
            "evaluations": schema.scalar("evaluations", summary["evaluations"]),
            "checkpoint": dict(checkpoint),
            "created_at": now,
        }
        if gen_row["hypervolume"] is None:
            gen_row["hypervolume"] = 0.0
        with self._write(f"generation {generation} of campaign {campaign_id!r}") as conn:
            self._require_campaign(conn, campaign_id)
            if rows:
                conn.execute(sa.insert(candidates_table), rows)
            conn.execute(sa.insert(generations_table).values(**gen_row))
            conn.execute(
                sa.delete(pending_table).where(
                    pending_table.c.campaign_id == campaign_id,
                    pending_table.c.generation <= generation,
                )
            )
            conn.execute(
                sa.update(campaigns_table)
                .where(campaigns_table.c.id == campaign_id)
                .values(generations_done=generation + 1, updated_at=now)
            )
            self._require_driver(conn, campaign_id, driver)

    def add_pending(self, campaign_id: str, generation: int, rows: list[Mapping[str, Any]],
                    driver: str | None = None) -> None:
        """Keep finished evaluations of an uncommitted generation (candidate rows, by number);
        with ``driver``, only while the campaign is that driver's."""
        if not rows:
            return
        now = _utcnow()
        values = [
            {
                "campaign_id": campaign_id,
                "number": int(row["number"]),
                "generation": int(generation),
                "row": json.loads(schema.json_dumps(dict(row))),
                "created_at": now,
            }
            for row in rows
        ]
        with self._write(f"pending evaluations of campaign {campaign_id!r}") as conn:
            self._require_campaign(conn, campaign_id)
            conn.execute(
                sa.delete(pending_table).where(
                    pending_table.c.campaign_id == campaign_id,
                    pending_table.c.number.in_([v["number"] for v in values]),
                )
            )
            conn.execute(sa.insert(pending_table), values)
            self._require_driver(conn, campaign_id, driver)

    def pending(self, campaign_id: str) -> dict[int, dict[str, Any]]:
        """Finished-but-uncommitted candidate rows of a campaign, by candidate number."""
        with self._engine.connect() as conn:
            cid = self._campaign_id(conn, campaign_id)
            result = conn.execute(sa.select(pending_table.c.number, pending_table.c.row).where(pending_table.c.campaign_id == cid))
            return {int(r.number): dict(r.row) for r in result}

    def add_candidates(self, campaign_id: str, candidates: list[Mapping[str, Any]]) -> None:
        """Insert candidates outside a generation commit (e.g. compressed variants), atomically."""
        now = _utcnow()
        rows = [self._candidate_row(campaign_id, cand, now) for cand in candidates]
        with self._write(f"candidates of campaign {campaign_id!r}") as conn:
            self._require_campaign(conn, campaign_id)
            if rows:
                conn.execute(sa.insert(candidates_table), rows)
            conn.execute(
                sa.update(campaigns_table)
                .where(campaigns_table.c.id == campaign_id)
                .values(updated_at=now)
            )

    def candidates(self, campaign_id: str, *, status: str | None = None) -> pd.DataFrame:
        """All candidates of a campaign (id or name) ordered by number, optionally of one status."""
        with self._engine.connect() as conn:
            cid = self._campaign_id(conn, campaign_id)
            query = sa.select(candidates_table).where(candidates_table.c.campaign_id == cid)
            if status is not None:
                if status not in CANDIDATE_STATUSES:
                    raise StoreError(f"candidate status must be one of {CANDIDATE_STATUSES}, got {status!r}")
                query = query.where(candidates_table.c.status == status)
            rows = [dict(r._mapping) for r in conn.execute(query.order_by(candidates_table.c.number))]
        return schema.frame(rows, list(CANDIDATE_COLUMNS))

    def candidate(self, candidate_id: str) -> dict[str, Any]:
        """One candidate as a dict (parents a list, genome and extra dicts)."""
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(candidates_table).where(candidates_table.c.id == candidate_id)
            ).first()
        if row is None:
            raise NotFoundError(f"no candidate with id {candidate_id!r}")
        return dict(row._mapping)

    def generations(self, campaign_id: str) -> pd.DataFrame:
        """Generation rows of a campaign (id or name), ordered by generation."""
        with self._engine.connect() as conn:
            cid = self._campaign_id(conn, campaign_id)
            rows = [
                dict(r._mapping)
                for r in conn.execute(
                    sa.select(generations_table)
                    .where(generations_table.c.campaign_id == cid)
                    .order_by(generations_table.c.generation)
                )
            ]
        return schema.frame(rows, list(GENERATION_COLUMNS))

    def latest_checkpoint(self, campaign_id: str) -> dict[str, Any] | None:
        """``{"generation", "population", "checkpoint"}`` of the highest generation, or None."""
        with self._engine.connect() as conn:
            cid = self._campaign_id(conn, campaign_id)
            row = conn.execute(
                sa.select(
                    generations_table.c.generation,
                    generations_table.c.population,
                    generations_table.c.checkpoint,
                )
                .where(generations_table.c.campaign_id == cid)
                .order_by(generations_table.c.generation.desc())
                .limit(1)
            ).first()
        if row is None:
            return None
        return {"generation": int(row.generation), "population": list(row.population), "checkpoint": dict(row.checkpoint)}

    # ---------------------------------------------------------------------------------------
    # Internals

    def _write(self, what: str | None = None) -> _WriteTransaction:
        return _WriteTransaction(self._engine, what or self._display_url, self._sqlite_path)

    def _require_driver(self, conn: Connection, campaign_id: str, driver: str | None) -> None:
        """Unless the campaign is still ``driver``'s, CampaignBusyError (the transaction rolls
        back). Checked after the writes, with the row locked (PostgreSQL) or the database's write
        lock held (SQLite), so a take-over cannot slip in between the check and the commit."""
        if driver is None:
            return
        row = conn.execute(sa.select(campaigns_table).where(campaigns_table.c.id == campaign_id)
                           .with_for_update()).first()
        if row is not None and row.driver != driver:
            raise CampaignBusyError(drivers.busy_message(dict(row._mapping), _utcnow()))

    @staticmethod
    def _require_campaign(conn: Connection, campaign_id: str) -> None:
        found = conn.execute(
            sa.select(campaigns_table.c.id).where(campaigns_table.c.id == campaign_id)
        ).first()
        if found is None:
            raise NotFoundError(f"no campaign with id {campaign_id!r}")

    @staticmethod
    def _candidate_row(campaign_id: str, cand: Mapping[str, Any], now: datetime) -> dict[str, Any]:
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
            if key in schema.FLOAT_COLUMNS or key in schema.INT_COLUMNS:
                row[key] = schema.scalar(key, value)
            else:
                row[key] = value
        row["campaign_id"] = campaign_id
        if not row["id"]:
            row["id"] = f"{campaign_id}-{row['number']}"
        row["id"] = str(row["id"])
        row["parents"] = [str(p) for p in (row["parents"] or [])]
        row["genome"] = dict(row["genome"])
        row["extra"] = dict(row["extra"] or {})
        row["created_at"] = row["created_at"] or now
        return row


class _WriteTransaction:
    """``engine.begin()`` that turns database errors into :class:`StoreError`.

    For an SQLite file (``path``), a write is refused up front, naming the file, once the file
    (or, without a ``-wal`` file, its folder) is no longer writable: a file made read-only while
    a campaign runs stops the campaign at its next write, although SQLite's connections opened
    before would still write through.
    """

    def __init__(self, engine: Engine, what: str, path: Path | None = None) -> None:
        self._engine = engine
        self._what = what
        self._path = path
        self._ctx: Any = None

    def _error(self, exc: BaseException) -> StoreError:
        reason = sqlite_files.sqlite_reason(exc, self._path)
        if reason is None:
            reason = str(exc.orig) if isinstance(exc, IntegrityError) else str(exc)
        return StoreError(f"cannot write {self._what}: {reason}")

    def __enter__(self) -> Connection:
        if self._path is not None:
            reason = sqlite_files.unwritable_reason(self._path)
            if reason is not None:
                raise StoreError(f"cannot write {self._what}: {reason}")
        self._ctx = self._engine.begin()
        try:
            connection: Connection = self._ctx.__enter__()
        except SQLAlchemyError as exc:
            raise self._error(exc) from exc
        return connection

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> Literal[False]:
        try:
            self._ctx.__exit__(exc_type, exc, tb)
        except SQLAlchemyError as err:
            raise self._error(err) from err
        if isinstance(exc, SQLAlchemyError):
            raise self._error(exc) from exc
        return False


# --------------------------------------------------------------------------------------------
# DataFrames


__all__ = [
    "HEARTBEAT_S",
    "STALE_AFTER_S",
    "CAMPAIGN_STATUSES",
    "CANDIDATE_STATUSES",
    "DEFAULT_STORE",
    "SCHEMA_VERSION",
    "STORE_ENV",
    "Store",
    "open_store",
    "resolve_store_url",
]
