"""Real Ray nodes on this machine for the tests and the chaos benchmark: ``ray start --block``
nodes, each in its own session, temp dir and ports (``ray stop`` would stop every Ray here), and
the process trees to signal (Ray's workers are children of the raylet in process groups of their
own, so a process-group kill would miss them)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_time(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def tree(root: int) -> dict[int, str]:
    """``root`` and its descendants (pid -> start time). Ray's workers are children of the
    raylet but sit in process groups of their own, so a process group kill would miss them."""
    found: dict[int, str] = {}
    todo = [root]
    while todo:
        pid = todo.pop()
        started = start_time(pid)
        if started is None or pid in found:
            continue
        found[pid] = started
        for children in Path(f"/proc/{pid}/task").glob("*/children"):
            try:
                todo.extend(int(c) for c in children.read_text().split())
            except OSError:
                pass
    return found


def signal_all(pids: dict[int, str], sig: int) -> None:
    for pid, started in pids.items():
        if start_time(pid) == started:  # still the same process, not a reused pid
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass


class RayNode:
    """One ``ray start --block`` node in its own session and temp dir."""

    def __init__(self, name: str, args: list[str], temp_dir: Path, env: dict[str, str]) -> None:
        temp_dir.mkdir(parents=True)
        self.name = name
        self.log_path = temp_dir.parent / f"{name}.log"
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "ray.scripts.scripts", "start", "--block", f"--temp-dir={temp_dir}",
                 "--object-store-memory=100000000", "--disable-usage-stats", *args],
                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def wait_started(self, deadline: float) -> None:
        while "Ray runtime started" not in self.log():
            assert self.proc.poll() is None, f"{self.name} node exited {self.proc.returncode}:\n{self.log()}"
            assert time.monotonic() < deadline, f"{self.name} node did not start:\n{self.log()}"
            time.sleep(0.2)

    def trainer_busy(self) -> bool:
        """Whether a connevo trainer actor on this node is running a task right now."""
        return any(cmdline(pid).startswith("ray::_Trainer.train") for pid in tree(self.proc.pid))

    def kill(self) -> None:
        """SIGKILL the whole node at once, like a machine that vanishes."""
        procs = tree(self.proc.pid)
        signal_all(procs, signal.SIGSTOP)  # a stopped raylet starts no new workers
        procs.update(tree(self.proc.pid))
        signal_all(procs, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        procs = tree(self.proc.pid)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # ray start --block stops its node on SIGTERM
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                pass
        signal_all(procs, signal.SIGKILL)  # whatever did not go
        if self.proc.poll() is None:
            self.proc.wait(5)


__all__ = ["START_TIMEOUT", "RayNode", "cmdline", "free_port", "signal_all", "start_time", "tree"]
