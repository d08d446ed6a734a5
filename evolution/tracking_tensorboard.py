"""The TensorBoard tracker: event files a ``tensorboard --logdir`` shows as the campaign runs.

One folder per campaign, ``<tracking.tensorboard>/<name>-<id>``; a resumed or extended campaign
adds an event file to the same folder (TensorBoard reads them as one run). Scalars under
``connevo/`` per generation; the polish's compute; at the end the final front as a text table
(and ``front.csv`` beside the event files).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from torch.utils.tensorboard import SummaryWriter  # needs the tensorboard package (the [tensorboard] extra)

from connevo.evolution.observers import CampaignObserver, GenerationSummary
from connevo.evolution.tracking import front_table, generation_metrics

if TYPE_CHECKING:
    from connevo.evolution.campaign import Campaign
    from connevo.evolution.polish import PolishReport


class TensorBoardTracker(CampaignObserver):
    """Writes a campaign's progress as TensorBoard events under ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.writer: SummaryWriter | None = None

    def log_dir(self, campaign: Campaign) -> Path:
        return self.folder / f"{campaign.spec.name}-{campaign.id}"

    def on_start(self, campaign: Campaign) -> None:
        self.writer = SummaryWriter(log_dir=str(self.log_dir(campaign)))
        self.writer.add_text("connevo/campaign", f"campaign {campaign.id} ({campaign.spec.name}), seed "
                                                 f"{campaign.spec.seed}", global_step=campaign.next_generation)

    def on_generation_end(self, campaign: Campaign, summary: GenerationSummary, rows: list[dict[str, Any]],
                          checkpoint: dict[str, Any]) -> None:
        if self.writer is None:
            return
        for name, value in generation_metrics(summary).items():
            self.writer.add_scalar(f"connevo/{name}", value, global_step=summary.generation)
        self.writer.flush()

    def on_polish(self, campaign: Campaign, report: PolishReport) -> None:
        if self.writer is None:
            return
        step = campaign.last_generation
        self.writer.add_scalar("connevo/polish_networks", report.polished, global_step=step)
        self.writer.add_scalar("connevo/polish_sample_epochs", report.sample_epochs, global_step=step)

    def on_finish(self, campaign: Campaign, status: str, error: str | None) -> None:
        if self.writer is None:
            return
        try:
            front = front_table(campaign)
            front.to_csv(self.log_dir(campaign) / "front.csv", index=False)
            table = "    " + front.to_string(index=False).replace("\n", "\n    ")  # a Markdown code block
            self.writer.add_text("connevo/front", table if len(front) else "(empty)",
                                 global_step=max(campaign.next_generation - 1, 0))
            self.writer.add_text("connevo/status", status + (f": {error}" if error else ""),
                                 global_step=max(campaign.next_generation - 1, 0))
        finally:
            self.writer.close()
            self.writer = None


__all__ = ["TensorBoardTracker"]
