"""A real two-node Ray cluster on this machine: a node dies mid-campaign, the campaign completes.

The test starts a head node and a second node with ``ray start`` (token authentication on,
with a token made for the test), runs ``connevo run`` against the head's address in a
subprocess (a driver can join only one Ray, and this pytest process may hold the session's
in-process Ray), SIGKILLs every process of the second node while it trains a chunk, and checks
that the campaign finished with every candidate stored once, all of them ``ok`` and equal to
an in-process run of the same spec (the retried chunk gives the same evaluations).

Each node runs in its own session, temp dir and ports, so nothing here touches another Ray on
the machine (``ray stop`` would stop them all); teardown kills the nodes' process trees.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from benchmarks.ray_nodes import START_TIMEOUT, RayNode, free_port
from tests.support import ROOT, small_spec

pytestmark = pytest.mark.slow

@pytest.fixture
def cluster_dir():
    # Short path: Ray's unix sockets live under the temp dir (the limit is 107 bytes).
    path = Path(tempfile.mkdtemp(prefix="connevo-ray-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def cluster_env() -> dict[str, str]:
    """The environment of a token-authenticated cluster's nodes and drivers (no stray RAY_ADDRESS)."""
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32), RAY_DISABLE_USAGE_STATS="1")
    return env


def _cluster_spec(folder: Path, address: str, workers: dict, generations: int | None = None) -> Path:
    """SPEC on the cluster at ``address``, written to ``folder/spec.json``."""
    spec = json.loads(json.dumps(SPEC))
    spec["workers"] = {"backend": "ray", "ray_address": address, **workers}
    if generations is not None:
        spec["evolution"]["generations"] = generations
    path = folder / "spec.json"
    path.write_text(json.dumps(spec))
    return path


def _generations_committed(db: Path) -> int:
    """Committed generations, read without creating or migrating the store (the campaign does)."""
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return conn.execute("SELECT COUNT(*) FROM generations").fetchone()[0]
    except sqlite3.Error:
        return 0


SPEC = small_spec(**{
    "name": "two-node-xor",
    "task.samples": 400,
    "evolution.population": 16,
    # six generations: the test kills the second node while it trains a chunk of one of the
    # last five, and with four a fast machine under load could finish before it saw one
    "evolution.generations": 6,
    "training.epochs": 20,
})
COMPARED = ["number", "generation", "genome", "status", "seed", "train_accuracy", "val_accuracy",
            "test_accuracy", "connections", "params", "flops"]


def test_a_campaign_survives_losing_a_node_of_a_real_cluster(cluster_dir, cluster_env, tmp_path):
    from connevo import open_store, run

    env = cluster_env
    port = free_port()
    address = f"127.0.0.1:{port}"
    db = tmp_path / "cluster.db"
    spec_path = _cluster_spec(tmp_path, address, {"count": 2, "max_retries": 2})
    spec = json.loads(spec_path.read_text())

    nodes: list[RayNode] = []
    campaign = None
    started = time.monotonic()
    try:
        head = RayNode("head", ["--head", f"--port={port}", "--num-cpus=1", "--include-dashboard=false",
                                f"--dashboard-port={free_port()}",
                                f"--dashboard-agent-listen-port={free_port()}"],
                       cluster_dir / "head", env)
        nodes.append(head)
        head.wait_started(time.monotonic() + START_TIMEOUT)
        second = RayNode("second", [f"--address={address}", "--num-cpus=1",
                                    f"--dashboard-agent-listen-port={free_port()}"],
                         cluster_dir / "second", env)
        nodes.append(second)
        second.wait_started(time.monotonic() + START_TIMEOUT)

        # One CPU per node and two one-CPU workers: one trainer actor on each node.
        campaign_log = tmp_path / "campaign.log"
        with open(campaign_log, "wb") as log:
            campaign = subprocess.Popen(
                [sys.executable, "-m", "connevo.service.cli", "run", str(spec_path), "--store", str(db)],
                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT, start_new_session=True,
            )

        def output() -> str:
            return campaign_log.read_text(errors="replace")[-6000:]

        deadline = time.monotonic() + 90
        while not (_generations_committed(db) >= 1 and second.trainer_busy()):
            assert campaign.poll() is None, f"the campaign ended before the node was killed:\n{output()}"
            assert time.monotonic() < deadline, f"no chunk ever ran on the second node:\n{output()}"
            time.sleep(0.05)
        killed_after = _generations_committed(db)
        second.kill()

        try:
            rc = campaign.wait(120)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the campaign hung after the node died:\n{output()}")
        assert rc == 0, output()
        assert "retrying them" in output(), output()  # the dead node's chunk was retried elsewhere
        assert "max_restarts > 0" not in output(), output()
    finally:
        if campaign is not None and campaign.poll() is None:
            os.killpg(campaign.pid, signal.SIGKILL)
            campaign.wait()
        for node in reversed(nodes):
            node.stop()
    cluster_seconds = time.monotonic() - started

    store = open_store(db)
    (campaign_id,) = store.list_campaigns()["id"]
    assert store.get_campaign(campaign_id)["status"] == "finished"
    got = store.candidates(campaign_id)
    total = spec["evolution"]["population"] * (spec["evolution"]["generations"] + 1)
    assert sorted(got["number"]) == list(range(total))  # every candidate exactly once
    assert set(got["status"]) == {"ok"}  # final, and none lost to the dead node

    # The same evaluations as an in-process run: no result depends on which node trained it.
    reference_spec = {**SPEC, "workers": {"count": 1, "backend": "local"}}
    reference = run(reference_spec, tmp_path / "reference.db")
    want = reference.store.candidates(reference.campaign_id)
    assert got[COMPARED].reset_index(drop=True).equals(want[COMPARED].reset_index(drop=True))
    strip = lambda parents: [p.split("-", 1)[1] for p in parents]  # noqa: E731 - ids carry the campaign
    assert list(got["parents"].map(strip)) == list(want["parents"].map(strip))
    print(f"cluster part {cluster_seconds:.1f} s, killed after generation {killed_after - 1}")


