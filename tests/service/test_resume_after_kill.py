"""A driver killed with SIGKILL mid-generation resumes to the uninterrupted result, and the
evaluations it had finished are reused, not repeated."""

import json
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from connevo.evolution import run
from connevo.results import genome_codec
from tests.support import ROOT, comparable, small_spec

SPEC = small_spec(**{
    "name": "killed",
    "evolution.population": 8,
    "evolution.generations": 3,
    "training.epochs": 60,
    "workers.backend": "local",
    "workers.chunk_size": 1,
})


def pending_rows(db) -> list[tuple[int, int, float]]:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            return [(n, g, genome_codec.read(r)["seconds"]) for n, g, r in
                    conn.execute("select number, generation, row from pending_evaluations")]
    except sqlite3.OperationalError:
        return []


@pytest.mark.slow
def test_sigkill_mid_generation_then_resume(tmp_path, cli):
    db = tmp_path / "k.db"
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(SPEC))
    driver = subprocess.Popen([sys.executable, "-m", "connevo.service.cli", "run", str(spec_path), "--store", str(db)],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 120
    before = []
    while time.monotonic() < deadline:
        before = [row for row in pending_rows(db) if row[1] == 2]
        if len(before) >= 3:
            break
        time.sleep(0.02)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    campaign_id = driver.stdout.readline().split()[1]
    assert len(before) >= 3, "the driver never reached generation 2"
    before = [row for row in pending_rows(db) if row[1] == 2]  # what survived the kill

    # the killed driver's heartbeat stopped: a minute later the campaign shows as stale
    with sqlite3.connect(db) as conn:
        conn.execute("update campaigns set updated_at = datetime('now', '-2 minutes') where id = ?", (campaign_id,))
    listing = cli("ls", store=db)
    assert "running (stale)" in listing.stdout, listing.stdout
    assert json.loads(cli("ls", "--format", "json", store=db).stdout)[0]["stale"] is True
    status = cli("status", campaign_id, store=db)
    assert "stale:" in status.stdout and f"connevo resume {campaign_id}" in status.stdout

    done = cli("resume", campaign_id, store=db)
    assert done.returncode == 0, done.stderr

    reference = run(SPEC, str(tmp_path / "ref.db"))
    from connevo.results.store import open_store

    store = open_store(str(db))
    assert store.get_campaign(campaign_id)["status"] == "finished"
    resumed = store.candidates(campaign_id)
    assert comparable(resumed, campaign_id) == comparable(reference.candidates(), reference.campaign_id)
    # every evaluation finished before the kill was kept as it was, not trained again
    seconds = dict(zip(resumed["number"], resumed["seconds"]))
    assert all(seconds[number] == secs for number, _, secs in before)
    assert pending_rows(db) == []
    assert len(resumed) == 8 * 4 and resumed["number"].is_unique
    assert store.get_campaign(campaign_id)["stale"] is False
