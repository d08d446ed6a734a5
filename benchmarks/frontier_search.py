"""The genome-search arms of benchmarks/frontier.py: random search and Optuna's NSGA-II over
connevo's genomes, trained by connevo's own trainer with the campaign's training settings and as
many trainings as the campaign, each front member scored on the held-out rows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from benchmarks.frontier_baselines import ArmResult, models_frame
from benchmarks.frontier_data import Split
from benchmarks.genomes import random_layered_genome
from connevo.evolution.campaign import candidate_seed
from connevo.results.pareto import pareto_front
from connevo.search_space import InnovationTracker, measure, minimal_genome
from connevo.search_space.compile import compile_genome
from connevo.search_space.genome import Genome
from connevo.search_space.mutations import MUTATIONS
from connevo.workers import Dataset, EvaluationRequest, LocalEvaluator, TrainingSettings


@dataclass(frozen=True)
class GenomeSearch:
    """What the genome arms share with the connevo arm: its data set (the file of the 75%, split
    by connevo's own loader with the campaign's seed), its training settings, its number of
    trainings and its population (Optuna's population size)."""

    dataset: Dataset
    settings: TrainingSettings
    trainings: int
    population: int


def evaluate(genomes: list[Genome], search: GenomeSearch, seeds: list[int]) -> list:
    requests = [EvaluationRequest(f"x-{i}", g, s) for i, (g, s) in enumerate(zip(genomes, seeds))]
    return LocalEvaluator(search.dataset, search.settings).evaluate(requests)


def genome_front(evaluations: list, search: GenomeSearch, split: Split) -> ArmResult:
    """The front of the trained genomes as connevo's default ranks it (no other network, no larger,
    is as accurate on the validation rows and has no higher validation loss: ``"accuracy_and_loss"``),
    together with the (validation accuracy, connections) front, each member scored on the held-out
    rows (standardized with the data set's statistics).

    Every network of a tied (validation accuracy, connections) pair on the second is kept, so the
    held-out rows choose among them: generous to this arm. ``ArmResult.single_pick`` is the same
    front with one network per tie, the one of lowest validation loss (as connevo's front breaks
    ties), printed beside it for information only."""
    ok = [e for e in evaluations if e.ok and e.trained_genome is not None]
    table = pd.DataFrame({"val_accuracy": [e.val_accuracy for e in ok],
                          "val_loss": [float("nan") if e.val_loss is None else e.val_loss for e in ok],
                          "connections": [e.costs["connections"] for e in ok], "index": range(len(ok))})
    x = torch.as_tensor((split.x_hold - search.dataset.mean) / search.dataset.std, dtype=torch.float32)
    scored: dict[int, tuple[float, int]] = {}
    members = set(pareto_front(table.drop(columns="val_loss"), ["val_accuracy", "connections"])["index"])
    members |= set(pareto_front(table, ["val_accuracy", "connections"], rank_accuracy_by="accuracy_and_loss")["index"])
    for index in sorted(members):
        network = compile_genome(ok[int(index)].trained_genome, use_genome_weights=True).eval()
        with torch.no_grad():
            predicted = network(x).argmax(dim=1).numpy()
        scored[int(index)] = (float((predicted == split.y_hold).mean()), int(ok[int(index)].costs["connections"]))
    compute = sum(e.epochs for e in evaluations) * len(search.dataset.x_train)
    return ArmResult(models_frame(list(scored.values())), float(compute), note=f"{len(evaluations)} trainings",
                     single_pick=models_frame([scored[i] for i in one_per_tie(ok, scored)]))


def one_per_tie(evaluations: list, indices: Iterable[int]) -> list[int]:
    """Of ``indices``, one per (validation accuracy, connections): the lowest validation loss
    (a missing loss counts as infinite; the lowest index among equal losses)."""
    def loss(i: int) -> float:
        value = evaluations[i].val_loss
        return float("inf") if value is None else float(value)

    best: dict[tuple[float, int], int] = {}
    for i in sorted(indices):
        key = (evaluations[i].val_accuracy, int(evaluations[i].costs["connections"]))
        if key not in best or loss(i) < loss(best[key]):
            best[key] = i
    return sorted(best.values())


def random_search(search: GenomeSearch, split: Split, seed: int) -> ArmResult:
    """As benchmarks/search_quality.py: minimal networks (density log-uniform in [0.01, 1]) after
    0-11 random structural mutations."""
    rng = np.random.default_rng([seed, 1])
    tracker = InnovationTracker()
    operators = [MUTATIONS[n] for n in ("add_node", "add_connection", "remove_connection", "change_activation")]
    n_in, n_out = search.dataset.n_features, search.dataset.n_classes
    genomes = []
    for _ in range(search.trainings):
        density = float(np.exp(rng.uniform(np.log(0.01), 0.0)))
        genome = minimal_genome(n_in, n_out, rng, tracker, density)
        for _step in range(int(rng.integers(0, 12))):
            genome = operators[int(rng.integers(len(operators)))](genome, rng, tracker)
        genomes.append(genome)
    evaluations = evaluate(genomes, search, [candidate_seed(seed, i) for i in range(len(genomes))])
    return genome_front(evaluations, search, split)


def optuna_search(search: GenomeSearch, split: Split, seed: int) -> ArmResult | None:
    """As benchmarks/search_quality.py: NSGAIISampler over (hidden layers 0-2, widths 1-32, densities
    0.01-1), objectives (validation accuracy, connections); one generation (population) is asked,
    trained together and told at a time. None when optuna is not installed."""
    try:
        import optuna
    except ImportError:
        return None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(directions=["maximize", "minimize"],
                                sampler=optuna.samplers.NSGAIISampler(population_size=search.population, seed=seed))
    n_in, n_out = search.dataset.n_features, search.dataset.n_classes
    evaluations: list = []
    while len(evaluations) < search.trainings:
        trials = [study.ask() for _ in range(min(search.population, search.trainings - len(evaluations)))]
        genomes = []
        for trial in trials:
            depth = trial.suggest_int("hidden_layers", 0, 2)
            widths = [trial.suggest_int(f"width_{i}", 1, 32, log=True) for i in range(depth)]
            densities = [trial.suggest_float(f"density_{i}", 0.01, 1.0, log=True) for i in range(depth + 1)]
            genomes.append(random_layered_genome(n_in, n_out, widths, densities, np.random.default_rng([seed, trial.number])))
        done = evaluate(genomes, search, [seed * 100_000 + trial.number for trial in trials])
        for trial, genome, evaluation in zip(trials, genomes, done):
            accuracy = evaluation.val_accuracy if evaluation.val_accuracy is not None else 0.0
            study.tell(trial, (accuracy, measure(genome, with_modularity=False).connections))
        evaluations += done
    return genome_front(evaluations, search, split)
