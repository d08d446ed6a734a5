"""The campaign store on real databases: round trips, atomic generations, refusing foreign files."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from connevo.errors import NotFoundError, StoreError
from connevo.results.store import (
    CANDIDATE_COLUMNS,
    DEFAULT_STORE,
    SCHEMA_VERSION,
    Store,
    open_store,
    resolve_store_url,
)
from connevo.search_space.genome import Genome
from tests.support import random_genome

Factory = Callable[..., dict[str, Any]]


# --------------------------------------------------------------------------------------------
# Where the store lives


def test_a_path_becomes_an_absolute_sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve_store_url("runs/a.db") == f"sqlite:///{tmp_path / 'runs' / 'a.db'}"
    assert resolve_store_url(tmp_path / "b.db") == f"sqlite:///{tmp_path / 'b.db'}"


def test_a_url_is_used_as_is() -> None:
    assert resolve_store_url("postgresql://u:p@db/connevo") == "postgresql://u:p@db/connevo"
    assert resolve_store_url("sqlite:////data/x.db") == "sqlite:////data/x.db"


def test_no_argument_means_the_environment_then_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CONNEVO_STORE", raising=False)
    assert resolve_store_url(None) == f"sqlite:///{tmp_path / DEFAULT_STORE}"
    assert resolve_store_url("") == f"sqlite:///{tmp_path / DEFAULT_STORE}"
    monkeypatch.setenv("CONNEVO_STORE", str(tmp_path / "env.db"))
    assert resolve_store_url(None) == f"sqlite:///{tmp_path / 'env.db'}"
    monkeypatch.setenv("CONNEVO_STORE", "postgresql://db/connevo")
    assert resolve_store_url(None) == "postgresql://db/connevo"
    assert resolve_store_url("explicit.db") == f"sqlite:///{tmp_path / 'explicit.db'}"


def test_open_store_without_argument_creates_the_file_named_by_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONNEVO_STORE", str(tmp_path / "from_env.db"))
    with open_store() as store:
        store.create_campaign("env", {}, 0)
    assert (tmp_path / "from_env.db").read_bytes().startswith(b"SQLite format 3\x00")


def test_a_new_file_is_a_wal_database_with_the_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    with open_store(path) as store:
        assert store.url == f"sqlite:///{path}"
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        version = conn.execute("SELECT value FROM connevo_meta WHERE key='schema_version'").fetchone()[0]
    finally:
        conn.close()
    assert {"connevo_meta", "campaigns", "candidates", "generations"} <= tables
    assert version == str(SCHEMA_VERSION)


def test_an_empty_file_becomes_a_store(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    with open_store(path) as store:
        assert store.list_campaigns().empty


def test_reopening_keeps_the_data(tmp_path: Path) -> None:
    path = tmp_path / "again.db"
    with open_store(path) as store:
        cid = store.create_campaign("kept", {"population": 8}, 7)
    with open_store(path) as store:
        assert store.get_campaign(cid)["spec"] == {"population": 8}


def test_a_missing_directory_is_a_store_error_naming_the_path(tmp_path: Path) -> None:
    path = tmp_path / "no" / "such" / "dir" / "x.db"
    with pytest.raises(StoreError, match="no/such/dir"):
        open_store(path)
    assert not (tmp_path / "no").exists()


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.iterdir()}


def test_a_text_file_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("these are my notes, not a database\n" * 20)
    before = _files(tmp_path)
    with pytest.raises(StoreError, match=r"notes\.txt.*not a connevo database \(not an SQLite file\)"):
        open_store(path)
    assert _files(tmp_path) == before


@pytest.mark.parametrize("journal_mode", ["delete", "wal"])
def test_a_foreign_sqlite_database_is_refused_and_left_untouched(tmp_path: Path, journal_mode: str) -> None:
    path = tmp_path / "app.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA journal_mode={journal_mode}")
    conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO users (name) VALUES ('ada')")
    conn.commit()
    conn.close()
    before = _files(tmp_path)
    assert list(before) == ["app.db"]
    with pytest.raises(StoreError, match=r"app\.db.*is an SQLite database but not a connevo store"):
        open_store(path)
    assert _files(tmp_path) == before  # same bytes, and no -wal or -shm file left beside it


@pytest.mark.parametrize("version", ["0", str(SCHEMA_VERSION + 1), "x"])
def test_a_store_of_a_schema_version_this_connevo_cannot_read_is_refused_naming_it(tmp_path: Path, version: str) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE connevo_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute("INSERT INTO connevo_meta VALUES ('schema_version', ?)", (version,))
    conn.execute("CREATE TABLE campaigns (id TEXT PRIMARY KEY)")
    conn.commit()
    conn.close()
    before = _files(tmp_path)
    with pytest.raises(StoreError, match=rf"schema version '?{version}'?"):
        open_store(path)
    assert _files(tmp_path) == before


def test_an_invalid_url_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="nosuchdialect"):
        open_store("nosuchdialect://x/y")


# --------------------------------------------------------------------------------------------
# Campaigns, generations, candidates (every backend)


def test_campaign_generation_and_candidates_round_trip(
    store: Store, make_candidate: Factory, make_summary: Factory, make_genome: Factory
) -> None:
    spec = {"task": "xor", "population": 4, "objectives": ["val_accuracy", "connections"]}
    cid = store.create_campaign("xor-run", spec, seed=42)
    assert len(cid) == 8
    genome = make_genome(hidden=1, weights=True)
    cands = [
        make_candidate(0, val_accuracy=0.75, connections=3, params=5, flops=10, wiring_length=1.5,
                       train_accuracy=0.8, test_accuracy=0.7, train_loss=0.4, val_loss=0.5, test_loss=0.6,
                       depth=2, hidden_nodes=1, epochs=20, seconds=0.25, genome=genome,
                       extra={"modularity": 0.3}),
        make_candidate(1, status="failed", error="Traceback: boom", parents=[f"{cid}-0"]),
    ]
    store.commit_generation(
        cid, 0, cands,
        make_summary([f"{cid}-0", f"{cid}-1"], front_size=1, hypervolume=0.42, best_val_accuracy=0.75),
        {"rng_state": [1, 2, 3], "innovation": 17},
    )

    campaign = store.get_campaign(cid)
    assert campaign["name"] == "xor-run" and campaign["spec"] == spec and campaign["seed"] == 42
    assert campaign["status"] == "running" and campaign["error"] is None
    assert campaign["generations_done"] == 1 and campaign["candidates"] == 2
    assert campaign["created_at"].tzinfo is not None
    assert campaign["updated_at"] >= campaign["created_at"]

    df = store.candidates(cid)
    assert list(df.columns) == list(CANDIDATE_COLUMNS)
    assert df["id"].tolist() == [f"{cid}-0", f"{cid}-1"]
    first = df.iloc[0]
    assert first["genome"] == genome and first["parents"] == [] and first["extra"] == {"modularity": 0.3}
    assert first["val_accuracy"] == 0.75 and first["connections"] == 3 and first["seconds"] == 0.25
    assert first["seed"] == 1000
    second = df.iloc[1]
    assert second["status"] == "failed" and second["error"] == "Traceback: boom"
    assert second["parents"] == [f"{cid}-0"] and np.isnan(second["val_accuracy"])

    one = store.candidate(f"{cid}-0")
    assert one["campaign_id"] == cid and one["genome"] == genome and one["wiring_length"] == 1.5
    assert one["created_at"].tzinfo == UTC

    gens = store.generations(cid)
    assert gens["generation"].tolist() == [0]
    assert gens.iloc[0]["population"] == [f"{cid}-0", f"{cid}-1"]
    assert gens.iloc[0]["hypervolume"] == 0.42 and gens.iloc[0]["evaluations"] == 2
    summaries = store.generations(cid, summaries_only=True)
    assert list(summaries.columns) == [c for c in gens.columns if c not in ("population", "checkpoint")]
    assert summaries.equals(gens[summaries.columns])
    assert store.latest_checkpoint(cid) == {
        "generation": 0,
        "population": [f"{cid}-0", f"{cid}-1"],
        "checkpoint": {"rng_state": [1, 2, 3], "innovation": 17},
    }


def test_latest_checkpoint_is_none_before_the_first_generation_then_the_highest(
    store: Store, make_candidate: Factory, make_summary: Factory
) -> None:
    cid = store.create_campaign("ckpt", {}, 1)
    assert store.latest_checkpoint(cid) is None
    for g in range(3):
        store.commit_generation(cid, g, [make_candidate(g, generation=g)], make_summary([f"{cid}-{g}"]), {"g": g})
    assert store.latest_checkpoint(cid)["checkpoint"] == {"g": 2}
    assert store.get_campaign(cid)["generations_done"] == 3
    assert store.generations(cid)["generation"].tolist() == [0, 1, 2]


def test_a_failing_generation_writes_nothing(store: Store, make_candidate: Factory, make_summary: Factory) -> None:
    cid = store.create_campaign("atomic", {}, 1)
    store.commit_generation(cid, 0, [make_candidate(0)], make_summary([f"{cid}-0"]), {"g": 0})
    before = store.get_campaign(cid)

    # generation 1: the first candidate is new, the second reuses the number (and id) of generation 0
    bad = [make_candidate(1, generation=1), make_candidate(0, generation=1)]
    with pytest.raises(StoreError, match="generation 1"):
        store.commit_generation(cid, 1, bad, make_summary([f"{cid}-1", f"{cid}-0"]), {"g": 1})

    after = store.get_campaign(cid)
    assert after["generations_done"] == 1 and after["updated_at"] == before["updated_at"]
    assert store.candidates(cid)["id"].tolist() == [f"{cid}-0"]
    assert store.generations(cid)["generation"].tolist() == [0]
    assert store.latest_checkpoint(cid)["checkpoint"] == {"g": 0}

    # the store is still usable and the corrected generation goes in
    store.commit_generation(cid, 1, [make_candidate(1, generation=1)], make_summary([f"{cid}-1"]), {"g": 1})
    assert store.get_campaign(cid)["generations_done"] == 2


def test_a_generation_committed_twice_is_refused_whole(
    store: Store, make_candidate: Factory, make_summary: Factory
) -> None:
    cid = store.create_campaign("twice", {}, 1)
    store.commit_generation(cid, 0, [make_candidate(0)], make_summary([f"{cid}-0"]), {})
    with pytest.raises(StoreError):
        store.commit_generation(cid, 0, [make_candidate(1)], make_summary([f"{cid}-1"]), {})
    assert store.get_campaign(cid)["candidates"] == 1


def test_candidates_are_checked_before_anything_is_written(
    store: Store, make_candidate: Factory, make_summary: Factory
) -> None:
    cid = store.create_campaign("checked", {}, 1)
    with pytest.raises(StoreError, match=r"'sparkle'.*extra"):
        store.commit_generation(cid, 0, [make_candidate(0, sparkle=0.4)], make_summary([]), {})
    with pytest.raises(StoreError, match="'exploded'"):
        store.commit_generation(cid, 0, [make_candidate(0, status="exploded")], make_summary([]), {})
    with pytest.raises(StoreError, match="'seed'"):
        store.commit_generation(cid, 0, [make_candidate(0, seed=None)], make_summary([]), {})
    with pytest.raises(StoreError, match="'connections' takes an integer"):
        store.commit_generation(cid, 0, [make_candidate(0, connections=2.5)], make_summary([]), {})
    with pytest.raises(StoreError, match="summary"):
        store.commit_generation(cid, 0, [make_candidate(0)], {"population": []}, {})
    assert store.get_campaign(cid)["candidates"] == 0


def test_numpy_values_and_nan_are_stored_as_plain_values(
    store: Store, make_candidate: Factory, make_summary: Factory
) -> None:
    cid = store.create_campaign("np", {"lr": np.float64(0.1)}, np.int64(3))
    cand = make_candidate(
        np.int64(0),
        val_accuracy=np.float32(0.5),
        test_accuracy=float("nan"),
        connections=np.int64(12),
        flops=np.int64(2**40),
        seed=np.uint64(2**63 - 1),
        genome={"format": "connevo.genome", "nodes": np.arange(3), "bias": np.float64(0.25)},
        extra={"n": np.int32(4)},
    )
    store.commit_generation(
        cid, 0, [cand], make_summary([f"{cid}-0"], hypervolume=np.float64(0.5), front_size=np.int64(1)), {}
    )
    got = store.candidate(f"{cid}-0")
    assert got["val_accuracy"] == 0.5 and got["test_accuracy"] is None
    assert got["connections"] == 12 and got["flops"] == 2**40 and got["seed"] == 2**63 - 1
    assert got["genome"] == {"format": "connevo.genome", "nodes": [0, 1, 2], "bias": 0.25}
    assert got["extra"] == {"n": 4}
    assert store.get_campaign(cid)["spec"] == {"lr": 0.1}


def test_add_candidates_outside_a_generation(store: Store, make_candidate: Factory) -> None:
    cid = store.create_campaign("compress", {}, 1)
    store.add_candidates(cid, [make_candidate(5, generation=3, parents=[f"{cid}-2"])])
    assert store.candidate(f"{cid}-5")["parents"] == [f"{cid}-2"]
    assert store.get_campaign(cid)["generations_done"] == 0
    with pytest.raises(StoreError):
        store.add_candidates(cid, [make_candidate(5)])


def test_status_filter_and_empty_results_keep_the_columns(store: Store, make_candidate: Factory) -> None:
    cid = store.create_campaign("filter", {}, 1)
    empty = store.candidates(cid)
    assert empty.empty and list(empty.columns) == list(CANDIDATE_COLUMNS)
    assert store.generations(cid).empty and "hypervolume" in store.generations(cid).columns
    store.add_candidates(
        cid, [make_candidate(0), make_candidate(1, status="timeout"), make_candidate(2, status="diverged")]
    )
    assert store.candidates(cid, status="timeout")["number"].tolist() == [1]
    assert store.candidates(cid, status="failed").empty


def test_chosen_columns_and_candidates_are_read_as_the_whole_frame_holds_them(
    store: Store, make_candidate: Factory
) -> None:
    cid = store.create_campaign("slim", {}, 1)
    store.add_candidates(cid, [make_candidate(n, val_accuracy=0.5 + n / 100, connections=n + 1,
                                              extra={"fidelity": 0.25} if n % 3 else {})
                               for n in range(7)]
                         + [make_candidate(-1, extra={"polished_from": f"{cid}-2", "note": 1})])
    whole = store.candidates(cid)
    # the keys every front filters on are columns too, filled from extra when written
    assert whole["fidelity"].isna().tolist() == [True] + [n % 3 == 0 for n in range(7)]
    assert whole["polished_from"].iloc[0] == f"{cid}-2" and whole["polished_from"].iloc[1:].isna().all()
    columns = ["val_accuracy", "id", "fidelity", "polished_from", "connections"]
    assert store.candidates(cid, columns=columns).equals(whole[columns])
    chosen = store.candidates(cid, ids=[f"{cid}-5", f"{cid}--1", f"{cid}-2", "missing"])
    assert chosen["number"].tolist() == [-1, 2, 5]  # by number, whatever order they were asked in
    assert chosen.drop(columns="genome").equals(
        whole[whole["number"].isin([-1, 2, 5])].drop(columns="genome").reset_index(drop=True))
    assert store.candidates(cid, ids=[]).empty and list(store.candidates(cid, ids=[]).columns) == list(CANDIDATE_COLUMNS)
    with pytest.raises(StoreError, match=r"unknown candidate column\(s\) \['accuracy'\]"):
        store.candidates(cid, columns=["id", "accuracy"])


def test_genomes_read_with_their_genes_as_columns_build_the_same_genomes(store: Store, make_candidate: Factory) -> None:
    rng = np.random.default_rng(0)
    grown = [random_genome(seed, steps=30) for seed in range(4)]
    grown = [g.replace(table=g.table.replace(weight=rng.normal(size=len(g.table)).astype(np.float32)))
             for g in grown]
    cid = store.create_campaign("columns", {}, 1)
    store.add_candidates(cid, [make_candidate(n, genome=g.to_dict()) for n, g in enumerate(grown)])
    as_columns = store.candidates(cid, genomes="columns")
    assert [Genome.from_dict(d) for d in as_columns["genome"]] == grown
    assert [Genome.from_dict(d) for d in store.candidates(cid, genomes="columns", ids=[f"{cid}-2"])["genome"]] == [grown[2]]
    assert as_columns.drop(columns="genome").equals(store.candidates(cid, genomes=False))
    with pytest.raises(StoreError, match="genomes must be true, false or 'columns', got 'rows'"):
        store.candidates(cid, genomes="rows")


def test_campaigns_are_found_by_id_or_by_their_latest_name(store: Store) -> None:
    first = store.create_campaign("retina", {"v": 1}, 1)
    second = store.create_campaign("retina", {"v": 2}, 2)
    assert store.get_campaign(first)["spec"] == {"v": 1}
    assert store.get_campaign("retina")["id"] == second
    assert store.candidates("retina").empty


def test_unknown_ids_are_not_found_errors(store: Store, make_candidate: Factory, make_summary: Factory) -> None:
    with pytest.raises(NotFoundError, match="no campaign with id or name 'nope'"):
        store.get_campaign("nope")
    with pytest.raises(NotFoundError, match="'nope'"):
        store.candidates("nope")
    with pytest.raises(NotFoundError, match="'nope'"):
        store.generations("nope")
    with pytest.raises(NotFoundError, match="'nope'"):
        store.latest_checkpoint("nope")
    with pytest.raises(NotFoundError, match="no candidate with id 'nope-0'"):
        store.candidate("nope-0")
    with pytest.raises(NotFoundError, match="'nope'"):
        store.set_campaign_status("nope", "finished")
    with pytest.raises(NotFoundError, match="'nope'"):
        store.commit_generation("nope", 0, [make_candidate(0)], make_summary([]), {})


def test_campaign_status_changes(store: Store) -> None:
    cid = store.create_campaign("status", {}, 1)
    store.set_campaign_status(cid, "failed", error="worker lost")
    got = store.get_campaign(cid)
    assert got["status"] == "failed" and got["error"] == "worker lost"
    store.set_campaign_status(cid, "finished")
    assert store.get_campaign(cid)["error"] is None
    with pytest.raises(StoreError, match="'done'"):
        store.set_campaign_status(cid, "done")


def test_list_campaigns_newest_first_with_candidate_counts(store: Store, make_candidate: Factory) -> None:
    assert list(store.list_campaigns().columns) == [
        "id", "name", "status", "generations_done", "candidates", "created_at", "stale",
    ]
    old = store.create_campaign("old", {}, 1)
    new = store.create_campaign("new", {}, 2)
    store.add_candidates(old, [make_candidate(0), make_candidate(1)])
    listed = store.list_campaigns()
    assert listed["id"].tolist() == [new, old]
    assert listed["candidates"].tolist() == [0, 2]
    assert str(listed["created_at"].dt.tz) == "UTC"
    assert listed["stale"].tolist() == [False, False]


def test_a_running_campaign_without_heartbeat_is_stale(store: Store, monkeypatch) -> None:
    import connevo.results.store as store_module

    cid = store.create_campaign("quiet", {}, 1)
    done = store.create_campaign("done", {}, 1)
    store.set_campaign_status(done, "finished")
    assert store.get_campaign(cid)["stale"] is False
    later = store_module._utcnow() + timedelta(seconds=store_module.STALE_AFTER_S + 5)
    monkeypatch.setattr(store_module, "_utcnow", lambda: later)
    assert store.get_campaign(cid)["stale"] is True
    assert store.get_campaign(done)["stale"] is False  # only running campaigns go stale
    assert store.list_campaigns().set_index("id")["stale"].to_dict() == {cid: True, done: False}
    store.heartbeat(cid)  # the driver is alive after all
    assert store.get_campaign(cid)["stale"] is False
    store.heartbeat(done)  # a heartbeat never revives a finished campaign
    assert store.get_campaign(done)["status"] == "finished"


def test_the_store_is_safe_to_share_between_threads(
    store: Store, make_candidate: Factory, make_summary: Factory
) -> None:
    ids = [store.create_campaign(f"t{i}", {}, i) for i in range(4)]
    errors: list[BaseException] = []

    def drive(cid: str) -> None:
        try:
            for g in range(5):
                cands = [make_candidate(g * 3 + k, generation=g) for k in range(3)]
                store.commit_generation(cid, g, cands, make_summary([c["number"] for c in cands]), {"g": g})
                store.candidates(cid)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=drive, args=(cid,)) for cid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.list_campaigns()["candidates"].tolist() == [15, 15, 15, 15]
    assert all(store.get_campaign(cid)["generations_done"] == 5 for cid in ids)


def test_a_store_in_use_by_another_connection_opens_and_sees_its_writes(
    tmp_path: Path, make_candidate: Factory
) -> None:
    path = tmp_path / "shared.db"
    with open_store(path) as writer:
        cid = writer.create_campaign("live", {}, 1)
        assert Path(f"{path}-wal").exists()  # WAL mode, held open
        with open_store(path) as reader:
            writer.add_candidates(cid, [make_candidate(0)])
            assert reader.get_campaign("live")["candidates"] == 1
