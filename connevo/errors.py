"""The one error root of connevo, and the exit codes the CLI maps them to.

Every error that a user can cause (a bad spec, a bad data file, an unknown id, a store that is
not a connevo database) is a :class:`ConnevoError`. Its message names the field or object and
the bad value, so the CLI can print it as it is.
"""

from __future__ import annotations


class ConnevoError(Exception):
    """Base class of every error connevo raises on purpose."""

    exit_code: int = 2
    http_status: int = 400


class SpecError(ConnevoError):
    """A campaign spec is invalid: unknown key, wrong type, value out of range."""


class DataError(ConnevoError):
    """A data set cannot be used: missing file or column, non-numeric features, too few rows."""


class GenomeError(ConnevoError):
    """A genome is invalid: a cycle, duplicate ids, a dangling reference."""


class StoreError(ConnevoError):
    """The store cannot be opened or written: not a connevo database, wrong schema version."""

    http_status = 500


class CampaignBusyError(ConnevoError):
    """A campaign another process is running (one driver per campaign)."""

    http_status = 409


class NotFoundError(ConnevoError):
    """An unknown campaign or candidate id."""

    http_status = 404


__all__ = ["CampaignBusyError", "ConnevoError", "SpecError", "DataError", "GenomeError", "StoreError",
           "NotFoundError"]
