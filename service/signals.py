"""SIGTERM stops a campaign the way Ctrl-C does: cleanly, resumable, with one line.

``kill``, systemd, SLURM at a time limit and Kubernetes send SIGTERM. Without a handler the
driver dies by the signal, and with Ray started Ray's own handler prints a native stack dump.
:class:`GracefulTermination` (a campaign observer) installs a Python handler once the campaign
has started, after Ray installed its own, so it replaces that one: the first SIGTERM asks the
campaign to stop at its next chunk boundary (status ``stopped``, every committed generation
kept, ``connevo resume`` continues); a second one interrupts at once, as a second Ctrl-C would.
The previous handler is put back when the campaign ends.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

from connevo.evolution.observers import CampaignObserver

EXIT_TERMINATED = 128 + signal.SIGTERM
"""The exit status of a process ended by SIGTERM, as shells report it."""


class GracefulTermination(CampaignObserver):
    """Turns SIGTERM into a stop request for the running campaign (main thread only)."""

    def __init__(self) -> None:
        self.received = False
        self._campaign: Any = None
        self._previous: Any = None
        self._installed = False

    def on_start(self, campaign) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers belong to the main thread (a server runs campaigns in others)
        self._campaign = campaign
        self._previous = signal.signal(signal.SIGTERM, self._handle)
        self._installed = True

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received:
            raise KeyboardInterrupt  # a second SIGTERM: stop now
        self.received = True
        self._campaign.request_stop()

    def on_finish(self, campaign, status, error) -> None:
        if self._installed:
            signal.signal(signal.SIGTERM, self._previous if self._previous is not None else signal.SIG_DFL)
            self._installed = False


__all__ = ["EXIT_TERMINATED", "GracefulTermination"]
