"""Progress display for a running campaign, as a campaign observer (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from connevo.evolution.accuracy_ranking import ranking_line
from connevo.evolution.observers import CampaignObserver, GenerationSummary
from connevo.evolution.task import training_summary
from connevo.evolution.time_limit import unused_limit_line


def progress_console() -> Console:
    """Standard error, drawn as a terminal when it is one, or when it is a supervisor's pipe
    whose own standard error is one (:mod:`service.supervisor`)."""
    from connevo.service.supervisor import STDERR_COLUMNS_ENV, terminal_columns

    columns = terminal_columns(STDERR_COLUMNS_ENV)
    if columns is not None:
        return Console(stderr=True, force_terminal=True, width=columns)
    return Console(stderr=True)


class RichProgress(CampaignObserver):
    """A progress bar over all candidates of the campaign and one line per finished generation."""

    def __init__(self, console: Console | None = None, id_console: Console | None = None) -> None:
        self.console = console or progress_console()
        self.id_console = id_console or Console()
        self.progress: Progress | None = None
        self.task = None
        self.devices: set[str] = set()

    def on_start(self, campaign) -> None:
        self.id_console.print(f"campaign {campaign.id}", highlight=False, soft_wrap=True)
        self.id_console.file.flush()
        for note in campaign.dataset.notes:
            self.console.print(note, highlight=False, soft_wrap=True, markup=False)
        self.console.print(training_summary(campaign.spec, campaign.dataset), highlight=False, soft_wrap=True)
        ranking = ranking_line(campaign.spec, len(campaign.dataset.y_val), len(campaign.dataset.y_train))
        if ranking:
            self.console.print(ranking, highlight=False, soft_wrap=True)
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("candidates"),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        )
        self.progress.start()
        self.task = self.progress.add_task(f"{campaign.spec.name} gen 0", total=campaign.candidates_total)

    def on_generation_start(self, campaign, generation, size) -> None:
        if self.progress is not None:
            self.progress.update(self.task, description=f"{campaign.spec.name} gen {generation}/{campaign.spec.evolution.generations}")

    def on_evaluations(self, campaign, evaluations) -> None:
        if self.progress is not None:
            self.progress.advance(self.task, len(evaluations))
            self._say_devices(evaluations)

    def _say_devices(self, evaluations) -> None:
        """Where the candidates train, said once per device as results from it first come back
        (a worker picks its device: ``training.device``, and whether it has a GPU)."""
        assert self.progress is not None
        new = sorted({e.device for e in evaluations if e.device} - self.devices)
        if new:
            also = " too" if self.devices else ""
            self.devices.update(new)
            self.progress.console.print(f"training on {', '.join(new)}{also}", highlight=False, soft_wrap=True)

    def on_generation_end(self, campaign, summary: GenerationSummary, rows, checkpoint) -> None:
        if self.progress is None:
            return
        best = "n/a" if summary.best_val_accuracy is None else f"{summary.best_val_accuracy:.3f}"
        label = "val acc" if summary.best_objective == "val_accuracy" else summary.best_objective
        failed = f"  failed {summary.failed}" if summary.failed else ""
        self.progress.console.print(
            f"gen {summary.generation:>3}  candidates {summary.candidates_done}/{summary.candidates_total}"
            f"  best {label} {best}  front {summary.front_size}  hypervolume {summary.hypervolume:.4f}{failed}",
            highlight=False, soft_wrap=True,
        )

    def on_time_limit(self, campaign, stop) -> None:
        if self.progress is not None:
            self.progress.console.print(stop.line(campaign.spec.evolution.generations), highlight=False, soft_wrap=True)

    def on_time_limit_unused(self, campaign, evolved, elapsed) -> None:
        evolution = campaign.spec.evolution
        line = unused_limit_line(evolved, evolution.generations, elapsed, evolution.time_limit)
        if self.progress is not None and line is not None:
            self.progress.console.print(line, highlight=False, soft_wrap=True)

    def on_polish_progress(self, campaign, done, total) -> None:
        if self.progress is not None and done == 0:
            rows = "every row" if campaign.spec.training.polish_rows == "all" else "training + validation rows"
            self.progress.console.print(f"polishing {total} front networks on {rows} ...",
                                        highlight=False, soft_wrap=True)

    def on_polish(self, campaign, report) -> None:
        if self.progress is not None:
            self.progress.console.print(report.line(), highlight=False, soft_wrap=True)

    def on_finish(self, campaign, status, error) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
