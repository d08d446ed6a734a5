"""The campaign store: campaigns, candidates and generations over SQLAlchemy.

An SQLite file by default (WAL mode, foreign keys on), any SQLAlchemy URL otherwise (PostgreSQL).
Every method returns plain Python values or pandas DataFrames, never ORM objects. The store is
thread-safe within one process: each call checks a connection out of the engine's pool.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, make_url

from connevo.errors import CampaignBusyError, NotFoundError, StoreError
from connevo.results import database, drivers, genome_codec, queries, schema
from connevo.results.database import DEFAULT_STORE, SCHEMA_VERSION, STORE_ENV, resolve_store_url
from connevo.results.drivers import HEARTBEAT_S, STALE_AFTER_S
from connevo.results.schema import (
    CANDIDATE_COLUMNS,
    CANDIDATE_STATUSES,
    GENERATION_COLUMNS,
    campaigns_table,
    candidates_table,
    generations_table,
    pending_table,
)
from connevo.results.storage import BaseStore

CAMPAIGN_STATUSES = ("running", "finished", "failed", "stopped")


# --------------------------------------------------------------------------------------------
# Liveness


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _stale(status: Any, updated_at: Any, now: datetime, driver: str | None = None) -> bool:
    """Running, but its driver not heard of for a minute, or gone from this host."""
    return drivers.is_stale(status, updated_at, now) or (status == "running" and drivers.died_on_this_host(driver))


# --------------------------------------------------------------------------------------------
# Opening


def open_store(url_or_path: str | os.PathLike[str] | None = None) -> Store:
    """Open (creating if new) the store at ``url_or_path``; see :func:`resolve_store_url`."""
    return Store(url_or_path)


_SUMMARY_KEYS = ("population", "front_size", "hypervolume", "best_val_accuracy", "evaluations")


class Store(BaseStore):
    """Campaigns, candidates and generations in one SQLAlchemy database (the
    :class:`results.storage.BaseStore` protocol).

    Open with :func:`open_store`. Writes that belong together (a generation) are one transaction.
    Reads accept a campaign id or name; writes take the id. Use as a context manager or call
    :meth:`close`.
    """

    def __init__(self, url_or_path: str | os.PathLike[str] | None = None) -> None:
        opened = database.open_database(url_or_path)
        self._url, self._engine, self._sqlite_path = opened.url, opened.engine, opened.sqlite_path

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
                    candidate_count=0,
                    created_at=now,
                    updated_at=now,
                    driver=driver,
                )
            )
        return campaign_id

    def claim_campaign(self, campaign_id: str, driver: str, spec: Mapping[str, Any] | None = None) -> None:
        """Make ``driver`` the campaign's one driver, status ``running`` (:mod:`results.drivers`);
        with ``spec``, store it as the campaign's spec in the same statement."""
        now = _utcnow()
        claimed: dict[str, Any] = {"status": "running", "error": None, "driver": driver, "updated_at": now}
        if spec is not None:
            claimed["spec"] = dict(spec)
        with self._write(f"driver of campaign {campaign_id!r}") as conn:
            result = conn.execute(
                sa.update(campaigns_table)
                .where((campaigns_table.c.id == campaign_id) & drivers.claimable(driver, now))
                .values(**claimed)
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
                    .values(**claimed)
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
        count = row.pop("candidate_count")  # kept by the writes that add candidates
        return {**row, "candidates": int(count),
                "stale": _stale(row["status"], row["updated_at"], _utcnow(), row.get("driver"))}

    def list_campaigns(self) -> pd.DataFrame:
        """All campaigns, newest first: id, name, status, generations_done, candidates, created_at,
        stale (running, but its driver has not been heard of for :data:`STALE_AFTER_S`, or was a
        process of this host that is gone)."""
        c = campaigns_table.c
        query = (
            sa.select(
                c.id,
                c.name,
                c.status,
                c.generations_done,
                c.candidate_count.label("candidates"),
                c.created_at,
                c.updated_at,
                c.driver,
            )
            .order_by(c.created_at.desc(), c.id)
        )
        with self._engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(query)]
        now = _utcnow()
        for row in rows:
            row["stale"] = _stale(row["status"], row.pop("updated_at"), now, row.pop("driver"))
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
        rows = [schema.candidate_values(campaign_id, cand, now) for cand in candidates]
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
                .values(generations_done=generation + 1, updated_at=now,
                        candidate_count=campaigns_table.c.candidate_count + len(rows))
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
                "row": dict(row),
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
        rows = [schema.candidate_values(campaign_id, cand, now) for cand in candidates]
        with self._write(f"candidates of campaign {campaign_id!r}") as conn:
            self._require_campaign(conn, campaign_id)
            if rows:
                conn.execute(sa.insert(candidates_table), rows)
            conn.execute(
                sa.update(campaigns_table)
                .where(campaigns_table.c.id == campaign_id)
                .values(updated_at=now, candidate_count=campaigns_table.c.candidate_count + len(rows))
            )

    def candidates(self, campaign_id: str, *, status: str | None = None, genomes: bool | str = True,
                   columns: Sequence[str] | None = None, ids: Sequence[str] | None = None) -> pd.DataFrame:
        """All candidates of a campaign (id or name) ordered by number, optionally of one status;
        without ``genomes``, every column but the genome (which is not read); ``genomes="columns"``:
        connection genes as columns (:meth:`BaseStore.candidates`); ``columns``: only those (read
        in that order); ``ids``: only those candidates."""
        if genomes not in (True, False, "columns"):
            raise StoreError(f"genomes must be true, false or 'columns', got {genomes!r}")
        if columns is None:
            columns = [c for c in CANDIDATE_COLUMNS if genomes or c != "genome"]
        else:
            unknown = [c for c in columns if c not in CANDIDATE_COLUMNS]
            if unknown:
                raise StoreError(f"unknown candidate column(s) {unknown!r}; columns are {list(CANDIDATE_COLUMNS)!r}")
            columns = list(dict.fromkeys(columns))
        if status is not None and status not in CANDIDATE_STATUSES:
            raise StoreError(f"candidate status must be one of {CANDIDATE_STATUSES}, got {status!r}")
        wanted = None if ids is None else list(dict.fromkeys(str(i) for i in ids))
        rows: Sequence[Any] = []
        selected: list[Any] = [candidates_table.c[c] for c in columns]
        packed = columns.index("genome") if genomes == "columns" and "genome" in columns else None
        if packed is not None:  # the stored bytes, decoded below with the genes as columns
            selected[packed] = sa.type_coerce(candidates_table.c.genome, sa.LargeBinary).label("genome")
        with self._engine.connect() as conn:
            cid = self._campaign_id(conn, campaign_id)
            query = sa.select(*selected).where(candidates_table.c.campaign_id == cid)
            if status is not None:
                query = query.where(candidates_table.c.status == status)
            if wanted is None:  # rows as tuples, fetched at once: a dict per row costs more than the query
                rows = conn.execute(query.order_by(candidates_table.c.number)).all()
            else:  # in batches: databases bound the parameters of one statement
                numbered = query.add_columns(candidates_table.c.number.label("_order"))
                found: list[Any] = []
                for start in range(0, len(wanted), 500):
                    found += conn.execute(numbered.where(candidates_table.c.id.in_(wanted[start:start + 500]))).all()
                rows = [tuple(r)[:-1] for r in sorted(found, key=lambda r: r[-1])]
        if packed is not None:
            rows = [(*r[:packed], genome_codec.read(r[packed], columns=True), *r[packed + 1:]) for r in rows]
        return schema.frame(rows, list(columns))

    def candidate_page(self, campaign_id: str, *, status: str | None = None, generation: int | None = None,
                       min_val_accuracy: float | None = None, max_connections: int | None = None,
                       sort: str = "number", descending: bool = False, offset: int = 0,
                       limit: int = 100) -> queries.CandidatePage:
        """:func:`results.queries.candidate_page` done by the database: only the page's rows are
        read (no genome), the filters, the order (missing values last, ties by number) and the
        count in SQL."""
        queries.check_page(sort, offset, limit)
        if status is not None and status not in CANDIDATE_STATUSES:
            raise StoreError(f"candidate status must be one of {CANDIDATE_STATUSES}, got {status!r}")
        table = candidates_table
        columns = [c for c in CANDIDATE_COLUMNS if c != "genome"]
        # integers beyond the columns' (32-bit) and OFFSET's (64-bit) range: no generation has
        # them, every connection count is below them, no page starts there
        largest = 2**31 - 1
        offset = min(offset, 2**63 - 1)
        with self._engine.connect() as conn:
            matching = [table.c.campaign_id == self._campaign_id(conn, campaign_id)]
            if status is not None:
                matching.append(table.c.status == status)
            if generation is not None:
                matching.append(table.c.generation == generation if abs(generation) <= largest else sa.false())
            if min_val_accuracy is not None:
                matching.append(table.c.val_accuracy >= min_val_accuracy)
            if max_connections is not None:
                matching.append(table.c.connections <= min(max_connections, largest))
            total = conn.execute(sa.select(sa.func.count()).select_from(table).where(*matching)).scalar_one()
            key = table.c[sort]
            order: list[Any] = [key.desc() if descending else key.asc()]
            if sort != "number":  # (numbers are never missing: by number, the index gives the page)
                order = [key.is_(None), *order, table.c.number.asc()]
            query = (sa.select(*(table.c[c] for c in columns)).where(*matching).order_by(*order)
                     .offset(offset).limit(limit))
            rows = [dict(r._mapping) for r in conn.execute(query)]
        return queries.CandidatePage(items=schema.frame(rows, columns), total=int(total))

    def candidate(self, candidate_id: str) -> dict[str, Any]:
        """One candidate as a dict (parents a list, genome and extra dicts)."""
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(candidates_table).where(candidates_table.c.id == candidate_id)
            ).first()
        if row is None:
            raise NotFoundError(f"no candidate with id {candidate_id!r}")
        return dict(row._mapping)

    def generations(self, campaign_id: str, *, summaries_only: bool = False) -> pd.DataFrame:
        """Generation rows of a campaign (id or name), ordered by generation; ``summaries_only``:
        without the population and checkpoint JSON (neither is read)."""
        columns = [c for c in GENERATION_COLUMNS
                   if not (summaries_only and c in ("population", "checkpoint"))]
        with self._engine.connect() as conn:
            cid = self._campaign_id(conn, campaign_id)
            rows = [
                dict(r._mapping)
                for r in conn.execute(
                    sa.select(*(generations_table.c[c] for c in columns))
                    .where(generations_table.c.campaign_id == cid)
                    .order_by(generations_table.c.generation)
                )
            ]
        return schema.frame(rows, columns)

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

    def _write(self, what: str | None = None) -> database.WriteTransaction:
        return database.WriteTransaction(self._engine, what or self._display_url, self._sqlite_path)

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
