"""The HTTP API over real HTTP: uvicorn on a loopback port in a thread, httpx as the client."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from connevo.evolution.campaign import Campaign
from connevo.results.store import open_store
from connevo.service.http import ServiceLimits, create_app, is_loopback
from connevo.service.manager import CampaignManager
from tests.support import LiveServer, live_server, small_spec

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for the module: SQLite store and data folder in a temporary directory."""
    root = tmp_path_factory.mktemp("service")
    data = root / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2, size=(120, 2))
    rows = ["a,b,label", *(f"{a},{b},{a ^ b}" for a, b in x)]
    (data / "xor.csv").write_text("\n".join(rows) + "\n")
    (root / "outside.csv").write_text("\n".join(rows) + "\n")
    os.symlink(root / "outside.csv", data / "link-out.csv")
    app = create_app(str(root / "store.db"), data_dir=data, limits=ServiceLimits(max_population=50, max_page_size=50))
    with live_server(app) as live:
        yield live


@pytest.fixture(scope="module")
def finished(server: LiveServer) -> dict:
    """A small campaign launched over HTTP and polled until it finished."""
    response = server.client.post("/campaigns", json=small_spec(**{"evolution.generations": 1}))
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "running" and len(body["id"]) == 8
    detail = server.wait_status(body["id"])
    assert detail["status"] == "finished", detail
    return detail


def test_launch_runs_to_the_end_and_reports_status(finished: dict) -> None:
    assert finished["generations_done"] == finished["generations_total"] == 2
    assert finished["candidates_done"] == finished["candidates_total"] == 12
    assert finished["front_size"] >= 1 and 0 <= finished["hypervolume"] <= 1
    assert [g["generation"] for g in finished["hypervolume_history"]] == [0, 1]
    assert finished["progress"] is None and finished["running_here"] is False
    assert finished["spec"]["base_dir"]  # set by the service to its data folder


def test_list_front_candidates_and_detail(server: LiveServer, finished: dict) -> None:
    cid = finished["id"]
    listing = server.client.get("/campaigns").json()
    assert cid in [c["id"] for c in listing]
    assert server.client.get("/campaigns", params={"status": "finished"}).status_code == 200

    front = server.client.get(f"/campaigns/{cid}/front").json()
    assert front["objectives"] == ["val_accuracy", "connections"] and front["senses"] == ["max", "min"]
    assert front["rank_accuracy_by"] == "accuracy_and_loss"  # "auto", the default, for a classification
    assert front["items"] and all("genome" not in m for m in front["items"])
    budget = min(m["connections"] for m in front["items"])
    capped = server.client.get(f"/campaigns/{cid}/front",
                               params={"objectives": "val_accuracy,params", "max_connections": budget}).json()
    assert capped["items"] and all(m["connections"] <= budget for m in capped["items"])

    page = server.client.get(f"/campaigns/{cid}/candidates",
                             params={"sort": "val_accuracy", "order": "desc", "limit": 5, "offset": 0}).json()
    assert page["total"] == 12 and len(page["items"]) == 5
    accuracies = [c["val_accuracy"] for c in page["items"]]
    assert accuracies == sorted(accuracies, reverse=True)
    rest = server.client.get(f"/campaigns/{cid}/candidates",
                             params={"sort": "val_accuracy", "order": "desc", "limit": 50, "offset": 5}).json()
    assert len(rest["items"]) == 7
    assert not {c["candidate_id"] for c in page["items"]} & {c["candidate_id"] for c in rest["items"]}
    threshold = accuracies[2]
    good = server.client.get(f"/campaigns/{cid}/candidates",
                             params={"min_val_accuracy": threshold, "status": "ok", "generation": 1}).json()
    assert all(c["val_accuracy"] >= threshold and c["generation"] == 1 for c in good["items"])

    best = page["items"][0]["candidate_id"]
    detail = server.client.get(f"/candidates/{best}").json()
    assert detail["id"] == best and detail["campaign_id"] == cid
    assert {"parents", "genome", "val_accuracy", "connections", "params", "topology"} <= set(detail)
    assert detail["genome"]["format"] == "connevo.genome"


