"""OnceCache: a value is made once per key, however many threads ask at once, and kept until
the least recently used goes; a failure is raised to every waiter and not kept."""

import threading
import time
from typing import Any

import pytest

from connevo.service.once_cache import OnceCache


def test_a_kept_value_is_not_made_again_and_the_least_recently_used_goes_first() -> None:
    cache: OnceCache[str] = OnceCache(size=2)
    made: list[str] = []

    def make(key: str) -> Any:
        return lambda: made.append(key) or key.upper()

    assert [cache.get(k, make(k)) for k in ("a", "b", "a")] == ["A", "B", "A"]
    assert made == ["a", "b"] and (cache.hits, cache.misses) == (1, 2)
    cache.get("c", make("c"))  # "b" was used least recently
    assert len(cache) == 2
    cache.get("a", make("a"))
    cache.get("b", make("b"))
    assert made == ["a", "b", "c", "b"]
    with pytest.raises(ValueError, match="size must be at least 1"):
        OnceCache(size=0)


def ask_at_once(cache: OnceCache[Any], make: Any, threads: int) -> list[Any]:
    """``threads`` threads asking for key "k" at once; ``make`` is released once every other
    thread waits for the first. What each thread got (a value or the exception)."""
    release = threading.Event()
    answers: list[Any] = [None] * threads

    def held() -> Any:
        assert release.wait(60)
        return make()

    def ask(i: int) -> None:
        try:
            answers[i] = cache.get("k", held)
        except Exception as exc:  # noqa: BLE001 - what the caller got is the subject
            answers[i] = exc

    workers = [threading.Thread(target=ask, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    deadline = time.monotonic() + 60
    while cache.hits < threads - 1 and time.monotonic() < deadline:
        time.sleep(0.005)
    release.set()
    for w in workers:
        w.join()
    return answers


def test_threads_asking_for_a_value_being_made_wait_for_it() -> None:
    cache: OnceCache[list[int]] = OnceCache()
    made: list[int] = []
    answers = ask_at_once(cache, lambda: made.append(1) or [7], threads=6)
    assert made == [1] and all(a == [7] for a in answers) and (cache.hits, cache.misses) == (5, 1)


def test_a_failure_reaches_every_waiter_and_is_not_kept() -> None:
    cache: OnceCache[int] = OnceCache()

    def fail() -> int:
        raise RuntimeError("the store went away")

    answers = ask_at_once(cache, fail, threads=4)
    assert all(isinstance(a, RuntimeError) and str(a) == "the store went away" for a in answers)
    assert len(cache) == 0 and cache.get("k", lambda: 3) == 3


def test_on_an_event_loop_a_kept_value_is_answered_at_once_and_a_new_one_made_in_a_worker_thread() -> None:
    import asyncio

    cache: OnceCache[int] = OnceCache()
    makers: list[str] = []

    def make() -> int:
        makers.append(threading.current_thread().name)
        return 5

    async def ask() -> tuple[int, int]:
        return await cache.aget("k", make), await cache.aget("k", make)

    assert cache.peek("k") is None and (cache.hits, cache.misses) == (0, 0)  # peeking makes nothing
    assert asyncio.run(ask()) == (5, 5)
    assert len(makers) == 1 and makers[0] != threading.main_thread().name  # made off the loop's thread
    assert cache.peek("k") == 5 and (cache.hits, cache.misses) == (2, 1)


def test_with_a_weight_bound_the_least_recently_used_go_until_the_rest_fit_and_a_heavier_value_is_not_kept() -> None:
    cache: OnceCache[bytes] = OnceCache(size=10, weigh=len, max_weight=10)
    for key in "abc":
        cache.get(key, lambda: b"1234")  # 4 bytes each: "a" goes when "c" comes
    assert len(cache) == 2 and cache.weight == 8 and cache.peek("a") is None
    assert cache.get("big", lambda: b"x" * 11) == b"x" * 11  # answered, and too heavy to keep
    assert len(cache) == 0 and cache.weight == 0
    made: list[str] = []
    assert cache.get("big", lambda: made.append("again") or b"x" * 11) == b"x" * 11 and made == ["again"]
    with pytest.raises(ValueError, match="go together"):
        OnceCache(weigh=len)
