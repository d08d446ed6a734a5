"""Search quality at equal cost: hypervolume of the (validation accuracy, connections) front after
the same number of candidate trainings, for

- connevo: the defaults (training-informed operators, weight inheritance, a first generation
  spanning the budgets, budget niches);
- blind: version one's search: NEAT's blind operators only, minimal first networks, every child
  trained from scratch, plain NSGA-II survival;
- fidelity: the defaults with successive halving inside each generation (rungs 0.25, 1; keep 0.5);
- random search over the same search space (minimal networks after random structural mutations);
- Optuna's NSGAIISampler over a fixed-length encoding (hidden layer count, widths and densities),
  trained by the same trainer.

Hypervolume uses connevo's fixed reference point (accuracy 0, 2 x the connections of the fully
connected input-to-output network), normalized to [0, 1]. Several seeds; prints the medians, the
ratios of every arm to random search and to Optuna, and each arm's training epochs and seconds
(inheritance and rungs make a training cheaper, not rarer).

    python benchmarks/search_quality.py                     # digits, 192 trainings, 3 seeds
    python benchmarks/search_quality.py --trainings 480 --seeds 5
Needs optuna (pip install optuna) for the Optuna arm; without it that arm is left out.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # python benchmarks/search_quality.py: the repository root is not on the path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import pandas as pd

from benchmarks.genomes import random_layered_genome
from connevo.evolution import parse_spec, run
from connevo.evolution.campaign import REFERENCE_COST_FACTOR, candidate_seed
from connevo.results.pareto import normalized_hypervolume, pareto_front
from connevo.search_space import InnovationTracker, measure, minimal_genome
from connevo.search_space.genome import Genome
from connevo.search_space.mutations import MUTATIONS
from connevo.workers import EvaluationRequest, LocalEvaluator, TrainingSettings, load_dataset


def hypervolume(frame: pd.DataFrame, n_in: int, n_out: int) -> float:
    ok = frame.dropna(subset=["val_accuracy"])
    reference = {"val_accuracy": 0.0, "connections": REFERENCE_COST_FACTOR * n_in * n_out}
    ideal = {"val_accuracy": 1.0, "connections": 0.0}
    front = pareto_front(ok, ["val_accuracy", "connections"])
    return normalized_hypervolume(front, ["val_accuracy", "connections"], reference, ideal)


def evaluate(genomes: list[Genome], dataset, settings: TrainingSettings, seed: int) -> pd.DataFrame:
    requests = [EvaluationRequest(f"x-{i}", g, candidate_seed(seed, i)) for i, g in enumerate(genomes)]
    results = LocalEvaluator(dataset, settings, chunk_size=16).evaluate(requests)
    return pd.DataFrame([{"val_accuracy": r.val_accuracy, "connections": r.costs.get("connections"),
                          "epochs": r.epochs} for r in results])


BLIND_RATES = {
    "add_connection": 0.5, "remove_connection": 0.5, "add_node": 0.2, "remove_node": 0.05, "change_activation": 0.1,
    "toggle_connection": 0.05, "prune_magnitude": 0.0, "grow_gradient": 0.0, "add_neuron_gradient": 0.0,
    "widen_neuron": 0.0,
}
"""Version one's mutation rates: blind operators only."""


