"""``connevo run``/``resume``/``extend`` on Ray, watched from a parent process.

When the local Ray node dies under a campaign (its raylet, or the agents the raylet depends
on), Ray's C++ core worker ends the driver from native code: exit status 1, Ray's own log lines
on stderr, and no Python code runs, so nothing inside the driver can catch it, mark the campaign
or say what happened. (A remote cluster's head lost is the same.) So a campaign command whose
campaign trains on Ray runs in a child process, and this parent, which imports neither Ray nor
torch, watches it:

- the child's stdout and stderr pass through here, less Ray's internal log lines (kept for the
  one line below, never shown);
- SIGINT, SIGTERM and SIGHUP reach the child once each (the child has its own process group, so
  a terminal's Ctrl-C is not delivered twice), Ctrl-Z stops it and ``fg`` continues it;
- the child reports its campaign, store and driver name through a pipe once the campaign has
  started, and the campaign's end once it is written; when it ends without releasing the
  campaign (Ray killed it, SIGKILL, the OOM killer), the parent marks the campaign ``failed``
  with one line, prints it with the resume command and exits with :data:`EXIT_DRIVER_LOST`. A
  child that reported the end and exited with status 0 needs no check: the parent then never
  opens the store (its import and a query cost 0.7 s);
- the child dies with the parent (``PR_SET_PDEATHSIG``), so killing ``connevo run`` still ends
  its campaign's driver; the driver's name carries the parent's pid (:mod:`results.drivers`), so
  ``connevo resume`` may take the campaign over as soon as the parent is gone.

Every other exit status of the child is the command's. A supervisor wrapping a child process is
what ``torchrun``'s elastic agent does for the same reason; it is written here because no library
does this small job (signal forwarding, stream filtering, one database update) for us.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections import deque
from pathlib import Path
from typing import Any

from connevo.process_env import SUPERVISOR_PID_ENV

REPORT_FD_ENV = "CONNEVO_SUPERVISOR_FD"
"""Set in the child: the file descriptor it reports its campaign to (also: "I am supervised")."""
STDOUT_COLUMNS_ENV = "CONNEVO_STDOUT_COLUMNS"
STDERR_COLUMNS_ENV = "CONNEVO_STDERR_COLUMNS"
"""Set in the child when the supervisor's stdout / stderr is a terminal: its width (the child
writes to pipes, and draws tables and progress as for that terminal)."""
EXIT_DRIVER_LOST = 75
"""Exit status when the campaign's driver died without ending it (sysexits' EX_TEMPFAIL: resume)."""

RAY_LOG_LINE = re.compile(
    rb"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [DIWEF] \d+ \d+\]"  # Ray's C++ logger
    rb"|^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\t(?:DEBUG|INFO|WARNING|ERROR|CRITICAL) "  # Ray's Python logger
    rb"|^[EWIF]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ "  # gRPC/glog
    rb"|^\*\*\* |^\s+@ +0x|^PC: @"  # a native failure handler's stack dump
    rb"|^\((?:raylet|gcs_server|pid=\d+|\w+ pid=\d+)"  # worker and daemon output forwarded to the driver
)
ANSI_CODE = re.compile(rb"\x1b\[[0-9;]*[A-Za-z]")
SIGNALS_FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def wants_supervision(args: argparse.Namespace) -> bool:
    """Whether this campaign command's campaign trains on Ray (the only case Ray can kill it).
    Any question it cannot answer (a bad spec, an unknown campaign) is left to the command."""
    if os.environ.get(REPORT_FD_ENV) is not None:
        return False
    try:
        if args.command == "run":
            backend = args.backend or _spec_backend(args.spec)
        else:
            from connevo.results.store import open_store

            with open_store(args.store) as store:
                backend = store.get_campaign(args.campaign)["spec"]["workers"]["backend"]
    except Exception:
        return False
    return bool(backend == "ray")


def _spec_backend(path: str) -> Any:
    """``workers.backend`` of a spec file, read without validating it (the child validates it;
    importing the spec's model would import torch into this small process)."""
    import tomllib

    text = Path(path).read_text(encoding="utf-8")
    data = json.loads(text) if path.lower().endswith(".json") else tomllib.loads(text)
    return data.get("workers", {}).get("backend", "ray")


class StreamFilter:
    """Copies one of the child's streams to ours as it comes, keeping Ray's log lines back (and
    the indented lines that continue one of them)."""

    def __init__(self, source: Any, sink: Any) -> None:
        self.source = source
        self.sink = sink
        self.ray_lines: deque[str] = deque(maxlen=200)
        self.thread = threading.Thread(target=self._pump, name="connevo-stream", daemon=True)
        self._in_ray_message = False
        self.reader_gone = False

    def start(self) -> None:
        self.thread.start()

    def join(self) -> None:
        self.thread.join()

    def _is_ray(self, line: bytes) -> bool:
        plain = ANSI_CODE.sub(b"", line)
        if RAY_LOG_LINE.search(plain):
            self._in_ray_message = True
        elif not (self._in_ray_message and plain[:1] in (b"", b" ", b"\t", b"\r")):
            self._in_ray_message = False
            return False
        if plain.strip():
            self.ray_lines.append(plain.decode(errors="replace").strip())
        return True

    def _pump(self) -> None:
        pending = b""
        while chunk := os.read(self.source.fileno(), 65536):
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                if not self._is_ray(line):
                    self._write(line + b"\n")
            # a line still open (a progress bar redrawn in place) shows at once, unless it may
            # become one of Ray's
            plain = ANSI_CODE.sub(b"", pending).lstrip(b"\r")
            if plain and not self._in_ray_message and not plain.startswith((b"[", b"(", b"*", b" ", b"\t")) \
                    and not RAY_LOG_LINE.search(plain):
                self._write(pending)
                pending = b""
            self._write(b"", flush=True)
        if pending and not self._is_ray(pending):
            self._write(pending, flush=True)

    def _write(self, data: bytes, flush: bool = False) -> None:
        """Pass ``data`` on; once the reader has gone (``| head``), drop the rest quietly and keep
        draining the child, which must never block on a full pipe."""
        if self.reader_gone:
            return
        try:
            if data:
                self.sink.write(data)
            if flush:
                self.sink.flush()
        except (BrokenPipeError, ValueError, OSError):
            self.reader_gone = True


def ray_failure(lines: list[str]) -> str | None:
    """Why Ray failed, in a few words, from its held-back log lines: the raylet's last word if it
    sent one, else the last error its core worker logged."""
    for line in reversed(lines):
        if line.startswith("(raylet)") and "terminated" in line:
            return "its raylet ended unexpectedly (killed, out of memory, or crashed)"
        if line.startswith("(raylet)") and "marked dead" in line:
            return "Ray marked it dead (it missed too many heartbeats)"
    for line in reversed(lines):
        if re.search(r" [EF] \d+ \d+\]", line) and ":info_message:" not in line:
            return re.sub(r"^.*?\] (?:\S+\.cc:\d+: )?", "", line)[:300].rstrip(".")
    return None


def _exit_status(returncode: int) -> int:
    """A child's return code as a shell reports it (a signal N: 128 + N)."""
    return 128 - returncode if returncode < 0 else returncode


def _forward_signals(child: subprocess.Popen) -> dict[int, Any]:
    """Install the handlers that pass signals on to the child; returns the previous ones."""
    def forward(signum: int, _frame: Any) -> None:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM if signum == signal.SIGHUP else signum)

    def stop(_signum: int, _frame: Any) -> None:  # Ctrl-Z: stop the child, then ourselves
        if child.poll() is None:
            child.send_signal(signal.SIGSTOP)
        os.kill(os.getpid(), signal.SIGSTOP)

    def cont(_signum: int, _frame: Any) -> None:  # fg/bg
        if child.poll() is None:
            child.send_signal(signal.SIGCONT)

    previous = {s: signal.signal(s, forward) for s in SIGNALS_FORWARDED}
    previous[signal.SIGTSTP] = signal.signal(signal.SIGTSTP, stop)
    previous[signal.SIGCONT] = signal.signal(signal.SIGCONT, cont)
    return previous


