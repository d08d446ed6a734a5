"""The service's front cache: a front is read from the store once per version of its campaign
(its candidate count) and answered from memory until the campaign has new candidates."""

from pathlib import Path
from typing import Any

import pytest

from connevo.evolution import run
from connevo.evolution.polish import polish_campaign
from connevo.results import queries
from connevo.service.front_cache import FrontCache
from connevo.service.http import create_app
from tests.support import small_spec


@pytest.fixture
def finished(tmp_path: Path) -> Any:
    """A finished campaign without its polish (so that polishing adds candidates), its store
    counting how often candidates are read."""
    result = run(small_spec(**{"evolution.generations": 1}), str(tmp_path / "s.db"))
    store = result.store
    reads = {"n": 0}
    read = store.candidates

    def counting(*args: Any, **kwargs: Any) -> Any:
        reads["n"] += 1
        return read(*args, **kwargs)

    store.candidates = counting  # type: ignore[method-assign]
    return store, result.campaign_id, reads


def test_a_front_is_read_once_until_the_campaign_has_new_candidates(finished: Any) -> None:
    store, cid, reads = finished
    cache = FrontCache()
    first = cache.front(store, store.get_campaign(cid), ["val_accuracy", "connections"])
    per_front = reads["n"]  # a front's two passes (queries.front)
    second = cache.front(store, store.get_campaign(cid), ["val_accuracy", "connections"])
    assert per_front >= 1 and reads["n"] == per_front and (cache.hits, cache.misses) == (1, 1)
    assert first.equals(second) and first.equals(queries.front(store, cid, genomes=False))
    second.loc[:, "val_accuracy"] = -1.0  # a caller's change does not reach the cache
    assert cache.front(store, store.get_campaign(cid), ["val_accuracy", "connections"]).equals(first)

    polish_campaign(store, cid, epochs=1)  # new candidates: the next front is read again
    reads["n"] = 0
    polished = cache.front(store, store.get_campaign(cid), ["val_accuracy", "connections"])
    assert reads["n"] >= 1 and polished["candidate_id"].str.contains("-p").all()
    assert polished.equals(queries.front(store, cid, genomes=False))


def test_other_objectives_and_options_are_other_fronts(finished: Any) -> None:
    store, cid, reads = finished
    cache = FrontCache(size=2)
    info = store.get_campaign(cid)
    budget = cache.front(store, info, ["val_accuracy", "connections"], max_connections=3)
    assert budget.equals(queries.front(store, cid, max_connections=3, genomes=False))
    params = cache.front(store, info, ["val_accuracy", "params"])
    assert params.equals(queries.front(store, cid, ["val_accuracy", "params"], genomes=False))
    assert cache.misses == 2
    cache.front(store, info, ["val_accuracy", "flops"])  # a third entry: the least recently used goes
    cache.front(store, info, ["val_accuracy", "connections"], max_connections=3)
    assert (cache.hits, cache.misses) == (0, 4)
    with pytest.raises(ValueError, match="size"):
        FrontCache(size=0)


def test_the_http_front_answers_from_the_cache(finished: Any, make_server: Any) -> None:
    store, cid, reads = finished
    app = create_app(store)
    live = make_server(app)
    answers = [live.client.get(f"/campaigns/{cid}/front").json() for _ in range(3)]
    assert answers[0] == answers[1] == answers[2] and answers[0]["items"]
    assert (app.state.front_cache.hits, app.state.front_cache.misses) == (2, 1)


