"""results.queries.candidate_page: candidates filtered, sorted and paged, without HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

from connevo.errors import SpecError
from connevo.results.queries import CANDIDATE_SORT_COLUMNS, candidate_page
from connevo.results.store import Store

Factory = Callable[..., dict[str, Any]]

# number -> (generation, status, val_accuracy, connections)
TABLE: dict[int, tuple[int, str, float | None, int | None]] = {
    0: (0, "ok", 0.60, 8),
    1: (0, "ok", 0.70, 20),
    2: (0, "failed", None, 4),
    3: (1, "ok", 0.90, 40),
    4: (1, "ok", 0.70, 16),  # ties number 1 on val_accuracy
    5: (1, "diverged", 0.65, None),
}


@pytest.fixture
def frame(store: Store, make_candidate: Factory, make_summary: Factory) -> pd.DataFrame:
    """The candidates frame of a stored two-generation campaign (TABLE)."""
    cid = store.create_campaign("paged", {"task": "xor"}, 1)
    for gen in (0, 1):
        numbers = [n for n, row in TABLE.items() if row[0] == gen]
        cands = [make_candidate(n, generation=gen, status=TABLE[n][1], val_accuracy=TABLE[n][2],
                                connections=TABLE[n][3]) for n in numbers]
        store.commit_generation(cid, gen, cands, make_summary([f"{cid}-{n}" for n in numbers]), {})
    return store.candidates(cid)


def numbers(page: pd.DataFrame) -> list[int]:
    return [int(n) for n in page["number"]]


def test_defaults_list_everything_by_number(frame: pd.DataFrame) -> None:
    page = candidate_page(frame)
    assert numbers(page.items) == [0, 1, 2, 3, 4, 5] and page.total == 6
    assert "genome" in page.items.columns and "id" in page.items.columns  # rows as the store has them


def test_filters(frame: pd.DataFrame) -> None:
    assert numbers(candidate_page(frame, status="ok").items) == [0, 1, 3, 4]
    assert numbers(candidate_page(frame, generation=1).items) == [3, 4, 5]
    # candidates without the metric do not match a bound on it
    assert numbers(candidate_page(frame, min_val_accuracy=0.7).items) == [1, 3, 4]
    assert numbers(candidate_page(frame, max_connections=16).items) == [0, 2, 4]
    both = candidate_page(frame, status="ok", generation=0, min_val_accuracy=0.6, max_connections=20)
    assert numbers(both.items) == [0, 1] and both.total == 2
    none = candidate_page(frame, generation=7)
    assert none.items.empty and none.total == 0


def test_sort_ascending_and_descending(frame: pd.DataFrame) -> None:
    # missing values last in both directions; ties by number ascending in both
    assert numbers(candidate_page(frame, sort="val_accuracy").items) == [0, 5, 1, 4, 3, 2]
    assert numbers(candidate_page(frame, sort="val_accuracy", descending=True).items) == [3, 1, 4, 5, 0, 2]
    assert numbers(candidate_page(frame, sort="connections").items) == [2, 0, 4, 1, 3, 5]
    assert numbers(candidate_page(frame, sort="connections", descending=True).items) == [3, 1, 4, 0, 2, 5]
    assert numbers(candidate_page(frame, sort="number", descending=True).items) == [5, 4, 3, 2, 1, 0]
    for column in CANDIDATE_SORT_COLUMNS:  # every advertised column sorts a stored frame
        assert candidate_page(frame, sort=column).total == 6


def test_paging_bounds(frame: pd.DataFrame) -> None:
    first = candidate_page(frame, sort="val_accuracy", descending=True, limit=4)
    rest = candidate_page(frame, sort="val_accuracy", descending=True, offset=4, limit=4)
    assert numbers(first.items) == [3, 1, 4, 5] and numbers(rest.items) == [0, 2]
    assert first.total == rest.total == 6
    assert numbers(candidate_page(frame, offset=5, limit=1).items) == [5]
    past = candidate_page(frame, offset=6)
    assert past.items.empty and past.total == 6
    assert numbers(candidate_page(frame, status="ok", offset=1, limit=2).items) == [1, 3]
    assert candidate_page(frame, status="ok", offset=1, limit=2).total == 4


@pytest.mark.parametrize(("kwargs", "field", "words"), [
    ({"sort": "genome"}, "'sort'", "'genome'"),
    ({"sort": "bogus"}, "'sort'", "choose from number, generation, val_accuracy"),
    ({"offset": -1}, "'offset'", "-1"),
    ({"limit": 0}, "'limit'", "got 0"),
])
def test_bad_arguments_name_the_field(frame: pd.DataFrame, kwargs: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(SpecError) as err:
        candidate_page(frame, **kwargs)
    assert str(err.value).startswith(field) and words in str(err.value)


def test_a_sort_column_the_frame_lacks(frame: pd.DataFrame) -> None:
    with pytest.raises(SpecError, match=r"^'sort': the candidates have no column 'seconds'"):
        candidate_page(frame.drop(columns=["seconds"]), sort="seconds")


def test_the_store_pages_in_sql_exactly_as_the_reference(store: Store, frame: pd.DataFrame) -> None:
    """Store.candidate_page (filters, order and count in the database, only the page read)
    against candidate_page on the whole frame, over every sort column, direction and filter."""
    import itertools

    from connevo.results.storage import BaseStore

    cid = str(frame["campaign_id"].iloc[0])
    reference = frame.drop(columns="genome")
    filters = [{}, {"status": "ok"}, {"generation": 1}, {"min_val_accuracy": 0.66}, {"max_connections": 16},
               {"status": "ok", "generation": 0, "max_connections": 20}]
    combinations = [*itertools.product(CANDIDATE_SORT_COLUMNS, (False, True), filters[:1], ((1, 4),)),
                    *itertools.product(("val_accuracy", "connections"), (False, True), filters,
                                       ((0, 100), (1, 2), (5, 3)))]
    for sort, descending, where, (offset, limit) in combinations:
        options = {"sort": sort, "descending": descending, "offset": offset, "limit": limit, **where}
        expected = candidate_page(reference, **options)
        for page in (store.candidate_page(cid, **options), BaseStore.candidate_page(store, cid, **options)):
            assert page.total == expected.total, options
            pd.testing.assert_frame_equal(page.items.reset_index(drop=True), expected.items.reset_index(drop=True),
                                          obj=str(options), check_dtype=len(expected.items) > 0,
                                          check_index_type=len(expected.items) > 0)
    huge = 2**70  # beyond the database's integers: as the pandas reference answers
    assert store.candidate_page(cid, generation=huge).total == 0
    assert store.candidate_page(cid, max_connections=huge).total == len(reference.dropna(subset=["connections"]))
    assert store.candidate_page(cid, offset=huge).items.empty and store.candidate_page(cid, offset=huge).total == 6
    with pytest.raises(SpecError, match="'sort'"):
        store.candidate_page(cid, sort="genome")
    with pytest.raises(SpecError, match="'limit'"):
        store.candidate_page(cid, limit=0)
