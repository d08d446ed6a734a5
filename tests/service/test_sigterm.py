"""SIGTERM (kill, systemd, SLURM, Kubernetes) stops `connevo run` cleanly: one line, exit 143,
no native stack dump from Ray, status `stopped` (resumable as any stopped campaign)."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from results.store import open_store
from tests.support import ROOT, small_spec


def committed(db) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            return int(conn.execute("select coalesce(max(generations_done), 0) from campaigns").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


@pytest.mark.slow
def test_sigterm_on_a_ray_campaign_stops_it_cleanly_and_it_resumes(tmp_path):
    db = tmp_path / "s.db"
    spec = small_spec(**{"name": "termed", "evolution.population": 6, "evolution.generations": 40,
                         "training.epochs": 20, "workers.backend": "ray", "workers.chunk_size": 2})
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(spec))
    driver = subprocess.Popen([sys.executable, "-m", "service.cli", "run", str(spec_path), "--store", str(db)],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "RAY_DISABLE_USAGE_STATS": "1"})
    deadline = time.monotonic() + 180
    while committed(db) < 1 and time.monotonic() < deadline and driver.poll() is None:
        time.sleep(0.05)
    assert driver.poll() is None, driver.communicate()[1][-3000:]
    driver.send_signal(signal.SIGTERM)
    out, err = driver.communicate(timeout=180)
    assert driver.returncode == 128 + signal.SIGTERM, err[-3000:]
    assert "SIGTERM received" not in err and "Traceback" not in err  # no native stack dump
    campaign_id = out.split()[1]
    assert err.strip().splitlines()[-1] == (f"connevo: terminated (SIGTERM): campaign {campaign_id} stopped; "
                                            f"`connevo resume {campaign_id}` continues it")
    with open_store(db) as store:
        info = store.get_campaign(campaign_id)
        assert (info["status"], info["driver"]) == ("stopped", None)
        assert 1 <= info["generations_done"] < 41
