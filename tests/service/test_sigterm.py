"""SIGTERM (kill, systemd, SLURM, Kubernetes) stops `connevo run` cleanly: one line, exit 143,
no native stack dump from Ray, status `stopped` (resumable as any stopped campaign)."""

import signal

import pytest

from connevo.results.store import open_store
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


@pytest.mark.slow
def test_sigterm_on_a_server_running_a_ray_campaign_stops_it_quietly(tmp_path):
    """`connevo serve` shuts down gracefully on SIGTERM: the campaign it runs on Ray ends
    `stopped` with one line naming the resume command, and no Ray output (its native failure
    handler would print a stack dump and end the process before the shutdown)."""
    import os
    import socket
    import subprocess
    import sys
    import time

    import httpx

    from tests.support import ROOT

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    db = tmp_path / "s.db"
    server = subprocess.Popen([sys.executable, "-m", "connevo.service.cli", "serve", "--store", str(db), "--port", str(port)],
                              cwd=ROOT, env={**os.environ, "RAY_DISABLE_USAGE_STATS": "1"}, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(url + "/campaigns", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline and server.poll() is None
                time.sleep(0.2)
        spec = small_spec(**{"name": "served", "evolution.population": 6, "evolution.generations": 40,
                             "training.epochs": 20, "workers.backend": "ray", "workers.chunk_size": 2})
        campaign_id = httpx.post(url + "/campaigns", json=spec, timeout=60).json()["id"]
        while httpx.get(f"{url}/campaigns/{campaign_id}", timeout=10).json()["generations_done"] < 1:
            assert time.monotonic() < deadline + 60
            time.sleep(0.2)
        server.send_signal(signal.SIGTERM)
        _, err = server.communicate(timeout=120)
    finally:
        if server.poll() is None:
            server.kill()
    # uvicorn shuts down, then ends the process by the signal it caught (a shell reports 143)
    assert server.returncode == -signal.SIGTERM, err[-3000:]
    assert err.strip().splitlines() == [f"connevo: the server stopped campaign {campaign_id}; `connevo resume "
                                        f"{campaign_id}` (or POST /campaigns/{campaign_id}/resume) continues it"]
    with open_store(db) as store:
        info = store.get_campaign(campaign_id)
        assert (info["status"], info["driver"]) == ("stopped", None) and 1 <= info["generations_done"] < 41
