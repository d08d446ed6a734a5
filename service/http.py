"""The HTTP API (FastAPI) and the live web dashboard, a thin layer over evolution and results.

``create_app()`` builds the application; ``connevo serve`` runs it with uvicorn (see
:func:`serve`). Campaigns launched over HTTP run in background threads of the server
(:class:`service.manager.CampaignManager`) and keep running when the client goes away.

Errors: every :class:`~connevo.errors.ConnevoError` becomes its ``http_status`` with the JSON
body ``{"detail": "<field and problem>"}``; request validation errors (bad query parameters,
a body that is not JSON) become 422 with the same shape, and so do 404/405 for unknown paths
and methods and a 500 for a bug (logged; its message is not sent). The OpenAPI schema documents
every status code each operation answers and the JSON schema of every body
(tests/service/test_http_fuzz.py fuzzes the API against it).

Security: with a token configured, every request but the dashboard's static shell (``/`` and
``/static/...``, which hold no data) must carry ``Authorization: Bearer <token>``. Data files
named by a spec must lie inside the data folder. :class:`ServiceLimits` bounds what one
request may ask for.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from fastapi import Body, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from connevo.errors import ConnevoError, SpecError
from evolution.spec import FILE_SUFFIXES, CampaignSpec, parse_spec
from results import plots, queries
from results.pareto import OBJECTIVE_SENSES
from results.storage import BaseStore
from results.store import open_store
from service.formatting import jsonable, records
from service.manager import CampaignManager

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
TOKEN_ENV = "CONNEVO_TOKEN"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765

SORTABLE = ("number", "generation", "val_accuracy", "test_accuracy", "train_accuracy", "val_loss",
            "connections", "params", "flops", "wiring_length", "depth", "hidden_nodes", "epochs", "seconds")
"""Columns ``GET /campaigns/{id}/candidates`` sorts by."""

_PUBLIC_PATHS = ("/", "/favicon.ico")
_PUBLIC_PREFIX = "/static/"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True)
class ServiceLimits:
    """What one client may ask of the service; a request beyond a limit gets a 4xx."""

    max_population: int = 1000
    max_generations: int = 1000
    max_epochs: int = 10_000
    max_workers: int = 64
    max_samples: int = 1_000_000
    """Rows a generated data set (``task.samples``) may have: the request generates them."""
    max_hidden_nodes: int = 1024
    max_connections: int = 1_000_000
    """A spec without ``search_space.max_connections`` gets this one (stored with its spec)."""
    max_body_bytes: int = 1_000_000
    max_concurrent: int = 4
    max_page_size: int = 1000

    def apply(self, spec: CampaignSpec) -> CampaignSpec:
        """``spec`` checked (:meth:`check`), with this service's connection cap where it has none."""
        self.check(spec)
        if spec.search_space.max_connections is None:
            space = spec.search_space.model_copy(update={"max_connections": self.max_connections})
            spec = spec.model_copy(update={"search_space": space})
        return spec

    def check(self, spec: CampaignSpec) -> None:
        """Raise :class:`SpecError` naming the first field of ``spec`` beyond a limit."""
        for field, value, limit in (
            ("search_space.max_hidden_nodes", spec.search_space.max_hidden_nodes, self.max_hidden_nodes),
            ("search_space.max_connections", spec.search_space.max_connections or 0, self.max_connections),
            ("evolution.population", spec.evolution.population, self.max_population),
            ("evolution.generations", spec.evolution.generations, self.max_generations),
            ("training.epochs", spec.training.epochs, self.max_epochs),
            ("workers.count", spec.workers.count, self.max_workers),
            ("task.samples", spec.task.samples or 0, self.max_samples),
        ):
            if value > limit:
                raise SpecError(f"'{field}': {value} is more than this service allows ({limit})")



# ----- documented answers ------------------------------------------------------------------
# The models below describe the JSON the routes answer in the OpenAPI schema (the routes build
# plain dicts; tests/service/test_http_fuzz.py checks every answer against these schemas).
CampaignStatus = Literal["running", "finished", "failed", "stopped"]
CandidateStatus = Literal["ok", "failed", "diverged", "timeout"]


class ErrorBody(BaseModel):
    """The body of every error answer (4xx and 5xx)."""

    detail: str = Field(description="what is wrong: the field or object, the problem and the bad value")


