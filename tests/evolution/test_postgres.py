"""Campaigns on PostgreSQL: the same loop, the same results, two campaigns writing at once."""

import threading

from connevo.evolution import run
from connevo.results.store import open_store
from tests.support import comparable, small_spec


def test_a_campaign_on_postgresql_equals_one_on_sqlite(postgres_url, tmp_path):
    on_postgres = run(small_spec(), postgres_url)
    on_sqlite = run(small_spec(), str(tmp_path / "s.db"))
    assert on_postgres.info()["status"] == "finished"
    assert comparable(on_postgres.candidates(), on_postgres.campaign_id) == comparable(on_sqlite.candidates(), on_sqlite.campaign_id)
    assert list(on_postgres.front()["candidate_id"].str.split("-").str[1]) == list(on_sqlite.front()["candidate_id"].str.split("-").str[1])


def test_two_campaigns_write_at_once_while_a_reader_reads(postgres_url):
    results, errors = {}, []
    reads = []

    def campaign(seed):
        try:
            results[seed] = run(small_spec(seed=seed, name=f"c{seed}"), postgres_url)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    writers = [threading.Thread(target=campaign, args=(s,)) for s in (1, 2)]
    for w in writers:
        w.start()
    store = open_store(postgres_url)
    while any(w.is_alive() for w in writers):
        reads.append(len(store.list_campaigns()))
    for w in writers:
        w.join()
    assert not errors
    assert {r.info()["status"] for r in results.values()} == {"finished"}
    assert all(len(r.candidates()) == 18 for r in results.values())
    assert reads and max(reads) <= 2
