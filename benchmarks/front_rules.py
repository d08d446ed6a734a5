"""Which rule should choose a campaign's front? Every candidate scored on held-out rows.

    python -m benchmarks.front_rules --datasets iris,led24,waveform --seeds 3
    python -m benchmarks.front_rules --datasets tabular --connevo-set evolution.generations=40

For each data set of ``benchmarks.frontier`` and each seed, the same split as there: connevo runs
with its defaults (``--connevo-set`` overrides) on the 75%, and every candidate evolution trained
(status ok, full fidelity, not a polished copy) is scored on the held-out 25%. The fronts that
several rules choose on the *validation* rows from the same candidates are then compared by their
held-out hypervolume (reference: the data set's R), as differences from the front ranked by the
accuracy alone (ties by the validation loss):

  loss                 ranked by the validation loss
  pooled               ranked by the loss over training and validation rows together
  accuracy_and_loss    non-dominated in (validation accuracy, validation loss, connections)
  accuracy_loss_pooled non-dominated in (validation accuracy, validation loss, pooled loss,
                       connections): a candidate rule, not one connevo offers
  oracle               each connection count's best candidate on the held-out rows (a bound no
                       rule on the validation rows reaches)

A larger front can only gain hypervolume: each added network is one more chance on the held-out
rows. So each rule whose front holds the accuracy-ranked one is also compared with *random*
supersets of that front of the same size (``--draws`` of them, averaged): the part of its gain
that the choice of networks, not their number, explains. Prints one line per campaign, the means,
and per rule ``rule=<name> mean_gain=<x> random_same_size=<y> beats_random=<k>/<n>``. The fronts
are chosen before the final polish (the polish retrains whatever front it is given). Nothing is
asserted.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

if __package__ in (None, ""):  # python benchmarks/front_rules.py: the repository root is not on the path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import pandas as pd
import torch

from benchmarks.frontier import KNOWN_DATASETS, connevo_cli, dataset_names, hypervolume, setting, write_task
from benchmarks.frontier_data import FrontierData, split
from benchmarks.real_tables import REAL_GROUPS
from connevo.evolution.campaign import load_task
from connevo.evolution.export import trained_model
from connevo.evolution.spec import load_spec
from connevo.results.pareto import POOLED_LOSS, pareto_front, pareto_mask, pooled_loss, train_share
from connevo.results.store import open_store

OBJECTIVES = ["val_accuracy", "connections"]
SHIPPED = ("loss", "pooled", "accuracy_and_loss")
"""Rankings connevo offers (``objectives.rank_accuracy_by``), compared with ``"accuracy"``."""
RULES = (*SHIPPED, "accuracy_loss_pooled")


@dataclass
class Campaign:
    """One campaign's candidates, each with its held-out accuracy (column ``held_out``)."""

    name: str
    candidates: pd.DataFrame
    reference: int


def scored_candidates(data: FrontierData, seed: int, settings: list[tuple[list[str], object]]) -> Campaign:
    """Run connevo on the seed's 75% and score every trained, unpolished candidate on the 25%."""
    sp = split(data, seed)
    folder = Path(tempfile.mkdtemp(prefix="front-rules-"))
    try:
        args = SimpleNamespace(population=None, generations=None, connevo_set=settings)
        spec_file = write_task(sp, folder, f"rules-{data.name}-{seed}", seed, args)  # type: ignore[arg-type]
        spec = load_spec(spec_file)
        connevo_cli("run", str(spec_file), "--store", str(folder / "store.db"), cwd=folder)
        store = open_store(str(folder / "store.db"))
        try:
            frame = store.candidates(spec.name)
            dataset = load_task(spec)
            extras = [e if isinstance(e, dict) else {} for e in frame["extra"]]
            fidelity = pd.to_numeric(pd.Series([e.get("fidelity") for e in extras], index=frame.index))
            unpolished = pd.Series(["polished_from" not in e for e in extras], index=frame.index)
            kept = (frame["status"] == "ok") & unpolished & (fidelity.isna() | (fidelity >= fidelity.max()))
            frame = frame.loc[kept].reset_index(drop=True)
            rows = torch.as_tensor(sp.x_hold, dtype=torch.float32)
            classes = np.asarray([int(c) for c in dataset.class_names])
            held_out = []
            for candidate_id in frame["id"]:
                model, _genome, _data = trained_model(store, candidate_id, dataset)
                with torch.no_grad():
                    predicted = model(rows).argmax(dim=1).numpy()
                held_out.append(float((classes[predicted] == sp.y_hold).mean()))
            share = train_share(len(dataset.y_train), len(dataset.y_val))
        finally:
            store.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    frame = frame.assign(held_out=held_out)
    frame[POOLED_LOSS] = [pooled_loss(t, v, share) for t, v in zip(frame["train_loss"], frame["val_loss"])]
    return Campaign(f"{data.name}-{seed}", frame, data.reference)