@pytest.fixture
def held_reads(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``queries.front`` as the cache calls it, counted and held until ``release`` is set
    (``fail``: raise instead of answering)."""
    import threading

    state = {"calls": 0, "release": threading.Event(), "fail": False}
    read = queries.front

    def held(*args: Any, **kwargs: Any) -> Any:
        state["calls"] += 1
        assert state["release"].wait(60)
        if state["fail"]:
            raise RuntimeError("the store went away")
        return read(*args, **kwargs)

    monkeypatch.setattr("connevo.service.front_cache.queries.front", held)
    return state


def ask_at_once(cache: FrontCache, store: Any, cid: str, state: dict, clients: int) -> list[Any]:
    """``clients`` threads asking ``cache`` for the same uncached front; the read is released
    once all but the first wait for it. Each thread's front, or the exception it got."""
    import threading
    import time

    info, answers = store.get_campaign(cid), [None] * clients

    def ask(k: int) -> None:
        try:
            answers[k] = cache.front(store, info, ["val_accuracy", "connections"])
        except Exception as exc:  # noqa: BLE001 - what the request got is the test's subject
            answers[k] = exc

    threads = [threading.Thread(target=ask, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while cache.hits < clients - 1 and time.monotonic() < deadline:  # every other request waits
        time.sleep(0.005)
    state["release"].set()
    for t in threads:
        t.join()
    return answers


def test_requests_for_a_front_that_is_being_read_wait_for_that_read(finished: Any, held_reads: dict) -> None:
    store, cid, _ = finished
    cache = FrontCache()
    answers = ask_at_once(cache, store, cid, held_reads, clients=8)
    assert held_reads["calls"] == 1 and (cache.hits, cache.misses) == (7, 1)
    expected = queries.front(store, cid, genomes=False)
    assert all(a.equals(expected) for a in answers)
    answers[0].loc[:, "val_accuracy"] = -1.0  # each got its own copy
    assert answers[1].equals(expected)


def test_a_failed_read_fails_every_request_that_waited_for_it_and_is_not_kept(finished: Any, held_reads: dict) -> None:
    store, cid, _ = finished
    cache = FrontCache()
    held_reads["fail"] = True
    answers = ask_at_once(cache, store, cid, held_reads, clients=4)
    assert held_reads["calls"] == 1
    assert all(isinstance(a, RuntimeError) and str(a) == "the store went away" for a in answers)
    held_reads["fail"] = False
    again = cache.front(store, store.get_campaign(cid), ["val_accuracy", "connections"])
    assert held_reads["calls"] == 2  # read again, not answered from a kept failure
    assert again.equals(queries.front(store, cid, genomes=False))


def test_an_answer_is_rendered_once_per_version_of_its_front(finished: Any) -> None:
    store, cid, reads = finished
    cache = FrontCache()
    rendered: list[int] = []

    def render(front: Any) -> bytes:
        rendered.append(len(front))
        return ",".join(front["candidate_id"]).encode()

    first = cache.answer(store, store.get_campaign(cid), ["val_accuracy", "connections"], render)
    again = cache.answer(store, store.get_campaign(cid), ["val_accuracy", "connections"], render)
    assert first == again == ",".join(queries.front(store, cid, genomes=False)["candidate_id"]).encode()
    assert len(rendered) == 1
    polish_campaign(store, cid, epochs=1)  # a new version: read and rendered again
    polished = cache.answer(store, store.get_campaign(cid), ["val_accuracy", "connections"], render)
    assert len(rendered) == 2 and b"-p" in polished and polished != first


def test_status_and_candidate_pages_are_read_once_per_version_of_their_campaign(finished: Any, make_server: Any,
                                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    store, cid, _ = finished
    reads = {"history": 0, "page": 0}
    history, page = queries.hypervolume_history, store.candidate_page

    def counted_history(*args: Any, **kwargs: Any) -> Any:
        reads["history"] += 1
        return history(*args, **kwargs)

    def counted_page(*args: Any, **kwargs: Any) -> Any:
        reads["page"] += 1
        return page(*args, **kwargs)

    monkeypatch.setattr("connevo.service.routes_campaigns.queries.hypervolume_history", counted_history)
    store.candidate_page = counted_page  # type: ignore[method-assign]
    live = make_server(create_app(store))

    def ask() -> tuple[Any, Any, Any]:
        return (live.client.get(f"/campaigns/{cid}").json(), live.client.get(f"/campaigns/{cid}/candidates?limit=3").json(),
                live.client.get(f"/campaigns/{cid}/candidates?limit=3&offset=3").json())

    first, again = ask(), ask()
    assert first == again and reads == {"history": 1, "page": 2}  # two pages, each read once
    assert first[1]["items"] != first[2]["items"] and first[1]["total"] == first[0]["candidates_done"]
    assert first[0]["hypervolume_history"] == history(store, cid).to_dict("records")

    polish_campaign(store, cid, epochs=1)  # new candidates: status and pages are read again
    polished = ask()
    assert reads == {"history": 2, "page": 4}
    assert polished[1]["total"] == polished[0]["candidates_done"] == store.get_campaign(cid)["candidates"]
    assert polished[1]["total"] > first[1]["total"]
