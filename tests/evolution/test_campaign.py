"""The campaign loop: seeded, persisted generation by generation, robust to failing candidates."""

import dataclasses
import gc
import weakref

import numpy as np
import pandas as pd
import pytest

import connevo
from connevo.evolution import Campaign, CampaignObserver, candidate_seed, parse_spec, run
from connevo.evolution.summary import ArchivedScores
from connevo.results import queries
from connevo.results.store import open_store
from tests.support import comparable, small_spec


def test_a_campaign_stores_every_candidate_and_generation(store_path):
    result = run(small_spec(), str(store_path))
    info = result.info()
    assert info["status"] == "finished" and info["generations_done"] == 3
    candidates = result.candidates()
    assert len(candidates) == 6 * 3
    assert list(candidates["number"]) == list(range(18))
    assert set(candidates["status"]) == {"ok"}
    generations = result.generations()
    assert list(generations["generation"]) == [0, 1, 2]
    # the archive's hypervolume with a fixed reference point never decreases
    assert generations["hypervolume"].is_monotonic_increasing
    assert (generations["hypervolume"] > 0).all()
    # children name their parents, which exist
    ids = set(candidates["id"])
    later = candidates[candidates["generation"] > 0]
    assert all(1 <= len(p) <= 2 and set(p) <= ids for p in later["parents"])
    # seeds derive from (campaign seed, candidate number) only
    assert list(candidates["seed"]) == [candidate_seed(3, n) for n in range(18)]


@pytest.mark.parametrize("ranking", ["accuracy", "loss"])
def test_the_front_is_nondominated_and_holds_the_best_ranked_network(store_path, ranking):
    result = run(small_spec(**{"evolution.generations": 1, "objectives.rank_accuracy_by": ranking}), str(store_path))
    front, everything = result.front(), result.candidates()

    def rank(r) -> tuple[float, float]:  # larger is better, as the campaign ranks val_accuracy
        by_accuracy = (r["val_accuracy"], -r["val_loss"])
        return by_accuracy if ranking == "accuracy" else by_accuracy[::-1]

    assert max(rank(r) for _, r in front.iterrows()) == max(rank(r) for _, r in everything.iterrows())
    for _, a in front.iterrows():
        assert not any(rank(b) >= rank(a) and b["connections"] <= a["connections"]
                       and (rank(b) > rank(a) or b["connections"] < a["connections"]) for _, b in everything.iterrows())


def test_the_default_front_holds_every_network_no_other_beats_on_accuracy_loss_and_connections(store_path):
    result = run(small_spec(**{"evolution.generations": 1}), str(store_path))
    front, everything = result.front(), result.candidates()
    everything = everything[everything["status"] == "ok"]

    def beats(b, a) -> bool:
        at_least = (b["val_accuracy"] >= a["val_accuracy"] and b["val_loss"] <= a["val_loss"]
                    and b["connections"] <= a["connections"])
        return at_least and (b["val_accuracy"], b["val_loss"], b["connections"]) != (
            a["val_accuracy"], a["val_loss"], a["connections"])

    on_front = set(front["candidate_id"])
    for _, a in everything.iterrows():
        beaten = any(beats(b, a) for _, b in everything.iterrows())
        twin_listed = any((b["val_accuracy"], b["val_loss"], b["connections"]) == (
            a["val_accuracy"], a["val_loss"], a["connections"]) for _, b in front.iterrows())
        assert beaten != (a["id"] in on_front or twin_listed), a["id"]
    assert len(front) == result.store.generations(result.campaign_id)["front_size"].iloc[-1]


def test_the_python_api_returns_dataframes(store_path):
    result = connevo.run(connevo.load_spec(small_spec(**{"evolution.generations": 0})), str(store_path))
    assert isinstance(result.front(), pd.DataFrame) and isinstance(result.candidates(), pd.DataFrame)
    assert {"candidate_id", "val_accuracy", "connections"} <= set(result.front().columns)


def test_same_seed_same_result_other_seed_other_result(tmp_path):
    a = run(small_spec(), str(tmp_path / "a.db"))
    b = run(small_spec(), str(tmp_path / "b.db"))
    c = run(small_spec(seed=4), str(tmp_path / "c.db"))
    assert comparable(a.candidates(), a.campaign_id) == comparable(b.candidates(), b.campaign_id)
    assert comparable(a.candidates(), a.campaign_id) != comparable(c.candidates(), c.campaign_id)


@pytest.mark.slow
def test_one_ray_worker_or_two_give_the_same_candidates_and_front(tmp_path, ray_session):
    polished = {"training.polish_epochs": None}  # the default final polish, whose copies are compared too
    spec = small_spec(**{"workers.backend": "ray", "workers.count": 1, **polished})
    one = run(spec, str(tmp_path / "one.db"))
    two = run(small_spec(**{"workers.backend": "ray", "workers.count": 2, "workers.chunk_size": 1, **polished}),
              str(tmp_path / "two.db"))
    local = run(small_spec(**{"workers.backend": "local", **polished}), str(tmp_path / "local.db"))
    rows = comparable(one.candidates(), one.campaign_id)
    assert any(row["number"] < 0 for row in rows)
    assert rows == comparable(two.candidates(), two.campaign_id)
    assert rows == comparable(local.candidates(), local.campaign_id)
    assert list(one.front()["val_accuracy"]) == list(two.front()["val_accuracy"])


