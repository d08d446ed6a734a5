"""Routes of the ``plots`` resource: PNG drawings of a campaign's front and hypervolume and of a
candidate's network (:mod:`results.plots`)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from connevo.errors import SpecError
from connevo.results import plots, queries
from connevo.service.dependencies import StoreDep, requested_objectives
from connevo.service.schemas import PNG

router = APIRouter(tags=["plots"])


@router.get("/campaigns/{campaign}/plots/front.png", response_class=Response, responses=PNG)
def front_plot(
    campaign: str,
    store: StoreDep,
    objectives: Annotated[str | None, Query(description="two objectives, e.g. val_accuracy,params")] = None,
) -> Response:
    """Every candidate and the Pareto front: cost on x, accuracy on y."""
    info = store.get_campaign(campaign)
    names = requested_objectives(objectives, info["spec"], default_two=True)
    if len(names) != 2:
        raise SpecError(f"'objectives': the front plot draws exactly two, got {names!r}")
    candidates = store.candidates(info["id"], genomes=False)
    ranking = queries.spec_accuracy_ranking(info["spec"])
    return png(lambda path: plots.plot_front(candidates, names, path, title=f"campaign {info['id']}",
                                             rank_accuracy_by=ranking))


@router.get("/campaigns/{campaign}/plots/hypervolume.png", response_class=Response, responses=PNG)
def hypervolume_plot(campaign: str, store: StoreDep) -> Response:
    """Hypervolume (and the best of the first maximized objective: validation accuracy, or R^2 for a
    regression) per generation."""
    info = store.get_campaign(campaign)
    generations = store.generations(info["id"])
    best = queries.campaign_objectives(info["spec"])[0]
    return png(lambda path: plots.plot_hypervolume(generations, path, best=best))


@router.get("/candidates/{candidate_id}/plots/network.png", response_class=Response, responses=PNG)
def network_plot(candidate_id: str, store: StoreDep) -> Response:
    """A drawing of the candidate's network: inputs at the bottom (named by the data's features),
    outputs on top (by class)."""
    from connevo.evolution.task import network_names

    row = store.candidate(candidate_id)
    inputs, outputs = network_names(store.get_campaign(row["campaign_id"])["spec"]) or (None, None)
    return png(lambda path: plots.plot_network(row["genome"], path, input_names=inputs, output_names=outputs))


def png(draw: Callable[[Path], Path]) -> Response:
    """Run a plotting function into a temporary file and answer its bytes as image/png."""
    with tempfile.TemporaryDirectory(prefix="connevo-plot-") as tmp:
        path = draw(Path(tmp) / "plot.png")
        content = Path(path).read_bytes()
    return Response(content, media_type="image/png", headers={"Cache-Control": "no-store"})


__all__ = ["png", "router"]
