"""The store protocol: what connevo needs of a place that keeps campaigns (Optuna's
``BaseStorage`` in spirit). :class:`results.store.Store` implements it over SQLAlchemy (SQLite
or PostgreSQL); the campaign loop, queries, the CLI and the HTTP service take any implementation.

Contract, for every implementation:

- **Thread safety**: any method may be called from several threads of one process at once (the
  HTTP service reads while a campaign thread writes; the heartbeat writes from its own thread).
- **Atomic writes**: :meth:`commit_generation`, :meth:`add_pending` and :meth:`add_candidates`
  write all of their rows or none; a generation committed twice is refused whole.
- **Plain values**: reads return dicts, lists, numbers, strings and pandas DataFrames (candidates
  ordered by number), never objects tied to a connection; a genome is its JSON dict.
- **Errors**: an unknown campaign or candidate raises :class:`connevo.errors.NotFoundError`; a store
  that cannot be read or written raises :class:`connevo.errors.StoreError` naming what and why.
- **One driver per campaign**: :meth:`claim_campaign` is atomic across processes; a campaign
  ``running`` under another driver heard of within :data:`results.drivers.STALE_AFTER_S` is
  refused with :class:`connevo.errors.CampaignBusyError`. A driver's heartbeat and status
  writes take effect only while the campaign is still its own.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from connevo.results.queries import CandidatePage


class BaseStore(abc.ABC):
    """Campaigns, their generations and candidates, kept across processes."""

    @property
    @abc.abstractmethod
    def url(self) -> str:
        """Where the store lives (an SQLAlchemy URL for the SQL store)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release connections; safe to call twice."""

    def __enter__(self) -> BaseStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- campaigns ----------------------------------------------------------------------------
    @abc.abstractmethod
    def create_campaign(self, name: str, spec: Mapping[str, Any], seed: int, driver: str | None = None) -> str:
        """A new campaign (status "running", run by ``driver``); returns its id."""

    @abc.abstractmethod
    def claim_campaign(self, campaign_id: str, driver: str, spec: Mapping[str, Any] | None = None) -> None:
        """Make ``driver`` the one process running the campaign (status "running"), atomically;
        :class:`connevo.errors.CampaignBusyError` while another live driver runs it. With
        ``spec``, the campaign's stored spec becomes ``spec`` in the same write (an extension's
        larger number of generations), and only if the claim succeeds."""

    @abc.abstractmethod
    def set_campaign_status(self, campaign_id: str, status: str, error: str | None = None,
                            driver: str | None = None) -> None:
        """Set "running", "finished", "failed" or "stopped" (and the error of a failure). With
        ``driver``: only while the campaign is that driver's (else CampaignBusyError); a status
        other than "running" releases it."""

    @abc.abstractmethod
    def get_campaign(self, id_or_name: str) -> dict[str, Any]:
        """One campaign by id, or by name (the newest of that name)."""

    @abc.abstractmethod
    def list_campaigns(self) -> pd.DataFrame:
        """Every campaign, newest first."""

    @abc.abstractmethod
    def heartbeat(self, campaign_id: str, driver: str | None = None) -> bool:
        """Mark a running campaign alive now; False (and nothing written) when it is not running
        or, with ``driver``, is no longer that driver's."""

    # --- generations and candidates -----------------------------------------------------------
    @abc.abstractmethod
    def commit_generation(self, campaign_id: str, generation: int, candidates: list[Mapping[str, Any]],
                          summary: Mapping[str, Any], checkpoint: Mapping[str, Any],
                          driver: str | None = None) -> None:
        """One generation, atomically: its candidate rows, summary and the checkpoint to resume
        from; with ``driver``, none of it unless the campaign is still that driver's."""

    @abc.abstractmethod
    def add_pending(self, campaign_id: str, generation: int, rows: list[Mapping[str, Any]],
                    driver: str | None = None) -> None:
        """Rows of a generation still running (reused when a cut generation is evaluated again);
        with ``driver``, only while the campaign is that driver's."""

    @abc.abstractmethod
    def pending(self, campaign_id: str) -> dict[int, dict[str, Any]]:
        """The pending rows of the campaign's uncommitted generation, by candidate number."""

    @abc.abstractmethod
    def add_candidates(self, campaign_id: str, candidates: list[Mapping[str, Any]]) -> None:
        """Candidates made outside a generation (polished, compressed), atomically."""

    @abc.abstractmethod
    def candidates(self, campaign_id: str, *, status: str | None = None, genomes: bool | str = True,
                   columns: Sequence[str] | None = None, ids: Sequence[str] | None = None) -> pd.DataFrame:
        """A campaign's candidates ordered by number, optionally of one status. With ``genomes``
        False the ``genome`` column is left out and never read (lists, fronts and summaries do
        not need it, and genomes are most of a store's bytes); with ``"columns"``, each genome's
        connection genes come as columns (``results.genome_codec.Records``), for
        ``Genome.from_dict`` without an object per gene, not for JSON. ``columns``: only these
        columns are read (a front's first pass reads a few numbers of every candidate, no JSON);
        ``ids``: only these candidates (its second pass reads the front's members whole)."""

    def candidate_page(self, campaign_id: str, *, status: str | None = None, generation: int | None = None,
                       min_val_accuracy: float | None = None, max_connections: int | None = None,
                       sort: str = "number", descending: bool = False, offset: int = 0,
                       limit: int = 100) -> CandidatePage:
        """One page of a campaign's candidates, genomes left out: the options and the result of
        :func:`results.queries.candidate_page`. This default reads every candidate and pages
        them in pandas; a store that can page in its database (the SQL store) overrides it with
        the same result."""
        from connevo.results.queries import candidate_page

        return candidate_page(self.candidates(campaign_id, status=status, genomes=False), generation=generation,
                              min_val_accuracy=min_val_accuracy, max_connections=max_connections, sort=sort,
                              descending=descending, offset=offset, limit=limit)

    @abc.abstractmethod
    def candidate(self, candidate_id: str) -> dict[str, Any]:
        """One candidate (parents a list, genome and extra dicts)."""

    @abc.abstractmethod
    def generations(self, campaign_id: str, *, summaries_only: bool = False) -> pd.DataFrame:
        """A campaign's committed generations with their summaries, in order. ``summaries_only``:
        without the ``population`` and ``checkpoint`` columns (never read: a status polled every
        second or two needs the hypervolume history, not every generation's saved state)."""

    @abc.abstractmethod
    def latest_checkpoint(self, campaign_id: str) -> dict[str, Any] | None:
        """The last committed generation's number, population and checkpoint; None before one."""


__all__ = ["BaseStore"]
