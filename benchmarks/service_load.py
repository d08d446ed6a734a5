"""`connevo serve` under many clients while it runs a campaign: latency per endpoint.

The store holds one finished campaign of ``--candidates`` candidates: the quick-start run once
(digits, about 1,000 real candidates), its candidate rows then copied under new ids and numbers
until there are as many as asked (a front and a page read them as they read any candidate). The
server is asked to launch a second campaign (``POST /campaigns``, Ray by default: its candidates
train in Ray's worker processes, not in the server's; with ``--driver process`` the campaign is
run by a separate ``connevo run`` on the same store instead, so the server only answers) and,
once that campaign has committed a
generation, ``--clients`` clients (default 50) poll the finished campaign for ``--seconds``, each
cycling ``GET /campaigns/{id}`` (status), ``/front`` and ``/candidates?limit=50``, one request at a
time, ``--timeout`` seconds each. By default a client asks again as soon as it is answered (a
closed loop: a stress test, where the 99th percentile follows from the requests/s the machine can
serve); with ``--interval S`` each client waits S seconds after every cycle of the three, as the
dashboard does between its refreshes (1.5 s while a campaign runs), the clients' first cycles
spread evenly over the first S seconds. Before the clients start, one request to each endpoint,
not counted: the first front of a campaign (version) the server reads from the store and keeps
(`service/front_cache.py`), as any earlier viewer would have made it do; measured, that first read
under the load took about 0.4 s and every front request of the first 0.35 s waited for it, which
was the whole 99th percentile of the 1.5 s pace. The running campaign is stopped afterwards.

Prints per endpoint: requests, requests/s, median and 99th percentile latency, errors (a status
other than 200, or no answer in time). Nothing is asserted. Last line:
``status_p99_ms=<x> front_p99_ms=<y> candidates_p99_ms=<z> requests_per_s=<r> errors=<e>``.

    python -m benchmarks.service_load                          # 10,000 candidates, 50 clients, 20 s
    python -m benchmarks.service_load --candidates 2000 --clients 10 --seconds 5 --backend local
    python -m benchmarks.service_load --store kept.db     # poll a store built before (a copy of it)
    python -m benchmarks.service_load --store kept.db --driver process   # the campaign driven elsewhere
    python -m benchmarks.service_load --store kept.db --interval 1.5     # 50 dashboards' refreshes
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.common import ROOT
from benchmarks.http_load import Server, build_store, environment
from connevo.results.store import open_store

ENDPOINTS = ("status", "front", "candidates")


def copy_candidates(store: Path, campaign: str, wanted: int) -> int:
    """Copies of ``campaign``'s candidate rows (new ids, numbers after the last) until it has
    ``wanted``; the count it ends with."""
    with sqlite3.connect(store) as conn:
        columns = [row[1] for row in conn.execute("pragma table_info(candidates)")]
        have, first, last = conn.execute("select count(*), min(number), max(number) from candidates "
                                         "where campaign_id = ?", (campaign,)).fetchone()
        span = last - first + 1  # (a polished candidate's number is negative)
        original = have
        copy = 0
        while have < wanted:
            copy += 1
            take = min(original, wanted - have)
            chosen = [f"id || '-copy{copy}'" if c == "id" else f"number + {copy * span}" if c == "number" else c
                      for c in columns]
            conn.execute(f"insert into candidates ({', '.join(columns)}) select {', '.join(chosen)} from candidates "
                         f"where campaign_id = ? and number <= ? order by number limit ?",
                         (campaign, last, take))
            have += take
        conn.execute("update campaigns set candidate_count = ? where id = ?", (have, campaign))  # (as the store keeps it)
    return have


def busy_spec(backend: str) -> dict:
    return {"name": "busy", "seed": 1, "task": {"dataset": "digits"},
            "evolution": {"population": 48, "generations": 500}, "workers": {"backend": backend}}


def run_elsewhere(store: Path, tmp: Path, backend: str) -> tuple[subprocess.Popen, str]:
    """The busy campaign run by ``connevo run`` in a process of its own on ``store``; its id once stored."""
    spec = tmp / "busy.json"
    spec.write_text(json.dumps(busy_spec(backend)))
    runner = subprocess.Popen([sys.executable, "-m", "connevo.service.cli", "run", str(spec), "--store", str(store)],
                              cwd=ROOT, env=environment(ROOT), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with sqlite3.connect(store) as conn:
            row = conn.execute("select id from campaigns where name = 'busy'").fetchone()
        if row is not None:
            return runner, str(row[0])
        if runner.poll() is not None:
            raise SystemExit(f"`connevo run` ended with status {runner.returncode} before storing its campaign")
        time.sleep(0.5)
    runner.kill()
    raise SystemExit("`connevo run` stored no campaign in time")


def wait_for_generation(url: str, campaign: str, timeout: float = 300) -> None:
    """Until ``campaign`` has committed a generation (Ray has started and trains)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = httpx.get(f"{url}/campaigns/{campaign}", timeout=60).json()
        if info.get("generations_done", 0) >= 1 or info.get("status") not in ("running", None):
            return
        time.sleep(0.5)
    raise SystemExit("the launched campaign committed no generation in time")


