"""results.queries.campaign_objectives: the default objectives of a stored campaign spec."""

from __future__ import annotations

from connevo.results.queries import campaign_objectives

SPEC = {"objectives": {"maximize": ["val_accuracy", "test_accuracy"], "minimize": ["connections", "params"]}}


def test_maximized_then_minimized() -> None:
    assert campaign_objectives(SPEC) == ["val_accuracy", "test_accuracy", "connections", "params"]


def test_first_two_is_the_first_of_each_sense() -> None:
    assert campaign_objectives(SPEC, first_two=True) == ["val_accuracy", "connections"]
