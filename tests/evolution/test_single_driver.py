"""One driver per campaign: a second `connevo resume` of a running campaign is refused, and a
driver whose campaign was taken over stops without writing."""

from __future__ import annotations

import signal
import sqlite3
import time

import pytest

import connevo.evolution.campaign as campaign_module
from connevo.errors import CampaignBusyError
from connevo.evolution import Campaign, CampaignObserver, parse_spec, run
from connevo.results.store import open_store
from tests.support import committed_generations, comparable, small_spec, start_driver

SPEC = small_spec(**{"name": "one-driver", "evolution.population": 6, "evolution.generations": 3})


@pytest.mark.slow
def test_resuming_a_campaign_that_runs_elsewhere_is_refused_and_the_first_driver_goes_on(tmp_path, cli):
    db = tmp_path / "s.db"
    spec = small_spec(**{"name": "busy", "evolution.population": 8, "evolution.generations": 400,
                         "training.epochs": 40, "workers.chunk_size": 1})
    first = start_driver(spec, tmp_path, db)
    try:
        second = cli("resume", "busy", store=db)
        assert first.poll() is None, "the first driver ended before the second tried: make the campaign longer"
        assert second.returncode == 2
        [line] = second.stderr.strip().splitlines()
        assert line.startswith("connevo: error: campaign ") and "is running in another process" in line
        before = committed_generations(db)
        deadline = time.monotonic() + 120
        while committed_generations(db) == before and time.monotonic() < deadline:  # the first one goes on
            time.sleep(0.05)
        assert committed_generations(db) > before
    finally:
        first.send_signal(signal.SIGINT)  # Ctrl-C: the first driver stops the campaign cleanly
        _, stderr = first.communicate(timeout=120)
    assert first.returncode == 130, stderr
    with open_store(db) as store:
        info = store.get_campaign("busy")
        # and now anyone may resume it (the whole row shown if not: seen once in CI, never here)
        row = {key: info.get(key) for key in ("status", "driver", "error", "updated_at", "generations_done")}
        assert (info["status"], info["driver"]) == ("stopped", None), (row, stderr)


class TakenOver(CampaignObserver):
    """After generation 1, another driver takes the campaign over, as if this one had hung past
    the staleness limit (its row aged in the file; retried while this driver's heartbeat, every
    20 ms here, refreshes it in between), and this one's heartbeat notices."""

    def __init__(self, db) -> None:
        self.db = db

    def on_generation_end(self, campaign, summary, rows, checkpoint) -> None:
        if summary.generation != 1:
            return
        for _attempt in range(200):
            with sqlite3.connect(self.db) as conn:
                conn.execute("update campaigns set updated_at = datetime('now', '-2 minutes')")
            try:
                campaign.store.claim_campaign(campaign.id, "intruder:1:feed")
                break
            except CampaignBusyError:
                continue
        deadline = time.monotonic() + 10
        while campaign.lost_to is None and time.monotonic() < deadline:
            time.sleep(0.01)


def test_a_driver_whose_campaign_was_taken_over_stops_and_writes_nothing_more(tmp_path, monkeypatch):
    monkeypatch.setattr(campaign_module, "HEARTBEAT_S", 0.02)
    store = open_store(tmp_path / "s.db")
    campaign = Campaign(parse_spec(SPEC), store, observers=[TakenOver(tmp_path / "s.db")])
    with pytest.raises(CampaignBusyError, match="taken over by another process"):
        campaign.run()
    info = store.get_campaign(campaign.id)
    assert (info["status"], info["driver"], info["generations_done"]) == ("running", "intruder:1:feed", 2)
    assert set(store.candidates(campaign.id)["generation"]) == {0, 1}
    assert store.pending(campaign.id) == {}

    with pytest.raises(CampaignBusyError, match="intruder:1:feed"):  # the intruder is alive
        Campaign.from_store(store, campaign.id)
    with sqlite3.connect(tmp_path / "s.db") as conn:
        conn.execute("update campaigns set updated_at = datetime('now', '-2 minutes')")
    Campaign.from_store(store, campaign.id).run()  # the intruder died
    reference = run(SPEC, str(tmp_path / "ref.db"))
    assert comparable(store.candidates(campaign.id), campaign.id) == \
        comparable(reference.candidates(), reference.campaign_id)


@pytest.mark.slow
def test_a_paused_driver_that_wakes_after_a_take_over_stops_without_writing(tmp_path, cli):
    """SIGSTOP (a laptop lid, a debugger) for longer than the staleness limit: another process
    resumes and finishes the campaign; the first one, woken, finds it is no longer its own."""
    db = tmp_path / "s.db"
    spec = small_spec(**{"name": "paused", "evolution.population": 6, "evolution.generations": 5,
                         "training.epochs": 20, "workers.chunk_size": 1})
    first = start_driver(spec, tmp_path, db)
    try:
        for _ in range(100):  # paused outside a write transaction (paused inside one, it would hold the file's lock)
            first.send_signal(signal.SIGSTOP)
            assert first.poll() is None, "the first driver ended before it was paused: make the campaign longer"
            try:
                with sqlite3.connect(db, timeout=0.5) as conn:  # a minute and more of silence, without waiting for it
                    conn.execute("update campaigns set updated_at = datetime('now', '-2 minutes')")
                break
            except sqlite3.OperationalError:  # "database is locked": let it finish that write
                first.send_signal(signal.SIGCONT)
                time.sleep(0.05)
        second = cli("resume", "paused", store=db)
        assert second.returncode == 0, second.stderr
    finally:
        first.send_signal(signal.SIGCONT)
    out, err = first.communicate(timeout=120)
    assert first.returncode == 2, err[-3000:]
    assert err.strip().splitlines()[-1].startswith("connevo: error: campaign ")
    assert "another process" in err.strip().splitlines()[-1]
    with open_store(db) as store:
        info = store.get_campaign("paused")
        assert (info["status"], info["driver"], info["generations_done"]) == ("finished", None, 6)
        rows = store.candidates(info["id"])
    reference = run(spec, str(tmp_path / "ref.db"))
    assert comparable(rows, info["id"]) == comparable(reference.candidates(), reference.campaign_id)
