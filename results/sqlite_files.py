"""The SQLite store file: what is refused before opening it, why it cannot be written, and
connections that only read it. Kept apart from :mod:`results.store`, whose SQL is the same on
every backend."""

from __future__ import annotations

import os
import sqlite3
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from connevo.errors import StoreError


def sqlite_file(url: sa.URL) -> Path | None:
    """The database file of an SQLite URL, or None for in-memory or non-SQLite URLs."""
    if url.get_backend_name() != "sqlite":
        return None
    db = url.database
    if not db or db == ":memory:" or db.startswith("file:"):
        return None
    return Path(db)


def check_sqlite_file(path: Path) -> tuple[bool, Any]:
    """Refuse files that are not connevo stores, without writing a byte to them; returns
    (whether the file has connevo's meta table, the schema version written there).

    The file is read through SQLite only, never by a plain ``open``: closing any descriptor of a
    file drops every POSIX lock this process holds on it, those of its open SQLite connections
    included (SQLite defers closing its own descriptors while another connection of the process
    holds a lock). A process that had the store open already (a server, a test that polls the
    file, a user's notebook) would then hold none, and another process closing the database last
    would delete its -wal and -shm files under the open connections, which then read a stale
    copy of the database and write where no one else reads. A file with no ``-wal`` (a WAL
    database fully checkpointed) or ``-journal`` (a rollback-journal database in the middle of a
    write) holds everything: it is read as immutable, which creates no -wal/-shm files next to
    somebody else's database."""
    if not path.parent.is_dir():
        raise StoreError(f"cannot create store {str(path)!r}: directory {str(path.parent)!r} does not exist")
    if not path.exists():
        return False, None
    if path.is_dir():
        raise StoreError(f"{str(path)!r} is a directory, not a connevo database")
    try:
        if path.stat().st_size == 0:
            return False, None  # an empty file: a new store
    except OSError as exc:
        raise StoreError(f"cannot read store {str(path)!r}: {exc}") from exc
    immutable = not Path(f"{path}-wal").exists() and not Path(f"{path}-journal").exists()
    uri = f"file:{urllib.parse.quote(str(path))}?mode=ro" + ("&immutable=1" if immutable else "")
    try:
        conn = sqlite3.connect(uri, uri=True)
        try:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            version = None
            if "connevo_meta" in tables:
                row = conn.execute("SELECT value FROM connevo_meta WHERE key = 'schema_version'").fetchone()
                version = row[0] if row else None
        finally:
            conn.close()
    except sqlite3.Error as exc:
        if getattr(exc, "sqlite_errorname", "") == "SQLITE_NOTADB" or "file is not a database" in str(exc):
            raise StoreError(f"{str(path)!r} is not a connevo database (not an SQLite file)") from exc
        raise StoreError(f"{str(path)!r} is not a readable SQLite database: {exc}") from exc
    if tables and "connevo_meta" not in tables:
        raise StoreError(
            f"{str(path)!r} is an SQLite database but not a connevo store "
            f"(it has tables {sorted(tables)!r} and no connevo_meta)"
        )
    return "connevo_meta" in tables, version


def writable(path: Path) -> bool:
    """Whether this process may write ``path`` (effective ids where the platform has them)."""
    effective = os.access in os.supports_effective_ids
    return os.access(path, os.W_OK, effective_ids=effective)


def unwritable_reason(path: Path) -> str | None:
    """Why SQLite cannot write the store file ``path`` now, or None when it can.

    The file itself read-only (permissions, an immutable file, a read-only file system), or its
    folder read-only while there is no ``-wal`` file yet: SQLite in WAL mode must create
    ``<file>-wal`` and ``<file>-shm`` next to the database before it writes.
    """
    folder = path.parent
    if path.exists():
        if not writable(path):
            return f"the store file {str(path)!r} is read-only"
        if not Path(f"{path}-wal").exists() and not writable(folder):
            return (f"the folder {str(folder)!r} of the store file {str(path)!r} is read-only "
                    f"(SQLite must create {path.name}-wal and {path.name}-shm there to write)")
        return None
    if folder.is_dir() and not writable(folder):
        return f"its folder {str(folder)!r} is read-only"
    return None


def sqlite_reason(exc: BaseException, path: Path | None) -> str | None:
    """One line naming the file for SQLite's "read-only" and "cannot open" errors; None for
    any other error (the caller keeps the driver's message)."""
    orig = getattr(exc, "orig", None) or exc
    if path is None or not isinstance(orig, sqlite3.Error):
        return None
    name = str(getattr(orig, "sqlite_errorname", "") or "")
    message = str(orig)
    if name.startswith("SQLITE_READONLY") or "readonly database" in message:
        return unwritable_reason(path) or f"the store file {str(path)!r} is read-only (SQLite: {message})"
    if name.startswith("SQLITE_CANTOPEN") or "unable to open database file" in message:
        return unwritable_reason(path) or f"SQLite cannot open the store file {str(path)!r} ({message})"
    return None


def read_only_connector(path: Path) -> Callable[[], sqlite3.Connection]:
    """Connections that only read ``path`` (a store this process cannot write).

    ``mode=ro``; when SQLite cannot read that way (a WAL database without its ``-shm`` file in a
    folder where it cannot create one) and no ``-wal`` file holds uncommitted pages, the file
    is read as immutable. One fresh connection per use (no pool), so each read sees the file
    as it is now.
    """
    uri = f"file:{urllib.parse.quote(str(path))}?mode=ro"

    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(uri, uri=True, timeout=30, check_same_thread=False)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError:
            conn.close()
            if Path(f"{path}-wal").exists():
                raise
            conn = sqlite3.connect(uri + "&immutable=1", uri=True, timeout=30, check_same_thread=False)
        return conn

    return connect


def on_connect(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    try:
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
    finally:
        cur.close()


def read_only_on_connect(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.execute("PRAGMA foreign_keys=ON")  # the file is in WAL mode already; nothing to set


__all__ = ["check_sqlite_file", "on_connect", "read_only_connector", "read_only_on_connect", "sqlite_file",
           "sqlite_reason", "unwritable_reason", "writable"]
