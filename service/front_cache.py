"""The fronts the service answers, kept until their campaign's candidates change.

A dashboard polls a campaign's front every second or two, and a front reads every candidate of
the campaign: recomputing it per request would make a few viewers of a large campaign the
server's whole load. Candidate rows are only ever added (a committed generation, a polish, a
compression; never changed), so a campaign's candidate count versions its fronts: a front is
answered from here until that count changes. Bounded (least recently used out first) and
thread-safe (the routes run in FastAPI's thread pool). A front asked for by several requests at
once while it is not cached yet (every poller right after a generation commits) is read once:
the first request reads it, the others wait for its answer instead of each reading it again.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

import pandas as pd

from connevo.results import queries
from connevo.results.storage import BaseStore
from connevo.service.once_cache import OnceCache


class FrontCache:
    """``front(store, info, objectives, **options)``: :func:`results.queries.front` without
    genomes, cached by (store, campaign, its candidate count, objectives, options)."""

    def __init__(self, size: int = 64) -> None:
        self._fronts: OnceCache[pd.DataFrame] = OnceCache(size)
        self._answers: OnceCache[bytes] = OnceCache(size)
        self.size = size

    @property
    def hits(self) -> int:
        """Fronts and answers given from memory (or from a read another request was making)."""
        return self._fronts.hits + self._answers.hits

    @property
    def misses(self) -> int:
        """Fronts read from the store."""
        return self._fronts.misses

    def answer(self, store: BaseStore, info: dict[str, Any], objectives: Sequence[str],
               render: Callable[[pd.DataFrame], bytes], **options: Any) -> bytes:
        """``render(front)``, the bytes a route answers with, kept with the front: every poller
        of an unchanged campaign gets the same bytes without turning the front into JSON again
        (``render`` must depend on nothing but the front, the campaign and the objectives)."""
        key = self._key(store, info, objectives, options)
        return self._answers.get(key, self._rendering(key, store, info, objectives, render, options))

    async def aanswer(self, store: BaseStore, info: dict[str, Any], objectives: Sequence[str],
                      render: Callable[[pd.DataFrame], bytes], **options: Any) -> bytes:
        """:meth:`answer` for a route on the event loop: a kept answer at once, else read and
        rendered in a worker thread."""
        key = self._key(store, info, objectives, options)
        return await self._answers.aget(key, self._rendering(key, store, info, objectives, render, options))

    def _rendering(self, key: Hashable, store: BaseStore, info: dict[str, Any], objectives: Sequence[str],
                   render: Callable[[pd.DataFrame], bytes], options: dict[str, Any]) -> Callable[[], bytes]:
        """What makes an answer that is not kept: the (kept) front, rendered."""
        return lambda: render(self._read(key, store, info, objectives, options))

    @staticmethod
    def _key(store: BaseStore, info: dict[str, Any], objectives: Sequence[str], options: dict[str, Any]) -> Hashable:
        return (store.url, info["id"], int(info["candidates"]), tuple(objectives), tuple(sorted(options.items())))

    def front(self, store: BaseStore, info: dict[str, Any], objectives: Sequence[str], **options: Any) -> pd.DataFrame:
        """The front of the campaign ``info`` (a :meth:`~results.storage.BaseStore.get_campaign`
        row); a copy, so a caller may change it."""
        return self._read(self._key(store, info, objectives, options), store, info, objectives, options).copy()

    def _read(self, key: Hashable, store: BaseStore, info: dict[str, Any], objectives: Sequence[str],
              options: dict[str, Any]) -> pd.DataFrame:
        """The kept front (not a copy: only for reading)."""
        ranking = queries.spec_accuracy_ranking(info.get("spec"))  # from the row in hand: no second read
        return self._fronts.get(key, lambda: queries.front(store, info["id"], objectives, genomes=False,
                                                           rank_accuracy_by=ranking, **options))


__all__ = ["FrontCache"]
