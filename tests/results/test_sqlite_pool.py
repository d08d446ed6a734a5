"""An SQLite file store keeps a connection per thread of the HTTP server's pool: connections
used at once are kept for the next requests, not closed after one use (opening one costs more
than the query it serves)."""

from contextlib import ExitStack
from pathlib import Path

from connevo.results.database import SQLITE_POOL_SIZE
from connevo.results.store import open_store


def test_connections_used_at_once_are_kept_for_the_next_requests(tmp_path: Path) -> None:
    with open_store(str(tmp_path / "s.db")) as store:
        engine = store._engine
        with ExitStack() as held:  # as many at once as the server's threads
            for _ in range(SQLITE_POOL_SIZE):
                held.enter_context(engine.connect())
        assert engine.pool.checkedin() == SQLITE_POOL_SIZE  # every one kept
        with engine.connect() as conn:
            assert engine.pool.checkedin() == SQLITE_POOL_SIZE - 1 and conn.exec_driver_sql("select 1").scalar() == 1
