"""Networks and whole fronts downloaded over HTTP as zips of what `connevo export` writes; each
network in them reproduces its stored test accuracy on raw rows, as the CLI's exports do."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
import torch

import connevo
from connevo.evolution.task import load_task
from connevo.service.http import create_app
from tests.support import LiveServer, live_server, small_spec
from tests.support import connevo as connevo_cli


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A finished campaign on a CSV with string classes, its store served over HTTP, and the
    campaign's test rows as raw values."""
    tmp = tmp_path_factory.mktemp("exports")
    rng = np.random.default_rng(1)
    x = rng.normal(size=(240, 3)) * [5.0, 1.0, 2.0] + [50.0, 0.0, -3.0]
    label = np.where(x[:, 0] - 50 + 4 * x[:, 1] > 0, "up", "down")
    pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "label": label}).to_csv(tmp / "data.csv", index=False)
    spec = connevo.load_spec(small_spec(**{"name": "served", "task.dataset": str(tmp / "data.csv"),
                                           "training.epochs": 20}))
    result = connevo.run(spec, str(tmp / "s.db"))
    with connevo.open_store(str(tmp / "s.db")) as store:  # a campaign that has trained nothing yet
        store.create_campaign("just-started", spec.model_dump(mode="json"), spec.seed)
    data = load_task(spec)
    raw = (data.x_test.astype(np.float64) * data.std + data.mean).astype(np.float32)
    with live_server(create_app(str(tmp / "s.db"), data_dir=tmp)) as live:
        yield {"server": live, "campaign": result.campaign_id, "raw": raw, "labels": data.y_test, "tmp": tmp,
               "classes": data.class_names, "store": tmp / "s.db"}


def unzipped(response) -> dict[str, bytes]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def accuracy(predicted: np.ndarray, served: dict) -> float:
    return float((predicted == served["labels"]).mean())


def test_one_network_downloads_as_onnx_and_reproduces_its_test_accuracy(served: dict) -> None:
    import onnxruntime

    server: LiveServer = served["server"]
    best = server.client.get(f"/campaigns/{served['campaign']}/front").json()["items"][-1]
    cid = best["candidate_id"]
    response = server.client.get(f"/candidates/{cid}/export", params={"format": "onnx"}, timeout=300)
    files = unzipped(response)
    assert sorted(files) == [f"{cid}.classes.json", f"{cid}.onnx"]
    assert response.headers["content-disposition"] == f'attachment; filename="{cid}-onnx.zip"'
    assert json.loads(files[f"{cid}.classes.json"]) == {"classes": ["down", "up"], "features": ["a", "b", "c"]}
    session = onnxruntime.InferenceSession(files[f"{cid}.onnx"], providers=["CPUExecutionProvider"])
    logits = session.run(["logits"], {"features": served["raw"]})[0]
    assert accuracy(logits.argmax(axis=1), served) == best["test_accuracy"]


def test_a_whole_front_downloads_with_its_list_and_each_network_reproduces_its_row(served: dict, tmp_path) -> None:
    server: LiveServer = served["server"]
    listed = server.client.get(f"/campaigns/{served['campaign']}/front").json()["items"]
    files = unzipped(server.client.get(f"/campaigns/{served['campaign']}/front/export", timeout=300))
    manifest = pd.read_csv(io.BytesIO(files["front/front.csv"]))
    assert list(manifest["candidate_id"]) == [m["candidate_id"] for m in listed]
    assert sorted(files) == sorted(["front/front.csv", *(f"front/{m['candidate_id']}{suffix}" for m in listed
                                                         for suffix in (".pt2", ".classes.json"))])
    for row in manifest.itertuples():
        (tmp_path / row.file).write_bytes(files[f"front/{row.file}"])
        module = torch.export.load(str(tmp_path / row.file)).module()
        with torch.no_grad():
            predicted = module(torch.as_tensor(served["raw"])).argmax(dim=1).numpy()
        assert accuracy(predicted, served) == row.test_accuracy, row.candidate_id

    budget = int(manifest["connections"].min())
    cheap = unzipped(server.client.get(f"/campaigns/{served['campaign']}/front/export",
                                       params={"max_connections": budget}, timeout=300))
    kept = pd.read_csv(io.BytesIO(cheap["front/front.csv"]))
    assert len(kept) >= 1 and (kept["connections"] <= budget).all()


