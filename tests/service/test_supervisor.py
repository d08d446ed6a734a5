"""A campaign on Ray runs in a watched child process: when its driver dies without ending the
campaign (the local Ray node died, SIGKILL), the supervisor marks it failed with one line and
exits 75; Ray's own log lines never reach the user; signals reach the driver once."""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from connevo.results.store import open_store
from connevo.service.supervisor import EXIT_DRIVER_LOST, StreamFilter, ray_failure
from tests.support import ROOT, committed_generations, descendants, interruptible, process_tree, small_spec

RAY_STDOUT = (
    b"campaign 1234abcd\n"
    b"\x1b[33m(raylet)\x1b[0m Raylet is terminated. Termination is unexpected. Possible reasons include: (1) ...\n"
    b"    [2026-12-01 18:43:40,542 I 30367 30367] (raylet) accessor.cc:475: Received address\n"
    b"    [state-dump] NodeManager ...\n"
    b"\n"
    b"\n"
    b"[2026-12-01 18:44:03,605 E 30272 30447] core_worker.cc:609: Failed to register worker to Raylet: IOError\n"
    b"gen   1  candidates 12/66  best val acc 0.917\n"
    b"Traceback (most recent call last):\n"
    b'  File "x.py", line 1\n'
    b"\rname gen 2/10 ---- 14/66 candidates"
)


def filtered(data: bytes) -> tuple[bytes, StreamFilter]:
    read_fd, write_fd = os.pipe()
    os.write(write_fd, data)
    os.close(write_fd)
    sink = io.BytesIO()
    with os.fdopen(read_fd, "rb") as source:
        stream = StreamFilter(source, sink)
        stream.start()
        stream.join()
    return sink.getvalue(), stream


def test_ray_log_lines_and_their_continuations_are_kept_back_and_everything_else_passes():
    out, stream = filtered(RAY_STDOUT)
    assert out == (b"campaign 1234abcd\ngen   1  candidates 12/66  best val acc 0.917\n"
                   b'Traceback (most recent call last):\n  File "x.py", line 1\n'
                   b"\rname gen 2/10 ---- 14/66 candidates")
    assert len(stream.ray_lines) == 4 and stream.ray_lines[0].startswith("(raylet) Raylet is terminated")


def test_ray_failure_names_the_cause_in_a_few_words():
    _, stream = filtered(RAY_STDOUT)
    assert ray_failure(list(stream.ray_lines)) == "its raylet ended unexpectedly (killed, out of memory, or crashed)"
    _, stream = filtered(b"[2026-12-01 18:44:03,605 E 30272 30447] core_worker.cc:609: Failed to register worker.\n")
    assert ray_failure(list(stream.ray_lines)) == "Failed to register worker"
    assert ray_failure(["[2026-12-01 18:44:03,605 I 1 2] x.cc:1: fine"]) is None


def start_supervised(spec: dict, folder: Path, db: Path) -> subprocess.Popen:
    """``connevo run`` under the supervisor whatever the spec's backend."""
    spec_path = folder / "spec.json"
    spec_path.write_text(json.dumps(spec))
    code = "import sys; from connevo.service.supervisor import supervise; sys.exit(supervise(sys.argv[1:]))"
    return subprocess.Popen([sys.executable, "-c", code, "run", str(spec_path), "--store", str(db)], cwd=ROOT,
                            env={**os.environ, "RAY_DISABLE_USAGE_STATS": "1"}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=interruptible)


def driver_pid(db: Path) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        driver = conn.execute("select driver from campaigns").fetchone()[0]
    return int(driver.split(":")[1])


# generations enough that no campaign ends before its test brings its fault, however slow the
# tests before it (300 generations, 39 s, once ran out under load before the SIGINT came)
LONG = small_spec(**{"name": "watched", "evolution.population": 6, "evolution.generations": 100_000,
                     "training.epochs": 20, "workers.chunk_size": 2})


@pytest.fixture(scope="module")
def watched(tmp_path_factory) -> Iterator[dict[str, tuple[subprocess.Popen, Path]]]:
    """Three supervised campaigns started at once (their start-up overlaps), each past its first
    generation: one test each brings its own fault to its own."""
    started = {}
    for name in ("driver-killed", "supervisor-killed", "interrupted"):
        folder = tmp_path_factory.mktemp(name)
        started[name] = (start_supervised(LONG, folder, folder / "s.db"), folder / "s.db")
    deadline = time.monotonic() + 120
    for process, db in started.values():
        while committed_generations(db) < 1 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.02)
    yield started
    for process, _ in started.values():
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_a_driver_killed_under_the_supervisor_leaves_its_campaign_failed_with_one_line(watched):
    supervisor, db = watched["driver-killed"]
    assert supervisor.poll() is None, supervisor.communicate()[1][-3000:]
    os.kill(driver_pid(db), signal.SIGKILL)
    out, err = supervisor.communicate(timeout=60)
    assert supervisor.returncode == EXIT_DRIVER_LOST, err[-3000:]
    campaign_id = out.split()[1]
    assert err.strip().splitlines()[-1] == (f"connevo: the campaign's driver process was killed by SIGKILL; campaign "
                                            f"{campaign_id} failed; `connevo resume {campaign_id}` continues it")
    with open_store(db) as store:
        info = store.get_campaign(campaign_id)
        assert (info["status"], info["driver"], info["stale"]) == ("failed", None, False)
        assert "killed by SIGKILL" in info["error"]
        store.claim_campaign(campaign_id, "successor:1:x")  # a resume takes it at once: no minute of staleness


