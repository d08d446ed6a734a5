"""How closely ``evolution.time_limit`` keeps a campaign to its limit.

Run from the repository root: ``python -m benchmarks.time_limit [--dataset digits] [--limits 20,40,80]
[--backend ray]``. Each limit runs the quick-start's campaign (every default, ``evolution.generations``
raised to 500 so that the limit, not the generations, ends it) through ``Campaign.run``, the clock the
limit counts on, on this machine, one after the other. Per limit: the campaign's wall time and its
ratio to the limit, the generations evolved, the polish's seconds, the front's size. Nothing is
asserted. The last line is ``worst_wall_over_limit=<ratio>`` (above 1: a campaign ended past its limit).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from benchmarks.common import ROOT
from connevo.evolution import Campaign, CampaignObserver, load_spec
from connevo.results.store import open_store


class PolishClock(CampaignObserver):
    """The seconds of the final polish, as the campaign reports them."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def on_polish(self, campaign, report) -> None:  # type: ignore[no-untyped-def]
        self.seconds = report.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="digits", help="task.dataset of the quick-start spec")
    parser.add_argument("--limits", default="20,40,80", help="comma-separated time limits, in seconds")
    parser.add_argument("--backend", choices=["ray", "local"], default="ray")
    args = parser.parse_args()
    base = load_spec(ROOT / "examples" / "quickstart.toml")
    worst = 0.0
    print(f"{'limit s':>8} {'wall s':>8} {'wall/limit':>10} {'generations':>11} {'polish s':>9} {'front':>6}")
    for limit in (float(v) for v in args.limits.split(",")):
        spec = base.with_overrides(**{"task.dataset": args.dataset, "evolution.generations": 500,
                                      "evolution.time_limit": limit, "workers.backend": args.backend})
        with tempfile.TemporaryDirectory(prefix="time-limit-") as tmp:
            store = open_store(str(Path(tmp) / "s.db"))
            clock = PolishClock()
            campaign = Campaign(spec, store, observers=[clock])
            began = time.monotonic()
            campaign.run()
            wall = time.monotonic() - began
            info = store.get_campaign(campaign.id)
            store.close()
        worst = max(worst, wall / limit)
        print(f"{limit:8.0f} {wall:8.1f} {wall / limit:10.3f} {info['generations_done'] - 1:11d} "
              f"{clock.seconds:9.1f} {campaign.front_size:6d}", flush=True)
    print(f"worst_wall_over_limit={worst:.3f}")


if __name__ == "__main__":
    main()
