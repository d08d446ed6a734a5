"""A campaign observer that freezes its process's objects once the first generation is done."""

from __future__ import annotations

from typing import Any

from connevo.collector import freeze_long_lived_objects
from connevo.evolution.observers import CampaignObserver

__all__ = ["FreezeAfterFirstGeneration"]


class FreezeAfterFirstGeneration(CampaignObserver):
    """After the first generation this process runs, it has imported what the campaign uses (Ray,
    scikit-learn, igraph) and made its long-lived state: :func:`connevo.collector.
    freeze_long_lived_objects` then, once. For processes connevo owns (``connevo run`` and
    ``resume`` from the command line), not for a program that embeds connevo."""

    def __init__(self) -> None:
        self.done = False

    def on_generation_end(self, campaign: Any, summary: Any, rows: Any, checkpoint: Any) -> None:
        if not self.done:
            self.done = True
            freeze_long_lived_objects()
