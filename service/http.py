"""The HTTP API (FastAPI) and the live web dashboard, a thin layer over evolution and results.

``create_app()`` builds the application; ``connevo serve`` runs it with uvicorn (see
:func:`serve`). Campaigns launched over HTTP run in background threads of the server
(:class:`service.manager.CampaignManager`) and keep running when the client goes away.

The application is assembled from one router per resource, each route taking the store, the
campaign manager and the limits as FastAPI dependencies (:mod:`service.dependencies`, read from
``app.state``):

- :mod:`service.routes_campaigns`: launch, list, status, stop, resume;
- :mod:`service.routes_results`: the Pareto front, candidates page by page, one candidate;
- :mod:`service.routes_plots`: PNG plots; :mod:`service.routes_exports`: trained networks and fronts as zips;
  :mod:`service.routes_scores`: a front scored on held-out rows
  (`connevo export` in a child process); :mod:`service.routes_dashboard`: the dashboard.

Errors: every :class:`~connevo.errors.ConnevoError` becomes its ``http_status`` with the JSON
body ``{"detail": "<field and problem>"}``; request validation errors (bad query parameters,
a body that is not JSON) become 422 with the same shape, and so do 404/405 for unknown paths
and methods and a 500 for a bug (logged; its message is not sent): :mod:`service.errors`. The
OpenAPI schema documents every status code each operation answers and the JSON schema of every
body (:mod:`service.schemas`; tests/service/test_http_fuzz.py fuzzes the API against it).

Security: with a token configured, every request but the dashboard's static shell (``/`` and
``/static/...``, which hold no data) must carry ``Authorization: Bearer <token>``
(:mod:`service.guard`). Data files named by a spec must lie inside the data folder.
:class:`ServiceLimits` bounds what one request may ask for (:mod:`service.limits`).
"""

from __future__ import annotations

import ipaddress
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from connevo.collector import freeze_long_lived_objects
from connevo.errors import ConnevoError
from connevo.results.storage import BaseStore
from connevo.results.store import open_store
from connevo.service import routes_campaigns, routes_dashboard, routes_exports, routes_plots, routes_scores
from connevo.service.errors import install_error_handlers
from connevo.service.formatting import jsonable, records
from connevo.service.front_cache import FrontCache
from connevo.service.guard import Guard
from connevo.service.limits import ServiceLimits, confine_spec
from connevo.service.manager import CampaignManager
from connevo.service.once_cache import OnceCache
from connevo.service.routes_dashboard import STATIC_DIR
from connevo.service.routes_results import SORTABLE, results_router
from connevo.service.schemas import openapi_schema

TOKEN_ENV = "CONNEVO_TOKEN"
PAGE_CACHE_BYTES = 64 * 2**20
"""Candidate pages the server keeps as answered, in bytes in all (a page of 1,000 is about 2 MB)."""
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


# ----- the application ---------------------------------------------------------------------
def create_app(
    store: str | BaseStore | None = None,
    *,
    token: str | None = None,
    data_dir: str | Path | None = None,
    limits: ServiceLimits | None = None,
) -> FastAPI:
    """The connevo HTTP API and dashboard over the store at ``store`` (path, URL or Store).

    ``token``: require ``Authorization: Bearer <token>`` on every data request. ``data_dir``:
    the folder that specs may read data files from (default: the working directory).
    """
    limits = limits or ServiceLimits()
    owns_store = not isinstance(store, BaseStore)
    the_store: BaseStore = store if isinstance(store, BaseStore) else open_store(store)
    folder = Path(data_dir if data_dir is not None else os.getcwd()).resolve()
    manager = CampaignManager(the_store, max_concurrent=limits.max_concurrent)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        for campaign_id in manager.shutdown():  # Ctrl-C, SIGTERM: the campaigns running here stop, resumable
            if the_store.get_campaign(campaign_id)["status"] == "stopped":
                print(f"connevo: the server stopped campaign {campaign_id}; `connevo resume {campaign_id}` "
                      f"(or POST /campaigns/{campaign_id}/resume) continues it", file=sys.stderr, flush=True)
        if owns_store:
            the_store.close()

    app = FastAPI(
        title="connevo",
        version=_version(),
        summary="Evolve neural-network connection topologies; query the accuracy/cost Pareto front.",
        lifespan=lifespan,
    )
    app.state.store = the_store
    app.state.manager = manager
    app.state.limits = limits
    app.state.data_dir = folder
    app.state.front_cache = FrontCache()
    app.state.answers = OnceCache(256)  # status histories
    app.state.pages = OnceCache(256, weigh=len, max_weight=PAGE_CACHE_BYTES)
    app.state.token_required = token is not None
    app.add_middleware(Guard, token=token, max_body_bytes=limits.max_body_bytes)
    install_error_handlers(app)
    app.include_router(routes_campaigns.router)
    app.include_router(results_router(limits.max_page_size))
    app.include_router(routes_plots.router)
    app.include_router(routes_exports.router)
    app.include_router(routes_scores.router)
    app.include_router(routes_dashboard.router)
    routes_dashboard.mount_static(app)
    app.openapi = lambda: openapi_schema(app)  # type: ignore[method-assign]
    return app


def _version() -> str:
    from connevo import __version__

    return __version__


# ----- running the server ------------------------------------------------------------------
def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    store: str | None = None,
    data_dir: str | Path | None = None,
    limits: ServiceLimits | None = None,
) -> None:
    """Run the service with uvicorn until interrupted (``connevo serve``).

    The token comes from ``$CONNEVO_TOKEN``; binding to a non-loopback host without one raises
    :class:`ConnevoError` (the CLI exits with status 2). Before it answers, the objects alive in
    the process are frozen out of the garbage collector's scans (:mod:`connevo.collector`): the
    process is the server's.
    """
    import uvicorn

    token = os.environ.get(TOKEN_ENV) or None
    if not is_loopback(host) and token is None:
        raise ConnevoError(
            f"refusing to serve on non-loopback host {host!r} without a token: set {TOKEN_ENV} "
            "(clients then send 'Authorization: Bearer <token>'), or bind to 127.0.0.1"
        )
    if data_dir is not None and not Path(data_dir).is_dir():
        raise ConnevoError(f"--data-dir {str(data_dir)!r} is not a directory")
    app = create_app(store, token=token, data_dir=data_dir, limits=limits)
    freeze_long_lived_objects()
    print(f"connevo serving on http://{host}:{port}/ (store {app.state.store!r}, data folder "
          f"{str(app.state.data_dir)!r}, token {'required' if token else 'off'})", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")


__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "SORTABLE", "STATIC_DIR", "TOKEN_ENV", "ServiceLimits", "confine_spec",
           "create_app", "is_loopback", "jsonable", "records", "serve"]
