"""Helpers the tests share (never a test module importing another): specs, comparisons, the CLI
as a subprocess, seeded genomes, a live HTTP server."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import uvicorn
from fastapi import FastAPI

from connevo.evolution import CampaignObserver
from connevo.search_space import InnovationTracker, minimal_genome
from connevo.search_space.genome import Genome, Regularization
from connevo.search_space.mutations import MUTATIONS
from connevo.search_space.operators import Limits

ROOT = Path(__file__).resolve().parents[1]
ALL_ACTIVATIONS = ("relu", "tanh", "sigmoid", "identity", "steep_tanh")


def small_spec(**overrides) -> dict:
    """A spec that trains in a second or two: XOR, tiny population, few epochs, and no final polish
    (``training.polish_epochs = 0``): its candidates are exactly those evolution made. The polish's
    own tests, and the end-to-end ones through the CLI and HTTP, turn it back on."""
    spec = {
        "name": "tiny-xor",
        "seed": 3,
        "task": {"dataset": "xor", "samples": 200},
        "evolution": {"population": 6, "generations": 2},
        "objectives": {"maximize": ["val_accuracy"], "minimize": ["connections"]},
        "training": {"epochs": 5, "batch_size": 64, "learning_rate": 0.05, "min_steps": 0, "polish_epochs": 0},
        "workers": {"count": 2, "backend": "local"},
    }
    for dotted, value in overrides.items():
        node = spec
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return spec


COMPARED = ["number", "generation", "parents", "genome", "status", "seed", "train_accuracy",
            "val_accuracy", "test_accuracy", "connections", "params", "flops", "wiring_length"]


def comparable(frame: pd.DataFrame, campaign_id: str) -> list[dict]:
    rows = frame[COMPARED].to_dict("records")
    for row in rows:  # candidate ids embed the campaign id; compare by number
        row["parents"] = [p.split("-")[-1] for p in row["parents"]]
    return rows


class Crash(Exception):
    pass


class CrashAfter(CampaignObserver):
    """Simulates a driver dying right after generation ``n`` was committed."""

    def __init__(self, generation: int):
        self.generation = generation

    def on_generation_end(self, campaign, summary, rows, checkpoint):
        if summary.generation == self.generation:
            raise Crash(f"killed after generation {summary.generation}")


def connevo(*args: str, store: Path | None = None, env: dict | None = None, timeout: int = 240) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "connevo.service.cli", *args]
    if store is not None:
        command += ["--store", str(store)]
    full_env = {**os.environ, "RAY_DISABLE_USAGE_STATS": "1", **(env or {})}
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=full_env)


def random_genome(seed: int, steps: int = 40) -> Genome:
    rng = np.random.default_rng(seed)
    tracker = InnovationTracker()
    genome = minimal_genome(6, 3, rng, tracker, density=0.5)
    ops = list(MUTATIONS.values())
    for _ in range(steps):
        genome = ops[int(rng.integers(len(ops)))](genome, rng, tracker)
    return genome.validate()


def random_genomes(dataset, n, seed=0, steps=30):
    """Grown by the search-space operators: hidden nodes, skips, shared groups, regularization."""
    rng = np.random.default_rng(seed)
    tracker = InnovationTracker()
    limits = Limits(max_hidden_nodes=12, activations=ALL_ACTIVATIONS)
    names = sorted(MUTATIONS)
    out = []
    for i in range(n):
        genome = minimal_genome(dataset.n_features, dataset.n_classes, rng, tracker, 0.3 + 0.5 * rng.random())
        for _ in range(int(rng.integers(0, steps))):
            genome = MUTATIONS[names[int(rng.integers(len(names)))]](genome, rng, tracker, limits)
        if i % 3 == 1:  # make sure regularization genes are exercised
            genome = genome.replace(regularization=Regularization(0.01 * i, (i % 4) / 3, 0.1 + 0.05 * (i % 5)))
        out.append(genome)
    return out


@dataclass
class LiveServer:
    """A running server: its base ``url``, its ``app`` and an httpx ``client`` bound to it."""

    url: str
    app: FastAPI
    client: httpx.Client

    def wait_status(self, campaign_id: str, statuses: tuple[str, ...] = ("finished", "failed", "stopped"),
                    timeout: float = 60.0) -> dict[str, Any]:
        """Poll ``GET /campaigns/{id}`` until its status is one of ``statuses``."""
        deadline = time.monotonic() + timeout
        while True:
            detail = self.client.get(f"/campaigns/{campaign_id}").json()
            if (detail["status"] in statuses and not detail["running_here"]) or time.monotonic() > deadline:
                return detail
            time.sleep(0.1)


@contextmanager
def live_server(app: FastAPI, headers: dict[str, str] | None = None) -> Iterator[LiveServer]:
    """Serve ``app`` with uvicorn on 127.0.0.1:<free port> until the block ends."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    url = f"http://127.0.0.1:{port}"
    client = httpx.Client(base_url=url, headers=headers or {}, timeout=30)
    try:
        yield LiveServer(url, app, client)
    finally:
        client.close()
        server.should_exit = True
        thread.join(30)
        sock.close()


