"""The HTTP app as routers: the store injected as a dependency, per-app page size, the methods a
path allows across routers, and the operation ids clients generated from the schema rely on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from connevo.results.store import open_store
from connevo.service.dependencies import get_store
from connevo.service.http import ServiceLimits, create_app

OPERATION_IDS = {
    ("get", "/campaigns"): "list_campaigns_campaigns_get",
    ("post", "/campaigns"): "launch_campaign_campaigns_post",
    ("get", "/campaigns/{campaign}"): "campaign_status_campaigns__campaign__get",
    ("post", "/campaigns/{campaign}/stop"): "stop_campaign_campaigns__campaign__stop_post",
    ("post", "/campaigns/{campaign}/resume"): "resume_campaign_campaigns__campaign__resume_post",
    ("post", "/campaigns/{campaign}/extend"): "extend_campaign_campaigns__campaign__extend_post",
    ("get", "/campaigns/{campaign}/front"): "campaign_front_campaigns__campaign__front_get",
    ("get", "/campaigns/{campaign}/candidates"): "campaign_candidates_campaigns__campaign__candidates_get",
    ("get", "/candidates/{candidate_id}"): "candidate_detail_candidates__candidate_id__get",
    ("get", "/campaigns/{campaign}/plots/front.png"): "front_plot_campaigns__campaign__plots_front_png_get",
    ("get", "/campaigns/{campaign}/plots/hypervolume.png"):
        "hypervolume_plot_campaigns__campaign__plots_hypervolume_png_get",
    ("get", "/candidates/{candidate_id}/plots/network.png"):
        "network_plot_candidates__candidate_id__plots_network_png_get",
    ("get", "/candidates/{candidate_id}/export"): "export_network_candidates__candidate_id__export_get",
    ("get", "/campaigns/{campaign}/front/export"): "export_front_campaigns__campaign__front_export_get",
    ("get", "/campaigns/{campaign}/score"): "score_front_campaigns__campaign__score_get",
}


def test_operation_ids_and_paths(tmp_path: Path) -> None:
    app = create_app(str(tmp_path / "s.db"))
    try:
        paths = app.openapi()["paths"]
        found = {(method, path): op["operationId"] for path, ops in paths.items() for method, op in ops.items()}
        assert found == OPERATION_IDS
        assert list(paths) == list(dict.fromkeys(path for _, path in OPERATION_IDS))  # the order of old
    finally:
        app.state.manager.shutdown()
        app.state.store.close()


def test_page_size_is_a_limit_of_each_app(tmp_path: Path, make_server: Any) -> None:
    small = make_server(create_app(str(tmp_path / "a.db"), limits=ServiceLimits(max_page_size=7)))
    large = make_server(create_app(str(tmp_path / "b.db"), limits=ServiceLimits(max_page_size=70)))
    for live, size in ((small, 7), (large, 70)):
        params = live.client.get("/openapi.json").json()["paths"]["/campaigns/{campaign}/candidates"]["get"]["parameters"]
        assert {p["name"]: p["schema"] for p in params}["limit"]["maximum"] == size
        answer = live.client.get("/campaigns/x/candidates", params={"limit": size + 1})
        assert answer.status_code == 422
        assert answer.json() == {"detail": f"'query.limit': Input should be less than or equal to {size} "
                                           f"(got '{size + 1}')"}
        assert live.client.get("/campaigns/x/candidates", params={"limit": size}).status_code == 404


def test_a_path_served_by_two_routers_allows_both_methods(tmp_path: Path, make_server: Any) -> None:
    live = make_server(create_app(str(tmp_path / "s.db")))
    answer = live.client.delete("/campaigns")
    assert answer.status_code == 405 and answer.headers["allow"] == "GET, POST"
    assert answer.json() == {"detail": "Method Not Allowed"}
    assert live.client.put("/campaigns/abc").headers["allow"] == "GET"


class _OneCampaignStore:
    """Stands in for the store: the routes read it through the get_store dependency."""

    def list_campaigns(self) -> pd.DataFrame:
        return pd.DataFrame([{"id": "c0ffee00", "name": "fake", "status": "finished", "generations_done": 1,
                              "candidates": 0, "created_at": "2024-01-01T00:00:00+00:00", "stale": False}])


def test_routes_take_the_store_from_the_dependency(tmp_path: Path, make_server: Any) -> None:
    with open_store(tmp_path / "real.db") as real:
        app = create_app(real)
        app.dependency_overrides[get_store] = _OneCampaignStore
        live = make_server(app)
        listing = live.client.get("/campaigns").json()
        assert [c["name"] for c in listing] == ["fake"] and listing[0]["running_here"] is False
        assert real.list_campaigns().empty
