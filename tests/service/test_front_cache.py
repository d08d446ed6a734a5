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