def _die_with_parent() -> None:
    """In the child, before anything else: SIGKILL when the supervisor dies (Linux)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def terminal_columns(stream_env: str) -> int | None:
    """In the child: the width of the supervisor's terminal behind this stream, if it is one."""
    columns = os.environ.get(stream_env, "")
    return int(columns) if columns.isdigit() else None


def supervise(argv: list[str]) -> int:
    """Run ``connevo <argv>`` in a watched child process; returns the exit status."""
    read_fd, write_fd = os.pipe()
    env = {**os.environ, REPORT_FD_ENV: str(write_fd), SUPERVISOR_PID_ENV: str(os.getpid())}
    for stream, name in ((sys.stdout, STDOUT_COLUMNS_ENV), (sys.stderr, STDERR_COLUMNS_ENV)):
        if stream.isatty():
            env[name] = str(shutil.get_terminal_size().columns)
    sys.stdout.flush()
    sys.stderr.flush()
    child = subprocess.Popen([sys.executable, "-m", "connevo.service.cli", *argv], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=env, pass_fds=(write_fd,), process_group=0,
                             preexec_fn=_die_with_parent)
    os.close(write_fd)
    previous = _forward_signals(child)
    streams = [StreamFilter(child.stdout, sys.stdout.buffer), StreamFilter(child.stderr, sys.stderr.buffer)]
    for stream in streams:
        stream.start()
    try:
        returncode = child.wait()
        for stream in streams:
            stream.join()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if streams[0].reader_gone:  # what Python still holds for stdout goes nowhere, so no error at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    with os.fdopen(read_fd, "rb") as pipe:
        reports = [json.loads(line) for line in pipe.read().splitlines()]
    failure = ray_failure([line for stream in streams for line in stream.ray_lines])
    started = [report for report in reports if "driver" in report]
    if not started:
        if returncode != 0 and failure is not None:
            print(f"connevo: error: Ray failed before the campaign started: {failure}", file=sys.stderr)
        return _exit_status(returncode)
    if returncode == 0 and any("ended" in report for report in reports):
        return 0  # the child wrote its campaign's end and exited normally: nothing to check
    return _after_campaign(started[-1], returncode, failure)


