"""The HTTP service under concurrent clients, now against an earlier revision, side by side.

Both servers (``connevo serve``, one at a time, from this checkout and from a git worktree of the
earlier revision) answer the same finished campaign: the quick-start spec (digits, about 1,000
candidates), run once by the earlier revision into an SQLite store that each arm gets a copy of
(this checkout upgrades its copy on opening). Two phases per arm:

1. ``--clients`` clients (default 10) for ``--seconds`` each, alternating
   ``GET /campaigns/{id}/front`` and ``GET /campaigns/{id}/candidates?limit=50`` on the finished
   campaign;
2. ``--busy-clients`` clients (default 50) doing the same while the server trains a campaign it
   was just asked to launch (``POST /campaigns``: digits, local backend, stopped afterwards).

Prints per arm and phase: requests/s, median and 99th percentile latency, errors; then the
ratios now/before. Nothing is asserted. Last line:
``throughput_ratio=<finished phase> p50_ratio=<before/now, finished phase> busy_throughput_ratio=<..>``.

    python -m benchmarks.http_load                    # before = 97db14e (fronts read every genome)
    python -m benchmarks.http_load --before HEAD~5 --clients 10 --seconds 10
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from benchmarks.common import ROOT, worktree

SPEC = ROOT / "examples" / "quickstart.toml"
BUSY_SPEC = {"name": "busy", "seed": 1, "task": {"dataset": "digits"},
             "evolution": {"population": 48, "generations": 500}, "workers": {"backend": "local"}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def environment(checkout: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(checkout), "RAY_DISABLE_USAGE_STATS": "1"}


def build_store(checkout: Path, store: Path) -> str:
    """Run the quick-start with ``checkout``'s connevo into ``store``; returns the campaign id."""
    done = subprocess.run([sys.executable, "-m", "connevo.service.cli", "run", str(SPEC), "--store", str(store),
                           "--backend", "local"], cwd=checkout, env=environment(checkout),
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"building the store failed:\n{done.stderr[-2000:]}")
    return done.stdout.splitlines()[0].split()[1]


class Server:
    """``connevo serve`` from ``checkout`` on ``store``, on a free port, until closed."""

    def __init__(self, checkout: Path, store: Path, data_dir: Path) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        port = self.url.rsplit(":", 1)[1]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "connevo.service.cli", "serve", "--store", str(store), "--port", port,
             "--data-dir", str(data_dir)],
            cwd=checkout, env=environment(checkout), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(self.url + "/campaigns", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.close()
                raise SystemExit(f"the server from {checkout} did not start")
            time.sleep(0.3)

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def load(url: str, campaign: str, clients: int, seconds: float) -> dict[str, float]:
    """``clients`` threads alternating the front and a page of candidates for ``seconds``."""
    paths = [f"/campaigns/{campaign}/front", f"/campaigns/{campaign}/candidates?limit=50"]
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    end = time.monotonic() + seconds

    def client(k: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            i = k
            while time.monotonic() < end:
                begin = time.perf_counter()
                try:
                    ok = http.get(paths[i % 2]).status_code == 200
                except httpx.HTTPError:
                    ok = False
                took = time.perf_counter() - begin
                with lock:
                    latencies.append(took)
                    errors[0] += not ok
                i += 1

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    begin = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - begin
    ordered = sorted(latencies)
    return {"rps": len(latencies) / wall, "p50": statistics.median(ordered) if ordered else float("nan"),
            "p99": ordered[int(0.99 * (len(ordered) - 1))] if ordered else float("nan"), "errors": errors[0],
            "requests": len(latencies)}


def measure_arm(name: str, server: Server, campaign: str, args: argparse.Namespace
                ) -> dict[tuple[str, str], dict[str, float]]:
    """Both phases against one server (closed afterwards), printed as they finish."""
    results: dict[tuple[str, str], dict[str, float]] = {}
    try:
        results[(name, "finished")] = load(server.url, campaign, args.clients, args.seconds)
        busy = httpx.post(server.url + "/campaigns", json=BUSY_SPEC, timeout=60).json()["id"]
        time.sleep(2.0)  # the campaign is training
        results[(name, "training")] = load(server.url, campaign, args.busy_clients, args.seconds)
        httpx.post(f"{server.url}/campaigns/{busy}/stop", timeout=60)
    finally:
        server.close()
    for phase in ("finished", "training"):
        r = results[(name, phase)]
        clients = args.clients if phase == "finished" else args.busy_clients
        print(f"{name:>6} {phase:>8} ({clients:>2} clients): {r['rps']:7.1f} requests/s  p50 "
              f"{r['p50'] * 1000:8.1f} ms  p99 {r['p99'] * 1000:8.1f} ms  errors {r['errors']:.0f} "
              f"of {r['requests']:.0f}", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", default="97db14e", help="git revision to compare against")
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--busy-clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    results: dict[tuple[str, str], dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as folder, worktree(args.before, Path(folder)) as old:
        tmp = Path(folder)
        print(f"building the store with {args.before} (the quick-start, about a minute) ...", flush=True)
        campaign = build_store(old, tmp / "built.db")
        for name, checkout in (("before", old), ("now", ROOT)):
            store = tmp / f"{name}.db"
            shutil.copy(tmp / "built.db", store)
            results.update(measure_arm(name, Server(checkout, store, tmp), campaign, args))
    now, before = results[("now", "finished")], results[("before", "finished")]
    busy_now, busy_before = results[("now", "training")], results[("before", "training")]
    print(f"throughput_ratio={now['rps'] / before['rps']:.2f} p50_ratio={before['p50'] / now['p50']:.2f} "
          f"busy_throughput_ratio={busy_now['rps'] / busy_before['rps']:.2f}")


if __name__ == "__main__":
    main()
