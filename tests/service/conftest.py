"""Fixtures of the service tests: a real uvicorn server on a free loopback port, in a thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI


@dataclass
class LiveServer:
    """A running server: its base ``url``, its ``app`` and an httpx ``client`` bound to it."""

    url: str
    app: FastAPI
    client: httpx.Client

    def wait_status(self, campaign_id: str, statuses: tuple[str, ...] = ("finished", "failed", "stopped"),
                    timeout: float = 60.0) -> dict[str, Any]:
        """Poll ``GET /campaigns/{id}`` until its status is one of ``statuses``."""
        deadline = time.monotonic() + timeout
        while True:
            detail = self.client.get(f"/campaigns/{campaign_id}").json()
            if (detail["status"] in statuses and not detail["running_here"]) or time.monotonic() > deadline:
                return detail
            time.sleep(0.1)


@contextmanager
def live_server(app: FastAPI, headers: dict[str, str] | None = None) -> Iterator[LiveServer]:
    """Serve ``app`` with uvicorn on 127.0.0.1:<free port> until the block ends."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    url = f"http://127.0.0.1:{port}"
    client = httpx.Client(base_url=url, headers=headers or {}, timeout=30)
    try:
        yield LiveServer(url, app, client)
    finally:
        client.close()
        server.should_exit = True
        thread.join(30)
        sock.close()


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
