"""A campaign at MNIST scale: memory, store size, variation cost and training speed.

A generated task (``make_classification``: ``--rows`` rows, default 60,000, of 784 features, 10
classes) is written as an NPZ file and evolved by ``connevo run`` (the embedded Ray, the
spec's defaults otherwise): population ``--population`` (32) for ``--generations`` (3), networks
of up to ``--max-connections`` (100,000) connections. While it runs, every process of its tree is
sampled for its peak resident memory (Linux ``/proc``: VmHWM). Afterwards it prints:

- wall time; the driver's peak RSS (the campaign's process under ``connevo run``'s supervisor) and
  the largest Ray worker's (``ray::`` processes);
- store bytes (the SQLite file with its journal) per candidate and per stored connection;
- variation: milliseconds per child (crossover at the spec's rate, its mutations, the limits
  check) bred from the last population's trained genomes, as the campaign breeds them;
- useful training FLOP/s over the whole run (3 x 2 x connections per sample and epoch, summed
  over the candidates, divided by the wall time: driver, Ray and data loading included) as a
  fraction of this machine's fp32 matmul peak on ``--threads`` threads.

Nothing is asserted. Last line: ``wall_s=... driver_peak_mb=... worker_peak_mb=...
bytes_per_connection=... variation_ms_per_child=... useful_flops_fraction=...``.

    python -m benchmarks.scale                                   # about 10-20 minutes on 2 cores
    python -m benchmarks.scale --rows 10000 --generations 1      # a quick look
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import make_classification

from benchmarks.common import peak_matmul_flops
from connevo.evolution.offspring import search_limits, variation_for
from connevo.evolution.spec import parse_spec
from connevo.evolution.task import load_task
from connevo.results import open_store
from connevo.search_space.genome import Genome
from connevo.search_space.innovation import InnovationTracker
from connevo.search_space.operators import crossover, within_limits

CONNEVO = str(Path(__file__).resolve().parents[1] / ".venv" / "bin" / "connevo")


def write_task(folder: Path, rows: int, seed: int) -> Path:
    x, y = make_classification(n_samples=rows, n_features=784, n_informative=60, n_redundant=20, n_classes=10,
                               n_clusters_per_class=2, random_state=seed)
    path = folder / "scale.npz"
    np.savez(path, X=x.astype(np.float32), label=y.astype(np.int64))
    return path


def spec_text(data: Path, args: argparse.Namespace) -> str:
    return "\n".join([
        'name = "scale"', f"seed = {args.seed}", "[task]", f'dataset = "{data}"',
        "[evolution]", f"population = {args.population}", f"generations = {args.generations}",
        "[search_space]", f"max_connections = {args.max_connections}", "max_hidden_nodes = 128",
        "[training]", f"epochs = {args.epochs}", "time_limit = 3000", ""])


class PeakMemory:
    """Samples the peak resident memory (VmHWM) of a process and its descendants until stopped."""

    def __init__(self, root: int, every: float = 0.5) -> None:
        self.root, self.every = root, every
        self.peaks: dict[int, tuple[str, int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _tree(self) -> list[int]:
        children: dict[int, list[int]] = {}
        for status in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = status.read_text().rsplit(")", 1)[1].split()
                children.setdefault(int(fields[1]), []).append(int(status.parent.name))
            except (OSError, IndexError, ValueError):
                continue
        tree, todo = [], [self.root]
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo += children.get(pid, [])
        return tree

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid in self._tree():
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                    command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                except OSError:
                    continue
                kb = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)
                if kb > self.peaks.get(pid, ("", 0))[1]:
                    self.peaks[pid] = (command, kb)
            self._stop.wait(self.every)

    def stop(self) -> tuple[float, float]:
        """(the largest peak MB of a process that is neither a Ray worker nor one of Ray's own
        daemons: the campaign's driver, which ``connevo run`` starts under a supervisor; the
        largest ``ray::`` worker's peak MB)."""
        self._stop.set()
        self._thread.join()
        ours = [kb for command, kb in self.peaks.values()
                if not command.startswith("ray::") and "site-packages/ray/" not in command]
        workers = [kb for command, kb in self.peaks.values() if command.startswith("ray::")]
        return max(ours, default=0) / 1024, max(workers, default=0) / 1024


def variation_ms(store_path: Path, children: int) -> tuple[float, float]:
    """(ms per child bred from the last population's trained genomes, their mean connections)."""
    store = open_store(str(store_path))
    try:
        info = store.get_campaign("scale")
        spec = parse_spec(info["spec"])
        last = store.generations(info["id"]).iloc[-1]["population"]
        genomes = [Genome.from_dict(store.candidate(c)["genome"]) for c in last]
    finally:
        store.close()
    rng = np.random.default_rng(0)
    innovations = InnovationTracker(max(c.innovation for g in genomes for c in g.connections) + 1,
                                    max(n.id for g in genomes for n in g.nodes) + 1)
    limits = search_limits(spec, spec.evolution.generations)
    variation = variation_for(spec)
    start = time.perf_counter()
    for number in range(children):
        first = genomes[int(rng.integers(len(genomes)))]
        genome = first
        if rng.random() < spec.evolution.crossover_rate:
            genome = crossover(first, genomes[int(rng.integers(len(genomes)))], rng)
        genome = variation.mutate(genome, spec.seed, number, innovations, limits)
        within_limits(genome, limits)
    elapsed = (time.perf_counter() - start) / children
    return elapsed * 1e3, float(np.mean([len(g.connections) for g in genomes]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=60_000)
    parser.add_argument("--population", type=int, default=32)
    parser.add_argument("--generations", type=int, default=3)
    parser.add_argument("--max-connections", type=int, default=100_000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--children", type=int, default=64, help="children bred to time variation")
    parser.add_argument("--threads", type=int, default=2, help="threads of the matmul peak")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="copy the campaign's store to this path afterwards")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="connevo-scale-") as tmp:
        folder = Path(tmp)
        data = write_task(folder, args.rows, args.seed)
        spec_file = folder / "scale.toml"
        spec_file.write_text(spec_text(data, args))
        store_path = folder / "scale.db"
        print(f"task: {args.rows:,} rows x 784 features ({data.stat().st_size / 1e6:.0f} MB NPZ); population "
              f"{args.population} x {args.generations} generations, up to {args.max_connections:,} connections",
              flush=True)
        start = time.perf_counter()
        process = subprocess.Popen([CONNEVO, "run", str(spec_file), "--store", str(store_path)], cwd=folder,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        memory = PeakMemory(process.pid)
        _out, err = process.communicate()
        wall = time.perf_counter() - start
        driver_mb, worker_mb = memory.stop()
        if process.returncode != 0:
            raise SystemExit(f"connevo run exited with {process.returncode}: {err.strip().splitlines()[-3:]}")

        store_bytes = sum(p.stat().st_size for p in folder.glob("scale.db*"))
        store = open_store(str(store_path))
        try:
            frame = store.candidates("scale", genomes=False)
            train_rows = load_task(parse_spec(store.get_campaign("scale")["spec"])).summary()["n_train"]
        finally:
            store.close()
        ok = frame[frame["status"] == "ok"]
        connections = int(frame["connections"].fillna(0).sum())
        useful = float((6.0 * ok["connections"] * ok["epochs"].fillna(0)).sum() * train_rows)
        peak = peak_matmul_flops(threads=args.threads)
        ms_child, parent_connections = variation_ms(store_path, args.children)
        if args.keep:
            shutil.copyfile(store_path, args.keep)

    print(f"candidates {len(frame)} ({len(ok)} ok), connections: mean {frame['connections'].mean():,.0f}, "
          f"largest {int(frame['connections'].max()):,}, sum {connections:,}")
    print(f"wall {wall:.1f} s; peak RSS: driver {driver_mb:.0f} MB, largest Ray worker {worker_mb:.0f} MB")
    print(f"store {store_bytes / 1e6:.2f} MB: {store_bytes / max(1, len(frame)):,.0f} bytes per candidate, "
          f"{store_bytes / max(1, connections):.2f} per connection")
    print(f"variation {ms_child:.2f} ms per child (parents of {parent_connections:,.0f} connections on average)")
    print(f"useful training FLOP/s {useful / wall / 1e9:.2f} G over the whole run; matmul peak {peak / 1e9:.1f} G "
          f"({args.threads} threads): fraction {useful / wall / peak:.3f}")
    print(f"wall_s={wall:.1f} driver_peak_mb={driver_mb:.0f} worker_peak_mb={worker_mb:.0f} "
          f"bytes_per_connection={store_bytes / max(1, connections):.2f} variation_ms_per_child={ms_child:.2f} "
          f"useful_flops_fraction={useful / wall / peak:.3f}")


if __name__ == "__main__":
    main()
