"""Opening a store again keeps this process's SQLite locks on it: another process closing the
database last must not delete the -wal and -shm files under this process's open connections."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from connevo.results.store import open_store

READ_AND_CLOSE = ("import sqlite3, sys\n"
                  "c = sqlite3.connect(sys.argv[1])\n"
                  "c.execute('select count(*) from campaigns').fetchone()\n"
                  "c.close()\n")


def test_a_second_open_in_a_process_does_not_drop_the_first_ones_locks(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    first = open_store(path)
    first.create_campaign("kept-open", {"name": "kept-open"}, 1)  # its pooled connection stays open
    open_store(path).close()  # the same store, opened again in this process
    subprocess.run([sys.executable, "-c", READ_AND_CLOSE, str(path)], check=True)  # another process comes and goes
    assert Path(f"{path}-shm").exists() and Path(f"{path}-wal").exists()  # not deleted while this one has them
    assert list(first.list_campaigns()["name"]) == ["kept-open"]
    again = open_store(path)  # a new connection of this process works
    assert list(again.list_campaigns()["name"]) == ["kept-open"]
    again.close()
    first.close()
