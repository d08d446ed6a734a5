"""The Python entry point: run a spec, get DataFrames back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from evolution.campaign import Campaign
from evolution.observers import CampaignObserver
from evolution.spec import CampaignSpec, load_spec
from results import queries
from results.storage import BaseStore
from results.store import open_store
from workers.evaluator import Evaluator


@dataclass
class CampaignResult:
    """A finished (or stored) campaign, queried from its store."""

    campaign_id: str
    store: BaseStore

    def front(self, objectives: Sequence[str] | None = None, *, max_connections: int | None = None) -> pd.DataFrame:
        """Non-dominated candidates; objectives default to the campaign's own."""
        if objectives is None:
            objectives = queries.campaign_objectives(self.store.get_campaign(self.campaign_id)["spec"])
        return queries.front(self.store, self.campaign_id, objectives, max_connections=max_connections)

    def candidates(self) -> pd.DataFrame:
        return self.store.candidates(self.campaign_id)

    def generations(self) -> pd.DataFrame:
        return self.store.generations(self.campaign_id)

    def info(self) -> dict[str, Any]:
        return self.store.get_campaign(self.campaign_id)


def run(
    spec: CampaignSpec | str | Path | dict[str, Any],
    store: BaseStore | str | None = None,
    *,
    observers: Sequence[CampaignObserver] = (),
    evaluator: Evaluator | None = None,
) -> CampaignResult:
    """Run a campaign to the end and return a handle on its results.

    ``spec`` is a :class:`CampaignSpec`, a TOML/JSON path or a dict; ``store`` a :class:`~results.storage.BaseStore`,
    a path or SQLAlchemy URL, or None for ``$CONNEVO_STORE`` / ``./connevo.db``.
    """
    if not isinstance(spec, CampaignSpec):
        spec = load_spec(spec)
    if not isinstance(store, BaseStore):
        store = open_store(store)
    campaign = Campaign(spec, store, evaluator=evaluator, observers=observers)
    campaign_id = campaign.run()
    return CampaignResult(campaign_id, store)


def resume(
    campaign: str,
    store: BaseStore | str | None = None,
    *,
    observers: Sequence[CampaignObserver] = (),
    evaluator: Evaluator | None = None,
) -> CampaignResult:
    """Continue a stopped, failed or killed campaign (id or name) to its end."""
    from evolution.campaign import Campaign as _Campaign

    if not isinstance(store, BaseStore):
        store = open_store(store)
    resumed = _Campaign.from_store(store, campaign, evaluator=evaluator, observers=observers)
    return CampaignResult(resumed.run(), store)