QUIET_START = """
import ray
from ray._private.authentication.authentication_utils import is_token_auth_enabled
from connevo.workers import TrainingSettings, load_dataset
from connevo.workers.ray_evaluator import RayEvaluator

with RayEvaluator(load_dataset("xor", seed=0), TrainingSettings(epochs=1), workers=1) as ev:
    ray.get(ev._actors[0].pid.remote())
    assert is_token_auth_enabled(), "the embedded Ray lost its token authentication"
print("done")
"""


def test_the_embedded_ray_starts_quietly_and_keeps_token_authentication():
    """No notice about token authentication (still on) nor about actor restarts on stderr."""
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "RAY_AUTH_MODE")}
    env["RAY_DISABLE_USAGE_STATS"] = "1"
    proc = subprocess.run([sys.executable, "-c", QUIET_START], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "done"
    assert "Token authentication is enabled" not in proc.stderr, proc.stderr
    assert "max_restarts > 0" not in proc.stderr, proc.stderr


def test_a_lost_cluster_head_fails_the_campaign_with_one_line(cluster_dir, cluster_env, tmp_path):
    """The head of a remote cluster vanishes under `connevo run --ray-address`: Ray ends the
    driver from native code; its supervisor marks the campaign failed with one line naming the
    cluster, exit status 75, no Ray log lines (the driver gives up on the head after 3 s here
    instead of 60)."""
    from connevo import open_store

    env = cluster_env
    port = free_port()
    address = f"127.0.0.1:{port}"
    db = tmp_path / "lost.db"
    spec_path = _cluster_spec(tmp_path, address, {"count": 1}, generations=200)
    head = RayNode("head", ["--head", f"--port={port}", "--num-cpus=1", "--include-dashboard=false",
                            f"--dashboard-port={free_port()}", f"--dashboard-agent-listen-port={free_port()}"],
                   cluster_dir / "head", env)
    campaign = None
    try:
        head.wait_started(time.monotonic() + START_TIMEOUT)
        campaign = subprocess.Popen(
            [sys.executable, "-m", "connevo.service.cli", "run", str(spec_path), "--store", str(db)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, start_new_session=True,
            env={**env, "RAY_gcs_rpc_server_reconnect_timeout_s": "3"},
        )
        deadline = time.monotonic() + 90
        while _generations_committed(db) < 1:
            assert campaign.poll() is None, campaign.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "no generation was committed on the cluster"
            time.sleep(0.05)
        head.kill()
        try:
            out, err = campaign.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            pytest.fail("the campaign hung after the cluster's head died")
    finally:
        if campaign is not None and campaign.poll() is None:
            os.killpg(campaign.pid, signal.SIGKILL)
            campaign.wait()
        head.stop()
    assert campaign.returncode == 75, err[-3000:]
    campaign_id = out.split()[1]
    assert err.strip().splitlines()[-1].startswith(f"connevo: the Ray cluster at {address} died"), err[-3000:]
    assert ".cc:" not in err and "(raylet)" not in out + err, err[-3000:]
    with open_store(db) as store:
        info = store.get_campaign(campaign_id)
    assert (info["status"], info["driver"]) == ("failed", None)
