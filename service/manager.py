"""Campaigns run in the background of the HTTP service: one daemon thread per campaign.

The :class:`CampaignManager` owns the threads and the :class:`~evolution.campaign.Campaign`
handles (to stop them), counts live progress through an observer, and makes sure that several
campaigns on the Ray backend share one Ray instance: Ray is started (or joined) once, by the
manager, so that no campaign's evaluator shuts it down under the others when it finishes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from connevo.errors import CampaignBusyError, ConnevoError
from connevo.evolution.campaign import Campaign
from connevo.evolution.observers import CampaignObserver
from connevo.evolution.spec import CampaignSpec
from connevo.evolution.time_limit import stopped_at_time_limit
from connevo.results.storage import BaseStore

log = logging.getLogger(__name__)


class ConflictError(ConnevoError):
    """The request conflicts with a campaign's state (stop a campaign that is not running)."""

    http_status = 409


class TooManyCampaignsError(ConnevoError):
    """The service already runs as many campaigns as it allows."""

    http_status = 429


class _Progress(CampaignObserver):
    """Live counters of one campaign, finer than the store's per-generation rows."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.generation: int | None = None
        self.generation_size = 0
        self.evaluated_in_generation = 0
        self.evaluated = 0

    def on_generation_start(self, campaign: Campaign, generation: int, size: int) -> None:
        with self._lock:
            self.generation = generation
            self.generation_size = size
            self.evaluated_in_generation = 0

    def on_evaluations(self, campaign: Campaign, evaluations: list[Any]) -> None:
        with self._lock:
            self.evaluated_in_generation += len(evaluations)
            self.evaluated += len(evaluations)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "generation": self.generation,
                "generation_size": self.generation_size,
                "evaluated_in_generation": self.evaluated_in_generation,
                "evaluated_since_start": self.evaluated,
            }


class _RayHost:
    """Starts (or joins) Ray from a thread of its own that lives until :meth:`close`.

    Ray started with ``ray.init`` from a thread other than the main one must keep that thread
    alive: once it ends, the next Ray call from any other thread ends the process (exit status
    1, no traceback; seen with Ray 2.x). So the service's Ray lives in this thread, and
    its shutdown (:func:`~workers.ray_evaluator.shutdown_ray`) runs there too.
    """

    def __init__(self, address: str) -> None:
        self.address = address
        self.started = False
        self.error: BaseException | None = None
        self._ready = threading.Event()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._main, name="connevo-ray", daemon=True)

    def _main(self) -> None:
        from connevo.workers.ray_evaluator import ensure_ray

        try:
            self.started = ensure_ray(self.address)
        except BaseException as exc:  # noqa: BLE001 - handed to the campaign that asked
            self.error = exc
        finally:
            self._ready.set()
        self._closing.wait()
        if self.started:
            from connevo.workers.ray_evaluator import shutdown_ray

            shutdown_ray()

    def start(self) -> None:
        """Start Ray (or join the Ray this process runs already); raise what ``ray.init`` raised."""
        self._thread.start()
        self._ready.wait()
        if self.error is not None:
            raise self.error

    def close(self, timeout: float = 30.0) -> None:
        """Shut Ray down if this host started it."""
        self._closing.set()
        self._thread.join(timeout)


@dataclass
class _Handle:
    campaign: Campaign
    progress: _Progress
    thread: threading.Thread | None = None
    started_at: float = field(default_factory=time.monotonic)


class CampaignManager:
    """Runs campaigns in daemon threads over one shared store.

    ``max_concurrent`` campaigns may run at once; each Ray worker of a campaign launched here
    reserves ``cpus_per_worker`` Ray CPUs (default ``1 / max_concurrent``), so that campaigns
    sharing a small machine do not wait on each other's reservations. Thread-safe.
    """

    def __init__(self, store: BaseStore, *, max_concurrent: int = 4, cpus_per_worker: float | None = None) -> None:
        if max_concurrent < 1:
            raise ValueError(f"max_concurrent must be >= 1, got {max_concurrent}")
        self.store = store
        self.max_concurrent = max_concurrent
        self.cpus_per_worker = cpus_per_worker if cpus_per_worker is not None else 1.0 / max_concurrent
        self._handles: dict[str, _Handle] = {}
        self._lock = threading.Lock()
        self._ray_lock = threading.Lock()
        self._ray: _RayHost | None = None

    # ----- launching ---------------------------------------------------------------------
    def prepare(self, spec: CampaignSpec) -> CampaignSpec:
        """The spec as this manager runs it: Ray workers reserve a share of a CPU."""
        if spec.workers.backend != "ray":
            return spec
        return spec.with_overrides(**{"workers.cpus_per_worker": self.cpus_per_worker})

    def launch(self, spec: CampaignSpec) -> str:
        """Create the campaign row and start running it in the background; return its id.

        Raises :class:`TooManyCampaignsError` when ``max_concurrent`` campaigns run already, and
        whatever loading the data set raises (a :class:`~connevo.errors.DataError`) before
        anything is stored.
        """
        with self._lock:
            self._check_capacity()  # fail early, before loading the data
        progress = _Progress()
        campaign = Campaign(self.prepare(spec), self.store, observers=[progress])
        with self._lock:
            self._check_capacity()
            campaign_id = campaign.create()
            self._start(campaign_id, _Handle(campaign, progress))
        return campaign_id

    def resume(self, id_or_name: str, factory: Callable[..., Campaign] | None = None, *,
               generations: int | None = None) -> str:
        """Continue a stopped, failed or interrupted campaign (or one its time limit stopped before
        its last generation) in the background; return its id.
        With ``generations``, extend the campaign (finished or not) to that many generations
        (:mod:`evolution.extension`).

        ``factory`` defaults to ``Campaign.from_store`` (called as
        ``factory(store, id_or_name, observers=[...])``, plus ``generations=`` when extending).
        """
        info = self.store.get_campaign(id_or_name)
        campaign_id = str(info["id"])
        if info["status"] == "finished" and generations is None and not stopped_at_time_limit(info):
            raise ConflictError(f"campaign {campaign_id!r} is finished; there is nothing to resume "
                                f"(POST /campaigns/{campaign_id}/extend gives it more generations)")
        with self._lock:
            if self._alive(campaign_id):
                raise ConflictError(f"campaign {campaign_id!r} is running in this service already")
            self._check_capacity()
            progress = _Progress()
            if factory is None:
                factory = Campaign.from_store  # type: ignore[attr-defined]
            extension: dict[str, Any] = {} if generations is None else {"generations": generations}
            campaign = factory(self.store, campaign_id, observers=[progress], **extension)
            prepared = self.prepare(campaign.spec)
            if prepared is not campaign.spec:
                campaign.spec = prepared  # only where Ray places workers: results do not change
            self._start(campaign_id, _Handle(campaign, progress))
        return campaign_id

    def _check_capacity(self) -> None:
        running = sum(1 for cid in self._handles if self._alive(cid))
        if running >= self.max_concurrent:
            raise TooManyCampaignsError(
                f"{running} campaigns are running, the most this service runs at once "
                f"(limits.max_concurrent = {self.max_concurrent}); stop one or wait"
            )

    def _start(self, campaign_id: str, handle: _Handle) -> None:
        thread = threading.Thread(
            target=self._run, args=(campaign_id, handle), name=f"campaign-{campaign_id}", daemon=True
        )
        handle.thread = thread
        for done in [cid for cid in self._handles if not self._alive(cid)]:
            del self._handles[done]
        self._handles[campaign_id] = handle
        thread.start()

    def _run(self, campaign_id: str, handle: _Handle) -> None:
        """Thread body: never raises; a campaign that breaks ends as status "failed"."""
        try:
            if handle.campaign.spec.workers.backend == "ray":
                self._ensure_ray(handle.campaign.spec)
            handle.campaign.run()
        except BaseException as exc:  # noqa: BLE001 - the service must outlive any campaign
            log.warning("campaign %s ended with %s: %s", campaign_id, type(exc).__name__, exc)
            try:
                if self.store.get_campaign(campaign_id)["status"] == "running":  # and still this driver's
                    self.store.set_campaign_status(campaign_id, "failed", f"{type(exc).__name__}: {exc}"[:2000],
                                                   driver=handle.campaign.driver)
            except CampaignBusyError:
                pass  # another process runs it now: its status is that process's to write
            except Exception:  # noqa: BLE001
                log.exception("cannot record the failure of campaign %s", campaign_id)

    def _ensure_ray(self, spec: CampaignSpec) -> None:
        """One Ray for every campaign of this manager, started before any evaluator needs it."""
        with self._ray_lock:
            if self._ray is None or self._ray.error is not None:
                host = _RayHost(spec.workers.ray_address)
                self._ray = host
                host.start()

    # ----- state -------------------------------------------------------------------------
    def _alive(self, campaign_id: str) -> bool:
        handle = self._handles.get(campaign_id)
        return handle is not None and handle.thread is not None and handle.thread.is_alive()

    def is_running(self, campaign_id: str) -> bool:
        """True while ``campaign_id`` runs in a thread of this manager."""
        with self._lock:
            return self._alive(campaign_id)

    def running(self) -> list[str]:
        """Ids of the campaigns that run in this manager now."""
        with self._lock:
            return [cid for cid in self._handles if self._alive(cid)]

    def progress(self, campaign_id: str) -> dict[str, Any] | None:
        """Live counters of a campaign running here, or None."""
        with self._lock:
            handle = self._handles.get(campaign_id)
            if handle is None or not self._alive(campaign_id):
                return None
        return handle.progress.snapshot()

    def stop(self, campaign_id: str) -> None:
        """Ask a running campaign to stop at its next chunk boundary (it ends as "stopped")."""
        with self._lock:
            handle = self._handles.get(campaign_id)
            if handle is None or not self._alive(campaign_id):
                raise ConflictError(f"campaign {campaign_id!r} is not running in this service")
        handle.campaign.request_stop()

    def wait(self, campaign_id: str, timeout: float | None = None) -> bool:
        """Wait for a campaign's thread to end; True if it ended (or never ran here)."""
        with self._lock:
            handle = self._handles.get(campaign_id)
        if handle is None or handle.thread is None:
            return True
        handle.thread.join(timeout)
        return not handle.thread.is_alive()

    def shutdown(self, timeout: float = 30.0) -> list[str]:
        """Stop every running campaign (they end as "stopped", resumable) and wait for them;
        returns the ids of the campaigns it stopped."""
        with self._lock:
            running = [(cid, h) for cid, h in self._handles.items() if self._alive(cid)]
        for _, handle in running:
            handle.campaign.request_stop()
        deadline = time.monotonic() + timeout
        for _, handle in running:
            assert handle.thread is not None
            handle.thread.join(max(0.0, deadline - time.monotonic()))
        with self._ray_lock:
            if self._ray is not None:
                self._ray.close()
                self._ray = None
        return [cid for cid, _ in running]


__all__ = ["CampaignManager", "ConflictError", "TooManyCampaignsError"]