def poll(url: str, campaign: str, clients: int, seconds: float, timeout: float, interval: float = 0.0
         ) -> dict[str, list]:
    """``clients`` clients cycling the endpoints for ``seconds``, each with its own keep-alive
    connection, one request at a time, waiting ``interval`` seconds after each cycle of the
    endpoints (client ``k`` first waits ``k / clients`` of it): per endpoint, each request's
    (latency in s, answered 200 in time). The clients are asyncio tasks of one event loop, not threads: 50 Python threads
    would spend a core fighting over this process's GIL and add that wait to the latencies they
    measure (they took as much CPU as the server)."""
    return asyncio.run(_poll(url, campaign, clients, seconds, timeout, interval))


async def _poll(url: str, campaign: str, clients: int, seconds: float, timeout: float, interval: float
                ) -> dict[str, list]:
    paths = {"status": f"/campaigns/{campaign}", "front": f"/campaigns/{campaign}/front",
             "candidates": f"/campaigns/{campaign}/candidates?limit=50"}
    results: dict[str, list] = {name: [] for name in ENDPOINTS}
    async with httpx.AsyncClient(base_url=url, timeout=timeout) as http:  # the warm-up, not counted
        for name in ENDPOINTS:
            await http.get(paths[name])
    end = time.monotonic() + seconds

    async def client(k: int) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=timeout) as http:
            i = k
            if interval > 0:
                await asyncio.sleep(interval * k / clients)
            while time.monotonic() < end:
                name = ENDPOINTS[i % len(ENDPOINTS)]
                begin = time.perf_counter()
                try:
                    ok = (await http.get(paths[name])).status_code == 200
                except httpx.HTTPError:
                    ok = False
                results[name].append((time.perf_counter() - begin, ok))
                i += 1
                if interval > 0 and (i - k) % len(ENDPOINTS) == 0:
                    await asyncio.sleep(interval)

    await asyncio.gather(*(client(k) for k in range(clients)))
    return results


def summary(samples: list, seconds: float) -> dict[str, float]:
    latencies = sorted(s for s, _ in samples)
    return {"requests": len(samples), "rps": len(samples) / seconds,
            "p50": statistics.median(latencies) if latencies else float("nan"),
            "p99": latencies[int(0.99 * (len(latencies) - 1))] if latencies else float("nan"),
            "errors": sum(not ok for _, ok in samples)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candidates", type=int, default=10_000, help="candidates of the polled campaign")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds a request may take")
    parser.add_argument("--interval", type=float, default=0.0,
                        help="seconds each client waits after every cycle of the three endpoints (the "
                             "dashboard: 1.5); 0, the default: a closed loop, asking again at once")
    parser.add_argument("--backend", choices=("ray", "local"), default="ray",
                        help="where the running campaign trains (local: in the server's process)")
    parser.add_argument("--idle", action="store_true", help="no running campaign: the server only answers")
    parser.add_argument("--driver", choices=("server", "process"), default="server",
                        help="who drives the running campaign: the server (POST /campaigns) or a separate "
                             "`connevo run` process on the same store")
    parser.add_argument("--store", type=Path, help="a store this script built before (copied, not changed): its "
                                                   "first campaign is polled, no quick-start is run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        store = tmp / "load.db"
        if args.store is not None:
            shutil.copyfile(args.store, store)
            open_store(str(store)).close()  # an earlier schema is upgraded, as `connevo serve` would
            with sqlite3.connect(store) as conn:
                campaign = conn.execute("select id from campaigns order by created_at limit 1").fetchone()[0]
        else:
            print("building the store (the quick-start, about a minute) ...", flush=True)
            campaign = build_store(ROOT, store)  # (with this checkout's connevo)
        count = copy_candidates(store, campaign, args.candidates)
        server = Server(ROOT, store, tmp)
        try:
            busy, runner = None, None
            if not args.idle and args.driver == "server":
                busy = httpx.post(server.url + "/campaigns", json=busy_spec(args.backend), timeout=60).json()["id"]
            elif not args.idle:
                runner, busy = run_elsewhere(store, tmp, args.backend)
            if busy is not None:
                wait_for_generation(server.url, busy)
            driver = "driven by the server" if runner is None else "driven by a separate `connevo run`"
            pace = f", each waiting {args.interval:g} s after every cycle" if args.interval > 0 else ""
            print(f"campaign {campaign}: {count} candidates; {args.clients} clients{pace} for {args.seconds:g} s "
                  + ("(no campaign running)" if busy is None else f"while campaign {busy} trains ({args.backend}, "
                                                                   f"{driver})"),
                  flush=True)
            begin = time.perf_counter()
            results = poll(server.url, campaign, args.clients, args.seconds, args.timeout, args.interval)
            wall = time.perf_counter() - begin
            if busy is not None and runner is None:
                httpx.post(f"{server.url}/campaigns/{busy}/stop", timeout=60)
        finally:
            if runner is not None:
                runner.send_signal(signal.SIGINT)  # stops at the next chunk, as Ctrl-C does
                try:
                    runner.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    runner.kill()
            server.close()
    rows = {name: summary(samples, wall) for name, samples in results.items()}
    everything = summary([s for samples in results.values() for s in samples], wall)
    for name, r in [*rows.items(), ("all", everything)]:
        print(f"{name:>10}: {r['requests']:6.0f} requests {r['rps']:7.1f}/s  p50 {r['p50'] * 1000:8.1f} ms  "
              f"p99 {r['p99'] * 1000:8.1f} ms  errors {r['errors']:.0f}", flush=True)
    print(" ".join(f"{name}_p99_ms={rows[name]['p99'] * 1000:.0f}" for name in ENDPOINTS)
          + f" requests_per_s={everything['rps']:.1f} errors={everything['errors']:.0f}")


if __name__ == "__main__":
    main()
