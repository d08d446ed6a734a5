"""Several drivers writing one store at once (three `connevo run` processes and a reader): no lock
error surfaces, nothing is lost, and each campaign equals the same campaign run alone."""

import json
import os
import subprocess
import sys

import pytest

from connevo.evolution import run
from connevo.results.store import open_store
from tests.support import ROOT, comparable, small_spec

SEEDS = (11, 12, 13)


def spec_for(seed: int) -> dict:
    return small_spec(seed=seed, name=f"writer-{seed}", **{"evolution.population": 4, "evolution.generations": 2,
                                                            "workers.chunk_size": 1})


def run_three_at_once(tmp_path, store: str) -> None:
    env = {**os.environ, "RAY_DISABLE_USAGE_STATS": "1"}
    drivers = []
    for seed in SEEDS:
        path = tmp_path / f"{seed}.json"
        path.write_text(json.dumps(spec_for(seed)))
        drivers.append(subprocess.Popen([sys.executable, "-m", "connevo.service.cli", "run", str(path), "--store", store],
                                        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    reads = []
    with open_store(store) as reader:  # a reader polling the whole time, as a dashboard does
        while any(d.poll() is None for d in drivers):
            listed = reader.list_campaigns()
            for cid in listed["id"]:
                reads.append(len(reader.candidates(cid)))
    for d in drivers:
        _, err = d.communicate(timeout=300)
        assert d.returncode == 0, err[-3000:]
        assert "locked" not in err and "Traceback" not in err
    assert reads


def check_each_equals_its_solo_run(tmp_path, store: str) -> None:
    with open_store(store) as s:
        listed = s.list_campaigns().set_index("name")
        for seed in SEEDS:
            info = s.get_campaign(listed.loc[f"writer-{seed}", "id"])
            assert info["status"] == "finished"
            alone = run(spec_for(seed), str(tmp_path / f"alone-{seed}.db"))
            assert comparable(s.candidates(info["id"]), info["id"]) == \
                comparable(alone.candidates(), alone.campaign_id)


@pytest.mark.slow
def test_three_campaigns_at_once_on_one_sqlite_file(tmp_path):
    store = str(tmp_path / "shared.db")
    run_three_at_once(tmp_path, store)
    check_each_equals_its_solo_run(tmp_path, store)


@pytest.mark.slow
def test_three_campaigns_at_once_on_postgresql(tmp_path, postgres_url):
    run_three_at_once(tmp_path, postgres_url)
    check_each_equals_its_solo_run(tmp_path, postgres_url)
