"""A small HTTP client of the connevo service (httpx), used by ``connevo ... --server URL``.

``$CONNEVO_TOKEN``, when set, is sent as ``Authorization: Bearer <token>``. A 4xx answer
becomes the matching :class:`~connevo.errors.ConnevoError` with the server's ``detail``; an
unreachable server a :class:`ConnevoError` that names the URL.
"""

from __future__ import annotations

import os
from typing import Any

import httpx

from connevo.errors import ConnevoError, NotFoundError, SpecError

TOKEN_ENV = "CONNEVO_TOKEN"
SERVER_ENV = "CONNEVO_SERVER"


class ServiceError(ConnevoError):
    """The service answered with an error that is not about the request's content."""


class Client:
    """Calls the connevo HTTP API at ``base_url`` (e.g. ``http://127.0.0.1:8765``)."""

    def __init__(self, base_url: str, *, token: str | None = None, timeout: float = 30.0) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ConnevoError(f"--server must be an http:// or https:// URL, got {base_url!r}")
        token = token if token is not None else (os.environ.get(TOKEN_ENV) or None)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ConnevoError(f"cannot reach the connevo service at {self.base_url}: {exc}") from None
        if response.is_success:
            return response.json()
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        message = f"{detail} (HTTP {response.status_code} from {self.base_url})"
        if response.status_code == 404:
            raise NotFoundError(message)
        if response.status_code in (400, 422):
            raise SpecError(message)
        raise ServiceError(message)

    # ----- endpoints ---------------------------------------------------------------------
    def launch(self, spec: dict[str, Any]) -> dict[str, Any]:
        """``POST /campaigns``: ``{"id", "status", "url"}``."""
        return self._call("POST", "/campaigns", json=spec)

    def list_campaigns(self) -> list[dict[str, Any]]:
        """``GET /campaigns``."""
        return self._call("GET", "/campaigns")

    def campaign(self, id_or_name: str) -> dict[str, Any]:
        """``GET /campaigns/{id}``: status, progress, hypervolume history, spec."""
        return self._call("GET", f"/campaigns/{_quote(id_or_name)}")

    def stop(self, id_or_name: str) -> dict[str, Any]:
        """``POST /campaigns/{id}/stop``."""
        return self._call("POST", f"/campaigns/{_quote(id_or_name)}/stop")

    def resume(self, id_or_name: str) -> dict[str, Any]:
        """``POST /campaigns/{id}/resume``."""
        return self._call("POST", f"/campaigns/{_quote(id_or_name)}/resume")

    def extend(self, id_or_name: str, generations: int) -> dict[str, Any]:
        """``POST /campaigns/{id}/extend`` with ``{"generations": N}``."""
        return self._call("POST", f"/campaigns/{_quote(id_or_name)}/extend", json={"generations": generations})

    def front(self, id_or_name: str, objectives: list[str] | None = None, *, max_connections: int | None = None,
              include_failed: bool = False, include_partial: bool = False,
              unpolished: bool = False) -> dict[str, Any]:
        """``GET /campaigns/{id}/front``: ``{"objectives", "senses", "rank_accuracy_by", "items"}``."""
        params: dict[str, Any] = {"include_failed": include_failed, "include_partial": include_partial,
                                  "unpolished": unpolished}
        if objectives:
            params["objectives"] = ",".join(objectives)
        if max_connections is not None:
            params["max_connections"] = max_connections
        return self._call("GET", f"/campaigns/{_quote(id_or_name)}/front", params=params)

    def score(self, id_or_name: str, data: str, *, max_connections: int | None = None,
              unpolished: bool = False) -> dict[str, Any]:
        """``GET /campaigns/{id}/score``: the front scored on the held-out file ``data`` of the
        server's data folder, as ``connevo score --format json`` answers."""
        params: dict[str, Any] = {"data": data, "unpolished": unpolished}
        if max_connections is not None:
            params["max_connections"] = max_connections
        return self._call("GET", f"/campaigns/{_quote(id_or_name)}/score", params=params)

    def candidates(self, id_or_name: str, **params: Any) -> dict[str, Any]:
        """``GET /campaigns/{id}/candidates`` with filters: ``{"total", "items", ...}``."""
        return self._call("GET", f"/campaigns/{_quote(id_or_name)}/candidates",
                          params={k: v for k, v in params.items() if v is not None})

    def candidate(self, candidate_id: str) -> dict[str, Any]:
        """``GET /candidates/{id}``: metrics, parents, genome."""
        return self._call("GET", f"/candidates/{_quote(candidate_id)}")


def _quote(part: str) -> str:
    from urllib.parse import quote

    return quote(part, safe="")


__all__ = ["Client", "SERVER_ENV", "ServiceError", "TOKEN_ENV"]
