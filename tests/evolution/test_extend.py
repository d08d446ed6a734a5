"""Extending a campaign: a finished campaign given more generations ends exactly as one launched
with them would have, its new front polished; bad requests change nothing stored."""

import pytest

from connevo.errors import SpecError
from connevo.evolution import Campaign, parse_spec, run
from connevo.evolution.api import extend
from connevo.results import queries
from connevo.results.store import open_store
from tests.support import Crash, CrashAfter, comparable, small_spec

POLISHED = {"evolution.crossover_rate": 0.5, "training.polish_epochs": 2}
FRONT = ["generation", "parents", "genome", "val_accuracy", "train_accuracy", "test_accuracy", "connections"]


def evolved(frame):
    return frame[frame["number"] >= 0]


def front_content(store, campaign_id) -> list[dict]:
    front = queries.front(store, campaign_id)
    rows = front.sort_values("connections")[FRONT].to_dict("records")
    for row in rows:
        row["parents"] = [p.split("-")[-1] for p in row["parents"]]
    return rows


@pytest.fixture(scope="module")
def launched_with_three(tmp_path_factory):
    return run(small_spec(**POLISHED, **{"evolution.generations": 3}), str(tmp_path_factory.mktemp("ref") / "r.db"))


def test_an_extended_campaign_is_the_campaign_launched_with_more_generations(tmp_path, launched_with_three):
    reference = launched_with_three
    short = run(small_spec(**POLISHED, **{"evolution.generations": 1}), str(tmp_path / "s.db"))
    polished_before = short.candidates()[short.candidates()["number"] < 0]
    assert len(polished_before)  # the short campaign's own front was polished at its end

    result = extend(short.campaign_id, 3, short.store)

    info = result.info()
    assert result.campaign_id == short.campaign_id
    assert info["status"] == "finished" and info["generations_done"] == 4
    assert info["spec"]["evolution"]["generations"] == 3
    cands = result.candidates()
    assert comparable(evolved(cands), short.campaign_id) == comparable(evolved(reference.candidates()),
                                                                         reference.campaign_id)
    assert list(result.generations()["hypervolume"]) == list(reference.generations()["hypervolume"])
    # its final front is the reference's, polished copies included
    assert front_content(result.store, result.campaign_id) == front_content(reference.store, reference.campaign_id)
    assert queries.front(result.store, result.campaign_id)["candidate_id"].str.contains("-p").all()
    # nothing stored before is lost; every id is unique
    kept = cands.set_index("id").loc[polished_before["id"]]
    assert (kept["genome"].tolist() == polished_before["genome"].tolist())
    assert cands["id"].is_unique and cands["number"].is_unique


def test_an_extension_cut_short_resumes_to_the_same_end(tmp_path, launched_with_three):
    reference = launched_with_three
    short = run(small_spec(**POLISHED, **{"evolution.generations": 1}), str(tmp_path / "s.db"))
    extending = Campaign.from_store(short.store, short.campaign_id, generations=3, observers=[CrashAfter(2)])
    with pytest.raises(Crash):
        extending.run()
    info = short.store.get_campaign(short.campaign_id)
    assert info["status"] == "failed" and info["spec"]["evolution"]["generations"] == 3
    Campaign.from_store(short.store, short.campaign_id).run()  # a plain resume finishes the extension
    assert comparable(evolved(short.candidates()), short.campaign_id) == comparable(
        evolved(reference.candidates()), reference.campaign_id)
    assert front_content(short.store, short.campaign_id) == front_content(reference.store, reference.campaign_id)


@pytest.mark.parametrize(("generations", "words"), [
    (1, "more than the campaign's 1"),
    (0, "more than the campaign's 1"),
    (2.5, "whole number"),
    ("3", "whole number"),
])
def test_an_extension_needs_more_generations(tmp_path, generations, words):
    result = run(small_spec(**{"evolution.generations": 1}), str(tmp_path / "s.db"))
    before = result.store.get_campaign(result.campaign_id)
    with pytest.raises(SpecError, match="generations") as error:
        Campaign.from_store(result.store, result.campaign_id, generations=generations)
    assert words in str(error.value)
    after = result.store.get_campaign(result.campaign_id)
    assert (after["spec"], after["status"], after["driver"]) == (before["spec"], before["status"], before["driver"])


def test_a_growing_connection_budget_cannot_be_extended(tmp_path):
    store = open_store(str(tmp_path / "s.db"))
    spec = parse_spec(small_spec(**{"search_space.growth": "linear", "search_space.growth_start": 2,
                                    "search_space.growth_end": 8, "evolution.generations": 0}))
    campaign = Campaign(spec, store)
    campaign.run()
    with pytest.raises(SpecError, match="search_space.growth"):
        Campaign.from_store(store, campaign.id, generations=2)
    assert store.get_campaign(campaign.id)["spec"]["evolution"]["generations"] == 0


def test_resuming_a_finished_campaign_points_to_extend(tmp_path):
    from connevo.errors import ConnevoError

    result = run(small_spec(**{"evolution.generations": 0}), str(tmp_path / "s.db"))
    with pytest.raises(ConnevoError, match="already finished.*connevo extend"):
        Campaign.from_store(result.store, result.campaign_id)