def front_mask(frame: pd.DataFrame, rule: str) -> np.ndarray:
    """Which rows the rule keeps on the front."""
    if rule == "accuracy_loss_pooled":
        values = frame[["val_accuracy", "val_loss", POOLED_LOSS, "connections"]].to_numpy(dtype=float)
        return pareto_mask(values, ["max", "min", "min", "min"])
    chosen = set(pareto_front(frame, OBJECTIVES, ["max", "min"], rank_accuracy_by=rule)["id"])
    return frame["id"].isin(chosen).to_numpy()


def held_out_hv(frame: pd.DataFrame, mask: np.ndarray, reference: int) -> float:
    models = pd.DataFrame({"accuracy": frame["held_out"].to_numpy()[mask],
                           "connections": frame["connections"].to_numpy(dtype=float)[mask]})
    return hypervolume(models, reference)


def compare(campaign: Campaign, draws: int, rng: np.random.Generator) -> dict[str, float]:
    """Held-out HV of each rule's front minus the accuracy-ranked front's, and of as many random
    supersets of that front as large as each rule's (``<rule>_random``), and the front sizes."""
    frame, reference = campaign.candidates, campaign.reference
    base_mask = front_mask(frame, "accuracy")
    base = held_out_hv(frame, base_mask, reference)
    row: dict[str, float] = {"accuracy": base, "accuracy_n": float(base_mask.sum())}
    outside = np.flatnonzero(~base_mask)
    for rule in RULES:
        mask = front_mask(frame, rule)
        row[rule] = held_out_hv(frame, mask, reference) - base
        row[f"{rule}_n"] = float(mask.sum())
        if (mask | base_mask).sum() == mask.sum():  # a superset: compare with random ones of its size
            extra = int(mask.sum() - base_mask.sum())
            gains = []
            for _ in range(draws):
                random_mask = base_mask.copy()
                random_mask[rng.choice(outside, size=min(extra, len(outside)), replace=False)] = True
                gains.append(held_out_hv(frame, random_mask, reference) - base)
            row[f"{rule}_random"] = float(np.mean(gains))
    best = frame.loc[frame.groupby("connections")["held_out"].idxmax()]
    row["oracle"] = held_out_hv(best, np.ones(len(best), dtype=bool), reference) - base
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default="iris,breast_cancer,waveform,led24",
                        help="comma-separated: " + ", ".join(KNOWN_DATASETS) + "; or a group of real tables: "
                        + ", ".join(REAL_GROUPS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--draws", type=int, default=20, help="random supersets per rule and campaign")
    parser.add_argument("--connevo-set", action="append", type=setting, default=[], metavar="KEY=VALUE",
                        help="a key of connevo's spec, e.g. evolution.generations=40 (repeatable)")
    args = parser.parse_args()
    names = dataset_names(args.datasets)
    unknown = [n for n in names if n not in KNOWN_DATASETS]
    if unknown:
        parser.error(f"--datasets: unknown {unknown}; known: {', '.join(KNOWN_DATASETS)}")
    rng = np.random.default_rng(0)
    rows = []
    for name in names:
        data = KNOWN_DATASETS[name]()
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            begin = time.perf_counter()
            campaign = scored_candidates(data, seed, args.connevo_set)
            row = compare(campaign, args.draws, rng)
            rows.append({"campaign": campaign.name, **row})
            gains = " ".join(f"{rule} {row[rule]:+.4f} ({row[f'{rule}_n']:.0f}"
                             + (f", random {row[f'{rule}_random']:+.4f}" if f"{rule}_random" in row else "") + ")"
                             for rule in RULES)
            print(f"  [{campaign.name}] {len(campaign.candidates)} candidates, accuracy-ranked front "
                  f"{row['accuracy']:.4f} ({row['accuracy_n']:.0f}); {gains}; oracle {row['oracle']:+.4f} "
                  f"({time.perf_counter() - begin:.0f} s)", flush=True)
    table = pd.DataFrame(rows).set_index("campaign")
    print("\nmean over campaigns:\n" + table.mean().round(4).to_string())
    for rule in RULES:
        line = f"rule={rule} mean_gain={table[rule].mean():.4f} mean_front={table[f'{rule}_n'].mean():.1f}"
        if f"{rule}_random" in table:  # the campaigns where the rule's front holds the accuracy-ranked one
            supersets = table[table[f"{rule}_random"].notna()]
            wins = int((supersets[rule] > supersets[f"{rule}_random"]).sum())
            line += (f" random_same_size={supersets[f'{rule}_random'].mean():.4f} (its mean_gain there "
                     f"{supersets[rule].mean():.4f}) beats_random={wins}/{len(supersets)}")
        print(line)


if __name__ == "__main__":
    main()
