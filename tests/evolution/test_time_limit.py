"""``evolution.time_limit``: no generation starts that would end, with the polish, past the limit;
every generation reached is the one the seed fixes, and a resume goes on towards the last."""

import time

import pytest

from connevo.errors import ConnevoError, SpecError
from connevo.evolution import Campaign, parse_spec, run
from connevo.evolution.observers import CampaignObserver
from connevo.evolution.summary import front_members
from connevo.evolution.time_limit import TimeLimit, parse_seconds, stopped_at_time_limit, unused_limit_line
from connevo.results.store import open_store
from connevo.search_space.genome import Genome
from connevo.workers.plans import plan_shape
from tests.support import comparable, small_spec

SPEC = small_spec(**{"evolution.generations": 3})
LIMITED = small_spec(**{"evolution.generations": 3, "evolution.time_limit": 1e-6})
"""A limit every generation overruns: each run of it evolves one generation (the first it times)."""


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The same campaign without a limit."""
    return run(SPEC, str(tmp_path_factory.mktemp("ref") / "ref.db"))


def generations_of(result, last: int) -> list[dict]:
    rows = result.candidates()
    return comparable(rows[rows["generation"] <= last], result.campaign_id)


@pytest.mark.parametrize(("written", "seconds"), [(600, 600.0), (2.5, 2.5), ("90", 90.0), ("90s", 90.0),
                                                  ("10m", 600.0), ("1.5h", 5400.0), (" 2 M ", 120.0)])
def test_a_time_limit_is_seconds_or_text_with_a_unit(written, seconds):
    assert parse_seconds(written) == seconds
    assert parse_spec(small_spec(**{"evolution.time_limit": written})).evolution.time_limit == seconds


@pytest.mark.parametrize("written", [0, -5, "0m", "soon", "10 minutes", True, float("inf"), ""])
def test_a_bad_time_limit_is_a_spec_error_naming_the_field(written):
    with pytest.raises(SpecError, match=r"evolution\.time_limit.*(positive number of seconds|'90s', '10m' or '1.5h')"):
        parse_spec(small_spec(**{"evolution.time_limit": written}))


def test_no_limit_is_the_default():
    assert parse_spec(SPEC).evolution.time_limit is None


def test_the_next_generation_and_the_polish_are_estimated_at_the_pace_of_the_generations_timed():
    limit = TimeLimit(100.0, began=time.monotonic() - 50.0)  # 50 s used
    assert limit.stop_before(1, 1e9, 1e9) is None  # no generation timed yet: nothing to go by
    limit.timed(10.0, 5.0)  # 2 wall seconds per estimated second
    assert limit.pace == 2.0
    assert limit.stop_before(2, 5.0, 10.0) is None  # 50 + 10 + 20 s fit in 100
    stop = limit.stop_before(2, 5.0, 25.0)  # 50 + 10 + 50 s do not
    assert stop is not None and stop.generation == 1 and stop.limit == 100.0
    assert stop.next_generation == pytest.approx(10.0) and stop.polish == pytest.approx(50.0)
    assert stop.elapsed >= 50.0
    assert "evolution stops after generation 1 of 7" in stop.line(7)


def test_the_pace_is_the_median_of_the_generations_timed_after_the_first():
    limit = TimeLimit(100.0)
    limit.timed(30.0, 10.0)  # the first generation: the workers' start is in its wall time
    limit.timed(5.0, 10.0)
    assert limit.pace == 0.5  # the first left out once another is timed
    limit.timed(8.0, 10.0)
    limit.timed(1.0, 0.0)  # nothing estimated: no pace, though its wall time is the last generation's
    limit.timed(6.0, 10.0)
    assert limit.pace == pytest.approx(0.6) and limit.last_generation == 6.0
    limit.timed(2.0, 0.0)
    assert limit.stop_before(5, 0.0, 0.0) is None  # 2 s used of 100
    assert limit.last_generation == 2.0


def test_the_polish_is_estimated_for_the_networks_it_then_trains(tmp_path):
    spec = small_spec(**{"evolution.generations": 2, "evolution.time_limit": "1h", "training.polish_epochs": 2})
    store = open_store(str(tmp_path / "s.db"))
    campaign = Campaign(parse_spec(spec), store)
    campaign.run()
    estimated = sorted(m.network for m in front_members(campaign.archive, campaign.scoring,
                                                        campaign.spec.objectives.rank_accuracy_by))
    polished = store.candidates(campaign.id, genomes="columns")
    polished = polished[polished["number"] < 0]  # the polish's copies keep their sources' structure
    trained = [plan_shape(Genome.from_dict(g)) for g in polished["genome"]]
    assert len(estimated) == len(trained) == campaign.front_size > 0
    assert estimated == sorted((s.depth, s.executed_per_sample(campaign.dataset.n_features)) for s in trained)
    assert campaign._polish_estimate() > 0


class UnusedLimits(CampaignObserver):
    """Records each ``on_time_limit_unused`` call: (generations evolved, elapsed seconds)."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, float]] = []

    def on_time_limit_unused(self, campaign, evolved, elapsed) -> None:
        self.calls.append((evolved, elapsed))


