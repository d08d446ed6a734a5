"""Shared fixtures: one local Ray instance per test session, small specs, tmp stores."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT, small_spec  # noqa: F401  (re-exported for fixtures)


def pytest_configure(config) -> None:
    """schemathesis' pytest plugin (loaded in every session) swaps Hypothesis' example printer,
    which garbles the failing examples other property tests report: put the original back."""
    import hypothesis.core
    import hypothesis.vendor.pretty

    hypothesis.core.RepresentationPrinter = hypothesis.vendor.pretty.RepresentationPrinter
    # No test times anything: with the suite in two processes on two cores, generating an example
    # may be slow, and that is not a failure.
    hypothesis.settings.register_profile(
        "connevo", deadline=None, suppress_health_check=[hypothesis.HealthCheck.too_slow])
    hypothesis.settings.load_profile("connevo")


def pytest_collection_modifyitems(session, config, items) -> None:
    """The modules holding end-to-end (``slow``) tests first, every module's tests in their order:
    split over processes (``pytest -n 2``), the long tests start first and the short ones fill in
    at the end, rather than one process running the last long test while the other waits."""
    modules_with_slow = {item.nodeid.split("::")[0] for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.nodeid.split("::")[0] not in modules_with_slow)  # stable


@pytest.fixture(scope="session")
def ray_session():
    """One local Ray for the whole session (starting Ray costs seconds)."""
    import ray

    os.environ.setdefault("RAY_DISABLE_USAGE_STATS", "1")
    if not ray.is_initialized():
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "connevo.db"


@pytest.fixture
def postgres_url():
    """A fresh, empty PostgreSQL database on the server named by $CONNEVO_TEST_POSTGRES_URL.

    .ci/run starts a real server and sets the variable; without it the test is skipped with
    the reason (a developer machine without PostgreSQL)."""
    import uuid

    import sqlalchemy as sa

    base = os.environ.get("CONNEVO_TEST_POSTGRES_URL")
    if not base:
        reason = "CONNEVO_TEST_POSTGRES_URL is not set (.ci/run starts a PostgreSQL server and sets it)"
        if os.environ.get("CI"):
            pytest.fail(reason)  # in CI the PostgreSQL tests must run, never skip silently
        pytest.skip(reason)
    name = f"connevo_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    yield str(sa.make_url(base).set(database=name).render_as_string(hide_password=False))
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.dispose()


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Any:
    """``cli(*args, store=path)`` runs a ``connevo`` command in this process (quicker than a
    subprocess, for the commands whose process boundary is not what a test is about): a
    ``CompletedProcess`` with its exit status and what it printed."""
    import subprocess

    from connevo.service.cli import main

    def run(*args: str, store: Any = None) -> subprocess.CompletedProcess:
        argv = [*args, *(["--store", str(store)] if store is not None else [])]
        capsys.readouterr()
        try:
            status = main(argv)
        except SystemExit as exc:  # argparse's usage errors
            status = exc.code if isinstance(exc.code, int) else 2
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(["connevo", *argv], status, out, err)

    return run
