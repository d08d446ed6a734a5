"""Schema migrations: a store written by an earlier connevo is upgraded in place when opened.

The schema version lives in ``connevo_meta`` (every store has carried it since version 1).
Opening a store whose version is older runs each later migration in order, and the new
version, in the one transaction that checks it: a migration that fails leaves the store as it
was (SQLite and PostgreSQL both roll DDL back). A store newer than this connevo is refused.

Each migration is a function of an :class:`alembic.operations.Operations` bound to that
transaction: Alembic's DDL, portable across SQLite and PostgreSQL (batch mode where SQLite's
``ALTER TABLE`` falls short). Alembic's script directory and ``alembic_version`` table are not
used: a store is a file users carry between connevo releases, and its version number was
already in ``connevo_meta``, so the migrations ship as code in the package, with no
``alembic.ini`` to find at run time.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import sqlalchemy as sa
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from connevo.results import genome_codec


def _v2_campaign_driver(op: Operations) -> None:
    """Version 2: ``campaigns.driver`` names the process that runs a campaign (one driver per
    campaign, :meth:`results.store.Store.claim`); an index on candidates by (campaign, status)
    for the front and candidate queries."""
    op.add_column("campaigns", sa.Column("driver", sa.String(200), nullable=True))
    op.create_index("ix_candidates_campaign_status", "candidates", ["campaign_id", "status"])


def _json_to_bytes(op: Operations, table: str, column: str) -> None:
    """On PostgreSQL, ``table.column`` from ``json`` to ``bytea`` (its JSON text as UTF-8 bytes,
    which :func:`results.genome_codec.read` reads); SQLite stores bytes in any column."""
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    types = {c["name"]: c["type"] for c in sa.inspect(conn).get_columns(table)}
    if not isinstance(types[column], sa.LargeBinary):
        op.alter_column(table, column, type_=sa.LargeBinary(), postgresql_using=f"convert_to(\"{column}\"::text, 'UTF8')")


def _v3_packed_genomes(op: Operations) -> None:
    """Version 3: genomes stored as the compact bytes of :mod:`results.genome_codec` (about a
    tenth of their JSON). PostgreSQL's ``json`` column becomes ``bytea`` (SQLite stores bytes in
    any column); then every genome is rewritten encoded, in batches, each decoded back and
    compared with its JSON before it is written (nothing is lost, or the upgrade fails and the
    store stays as it was)."""
    conn = op.get_bind()
    _json_to_bytes(op, "candidates", "genome")
    table = sa.table("candidates", sa.column("id", sa.String), sa.column("genome", sa.LargeBinary))
    last = ""
    while True:
        rows = conn.execute(sa.select(table.c.id, table.c.genome).where(table.c.id > last)
                            .order_by(table.c.id).limit(500)).all()
        if not rows:
            return
        updates = []
        for candidate_id, stored in rows:
            document = genome_codec.read(stored)
            if document is None or (isinstance(stored, bytes) and stored.startswith(genome_codec.HEADERS)):
                continue
            packed = genome_codec.encode(document)
            if genome_codec.decode(packed) != document:
                raise ValueError(f"the genome of candidate {candidate_id!r} does not survive its encoding")
            updates.append({"key": candidate_id, "packed": packed})
        if updates:
            conn.execute(sa.update(table).where(table.c.id == sa.bindparam("key"))
                         .values(genome=sa.bindparam("packed")), updates)
        last = rows[-1][0]


def _v4_lifted_extra(op: Operations) -> None:
    """Version 4: ``candidates.fidelity`` and ``candidates.polished_from``, copies of the ``extra``
    keys every front query filters on (so a front reads no candidate's JSON), filled from each
    stored candidate's ``extra``, in batches; ``extra`` itself is left as it was."""
    op.add_column("candidates", sa.Column("fidelity", sa.Float, nullable=True))
    op.add_column("candidates", sa.Column("polished_from", sa.String(64), nullable=True))
    conn = op.get_bind()
    # extra read as text: json.loads takes the NaN that Python's json.dumps may have written
    table = sa.table("candidates", sa.column("id", sa.String), sa.column("extra", sa.Text),
                     sa.column("fidelity", sa.Float), sa.column("polished_from", sa.String))
    text = sa.cast(table.c.extra, sa.Text) if conn.dialect.name == "postgresql" else table.c.extra
    last = ""
    while True:
        rows = conn.execute(sa.select(table.c.id, text).where(table.c.id > last).order_by(table.c.id).limit(1000)).all()
        if not rows:
            return
        updates = []
        for candidate_id, document in rows:
            extra = json.loads(document) if isinstance(document, str) else document
            if not isinstance(extra, dict):
                continue
            fidelity, source = extra.get("fidelity"), extra.get("polished_from")
            if fidelity is not None or source is not None:
                updates.append({"key": candidate_id, "f": None if fidelity is None else float(fidelity),
                                "p": None if source is None else str(source)})
        if updates:
            conn.execute(sa.update(table).where(table.c.id == sa.bindparam("key"))
                         .values(fidelity=sa.bindparam("f"), polished_from=sa.bindparam("p")), updates)
        last = rows[-1][0]


def _v5_packed_pending(op: Operations) -> None:
    """Version 5: a generation's pending evaluations (candidate rows with their trained genomes,
    kept until the generation commits) stored encoded like genomes, not as JSON: on PostgreSQL the
    ``json`` column becomes ``bytea``. Rows already there stay JSON text, which reads as before."""
    _json_to_bytes(op, "pending_evaluations", "row")


def _v6_candidate_counts(op: Operations) -> None:
    """Version 6: ``campaigns.candidate_count``, the campaign's rows in ``candidates``, kept by the
    writes that add them (a status or a page no longer counts every candidate), filled here."""
    op.add_column("campaigns", sa.Column("candidate_count", sa.Integer, nullable=False, server_default="0"))
    op.execute("UPDATE campaigns SET candidate_count = "
               "(SELECT count(*) FROM candidates WHERE candidates.campaign_id = campaigns.id)")


def _v7_accuracy_ranking(op: Operations) -> None:
    """Version 7: ``objectives.rank_accuracy_by`` (:data:`results.pareto.ACCURACY_RANKINGS`). The
    campaigns stored before it ranked accuracies by the accuracy, ties decided by the loss; each
    stored spec that names no ranking is given ``"accuracy"``, so that their fronts, resumes and
    extensions stay as they were, whatever the default."""
    conn = op.get_bind()
    table = sa.table("campaigns", sa.column("id", sa.String), sa.column("spec", sa.JSON))
    updates = []
    for campaign_id, spec in conn.execute(sa.select(table.c.id, table.c.spec)).all():
        if isinstance(spec, str):  # a JSON document stored as a string
            spec = json.loads(spec)
        if not isinstance(spec, dict):
            continue
        objectives = spec.get("objectives", {})
        if isinstance(objectives, dict) and "rank_accuracy_by" not in objectives:
            updates.append({"key": campaign_id, "s": {**spec, "objectives": {**objectives, "rank_accuracy_by": "accuracy"}}})
    if updates:
        conn.execute(sa.update(table).where(table.c.id == sa.bindparam("key")).values(spec=sa.bindparam("s")), updates)


MIGRATIONS: dict[int, Callable[[Operations], None]] = {
    2: _v2_campaign_driver,
    3: _v3_packed_genomes,
    4: _v4_lifted_extra,
    5: _v5_packed_pending,
    6: _v6_candidate_counts,
    7: _v7_accuracy_ranking,
}
"""Version -> the migration that makes a store of version - 1 into one of that version."""

LATEST = max(MIGRATIONS)
"""The schema version this connevo writes."""


def upgrade(conn: Connection, version: int) -> list[int]:
    """Migrate the store behind ``conn`` (in its transaction) from ``version`` to :data:`LATEST`;
    returns the versions applied. The caller writes the new version into ``connevo_meta``."""
    applied = []
    operations = Operations(MigrationContext.configure(conn))
    for target in range(version + 1, LATEST + 1):
        MIGRATIONS[target](operations)
        applied.append(target)
    return applied


__all__ = ["LATEST", "MIGRATIONS", "upgrade"]
