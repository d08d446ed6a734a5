"""Routes of the ``campaigns`` resource: launch, list, status, stop, resume and extend.

Campaigns launched here run in background threads of the server
(:class:`service.manager.CampaignManager`) and keep running when the client goes away.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse

from connevo.evolution.extension import extended_spec
from connevo.evolution.spec import parse_spec
from connevo.evolution.time_limit import stopped_at_time_limit
from connevo.results import queries
from connevo.results.storage import BaseStore
from connevo.service.dependencies import AnswersDep, DataDirDep, LimitsDep, ManagerDep, StoreDep, campaign_version
from connevo.service.formatting import jsonable, records
from connevo.service.limits import confine_spec
from connevo.service.manager import CampaignManager
from connevo.service.responses import json_response
from connevo.service.schemas import COMMON_ERRORS, CampaignDetail, CampaignSummary, Launched, Stopping, errors, ok

router = APIRouter(tags=["campaigns"])


@router.post("/campaigns", status_code=202, response_model=None,
             responses={**ok(202, Launched, "the campaign runs in the background"), **errors(*COMMON_ERRORS, 429)})
def launch_campaign(
    spec: Annotated[dict[str, Any], Body(description="a campaign spec, as in a spec file (JSON)")],
    manager: ManagerDep,
    limits: LimitsDep,
    data_dir: DataDirDep,
) -> dict[str, Any]:
    """Validate a spec and run the campaign in the background; poll ``GET /campaigns/{id}``."""
    parsed = limits.apply(confine_spec(parse_spec(spec), data_dir))
    campaign_id = manager.launch(parsed)
    return {"id": campaign_id, "status": "running", "url": f"/campaigns/{campaign_id}"}


@router.get("/campaigns", response_model=None,
            responses={**ok(200, list[CampaignSummary], "every campaign, newest first"), **errors(*COMMON_ERRORS)})
def list_campaigns(
    store: StoreDep,
    manager: ManagerDep,
    status: Annotated[Literal["running", "finished", "failed", "stopped"] | None, Query()] = None,
) -> list[dict[str, Any]]:
    """All campaigns, newest first; ``running_here`` tells which run in this server."""
    frame = store.list_campaigns()
    if status is not None:
        frame = frame[frame["status"] == status]
    running = set(manager.running())
    return [{**row, "running_here": row["id"] in running} for row in records(frame)]


@router.get("/campaigns/{campaign}", response_model=None,
            responses={**ok(200, CampaignDetail, "the campaign"), **errors(*COMMON_ERRORS, 404)})
async def campaign_status(campaign: str, store: StoreDep, manager: ManagerDep, answers: AnswersDep) -> JSONResponse:
    """Status, progress and hypervolume history of a campaign (id or name). On the event loop
    (no worker thread) while the campaign has no new generation: one indexed row read and the
    kept history; a history to read goes to a worker thread."""
    info = store.get_campaign(campaign)
    history = await answers.aget(("history", *campaign_version(store, info)), lambda: read_history(store, info))
    return json_response(campaign_detail(info, history, manager))


@router.post("/campaigns/{campaign}/stop", status_code=202, response_model=None,
             responses={**ok(202, Stopping, "the campaign stops after its current chunk"),
                        **errors(*COMMON_ERRORS, 404, 409)})
def stop_campaign(campaign: str, store: StoreDep, manager: ManagerDep) -> dict[str, Any]:
    """Ask a campaign running in this server to stop after its current chunk of candidates."""
    campaign_id = str(store.get_campaign(campaign)["id"])
    manager.stop(campaign_id)
    return {"id": campaign_id, "status": "stopping"}


@router.post("/campaigns/{campaign}/resume", status_code=202, response_model=None,
             responses={**ok(202, Launched, "the campaign runs again in the background"),
                        **errors(*COMMON_ERRORS, 404, 409, 429)})
def resume_campaign(campaign: str, store: StoreDep, manager: ManagerDep, limits: LimitsDep) -> dict[str, Any]:
    """Continue a stopped, failed or interrupted campaign from its last checkpoint."""
    limits.check(parse_spec(store.get_campaign(campaign)["spec"]))  # limits may have been lowered
    campaign_id = manager.resume(campaign)
    return {"id": campaign_id, "status": "running", "url": f"/campaigns/{campaign_id}"}


@router.post("/campaigns/{campaign}/extend", status_code=202, response_model=None,
             responses={**ok(202, Launched, "the campaign runs its new generations in the background"),
                        **errors(*COMMON_ERRORS, 404, 409, 429)})
def extend_campaign(
    campaign: str,
    store: StoreDep,
    manager: ManagerDep,
    limits: LimitsDep,
    generations: Annotated[int, Body(embed=True, description="the campaign's new number of generations")],
) -> dict[str, Any]:
    """Give a campaign (finished or not) more generations, as if it had been launched with them;
    its new front is polished at the end."""
    limits.check(extended_spec(parse_spec(store.get_campaign(campaign)["spec"]), generations))
    campaign_id = manager.resume(campaign, generations=generations)
    return {"id": campaign_id, "status": "running", "url": f"/campaigns/{campaign_id}"}


def read_history(store: BaseStore, info: dict[str, Any]) -> list[dict[str, Any]]:
    """The hypervolume history of the campaign ``info`` as JSON rows."""
    return records(queries.hypervolume_history(store, info["id"]))


def campaign_detail(info: dict[str, Any], history: list[dict[str, Any]], manager: CampaignManager) -> dict[str, Any]:
    """The body of ``GET /campaigns/{campaign}`` (:class:`service.schemas.CampaignDetail`) for the
    campaign ``info`` (:meth:`~results.storage.BaseStore.get_campaign`) and its ``history``
    (:func:`read_history`)."""
    spec = info["spec"]
    last = history[-1:]
    generations_total = int(spec["evolution"]["generations"]) + 1
    detail: dict[str, Any] = jsonable({
        "id": info["id"],
        "name": info["name"],
        "status": info["status"],
        "error": info["error"],
        "seed": info["seed"],
        "created_at": info["created_at"],
        "updated_at": info["updated_at"],
        "stale": bool(info.get("stale", False)),
        "running_here": manager.is_running(str(info["id"])),
        "stopped_at_time_limit": stopped_at_time_limit(info),
        "generation": last[0]["generation"] if last else None,
        "generations_done": info["generations_done"],
        "generations_total": generations_total,
        "candidates_done": info["candidates"],
        "candidates_total": int(spec["evolution"]["population"]) * generations_total,
        "front_size": last[0]["front_size"] if last else 0,
        "hypervolume": last[0]["hypervolume"] if last else None,
        "best_val_accuracy": last[0]["best_val_accuracy"] if last else None,
        "best_objective": queries.campaign_objectives(spec)[0],
        "kind": queries.campaign_kind(spec),
        "objectives": spec["objectives"],
        "progress": manager.progress(str(info["id"])),
        "hypervolume_history": history,
        "spec": spec,
    })
    return detail


__all__ = ["campaign_detail", "read_history", "router"]