def connevo_arm(args, seed: int, store: str, training: dict | None = None, evolution: dict | None = None,
                search_space: dict | None = None) -> pd.DataFrame:
    population = args.population
    spec = parse_spec({
        "name": f"quality-{seed}", "seed": seed, "task": {"dataset": args.dataset},
        "evolution": {"population": population, "generations": args.trainings // population - 1, **(evolution or {})},
        "search_space": search_space or {},
        "training": {"epochs": args.epochs, "batch_size": 128, "learning_rate": 0.01, "min_steps": 0,
                     **(training or {})},
        "workers": {"backend": "local", "chunk_size": 16},
    })
    return run(spec, store).candidates()


def random_arm(args, seed: int, dataset, settings) -> pd.DataFrame:
    rng = np.random.default_rng([seed, 1])
    tracker = InnovationTracker()
    operators = [MUTATIONS[n] for n in ("add_node", "add_connection", "remove_connection", "change_activation")]
    genomes = []
    for _ in range(args.trainings):
        density = float(np.exp(rng.uniform(np.log(0.01), 0.0)))
        genome = minimal_genome(dataset.n_features, dataset.n_classes, rng, tracker, density)
        for _step in range(int(rng.integers(0, 12))):
            genome = operators[int(rng.integers(len(operators)))](genome, rng, tracker)
        genomes.append(genome)
    return evaluate(genomes, dataset, settings, seed)


def optuna_arm(args, seed: int, dataset, settings) -> pd.DataFrame | None:
    try:
        import optuna
    except ImportError:
        return None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rows = []

    def objective(trial):
        depth = trial.suggest_int("hidden_layers", 0, 2)
        widths = [trial.suggest_int(f"width_{i}", 1, 32, log=True) for i in range(depth)]
        densities = [trial.suggest_float(f"density_{i}", 0.01, 1.0, log=True) for i in range(depth + 1)]
        genome = random_layered_genome(dataset.n_features, dataset.n_classes, widths, densities, np.random.default_rng([seed, trial.number]))
        frame = evaluate([genome], dataset, settings, seed * 100_000 + trial.number)
        row = frame.iloc[0].to_dict()
        rows.append(row)
        accuracy = row["val_accuracy"] if row["val_accuracy"] is not None else 0.0
        return accuracy, measure(genome).connections

    sampler = optuna.samplers.NSGAIISampler(population_size=args.population, seed=seed)
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
    study.optimize(objective, n_trials=args.trainings)
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--trainings", type=int, default=192, help="candidate trainings per method and seed")
    parser.add_argument("--population", type=int, default=24)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    dataset = load_dataset(args.dataset, seed=0)
    settings = TrainingSettings(epochs=args.epochs, batch_size=128, learning_rate=0.01)
    n_in, n_out = dataset.n_features, dataset.n_classes
    arms = {
        "connevo": lambda seed, db: connevo_arm(args, seed, db),
        "blind": lambda seed, db: connevo_arm(args, seed, db, training={"inherit_weights": False}, evolution={
            "niches": 0, "mutation": BLIND_RATES}, search_space={"start": "minimal", "initial_density": [0.01, 1.0]}),
        "fidelity": lambda seed, db: connevo_arm(args, seed, db, evolution={"fidelity": {"rungs": [0.25, 1.0], "keep": 0.5}}),
        "random": lambda seed, db: random_arm(args, seed, dataset, settings),
        "optuna": lambda seed, db: optuna_arm(args, seed, dataset, settings),
    }
    scores: dict[str, list[float]] = {name: [] for name in arms}
    epochs: dict[str, list[int]] = {name: [] for name in arms}
    seconds: dict[str, list[float]] = {name: [] for name in arms}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        for seed in range(args.seeds):
            for name, arm in arms.items():
                begin = time.perf_counter()
                frame = arm(seed, str(Path(folder) / f"{name}-{seed}.db"))
                if frame is None:
                    continue
                seconds[name].append(time.perf_counter() - begin)
                scores[name].append(hypervolume(frame, n_in, n_out))
                epochs[name].append(int(frame["epochs"].sum()))
            print(f"seed {seed}: " + "  ".join(f"{k}={v[-1]:.4f}" for k, v in scores.items() if v), flush=True)
    elapsed = time.perf_counter() - started
    medians = {k: statistics.median(v) for k, v in scores.items() if v}
    print(f"\n{args.dataset}, {args.trainings} trainings per method, {args.epochs} epochs, {args.seeds} seeds; {elapsed:.0f} s")
    for name, value in medians.items():
        print(f"{name:>8}: median hypervolume {value:.4f}  (all: {', '.join(f'{v:.4f}' for v in scores[name])})"
              f"  epochs {statistics.median(epochs[name]):.0f}  seconds {statistics.median(seconds[name]):.1f}")
    ratios = [f"{arm}_vs_{base}={medians[arm] / medians[base]:.3f}"
              for arm in ("connevo", "blind", "fidelity") for base in ("random", "optuna") if base in medians]
    ratios.append(f"connevo_vs_blind={medians['connevo'] / medians['blind']:.3f}")
    for arm in ("blind", "fidelity"):
        ratios.append(f"{arm}_epochs_vs_connevo={statistics.median(epochs[arm]) / statistics.median(epochs['connevo']):.3f}")
    print(" ".join(ratios))


if __name__ == "__main__":
    main()
