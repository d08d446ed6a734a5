"""`connevo serve`, `connevo launch` and `--server` as a user runs them: the server a real
subprocess, the client commands in this process (the ``cli`` fixture), talking to it over HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import ROOT, small_spec


@pytest.fixture
def connevo(cli, monkeypatch):
    """``connevo(*args, env={"CONNEVO_TOKEN": ...})``: a client command, with exactly the token given."""
    def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
        monkeypatch.delenv("CONNEVO_TOKEN", raising=False)
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        return cli(*args)

    return run


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A `connevo serve` subprocess with a token; yields (url, token)."""
    port, token = free_port(), "cli-token"
    env = {**os.environ, "RAY_DISABLE_USAGE_STATS": "1", "CONNEVO_TOKEN": token}
    process = subprocess.Popen(
        [sys.executable, "-m", "connevo.service.cli", "serve", "--port", str(port), "--store", str(tmp_path / "s.db"),
         "--data-dir", str(tmp_path)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + "/", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            out, err = process.communicate()
            raise RuntimeError(f"connevo serve did not start: {out}\n{err}")
        time.sleep(0.1)
    try:
        yield url, token
    finally:
        process.terminate()
        try:
            process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


@pytest.mark.slow
def test_launch_then_ls_status_front_show_over_http(served: tuple[str, str], tmp_path: Path, connevo) -> None:
    """On the default Ray backend: the server starts Ray from a campaign thread (and survives it)."""
    url, token = served
    env = {"CONNEVO_TOKEN": token}
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(small_spec(name="over-http", **{"evolution.generations": 1, "workers.backend": "ray"})))

    launched = connevo("launch", str(spec), "--server", url, env=env)
    assert launched.returncode == 0, launched.stderr
    words = launched.stdout.split()
    assert words[0] == "campaign" and words[2] == "running"
    campaign_id = words[1]

    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + 120
    while httpx.get(f"{url}/campaigns/{campaign_id}", headers=headers).json()["status"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.2)

    listing = connevo("ls", "--server", url, "--format", "json", env=env)
    assert listing.returncode == 0, listing.stderr
    [row] = json.loads(listing.stdout)
    assert row["id"] == campaign_id and row["status"] == "finished" and row["candidates"] == 12
    detail = httpx.get(f"{url}/campaigns/{campaign_id}", headers=headers).json()
    assert detail["spec"]["workers"]["cpus_per_worker"] == 0.25  # 1 / limits.max_concurrent

    status = connevo("status", campaign_id, "--server", url, env=env)
    assert status.returncode == 0, status.stderr
    assert f"campaign {campaign_id} 'over-http'  status finished" in status.stdout

    front = connevo("front", "over-http", "--server", url, "--format", "json", env=env)
    assert front.returncode == 0, front.stderr
    members = json.loads(front.stdout)
    assert members and {"candidate_id", "val_accuracy", "connections"} <= set(members[0])

    shown = connevo("show", members[0]["candidate_id"], "--server", url, "--format", "json", env=env)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["id"] == members[0]["candidate_id"]

    no_token = connevo("ls", "--server", url)
    assert no_token.returncode == 2 and "token" in no_token.stderr and "401" in no_token.stderr
    missing = connevo("status", "nope", "--server", url, env=env)
    assert missing.returncode == 2 and "nope" in missing.stderr


def test_serve_refuses_a_public_host_without_a_token(connevo) -> None:
    done = connevo("serve", "--host", "0.0.0.0", "--port", str(free_port()))
    assert done.returncode == 2
    assert "CONNEVO_TOKEN" in done.stderr and "0.0.0.0" in done.stderr


def test_an_unreachable_server_is_a_clear_error(connevo) -> None:
    done = connevo("ls", "--server", f"http://127.0.0.1:{free_port()}")
    assert done.returncode == 2 and "cannot reach the connevo service" in done.stderr
