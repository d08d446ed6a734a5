"""The web dashboard in a real headless Chromium (Debian's chromium, driven by Playwright).

A campaign is launched through the API; the page must draw its front as it runs, and a click on
a point must show that candidate's details and network drawing. Set CONNEVO_SCREENSHOT=path to
save a screenshot of the finished campaign (docs/dashboard.png is made this way).
"""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

import pytest

from connevo.service.http import create_app
from tests.support import small_spec

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium; .ci/run does)",
)


@pytest.fixture
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)")
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def test_the_dashboard_draws_the_live_front_and_shows_a_candidate(tmp_path: Path, make_server, browser) -> None:
    live = make_server(create_app(str(tmp_path / "s.db"), data_dir=tmp_path, token="tok"),
                       headers={"Authorization": "Bearer tok"})
    spec = small_spec(name="dashboard-demo", **{"evolution.population": 10, "evolution.generations": 5,
                                                 "training.epochs": 20})
    campaign_id = live.client.post("/campaigns", json=spec).json()["id"]

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live.url}/#token=tok&campaign={campaign_id}")  # the token travels in the fragment only
    page.wait_for_selector("#front-plot circle.pt", timeout=30_000)  # points appear while it runs
    assert "tok" not in page.url  # the token does not stay in the address bar

    final = live.wait_status(campaign_id, timeout=90)
    assert final["status"] == "finished", final
    page.wait_for_selector("#campaign-status.finished", timeout=10_000)
    # The badge turns "finished" before the last front is fetched and drawn: wait for that drawing
    # (a front read while the campaign ran can hold as many candidates, and be redrawn under the click).
    page.wait_for_selector("#front-plot[data-status='finished']", state="attached", timeout=10_000)
    # Candidates that score the same share one point: the counts add up to front_size.
    page.wait_for_function(
        "n => [...document.querySelectorAll('#front-plot circle.pt.front')]"
        ".reduce((sum, d) => sum + Number(d.dataset.count), 0) === n", arg=final["front_size"], timeout=10_000)
    assert page.locator("#campaigns tbody tr").count() == 1
    assert page.locator("#hv-plot circle.hv-pt").count() == final["generations_done"]
    # the line is the accuracy's staircase: a member kept for its lower loss alone is a point below it
    items = sorted(live.client.get(f"/campaigns/{campaign_id}/front").json()["items"], key=lambda r: r["connections"])
    stairs = [r for i, r in enumerate(items) if all(r["val_accuracy"] > o["val_accuracy"] for o in items[:i])]
    line = page.get_attribute("#front-plot path.step", "d") or ""
    assert line.count("H") == len(stairs) - 1

    point = page.locator("#front-plot circle.pt.front").last  # drawn on top of any twin
    candidate_id = point.get_attribute("data-id")
    point.click()
    page.wait_for_selector("#candidate-panel:not([hidden])")
    assert page.inner_text("#candidate-title") == candidate_id
    details = page.inner_text("#candidate-details")
    assert "val_accuracy" in details and "connections" in details
    page.wait_for_function("() => { const i = document.getElementById('network-img');"
                           " return i.complete && i.naturalWidth > 0; }", timeout=10_000)
    assert "selected" in (point.get_attribute("class") or "")

    # the network, and then the whole front, downloaded as the exports' zips (the token in a header)
    with page.expect_download(timeout=120_000) as network:
        page.click("#candidate-download")
    assert network.value.suggested_filename == f"{candidate_id}-pt2.zip"
    with zipfile.ZipFile(network.value.path()) as archive:
        assert sorted(archive.namelist()) == [f"{candidate_id}.classes.json", f"{candidate_id}.pt2"]
    page.wait_for_selector(f"#download-state:has-text('downloaded {candidate_id}-pt2.zip')", timeout=10_000)
    with page.expect_download(timeout=120_000) as front:
        page.click("#front-download")
    with zipfile.ZipFile(front.value.path()) as archive:
        listed = archive.read("front/front.csv").decode().splitlines()
    assert len(listed) == 1 + final["front_size"]  # the header, then one line per front network
    assert errors == []

    target = os.environ.get("CONNEVO_SCREENSHOT")
    if target:
        shot = tmp_path / "dashboard.png"
        page.screenshot(path=str(shot), full_page=True)
        shutil.copyfile(shot, target)
    page.close()


def test_a_campaign_whose_driver_died_shows_as_stale(tmp_path: Path, make_server, browser) -> None:
    import sqlite3

    from connevo.evolution.spec import parse_spec
    from connevo.results.store import open_store

    store = open_store(tmp_path / "s.db")
    campaign_id = store.create_campaign("orphan", parse_spec(small_spec()).model_dump(mode="json"), 3)
    store.close()
    with sqlite3.connect(tmp_path / "s.db") as conn:
        conn.execute("update campaigns set updated_at = datetime('now', '-5 minutes')")
    live = make_server(create_app(str(tmp_path / "s.db"), data_dir=tmp_path))
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live.url}/#campaign={campaign_id}")
    page.wait_for_selector("#campaign-status.stale", timeout=10_000)
    assert page.inner_text("#campaign-status") == "running (stale)"
    assert "running (stale)" in page.inner_text("#campaigns tbody")
    assert errors == []
    page.close()