def test_killing_the_supervisor_ends_its_driver_and_the_campaign_can_be_resumed_at_once(watched):
    supervisor, db = watched["supervisor-killed"]
    assert supervisor.poll() is None, supervisor.communicate()[1][-3000:]
    supervisor.kill()  # SIGKILL of `connevo run` itself: its driver dies with it
    out, _ = supervisor.communicate(timeout=60)
    with open_store(db) as store:
        store.claim_campaign(out.split()[1], "successor:1:x")  # no "running in another process"


def test_sigint_to_the_supervisor_stops_the_campaign_once_and_cleanly(watched):
    supervisor, db = watched["interrupted"]
    assert supervisor.poll() is None, supervisor.communicate()[1][-3000:]
    supervisor.send_signal(signal.SIGINT)
    out, err = supervisor.communicate(timeout=60)
    assert supervisor.returncode == 130, err[-3000:]
    assert err.strip().splitlines()[-1] == "connevo: interrupted"
    with open_store(db) as store:
        assert store.get_campaign(out.split()[1])["status"] == "stopped"


def raylet_below(pid: int) -> int:
    """The raylet (the node's daemon) the driver process ``pid`` started."""
    for child, command in descendants(pid).items():
        if command.split(" ", 1)[0].endswith("/raylet"):
            return child
    raise AssertionError(f"no raylet below process {pid}")


@pytest.mark.slow
def test_when_the_local_ray_node_dies_the_campaign_fails_with_one_line_and_no_ray_output(tmp_path):
    db = tmp_path / "s.db"
    spec_path = tmp_path / "spec.json"
    spec = dict(LONG, evolution={"population": 6, "generations": 100_000},
                workers={"count": 2, "backend": "ray", "chunk_size": 2})
    spec_path.write_text(json.dumps(spec))
    # Ray's failure detector tightened (a node is declared dead after ~1.5 s of silence, not 15 s)
    detector = {"RAY_health_check_period_ms": "500", "RAY_health_check_failure_threshold": "3",
                "RAY_health_check_timeout_ms": "500"}
    run = subprocess.Popen([sys.executable, "-m", "connevo.service.cli", "run", str(spec_path), "--store", str(db)], cwd=ROOT,
                           env={**os.environ, "RAY_DISABLE_USAGE_STATS": "1", **detector}, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while committed_generations(db) < 1 and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.05)
    assert run.poll() is None, run.communicate()[1][-3000:]
    raylet = raylet_below(driver_pid(db))
    for pid in [raylet, *process_tree().get(raylet, [])]:  # the node dies: its daemon and its workers
        os.kill(pid, signal.SIGKILL)
    out, err = run.communicate(timeout=120)
    assert run.returncode == EXIT_DRIVER_LOST, err[-3000:]
    campaign_id = out.split()[1]
    last = err.strip().splitlines()[-1]
    # Ray's own last words are quoted when it printed them before the driver ended, else its
    # exit status (under load the driver can end first): either way one line naming the node
    assert last.startswith(("connevo: the local Ray node died: ", "connevo: the local Ray node died (Ray ended the "
                            "driver with exit status ")) and last.endswith(
        f"; campaign {campaign_id} failed; `connevo resume {campaign_id}` continues it"), err[-3000:]
    for text in (out, err):
        assert "(raylet)" not in text and ".cc:" not in text and "[20" not in text, text[-3000:]
    with open_store(db) as store:
        info = store.get_campaign(campaign_id)
    assert (info["status"], info["driver"]) == ("failed", None)
    assert info["error"].startswith("the local Ray node died")


class ClosedPipe(io.BytesIO):
    """A reader that has gone, as after `| head`."""

    def write(self, data) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_reader_that_leaves_stops_the_copy_quietly_and_the_child_is_still_drained():
    read_fd, write_fd = os.pipe()
    stream = StreamFilter(os.fdopen(read_fd, "rb"), ClosedPipe())
    stream.start()
    for _ in range(64):  # 1 MiB: far more than a pipe holds, so a stopped reader would block this writer
        os.write(write_fd, b"x" * 16383 + b"\n")
    os.close(write_fd)
    stream.join()
    assert stream.reader_gone


PARENT_IMPORTS = """
import sys
from connevo.service.cli import build_parser
from connevo.service.supervisor import wants_supervision

args = build_parser().parse_args(["run", sys.argv[1]])
print(wants_supervision(args), sorted(m for m in ("pandas", "torch", "ray", "sqlalchemy") if m in sys.modules))
"""


def test_the_supervising_parent_imports_none_of_the_campaigns_libraries(tmp_path):
    """`connevo run` decides to supervise and starts its child before anything heavy is imported:
    the child imports them (pandas, torch, Ray, SQLAlchemy), the parent only waits for it."""
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(small_spec(**{"workers.backend": "ray"})))
    done = subprocess.run([sys.executable, "-c", PARENT_IMPORTS, str(spec)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "[]"]


FINISHING_PARENT = """
import sys
from connevo.service.supervisor import supervise
status = supervise(sys.argv[1:])
print(status, "sqlalchemy" in sys.modules)
"""


def test_a_campaign_that_ends_normally_spares_the_supervisor_its_store(tmp_path):
    """The child reports its campaign's end once the store has it and exits 0: the parent has
    nothing to check, so it never opens the store (SQLAlchemy is never imported there). The child
    closes the store before it ends, leaving no -wal or -shm file behind."""
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(small_spec(**{"workers.backend": "ray"})))
    db = tmp_path / "s.db"
    done = subprocess.run([sys.executable, "-c", FINISHING_PARENT, "run", str(spec), "--store", str(db)], cwd=ROOT,
                          env={**os.environ, "RAY_DISABLE_USAGE_STATS": "1"}, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "0 False"
    # the child closed the store last: its -wal was folded into the file and removed with the -shm
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.db", "spec.json"]
    with open_store(db) as store:
        assert store.get_campaign("tiny-xor")["status"] == "finished"