def _after_campaign(report: dict[str, Any], returncode: int, ray_failure: str | None) -> int:
    """The child ended; if its campaign is still its own, it died without ending it: say why,
    release it as ``failed`` and return :data:`EXIT_DRIVER_LOST`."""
    from connevo.errors import CampaignBusyError
    from connevo.results.store import open_store

    campaign_id = report["campaign"]
    with open_store(report["store"]) as store:
        info = store.get_campaign(campaign_id)
        if info["status"] != "running" or info.get("driver") != report["driver"]:
            return _exit_status(returncode)  # it ended the campaign (or lost it) itself
        if returncode > 0:  # Python's own errors end the campaign first: this exit was Ray's, from native code
            where = f"the Ray cluster at {report['ray_address']}" if report.get("ray_address") else "the local Ray node"
            cause = f"{where} died: {ray_failure}" if ray_failure else \
                f"{where} died (Ray ended the driver with exit status {returncode})"
        elif returncode < 0:
            cause = f"the campaign's driver process was killed by {signal.Signals(-returncode).name}"
        else:
            cause = "the campaign's driver process ended without ending its campaign (exit status 0)"
        try:
            store.set_campaign_status(campaign_id, "failed", error=cause, driver=report["driver"])
        except CampaignBusyError:
            return _exit_status(returncode)  # another process took it over meanwhile
    print(f"connevo: {cause}; campaign {campaign_id} failed; `connevo resume {campaign_id}` continues it",
          file=sys.stderr)
    return EXIT_DRIVER_LOST


__all__ = ["EXIT_DRIVER_LOST", "StreamFilter", "ray_failure", "supervise", "terminal_columns", "wants_supervision"]
