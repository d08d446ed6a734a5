"""Route of a campaign's front scored on held-out rows: ``connevo score`` over HTTP.

The held-out file is read from the server's data folder (``connevo serve --data-dir``, where specs
sent over HTTP read their data too), never from a path outside it. Scoring runs every front network
in torch, so, like an export, it runs the ``connevo score`` command in a child process
(:func:`service.routes_exports.run_connevo`): in one of this server's threads it would hold the
interpreter, and with it every other request and the campaigns this server runs.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from connevo.errors import ConnevoError
from connevo.service.dependencies import DataDirDep, StoreDep
from connevo.service.limits import inside_data_dir
from connevo.service.routes_exports import run_connevo
from connevo.service.schemas import COMMON_ERRORS, HeldOutScores, errors, ok
from connevo.workers.tasks import FILE_EXTENSIONS

router = APIRouter(tags=["results"])


class ScoreRefused(ConnevoError):
    """``connevo score`` refused the held-out data (a column missing, not numeric) or the campaign
    (no trained front): a bad value, 400."""


@router.get("/campaigns/{campaign}/score",
            responses={**ok(200, HeldOutScores, "the front scored on the held-out rows"),
                       **errors(*COMMON_ERRORS, 404, 504)})
async def score_front(
    campaign: str,
    request: Request,
    store: StoreDep,
    data_dir: DataDirDep,
    data: Annotated[str, Query(description="the held-out file (CSV, Parquet or NPZ) in the server's data folder, "
                                           "with the campaign's feature columns and its target")],
    max_connections: Annotated[int | None, Query(ge=0, description="only the front's networks of at most "
                                                                     "this many connections")] = None,
    unpolished: Annotated[bool, Query(description="the front as evolution left it, before the polish")] = False,
) -> dict[str, Any]:
    """Every network of the campaign's front scored on the held-out rows of ``data``, as
    ``connevo score --format json`` answers: each network's held-out accuracy (a regression: R^2),
    whether it is on the held-out front, and the held-out hypervolume of (score, connections)."""
    info = await run_in_threadpool(store.get_campaign, campaign)  # 404 before any process starts
    path = held_out_file(data, data_dir)
    arguments = ["score", info["id"], str(path), "--format", "json"]
    if max_connections is not None:
        arguments += ["--max-connections", str(max_connections)]
    if unpolished:
        arguments.append("--unpolished")
    with tempfile.TemporaryDirectory(prefix="connevo-score-") as folder:
        answer = await run_connevo(request, store.url, arguments, Path(folder), refused=ScoreRefused)
    scored: dict[str, Any] = json.loads(answer)
    return scored


def held_out_file(data: str, data_dir: Path) -> Path:
    """``data`` resolved inside ``data_dir`` (:func:`service.limits.inside_data_dir`), an existing
    data file; otherwise a 400 naming the ``data`` parameter."""
    resolved = inside_data_dir(data, data_dir, "data")
    if resolved.suffix.lower() not in FILE_EXTENSIONS:
        raise ScoreRefused(f"'data': {data!r} is not a {', '.join(FILE_EXTENSIONS)} file")
    if not resolved.is_file():
        raise ScoreRefused(f"'data': {data!r} is not a file in the service's data folder")
    return resolved


__all__ = ["ScoreRefused", "held_out_file", "router"]
