"""A store that cannot take more data stops the campaign with a clear reason; what was stored
before stays readable."""

import pytest
import sqlalchemy as sa

from connevo.errors import StoreError
from evolution import Campaign, parse_spec
from results.store import open_store
from tests.conftest import small_spec


def fill_up_after(store, extra_pages: int) -> None:
    """Cap the SQLite file a few pages above its current size: the next big write is 'full'."""
    with store._engine.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()

    def cap(dbapi_conn, _record):
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages + extra_pages}")

    sa.event.listen(store._engine, "connect", cap)
    store._engine.dispose()


def test_a_full_disk_fails_the_campaign_with_the_reason_and_keeps_earlier_data(tmp_path):
    store = open_store(str(tmp_path / "full.db"))
    spec = parse_spec(small_spec(**{"task.dataset": "digits", "evolution.population": 6, "evolution.generations": 6,
                                    "training.epochs": 1, "search_space.initial_density": [1.0, 1.0]}))
    campaign = Campaign(spec, store)
    campaign.create()
    fill_up_after(store, extra_pages=400)
    with pytest.raises(StoreError, match="full"):
        campaign.run()
    info = store.get_campaign(campaign.id)
    assert info["status"] == "failed" and "full" in info["error"]
    done = info["generations_done"]
    assert 0 < done < 7
    # every committed generation is whole and readable
    candidates = store.candidates(campaign.id)
    assert sorted(candidates["generation"].unique()) == list(range(done))
    assert len(candidates) == 6 * done
    assert len(store.generations(campaign.id)) == done
