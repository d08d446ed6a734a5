"""Ray evaluation: a pool of trainer actors, each holding the data set, fed chunks of genomes.

The data set is put in the object store once; every actor receives it once, at construction.
Requests are cut into chunks (by default a few per worker of about equal estimated training
time, candidates of one stacked shape together: :mod:`workers.chunking`; at most
:data:`workers.batched.MAX_BUCKET` candidates), which go, longest first, to whichever actor is
up and free.

Failures are handled here, not by Ray's actor restarts (``max_restarts=0``):

- A chunk whose actor died (its process, or its whole node) is retried on another actor, at
  most ``max_retries`` times; then its candidates become ``failed`` evaluations. Training is
  seeded per candidate, so a retried chunk gives the same evaluations wherever it runs.
- A fresh actor takes the dead one's place, but gets work only once it is actually running.
  When the cluster lost the node's CPUs, the replacement waits for resources while the
  surviving actors finish the work, so the campaign always goes on.
- An exception raised by the training code itself is not retried (it would fail again).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence

# Ray's native failure-signal handler (read when ray is imported) answers SIGTERM with a stack
# dump and takes the signal from the handlers the process had: `connevo run`'s clean stop,
# `connevo serve`'s (uvicorn's) graceful shutdown. connevo handles SIGTERM itself; set
# RAY_DISABLE_FAILURE_SIGNAL_HANDLER=0 to keep Ray's (it also prints native crash traces).
os.environ.setdefault("RAY_DISABLE_FAILURE_SIGNAL_HANDLER", "1")

import ray  # noqa: E402  (after the environment it reads)

from connevo.workers import records
from connevo.workers.batched import MAX_BUCKET
from connevo.workers.chunking import balanced_chunks
from connevo.workers.evaluator import Evaluator, ProgressCallback, by_shape, chunked
from connevo.workers.records import Evaluation, EvaluationRequest, Status, TrainingSettings
from connevo.workers.tasks import Dataset, polish_dataset
from connevo.workers.train import train

log = logging.getLogger(__name__)

#: A slot whose fresh actors fail to start this many times in a row is left empty until the
#: next :meth:`RayEvaluator.evaluate` (the other actors carry on).
MAX_START_FAILURES = 3
#: Seconds without any running actor after which a warning says the cluster lacks resources.
STARVED_WARNING_S = 60.0

_AUTH_LOGGER = "ray._private.authentication.authentication_token_setup"
_AUTH_ENABLED_NOTE = "Token authentication is enabled for this Ray cluster"
_WORKER_LOGGER = "ray._private.worker"
_NOT_MAIN_THREAD_NOTE = "SIGTERM handler is not set because current thread"  # a server starts Ray in a thread


class _Trainer:
    """Body of one Ray actor: the data set stays resident between chunks."""

    def __init__(self, dataset: Dataset, settings: TrainingSettings) -> None:
        self.dataset = dataset
        self.settings = settings
        self._merged: dict[str, Dataset] = {}  # the polish's rows, by training.polish_rows

    def train(self, chunk: bytes, polishing: TrainingSettings | None = None) -> bytes:
        """Train the pickled chunk of requests; the evaluations pickled (:func:`records.dumps`),
        trained weights as arrays (:func:`records.detach_weights`). ``polishing``: with these
        settings on the rows the final polish trains on (:func:`workers.tasks.polish_dataset`:
        training and validation rows, and the test rows where its ``polish_rows`` is "all")."""
        requests = records.loads(chunk)
        if polishing is None:
            evaluations = train(requests, self.dataset, self.settings)
        else:
            if polishing.polish_rows not in self._merged:
                self._merged[polishing.polish_rows] = polish_dataset(self.dataset, polishing.polish_rows)
            evaluations = train(requests, self._merged[polishing.polish_rows], polishing)
        return records.dumps([records.detach_weights(e, r) for e, r in zip(evaluations, requests)])

    def pid(self) -> int:
        return os.getpid()


class _DropNotes(logging.Filter):
    """Drops Ray's notices that a new local cluster has token authentication on (the default),
    and that ``ray.init`` from a thread sets no SIGTERM handler (the server's own handles it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith((_AUTH_ENABLED_NOTE, _NOT_MAIN_THREAD_NOTE))


def ensure_ray(address: str = "", num_cpus: int | None = None) -> bool:
    """Connect to ``address`` or start a local Ray in-process; True if this call started it.

    The embedded Ray keeps Ray's default token authentication; only Ray's notice saying so
    is dropped. A cluster started with token authentication (``RAY_AUTH_MODE=token`` on its
    ``ray start``) needs ``RAY_AUTH_MODE=token`` and the token (``RAY_AUTH_TOKEN`` or
    ``~/.ray/auth_token``) in the environment of the process that connects to it.
    """
    if ray.is_initialized():
        return False
    kwargs: dict = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.WARNING}
    notes = _DropNotes()
    loggers = [logging.getLogger(_AUTH_LOGGER), logging.getLogger(_WORKER_LOGGER)]
    for logger in loggers:
        logger.addFilter(notes)
    try:
        if not address:
            ray.init(address="local", num_cpus=num_cpus, **kwargs)  # never join a stray cluster
            return True
        try:
            ray.init(address=address, **kwargs)
        except ConnectionError as exc:
            if os.environ.get("RAY_AUTH_MODE", "").lower() != "token":
                raise ConnectionError(
                    f"{exc} (if the cluster uses token authentication, set RAY_AUTH_MODE=token and "
                    "RAY_AUTH_TOKEN, or the token in ~/.ray/auth_token, for this process)"
                ) from exc
            raise
        return True
    finally:
        for logger in loggers:
            logger.removeFilter(notes)


