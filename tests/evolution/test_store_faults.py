"""A store that cannot take more data (a full disk, a read-only file) stops the campaign with a
clear reason; what was stored before stays readable."""

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from connevo.errors import StoreError
from connevo.evolution import Campaign, parse_spec
from connevo.results.store import open_store
from tests.support import ROOT, small_spec


def fill_up_after(store, extra_pages: int) -> None:
    """Cap the SQLite file a few pages above its current size: the next big write is 'full'."""
    with store._engine.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()

    def cap(dbapi_conn, _record):
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages + extra_pages}")

    sa.event.listen(store._engine, "connect", cap)
    store._engine.dispose()


def test_a_full_disk_fails_the_campaign_with_the_reason_and_keeps_earlier_data(tmp_path):
    store = open_store(str(tmp_path / "full.db"))
    spec = parse_spec(small_spec(**{"task.dataset": "digits", "evolution.population": 6, "evolution.generations": 6,
                                    "training.epochs": 1, "search_space.initial_density": [1.0, 1.0],
                                    "search_space.start": "minimal"}))
    campaign = Campaign(spec, store)
    campaign.create()
    fill_up_after(store, extra_pages=30)
    with pytest.raises(StoreError, match="full"):
        campaign.run()
    info = store.get_campaign(campaign.id)
    assert info["status"] == "failed" and "full" in info["error"]
    done = info["generations_done"]
    assert 0 < done < 7
    # every committed generation is whole and readable
    candidates = store.candidates(campaign.id)
    assert sorted(candidates["generation"].unique()) == list(range(done))
    assert len(candidates) == 6 * done
    assert len(store.generations(campaign.id)) == done


# ----- a read-only store file -------------------------------------------------------------------
# Tests run as root, and root writes any file whatever its mode, so the writer here is a child
# process that drops to the unprivileged user 'nobody' (uid/gid 65534) before it touches the
# store; run as another user, plain permissions do the same. The child imports connevo (and warms
# up every code path on a scratch store) while still root: the interpreter's own files need not
# be readable by 'nobody' (here it lives under /root), so nothing may be imported after the switch.

NOBODY = 65534

_RUNNER = r'''
import contextlib, io, json, os, sys, traceback
from connevo.service.cli import main

commands, warm_dir, uid = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3])

def call(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code
        except BaseException:
            traceback.print_exc()
            code = "raised"
    return {"argv": argv, "code": code, "stdout": out.getvalue(), "stderr": err.getvalue(), "uid": os.geteuid()}

if os.geteuid() == 0:
    warm = os.path.join(warm_dir, "warm.db")  # a finished campaign, made by the test
    cid = json.loads(call(["ls", "--format", "json", "--store", warm])["stdout"])[-1]["id"]
    for argv in (["ls"], ["status", cid], ["status", cid, "--format", "json"], ["front", cid],
                 ["front", cid, "--format", "json"], ["show", cid + "-0"], ["show", cid + "-0", "--format", "json"]):
        call([*argv, "--store", warm])
    call(["ls", "--store", os.path.join(warm_dir, "missing", "x.db")])  # the error path
    if any(argv[0] == "run" for argv in commands):
        assert call(["run", os.path.join(warm_dir, "warm.json"), "--store", warm])["code"] == 0
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
print("RESULTS " + json.dumps([call(argv) for argv in commands]), flush=True)
'''


