"""One driver per campaign: who runs it, and whether it is still alive.

A campaign's row names its *driver*, the process running it (``host:pid:token``), and the
driver touches ``updated_at`` every :data:`HEARTBEAT_S`. Another process may take a campaign
over (``connevo resume``) only when it is not running, its driver has not been heard of for
:data:`STALE_AFTER_S`, or its driver was a process of the same host that no longer exists. The take-over is one conditional ``UPDATE``, so of two
processes resuming at once exactly one wins, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from connevo.process_env import SUPERVISOR_PID_ENV
from connevo.results.schema import campaigns_table

HEARTBEAT_S = 10.0
"""How often a running campaign's driver touches its row."""
STALE_AFTER_S = 60.0
"""A ``running`` campaign whose row was not touched for this long is ``stale``: the process that
ran it has most likely died (``connevo resume`` continues it)."""


def new_driver() -> str:
    """A name for this process as a campaign's driver, unique across hosts and restarts:
    ``host:pid:token``, then ``:supervisor-pid`` for a driver that dies with its supervisor."""
    name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    supervisor = os.environ.get(SUPERVISOR_PID_ENV, "")
    return f"{name}:{supervisor}" if supervisor.isdigit() else name


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists, under another user
        return False
    return False


def died_on_this_host(driver: str | None) -> bool:
    """Whether ``driver`` was a process of this host that no longer exists (killed, crashed), or
    whose supervisor no longer does: its campaign may be taken over at once, without waiting for
    it to go stale. A driver of another host, or whose process id is in use again, is not known to
    be dead."""
    if not driver:
        return False
    host, _, rest = driver.partition(":")
    pid_text, _, rest = rest.partition(":")
    _token, _, supervisor = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    # a supervised driver is killed when its supervisor dies (it may take a moment to go)
    return _gone(int(pid_text)) or (supervisor.isdigit() and _gone(int(supervisor)))


def is_stale(status: Any, updated_at: Any, now: datetime) -> bool:
    """Whether a campaign ``running`` was last heard of more than :data:`STALE_AFTER_S` ago."""
    if status != "running" or updated_at is None:
        return False
    if updated_at.tzinfo is None:
        updated_at = updated_at.replace(tzinfo=UTC)
    return bool((now - updated_at).total_seconds() > STALE_AFTER_S)


def claimable(driver: str, now: datetime) -> sa.ColumnElement[bool]:
    """The rows ``driver`` may take: not running, no driver, its own, or heard of too long ago."""
    c = campaigns_table.c
    return sa.or_(c.status != "running", c.driver.is_(None), c.driver == driver,
                  c.updated_at < now - timedelta(seconds=STALE_AFTER_S))


def owned_by(driver: str | None) -> sa.ColumnElement[bool]:
    """The rows a write by ``driver`` may touch: those it drives (None: a writer that is no
    driver, any row). A campaign another driver ended (its driver then empty) is not this one's."""
    return sa.true() if driver is None else campaigns_table.c.driver == driver


def busy_message(row: dict[str, Any], now: datetime) -> str:
    """Why a campaign cannot be taken or written: who runs it and when it was last heard of."""
    if row.get("status") != "running" or row.get("driver") is None:
        return (f"campaign {row['id']} ({row['name']!r}) is no longer this process's to write: another process "
                f"took it over, and it is {row.get('status')} now")
    heard = row.get("updated_at")
    if heard is not None and heard.tzinfo is None:
        heard = heard.replace(tzinfo=UTC)
    ago = f"{(now - heard).total_seconds():.0f} s ago" if heard is not None else "at an unknown time"
    return (f"campaign {row['id']} ({row['name']!r}) is running in another process (driver {row.get('driver')}, "
            f"last heard of {ago}); wait for it to end or stop it. If that process has died, the campaign "
            f"can be resumed once it is stale, {STALE_AFTER_S:.0f} s after its last heartbeat")


__all__ = ["HEARTBEAT_S", "STALE_AFTER_S", "busy_message", "claimable", "died_on_this_host", "is_stale", "new_driver",
           "owned_by"]
