"""The supervised side of :mod:`service.supervisor`: the driver tells its supervisor which
campaign it drives."""

from __future__ import annotations

import json
import os

from connevo.evolution.observers import CampaignObserver
from connevo.service.supervisor import REPORT_FD_ENV


class SupervisorReport(CampaignObserver):
    """In the child: tells the supervisor which campaign it drives, once it holds it."""

    def __init__(self) -> None:
        fd = os.environ.get(REPORT_FD_ENV)
        self.fd = int(fd) if fd and fd.isdigit() else None

    def on_start(self, campaign) -> None:
        if self.fd is None:
            return
        report = {"campaign": campaign.id, "driver": campaign.driver, "store": campaign.store.url,
                  "ray_address": campaign.spec.workers.ray_address}
        os.write(self.fd, (json.dumps(report) + "\n").encode())


__all__ = ["SupervisorReport"]
