"""How the HTTP API answers errors: always JSON ``{"detail": "<field and problem>"}``.

Every :class:`~connevo.errors.ConnevoError` becomes its ``http_status``; request validation
errors (bad query parameters, a body that is not JSON) become 422; 404/405 for unknown paths
and methods keep their status (a 405 names every method the path allows); a bug becomes a 500,
logged with its traceback, whose message is not sent.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from connevo.errors import ConnevoError

log = logging.getLogger("connevo.service.http")  # the API's log, whichever module answers


def error_response(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """An error answer in the documented shape (:class:`service.schemas.ErrorBody`)."""
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def describe_validation(exc: RequestValidationError) -> str:
    """Every problem of a request that does not validate, ``'<location>': <problem> (got <value>)``."""
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


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error of ``app`` as JSON (see the module's description)."""

    @app.exception_handler(ConnevoError)
    async def _connevo_error(request: Request, exc: ConnevoError) -> JSONResponse:
        return error_response(exc.http_status, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, describe_validation(exc))

    @app.exception_handler(Exception)
    async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
        # A bug, not a client error: logged with its traceback, answered in the documented shape
        # without the exception's message (it may hold paths or data).
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return error_response(500, f"internal error ({type(exc).__name__}); the server log has the details")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names the methods of the first route whose path matched; a path served by
            # several routes (GET and POST /campaigns) allows the methods of all of them.
            headers["Allow"] = ", ".join(allowed_methods(app, route_path(request))) or headers.get("Allow", "")
        if exc.status_code in (204, 304) or exc.status_code < 200:
            return Response(status_code=exc.status_code, headers=headers)
        return error_response(exc.status_code, str(exc.detail), headers)


def route_path(request: Request) -> str:
    """The request's path as the routes see it: without the ``root_path`` it is served under."""
    path: str = request.scope.get("path", "")
    root: str = request.scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """The methods of every route whose path template matches ``path``, sorted."""
    methods: set[str] = set()
    for route in _every_route(app):
        regex = getattr(route, "path_regex", None)
        if getattr(route, "methods", None) and regex is not None and regex.match(path):
            methods |= set(route.methods)
    return sorted(methods)


def _every_route(app: FastAPI) -> list[Any]:
    """The routes of ``app``, those of its included routers too."""
    try:
        from fastapi.routing import iter_route_contexts  # type: ignore[attr-defined, unused-ignore]
    except ImportError:  # a FastAPI that copies an included router's routes into the app's
        return list(app.router.routes)
    return list(iter_route_contexts(app.router.routes))


__all__ = ["allowed_methods", "describe_validation", "error_response", "install_error_handlers", "route_path"]
