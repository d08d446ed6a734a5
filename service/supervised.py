"""The supervised side of :mod:`service.supervisor`: the driver tells its supervisor which
campaign it drives, and that it wrote the campaign's end."""

from __future__ import annotations

import json
import os

from connevo.evolution.observers import CampaignObserver
from connevo.service.supervisor import REPORT_FD_ENV


class SupervisorReport(CampaignObserver):
    """In the child: tells the supervisor which campaign it drives, once it holds it, and how it
    ended once the store has that end (the campaign's store recorder hears of it first: a child
    that then exits with status 0 spares its supervisor opening the store to check)."""

    def __init__(self) -> None:
        fd = os.environ.get(REPORT_FD_ENV)
        self.fd = int(fd) if fd and fd.isdigit() else None

    def on_start(self, campaign) -> None:
        if self.fd is None:
            return
        report = {"campaign": campaign.id, "driver": campaign.driver, "store": campaign.store.url,
                  "ray_address": campaign.spec.workers.ray_address}
        self._write(report)

    def on_finish(self, campaign, status: str, error: str | None) -> None:
        if self.fd is not None:
            self._write({"campaign": campaign.id, "ended": status})

    def _write(self, report: dict) -> None:
        assert self.fd is not None
        os.write(self.fd, (json.dumps(report) + "\n").encode())


__all__ = ["SupervisorReport"]
