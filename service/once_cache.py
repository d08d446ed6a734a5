"""Values made once per key and kept, least recently used out first, safe to share between the
threads FastAPI runs its routes in.

What the service answers about a campaign changes only when the campaign has new candidates or
generations (rows are only ever added), so an answer keyed by that version can be kept. Many
pollers ask for the same answer at the same moment (right after a generation commits): the
first request makes it, the others wait for that value instead of each making it again.
functools.lru_cache has no such single flight and no keys of our choosing; cachetools' locks
do not make a value once per key either; so this small class.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from starlette.concurrency import run_in_threadpool

V = TypeVar("V")


class _Making(Generic[V]):
    """A value being made by one request, awaited by the others that ask for it meanwhile."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: V | None = None
        self.error: BaseException | None = None


class OnceCache(Generic[V]):
    """``get(key, make)``: the kept value of ``key``, else ``make()``, made once however many
    threads ask at once and kept (at most ``size`` values, and with ``weigh``, values weighing
    at most ``max_weight`` in all: a value heavier than that alone is answered, not kept). A
    ``make`` that raises raises in every thread that waited for it, and nothing is kept."""

    def __init__(self, size: int = 64, *, weigh: Callable[[V], int] | None = None,
                 max_weight: int | None = None) -> None:
        if size < 1:
            raise ValueError(f"size must be at least 1, got {size}")
        if (weigh is None) != (max_weight is None):
            raise ValueError("weigh and max_weight go together")
        self.size = size
        self._weigh, self.max_weight = weigh, max_weight
        self._weights: dict[Hashable, int] = {}
        self.weight = 0
        self._values: OrderedDict[Hashable, V] = OrderedDict()
        self._making: dict[Hashable, _Making[V]] = {}
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def peek(self, key: Hashable) -> V | None:
        """The kept value of ``key`` (a hit), or None without making it: for a caller that must
        not wait (an event loop), which then asks :meth:`get` from a worker thread."""
        with self._lock:
            return self._recalled(key) if key in self._values else None

    async def aget(self, key: Hashable, make: Callable[[], V]) -> V:
        """:meth:`get` for a coroutine on the server's event loop: a kept value is answered on
        the loop; making one, or waiting for another request's making, happens in a worker
        thread, so the loop goes on answering the others meanwhile."""
        kept = self.peek(key)
        if kept is not None:
            return kept
        return await run_in_threadpool(self.get, key, make)

    def get(self, key: Hashable, make: Callable[[], V]) -> V:
        with self._lock:
            if key in self._values:
                return self._recalled(key)
            making = self._making.get(key)
            first = making is None
            if first:
                making = self._making[key] = _Making()
                self.misses += 1
            else:
                self.hits += 1
        assert making is not None
        if not first:
            making.done.wait()
            if making.error is not None:
                raise making.error
            return making.value  # type: ignore[return-value]
        try:
            value = make()
        except BaseException as exc:
            making.error = exc
            raise
        else:
            making.value = value
            with self._lock:
                self._keep(key, value)
        finally:
            with self._lock:
                del self._making[key]
            making.done.set()
        return value

    def _recalled(self, key: Hashable) -> V:
        """The kept value of ``key`` (which is kept), now the most recent; a hit. Under the lock."""
        self._values.move_to_end(key)
        self.hits += 1
        return self._values[key]

    def _keep(self, key: Hashable, value: V) -> None:
        """``value`` kept as ``key``'s, the least recently used out beyond the bounds. Under the lock."""
        self._values[key] = value
        if self._weigh is not None:
            self._weights[key] = self._weigh(value)
            self.weight += self._weights[key]
        while self._values and (len(self._values) > self.size
                                or (self.max_weight is not None and self.weight > self.max_weight)):
            gone, _ = self._values.popitem(last=False)
            self.weight -= self._weights.pop(gone, 0)

    def __len__(self) -> int:
        with self._lock:
            return len(self._values)


__all__ = ["OnceCache"]