def shutdown_ray() -> None:
    """``ray.shutdown()``, without the second a local Ray's shutdown spends on its autoscaler
    monitor: Ray stops its GCS first and then sends the monitor SIGTERM, on which the monitor
    tries to report its own end to that GCS and hangs until Ray kills it a second later (Ray
    2.60; 1.0 of the 1.37 s ``ray.shutdown`` took, measured on 2 cores). The monitor of a Ray
    this process started has nothing to save, so it is killed first (:func:`_kill_local_monitor`).
    A connected cluster's processes are not this process's to stop: there it is
    ``ray.shutdown()`` alone."""
    _kill_local_monitor()
    ray.shutdown()


def _kill_local_monitor() -> bool:
    """Kill the autoscaler monitor of the Ray this process started (SIGKILL, reaped); True
    when one was running. Ray keeps its processes in private attributes of its node: a Ray
    without them (another version) is left to its own shutdown."""
    try:
        from ray._private import ray_constants, worker

        node = worker._global_node
        if node is None or not node.is_head():
            return False
        infos = list(node.all_processes.get(ray_constants.PROCESS_TYPE_MONITOR, []))
    except (ImportError, AttributeError):
        return False
    killed = False
    for info in infos:
        process = getattr(info, "process", None)
        if process is None or process.poll() is not None:
            continue
        process.kill()
        try:
            process.wait(timeout=5)
        except Exception:  # noqa: BLE001 - Ray's shutdown reaps it, as it would have
            pass
        killed = True
    return killed


def embedded_cpus(workers: int) -> int:
    """The logical CPUs an embedded Ray for ``workers`` workers starts with: the machine's, at
    least one per worker."""
    return max(workers, os.cpu_count() or 1)