def test_weighted_selection_keeps_the_best_scalar_fitness(store_path):
    spec = small_spec(**{"evolution.algorithm": "weighted", "evolution.cost_weight": 0.5})
    result = run(spec, str(store_path))
    candidates = result.candidates().set_index("id")
    last = result.generations().iloc[-1]
    fitness = candidates["val_accuracy"] - 0.5 * candidates["connections"] / 2  # xor: 2 inputs x 1 output
    survivors = set(last["population"])
    assert len(survivors) == 6
    # no distinct candidate outside the survivors is strictly better than the worst survivor
    # (a candidate repeating an earlier one's scores only fills places left over)
    repeats = candidates.sort_values("number").duplicated(["val_accuracy", "connections"])
    others = [i for i in candidates.index if i not in survivors and not repeats[i]]
    assert fitness[others].max() <= fitness[list(survivors)].min() + 1e-12


def test_failing_candidates_do_not_stop_the_campaign(store_path):
    spec = small_spec(**{"training.time_limit": 1e-4, "training.epochs": 50, "training.batch_size": 1})
    result = run(spec, str(store_path))
    candidates = result.candidates()
    assert result.info()["status"] == "finished"
    assert set(candidates["status"]) == {"timeout"}
    assert candidates["error"].str.contains("time limit").all()
    assert candidates["connections"].notna().all()  # costs are known even without training
    assert result.front().empty


class Recorder(CampaignObserver):
    def __init__(self):
        self.events = []

    def on_start(self, campaign):
        self.events.append("start")

    def on_generation_start(self, campaign, generation, size):
        self.events.append(f"gen{generation}:{size}")

    def on_evaluations(self, campaign, evaluations):
        self.events.append(len(evaluations))

    def on_generation_end(self, campaign, summary, rows, checkpoint):
        self.events.append(f"end{summary.generation}")
        assert {"rng", "innovations", "next_number"} <= set(checkpoint)

    def on_finish(self, campaign, status, error):
        self.events.append(status)


def test_observers_see_the_lifecycle_in_order(store_path):
    recorder = Recorder()
    run(small_spec(**{"evolution.generations": 1, "workers.chunk_size": 4}), str(store_path), observers=[recorder])
    assert recorder.events == ["start", "gen0:6", 4, 2, "end0", "gen1:6", 4, 2, "end1", "finished"]


def test_bad_data_writes_no_campaign_row(tmp_path):
    csv = tmp_path / "d.csv"
    csv.write_text("a,b,label\n1,2,x\n3,4,y\n")
    store = open_store(str(tmp_path / "s.db"))
    with pytest.raises(connevo.DataError, match="'klass'"):
        Campaign(parse_spec(small_spec(**{"task.dataset": str(csv), "task.target": "klass"})), store)
    assert store.list_campaigns().empty


def test_the_checkpoint_holds_the_generator_state_and_innovation_counter(store_path):
    result = run(small_spec(**{"evolution.generations": 1}), str(store_path))
    latest = result.store.latest_checkpoint(result.campaign_id)
    assert latest["generation"] == 1
    state = latest["checkpoint"]
    assert state["next_number"] == 12
    rng = np.random.default_rng()
    rng.bit_generator.state = state["rng"]  # restorable
    assert state["innovations"]["next_innovation"] >= 4


def test_copies_of_one_network_do_not_crowd_the_population(store_path):
    result = run(small_spec(**{"evolution.generations": 4, "evolution.mutation": {"remove_connection": 0.9}}), str(store_path))
    candidates = result.candidates().set_index("id")
    for population in result.generations()["population"]:
        scores = candidates.loc[population, ["val_accuracy", "connections"]]
        distinct_in_archive = candidates[candidates["number"] <= max(candidates.loc[population, "number"])]
        available = len(distinct_in_archive.drop_duplicates(["val_accuracy", "connections"]))
        assert len(scores.drop_duplicates()) == min(len(population), available)


class GenomeWatcher(CampaignObserver):
    """Weak references to every candidate's genome and trained genome, as they are trained."""

    def __init__(self):
        self.refs = []

    def on_evaluations(self, campaign, evaluations):
        for e in evaluations:
            candidate = campaign.in_flight[e.candidate_id]
            self.refs.append((candidate.number, weakref.ref(candidate.genome)))
            if e.trained_genome is not None:
                self.refs.append((candidate.number, weakref.ref(e.trained_genome)))


def test_a_campaign_keeps_the_genomes_of_its_population_only(store_path):
    watcher = GenomeWatcher()
    campaign = Campaign(parse_spec(small_spec(**{"evolution.generations": 4})), open_store(str(store_path)),
                        observers=[watcher])
    campaign.run()
    gc.collect()
    alive = {number for number, ref in watcher.refs if ref() is not None}
    assert len(watcher.refs) >= 2 * 30  # every candidate's genome and trained genome were watched
    assert alive <= {c.number for c in campaign.population}
    # the archive keeps every candidate's scores, from which each generation's summary is made
    assert len(campaign.archive) == 30
    assert all(isinstance(a, ArchivedScores) for a in campaign.archive)
    front = queries.front(campaign.store, campaign.id, list(campaign.objectives), genomes=False,
                          rank_accuracy_by=campaign.spec.objectives.rank_accuracy_by)
    distinct = len(front.drop_duplicates(list(campaign.objectives)))
    assert campaign.store.generations(campaign.id)["front_size"].iloc[-1] == distinct


def test_a_generation_commits_the_rows_made_as_its_evaluations_finished_unless_evaluated_again(store_path):
    campaign = Campaign(parse_spec(small_spec(**{"evolution.generations": 1})), open_store(str(store_path)))
    campaign.run()
    candidate = campaign.population[0]
    campaign.in_flight = {campaign.candidate_id(candidate.number): candidate}
    [made] = campaign.rows_for([candidate.evaluation])
    assert campaign._final_row(candidate) is made  # not made twice
    candidate.evaluation = dataclasses.replace(candidate.evaluation, val_accuracy=0.125)
    again = campaign._final_row(candidate)
    assert again is not made and again["val_accuracy"] == 0.125
