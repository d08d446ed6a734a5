"""SIGTERM (kill, systemd, SLURM, Kubernetes) stops `connevo run` cleanly: one line, exit 143,
no native stack dump from Ray, status `stopped` (resumable as any stopped campaign)."""

import signal

import pytest

from results.store import open_store
from tests.support import small_spec, start_driver


@pytest.mark.slow
def test_sigterm_on_a_ray_campaign_stops_it_cleanly_and_it_resumes(tmp_path):
    db = tmp_path / "s.db"
    spec = small_spec(**{"name": "termed", "evolution.population": 6, "evolution.generations": 40,
                         "training.epochs": 20, "workers.backend": "ray", "workers.chunk_size": 2})
    driver = start_driver(spec, tmp_path, db)
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
