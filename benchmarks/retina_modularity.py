"""Does a connection cost make evolved networks modular? (Clune, Mouret & Lipson 2013)

Runs the performance-alone arm (PA: maximize accuracy) and the performance-and-connection-cost
arm (P&CC: plus wiring length, taking part in each Pareto comparison with probability 0.25) on
the retina task with the fixed 8-8-4-2-1 layout, over several seeds each. For every run it takes
the best network of the final archive (highest accuracy, then lowest wiring length) and prints,
per arm, the mean and spread of its modularity Q, accuracy and connections, the ratio of the
arms' means, and a Mann-Whitney U p-value for Q.

    python benchmarks/retina_modularity.py            # default: sized for < 20 min on 2 cores
    python benchmarks/retina_modularity.py --seeds 10 --generations 100 --population 60   # longer
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from scipy.stats import mannwhitneyu

from connevo.evolution import parse_spec, run


def arm_spec(arm: str, seed: int, args: argparse.Namespace) -> dict:
    spec = {
        "name": f"retina-{arm}-{seed}",
        "seed": seed,
        "task": {"dataset": "retina", "retina_goal": args.goal},
        "evolution": {
            "population": args.population,
            "generations": args.generations,
            "mutation": {"add_connection": 0.4, "remove_connection": 0.4, "toggle_connection": 0.1,
                         "change_activation": 0.0},
        },
        "objectives": {"maximize": ["val_accuracy"], "minimize": []},
        "search_space": {"layout": "retina", "activations": ["tanh"], "initial_density": [0.2, 0.6]},
        "training": {"epochs": args.epochs, "batch_size": 32, "learning_rate": 0.05},
        "workers": {"count": args.workers, "backend": args.backend},
    }
    if arm == "pcc":
        spec["objectives"]["minimize"] = ["wiring_length"]
        spec["objectives"]["probability"] = {"wiring_length": args.cost_probability}
    return spec


def best_network(candidates):
    ok = candidates[candidates["status"] == "ok"]
    return ok.sort_values(["val_accuracy", "wiring_length"], ascending=[False, True]).iloc[0]


def summary(values: list[float]) -> str:
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):8.4f} +- {spread:6.4f}  (median {statistics.median(values):.4f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=4, help="runs per arm")
    parser.add_argument("--population", type=int, default=24)
    parser.add_argument("--generations", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--goal", choices=["and", "or"], default="and")
    parser.add_argument("--cost-probability", type=float, default=0.25)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backend", choices=["ray", "local"], default="ray")
    args = parser.parse_args()

    results: dict[str, dict[str, list[float]]] = {arm: {"q": [], "acc": [], "conn": []} for arm in ("pa", "pcc")}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        store = str(Path(folder) / "retina.db")
        for seed in range(args.seeds):
            for arm in ("pa", "pcc"):
                spec = parse_spec(arm_spec(arm, seed, args))
                best = best_network(run(spec, store).candidates())
                results[arm]["q"].append(float(best["modularity"]))
                results[arm]["acc"].append(float(best["val_accuracy"]))
                results[arm]["conn"].append(float(best["connections"]))
                print(f"seed {seed} {arm:>3}: Q={best['modularity']:.4f} accuracy={best['val_accuracy']:.4f} "
                      f"connections={int(best['connections'])} wiring={best['wiring_length']:.1f}", flush=True)
    elapsed = time.perf_counter() - started
    print(f"\nretina ({args.goal}), {args.seeds} seeds per arm, population {args.population}, "
          f"{args.generations} generations, {args.epochs} epochs; {elapsed:.0f} s")
    for label, key in (("modularity Q", "q"), ("accuracy", "acc"), ("connections", "conn")):
        pa, pcc = results["pa"][key], results["pcc"][key]
        ratio = statistics.mean(pcc) / statistics.mean(pa) if statistics.mean(pa) else float("nan")
        print(f"{label:>13}  PA {summary(pa)}   P&CC {summary(pcc)}   P&CC/PA {ratio:.3f}")
    test = mannwhitneyu(results["pcc"]["q"], results["pa"]["q"], alternative="two-sided")
    print(f"Mann-Whitney U for Q (P&CC vs PA): U={test.statistic:.1f} p={test.pvalue:.4g}")


if __name__ == "__main__":
    main()
