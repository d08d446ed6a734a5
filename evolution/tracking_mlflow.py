"""The MLflow tracker: one MLflow run per campaign, in the experiment ``tracking.mlflow_experiment``.

The run is found again by its ``connevo.campaign_id`` tag, so a resumed or extended campaign
goes on logging to the run it started (its parameters, the spec, are logged once, when the run
is made). Metrics per generation (step = the generation), the polish's compute, and at the end
the final front as a table artifact (``front-generation-<G>.json``, an MLflow table: the UI shows
it, ``mlflow.load_table`` reads it; one per end, as an extension ends the campaign again) and as
``front.csv`` (always the latest); the run ends FINISHED, FAILED or KILLED (a stopped campaign). With a local SQLite tracking URI the
artifacts go beside the database (``mlflow-artifacts/``), not into the current folder.

A tracking server that cannot be reached when the campaign starts fails it with a clear error
(before any training); one that goes away later costs a warning per lost report, not the
campaign.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient

from connevo.errors import ConnevoError
from connevo.evolution.observers import CampaignObserver, GenerationSummary
from connevo.evolution.tracking import flat_spec, front_table, generation_metrics

if TYPE_CHECKING:
    from connevo.evolution.campaign import Campaign
    from connevo.evolution.polish import PolishReport

CAMPAIGN_TAG = "connevo.campaign_id"
RUN_STATUS = {"finished": "FINISHED", "failed": "FAILED", "stopped": "KILLED"}
MAX_PARAM_LENGTH = 6000  # MLflow's limit on a parameter's value
HEALTH_TIMEOUT_S = 10.0
log = logging.getLogger("connevo.tracking")


def artifact_location(uri: str) -> str | None:
    """Beside a local SQLite tracking database: ``<its folder>/mlflow-artifacts``; else MLflow's default."""
    if not uri.startswith("sqlite:///"):
        return None
    database = Path(uri[len("sqlite:///"):]).expanduser().absolute()
    return (database.parent / "mlflow-artifacts").as_uri()


def check_server(uri: str, timeout_s: float = HEALTH_TIMEOUT_S) -> None:
    """For an http(s) URI, the tracking server's ``/health`` answers within ``timeout_s`` (MLflow's
    own client retries an unreachable server for minutes before it gives up)."""
    if not uri.lower().startswith(("http://", "https://")):
        return
    response = httpx.get(uri.rstrip("/") + "/health", timeout=timeout_s)
    response.raise_for_status()


class MlflowTracker(CampaignObserver):
    """Reports a campaign to the MLflow tracking server (or local store) at ``uri``."""

    def __init__(self, uri: str, experiment: str) -> None:
        self.uri = uri
        self.experiment = experiment
        self.client: MlflowClient | None = None
        self.run_id: str | None = None

    def on_start(self, campaign: Campaign) -> None:
        try:
            check_server(self.uri)
            self.client = MlflowClient(tracking_uri=self.uri)
            self.run_id = self._run_of(campaign)
        except Exception as exc:
            raise ConnevoError(f"'tracking.mlflow': cannot report to the MLflow tracking URI {self.uri!r}: "
                               f"{type(exc).__name__}: {exc}") from None

    def _run_of(self, campaign: Campaign) -> str:
        """The campaign's run: found by its tag, or made (with the spec as parameters); RUNNING."""
        client = self.client
        assert client is not None
        experiment = client.get_experiment_by_name(self.experiment)
        experiment_id = (experiment.experiment_id if experiment is not None
                         else client.create_experiment(self.experiment, artifact_location=artifact_location(self.uri)))
        found = client.search_runs([experiment_id], filter_string=f"tags.`{CAMPAIGN_TAG}` = '{campaign.id}'",
                                   max_results=1)
        if found:
            run_id = str(found[0].info.run_id)
            client.update_run(run_id, status="RUNNING")
        else:
            run = client.create_run(experiment_id, run_name=f"{campaign.spec.name}-{campaign.id}",
                                    tags={CAMPAIGN_TAG: campaign.id, "connevo.campaign_name": campaign.spec.name})
            run_id = str(run.info.run_id)
            params = [Param(key, value[:MAX_PARAM_LENGTH]) for key, value in flat_spec(campaign.spec).items()]
            for start in range(0, len(params), 100):  # MLflow takes at most 100 parameters per batch
                client.log_batch(run_id, params=params[start:start + 100])
        client.set_tag(run_id, "connevo.generations", str(campaign.spec.evolution.generations))
        return run_id

    def _report(self, what: str, action: Callable[[MlflowClient, str], Any]) -> None:
        """Do ``action``; a failure is a warning (the campaign goes on)."""
        if self.client is None or self.run_id is None:
            return
        try:
            action(self.client, self.run_id)
        except Exception as exc:
            log.warning("tracking.mlflow: could not log %s to %s: %s: %s", what, self.uri, type(exc).__name__, exc)

    def on_generation_end(self, campaign: Campaign, summary: GenerationSummary, rows: list[dict[str, Any]],
                          checkpoint: dict[str, Any]) -> None:
        now = int(time.time() * 1000)
        metrics = [Metric(name, value, now, summary.generation)
                   for name, value in generation_metrics(summary).items()]
        self._report(f"generation {summary.generation}", lambda client, run: client.log_batch(run, metrics=metrics))

    def on_polish(self, campaign: Campaign, report: PolishReport) -> None:
        now, step = int(time.time() * 1000), campaign.last_generation
        metrics = [Metric("polish_networks", float(report.polished), now, step),
                   Metric("polish_sample_epochs", float(report.sample_epochs), now, step)]
        self._report("the polish", lambda client, run: client.log_batch(run, metrics=metrics))

    def on_finish(self, campaign: Campaign, status: str, error: str | None) -> None:
        if status == "finished":  # a table per end (an extension ends again): log_table appends to an existing one
            front = front_table(campaign)
            table = f"front-generation-{campaign.last_generation}.json"
            self._report("the final front", lambda client, run: client.log_table(run, front, table))
            self._report("the final front", lambda client, run: client.log_text(run, front.to_csv(index=False),
                                                                               "front.csv"))
        if error:
            self._report("the error", lambda client, run: client.set_tag(run, "connevo.error", error[:5000]))
        self._report("the run's end", lambda client, run: client.set_terminated(run, RUN_STATUS.get(status, "FAILED")))


__all__ = ["MlflowTracker", "artifact_location"]
