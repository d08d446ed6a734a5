"""Queries over a real store: the front with filters, hypervolume history, campaign comparison."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from connevo.errors import NotFoundError, SpecError
from connevo.results.queries import FRONT_LEADING_COLUMNS, compare_campaigns, front, hypervolume_history
from connevo.results.store import Store

Factory = Callable[..., dict[str, Any]]

REPO = Path(__file__).resolve().parents[2]


def _campaign(store: Store, make_candidate: Factory, make_summary: Factory, name: str = "retina") -> str:
    """Two generations: number -> (status, val_accuracy, connections)."""
    cid = store.create_campaign(name, {"task": "retina"}, 3)
    table = {
        0: ("ok", 0.60, 8),  # front (cheapest ok)
        1: ("ok", 0.70, 20),  # dominated by 3
        2: ("ok", 0.90, 40),  # front (most accurate)
        3: ("ok", 0.80, 16),  # front
        4: ("failed", None, 4),  # no accuracy: listed after the front with include_failed
        5: ("diverged", 0.65, 2),  # on the front only with include_failed
    }
    for gen, numbers in ((0, [0, 1, 4]), (1, [2, 3, 5])):
        cands = [
            make_candidate(n, generation=gen, status=table[n][0], val_accuracy=table[n][1], connections=table[n][2],
                           params=table[n][2] + 2, test_accuracy=table[n][1], extra={"sparsity": n / 10})
            for n in numbers
        ]
        store.commit_generation(
            cid, gen, cands,
            make_summary([f"{cid}-{n}" for n in numbers], hypervolume=0.1 * (gen + 1), front_size=2 + gen,
                         best_val_accuracy=[0.7, 0.9][gen], evaluations=3),
            {},
        )
    return cid


def test_front_of_the_ok_candidates(store: Store, make_candidate: Factory, make_summary: Factory) -> None:
    cid = _campaign(store, make_candidate, make_summary)
    df = front(store, cid)
    assert df["candidate_id"].tolist() == [f"{cid}-0", f"{cid}-3", f"{cid}-2"]
    assert list(df.columns[: len(FRONT_LEADING_COLUMNS)]) == list(FRONT_LEADING_COLUMNS)
    assert "id" not in df.columns and "genome" in df.columns
    assert df["val_accuracy"].tolist() == [0.6, 0.8, 0.9]


def test_lists_and_fronts_without_genomes_read_no_genome_and_are_otherwise_the_same(
        store: Store, make_candidate: Factory, make_summary: Factory) -> None:
    cid = _campaign(store, make_candidate, make_summary)
    whole, light = store.candidates(cid), store.candidates(cid, genomes=False)
    assert "genome" not in light.columns and list(light.columns) == [c for c in whole.columns if c != "genome"]
    assert light.equals(whole.drop(columns="genome"))
    assert store.candidates(cid, status="ok", genomes=False).equals(store.candidates(cid, status="ok").drop(columns="genome"))
    assert front(store, cid, genomes=False).equals(front(store, cid).drop(columns="genome"))
    senses = ["max", "min"]
    assert front(store, cid, ["val_accuracy", "sparsity"], senses=senses, genomes=False).equals(
        front(store, cid, ["val_accuracy", "sparsity"], senses=senses).drop(columns="genome"))


def test_front_within_a_connection_budget(store: Store, make_candidate: Factory, make_summary: Factory) -> None:
    cid = _campaign(store, make_candidate, make_summary)
    assert front(store, cid, max_connections=16)["candidate_id"].tolist() == [f"{cid}-0", f"{cid}-3"]
    assert front(store, cid, max_connections=1).empty


def test_front_including_failed_candidates(store: Store, make_candidate: Factory, make_summary: Factory) -> None:
    cid = _campaign(store, make_candidate, make_summary)
    df = front(store, cid, include_failed=True)
    assert df["candidate_id"].tolist() == [f"{cid}-5", f"{cid}-3", f"{cid}-2", f"{cid}-4"]
    assert df["status"].tolist() == ["diverged", "ok", "ok", "failed"]
    assert df["val_accuracy"].isna().tolist() == [False, False, False, True]


def test_front_by_campaign_name_and_other_objectives(
    store: Store, make_candidate: Factory, make_summary: Factory
) -> None:
    cid = _campaign(store, make_candidate, make_summary)
    by_params = front(store, "retina", ("test_accuracy", "params"))
    assert by_params["candidate_id"].tolist() == [f"{cid}-0", f"{cid}-3", f"{cid}-2"]
    # a metric kept under 'extra' is an objective too, given its sense
    mod = front(store, "retina", ("val_accuracy", "sparsity"), senses=("max", "max"))
    assert mod["candidate_id"].tolist() == [f"{cid}-2", f"{cid}-3"]
    with pytest.raises(SpecError, match="'nonsense'"):
        front(store, cid, ("val_accuracy", "nonsense"), senses=("max", "min"))
    with pytest.raises(NotFoundError):
        front(store, "no-such-campaign")


def test_front_of_a_campaign_without_candidates(store: Store) -> None:
    cid = store.create_campaign("empty", {}, 1)
    df = front(store, cid)
    assert df.empty and list(df.columns[:3]) == ["candidate_id", "generation", "val_accuracy"]


def test_hypervolume_history(store: Store, make_candidate: Factory, make_summary: Factory) -> None:
    cid = _campaign(store, make_candidate, make_summary)
    hist = hypervolume_history(store, "retina")
    assert list(hist.columns) == [
        "generation", "hypervolume", "front_size", "best_val_accuracy", "evaluations", "cumulative_evaluations",
    ]
    assert hist["generation"].tolist() == [0, 1]
    assert hist["hypervolume"].tolist() == pytest.approx([0.1, 0.2])
    assert hist["cumulative_evaluations"].tolist() == [3, 6]
    assert hypervolume_history(store, store.create_campaign("none", {}, 0)).empty
    assert cid


def test_compare_campaigns(store: Store, make_candidate: Factory, make_summary: Factory) -> None:
    a = _campaign(store, make_candidate, make_summary, name="a")
    b = store.create_campaign("b", {}, 2)
    table = compare_campaigns(store, [a, "b"])
    assert table["id"].tolist() == [a, b]
    row_a, row_b = table.iloc[0], table.iloc[1]
    assert row_a["candidates"] == 6 and row_a["front_size"] == 3
    assert row_a["best_val_accuracy"] == 0.9 and row_a["last_hypervolume"] == pytest.approx(0.2)
    assert row_b["candidates"] == 0 and row_b["front_size"] == 0
    assert np.isnan(row_b["best_val_accuracy"]) and np.isnan(row_b["last_hypervolume"])


def test_the_package_exports_its_api_and_imports_no_other_connevo_package() -> None:
    """Run as a user would from the repository root: ``connevo.results`` only."""
    code = (
        "import sys\nimport connevo.results as results\n"
        "missing = [n for n in results.__all__ if not hasattr(results, n)]\n"
        "assert not missing, missing\n"
        "for name in ('open_store', 'Store', 'front', 'pareto_front', 'hypervolume', 'plot_front'):\n"
        "    assert name in results.__all__, name\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'networkx') or\n"
        "             m.split('.')[:2] in (['connevo', p] for p in ('evolution', 'search_space', 'workers', 'service')))\n"
        "assert not bad, bad\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr


def test_front_lists_identical_scores_once_with_a_count(store: Store, make_candidate: Factory, make_summary: Factory) -> None:
    cid = store.create_campaign("dupes", {}, 1)
    rows = [make_candidate(n, val_accuracy=0.5, connections=3) for n in range(4)]
    rows += [make_candidate(4, val_accuracy=0.9, connections=10)]
    store.commit_generation(cid, 0, rows, make_summary([r["id"] if "id" in r else f"{cid}-{r['number']}" for r in rows]), {})
    read_whole = []
    columns_of = store.candidates

    def spying(campaign, **options):  # the second pass reads whole only the candidates listed
        if options.get("ids") is not None:
            read_whole.append(sorted(options["ids"]))
        return columns_of(campaign, **options)

    store.candidates = spying
    df = front(store, cid)
    assert df["candidate_id"].tolist() == [f"{cid}-0", f"{cid}-4"]
    assert df["duplicates"].tolist() == [3, 0]
    assert read_whole == [[f"{cid}-0", f"{cid}-4"]]
    assert len(front(store, cid, distinct=False)) == 5