class Launched(BaseModel):
    id: str
    status: Literal["running"]
    url: str = Field(description="poll this path for the campaign's status")


class Stopping(BaseModel):
    id: str
    status: Literal["stopping"]


class CampaignSummary(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    name: str
    status: CampaignStatus
    generations_done: int
    candidates: int
    created_at: str = Field(description="ISO 8601, UTC")
    stale: bool = Field(description="running, but its driver has not been heard of for a minute (it died)")
    running_here: bool = Field(description="the campaign runs in a thread of this server")


class GenerationPoint(BaseModel):
    model_config = ConfigDict(extra="allow")

    generation: int
    hypervolume: float | None
    front_size: int
    best_val_accuracy: float | None
    evaluations: int
    cumulative_evaluations: int


class Progress(BaseModel):
    generation: int | None
    generation_size: int
    evaluated_in_generation: int
    evaluated_since_start: int


class CampaignDetail(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    name: str
    status: CampaignStatus
    error: str | None
    seed: int
    created_at: str
    updated_at: str
    stale: bool = Field(description="running, but its driver has not been heard of for a minute (it died)")
    running_here: bool
    generation: int | None = Field(description="the last finished generation, null before the first")
    generations_done: int
    generations_total: int
    candidates_done: int
    candidates_total: int
    front_size: int
    hypervolume: float | None
    best_val_accuracy: float | None
    objectives: dict[str, Any]
    progress: Progress | None = Field(description="live counters while the campaign runs here, else null")
    hypervolume_history: list[GenerationPoint]
    spec: dict[str, Any]


class _CandidateMetrics(BaseModel):
    """The stored columns of a candidate but its id and genome; metrics are null where not measured."""

    model_config = ConfigDict(extra="allow")

    campaign_id: str
    number: int
    generation: int
    parents: list[str]
    status: CandidateStatus
    error: str | None
    seed: int
    train_accuracy: float | None
    val_accuracy: float | None
    test_accuracy: float | None
    train_loss: float | None
    val_loss: float | None
    test_loss: float | None
    connections: int | None
    params: int | None
    flops: int | None
    depth: int | None
    hidden_nodes: int | None
    wiring_length: float | None
    modularity: float | None
    train_val_gap: float | None
    train_test_gap: float | None
    epochs: int | None
    seconds: float | None
    extra: dict[str, Any]
    created_at: str


class CandidateRow(_CandidateMetrics):
    candidate_id: str


class FrontItem(CandidateRow):
    duplicates: int = Field(description="other candidates with the same objective values (not listed)")


class FrontPage(BaseModel):
    campaign_id: str
    objectives: list[str]
    senses: list[Literal["max", "min"]]
    items: list[FrontItem]


class CandidatePage(BaseModel):
    total: int = Field(description="candidates that match the filters, over all pages")
    limit: int
    offset: int
    items: list[CandidateRow]


class Topology(BaseModel):
    nodes: int
    enabled_connections: int
    connection_genes: int


class CandidateDetail(_CandidateMetrics):
    id: str
    genome: dict[str, Any] = Field(description="the genome JSON (format connevo.genome)")
    topology: Topology
    plots: dict[str, str]


_ERROR_DESCRIPTIONS = {
    400: "a bad value: a spec field, an objective name, a data file (or an invalid Content-Length)",
    401: "missing or wrong bearer token",
    404: "no campaign or candidate with that id (or name)",
    409: "the request conflicts with the campaign's state",
    413: "request body larger than limits.max_body_bytes",
    422: "a query parameter, path parameter or body that does not validate",
    429: "as many campaigns run already as limits.max_concurrent allows",
    500: "the store failed",
}


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for error answers: every one a JSON :class:`ErrorBody`."""
    return {code: {"model": ErrorBody, "description": _ERROR_DESCRIPTIONS[code]} for code in codes}


def _ok(code: int, model: Any, description: str) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": model, "description": description}}


_COMMON_ERRORS = (400, 413, 422, 500)
"""What any route may answer: a bad value (any ConnevoError), a body too large, a request that
does not validate, the store failing."""

def _error(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def _describe_validation(exc: RequestValidationError) -> str:
    problems = []
    for error in exc.errors():
        if error.get("type") == "json_invalid":
            reason = (error.get("ctx") or {}).get("error", "JSON decode error")
            problems.append(f"'body': not valid JSON ({reason})")
            continue
        location = ".".join(str(p) for p in error.get("loc", ())) or "request"
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        got = f" (got {error['input']!r})" if "input" in error and location.startswith(("query", "path")) else ""
        problems.append(f"'{location}': {message}{got}")
    return "; ".join(problems)


# ----- security and limits -----------------------------------------------------------------
class _Guard:
    """ASGI middleware: bearer token check and request body size limit.

    The body is read (up to the limit) before the application sees it, so a chunked upload
    without ``Content-Length`` is bounded too.
    """

    def __init__(self, app: ASGIApp, *, token: str | None, max_body_bytes: int) -> None:
        self.app = app
        self.token = token.encode() if token else None
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if self.token is not None and path not in _PUBLIC_PATHS and not path.startswith(_PUBLIC_PREFIX):
            if not self._authorized(scope):
                await _error(401, "missing or wrong bearer token: send 'Authorization: Bearer <token>'",
                             {"WWW-Authenticate": "Bearer"})(scope, receive, send)
                return
        declared = _header(scope, b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                await _error(400, f"invalid Content-Length header {declared!r}")(scope, receive, send)
                return
            if size > self.max_body_bytes:
                await self._too_large(scope, receive, send)
                return
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # disconnect: let the application see it
            chunks.append(message.get("body", b""))
            total += len(chunks[-1])
            if total > self.max_body_bytes:
                await self._too_large(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _authorized(self, scope: Scope) -> bool:
        assert self.token is not None
        header = _header(scope, b"authorization") or ""
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(given.strip().encode(), self.token)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        await _error(413, f"request body larger than this service allows ({self.max_body_bytes} bytes, "
                          "limits.max_body_bytes)")(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def confine_spec(spec: CampaignSpec, data_dir: Path) -> CampaignSpec:
    """The spec with its data file resolved inside ``data_dir`` and ``base_dir`` set to it.

    A ``task.dataset`` that names a file (``.csv``, ``.npz``, ``.parquet``) must resolve, after
    following ``..`` and symbolic links, to a path inside ``data_dir``; otherwise
    :class:`SpecError` naming ``task.dataset``. Remote specs may not pick a Ray cluster.
    """
    data_dir = data_dir.resolve()
    changes: dict[str, Any] = {"base_dir": str(data_dir)}
    dataset = spec.task.dataset
    if dataset.lower().endswith(FILE_SUFFIXES):
        try:
            raw = Path(dataset).expanduser()  # as the loader reads it
            resolved = (raw if raw.is_absolute() else data_dir / raw).resolve()
        except (OSError, RuntimeError, ValueError) as exc:
            raise SpecError(f"'task.dataset': {dataset!r} is not a usable path ({exc})") from None
        if not resolved.is_relative_to(data_dir):
            raise SpecError(
                f"'task.dataset': {dataset!r} lies outside the service's data folder; "
                "name a file inside it (relative paths are read from there)"
            )
        changes["task.dataset"] = str(resolved)
    if spec.workers.ray_address:
        raise SpecError(
            f"'workers.ray_address': {spec.workers.ray_address!r} cannot be chosen over HTTP; "
            "the service decides where campaigns run"
        )
    return spec.with_overrides(**changes)


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
        manager.shutdown()
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
    app.state.token_required = token is not None
    app.add_middleware(_Guard, token=token, max_body_bytes=limits.max_body_bytes)

    @app.exception_handler(ConnevoError)
    async def _connevo_error(request: Request, exc: ConnevoError) -> JSONResponse:
        return _error(exc.http_status, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, _describe_validation(exc))

    @app.exception_handler(Exception)
    async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
        # A bug, not a client error: logged with its traceback, answered in the documented shape
        # without the exception's message (it may hold paths or data).
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return _error(500, f"internal error ({type(exc).__name__}); the server log has the details")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names the methods of the first route whose path matched; a path served by
            # several routes (GET and POST /campaigns) allows the methods of all of them.
            headers["Allow"] = ", ".join(_allowed_methods(app, _route_path(request))) or headers.get("Allow", "")
        if exc.status_code in (204, 304) or exc.status_code < 200:
            return Response(status_code=exc.status_code, headers=headers)
        return _error(exc.status_code, str(exc.detail), headers)

    # ----- campaigns -----------------------------------------------------------------------
    @app.post("/campaigns", status_code=202, tags=["campaigns"], response_model=None,
              responses={**_ok(202, Launched, "the campaign runs in the background"), **_errors(*_COMMON_ERRORS, 429)})
    def launch_campaign(
        spec: dict[str, Any] = Body(..., description="a campaign spec, as in a spec file (JSON)"),
    ) -> dict[str, Any]:
        """Validate a spec and run the campaign in the background; poll ``GET /campaigns/{id}``."""
        parsed = limits.apply(confine_spec(parse_spec(spec), folder))
        campaign_id = manager.launch(parsed)
        return {"id": campaign_id, "status": "running", "url": f"/campaigns/{campaign_id}"}

    @app.get("/campaigns", tags=["campaigns"], response_model=None,
             responses={**_ok(200, list[CampaignSummary], "every campaign, newest first"), **_errors(*_COMMON_ERRORS)})
    def list_campaigns(
        status: Literal["running", "finished", "failed", "stopped"] | None = Query(None),
    ) -> list[dict[str, Any]]:
        """All campaigns, newest first; ``running_here`` tells which run in this server."""
        frame = the_store.list_campaigns()
        if status is not None:
            frame = frame[frame["status"] == status]
        running = set(manager.running())
        return [{**row, "running_here": row["id"] in running} for row in records(frame)]

    @app.get("/campaigns/{campaign}", tags=["campaigns"], response_model=None,
             responses={**_ok(200, CampaignDetail, "the campaign"), **_errors(*_COMMON_ERRORS, 404)})
    def campaign_status(campaign: str) -> dict[str, Any]:
        """Status, progress and hypervolume history of a campaign (id or name)."""
        return _campaign_detail(the_store, manager, campaign)

    @app.post("/campaigns/{campaign}/stop", status_code=202, tags=["campaigns"], response_model=None,
              responses={**_ok(202, Stopping, "the campaign stops after its current chunk"),
                         **_errors(*_COMMON_ERRORS, 404, 409)})
    def stop_campaign(campaign: str) -> dict[str, Any]:
        """Ask a campaign running in this server to stop after its current chunk of candidates."""
        campaign_id = str(the_store.get_campaign(campaign)["id"])
        manager.stop(campaign_id)
        return {"id": campaign_id, "status": "stopping"}

    @app.post("/campaigns/{campaign}/resume", status_code=202, tags=["campaigns"], response_model=None,
              responses={**_ok(202, Launched, "the campaign runs again in the background"),
                         **_errors(*_COMMON_ERRORS, 404, 409, 429)})
    def resume_campaign(campaign: str) -> dict[str, Any]:
        """Continue a stopped, failed or interrupted campaign from its last checkpoint."""
        limits.check(parse_spec(the_store.get_campaign(campaign)["spec"]))  # limits may have been lowered
        campaign_id = manager.resume(campaign)
        return {"id": campaign_id, "status": "running", "url": f"/campaigns/{campaign_id}"}

    @app.get("/campaigns/{campaign}/front", tags=["results"], response_model=None,
             responses={**_ok(200, FrontPage, "the Pareto front"), **_errors(*_COMMON_ERRORS, 404)})
    def campaign_front(
        campaign: str,
        objectives: str | None = Query(None, description="comma-separated, e.g. val_accuracy,connections "
                                                          "(default: the campaign's objectives)"),
        max_connections: int | None = Query(None, ge=0, description="only candidates with at most N connections"),
        include_failed: bool = Query(False, description="also consider failed/diverged/timeout candidates "
                                                         "(those without scores are listed after the front)"),
        include_partial: bool = Query(False, description="also candidates stopped at a short multi-fidelity rung"),
        unpolished: bool = Query(False, description="the front as evolution left it (before the final polish)"),
    ) -> dict[str, Any]:
        """The Pareto front over the chosen objectives (genomes left out: see ``/candidates/{id}``)."""
        info = the_store.get_campaign(campaign)
        names = _objectives(objectives, info["spec"])
        front = queries.front(the_store, info["id"], names, max_connections=max_connections,
                              include_failed=include_failed, include_partial=include_partial,
                              unpolished=unpolished)
        return {
            "campaign_id": info["id"],
            "objectives": names,
            "senses": [OBJECTIVE_SENSES[n] for n in names],
            "items": records(front, drop=("genome",)),
        }

    @app.get("/campaigns/{campaign}/candidates", tags=["results"], response_model=None,
             responses={**_ok(200, CandidatePage, "one page of candidates"), **_errors(*_COMMON_ERRORS, 404)})
    def campaign_candidates(
        campaign: str,
        status: Literal["ok", "failed", "diverged", "timeout"] | None = Query(None),
        generation: int | None = Query(None, ge=0),
        min_val_accuracy: float | None = Query(None, ge=0, le=1),
        max_connections: int | None = Query(None, ge=0),
        sort: Literal[SORTABLE] = Query("number"),  # type: ignore[valid-type]
        order: Literal["asc", "desc"] = Query("asc"),
        limit: int = Query(100, ge=1, le=limits.max_page_size),
        offset: int = Query(0, ge=0),
    ) -> dict[str, Any]:
        """Candidates of a campaign, filtered, sorted and paged (genomes left out)."""
        frame = the_store.candidates(campaign, status=status)
        if generation is not None:
            frame = frame[frame["generation"] == generation]
        if min_val_accuracy is not None:
            frame = frame[frame["val_accuracy"].ge(min_val_accuracy).fillna(False).astype(bool)]
        if max_connections is not None:
            frame = frame[frame["connections"].le(max_connections).fillna(False).astype(bool)]
        keys = [sort] if sort == "number" else [sort, "number"]
        frame = frame.sort_values(keys, ascending=[order == "asc", True][: len(keys)], kind="mergesort",
                                  na_position="last")
        page = frame.iloc[offset: offset + limit]
        return {
            "total": len(frame),
            "limit": limit,
            "offset": offset,
            "items": records(page.rename(columns={"id": "candidate_id"}), drop=("genome",)),
        }

    @app.get("/candidates/{candidate_id}", tags=["results"], response_model=None,
             responses={**_ok(200, CandidateDetail, "the candidate"), **_errors(*_COMMON_ERRORS, 404)})
    def candidate_detail(candidate_id: str) -> dict[str, Any]:
        """One candidate: metrics, parents, topology (genome JSON)."""
        row = jsonable(the_store.candidate(candidate_id))
        enabled = [c for c in row["genome"].get("connections", []) if c.get("enabled", True)]
        row["topology"] = {
            "nodes": len(row["genome"].get("nodes", [])),
            "enabled_connections": len(enabled),
            "connection_genes": len(row["genome"].get("connections", [])),
        }
        row["plots"] = {"network": f"/candidates/{candidate_id}/plots/network.png"}
        return row

    # ----- plots ---------------------------------------------------------------------------
    png = {200: {"content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
                 "description": "a PNG image"}, **_errors(*_COMMON_ERRORS, 404)}

    @app.get("/campaigns/{campaign}/plots/front.png", response_class=Response, responses=png, tags=["plots"])
    def front_plot(
        campaign: str,
        objectives: str | None = Query(None, description="two objectives, e.g. val_accuracy,params"),
    ) -> Response:
        """Every candidate and the Pareto front: cost on x, accuracy on y."""
        info = the_store.get_campaign(campaign)
        names = _objectives(objectives, info["spec"], default_two=True)
        if len(names) != 2:
            raise SpecError(f"'objectives': the front plot draws exactly two, got {names!r}")
        candidates = the_store.candidates(info["id"])
        return _png(lambda path: plots.plot_front(candidates, names, path, title=f"campaign {info['id']}"))

    @app.get("/campaigns/{campaign}/plots/hypervolume.png", response_class=Response, responses=png,
             tags=["plots"])
    def hypervolume_plot(campaign: str) -> Response:
        """Hypervolume (and best validation accuracy) per generation."""
        generations = the_store.generations(campaign)
        return _png(lambda path: plots.plot_hypervolume(generations, path))

    @app.get("/candidates/{candidate_id}/plots/network.png", response_class=Response, responses=png,
             tags=["plots"])
    def network_plot(candidate_id: str) -> Response:
        """A drawing of the candidate's network: inputs at the bottom, outputs on top."""
        genome = the_store.candidate(candidate_id)["genome"]
        return _png(lambda path: plots.plot_network(genome, path))

    # ----- dashboard -----------------------------------------------------------------------
    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _route_path(request: Request) -> str:
    """The request's path as the routes see it: without the ``root_path`` it is served under."""
    path, root = request.scope.get("path", ""), request.scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


def _allowed_methods(app: FastAPI, path: str) -> list[str]:
    """The methods of every route whose path template matches ``path``, sorted."""
    methods: set[str] = set()
    for route in app.router.routes:
        regex = getattr(route, "path_regex", None)
        if getattr(route, "methods", None) and regex is not None and regex.match(path):
            methods |= set(route.methods)  # type: ignore[attr-defined]
    return sorted(methods)


def _campaign_detail(store: BaseStore, manager: CampaignManager, ref: str) -> dict[str, Any]:
    info = store.get_campaign(ref)
    spec = info["spec"]
    history = queries.hypervolume_history(store, info["id"])
    last = records(history.tail(1))
    generations_total = int(spec["evolution"]["generations"]) + 1
    return jsonable({
        "id": info["id"],
        "name": info["name"],
        "status": info["status"],
        "error": info["error"],
        "seed": info["seed"],
        "created_at": info["created_at"],
        "updated_at": info["updated_at"],
        "stale": bool(info.get("stale", False)),
        "running_here": manager.is_running(str(info["id"])),
        "generation": last[0]["generation"] if last else None,
        "generations_done": info["generations_done"],
        "generations_total": generations_total,
        "candidates_done": info["candidates"],
        "candidates_total": int(spec["evolution"]["population"]) * generations_total,
        "front_size": last[0]["front_size"] if last else 0,
        "hypervolume": last[0]["hypervolume"] if last else None,
        "best_val_accuracy": last[0]["best_val_accuracy"] if last else None,
        "objectives": spec["objectives"],
        "progress": manager.progress(str(info["id"])),
        "hypervolume_history": records(history),
        "spec": spec,
    })


def _objectives(text: str | None, spec: dict[str, Any], *, default_two: bool = False) -> list[str]:
    """Objectives from a comma-separated query value, else the campaign's own."""
    if text is None or not text.strip():
        maximize, minimize = spec["objectives"]["maximize"], spec["objectives"]["minimize"]
        return [maximize[0], minimize[0]] if default_two else [*maximize, *minimize]
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise SpecError(f"'objectives': name at least one objective, got {text!r}")
    unknown = [n for n in names if n not in OBJECTIVE_SENSES]
    if unknown:
        raise SpecError(f"'objectives': unknown objective(s) {unknown!r}; choose from {', '.join(OBJECTIVE_SENSES)}")
    if len(set(names)) != len(names):
        raise SpecError(f"'objectives': duplicates in {names!r}")
    return names


def _png(draw: Callable[[Path], Path]) -> Response:
    """Run a plotting function into a temporary file and answer its bytes as image/png."""
    with tempfile.TemporaryDirectory(prefix="connevo-plot-") as tmp:
        path = draw(Path(tmp) / "plot.png")
        content = Path(path).read_bytes()
    return Response(content, media_type="image/png", headers={"Cache-Control": "no-store"})


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, with the campaign spec's JSON schema as the body of ``POST /campaigns``."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
    spec_schema = CampaignSpec.model_json_schema(ref_template="#/components/schemas/{model}")
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(spec_schema.pop("$defs", {}))
    components["CampaignSpec"] = spec_schema
    body = schema["paths"]["/campaigns"]["post"]["requestBody"]
    body["content"]["application/json"]["schema"] = {"$ref": "#/components/schemas/CampaignSpec"}
    if getattr(app.state, "token_required", False):
        # _Guard answers 401 to every data request without the token.
        schema["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        schema["security"] = [{"bearer": []}]
        unauthorized = {"description": _ERROR_DESCRIPTIONS[401],
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
        for operations in schema["paths"].values():
            for operation in operations.values():
                operation["responses"].setdefault("401", unauthorized)
    app.openapi_schema = schema
    return schema


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
    :class:`ConnevoError` (the CLI exits with status 2).
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
    print(f"connevo serving on http://{host}:{port}/ (store {app.state.store!r}, data folder "
          f"{str(app.state.data_dir)!r}, token {'required' if token else 'off'})", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")


__all__ = ["ServiceLimits", "confine_spec", "create_app", "is_loopback", "jsonable", "records", "serve"]
