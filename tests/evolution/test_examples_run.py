"""Every shipped example runs as it is written, on a small budget: a tiny population through two
generations of evolution (the second breeds from the first, as every longer campaign does)."""

import tomllib

import pytest

from connevo.evolution import run
from tests.support import ROOT

EXAMPLES = sorted((ROOT / "examples").glob("*.toml"))

SMALL_BUDGET = {
    ("evolution", "population"): 6,
    ("evolution", "generations"): 2,
    ("training", "epochs"): 2,
    ("training", "min_steps"): 0,
    ("training", "polish_epochs"): 0,
    ("workers", "backend"): "local",
    ("workers", "count"): 1,
}


def small(path, tmp_path) -> dict:
    """The example's spec as written, but for the budget and, where it tracks, folders under ``tmp_path``."""
    spec = tomllib.loads(path.read_text(encoding="utf-8"))
    spec["base_dir"] = str(path.parent)
    for (section, key), value in SMALL_BUDGET.items():
        spec.setdefault(section, {})[key] = value
    if "fidelity" in spec["evolution"]:
        spec["training"]["epochs"] = 4  # its first rung trains a quarter of them
    if "inherited_epochs" in spec["training"]:
        spec["training"]["inherited_epochs"] = 1
    tracking = spec.get("tracking", {})
    if "mlflow" in tracking:
        tracking["mlflow"] = f"sqlite:///{tmp_path / 'mlflow.db'}"
    if "tensorboard" in tracking:
        tracking["tensorboard"] = str(tmp_path / "runs")
    return spec


def test_every_example_is_covered():
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_the_example_runs_through_two_generations(path, tmp_path):
    result = run(small(path, tmp_path), str(tmp_path / "example.db"))
    rows = result.candidates()
    assert sorted(rows["generation"].unique()) == [0, 1, 2]
    assert (rows["status"] == "ok").any()
    assert len(result.front()) > 0
