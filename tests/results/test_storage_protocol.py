"""The store protocol: the SQL store implements it, and a campaign, its queries and its resume
run on any implementation."""

import threading

import pytest

from connevo.evolution import run
from connevo.evolution.api import resume
from connevo.results import queries
from connevo.results.storage import BaseStore
from connevo.results.store import Store, open_store
from tests.support import Crash, CrashAfter, small_spec


class CountingStore(BaseStore):
    """Another implementation: every call goes to a real store, counted per method."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.calls: dict[str, int] = {}
        self._lock = threading.Lock()

    def _call(self, name, *args, **kwargs):
        with self._lock:
            self.calls[name] = self.calls.get(name, 0) + 1
        return getattr(self.inner, name)(*args, **kwargs)

    @property
    def url(self):
        return "counting+" + self.inner.url

    def close(self):
        self.inner.close()


for _name in sorted(BaseStore.__abstractmethods__ - {"url", "close"}):
    setattr(CountingStore, _name, lambda self, *a, _n=_name, **k: self._call(_n, *a, **k))
CountingStore.__abstractmethods__ = frozenset()


def test_the_sql_store_implements_every_method_of_the_protocol():
    assert issubclass(Store, BaseStore) and not getattr(Store, "__abstractmethods__", set())
    public = {n for n in dir(Store) if not n.startswith("_")}
    assert BaseStore.__abstractmethods__ <= public


def test_an_implementation_missing_a_method_cannot_be_made():
    class Partial(BaseStore):
        url = "partial://"

        def close(self):
            pass

    with pytest.raises(TypeError, match="abstract"):
        Partial()


def test_a_campaign_runs_is_queried_and_resumes_on_another_implementation(tmp_path):
    store = CountingStore(open_store(tmp_path / "s.db"))
    spec = small_spec(**{"training.polish_epochs": None})
    with pytest.raises(Crash):
        run(spec, store, observers=[CrashAfter(1)])
    campaign_id = store.list_campaigns()["id"].iloc[0]
    result = resume(campaign_id, store)
    assert result.info()["status"] == "finished"
    assert len(queries.front(store, campaign_id)) >= 1
    assert store.calls["commit_generation"] == 3 and store.calls["add_candidates"] == 1  # 3 generations, the polish
    assert store.calls["latest_checkpoint"] == 1 and store.calls["pending"] == 1  # the resume read its state