def _headline(exc: BaseException) -> str:
    """An exception in one line for a progress message (Ray's run over several, with ids)."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")


class RayEvaluator(Evaluator):
    """Evaluates on Ray: an embedded local Ray by default, or the cluster at ``ray_address``."""

    def __init__(
        self,
        dataset: Dataset,
        settings: TrainingSettings,
        *,
        workers: int = 2,
        ray_address: str = "",
        gpus_per_worker: float = 0.0,
        cpus_per_worker: float = 1.0,
        chunk_size: int | None = None,
        max_retries: int = 2,
    ) -> None:
        super().__init__(dataset, settings)
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        self._started_ray = ensure_ray(ray_address, num_cpus=embedded_cpus(workers))
        self.workers = workers
        self.chunk_size = chunk_size
        self.max_retries = max_retries
        self._cpus, self._gpus = cpus_per_worker, gpus_per_worker
        self._dataset_ref = ray.put(dataset)
        # No restarts by Ray: a restarted actor could land on no node with room for it, and the
        # chunk sent to it would wait forever. Dead actors are replaced in evaluate().
        self._actor_class = ray.remote(_Trainer).options(
            num_cpus=cpus_per_worker,
            num_gpus=gpus_per_worker,
            max_restarts=0,
            max_task_retries=0,
        )
        self._actors: list = [None] * workers
        self._starting: dict[int, ray.ObjectRef] = {}  # slot -> ref that resolves once its actor runs
        self._start_failures = [0] * workers
        for slot in range(workers):
            self._start_actor(slot)
        self._closed = False

    # ----- actors ------------------------------------------------------------------------
    def _start_actor(self, slot: int) -> None:
        actor = self._actor_class.remote(self._dataset_ref, self.settings)
        self._actors[slot] = actor
        self._starting[slot] = actor.pid.remote()

    def _replace_actor(self, slot: int) -> None:
        old = self._actors[slot]
        if old is not None:
            try:
                ray.kill(old)  # frees its resources if it is in fact still alive
            except Exception:  # noqa: BLE001 - the actor or its node is gone already
                pass
        self._starting.pop(slot, None)
        self._start_actor(slot)

    def _started(self, slot: int, ref: ray.ObjectRef) -> bool:
        """Settle a slot whose start ref resolved; True if its actor is running."""
        del self._starting[slot]
        try:
            ray.get(ref)
        except ray.exceptions.RayError as exc:
            self._start_failures[slot] += 1
            if self._start_failures[slot] >= MAX_START_FAILURES:
                log.warning("a Ray worker failed to start %d times, leaving its slot empty: %s",
                            self._start_failures[slot], _headline(exc))
                self._actors[slot] = None
            else:
                log.warning("a Ray worker failed to start, starting another: %s", _headline(exc))
                self._replace_actor(slot)
            return False
        self._start_failures[slot] = 0
        return True

    def _chunks(self, requests: Sequence[EvaluationRequest]) -> list[list[EvaluationRequest]]:
        """The chunks of ``requests``, in the order workers take them: of ``chunk_size`` when it
        is set (in shape order when training is batched); else, batched, a few per worker of
        about equal estimated training time, longest first (:mod:`workers.chunking`); else one
        per worker."""
        if self.chunk_size:
            return chunked(by_shape(requests) if self.settings.batched else list(requests), self.chunk_size)
        if self.settings.batched:
            rows = min(self.settings.batch_size, len(self.dataset.x_train))
            return balanced_chunks(requests, self.settings, self.dataset.n_features, rows, self.workers)
        return chunked(list(requests), max(1, min(MAX_BUCKET, -(-len(requests) // self.workers))))

    # ----- evaluation --------------------------------------------------------------------
    def polishing(self, settings: TrainingSettings) -> Evaluator:
        """The final polish on this evaluator's workers: each holds the data set already and
        adds the polish's rows to its training rows itself; nothing more is sent."""
        return _Polishing(self, settings)

    def evaluate(
        self, requests: Sequence[EvaluationRequest], on_done: ProgressCallback | None = None
    ) -> list[Evaluation]:
        return self._evaluate(requests, on_done, None)

    def _evaluate(self, requests: Sequence[EvaluationRequest], on_done: ProgressCallback | None,
                  polishing: TrainingSettings | None) -> list[Evaluation]:
        """:meth:`evaluate`; ``polishing``: with these settings on the polish's rows."""
        if self._closed:
            raise RuntimeError("this RayEvaluator is closed")
        for slot, actor in enumerate(self._actors):
            if actor is None:  # given up on in an earlier call: try again
                self._start_failures[slot] = 0
                self._start_actor(slot)
        pending: list[tuple[list[EvaluationRequest], int]] = [(chunk, 0) for chunk in reversed(self._chunks(requests))]
        idle = [slot for slot in range(len(self._actors)) if slot not in self._starting]
        running: dict = {}  # task ref -> (slot, chunk, retries so far)
        results: dict[str, Evaluation] = {}
        starved_since: float | None = None

        def dispatch() -> None:
            while pending and idle:
                slot = idle.pop()
                chunk, tries = pending.pop()
                running[self._actors[slot].train.remote(records.dumps(chunk), polishing)] = (slot, chunk, tries)

        while pending or running:
            dispatch()
            waiting_for = {ref: slot for slot, ref in self._starting.items()}
            if not running and not waiting_for:  # every slot given up on
                for chunk, _ in pending:
                    done = [_failed(r, "no Ray worker could be started") for r in chunk]
                    results.update((e.candidate_id, e) for e in done)
                    if on_done is not None:
                        on_done(done)
                break
            if running:
                starved_since = None
            elif starved_since is None:
                starved_since = time.monotonic()
            elif time.monotonic() - starved_since > STARVED_WARNING_S:
                log.warning("no Ray worker has been able to start for %.0f s; waiting for cluster resources "
                            "(%s CPUs, %s GPUs per worker)", STARVED_WARNING_S, self._cpus, self._gpus)
                starved_since = time.monotonic()
            ready, _ = ray.wait([*running, *waiting_for], num_returns=1, timeout=STARVED_WARNING_S)
            finished = []
            for ref in ready:
                if ref in waiting_for:
                    slot = waiting_for[ref]
                    if self._started(slot, ref):
                        idle.append(slot)
                    continue
                slot, chunk, tries = running.pop(ref)
                done = self._collect(ref, slot, chunk, tries, pending)
                if slot not in self._starting:
                    idle.append(slot)
                if done is None:
                    continue  # retried
                results.update((e.candidate_id, e) for e in done)
                finished.append(done)
            dispatch()  # the freed workers take their next chunks before the driver records these
            if on_done is not None:
                for done in finished:
                    on_done(done)
        return [results[r.candidate_id] for r in requests]

    def _collect(self, ref, slot: int, chunk: list[EvaluationRequest], tries: int,
                 pending: list) -> list[Evaluation] | None:
        """The evaluations of a finished task, or None when its chunk went back to ``pending``."""
        try:
            payload = ray.get(ref)
            with records.gc_paused():
                return [records.attach_weights(d, r) for d, r in zip(records.loads(payload), chunk)]
        except (ray.exceptions.RayTaskError, ray.exceptions.TaskCancelledError) as exc:
            # The training code raised: the actor is fine, and a retry would fail the same way.
            log.warning("a worker failed on %d candidates: %s", len(chunk), exc)
            return [_failed(r, f"worker failed: {type(exc).__name__}: {exc}") for r in chunk]
        except ray.exceptions.RayError as exc:
            # The actor, its node or the result was lost: replace the actor, retry the chunk.
            self._replace_actor(slot)
            if tries < self.max_retries:
                log.warning("a Ray worker was lost while training %d candidates (%s); retrying them "
                            "(retry %d of %d)", len(chunk), type(exc).__name__, tries + 1, self.max_retries)
                pending.append((chunk, tries + 1))
                return None
            log.warning("a Ray worker was lost while training %d candidates, no retries left: %s", len(chunk),
                        _headline(exc))
            return [_failed(r, f"worker failed: {type(exc).__name__}: {exc}") for r in chunk]

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for actor in self._actors:
            if actor is not None:
                try:
                    ray.kill(actor)
                except Exception:  # noqa: BLE001 - already gone with its node
                    pass
        self._actors = []
        self._starting = {}
        if self._started_ray:
            shutdown_ray()


class _Polishing(Evaluator):
    """:meth:`RayEvaluator.polishing`: its workers, training on the polish's rows. Its
    ``dataset`` is the workers' (each adds the polish's rows to its training rows itself): the
    driver makes no copy of the rows, which at scale is hundreds of megabytes."""

    def __init__(self, workers: RayEvaluator, settings: TrainingSettings) -> None:
        super().__init__(workers.dataset, settings)
        self._workers = workers

    def evaluate(
        self, requests: Sequence[EvaluationRequest], on_done: ProgressCallback | None = None
    ) -> list[Evaluation]:
        return self._workers._evaluate(requests, on_done, self.settings)


def _failed(request: EvaluationRequest, error: str) -> Evaluation:
    return Evaluation(candidate_id=request.candidate_id, status=Status.FAILED, error=error[:2000], seconds=0.0)


__all__ = ["RayEvaluator", "embedded_cpus", "ensure_ray", "shutdown_ray"]
