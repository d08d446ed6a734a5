"""Train and score candidates with torch: pure, the same in-process or in a Ray worker.

One training core, :func:`workers.batched.train_batched`: ``TrainingSettings.batched`` (the
default) trains a whole chunk in stacks of candidates of one shape; ``batched = False`` trains
each candidate alone (:func:`train_one`, a stack of one), for the lowest peak memory. Both give
a candidate the same evaluation bit for bit (a candidate's result never depends on its company).

Randomness of a candidate, in this fixed order and from its seed only: initial weights from
``torch.Generator().manual_seed(seed)`` drawn as :func:`search_space.compile.compile_genome`
draws them; the mini-batch order from a second ``Generator`` seeded with the seed, one
``randperm`` per epoch; dropout masks from :func:`workers.batched.dropout_noise`, a hash of
(seed, step, layer, row, neuron). No global random state is touched. A network with one output
on a two-class task gives the logit of class 1 (:func:`workers.batched.class_logits`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import torch
from threadpoolctl import ThreadpoolController

from connevo.allocator import keep_freed_memory
from connevo.blas import check_openblas_kernels
from connevo.errors import SpecError
from connevo.workers.batched import DataTensors, train_batched
from connevo.workers.hints import add_hints
from connevo.workers.latency import add_latency
from connevo.workers.records import Evaluation, EvaluationRequest, TrainingSettings
from connevo.workers.rewiring import train_rewiring
from connevo.workers.tasks import Dataset
from connevo.workers.threaded_products import product_threads


def resolve_device(name: str) -> torch.device:
    """"auto" is CUDA when this process sees a GPU, else the CPU; "cuda" where this process sees
    none is a :class:`~connevo.errors.SpecError` naming ``training.device``."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SpecError(f"training.device = {name!r}, but this process sees no CUDA device "
                        "(torch.cuda.is_available() is False): use \"auto\" or \"cpu\", or give the workers "
                        "GPUs (workers.gpus_per_worker)")
    return device


_BLAS: ThreadpoolController | None = None


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Train on one intra-op thread, and NumPy's BLAS (the CPU's products:
    :mod:`workers.kernels`) on one, so results do not depend on how many threads a worker has.
    The threads the caller had run a large stack's per-candidate products side by side, each
    call as it is on one (:mod:`workers.threaded_products`)."""
    global _BLAS
    if _BLAS is None:  # finds the BLAS libraries loaded (once: it walks the process's libraries)
        _BLAS = ThreadpoolController()
        check_openblas_kernels(_BLAS)
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with _BLAS.limit(limits=1, user_api="blas"), product_threads(previous):
            yield
    finally:
        torch.set_num_threads(previous)


def train(
    requests: Sequence[EvaluationRequest],
    dataset: Dataset,
    settings: TrainingSettings,
) -> list[Evaluation]:
    """Train every requested candidate on ``dataset``; one Evaluation each, in request order.

    A candidate that raises becomes ``failed``, one whose loss is NaN or infinite ``diverged``,
    one that runs past ``settings.time_limit`` ``timeout``: never an exception to the caller.
    ``settings.batched`` (default) trains the chunk together (:mod:`workers.batched`).
    ``settings.rewire_fraction > 0`` rewires each network between segments of its training
    (:mod:`workers.rewiring`). ``settings.structure_hints`` (default) adds to every trained
    genome what its training learned about structure (:mod:`workers.hints`), for the
    training-informed operators. ``settings.measure_latency`` adds each trained network's
    single-row inference time to its scores (:mod:`workers.latency`).
    """
    device = resolve_device(settings.device)
    keep_freed_memory()  # every step makes and drops blocks of megabytes (connevo/allocator.py)
    tensors = DataTensors(dataset, device)

    def train_chunk(chunk: Sequence[EvaluationRequest], hints: bool = False) -> list[Evaluation]:
        if settings.batched:  # hints measured on the stacks the candidates were scored with
            return train_batched(chunk, tensors, settings, device, hints=hints).evaluations
        evaluations = [train_one(request, tensors, settings, device) for request in chunk]
        return add_hints(evaluations, tensors, device) if hints else evaluations

    with single_thread():
        if settings.rewire_fraction > 0:
            evaluations = train_rewiring(requests, tensors, settings, device, train_chunk)
            if settings.structure_hints:  # of the last segment's rewired networks
                evaluations = add_hints(evaluations, tensors, device)
        else:
            evaluations = train_chunk(requests, hints=settings.structure_hints)
        if settings.measure_latency:
            evaluations = add_latency(evaluations)
        return evaluations


def train_one(
    request: EvaluationRequest,
    data: DataTensors,
    settings: TrainingSettings,
    device: torch.device,
) -> Evaluation:
    """Train one candidate alone: a stack of one (:func:`workers.batched.train_batched`), from
    fresh weights seeded by ``request.seed`` or, warm-started (:meth:`TrainingSettings.start`),
    from the weights and biases its genome carries. The same evaluation, bit for bit, as the
    candidate gets in any chunk."""
    return train_batched([request], data, settings, device).evaluations[0]


__all__ = ["resolve_device", "single_thread", "train", "train_one"]
