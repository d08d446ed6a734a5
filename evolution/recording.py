"""The campaign's store writer (an observer) and its heartbeat."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from connevo.evolution.observers import CampaignObserver
from connevo.results.storage import BaseStore

log = logging.getLogger(__name__)


class StoreRecorder(CampaignObserver):
    """Persists each generation (candidates, summary, checkpoint) in one store transaction."""

    def __init__(self, store: BaseStore) -> None:
        self.store = store

    def on_evaluations(self, campaign, evaluations) -> None:
        if campaign.spec.evolution.fidelity is not None:
            return  # rungs: a cut generation is evaluated again from its start
        generation = campaign.next_generation
        self.store.add_pending(campaign.id, generation, campaign.rows_for(evaluations), driver=campaign.driver)

    def on_generation_end(self, campaign, summary, rows, checkpoint) -> None:
        self.store.commit_generation(
            campaign.id,
            summary.generation,
            rows,
            {
                "population": summary.population,
                "front_size": summary.front_size,
                "hypervolume": summary.hypervolume,
                "best_val_accuracy": summary.best_val_accuracy,
                "evaluations": summary.evaluations,
            },
            checkpoint,
            driver=campaign.driver,
        )

    def on_finish(self, campaign, status, error) -> None:
        self.store.set_campaign_status(campaign.id, status, error, driver=campaign.driver)


class Heartbeat(threading.Thread):
    """Touches the campaign's row every :data:`results.store.HEARTBEAT_S` while it runs, so a
    campaign whose driver died shows as ``stale`` rather than running forever."""

    def __init__(self, store: BaseStore, campaign_id: str, interval: float, driver: str | None = None,
                 on_lost: Callable[[], None] | None = None) -> None:
        super().__init__(name=f"heartbeat-{campaign_id}", daemon=True)
        self.store, self.campaign_id, self.interval = store, campaign_id, interval
        self.driver, self.on_lost = driver, on_lost
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.interval):
            try:
                alive = self.store.heartbeat(self.campaign_id, self.driver)
            except Exception as exc:  # the loop's own writes report store trouble
                log.debug("heartbeat of campaign %s failed: %s", self.campaign_id, exc)
                continue
            if not alive and self.driver is not None:  # another process took the campaign over
                if self.on_lost is not None:
                    self.on_lost()
                return

    def stop(self) -> None:
        self.done.set()
        self.join(timeout=10)


__all__ = ["Heartbeat", "StoreRecorder"]
