"""Routes of the ``exports`` resource: a trained network, or a campaign's whole Pareto front, as a
zip of what ``connevo export`` writes (the model files, their names' JSON, and for a front its
``front.csv``).

Each export runs the ``connevo export`` command in a child process on this server's store (its
URL passed in the environment, never on a command line others can read): torch's exporters are
Python-heavy, and in one of this server's threads they would hold the interpreter, and with it
every other request and the campaigns this server runs, for up to a second per network. At most
:data:`EXPORTS_AT_ONCE` run at a time; the others wait for a slot.
"""

from __future__ import annotations

import asyncio
import io
import os
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import make_url
from starlette.concurrency import run_in_threadpool

from connevo.errors import ConnevoError
from connevo.evolution.export import FORMAT_SUFFIXES
from connevo.results.sqlite_files import sqlite_file
from connevo.results.store import STORE_ENV
from connevo.service.dependencies import StoreDep
from connevo.service.schemas import ZIP

router = APIRouter(tags=["exports"])

EXPORTS_AT_ONCE = 2
"""Export commands this server runs at the same time."""
EXPORT_TIMEOUT_S = 900.0
"""How long one export may take (a front of a hundred ONNX networks takes about two minutes on 2 cores)."""
Format = Literal["pt2", "onnx", "torchscript", "state-dict"]  # EXPORT_FORMATS, as FastAPI reads a query's values
FormatQuery = Annotated[Format, Query(
    description="pt2: torch.export (torch.export.load(path).module()); onnx: for onnxruntime (the server needs "
                "connevo[onnx]); torchscript: torch.jit; state-dict: weights with the topology JSON")]


class ExportFailed(ConnevoError):
    """``connevo export`` refused the request (an untrained candidate, an empty front)."""

    http_status = 409


class ExportTimedOut(ConnevoError):
    """An export ran past :data:`EXPORT_TIMEOUT_S`."""

    http_status = 504


@router.get("/candidates/{candidate_id}/export", response_class=Response, responses=ZIP)
async def export_network(candidate_id: str, request: Request, store: StoreDep, format: FormatQuery = "pt2",
                         ) -> Response:
    """The trained network, to run without connevo: raw feature rows in, class logits out (a
    regression: the prediction), as ``connevo export`` writes it, in a zip with its names."""
    await run_in_threadpool(store.candidate, candidate_id)  # 404 before any process starts
    arguments = ["export", candidate_id, "-o", f"{candidate_id}{FORMAT_SUFFIXES[format]}", "--format", format]
    return await _zipped(request, store.url, arguments, f"{candidate_id}-{format}")


@router.get("/campaigns/{campaign}/front/export", response_class=Response, responses=ZIP)
async def export_front(
    campaign: str,
    request: Request,
    store: StoreDep,
    format: FormatQuery = "pt2",
    max_connections: Annotated[int | None, Query(ge=0, description="only the front's networks of at most "
                                                                     "this many connections")] = None,
) -> Response:
    """Every network of the campaign's front (as ``GET /campaigns/{campaign}/front`` lists it), and
    ``front.csv`` listing them with their scores, as ``connevo export --front`` writes them, in
    one zip."""
    info = await run_in_threadpool(store.get_campaign, campaign)  # 404 before any process starts
    arguments = ["export", info["id"], "--front", "-o", "front", "--format", format]
    if max_connections is not None:
        arguments += ["--max-connections", str(max_connections)]
    return await _zipped(request, store.url, arguments, f"{info['id']}-front-{format}")


async def _zipped(request: Request, store_url: str, arguments: list[str], name: str) -> Response:
    """Run ``connevo <arguments>`` in an empty folder on the store; answer what it wrote as
    ``<name>.zip``."""
    with tempfile.TemporaryDirectory(prefix="connevo-export-") as folder:
        await run_connevo(request, store_url, arguments, Path(folder))
        content = await run_in_threadpool(_zip_folder, Path(folder))
    return Response(content, media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}.zip"', "Cache-Control": "no-store"})


async def run_connevo(request: Request, store_url: str, arguments: list[str], folder: Path,
                      refused: type[ConnevoError] = ExportFailed) -> bytes:
    """Run ``connevo <arguments>`` in ``folder`` on the store, in a child process (one of the
    server's :data:`EXPORTS_AT_ONCE` slots); its standard output. A refusal (``connevo: error:``)
    raises ``refused`` with its message."""
    url = make_url(store_url)
    if url.get_backend_name() == "sqlite" and sqlite_file(url) is None:
        raise refused("this server's store lives in its memory, which a child process cannot read; "
                      "serve a store file or database to export or score networks")
    async with _slots(request):
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "connevo.service.cli", *arguments, cwd=folder,
            env={**os.environ, STORE_ENV: store_url}, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        try:
            stdout, stderr = await asyncio.wait_for(child.communicate(), EXPORT_TIMEOUT_S)
        except TimeoutError:
            await _end(child)
            raise ExportTimedOut(f"connevo {arguments[0]} ran past {EXPORT_TIMEOUT_S:g} s and was stopped") from None
        except asyncio.CancelledError:  # the server is shutting down
            await _end(child)
            raise
    if child.returncode != 0:
        lines = stderr.decode(errors="replace").strip().splitlines()
        last = lines[-1] if lines else f"exit status {child.returncode}"
        if last.startswith("connevo: error: "):
            raise refused(last.removeprefix("connevo: error: "))
        raise RuntimeError(f"connevo {arguments[0]} failed: {last}")
    return stdout


async def _end(child: asyncio.subprocess.Process) -> None:
    if child.returncode is None:
        child.kill()
        await child.wait()


def _slots(request: Request) -> Any:
    """The server's semaphore of export slots, made on first use (inside its event loop)."""
    slots = getattr(request.app.state, "export_slots", None)
    if slots is None:
        slots = request.app.state.export_slots = asyncio.Semaphore(EXPORTS_AT_ONCE)
    return slots


def _zip_folder(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


__all__ = ["EXPORTS_AT_ONCE", "ExportFailed", "ExportTimedOut", "router", "run_connevo"]
