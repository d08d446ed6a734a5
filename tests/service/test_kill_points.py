"""The driver killed with SIGKILL at many points: every resume completes, no generation is ever
half-written, and the end result equals an uninterrupted run.

Each driver is a forked process (the imports are paid once), killed with a real SIGKILL."""

import multiprocessing
import sqlite3
import time

import numpy as np
import pytest

from connevo.evolution import Campaign, parse_spec, run
from connevo.results.store import open_store
from tests.support import comparable, small_spec

SPEC = small_spec(**{"name": "many-kills", "evolution.population": 6, "evolution.generations": 12,
                     "training.epochs": 60, "workers.backend": "local", "workers.chunk_size": 1})
KILLS = 16
LEAST_KILLS = 13  # kill points before the campaign may finish


def drive(db: str, campaign_id: str) -> None:
    store = open_store(db)
    Campaign.from_store(store, campaign_id).run()


def generations_are_whole(db) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        (done,) = conn.execute("select generations_done from campaigns").fetchone()
        per_generation = dict(conn.execute(
            "select generation, count(*) from candidates where number >= 0 group by generation"))
        generations = [g for (g,) in conn.execute("select generation from generations order by generation")]
    assert generations == list(range(done))
    assert sorted(per_generation) == generations
    assert all(count == 6 for count in per_generation.values())
    return done


@pytest.mark.slow
def test_many_sigkills_at_random_points_then_resume(tmp_path):
    # the uninterrupted reference, run first: it also warms torch up, so forked drivers start fast,
    # and says how long a generation takes on this machine now (kill points scale with it: a
    # loaded machine gets later kills, so that resuming still commits generations between them)
    started = time.perf_counter()
    reference = run(SPEC, str(tmp_path / "ref.db"))
    per_generation = (time.perf_counter() - started) / (SPEC["evolution"]["generations"] + 1)
    db = str(tmp_path / "k.db")
    store = open_store(db)
    campaign = Campaign(parse_spec(SPEC), store)
    campaign_id = campaign.create()
    # this process made the campaign but drives none of it: it lets it go, for the forked drivers
    store.set_campaign_status(campaign_id, "stopped", "created for the drivers below", driver=campaign.driver)
    store.close()
    rng = np.random.default_rng(7)
    fork = multiprocessing.get_context("fork")
    progress = []
    for _ in range(KILLS):
        driver = fork.Process(target=drive, args=(db, campaign_id))
        driver.start()
        time.sleep(0.02 + float(rng.uniform(0.1, 1.2)) * per_generation)
        driver.kill()  # SIGKILL
        driver.join()
        progress.append(generations_are_whole(db))
        if open_store(db).get_campaign(campaign_id)["status"] == "finished":
            break
    print("committed generations after each kill:", progress)
    assert len(progress) >= LEAST_KILLS, f"the campaign finished before {LEAST_KILLS} kill points"
    assert progress == sorted(progress)  # a kill never loses a committed generation
    assert progress[-1] > progress[0]  # and resuming makes progress between kills
    if open_store(db).get_campaign(campaign_id)["status"] != "finished":
        drive(db, campaign_id)
    generations_are_whole(db)
    store = open_store(db)
    assert store.get_campaign(campaign_id)["status"] == "finished"
    assert comparable(store.candidates(campaign_id), campaign_id) == comparable(reference.candidates(), reference.campaign_id)