def test_exports_that_cannot_be_made_are_answered_with_their_reason(served: dict) -> None:
    server: LiveServer = served["server"]
    cases = [
        ("/candidates/nope-1/export", {}, 404, "no candidate"),
        ("/campaigns/absent/front/export", {}, 404, "no campaign with id or name 'absent'"),
        ("/campaigns/just-started/front/export", {}, 409, "has no trained network on its front: nothing to export"),
        (f"/campaigns/{served['campaign']}/front/export", {"format": "keras"}, 422, "query.format"),
        (f"/campaigns/{served['campaign']}/front/export", {"max_connections": -1}, 422, "query.max_connections"),
    ]
    for path, params, status, words in cases:
        response = server.client.get(path, params=params, timeout=300)
        assert response.status_code == status, (path, response.text)
        assert words in response.json()["detail"], (path, response.text)
    schema = server.client.get("/openapi.json").json()
    assert {"/candidates/{candidate_id}/export", "/campaigns/{campaign}/front/export"} <= set(schema["paths"])


def test_a_server_on_postgresql_exports_through_the_store_url(postgres_url: str, make_server, tmp_path) -> None:
    """The export process reads the server's PostgreSQL store from the URL in its environment,
    not from a file beside the server."""
    spec = connevo.load_spec(small_spec(**{"name": "on-postgres", "evolution.generations": 0}))
    result = connevo.run(spec, postgres_url)
    member = result.front().iloc[-1]
    live = make_server(create_app(postgres_url, data_dir=tmp_path))
    files = unzipped(live.client.get(f"/candidates/{member['candidate_id']}/export", timeout=300))
    assert sorted(files) == [f"{member['candidate_id']}.classes.json", f"{member['candidate_id']}.pt2"]


def test_the_front_scores_on_a_held_out_file_of_the_data_folder_as_the_cli_scores_it(served: dict) -> None:
    server: LiveServer = served["server"]
    held = pd.DataFrame(served["raw"], columns=["a", "b", "c"]).assign(
        label=np.asarray(served["classes"], dtype=object)[served["labels"]])
    held.to_csv(served["tmp"] / "held.csv", index=False)
    response = server.client.get(f"/campaigns/{served['campaign']}/score", params={"data": "held.csv"}, timeout=300)
    assert response.status_code == 200, response.text
    answer = response.json()
    local = connevo.score_front(str(served["store"]), served["campaign"], served["tmp"] / "held.csv")
    assert answer["hypervolume"] == pytest.approx(local.hypervolume, abs=1e-12)
    assert [n["heldout_accuracy"] for n in answer["networks"]] == list(local.networks["heldout_accuracy"])
    stored = {n["candidate_id"]: n["test_accuracy"] for n in answer["networks"]}
    assert all(n["heldout_accuracy"] == stored[n["candidate_id"]] for n in answer["networks"])  # its own test rows

    over_cli = connevo_cli("score", "served", "held.csv", "--server", server.url)
    assert over_cli.returncode == 0, over_cli.stderr
    assert f"held-out hypervolume {local.hypervolume:.4f}" in over_cli.stdout


def test_scoring_over_http_refuses_files_outside_the_data_folder_and_bad_rows(served: dict) -> None:
    server: LiveServer = served["server"]
    url = f"/campaigns/{served['campaign']}/score"
    (served["tmp"].parent / "outside.csv").write_text("a,b,c,label\n1,2,3,up\n")
    pd.DataFrame(served["raw"], columns=["a", "b", "c"]).drop(columns="b").assign(label="up").to_csv(
        served["tmp"] / "no_b.csv", index=False)
    for data, status, message in (("../outside.csv", 400, "lies outside the service's data folder"),
                                  ("absent.csv", 400, "is not a file in the service's data folder"),
                                  ("data.txt", 400, "is not a .csv, .npz, .parquet file"),
                                  ("no_b.csv", 400, "lacks 1 of the campaign's 3 feature columns: ['b']")):
        response = server.client.get(url, params={"data": data}, timeout=300)
        assert response.status_code == status and message in response.json()["detail"], (data, response.text)
    assert server.client.get("/campaigns/nope/score", params={"data": "held.csv"}).status_code == 404
