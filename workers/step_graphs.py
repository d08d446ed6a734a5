"""A bucket's training step on CUDA as a CUDA graph: captured once per mini-batch size, replayed.

Measured on an H200 (stop 40): one training of 64 digits candidates spent 652 ms of host time
for 34 ms of GPU work. A step is dozens of small kernels; the host launched 14,486 of them,
about 8 us each through torch's dispatcher and 114 us each through Triton's launcher. So the
GPU sat idle 95% of the time, and training ran at 0.36x two CPU cores. A CUDA graph records a
step's launches once, and one call replays them all: on the same H200, 4.0-4.5x the eager
steps' speed and 1.9-2.6x two CPU cores, with the eager steps' bits (benchmarks/README.md).

A step qualifies because it is static. It reads its mini-batch through a fixed index buffer,
and its parameters, optimizer state, dropout step and Adam's step count are tensors updated in
place on the device (:class:`workers.optim.Adam` with ``device_scalars``). The training loop
calls :class:`StepGraphs` with each mini-batch's row index:

- the first step of a given size runs eagerly on a side stream (the warm-up that compiles the
  Triton kernels and initializes cuBLAS; it is a real training step, not a throw-away);
- the next one of that size is captured and replayed;
- every later one copies its index into the graph's buffer and replays.

Python's cyclic garbage collector is off while a step is captured: it runs at any allocation, and
freeing another bucket's graph there is an operation the driver forbids during a capture (seen on
the H200: the capture failed at random points of the step). :class:`StepGraphs` holds no
reference to the training that calls it, so a finished bucket's graphs are freed at once.

The bits are those of the eager steps: the same kernels with the same arguments. A failed
capture (an operation the driver will not record) warns once and leaves the bucket eager.

torch provides the mechanism (``torch.cuda.CUDAGraph``); the policy is ours, because
``torch.cuda.graph``'s context manager empties the allocator's cache at every capture (a
bucket captures up to two graphs, a chunk has dozens of buckets), and ``make_graphed_callables``
graphs a module's forward and backward but not the optimizer.
"""

from __future__ import annotations

import gc
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch

__all__ = ["ENABLED", "StepGraphs", "keeps_step_numbers_on_device", "uses_step_graphs"]

ENABLED = True
"""Whether CUDA training replays captured steps (the tests turn it off to compare with eager steps)."""


def keeps_step_numbers_on_device(device: torch.device) -> bool:
    """Whether training on ``device`` keeps its per-step numbers (Adam's step count and bias
    corrections, the dropout step) as device tensors: every device but the CPU, whose results
    stay the bits they were with host scalars."""
    return device.type != "cpu"


def uses_step_graphs(device: torch.device) -> bool:
    """Whether a bucket trained on ``device`` replays CUDA graphs of its steps."""
    return ENABLED and device.type == "cuda"


@dataclass
class _Captured:
    graph: torch.cuda.CUDAGraph
    index: torch.Tensor   # the buffer the graph reads the mini-batch's row index from
    loss: torch.Tensor    # the buffer it writes the per-candidate loss to


class StepGraphs:
    """A training step ``step(index) -> loss`` run through CUDA graphs, one per shape of ``index``.

    ``step`` must update every tensor it changes in place (``params``, the leaves it trains,
    with their gradients cleared at its end), depend on nothing but ``index`` and such tensors,
    and be the same step at every call (a compacted stack needs new graphs). A refused capture
    may stop a step midway: ``params``' gradients are cleared then, so the eager steps start clean.
    """

    def __init__(self, device: torch.device, params: list[torch.Tensor]) -> None:
        self.device, self.params = device, params
        self.stream = torch.cuda.Stream(device)
        self.graphs: dict[tuple[int, ...], _Captured] = {}
        self.warmed: set[tuple[int, ...]] = set()
        self.failure: str | None = None

    def __call__(self, step: Callable[[torch.Tensor], torch.Tensor], index: torch.Tensor) -> torch.Tensor:
        """One training step on the mini-batch ``index``; its per-candidate loss."""
        key = tuple(index.shape)
        captured = self.graphs.get(key)
        if captured is None and self.failure is None and key in self.warmed:
            captured = self._capture(step, index)
        if captured is None:
            self.warmed.add(key)
            return self._on_side_stream(lambda: step(index))
        captured.index.copy_(index)
        captured.graph.replay()
        return captured.loss

    def _on_side_stream(self, work: Callable[[], torch.Tensor]) -> torch.Tensor:
        current = torch.cuda.current_stream(self.device)
        self.stream.wait_stream(current)
        with torch.cuda.stream(self.stream):
            out = work()
        current.wait_stream(self.stream)
        return out

    def _capture(self, step: Callable[[torch.Tensor], torch.Tensor], index: torch.Tensor) -> _Captured | None:
        """The graph of a step on ``index``'s shape; None (and eager steps from now on) when
        the driver refuses to capture it. Capturing runs nothing: the state is unchanged."""
        static_index = index.clone()
        graph = torch.cuda.CUDAGraph()

        def record() -> torch.Tensor:
            collecting = gc.isenabled()
            gc.disable()
            try:
                graph.capture_begin()
                try:
                    return step(static_index)
                finally:
                    graph.capture_end()
            finally:
                if collecting:
                    gc.enable()

        try:
            loss = self._on_side_stream(record)
        except Exception as exc:  # the step stays correct eagerly: note it, do not fail the bucket
            for p in self.params:
                p.grad = None
            self.failure = f"{type(exc).__name__}: {exc}"
            warnings.warn(f"CUDA graph capture of a training step failed, training eagerly: {self.failure}",
                          RuntimeWarning, stacklevel=2)
            return None
        captured = _Captured(graph, static_index, loss)
        self.graphs[tuple(index.shape)] = captured
        return captured
