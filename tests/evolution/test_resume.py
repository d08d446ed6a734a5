"""A campaign cut short resumes from its last committed generation and ends exactly as an
uninterrupted run with the same seed would."""

import pytest

from connevo.errors import ConnevoError
from connevo.evolution import Campaign, CampaignObserver, parse_spec, run
from connevo.results.store import open_store
from tests.support import Crash, CrashAfter, comparable, small_spec


class StopDuring(CampaignObserver):
    def __init__(self, generation: int):
        self.generation = generation

    def on_generation_start(self, campaign, generation, size):
        if generation == self.generation:
            campaign.request_stop()


SPEC = small_spec(**{"evolution.generations": 3, "evolution.crossover_rate": 0.5})


def test_resume_after_a_crash_gives_the_uninterrupted_result(tmp_path):
    reference = run(SPEC, str(tmp_path / "ref.db"))
    store = open_store(str(tmp_path / "cut.db"))
    campaign = Campaign(parse_spec(SPEC), store, observers=[CrashAfter(1)])
    with pytest.raises(Crash):
        campaign.run()
    assert store.get_campaign(campaign.id)["status"] == "failed"
    assert store.get_campaign(campaign.id)["generations_done"] == 2

    resumed = Campaign.from_store(store, campaign.id)
    assert resumed.run() == campaign.id
    info = store.get_campaign(campaign.id)
    assert info["status"] == "finished" and info["generations_done"] == 4
    assert comparable(store.candidates(campaign.id), campaign.id) == comparable(reference.candidates(), reference.campaign_id)
    assert list(store.generations(campaign.id)["hypervolume"]) == list(reference.generations()["hypervolume"])


def test_a_stopped_campaign_stops_cleanly_and_resumes(tmp_path):
    store = open_store(str(tmp_path / "s.db"))
    campaign = Campaign(parse_spec(SPEC), store, observers=[StopDuring(2)])
    campaign.run()
    info = store.get_campaign(campaign.id)
    assert info["status"] == "stopped" and info["generations_done"] == 2
    Campaign.from_store(store, campaign.id).run()
    assert store.get_campaign(campaign.id)["status"] == "finished"
    assert len(store.candidates(campaign.id)) == 6 * 4


def test_a_campaign_killed_before_its_first_generation_restarts_from_scratch(tmp_path):
    store = open_store(str(tmp_path / "s.db"))
    campaign = Campaign(parse_spec(SPEC), store, observers=[StopDuring(0)])
    campaign.run()
    assert store.get_campaign(campaign.id)["generations_done"] == 0
    Campaign.from_store(store, campaign.id).run()
    reference = run(SPEC, str(tmp_path / "ref.db"))
    assert comparable(store.candidates(campaign.id), campaign.id) == comparable(reference.candidates(), reference.campaign_id)


def test_a_finished_campaign_cannot_be_resumed(tmp_path):
    result = run(small_spec(**{"evolution.generations": 0}), str(tmp_path / "s.db"))
    with pytest.raises(ConnevoError, match="already finished"):
        Campaign.from_store(result.store, result.campaign_id)


def test_a_running_campaign_beats_and_its_heartbeat_stops_with_it(tmp_path, monkeypatch):
    import threading
    import time

    import connevo.evolution.campaign as campaign_module
    from connevo.evolution.recording import Heartbeat

    store = open_store(str(tmp_path / "s.db"))
    cid = store.create_campaign("alive", {}, 0)
    first = store.get_campaign(cid)["updated_at"]
    heartbeat = Heartbeat(store, cid, 0.02)
    heartbeat.start()
    time.sleep(0.3)
    heartbeat.stop()
    assert not heartbeat.is_alive() and store.get_campaign(cid)["updated_at"] > first

    monkeypatch.setattr(campaign_module, "HEARTBEAT_S", 0.02)
    run(small_spec(**{"evolution.generations": 1}), str(tmp_path / "r.db"))
    assert not [t for t in threading.enumerate() if t.name.startswith("heartbeat-")]


def test_every_observer_hears_the_end_even_when_the_store_cannot_take_the_status(tmp_path, monkeypatch):
    from connevo.errors import StoreError
    from connevo.evolution import CampaignObserver

    heard = []

    class Listener(CampaignObserver):
        def on_finish(self, campaign, status, error):
            heard.append(status)

    store = open_store(str(tmp_path / "s.db"))
    campaign = Campaign(parse_spec(small_spec(**{"evolution.generations": 0})), store, observers=[Listener()])

    def refuse(*args, **kwargs):
        raise StoreError("cannot write status 'finished': the store file is read-only")

    monkeypatch.setattr(store, "set_campaign_status", refuse)
    with pytest.raises(StoreError, match="read-only"):
        campaign.run()
    assert heard == ["finished"]
