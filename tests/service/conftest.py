"""Fixtures of the service tests: a real uvicorn server on a free loopback port, in a thread."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI

from tests.support import LiveServer, live_server


@pytest.fixture
def make_server() -> Iterator[Any]:
    """``make_server(app)`` starts a live server for ``app``; all are shut down after the test."""
    stack: list[Any] = []

    def start(app: FastAPI, headers: dict[str, str] | None = None) -> LiveServer:
        ctx = live_server(app, headers)
        stack.append(ctx)
        return ctx.__enter__()

    yield start
    while stack:
        stack.pop().__exit__(None, None, None)