@pytest.fixture
def shared_dir():
    """A folder the unprivileged child can reach (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="connevo-ro-"))
    path.chmod(0o777)
    warm = path / "warm"
    warm.mkdir()
    spec = small_spec(**{"name": "warm-up", "evolution.population": 2, "evolution.generations": 0,
                         "training.epochs": 1})
    (warm / "warm.json").write_text(json.dumps(spec))
    with open_store(warm / "warm.db") as store:
        Campaign(parse_spec(spec), store).run()
    yield path
    for folder, _, files in os.walk(path):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)
    shutil.rmtree(path)


def start_as_reader(shared: Path, *commands: list[str]) -> subprocess.Popen:
    """``connevo`` commands run one after the other in a child as a user who cannot write files
    it does not own (root: 'nobody')."""
    env = {**os.environ, "RAY_DISABLE_USAGE_STATS": "1", "HOME": str(shared)}
    return subprocess.Popen([sys.executable, "-c", _RUNNER, json.dumps([list(c) for c in commands]),
                             str(shared / "warm"), str(NOBODY)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def results_of(child: subprocess.Popen, timeout: float = 120) -> list[dict]:
    out, err = child.communicate(timeout=timeout)
    assert child.returncode == 0, err[-4000:]
    [line] = [line for line in out.splitlines() if line.startswith("RESULTS ")]
    return json.loads(line[len("RESULTS "):])


def run_as_reader(shared: Path, *commands: list[str]) -> list[dict]:
    return results_of(start_as_reader(shared, *commands))


def make_read_only(store_file: Path) -> None:
    store_file.chmod(0o444)
    store_file.parent.chmod(0o555)


def generations_done(store_file: Path) -> int:
    """The running campaign's committed generations, read without touching the writer's file."""
    try:
        conn = sqlite3.connect(f"file:{store_file}?mode=ro", uri=True)
        try:
            return int(conn.execute("SELECT max(generations_done) FROM campaigns").fetchone()[0] or 0)
        finally:
            conn.close()
    except sqlite3.Error:  # not created yet
        return 0


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_one_line_error(result: dict, *fragments: str) -> str:
    assert result["uid"] != 0  # the writer really is bound by the file's permissions
    assert result["code"] == 2, result
    assert "Traceback" not in result["stderr"], result["stderr"]
    lines = result["stderr"].strip().splitlines()
    errors = [line for line in lines if line.startswith("connevo: error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], lines  # after progress lines, if any
    line = errors[0]
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    return line


@pytest.mark.slow
def test_a_read_only_store_refuses_a_new_campaign_and_stays_readable(shared_dir):
    folder = shared_dir / "runs"
    folder.mkdir()
    store_file = folder / "done.db"
    spec = parse_spec(small_spec(**{"evolution.generations": 1, "training.epochs": 2}))
    with open_store(store_file) as store:
        earlier = Campaign(spec, store).run()
        earlier_candidates = store.candidates(earlier)
    (shared_dir / "spec.json").write_text(json.dumps(small_spec(name="new-one")))
    make_read_only(store_file)
    files, before = sorted(os.listdir(folder)), digest(store_file)

    run, listing, status, front, api_ls = run_as_reader(
        shared_dir,
        ["run", str(shared_dir / "spec.json"), "--store", str(store_file)],
        ["ls", "--format", "json", "--store", str(store_file)],
        ["status", earlier, "--format", "json", "--store", str(store_file)],
        ["front", earlier, "--format", "json", "--store", str(store_file)],
        ["ls", "--store", str(store_file)],
    )
    line = assert_one_line_error(run, str(store_file), "read-only", "new campaign 'new-one'")
    assert "sqlalche.me" not in line and "[SQL" not in line
    # nothing was written, not even SQLite's side files, and the earlier campaign reads as before
    assert sorted(os.listdir(folder)) == files and digest(store_file) == before
    for result in (listing, status, front, api_ls):
        assert result["code"] == 0 and not result["stderr"], result
    [row] = json.loads(listing["stdout"])
    assert row["id"] == earlier and row["status"] == "finished" and row["candidates"] == len(earlier_candidates)
    info = json.loads(status["stdout"])
    assert info["status"] == "finished" and len(info["generations"]) == 2
    assert {m["candidate_id"] for m in json.loads(front["stdout"])} <= set(earlier_candidates["id"])
    assert earlier in api_ls["stdout"]


@pytest.mark.slow
def test_a_store_file_made_read_only_mid_campaign_stops_it_and_keeps_earlier_generations(shared_dir):
    folder = shared_dir / "runs"
    folder.mkdir()
    folder.chmod(0o777)
    store_file = folder / "mid.db"
    spec_file = shared_dir / "slow.json"
    spec_file.write_text(json.dumps(small_spec(**{
        "name": "slow", "evolution.population": 6, "evolution.generations": 40, "training.epochs": 30,
        "task.samples": 400})))
    child = start_as_reader(shared_dir, ["run", str(spec_file), "--store", str(store_file)])
    try:
        deadline = time.monotonic() + 90
        done = 0
        while done < 2:  # two generations committed, the campaign still going
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the campaign did not commit two generations in time"
            time.sleep(0.2)
            done = generations_done(store_file)
        make_read_only(store_file)
        [run] = results_of(child)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    line = assert_one_line_error(run, str(store_file), "read-only", "status 'failed'")
    assert "its error: StoreError: cannot write" in line  # the reason the campaign stopped, too

    # every generation committed before the file turned read-only is whole and readable: by
    # this process and by the child's unprivileged user, through the CLI
    with open_store(store_file) as store:
        [info] = store.list_campaigns().to_dict("records")
        cid, done = info["id"], info["generations_done"]
        assert info["status"] == "running"  # "failed" could not be written: the message says so
        assert 2 <= done < 41
        candidates = store.candidates(cid)
        assert sorted(candidates["generation"].unique()) == list(range(done))
        assert len(candidates) == 6 * done and candidates["status"].eq("ok").all()
        assert len(store.generations(cid)) == done
    listing, status, front = run_as_reader(
        shared_dir,
        ["ls", "--format", "json", "--store", str(store_file)],
        ["status", cid, "--format", "json", "--store", str(store_file)],
        ["front", cid, "--format", "json", "--store", str(store_file)],
    )
    for result in (listing, status, front):
        assert result["code"] == 0 and not result["stderr"], result
    assert json.loads(listing["stdout"])[0]["generations_done"] == done
    assert len(json.loads(status["stdout"])["generations"]) == done
    assert json.loads(front["stdout"])