def test_a_regression_campaign_reports_its_r2(server: LiveServer) -> None:
    spec = small_spec(name="http-regression", **{"task": {"dataset": "diabetes", "kind": "regression"},
                                                 "objectives": {}, "evolution.generations": 1})
    launched = server.client.post("/campaigns", json=spec).json()
    detail = server.wait_status(launched["id"])
    assert detail["status"] == "finished" and detail["kind"] == "regression" and detail["best_objective"] == "val_r2"
    assert 0 < detail["best_val_accuracy"] <= 1  # the best validation R^2 (the first maximized objective)
    front = server.client.get(f"/campaigns/{launched['id']}/front").json()
    assert front["objectives"] == ["val_r2", "connections"] and all(m["val_r2"] is not None for m in front["items"])
    assert all(m["val_accuracy"] is None for m in front["items"])
    # ranked by the loss over training and validation rows together: lower as the networks grow
    assert front["rank_accuracy_by"] == "pooled"
    pooled = [m["pooled_loss"] for m in sorted(front["items"], key=lambda m: m["connections"])]
    assert pooled == sorted(pooled, reverse=True)
    page = server.client.get(f"/campaigns/{launched['id']}/candidates", params={"sort": "val_loss"}).json()
    assert page["items"] and all("val_r2" in c["extra"] for c in page["items"])
    for plot in ("front", "hypervolume"):
        assert server.client.get(f"/campaigns/{launched['id']}/plots/{plot}.png").content.startswith(PNG_MAGIC)


def test_plots_are_png(server: LiveServer, finished: dict) -> None:
    cid = finished["id"]
    best = server.client.get(f"/campaigns/{cid}/front").json()["items"][0]["candidate_id"]
    for path in (f"/campaigns/{cid}/plots/front.png", f"/campaigns/{cid}/plots/front.png?objectives=val_accuracy,flops",
                 f"/campaigns/{cid}/plots/hypervolume.png", f"/candidates/{best}/plots/network.png"):
        response = server.client.get(path)
        assert response.status_code == 200, (path, response.text)
        assert response.headers["content-type"] == "image/png" and response.content.startswith(PNG_MAGIC)


