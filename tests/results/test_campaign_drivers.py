"""One driver per campaign: the store lets one process at a time run a campaign."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

import connevo.results.store as store_module
from connevo.errors import CampaignBusyError, NotFoundError
from connevo.results.drivers import STALE_AFTER_S
from connevo.results.store import Store, open_store


def later(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Move the store's clock ``seconds`` ahead."""
    moved = store_module._utcnow() + timedelta(seconds=seconds)
    monkeypatch.setattr(store_module, "_utcnow", lambda: moved)


def test_a_campaign_running_under_a_live_driver_cannot_be_claimed(store: Store) -> None:
    cid = store.create_campaign("busy", {}, 1, driver="host-a:11:aaaa")
    with pytest.raises(CampaignBusyError, match=rf"campaign {cid} \('busy'\) is running in another process "
                                                r"\(driver host-a:11:aaaa, last heard of \d+ s ago\)"):
        store.claim_campaign(cid, "host-b:22:bbbb")
    info = store.get_campaign(cid)
    assert (info["status"], info["driver"]) == ("running", "host-a:11:aaaa")
    store.claim_campaign(cid, "host-a:11:aaaa")  # its own driver may claim it again


def test_a_claim_with_a_spec_stores_it_only_when_the_claim_succeeds(store: Store) -> None:
    cid = store.create_campaign("grows", {"generations": 1}, 1, driver="host-a:11:aaaa")
    with pytest.raises(CampaignBusyError):
        store.claim_campaign(cid, "host-b:22:bbbb", {"generations": 5})
    assert store.get_campaign(cid)["spec"] == {"generations": 1}
    store.set_campaign_status(cid, "finished", driver="host-a:11:aaaa")
    store.claim_campaign(cid, "host-b:22:bbbb", {"generations": 5})
    info = store.get_campaign(cid)
    assert (info["spec"], info["status"], info["driver"]) == ({"generations": 5}, "running", "host-b:22:bbbb")


def test_a_stale_or_ended_campaign_is_claimed_and_its_old_driver_writes_nothing_more(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    cid = store.create_campaign("died", {}, 1, driver="old")
    later(monkeypatch, STALE_AFTER_S + 5)
    store.claim_campaign(cid, "new")
    assert store.get_campaign(cid)["driver"] == "new"
    assert store.heartbeat(cid, "old") is False and store.heartbeat(cid, "new") is True
    with pytest.raises(CampaignBusyError, match="driver new"):
        store.set_campaign_status(cid, "failed", "the old driver woke up", driver="old")
    assert store.get_campaign(cid)["status"] == "running"
    store.set_campaign_status(cid, "stopped", "stop requested", driver="new")  # an end releases it
    info = store.get_campaign(cid)
    assert (info["status"], info["driver"]) == ("stopped", None)
    store.claim_campaign(cid, "third")  # a stopped campaign is anyone's to resume
    assert store.get_campaign(cid)["status"] == "running"


def test_claiming_an_unknown_campaign_is_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError, match="nope"):
        store.claim_campaign("nope", "me")


def test_of_drivers_claiming_at_once_exactly_one_wins(tmp_path) -> None:
    path = tmp_path / "race.db"
    with open_store(path) as store:
        cid = store.create_campaign("race", {}, 1, driver="first")
        store.set_campaign_status(cid, "stopped", driver="first")
    outcomes: list[str] = []
    barrier = threading.Barrier(6)

    def resume(name: str) -> None:
        with open_store(path) as mine:  # one store (connection pool) per driver, as processes have
            barrier.wait()
            try:
                mine.claim_campaign(cid, name)
                outcomes.append("won")
            except CampaignBusyError:
                outcomes.append("refused")

    threads = [threading.Thread(target=resume, args=(f"driver-{k}",)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["refused"] * 5 + ["won"]


def test_a_driver_that_lost_its_campaign_commits_nothing_more(
        store: Store, make_candidate, make_summary, monkeypatch: pytest.MonkeyPatch) -> None:
    cid = store.create_campaign("taken", {}, 1, driver="old")
    store.commit_generation(cid, 0, [make_candidate(0)], make_summary([0]), {"g": 0}, driver="old")
    later(monkeypatch, STALE_AFTER_S + 5)
    store.claim_campaign(cid, "new")
    with pytest.raises(CampaignBusyError, match="driver new"):
        store.commit_generation(cid, 1, [make_candidate(1, generation=1)], make_summary([1]), {"g": 1}, driver="old")
    with pytest.raises(CampaignBusyError, match="driver new"):
        store.add_pending(cid, 1, [make_candidate(2, generation=1)], driver="old")
    assert list(store.candidates(cid)["number"]) == [0] and store.pending(cid) == {}
    assert store.get_campaign(cid)["generations_done"] == 1
    store.commit_generation(cid, 1, [make_candidate(1, generation=1)], make_summary([1]), {"g": 1}, driver="new")
    assert list(store.candidates(cid)["number"]) == [0, 1]


def test_a_campaign_whose_driver_died_on_this_host_is_claimed_at_once(store: Store) -> None:
    import os
    import socket
    import subprocess
    import sys

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = f"{socket.gethostname()}:{int(gone.stdout)}:dead"
    cid = store.create_campaign("crashed", {}, 1, driver=dead)
    assert store.get_campaign(cid)["stale"] is True  # shown at once (`ls`: running (stale))
    assert store.list_campaigns().set_index("id").loc[cid, "stale"]
    store.claim_campaign(cid, "successor")  # no minute of waiting: that process is gone
    assert store.get_campaign(cid)["driver"] == "successor"
    alive = store.create_campaign("alive", {}, 1, driver=f"{socket.gethostname()}:{os.getppid()}:live")
    assert store.get_campaign(alive)["stale"] is False
    with pytest.raises(CampaignBusyError):
        store.claim_campaign(alive, "successor")  # a live process of this host keeps its campaign
    elsewhere = store.create_campaign("elsewhere", {}, 1, driver=f"another-host:{int(gone.stdout)}:x")
    with pytest.raises(CampaignBusyError):
        store.claim_campaign(elsewhere, "successor")  # a process of another host is not known dead
    orphan = store.create_campaign("orphan", {}, 1, driver=f"{socket.gethostname()}:{os.getppid()}:o:{int(gone.stdout)}")
    store.claim_campaign(orphan, "successor")  # its supervisor is gone: it dies with it (service.supervisor)
    watched = store.create_campaign("watched", {}, 1, driver=f"{socket.gethostname()}:{os.getppid()}:w:{os.getpid()}")
    with pytest.raises(CampaignBusyError):
        store.claim_campaign(watched, "successor")  # driver and supervisor alive
