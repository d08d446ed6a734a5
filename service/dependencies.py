"""What the routers take from the application (FastAPI dependencies) and from a query string.

``create_app`` (:mod:`service.http`) keeps the store, the campaign manager, the limits and the
data folder in ``app.state``; a route asks for them with the annotated types below, e.g.
``store: StoreDep``. A test can swap one with ``app.dependency_overrides[get_store]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request

from connevo.errors import SpecError
from connevo.results.pareto import OBJECTIVE_SENSES
from connevo.results.queries import campaign_objectives
from connevo.results.storage import BaseStore
from connevo.service.front_cache import FrontCache
from connevo.service.limits import ServiceLimits
from connevo.service.manager import CampaignManager
from connevo.service.once_cache import OnceCache


async def get_store(request: Request) -> BaseStore:
    """The store the application serves."""
    store: BaseStore = request.app.state.store
    return store


async def get_manager(request: Request) -> CampaignManager:
    """The manager of the campaigns that run in this server."""
    manager: CampaignManager = request.app.state.manager
    return manager


async def get_limits(request: Request) -> ServiceLimits:
    """What one request may ask of the service."""
    limits: ServiceLimits = request.app.state.limits
    return limits


async def get_front_cache(request: Request) -> FrontCache:
    """The fronts this application answered, until their campaigns change."""
    cache: FrontCache = request.app.state.front_cache
    return cache


async def get_answers(request: Request) -> OnceCache[Any]:
    """Parts of answers about a campaign, kept per version of the campaign (:func:`campaign_version`)."""
    answers: OnceCache[Any] = request.app.state.answers
    return answers


async def get_pages(request: Request) -> OnceCache[bytes]:
    """Candidate pages as answered, kept per version of their campaign, bounded in bytes."""
    pages: OnceCache[bytes] = request.app.state.pages
    return pages


def campaign_version(store: BaseStore, info: dict[str, Any]) -> tuple[Any, ...]:
    """What versions the answers about the campaign ``info`` (a
    :meth:`~results.storage.BaseStore.get_campaign` row): candidate and generation rows are only
    ever added, so their counts change whenever an answer built from them would."""
    return (store.url, info["id"], int(info["candidates"]), int(info["generations_done"]))


async def get_data_dir(request: Request) -> Path:
    """The folder that specs may read data files from (resolved)."""
    folder: Path = request.app.state.data_dir
    return folder


StoreDep = Annotated[BaseStore, Depends(get_store)]
ManagerDep = Annotated[CampaignManager, Depends(get_manager)]
LimitsDep = Annotated[ServiceLimits, Depends(get_limits)]
DataDirDep = Annotated[Path, Depends(get_data_dir)]
FrontCacheDep = Annotated[FrontCache, Depends(get_front_cache)]
AnswersDep = Annotated[OnceCache[Any], Depends(get_answers)]
PagesDep = Annotated[OnceCache[bytes], Depends(get_pages)]


def requested_objectives(text: str | None, spec: dict[str, Any], *, default_two: bool = False) -> list[str]:
    """Objectives from a comma-separated query value, else the campaign's own
    (:func:`results.queries.campaign_objectives`; with ``default_two`` its first two)."""
    if text is None or not text.strip():
        return campaign_objectives(spec, first_two=default_two)
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise SpecError(f"'objectives': name at least one objective, got {text!r}")
    unknown = [n for n in names if n not in OBJECTIVE_SENSES]
    if unknown:
        raise SpecError(f"'objectives': unknown objective(s) {unknown!r}; choose from {', '.join(OBJECTIVE_SENSES)}")
    if len(set(names)) != len(names):
        raise SpecError(f"'objectives': duplicates in {names!r}")
    return names


__all__ = ["AnswersDep", "DataDirDep", "FrontCacheDep", "LimitsDep", "ManagerDep", "PagesDep", "StoreDep",
           "campaign_version", "get_answers", "get_data_dir", "get_front_cache", "get_pages",
           "get_limits", "get_manager", "get_store", "requested_objectives"]
