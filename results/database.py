"""Opening a connevo database: the SQLAlchemy engine of a URL or file, and its schema created,
checked, or upgraded from an earlier release (:mod:`results.migrations`), in one transaction.
Also the write transaction every store write goes through, which names what could not be
written and why."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from connevo.errors import StoreError
from connevo.results import migrations, schema, sqlite_files
from connevo.results.schema import meta_table, metadata

DEFAULT_STORE = "connevo.db"
STORE_ENV = "CONNEVO_STORE"
SCHEMA_VERSION = migrations.LATEST


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


def check_version(where: str, version: Any) -> int:
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



@dataclass
class OpenDatabase:
    url: str                    # the SQLAlchemy URL
    engine: Engine
    sqlite_path: Path | None    # the file of an SQLite store
    read_only: bool             # a file this user cannot write: reads work, writes fail naming why


def open_database(url_or_path: str | os.PathLike[str] | None) -> OpenDatabase:
    """The engine of a store, its schema ready (:func:`prepare_schema`); :class:`StoreError`
    naming the store and the reason when it cannot be used."""
    url_text = resolve_store_url(url_or_path)
    try:
        url = make_url(url_text)
    except sa.exc.ArgumentError as exc:
        raise StoreError(f"invalid store URL {url_text!r}: {exc}") from exc
    path = sqlite_files.sqlite_file(url)
    read_only = False
    if path is not None:
        has_meta, version = sqlite_files.check_sqlite_file(path)
        number = check_version(str(path), version) if has_meta else SCHEMA_VERSION
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
    engine = create_engine(url, read_only=read_only)
    try:
        prepare_schema(engine, url.render_as_string(hide_password=True), path, read_only)
    except BaseException:
        engine.dispose()
        raise
    return OpenDatabase(url_text, engine, path, read_only)


SQLITE_POOL_SIZE = 40
"""Connections an SQLite file store keeps open: one per thread of FastAPI's default thread pool."""


def create_engine(url: sa.URL, read_only: bool = False) -> Engine:
    """The engine of ``url``: SQLite with WAL and a 30 s busy timeout (read-only: a connection
    that never writes), anything else as SQLAlchemy makes it."""
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
        else:  # as many kept connections as the HTTP server's worker threads (a connection
            # opened beyond the pool is closed after one use: opening one costs more than a query)
            kwargs.update(pool_size=SQLITE_POOL_SIZE, max_overflow=SQLITE_POOL_SIZE, pool_use_lifo=True)
    try:
        engine = sa.create_engine(url, **kwargs)
    except (SQLAlchemyError, ImportError) as exc:
        raise StoreError(f"cannot open store {url.render_as_string()!r}: {exc}") from exc
    if is_sqlite:
        sa.event.listen(engine, "connect", sqlite_files.on_connect)
    return engine


def prepare_schema(engine: Engine, where: str, sqlite_path: Path | None, read_only: bool) -> None:
    """Check the schema version, upgrade an earlier one, or create the schema in an empty
    database. Stores opened at once on an empty database (two campaigns starting) create it
    once: PostgreSQL serializes them with an advisory lock, SQLite with its write lock; the
    loser of a race checks again."""
    try:
        try:
            upgraded = _prepare_schema_once(engine, where, read_only)
        except SQLAlchemyError:
            upgraded = _prepare_schema_once(engine, where, read_only)  # another process created the schema meanwhile
        if upgraded and engine.dialect.name == "sqlite":
            # an upgrade that rewrote rows (version 3: genomes a tenth of their size) leaves the
            # freed pages in the file until it is vacuumed: give them back to the disk once
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM")
    except SQLAlchemyError as exc:
        reason = sqlite_files.sqlite_reason(exc, sqlite_path)
        if reason is not None:
            raise StoreError(f"cannot open store {str(sqlite_path)!r}: {reason}") from exc
        raise StoreError(f"cannot open store {where!r}: {exc}") from exc


def _prepare_schema_once(engine: Engine, where: str, read_only: bool) -> bool:
    """True when it upgraded an earlier store."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7315542)")
        elif conn.dialect.name == "sqlite" and not read_only:
            # pysqlite begins a transaction only before DML: begin one now, holding the write
            # lock, so that creating or upgrading the schema is one transaction (all or nothing)
            # and stores opened at once on the file do it one after the other
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        tables = set(sa.inspect(conn).get_table_names())
        if "connevo_meta" in tables:
            return _check_or_upgrade(conn, where)
        if tables:
            raise StoreError(
                f"{where!r} is a database but not a connevo store "
                f"(it has tables {sorted(tables)!r} and no connevo_meta)"
            )
        metadata.create_all(conn)
        conn.execute(sa.insert(meta_table).values(key="schema_version", value=str(SCHEMA_VERSION)))
        return False


def _check_or_upgrade(conn: Connection, where: str) -> bool:
    key = meta_table.c.key == "schema_version"
    row = conn.execute(sa.select(meta_table.c.value).where(key)).first()
    version = check_version(where, row[0] if row else None)
    if version < SCHEMA_VERSION:  # an earlier connevo's store: upgrade it in place
        try:
            migrations.upgrade(conn, version)
        except Exception as exc:  # raised inside the transaction: rolled back
            raise StoreError(f"cannot upgrade store {where!r} from schema version {version} to "
                             f"{SCHEMA_VERSION} (it is left as it was): {exc}") from exc
        conn.execute(sa.update(meta_table).where(key).values(value=str(SCHEMA_VERSION)))
        return True
    return False


class WriteTransaction:
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


__all__ = ["DEFAULT_STORE", "SCHEMA_VERSION", "STORE_ENV", "OpenDatabase", "WriteTransaction", "check_version",
           "create_engine", "open_database", "prepare_schema", "resolve_store_url"]
