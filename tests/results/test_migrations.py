"""Schema migrations: a store written by the previous release opens, upgraded in place, with
nothing it held lost or changed."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from connevo.errors import StoreError
from connevo.evolution import run
from connevo.results import genome_codec, migrations, queries, sqlite_files
from connevo.results.schema import metadata
from connevo.results.store import SCHEMA_VERSION, open_store
from tests.support import ROOT, small_spec

RELEASE_V1 = ROOT / "tests" / "fixtures" / "store_v1.db"
"""A store written by connevo with schema version 1 (two campaigns, one polished)."""


@pytest.fixture
def v1_store(tmp_path: Path) -> Path:
    path = tmp_path / "v1.db"
    shutil.copy(RELEASE_V1, path)
    return path


def raw(path: Path, query: str) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(query).fetchall()


def version_of(path: Path) -> str:
    return raw(path, "SELECT value FROM connevo_meta WHERE key = 'schema_version'")[0][0]


def layout(engine: sa.Engine) -> dict[str, tuple]:
    """Per table: its columns (name, nullable) and index names."""
    inspector = sa.inspect(engine)
    return {t: (sorted((c["name"], c["nullable"]) for c in inspector.get_columns(t)),
                sorted(i["name"] for i in inspector.get_indexes(t)))
            for t in sorted(inspector.get_table_names())}


def ranking_by_accuracy(spec: dict) -> dict:
    """``spec`` as schema version 7 leaves a spec stored before it: ranking accuracies by the accuracy."""
    return {**spec, "objectives": {**spec.get("objectives", {}), "rank_accuracy_by": "accuracy"}}


def test_the_previous_release_store_is_upgraded_in_place_with_all_its_rows(v1_store: Path) -> None:
    assert version_of(v1_store) == "1"
    campaigns = raw(v1_store, "SELECT id, name, status, generations_done, spec FROM campaigns ORDER BY id")
    candidates = raw(v1_store, "SELECT id, genome, val_accuracy, connections, extra FROM candidates ORDER BY id")
    assert len(campaigns) == 2 and len(candidates) > 20
    with open_store(v1_store) as store:
        assert version_of(v1_store) == str(SCHEMA_VERSION)
        listed = store.list_campaigns().sort_values("id")
        assert list(listed["id"]) == [c[0] for c in campaigns]
        for cid, name, status, done, spec in campaigns:
            info = store.get_campaign(cid)
            assert (info["name"], info["status"], info["generations_done"]) == (name, status, done)
            assert info["spec"] == ranking_by_accuracy(json.loads(spec)) and "candidate_count" not in info
            # counted by the upgrade
            assert info["candidates"] == raw(v1_store, f"SELECT count(*) FROM candidates WHERE campaign_id = '{cid}'")[0][0]
        stored = {}
        for cid, *_ in campaigns:
            frame = store.candidates(cid)
            stored.update({r["id"]: r for r in frame.to_dict("records")})
        assert sorted(stored) == [c[0] for c in candidates]
        for cid, genome, val, connections, extra in candidates:
            row = stored[cid]
            assert row["genome"] == json.loads(genome) and row["connections"] == connections
            assert row["extra"] == json.loads(extra)
            assert row["val_accuracy"] == pytest.approx(val) if val is not None else row["val_accuracy"] != row["val_accuracy"]
        assert len(queries.front(store, "release-v1")) >= 1


def test_the_upgrade_stores_every_genome_encoded_and_the_file_shrinks(v1_store: Path) -> None:
    before = raw(v1_store, "SELECT id, genome FROM candidates ORDER BY id")
    size_before = v1_store.stat().st_size
    with open_store(v1_store) as store:
        assert [store.candidate(cid)["genome"] for cid, _ in before] == [json.loads(g) for _, g in before]
    after = raw(v1_store, "SELECT id, genome FROM candidates ORDER BY id")
    assert [cid for cid, _ in after] == [cid for cid, _ in before]
    assert all(isinstance(g, bytes) and g.startswith(genome_codec.MAGIC) for _, g in after)
    assert sum(len(g) for _, g in after) < 0.5 * sum(len(g) for _, g in before)
    assert v1_store.stat().st_size < size_before  # vacuumed after the upgrade


def test_the_upgrade_lifts_fidelity_and_the_polished_source_out_of_extra(v1_store: Path) -> None:
    extras = {cid: json.loads(extra) for cid, extra in raw(v1_store, "SELECT id, extra FROM candidates")}
    assert any("polished_from" in e for e in extras.values())  # the fixture has a polished campaign
    open_store(v1_store).close()  # upgrades it
    lifted = {cid: (fidelity, source) for cid, fidelity, source in
              raw(v1_store, "SELECT id, fidelity, polished_from FROM candidates")}
    assert lifted == {cid: (e.get("fidelity"), e.get("polished_from")) for cid, e in extras.items()}
    assert {cid: json.loads(extra) for cid, extra in raw(v1_store, "SELECT id, extra FROM candidates")} == extras


def test_campaigns_stored_before_keep_ranking_accuracies_by_the_accuracy(v1_store: Path) -> None:
    specs = {cid: json.loads(spec) for cid, spec in raw(v1_store, "SELECT id, spec FROM campaigns")}
    assert specs and not any("rank_accuracy_by" in spec["objectives"] for spec in specs.values())
    with open_store(v1_store) as store:
        for cid, spec in specs.items():
            assert store.get_campaign(cid)["spec"] == ranking_by_accuracy(spec)
            assert queries.accuracy_ranking(store, cid) == "accuracy"
            by_accuracy = queries.front(store, cid, rank_accuracy_by="accuracy")["candidate_id"].tolist()
            assert queries.front(store, cid)["candidate_id"].tolist() == by_accuracy
        new = run(small_spec(name="after-the-upgrade"), v1_store)
        assert queries.accuracy_ranking(store, new.campaign_id) == "accuracy_and_loss"  # "auto", the default


def test_a_pending_row_kept_as_json_reads_after_the_upgrade_and_new_ones_are_encoded(v1_store: Path) -> None:
    campaign = raw(v1_store, "SELECT id FROM campaigns ORDER BY id")[0][0]
    row = {"number": 999, "generation": 1, "genome": {"nodes": [{"id": i} for i in range(6)]}, "val_loss": 0.25}
    with sqlite3.connect(v1_store) as conn:
        conn.execute("INSERT INTO pending_evaluations VALUES (?, 999, 1, ?, '2026-01-01 00:00:00')",
                     (campaign, json.dumps(row)))
    with open_store(v1_store) as store:
        assert store.pending(campaign) == {999: row}
        store.add_pending(campaign, 1, [{**row, "number": 1000}])
        assert store.pending(campaign) == {999: row, 1000: {**row, "number": 1000}}
    stored = dict(raw(v1_store, "SELECT number, row FROM pending_evaluations"))
    assert isinstance(stored[999], str) and bytes(stored[1000]).startswith(genome_codec.MAGIC)


def test_an_upgraded_store_has_the_schema_of_a_new_one(v1_store: Path, tmp_path: Path) -> None:
    with open_store(v1_store) as upgraded, open_store(tmp_path / "new.db") as new:
        assert layout(upgraded._engine) == layout(new._engine)


def test_an_upgraded_store_takes_new_campaigns(v1_store: Path) -> None:
    result = run(small_spec(name="after-upgrade"), str(v1_store))
    with open_store(v1_store) as store:
        assert set(store.list_campaigns()["name"]) == {"release-v1", "release-v1-iris", "after-upgrade"}
        assert len(store.candidates(result.campaign_id)) == 6 * 3  # population x (generation 0, 1, 2)


def test_a_failing_migration_leaves_the_store_as_it_was(v1_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def half_done(op) -> None:
        op.add_column("campaigns", sa.Column("driver", sa.String(200), nullable=True))
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(migrations.MIGRATIONS, 2, half_done)
    before = raw(v1_store, "SELECT sql FROM sqlite_master ORDER BY name")
    with pytest.raises(StoreError, match="disk on fire"):
        open_store(v1_store)
    assert version_of(v1_store) == "1"
    assert raw(v1_store, "SELECT sql FROM sqlite_master ORDER BY name") == before


def test_an_old_store_it_cannot_write_is_refused_naming_its_version(v1_store: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # the permission check itself is tested for real (as an unprivileged user) in
    # tests/evolution/test_store_faults.py; here the file merely reports itself unwritable
    monkeypatch.setattr(sqlite_files, "unwritable_reason", lambda path: "the file is read-only")
    before = v1_store.read_bytes()
    with pytest.raises(StoreError, match=r"schema version 1; this connevo upgrades it to \d+ .*the file is read-only"):
        open_store(v1_store)
    assert v1_store.read_bytes() == before


def test_a_version_1_postgresql_store_is_upgraded_too(postgres_url: str) -> None:
    engine = sa.create_engine(postgres_url)
    genome = {"format": "connevo.genome", "version": 1,
              "nodes": [{"id": i, "role": "input", "activation": "identity", "bias": 0.0} for i in range(5)]}
    with engine.begin() as conn:  # the release-1 schema: today's without what versions 2 and 3 changed
        metadata.create_all(conn)
        conn.exec_driver_sql("DROP INDEX ix_candidates_campaign_status")
        conn.exec_driver_sql("ALTER TABLE campaigns DROP COLUMN driver, DROP COLUMN candidate_count")
        conn.exec_driver_sql("ALTER TABLE candidates DROP COLUMN fidelity, DROP COLUMN polished_from")
        conn.exec_driver_sql("ALTER TABLE candidates ALTER COLUMN genome TYPE json USING NULL")
        conn.exec_driver_sql("ALTER TABLE pending_evaluations ALTER COLUMN row TYPE json USING NULL")
        conn.exec_driver_sql("INSERT INTO connevo_meta VALUES ('schema_version', '1')")
        conn.exec_driver_sql("INSERT INTO campaigns (id, name, spec, seed, status, generations_done, created_at, "
                             "updated_at) VALUES ('c0ffee00', 'old', '{}', 0, 'finished', 1, now(), now())")
        conn.exec_driver_sql("INSERT INTO candidates (id, campaign_id, number, generation, parents, genome, status, "
                             "seed, extra, created_at) VALUES ('c0ffee00-0', 'c0ffee00', 0, 0, '[]', %s, 'ok', 1, "
                             "'{}', now())", (json.dumps(genome),))
        conn.exec_driver_sql("INSERT INTO pending_evaluations VALUES ('c0ffee00', 7, 1, %s, now())",
                             (json.dumps({"number": 7, "genome": genome, "val_accuracy": 0.5}),))
    run(small_spec(name="on-postgres-v1"), postgres_url)  # opens (upgrades) and writes
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT value FROM connevo_meta").scalar_one() == str(SCHEMA_VERSION)
        columns = {c["name"]: c["type"] for c in sa.inspect(conn).get_columns("candidates")}
        assert "driver" in {c["name"] for c in sa.inspect(conn).get_columns("campaigns")}
        assert isinstance(columns["genome"], sa.LargeBinary)
        stored = conn.exec_driver_sql("SELECT genome FROM candidates WHERE id = 'c0ffee00-0'").scalar_one()
        assert bytes(stored).startswith(genome_codec.MAGIC)
        pending = {c["name"]: c["type"] for c in sa.inspect(conn).get_columns("pending_evaluations")}
        assert isinstance(pending["row"], sa.LargeBinary)
    with open_store(postgres_url) as store:
        assert store.candidate("c0ffee00-0")["genome"] == genome
        assert store.get_campaign("c0ffee00")["candidates"] == 1  # counted by the upgrade
        assert store.get_campaign("c0ffee00")["spec"] == {"objectives": {"rank_accuracy_by": "accuracy"}}
        assert store.pending("c0ffee00") == {7: {"number": 7, "genome": genome, "val_accuracy": 0.5}}
    engine.dispose()
