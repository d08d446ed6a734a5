"""A drawing names a network's inputs and outputs after its campaign's data."""

from __future__ import annotations

import pandas as pd

from connevo.evolution.task import network_names
from tests.support import small_spec


def test_inputs_are_the_features_and_outputs_the_classes(tmp_path):
    table = pd.DataFrame({"age": [30, 40, 50, 60] * 5, "dose": [1.0, 2.0, 3.0, 4.0] * 5,
                          "outcome": ["no", "yes", "no", "yes"] * 5})
    table.to_csv(tmp_path / "t.csv", index=False)
    spec = small_spec(**{"task": {"dataset": str(tmp_path / "t.csv"), "target": "outcome"}})
    assert network_names(spec) == (["age", "dose"], ["no", "yes"])
    assert network_names(small_spec()) == (["x0", "x1"], ["0", "1"])


def test_a_regressions_output_is_its_target_and_lost_data_gives_no_names(tmp_path):
    spec = small_spec(**{"task": {"dataset": "diabetes", "kind": "regression"}, "objectives": {}})
    inputs, outputs = network_names(spec)
    assert outputs == ["target"] and len(inputs) == 10 and "bmi" in inputs
    assert network_names(small_spec(**{"task": {"dataset": str(tmp_path / "gone.csv")}})) is None
