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
