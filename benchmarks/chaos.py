"""A chaos soak: one campaign on a real two-node Ray cluster while a seeded schedule of faults
hits it and clients poll the HTTP API; then every candidate is compared with an uninterrupted
run of the same spec.

Faults, at seeded moments (after a seeded generation has been committed): SIGKILL of a trainer
actor while it trains, SIGKILL of the whole second node (a fresh second node joins a few seconds
later), and SIGKILL of the driver (then ``connevo resume``). Meanwhile ``connevo serve`` on the
same SQLite store answers ``--clients`` pollers (campaign list, status, front, a page of
candidates). At the end: every candidate of the uninterrupted run (in-process, one worker) must
be in the store exactly once with the same genome and scores.

Run from the repository root: ``python -m benchmarks.chaos`` (``--seed``, ``--generations``,
``--clients``); a few minutes on 2 cores. Nothing is asserted; the last line is
``faults=<n> candidates_equal=<k>/<total> lost=<m> http_errors=<e>``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

from benchmarks.common import ROOT
from benchmarks.ray_nodes import START_TIMEOUT, RayNode, cmdline, free_port, tree

COMPARED = ["number", "generation", "genome", "status", "seed", "train_accuracy", "val_accuracy", "test_accuracy",
            "connections", "params", "flops"]


def spec_of(generations: int, address: str) -> dict:
    return {"name": "chaos", "seed": 11, "task": {"dataset": "xor", "samples": 400},
            "evolution": {"population": 16, "generations": generations},
            "training": {"epochs": 30, "batch_size": 64, "learning_rate": 0.05, "min_steps": 0, "polish_epochs": 0},
            "workers": {"count": 2, "backend": "ray", "ray_address": address, "max_retries": 3}}


def committed(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute("SELECT COALESCE(MAX(generations_done), 0) FROM campaigns").fetchone()[0])
    except sqlite3.Error:
        return 0


class Pollers:
    """``clients`` threads polling the service until stopped; counts requests and errors (a 404
    before the campaign exists is not an error)."""

    def __init__(self, url: str, clients: int) -> None:
        self.url, self.requests, self.errors = url, 0, 0
        self.error_kinds: dict[str, int] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._poll, daemon=True) for _ in range(clients)]
        for t in self._threads:
            t.start()

    def _count(self, error: str | None) -> None:
        with self._lock:
            self.requests += 1
            if error is not None:
                self.errors += 1
                self.error_kinds[error] = self.error_kinds.get(error, 0) + 1

    def _poll(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as http:
            while not self._stop.is_set():
                try:
                    listed = http.get("/campaigns")
                    self._count(None if listed.status_code == 200 else f"HTTP {listed.status_code}")
                    for row in listed.json() if listed.status_code == 200 else []:
                        for path in (f"/campaigns/{row['id']}", f"/campaigns/{row['id']}/front",
                                     f"/campaigns/{row['id']}/candidates?limit=20"):
                            answer = http.get(path)
                            self._count(None if answer.status_code == 200 else f"HTTP {answer.status_code}")
                except httpx.HTTPError as exc:
                    self._count(type(exc).__name__)
                time.sleep(0.2)

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(30)


class Chaos:
    """The cluster, the driver, the server and the faults of one soak."""

    def __init__(self, folder: Path, args: argparse.Namespace) -> None:
        self.folder, self.args = folder, args
        self.env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
        self.env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32), RAY_DISABLE_USAGE_STATS="1")
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.db = folder / "chaos.db"
        self.spec_path = folder / "spec.json"
        self.spec_path.write_text(json.dumps(spec_of(args.generations, self.address)))
        self.nodes: list[RayNode] = []
        self.driver: subprocess.Popen | None = None
        self.faults: list[str] = []
        self.campaign_id = ""
        self.drivers = 0
        self.joining: threading.Thread | None = None

    def node(self, name: str, head: bool) -> RayNode:
        args = (["--head", f"--port={self.port}", "--include-dashboard=false", f"--dashboard-port={free_port()}"]
                if head else [f"--address={self.address}"])
        node = RayNode(name, [*args, "--num-cpus=1", f"--dashboard-agent-listen-port={free_port()}"],
                       self.folder / "ray" / name, self.env)
        self.nodes.append(node)
        node.wait_started(time.monotonic() + START_TIMEOUT)
        return node

    def last_log(self) -> str:
        return (self.folder / f"driver-{self.drivers - 1}.log").read_text(errors="replace")

    def start_driver(self, *command: str) -> None:
        log = open(self.folder / f"driver-{self.drivers}.log", "wb")  # noqa: SIM115 - the driver writes it
        self.drivers += 1
        self.driver = subprocess.Popen([sys.executable, "-m", "connevo.service.cli", *command, "--store", str(self.db)],
                                       stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=ROOT,
                                       start_new_session=True)

    def wait_for(self, generation: int, deadline_s: float = 300.0) -> bool:
        """Until ``generation`` generations are committed (False if the driver ended first)."""
        deadline = time.monotonic() + deadline_s
        while self.driver is not None and self.driver.poll() is None and time.monotonic() < deadline:
            if committed(self.db) >= generation:
                return True
            time.sleep(0.05)
        return False

    def kill_trainer(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for node in self.nodes:
                if node.proc.poll() is not None:
                    continue
                for pid in tree(node.proc.pid):
                    if cmdline(pid).startswith("ray::_Trainer.train"):
                        os.kill(pid, signal.SIGKILL)
                        self.faults.append(f"trainer {pid} on {node.name}")
                        return
            time.sleep(0.02)

    def kill_second_node(self) -> None:
        second = [n for n in self.nodes if n.name.startswith("second") and n.proc.poll() is None][-1]
        second.kill()
        self.faults.append(f"node {second.name}")

        def replace() -> None:  # a fresh node joins a few seconds later, while the campaign goes on
            time.sleep(3.0)
            self.node(f"second-{len(self.faults)}", head=False)

        self.joining = threading.Thread(target=replace, daemon=True)
        self.joining.start()

    def kill_driver(self) -> None:
        assert self.driver is not None
        os.killpg(self.driver.pid, signal.SIGKILL)
        self.driver.wait()
        self.faults.append(f"driver {self.driver.pid}")
        self.campaign_id = self.campaign_id or _only_campaign(self.db)
        self.start_driver("resume", self.campaign_id)

    def close(self) -> None:
        if self.joining is not None:
            self.joining.join(START_TIMEOUT + 10)
        if self.driver is not None and self.driver.poll() is None:
            os.killpg(self.driver.pid, signal.SIGKILL)
            self.driver.wait()
        for node in reversed(self.nodes):
            node.stop()


def _only_campaign(db: Path) -> str:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        return str(conn.execute("SELECT id FROM campaigns").fetchone()[0])


def wait_until_serving(url: str, server: subprocess.Popen, timeout_s: float = 60.0) -> None:
    """Until the service answers (the pollers count every failure after that as an error)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(url + "/campaigns", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("connevo serve did not start")
        time.sleep(0.2)


def schedule(seed: int, generations: int) -> list[tuple[int, str]]:
    """Seeded (generation, fault) pairs: two trainer kills, one node kill, one driver kill."""
    rng = np.random.default_rng(seed)
    moments = sorted(rng.choice(np.arange(1, generations - 1), size=4, replace=False).tolist())
    kinds = ["trainer", "node", "driver", "trainer"]
    rng.shuffle(kinds)
    return list(zip(moments, kinds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="seeds the fault schedule")
    parser.add_argument("--generations", type=int, default=12)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    from connevo import open_store, run

    folder = Path(tempfile.mkdtemp(prefix="connevo-chaos-", dir="/tmp"))  # short: Ray's socket paths
    chaos = Chaos(folder, args)
    server = None
    pollers = None
    began = time.monotonic()
    try:
        chaos.node("head", head=True)
        chaos.node("second", head=False)
        serve_port = free_port()
        server = subprocess.Popen([sys.executable, "-m", "connevo.service.cli", "serve", "--store", str(chaos.db),
                                   "--port", str(serve_port)], cwd=ROOT, env=chaos.env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{serve_port}"
        wait_until_serving(url, server)
        chaos.start_driver("run", str(chaos.spec_path))
        pollers = Pollers(url, args.clients)
        plan = schedule(args.seed, args.generations)
        print(f"fault schedule (after the generation committed): {plan}", flush=True)
        for generation, kind in plan:
            if not chaos.wait_for(generation):
                print(f"  the driver ended before {generation} generations were committed: no more faults",
                      flush=True)
                break
            {"trainer": chaos.kill_trainer, "node": chaos.kill_second_node, "driver": chaos.kill_driver}[kind]()
            print(f"  after generation {generation}: killed {chaos.faults[-1]}", flush=True)
        assert chaos.driver is not None
        rc = chaos.driver.wait(600)
        print(f"driver exited {rc} after {time.monotonic() - began:.0f} s", flush=True)
        if rc != 0:
            print("  its last lines:\n    " + "\n    ".join(chaos.last_log().splitlines()[-6:]), flush=True)
    finally:
        if pollers is not None:
            pollers.stop()
        if server is not None:
            server.terminate()
            server.wait(60)
        chaos.close()

    store = open_store(chaos.db)
    campaign_id = store.list_campaigns()["id"].iloc[0]
    got = store.candidates(campaign_id)
    reference = run({**spec_of(args.generations, ""), "workers": {"count": 1, "backend": "local"}},
                    folder / "reference.db")
    want = reference.store.candidates(reference.campaign_id)
    got_by, want_by = got.set_index("number"), want.set_index("number")
    columns = [c for c in COMPARED if c != "number"]
    equal = sum(1 for n in want_by.index if n in got_by.index and
                got_by.loc[n, columns].to_dict() == want_by.loc[n, columns].to_dict())
    lost = len(set(want_by.index) - set(got_by.index))
    print(f"status {store.get_campaign(campaign_id)['status']}; {len(got)} candidates stored "
          f"({got['number'].duplicated().sum()} duplicated); http requests {pollers.requests if pollers else 0}, "
          f"errors by kind {pollers.error_kinds if pollers else {}}; whole soak {time.monotonic() - began:.0f} s")
    print(f"faults={len(chaos.faults)} candidates_equal={equal}/{len(want)} lost={lost} "
          f"http_errors={pollers.errors if pollers else 0}")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
