"""Routes of a campaign's results: its Pareto front, its candidates page by page, one candidate.

Genomes are left out of the lists; ``GET /candidates/{id}`` has a candidate's genome. The
largest page a request may ask for is a limit of the app (``ServiceLimits.max_page_size``) and
part of the OpenAPI schema, so :func:`results_router` builds this router for one app.
"""

# No ``from __future__ import annotations``: FastAPI reads the annotations of the candidates route,
# and its page size bound (a local of candidates_endpoint) exists only while that function runs.
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Query
from fastapi.responses import Response

from connevo.results import queries
from connevo.results.pareto import OBJECTIVE_SENSES
from connevo.service.dependencies import FrontCacheDep, PagesDep, StoreDep, campaign_version, requested_objectives
from connevo.service.formatting import jsonable, records
from connevo.service.responses import json_response
from connevo.service.schemas import COMMON_ERRORS, CandidateDetail, CandidatePage, FrontPage, errors, ok

SORTABLE = queries.CANDIDATE_SORT_COLUMNS
"""Columns ``GET /campaigns/{id}/candidates`` sorts by."""


async def campaign_front(
    campaign: str,
    store: StoreDep,
    cache: FrontCacheDep,
    objectives: Annotated[str | None, Query(description="comma-separated, e.g. val_accuracy,connections "
                                                         "(default: the campaign's objectives)")] = None,
    max_connections: Annotated[int | None, Query(ge=0, description="only candidates with at most N connections")] = None,
    include_failed: Annotated[bool, Query(description="also consider failed/diverged/timeout candidates "
                                                      "(those without scores are listed after the front)")] = False,
    include_partial: Annotated[bool, Query(description="also candidates stopped at a short multi-fidelity rung")] = False,
    unpolished: Annotated[bool, Query(description="the front as evolution left it (before the final polish)")] = False,
) -> Response:
    """The Pareto front over the chosen objectives (genomes left out: see ``/candidates/{id}``);
    answered again without reading the candidates until the campaign has new ones.

    On the event loop (no worker thread) while the campaign has not changed: one indexed row
    read, then the kept bytes. A front to read and render goes to a worker thread."""
    info = store.get_campaign(campaign)
    names = requested_objectives(objectives, info["spec"])

    def render(front: pd.DataFrame) -> bytes:
        return bytes(json_response({
            "campaign_id": info["id"],
            "objectives": names,
            "senses": [OBJECTIVE_SENSES[n] for n in names],
            "rank_accuracy_by": queries.spec_accuracy_ranking(info["spec"]),
            "items": records(front, drop=("genome",)),
        }).body)

    body = await cache.aanswer(store, info, names, render, max_connections=max_connections,
                               include_failed=include_failed, include_partial=include_partial, unpolished=unpolished)
    return Response(content=body, media_type="application/json")


def candidates_endpoint(max_page_size: int) -> Callable[..., Awaitable[Response]]:
    """``GET /campaigns/{campaign}/candidates`` for pages of at most ``max_page_size`` candidates."""

    async def campaign_candidates(
        campaign: str,
        store: StoreDep,
        pages: PagesDep,
        status: Annotated[Literal["ok", "failed", "diverged", "timeout"] | None, Query()] = None,
        generation: Annotated[int | None, Query(ge=0)] = None,
        min_val_accuracy: Annotated[float | None, Query(ge=0, le=1)] = None,
        max_connections: Annotated[int | None, Query(ge=0)] = None,
        sort: Annotated[Literal[SORTABLE], Query()] = "number",  # type: ignore[valid-type]
        order: Annotated[Literal["asc", "desc"], Query()] = "asc",
        limit: Annotated[int, Query(ge=1, le=max_page_size)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> Response:
        """Candidates of a campaign, filtered, sorted and paged (genomes left out); a page is
        answered again without reading it until the campaign has new candidates (on the event
        loop, as the front; a page to read goes to a worker thread)."""
        info = store.get_campaign(campaign)
        asked = (status, generation, min_val_accuracy, max_connections, sort, order, limit, offset)

        def render() -> bytes:
            page = store.candidate_page(
                info["id"], status=status, generation=generation, min_val_accuracy=min_val_accuracy,
                max_connections=max_connections, sort=sort, descending=order == "desc", offset=offset, limit=limit,
            )
            return bytes(json_response({
                "total": page.total,
                "limit": limit,
                "offset": offset,
                "items": records(page.items.rename(columns={"id": "candidate_id"}), drop=("genome",)),
            }).body)

        body = await pages.aget((*campaign_version(store, info), asked), render)
        return Response(content=body, media_type="application/json")

    return campaign_candidates


def candidate_detail(candidate_id: str, store: StoreDep) -> dict[str, Any]:
    """One candidate: metrics, parents, topology (genome JSON)."""
    row: dict[str, Any] = jsonable(store.candidate(candidate_id))
    enabled = [c for c in row["genome"].get("connections", []) if c.get("enabled", True)]
    row["topology"] = {
        "nodes": len(row["genome"].get("nodes", [])),
        "enabled_connections": len(enabled),
        "connection_genes": len(row["genome"].get("connections", [])),
    }
    row["plots"] = {"network": f"/candidates/{candidate_id}/plots/network.png"}
    return row


def results_router(max_page_size: int) -> APIRouter:
    """The ``results`` routes, with pages of at most ``max_page_size`` candidates."""
    router = APIRouter(tags=["results"])
    router.add_api_route("/campaigns/{campaign}/front", campaign_front, methods=["GET"], response_model=None,
                         responses={**ok(200, FrontPage, "the Pareto front"), **errors(*COMMON_ERRORS, 404)})
    router.add_api_route("/campaigns/{campaign}/candidates", candidates_endpoint(max_page_size), methods=["GET"],
                         response_model=None,
                         responses={**ok(200, CandidatePage, "one page of candidates"), **errors(*COMMON_ERRORS, 404)})
    router.add_api_route("/candidates/{candidate_id}", candidate_detail, methods=["GET"], response_model=None,
                         responses={**ok(200, CandidateDetail, "the candidate"), **errors(*COMMON_ERRORS, 404)})
    return router


__all__ = ["SORTABLE", "campaign_front", "candidate_detail", "candidates_endpoint", "results_router"]
