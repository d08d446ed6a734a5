"""Multi-fidelity: successive halving inside each generation, rejects stored with their fidelity."""

import json

import pytest

from connevo.errors import SpecError
from connevo.evolution import Campaign, parse_spec, run
from connevo.results import queries
from connevo.results.store import open_store
from tests.support import FIDELITY_SPEC, Crash, CrashAfter, comparable

SPEC = FIDELITY_SPEC


def with_fidelity(frame):
    return frame.assign(fidelity=queries.fidelity(frame))


def test_half_of_each_generation_trains_fully_and_the_rejects_keep_their_short_record(tmp_path):
    result = run(SPEC, str(tmp_path / "s.db"))
    rows = with_fidelity(result.candidates())
    assert list(rows["number"]) == list(range(24))  # every candidate exactly once
    assert set(rows["status"]) == {"ok"}
    for _, generation in rows.groupby("generation"):
        full, short = generation[generation["fidelity"] == 1.0], generation[generation["fidelity"] == 0.25]
        assert len(full) == len(short) == 4
        assert set(full["epochs"]) == {8} and set(short["epochs"]) == {2}
    # selection only sees fully trained candidates
    complete = set(rows.loc[rows["fidelity"] == 1.0, "id"])
    for population in result.generations()["population"]:
        assert set(population) <= complete
    front = result.front()
    assert set(front["candidate_id"]) <= complete
    everything = queries.front(result.store, result.campaign_id, include_partial=True)
    assert len(everything) >= 1 and set(everything["candidate_id"]) <= set(rows["id"])


def test_the_rungs_train_fewer_epochs_than_full_training(tmp_path):
    rungs = run(SPEC, str(tmp_path / "rungs.db")).candidates()
    plain = run(dict(SPEC, evolution={"population": 8, "generations": 2}), str(tmp_path / "plain.db")).candidates()
    assert rungs["epochs"].sum() == 3 * (8 * 2 + 4 * 6)
    assert plain["epochs"].sum() == 3 * 8 * 8


def test_rungs_are_deterministic_across_workers_and_resumes(tmp_path):
    reference = run(SPEC, str(tmp_path / "ref.db"))
    wide = run(dict(SPEC, workers={"count": 3, "backend": "local", "chunk_size": 3}), str(tmp_path / "wide.db"))
    expected = comparable(reference.candidates(), reference.campaign_id)
    assert comparable(wide.candidates(), wide.campaign_id) == expected

    store = open_store(str(tmp_path / "cut.db"))
    campaign = Campaign(parse_spec(SPEC), store, observers=[CrashAfter(1)])
    with pytest.raises(Crash):
        campaign.run()
    Campaign.from_store(store, campaign.id).run()
    assert comparable(store.candidates(campaign.id), campaign.id) == expected
    assert list(with_fidelity(store.candidates(campaign.id))["fidelity"]) == list(with_fidelity(reference.candidates())["fidelity"])


def test_rungs_combine_with_weight_inheritance(tmp_path):
    spec = dict(SPEC, training={"epochs": 8, "inherit_weights": True, "inherited_epochs": 4})
    rows = with_fidelity(run(spec, str(tmp_path / "s.db")).candidates())
    later = rows[rows["generation"] > 0]
    assert set(later.loc[later["fidelity"] == 0.25, "epochs"]) <= {1, 2}  # a quarter of 4 (or of 8: cold)
    cold = set(rows.loc[(rows["generation"] == 0) & (rows["fidelity"] == 1.0), "epochs"])  # min_steps "auto"'s
    # a child inheriting weights trains 4; one with nothing to inherit (a child of the network
    # without connections) trains as the first generation did
    assert set(later.loc[later["fidelity"] == 1.0, "epochs"]) <= {4} | cold


@pytest.mark.parametrize("fidelity, words", [
    ({"rungs": [0.5, 0.25, 1.0]}, "increase"),
    ({"rungs": [0.25, 0.5]}, "last rung must be 1"),
    ({"rungs": [0.0, 1.0]}, "(0, 1]"),
    ({"rungs": []}, "rungs"),
    ({"keep": 0}, "keep"),
    ({"keep": 0.5, "halving": True}, "halving"),
])
def test_bad_fidelity_specs_name_the_field(fidelity, words):
    with pytest.raises(SpecError) as info:
        parse_spec(dict(SPEC, evolution={"fidelity": fidelity}))
    assert "evolution.fidelity" in str(info.value) and words in str(info.value)


def test_the_cli_shows_a_rejects_fidelity_and_lists_rejects_on_request(tmp_path, cli):
    result = run(SPEC, str(tmp_path / "s.db"))
    rows = with_fidelity(result.candidates())
    reject = rows.loc[rows["fidelity"] < 1, "id"].iloc[0]
    shown = cli("show", reject, store=tmp_path / "s.db")
    assert shown.returncode == 0 and "fidelity" in shown.stdout and "0.25" in shown.stdout
    default = json.loads(cli("front", result.campaign_id, "--format", "json", store=tmp_path / "s.db").stdout)
    partial = json.loads(cli("front", result.campaign_id, "--format", "json", "--include-partial",
                                 store=tmp_path / "s.db").stdout)
    assert {m["candidate_id"] for m in default} <= set(rows.loc[rows["fidelity"] == 1, "id"])
    assert len(partial) >= 1



def test_rungs_with_inheritance_give_the_same_result_on_ray_workers(tmp_path, ray_session):
    spec = dict(SPEC, training={"epochs": 8, "inherit_weights": True, "inherited_epochs": 4})
    local = run(spec, str(tmp_path / "local.db"))
    on_ray = run(dict(spec, workers={"backend": "ray", "count": 2, "chunk_size": 3}), str(tmp_path / "ray.db"))
    assert comparable(on_ray.candidates(), on_ray.campaign_id) == comparable(local.candidates(), local.campaign_id)
