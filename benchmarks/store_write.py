"""Milliseconds to turn a trained genome into the bytes a store row holds, and back, at 10^3 to
10^5 connections: through the genome's JSON objects (``to_dict``, then a JSON round trip, then
the codec: what the store did before 2026-12-03) against its connection columns
(``evolution.candidates.stored_genome``, encoded as they are: what it does now); the same
bytes either way, so the ratio is the whole story. A campaign's driver does this twice per
candidate (its pending row, then its generation's commit). Reading back: the decoded objects
into ``Genome.from_dict`` against the decoded columns (``decode(..., columns=True)``: what a
resume and the polish read); the same genome either way (checked).

    python -m benchmarks.store_write [--repeats 9]

Last line: ``store_write_speedup_at_100000=<x> store_read_speedup_at_100000=<y>``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

import numpy as np

from benchmarks.operators import genome_with
from connevo.evolution.candidates import stored_genome
from connevo.results import genome_codec
from connevo.results.schema import json_dumps
from connevo.search_space import Genome, InnovationTracker


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def through_objects(genome: Genome) -> bytes:
    return genome_codec.encode(json.loads(json_dumps(genome.to_dict())))


def through_columns(genome: Genome) -> bytes:
    return genome_codec.encode(stored_genome(genome), strict=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    speedup = float("nan")
    for size in (1_000, 10_000, 100_000):
        genome = genome_with(size, rng, InnovationTracker())
        trained = genome.table.weight.astype(np.float32).astype(np.float64)  # training's weights are float32
        genome = genome.replace(table=genome.table.replace(weight=trained))
        blob = through_columns(genome)
        if blob != through_objects(genome):
            raise SystemExit(f"the two paths gave different bytes at {size} connections")
        before = median_ms(lambda: through_objects(genome), args.repeats)
        now = median_ms(lambda: through_columns(genome), args.repeats)
        read = median_ms(lambda: Genome.from_dict(genome_codec.decode(blob)), args.repeats)
        read_columns = median_ms(lambda: Genome.from_dict(genome_codec.decode(blob, columns=True)), args.repeats)
        if Genome.from_dict(genome_codec.decode(blob, columns=True)) != genome:
            raise SystemExit(f"the genome read from its columns differs at {size} connections")
        speedup, read_speedup = before / now, read / read_columns
        print(f"{len(genome.table):>7,} connections: write through objects {before:8.2f} ms, through columns "
              f"{now:7.2f} ms (x{speedup:.1f}); {len(blob) / len(genome.table):.2f} bytes a connection; "
              f"read back (decode + Genome.from_dict) through objects {read:7.2f} ms, through columns "
              f"{read_columns:6.2f} ms (x{read_speedup:.1f})", flush=True)
    print(f"store_write_speedup_at_100000={speedup:.2f} store_read_speedup_at_100000={read_speedup:.2f}")


if __name__ == "__main__":
    main()
