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

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import pandas as pd

from connevo.results import queries
from connevo.results.storage import BaseStore


class _Reading:
    """A front being read by one request, awaited by the others that ask for it meanwhile."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.front: pd.DataFrame | None = None
        self.error: BaseException | None = None


class FrontCache:
    """``front(store, info, objectives, **options)``: :func:`results.queries.front` without
    genomes, cached by (store, campaign, its candidate count, objectives, options)."""

    def __init__(self, size: int = 64) -> None:
        if size < 1:
            raise ValueError(f"size must be at least 1, got {size}")
        self.size = size
        self._entries: OrderedDict[Hashable, pd.DataFrame] = OrderedDict()
        self._answers: OrderedDict[Hashable, bytes] = OrderedDict()
        self._reading: dict[Hashable, _Reading] = {}
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def answer(self, store: BaseStore, info: dict[str, Any], objectives: Sequence[str],
               render: Callable[[pd.DataFrame], bytes], **options: Any) -> bytes:
        """``render(front)``, the bytes a route answers with, kept with the front: every poller
        of an unchanged campaign gets the same bytes without turning the front into JSON again
        (``render`` must depend on nothing but the front, the campaign and the objectives)."""
        key = self._key(store, info, objectives, options)
        with self._lock:
            body = self._recall(self._answers, key)
            if body is not None:
                return body
        body = render(self.front(store, info, objectives, **options))
        with self._lock:
            self._keep(self._answers, key, body)
        return body

    def _recall(self, entries: OrderedDict[Hashable, Any], key: Hashable) -> Any:
        """``entries[key]`` (now the most recent; a hit), or None. Under the lock."""
        value = entries.get(key)
        if value is not None:
            entries.move_to_end(key)
            self.hits += 1
        return value

    def _keep(self, entries: OrderedDict[Hashable, Any], key: Hashable, value: Any) -> None:
        """``entries[key] = value``, the least recently used out beyond ``size``. Under the lock."""
        entries[key] = value
        entries.move_to_end(key)
        while len(entries) > self.size:
            entries.popitem(last=False)

    @staticmethod
    def _key(store: BaseStore, info: dict[str, Any], objectives: Sequence[str], options: dict[str, Any]) -> Hashable:
        return (store.url, info["id"], int(info["candidates"]), tuple(objectives), tuple(sorted(options.items())))

    def front(self, store: BaseStore, info: dict[str, Any], objectives: Sequence[str], **options: Any) -> pd.DataFrame:
        """The front of the campaign ``info`` (a :meth:`~results.storage.BaseStore.get_campaign`
        row); a copy, so a caller may change it."""
        key = self._key(store, info, objectives, options)
        with self._lock:
            cached = self._recall(self._entries, key)
            if cached is not None:
                return cached.copy()
            reading = self._reading.get(key)
            first = reading is None
            if first:
                reading = self._reading[key] = _Reading()
                self.misses += 1
            else:
                self.hits += 1
        assert reading is not None
        if not first:
            reading.done.wait()
            if reading.error is not None:
                raise reading.error
            assert reading.front is not None
            return reading.front.copy()
        try:
            front = queries.front(store, info["id"], objectives, genomes=False, **options)
        except BaseException as exc:
            reading.error = exc
            raise
        else:
            reading.front = front
            with self._lock:
                self._keep(self._entries, key, front)
        finally:
            with self._lock:
                del self._reading[key]
            reading.done.set()
        return front.copy()


__all__ = ["FrontCache"]
