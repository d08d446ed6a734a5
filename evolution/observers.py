"""Campaign lifecycle hooks: subclass :class:`CampaignObserver` and override what you need."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from connevo.workers.records import Evaluation

if TYPE_CHECKING:
    from connevo.evolution.campaign import Campaign
    from connevo.evolution.polish import PolishReport
    from connevo.evolution.time_limit import Stop


@dataclass(frozen=True)
class GenerationSummary:
    """What one finished generation looks like from outside."""

    generation: int
    evaluations: int             # candidates evaluated in this generation
    candidates_done: int         # candidates evaluated since the campaign started
    candidates_total: int        # candidates the whole campaign will evaluate
    best_val_accuracy: float | None
    """The best value of the campaign's first maximized objective so far (:attr:`best_objective`:
    ``val_accuracy`` by default, ``val_r2`` for a regression); the generations table's column."""
    front_size: int
    hypervolume: float
    population: list[str] = field(default_factory=list)
    failed: int = 0
    best_objective: str = "val_accuracy"


class CampaignObserver:
    """Do-nothing base class; the campaign calls each hook at the matching point of its loop."""

    def on_start(self, campaign: Campaign) -> None:
        """The campaign row exists and the first generation is about to be evaluated."""

    def on_generation_start(self, campaign: Campaign, generation: int, size: int) -> None:
        """``size`` candidates of ``generation`` are about to be evaluated."""

    def on_evaluations(self, campaign: Campaign, evaluations: list[Evaluation]) -> None:
        """Some candidates finished (called as chunks come back)."""

    def on_generation_end(self, campaign: Campaign, summary: GenerationSummary, rows: list[dict[str, Any]], checkpoint: dict[str, Any]) -> None:
        """A generation is complete: its candidate rows (as the store takes them: a row's
        ``genome`` may hold its connection genes as columns, ``results.genome_codec.Records``,
        which iterates as the genes' objects; ``Genome.from_dict`` reads either) and the
        checkpoint to resume from."""

    def on_time_limit(self, campaign: Campaign, stop: Stop) -> None:
        """``evolution.time_limit`` stops evolution after ``stop.generation``; the polish follows."""

    def on_time_limit_unused(self, campaign: Campaign, evolved: int, elapsed: float) -> None:
        """``evolution.time_limit`` is set, and this run evolved ``evolved`` generations to the last
        one and ended (the polish included) ``elapsed`` seconds after it started."""

    def on_polish_progress(self, campaign: Campaign, done: int, total: int) -> None:
        """``done`` of the ``total`` front networks are polished (0 just before it starts)."""

    def on_polish(self, campaign: Campaign, report: PolishReport) -> None:
        """The front was polished after the last generation (:mod:`evolution.polish`)."""

    def on_finish(self, campaign: Campaign, status: str, error: str | None) -> None:
        """The campaign ended with ``status`` ("finished", "failed" or "stopped")."""