def test_stop_a_running_campaign(server: LiveServer) -> None:
    spec = small_spec(name="long", **{"evolution.generations": 500})
    cid = server.client.post("/campaigns", json=spec).json()["id"]
    deadline = time.monotonic() + 30
    while not (server.client.get(f"/campaigns/{cid}").json()["progress"] or {}).get("evaluated_since_start"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert server.client.get(f"/campaigns/{cid}").json()["running_here"] is True
    response = server.client.post(f"/campaigns/{cid}/stop")
    assert response.status_code == 202 and response.json() == {"id": cid, "status": "stopping"}
    detail = server.wait_status(cid)
    assert detail["status"] == "stopped" and detail["generations_done"] < 500
    again = server.client.post(f"/campaigns/{cid}/stop")
    assert again.status_code == 409 and "not running" in again.json()["detail"]


def test_resume_a_stopped_campaign(server: LiveServer) -> None:
    spec = small_spec(name="resumable", **{"evolution.generations": 30})
    cid = server.client.post("/campaigns", json=spec).json()["id"]
    deadline = time.monotonic() + 30
    while server.client.get(f"/campaigns/{cid}").json()["generations_done"] < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    server.client.post(f"/campaigns/{cid}/stop")
    stopped = server.wait_status(cid)
    assert stopped["status"] == "stopped" and 2 <= stopped["generations_done"] < 31
    response = server.client.post(f"/campaigns/{cid}/resume")
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "running"
    detail = server.wait_status(cid)
    assert detail["status"] == "finished" and detail["candidates_done"] == 6 * 31
    assert [g["generation"] for g in detail["hypervolume_history"]] == list(range(31))
    again = server.client.post(f"/campaigns/{cid}/resume")
    assert again.status_code == 409 and "finished" in again.json()["detail"]


def test_resume_goes_on_where_a_time_limit_stopped_a_campaign(server: LiveServer) -> None:
    spec = small_spec(name="time-limited", **{"evolution.generations": 3, "evolution.time_limit": 1e-6})
    cid = server.client.post("/campaigns", json=spec).json()["id"]
    detail = server.wait_status(cid)
    assert detail["status"] == "finished" and detail["generations_done"] == 1  # one generation a run
    assert detail["stopped_at_time_limit"] is True
    response = server.client.post(f"/campaigns/{cid}/resume")
    assert response.status_code == 202, response.text
    assert server.wait_status(cid)["generations_done"] == 2
    finished = server.client.post("/campaigns", json=small_spec(name="unlimited")).json()["id"]
    assert server.wait_status(finished)["stopped_at_time_limit"] is False


@pytest.mark.parametrize("path", [
    "/campaigns/nope", "/campaigns/nope/front", "/campaigns/nope/candidates", "/candidates/nope",
    "/campaigns/nope/plots/front.png", "/campaigns/nope/plots/hypervolume.png", "/candidates/nope/plots/network.png",
])
def test_unknown_ids_are_404_with_a_detail(server: LiveServer, path: str) -> None:
    response = server.client.get(path)
    assert response.status_code == 404
    assert "nope" in response.json()["detail"]


def test_resuming_a_campaign_another_process_runs_is_409_naming_it(server: LiveServer) -> None:
    import socket

    from connevo.evolution.spec import parse_spec

    spec = parse_spec(small_spec(name="elsewhere")).model_dump(mode="json")
    driver = f"{socket.gethostname()}:{os.getppid()}:cli"  # a live process of this host: a `connevo run`
    cid = server.app.state.store.create_campaign("elsewhere", spec, 3, driver=driver)
    response = server.client.post(f"/campaigns/{cid}/resume")
    assert response.status_code == 409, response.text
    assert "is running in another process" in response.json()["detail"] and driver in response.json()["detail"]
    assert server.client.get(f"/campaigns/{cid}").json()["status"] == "running"  # left to its driver


def test_extend_a_finished_campaign(server: LiveServer) -> None:
    cid = server.client.post("/campaigns", json=small_spec(name="extendable", **{"evolution.generations": 1})).json()["id"]
    assert server.wait_status(cid)["status"] == "finished"
    for body in ({"generations": 1}, {"generations": "many"}, {}):
        refused = server.client.post(f"/campaigns/{cid}/extend", json=body)
        assert refused.status_code in (400, 422) and "generations" in refused.text, (body, refused.text)
    assert server.client.get(f"/campaigns/{cid}").json()["spec"]["evolution"]["generations"] == 1
    response = server.client.post(f"/campaigns/{cid}/extend", json={"generations": 3})
    assert response.status_code == 202, response.text
    assert response.json() == {"id": cid, "status": "running", "url": f"/campaigns/{cid}"}
    detail = server.wait_status(cid)
    assert detail["status"] == "finished" and detail["candidates_done"] == 6 * 4
    assert [g["generation"] for g in detail["hypervolume_history"]] == list(range(4))
    assert server.client.post("/campaigns/nope/extend", json={"generations": 3}).status_code == 404


def test_stop_and_resume_unknown_are_404(server: LiveServer) -> None:
    assert server.client.post("/campaigns/nope/stop").status_code == 404
    assert server.client.post("/campaigns/nope/resume").status_code == 404


@pytest.mark.parametrize(("body", "status", "words"), [
    ({"name": "x"}, 400, ["task"]),
    (small_spec(**{"evolution.population": -1}), 400, ["evolution.population"]),
    (small_spec(**{"evolution.populaton": 5}), 400, ["evolution.populaton", "unknown key"]),
    (small_spec(**{"task.dataset": "nonsense"}), 400, ["task.dataset", "nonsense"]),
    (small_spec(**{"training.epochs": "many"}), 400, ["training.epochs"]),
    (small_spec(**{"evolution.population": 51}), 400, ["evolution.population", "50"]),
    (small_spec(**{"search_space.max_hidden_nodes": 1025}), 400, ["search_space.max_hidden_nodes", "1024"]),
    (small_spec(**{"search_space.max_connections": 2_000_000}), 400, ["search_space.max_connections", "1000000"]),
    (small_spec(**{"workers.ray_address": "ray://evil:10001"}), 400, ["workers.ray_address"]),
    (small_spec(**{"task.dataset": "missing.csv"}), 400, ["missing.csv"]),
    ([1, 2, 3], 422, ["body"]),
])
def test_bad_specs_are_4xx_naming_the_field(server: LiveServer, body: object, status: int, words: list[str]) -> None:
    response = server.client.post("/campaigns", json=body)
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and all(w in detail for w in words), detail


def test_a_body_that_is_not_json_is_422(server: LiveServer) -> None:
    response = server.client.post("/campaigns", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422 and "JSON" in response.json()["detail"]


@pytest.mark.parametrize(("query", "words"), [
    ("limit=-1", ["limit"]), ("limit=0", ["limit"]), ("limit=51", ["limit"]), ("offset=-3", ["offset"]),
    ("order=sideways", ["order"]), ("sort=genome", ["sort"]), ("status=great", ["status"]),
    ("min_val_accuracy=2", ["min_val_accuracy"]), ("max_connections=-1", ["max_connections"]),
    ("limit=ten", ["limit"]),
])
def test_bad_query_parameters_are_422(server: LiveServer, finished: dict, query: str, words: list[str]) -> None:
    response = server.client.get(f"/campaigns/{finished['id']}/candidates?{query}")
    assert response.status_code == 422, response.text
    assert all(w in response.json()["detail"] for w in words)


def test_bad_front_parameters_are_4xx(server: LiveServer, finished: dict) -> None:
    cid = finished["id"]
    unknown = server.client.get(f"/campaigns/{cid}/front", params={"objectives": "val_accuracy,beauty"})
    assert unknown.status_code == 400 and "beauty" in unknown.json()["detail"]
    negative = server.client.get(f"/campaigns/{cid}/front", params={"max_connections": -1})
    assert negative.status_code == 422 and "max_connections" in negative.json()["detail"]
    three = server.client.get(f"/campaigns/{cid}/plots/front.png", params={"objectives": "val_accuracy,params,flops"})
    assert three.status_code == 400 and "objectives" in three.json()["detail"]


@pytest.mark.parametrize("dataset", ["../outside.csv", "sub/../../outside.csv", "link-out.csv", "/etc/hosts.csv",
                                     "~/secret.csv"])
def test_data_paths_outside_the_data_folder_are_rejected(server: LiveServer, dataset: str) -> None:
    response = server.client.post("/campaigns", json=small_spec(**{"task.dataset": dataset}))
    assert response.status_code == 400, response.text
    detail = response.json()["detail"]
    assert "task.dataset" in detail and "outside" in detail


@pytest.mark.parametrize(("key", "value", "words"), [
    ("tracking.tensorboard", "../runs", "outside"),
    ("tracking.tensorboard", "/tmp/elsewhere", "outside"),
    ("tracking.mlflow", "sqlite:////tmp/mlflow.db", "tracking server"),
    ("tracking.mlflow", "file:///tmp/mlruns", "tracking server"),
])
def test_tracking_may_not_write_outside_the_data_folder(server: LiveServer, key: str, value: str, words: str) -> None:
    response = server.client.post("/campaigns", json=small_spec(**{key: value}))
    assert response.status_code == 400, response.text
    assert key in response.json()["detail"] and words in response.json()["detail"]


def test_a_data_file_inside_the_data_folder_is_used(server: LiveServer) -> None:
    spec = small_spec(name="from-csv", **{"task.dataset": "xor.csv", "task.samples": None, "evolution.generations": 0})
    response = server.client.post("/campaigns", json=spec)
    assert response.status_code == 202, response.text
    detail = server.wait_status(response.json()["id"])
    assert detail["status"] == "finished" and detail["candidates_done"] == 6


def test_openapi_schema_is_served(server: LiveServer) -> None:
    schema = server.client.get("/openapi.json").json()
    for path in ("/campaigns", "/campaigns/{campaign}", "/campaigns/{campaign}/stop", "/campaigns/{campaign}/resume",
                 "/campaigns/{campaign}/extend",
                 "/campaigns/{campaign}/front", "/campaigns/{campaign}/candidates", "/candidates/{candidate_id}",
                 "/campaigns/{campaign}/plots/front.png", "/candidates/{candidate_id}/plots/network.png"):
        assert path in schema["paths"], path
    body = schema["paths"]["/campaigns"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/CampaignSpec"}
    assert "TaskSpec" in schema["components"]["schemas"]


def test_the_dashboard_page_is_served(server: LiveServer) -> None:
    page = server.client.get("/")
    assert page.status_code == 200 and "connevo" in page.text and "/static/dashboard.js" in page.text
    assert server.client.get("/static/dashboard.js").status_code == 200


def test_a_token_is_required_when_configured(tmp_path: Path, make_server) -> None:
    app = create_app(str(tmp_path / "s.db"), token="s3cret-token", data_dir=tmp_path)
    live = make_server(app)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret-token"}):
        response = live.client.get("/campaigns", headers=headers)
        assert response.status_code == 401 and "token" in response.json()["detail"]
        assert response.headers["www-authenticate"] == "Bearer"
    assert live.client.post("/campaigns", json=small_spec()).status_code == 401
    assert live.client.get("/openapi.json").status_code == 401
    authorized = {"Authorization": "Bearer s3cret-token"}
    assert live.client.get("/campaigns", headers=authorized).status_code == 200
    assert live.client.get("/campaigns/nope", headers=authorized).status_code == 404
    assert live.client.get("/").status_code == 200  # the static shell holds no data


def test_request_body_size_is_limited(tmp_path: Path, make_server) -> None:
    live = make_server(create_app(str(tmp_path / "s.db"), data_dir=tmp_path,
                                  limits=ServiceLimits(max_body_bytes=2_000)))
    big = small_spec(name="x" * 150, **{"search_space.activations": ["relu"] * 500})
    response = live.client.post("/campaigns", json=big)
    assert response.status_code == 413 and "2000 bytes" in response.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: a chunked upload
        yield b'{"name": "'
        for _ in range(50):
            yield b"y" * 100
        yield b'"}'

    chunked = live.client.post("/campaigns", content=chunks(), headers={"content-type": "application/json"})
    assert chunked.status_code == 413
    small = live.client.post("/campaigns", json={"name": "x"})
    assert small.status_code == 400  # under the limit: read and validated


def test_concurrent_campaigns_are_limited(tmp_path: Path, make_server) -> None:
    live = make_server(create_app(str(tmp_path / "s.db"), data_dir=tmp_path, limits=ServiceLimits(max_concurrent=1)))
    first = live.client.post("/campaigns", json=small_spec(name="first", **{"evolution.generations": 500})).json()["id"]
    second = live.client.post("/campaigns", json=small_spec(name="second"))
    assert second.status_code == 429 and "max_concurrent" in second.json()["detail"]
    live.client.post(f"/campaigns/{first}/stop")
    assert live.wait_status(first)["status"] == "stopped"
    third = live.client.post("/campaigns", json=small_spec(name="third", **{"evolution.generations": 0}))
    assert third.status_code == 202
    assert live.wait_status(third.json()["id"])["status"] == "finished"


@pytest.mark.slow
def test_two_campaigns_share_one_ray(ray_session, tmp_path: Path, make_server) -> None:
    live = make_server(create_app(str(tmp_path / "s.db"), data_dir=tmp_path, limits=ServiceLimits(max_concurrent=2)))
    ids = []
    for name in ("ray-a", "ray-b"):
        spec = small_spec(name=name, **{"workers.backend": "ray", "workers.count": 2, "evolution.generations": 1})
        response = live.client.post("/campaigns", json=spec)
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    for cid in ids:
        detail = live.wait_status(cid, timeout=120)
        assert detail["status"] == "finished", detail
        assert detail["spec"]["workers"]["cpus_per_worker"] == 0.5
        assert detail["candidates_done"] == 12
    assert ray_session.is_initialized()  # no campaign shut the shared Ray down


def test_a_crashing_campaign_ends_failed_and_the_manager_survives(tmp_path: Path, monkeypatch) -> None:
    store = open_store(tmp_path / "s.db")

    def explode(self: Campaign) -> str:
        raise RuntimeError("boom")

    monkeypatch.setattr(Campaign, "run", explode)
    manager = CampaignManager(store, max_concurrent=1)
    from connevo.evolution.spec import parse_spec

    cid = manager.launch(parse_spec(small_spec()))
    assert manager.wait(cid, timeout=10)
    info = store.get_campaign(cid)
    assert info["status"] == "failed" and "boom" in info["error"]
    assert manager.running() == []
    store.close()


def test_loopback_detection() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1") and is_loopback("127.1.2.3")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4") and not is_loopback("example.org")


def test_the_front_lists_multi_fidelity_rejects_on_request(tmp_path, make_server):
    from connevo.evolution import run
    from connevo.results.queries import fidelity
    from tests.support import FIDELITY_SPEC as SPEC

    result = run(SPEC, str(tmp_path / "s.db"))
    live = make_server(create_app(str(tmp_path / "s.db"), data_dir=tmp_path))
    default = live.client.get(f"/campaigns/{result.campaign_id}/front").json()["items"]
    partial = live.client.get(f"/campaigns/{result.campaign_id}/front", params={"include_partial": True}).json()["items"]
    rows = result.candidates().assign(fidelity=lambda f: fidelity(f)).set_index("id")
    assert all(rows.loc[item["candidate_id"], "fidelity"] == 1.0 for item in default)
    assert partial and len(partial) >= 1


def test_a_spec_without_a_connection_cap_gets_the_services(server: LiveServer) -> None:
    launched = server.client.post("/campaigns", json=small_spec(name="capped", **{"evolution.generations": 0}))
    assert launched.status_code == 202, launched.text
    detail = server.wait_status(launched.json()["id"])
    assert detail["spec"]["search_space"]["max_connections"] == ServiceLimits().max_connections


def test_resume_checks_the_stored_spec_against_the_limits(tmp_path: Path, make_server) -> None:
    from connevo.evolution.spec import parse_spec

    store = open_store(tmp_path / "s.db")
    cid = store.create_campaign("big", parse_spec(small_spec(**{"evolution.population": 80})).model_dump(mode="json"), 0)
    store.set_campaign_status(cid, "stopped", "stop requested")
    live = make_server(create_app(str(tmp_path / "s.db"), data_dir=tmp_path, limits=ServiceLimits(max_population=50)))
    answer = live.client.post(f"/campaigns/{cid}/resume")
    assert answer.status_code == 400 and "evolution.population" in answer.json()["detail"]
