"""Wall time of the quick-start campaign (``connevo run examples/quickstart.toml``, embedded Ray)
now against an earlier revision, run alternately in one session on the same machine.

Arms: ``before`` (the revision given, by default the last one that trained candidates one at a
time; ``--before none``: no such arm), ``now`` (this checkout), ``now+inherit`` (this checkout with
``training.inherit_weights``, the default since), ``now-local`` (this checkout with ``--backend
local``: in-process on one core, no Ray to start and stop). Each arm runs the same spec file in a
fresh store; prints per-arm median wall seconds, the final hypervolume, and the ratios.

    python -m benchmarks.quickstart                    # before = f598059, 2 repeats
    python -m benchmarks.quickstart --before HEAD~3 --repeats 3
    python -m benchmarks.quickstart --before none --repeats 3   # the embedded Ray against local
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import ROOT, worktree

SPEC = ROOT / "examples" / "quickstart.toml"


def run_once(checkout: Path, spec: Path, store: Path, extra: tuple[str, ...] = ()) -> tuple[float, float]:
    """(wall seconds, final hypervolume) of one ``connevo run`` (with ``extra`` options) from ``checkout``."""
    env = {**os.environ, "PYTHONPATH": str(checkout), "RAY_DISABLE_USAGE_STATS": "1"}
    begin = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "connevo.service.cli", "run", str(spec), "--store", str(store),
                           *extra], cwd=checkout, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - begin
    if done.returncode != 0:
        raise SystemExit(f"run from {checkout} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    with sqlite3.connect(store) as db:
        (hv,) = db.execute("SELECT hypervolume FROM generations ORDER BY generation DESC LIMIT 1").fetchone()
    return wall, float(hv)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", default="f598059", help="git revision to compare against ('none': no such arm)")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, contextlib.ExitStack() as stack:
        tmp = Path(folder)
        inherit = tmp / "inherit.toml"
        inherit.write_text(SPEC.read_text().replace("[training]\n", "[training]\ninherit_weights = true\n", 1))
        arms: dict[str, tuple[Path, Path, tuple[str, ...]]] = {}
        if args.before != "none":
            arms["before"] = (stack.enter_context(worktree(args.before, tmp)), SPEC, ())
        arms |= {"now": (ROOT, SPEC, ()), "now+inherit": (ROOT, inherit, ()),
                 "now-local": (ROOT, SPEC, ("--backend", "local"))}
        walls: dict[str, list[float]] = {k: [] for k in arms}
        hvs: dict[str, float] = {}
        for repeat in range(args.repeats):
            for name, (checkout, spec, extra) in arms.items():
                wall, hv = run_once(checkout, spec, tmp / f"{name}-{repeat}.db", extra)
                walls[name].append(wall)
                hvs[name] = hv
                print(f"repeat {repeat} {name:>12}: {wall:6.1f} s  hypervolume {hv:.4f}", flush=True)
    median = {k: statistics.median(v) for k, v in walls.items()}
    print()
    for name in arms:
        print(f"{name:>12}: median wall {median[name]:.1f} s  final hypervolume {hvs[name]:.4f}")
    ratios = [f"local_vs_ray={median['now'] / median['now-local']:.2f}"]
    if "before" in median:
        ratios = [f"speedup_now_vs_before={median['before'] / median['now']:.2f}",
                  f"speedup_inherit_vs_before={median['before'] / median['now+inherit']:.2f}", *ratios]
    print(" ".join(ratios))


if __name__ == "__main__":
    main()