FIDELITY_SPEC = small_spec(**{
    "task.dataset": "wine", "evolution.population": 8, "evolution.generations": 2,
    "evolution.fidelity": {"rungs": [0.25, 1.0], "keep": 0.5}, "training.epochs": 8,
    "training.inherit_weights": False,  # every child trains the full 8 epochs
})
"""A small multi-fidelity campaign: half of each generation stops at a quarter of its training."""


def committed_generations(db: Path) -> int:
    """The most generations any campaign of SQLite store ``db`` committed, read without writing
    (0 before the store exists)."""
    import sqlite3

    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            return int(conn.execute("select coalesce(max(generations_done), 0) from campaigns").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def process_tree() -> dict[int, list[int]]:
    """Every process's children, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    return children


def descendants(pid: int) -> dict[int, str]:
    """Every live process below ``pid`` (children, their children...) with its command line,
    zombies left out."""
    children, found = process_tree(), {}
    todo = list(children.get(pid, []))
    while todo:
        current = todo.pop()
        todo += children.get(current, [])
        proc = Path("/proc") / str(current)
        try:
            if (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            found[current] = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except (OSError, IndexError):
            continue
    return found


def interruptible() -> None:
    """``preexec_fn`` for a child a test sends SIGINT: Ctrl-C's default action, whatever this
    process inherited (a shell starts background jobs with SIGINT ignored, and Python then
    never installs its KeyboardInterrupt handler in the child)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_driver(spec: dict, folder: Path, db: Path, *, command: str = "run") -> subprocess.Popen:
    """``connevo run`` of ``spec`` (written into ``folder``) on store ``db``, as a background process
    (stdout/stderr piped, text), once it committed its first generation or ended."""
    spec_path = folder / f"{spec['name']}.json"
    spec_path.write_text(json.dumps(spec))
    env = {**os.environ, "RAY_DISABLE_USAGE_STATS": "1"}
    process = subprocess.Popen([sys.executable, "-m", "connevo.service.cli", command, str(spec_path), "--store", str(db)],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=interruptible)
    deadline = time.monotonic() + 180
    while committed_generations(db) < 1 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    return process


def assert_deterministic_across_workers_and_resume(spec: dict, folder: Path) -> None:
    """``spec`` gives the same candidates with 1 worker or 3 (chunks of 2), and after a crash
    following generation 1 and a resume, as uninterrupted."""
    from connevo.evolution import Campaign, parse_spec, run
    from connevo.results.store import open_store

    reference = run(spec, str(folder / "ref.db"))
    expected = comparable(reference.candidates(), reference.campaign_id)
    more = run(dict(spec, workers={"count": 3, "backend": "local", "chunk_size": 2}), str(folder / "more.db"))
    assert comparable(more.candidates(), more.campaign_id) == expected
    store = open_store(str(folder / "cut.db"))
    campaign = Campaign(parse_spec(spec), store, observers=[CrashAfter(1)])
    try:
        campaign.run()
    except Crash:
        pass
    else:
        raise AssertionError("the campaign did not crash after generation 1")
    Campaign.from_store(store, campaign.id).run()
    assert comparable(store.candidates(campaign.id), campaign.id) == expected
