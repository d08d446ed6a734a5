"""Opening a store keeps this process's SQLite locks on it: another process closing the database
last must not delete the -wal and -shm files under this process's open connections (they would
go on reading a stale copy, and write where no other process reads)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from connevo.errors import StoreError
from connevo.results.store import open_store

WRITE_AND_CLOSE = ("import sqlite3, sys\n"
                   "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
                   "c.execute(\"update campaigns set status = 'stopped'\")\n"
                   "c.close()\n")

MAKE_STORE = ("import sys\n"
              "from connevo.results.store import open_store\n"
              "with open_store(sys.argv[1]) as store:\n"
              "    store.create_campaign('polled', {'name': 'polled'}, 1)\n")

WRITE_AND_VANISH = ("import os, sqlite3, sys\n"
                    "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
                    "c.execute(\"update campaigns set status = 'finished'\")\n"
                    "os._exit(0)\n")


def another_process_writes_and_closes(path: Path) -> None:
    subprocess.run([sys.executable, "-c", WRITE_AND_CLOSE, str(path)], check=True)


def test_a_second_open_in_a_process_does_not_drop_the_first_ones_locks(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    first = open_store(path)
    first.create_campaign("kept-open", {"name": "kept-open"}, 1)  # its pooled connection stays open
    open_store(path).close()  # the same store, opened again in this process
    another_process_writes_and_closes(path)
    assert Path(f"{path}-shm").exists() and Path(f"{path}-wal").exists()  # not deleted while this one has them
    assert list(first.list_campaigns()["status"]) == ["stopped"]  # and this process sees the write
    first.close()


def test_opening_a_store_keeps_the_locks_of_a_connection_the_process_opened_itself(tmp_path: Path) -> None:
    """A test polling the file, or a user's notebook, may hold an sqlite3 connection of its own
    when it opens the store: seen in CI as a campaign's last write that the test never saw."""
    path = tmp_path / "s.db"
    subprocess.run([sys.executable, "-c", MAKE_STORE, str(path)], check=True)  # made elsewhere: new to this process
    mine = sqlite3.connect(path, isolation_level=None)
    assert mine.execute("select status from campaigns").fetchall() == [("running",)]
    store = open_store(path)
    another_process_writes_and_closes(path)
    assert Path(f"{path}-shm").exists() and Path(f"{path}-wal").exists()  # this process still has them
    subprocess.run([sys.executable, "-c", WRITE_AND_VANISH, str(path)], check=True)  # its write stays in the WAL
    assert mine.execute("select status from campaigns").fetchall() == [("finished",)]
    assert list(store.list_campaigns()["status"]) == ["finished"]
    store.close()
    mine.close()


@pytest.mark.parametrize("content", [b"not a database, just text" * 8, b"SQLite format 3"])
def test_a_file_that_is_not_sqlite_is_refused_naming_it(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(content)
    with pytest.raises(StoreError, match=r"notes\.db.* is not a connevo database \(not an SQLite file\)"):
        open_store(path)
    assert path.read_bytes() == content and sorted(p.name for p in tmp_path.iterdir()) == ["notes.db"]