def test_a_limited_campaign_evolves_the_first_generations_of_the_unlimited_one(tmp_path, reference):
    store = open_store(str(tmp_path / "s.db"))
    unused = UnusedLimits()
    campaign = Campaign(parse_spec(LIMITED), store, observers=[unused])
    campaign.run()
    info = store.get_campaign(campaign.id)
    assert info["status"] == "finished" and info["generations_done"] == 1 and stopped_at_time_limit(info)
    assert unused.calls == []  # the limit stopped it
    assert comparable(store.candidates(campaign.id), campaign.id) == generations_of(reference, 0)


def test_a_resume_goes_on_from_where_the_limit_stopped_to_the_unlimited_result(tmp_path, reference):
    store = open_store(str(tmp_path / "s.db"))
    campaign_id = Campaign(parse_spec(LIMITED), store).run()
    Campaign.from_store(store, campaign_id).run()  # the first generation a run times is always evolved
    assert store.get_campaign(campaign_id)["generations_done"] == 2
    assert comparable(store.candidates(campaign_id), campaign_id) == generations_of(reference, 1)
    for _ in range(2):
        Campaign.from_store(store, campaign_id).run()
    info = store.get_campaign(campaign_id)
    assert info["generations_done"] == 4 and not stopped_at_time_limit(info)
    assert comparable(store.candidates(campaign_id), campaign_id) == comparable(reference.candidates(),
                                                                                reference.campaign_id)
    with pytest.raises(ConnevoError, match="already finished"):
        Campaign.from_store(store, campaign_id)


def test_a_limit_that_leaves_room_changes_nothing(tmp_path, reference):
    unused = UnusedLimits()
    began = time.monotonic()
    roomy = run(small_spec(**{"evolution.generations": 3, "evolution.time_limit": "1h"}), str(tmp_path / "s.db"),
                observers=[unused])
    assert roomy.info()["generations_done"] == 4
    [(evolved, elapsed)] = unused.calls  # the run says it evolved all four generations, and how long it took
    assert evolved == 4 and 0 < elapsed <= time.monotonic() - began
    assert comparable(roomy.candidates(), roomy.campaign_id) == comparable(reference.candidates(),
                                                                          reference.campaign_id)


def test_a_run_that_used_under_half_its_limit_says_how_many_generations_would_fit():
    line = unused_limit_line(evolved=21, last=20, elapsed=60.0, limit=600.0)
    assert line == ("time limit 10.0 min: evolution.generations (20) ended the run after 60 s, not the limit; at this "
                    "pace about 210 generations would fit in it (raise evolution.generations and the limit stops "
                    "evolution in time)")
    assert unused_limit_line(evolved=21, last=20, elapsed=300.0, limit=600.0) is None  # half of it used
    assert unused_limit_line(evolved=0, last=20, elapsed=1.0, limit=600.0) is None  # nothing evolved this run
