"""Measure what training learned about structure: the hints of :mod:`search_space.hints`.

After a candidate has trained, one forward and backward pass of its trained network over the
first :data:`HINT_ROWS` training rows gives, per level, the activations ``a`` and the deltas
``d = dL/dz`` of the mean loss ``L`` (cross-entropy, or a regression's squared error:
:mod:`workers.losses`). For a connection the genome lacks, from a neuron
``i`` of an earlier level to a neuron ``j``, ``dL/dw_ij`` at ``w_ij = 0`` is ``sum_rows a_i d_j``:
one matrix product per pair of levels (RigL's growth criterion). Only pairs from a lower to a
higher level are proposed, so a grown connection never closes a cycle. The matrix of the inputs
against the outputs also gives the neuron GradMax would add: its fan-in is the top left
singular vector (the direction of inputs whose new neuron gets the largest gradient on its
fan-out), its fan-out the outputs of the top right singular vector.

Both training paths measure them with :func:`stack_hints`: the batched trainer on the stack it
scored a bucket with, the one-at-a-time path through :func:`add_hints` on warm-start plans of the
trained genomes. The weights are the same either way, so the hints are the same whichever path
trained, and a candidate's hints do not depend on the other candidates measured with it (one
BLAS call per candidate, :func:`workers.kernels.per_candidate_matmul`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import torch

from connevo.search_space.gene_index import PairIndex
from connevo.search_space.genome import Genome
from connevo.search_space.hints import StructureHints
from connevo.workers.data_tensors import DataTensors
from connevo.workers.kernels import per_candidate_matmul
from connevo.workers.merging import product_parts
from connevo.workers.plans import Plan, build_plan
from connevo.workers.records import Evaluation, EvaluationRequest, TrainingSettings
from connevo.workers.stack import Stack

log = logging.getLogger(__name__)

HINT_ROWS = 1024
"""Training rows the hints are measured on (the first ones of the training part)."""
GROW_HINTS = 32
"""Absent connections proposed per candidate."""
NEURON_FAN_IN = 16
"""Inputs of the proposed neuron's fan-in, at most."""


def add_hints(evaluations: Sequence[Evaluation], data: DataTensors, device: torch.device,
              grow: int = GROW_HINTS) -> list[Evaluation]:
    """``evaluations`` with hints on the trained genome of every successful one (``grow``:
    absent connections proposed per candidate, at most)."""
    out = list(evaluations)
    buckets: dict[tuple, list[tuple[int, Plan]]] = {}
    for k, e in enumerate(evaluations):
        if not e.ok or e.trained_genome is None:
            continue
        request = EvaluationRequest(e.candidate_id, e.trained_genome, 0, costs={}, epochs=0, warm_start=True)
        plan = build_plan(request, data.n_features, data.outputs_needed, _SETTINGS)
        buckets.setdefault(tuple(plan.shape), []).append((k, plan))
    for members in buckets.values():
        plans = [plan for _, plan in members]
        hints = stack_hints(plans, data, device, grow)
        if hints is None:
            continue
        for (k, plan), hint in zip(members, hints):
            out[k] = replace(out[k], trained_genome=plan.request.genome.replace(hints=hint))
    return out


_SETTINGS = TrainingSettings()


def stack_hints(plans: Sequence[Plan], data: DataTensors, device: torch.device, grow: int = GROW_HINTS,
                stack: Stack | None = None) -> list[StructureHints] | None:
    """The hints of trained candidates of one shape, from one stacked forward and backward pass.
    ``plans``: their plans (what is read of them is their structure); ``stack``: their trained
    stack, row by row, when the caller has it (the batched trainer passes the one it scored: no
    second plan or stack), else one is built from ``plans`` (warm-start plans of the trained
    genomes). None when they cannot be measured (logged: hints are advice, the candidates stay
    as trained)."""
    try:
        return _measure(stack if stack is not None else Stack.build(plans, device), list(plans), data, grow)
    except Exception as exc:
        log.warning("structure hints of %d candidates could not be measured: %s", len(plans), exc)
        return None


def _measure(stack: Stack, plans: list[Plan], data: DataTensors, grow: int) -> list[StructureHints]:
    """The hints of every plan of one shape, from one stacked forward and backward pass."""
    rows = min(HINT_ROWS, int(data.x_train.shape[0]))
    x = data.x_train[:rows]
    y = data.y_train[:rows]
    count = len(plans)
    inputs = x.expand(count, *x.shape)
    trace: list[tuple[torch.Tensor, torch.Tensor]] = []
    logits = stack.forward(inputs, trace=trace)
    loss = data.loss.rows(logits.float(), y).mean(dim=1)
    deltas = torch.autograd.grad(loss.sum(), [z for z, _ in trace])
    activations = [inputs] + [a.detach() for _, a in trace]
    blocks: dict[tuple[int, int], np.ndarray] = {}
    with torch.no_grad():
        for target, delta in enumerate(deltas, start=1):
            for source in range(target):
                parts = product_parts(stack.own_shapes, stack.shape, source, target)
                product = per_candidate_matmul(activations[source].transpose(1, 2), delta, parts=parts)
                blocks[source, target] = product.float().cpu().numpy()
    return [_hints(plan, {key: block[c] for key, block in blocks.items()}, grow) for c, plan in enumerate(plans)]


def _hints(plan: Plan, blocks: dict[tuple[int, int], np.ndarray], count: int = GROW_HINTS) -> StructureHints:
    """One candidate's hints from its gradient blocks ``(source level, target level) -> (i, j)``."""
    genome: Genome = plan.request.genome
    ids = [list(genome.input_ids), *plan.orders]  # node ids per level; padding has none
    sources, targets, scores = [], [], []
    for (source_level, target_level), block in blocks.items():
        src = np.asarray(ids[source_level], dtype=np.int64)
        tgt = np.asarray(ids[target_level], dtype=np.int64)
        magnitude = np.abs(block[: len(src), : len(tgt)])
        sources.append(np.repeat(src, len(tgt)))  # row-major pairs of the block: (src[i], tgt[j])
        targets.append(np.tile(tgt, len(src)))
        scores.append(magnitude.ravel())
    grow: tuple[tuple[int, int, float], ...] = ()
    if scores:
        s_all, t_all, g_all = np.concatenate(sources), np.concatenate(targets), np.concatenate(scores)
        absent = ~PairIndex(genome).present(s_all, t_all)
        s_all, t_all, g_all = s_all[absent], t_all[absent], g_all[absent]
        if len(g_all) > count > 0 and np.isfinite(g_all).all():  # only pairs as large as the count-th can be chosen
            near = g_all >= np.partition(g_all, len(g_all) - count)[len(g_all) - count]
            s_all, t_all, g_all = s_all[near], t_all[near], g_all[near]
        order = np.lexsort((t_all, s_all, -g_all))[:count]  # largest gradient; ties by ids
        chosen = zip(s_all[order].tolist(), t_all[order].tolist(), g_all[order].astype(np.float64).tolist())
        grow = tuple((s, t, g) for s, t, g in chosen if g > 0)
    neuron_in, neuron_out = _gradmax(genome, blocks.get((0, len(ids) - 1)), ids[-1])
    return StructureHints(grow, neuron_in, neuron_out)


def _gradmax(genome: Genome, block: np.ndarray | None, outputs: list[int]
             ) -> tuple[tuple[tuple[int, float], ...], tuple[tuple[int, float], ...]]:
    """The fan-in (inputs, unit-norm weights) and fan-out (outputs, |gradient|) of the neuron
    whose fan-out gets the largest gradient: the top singular pair of the input-output gradient."""
    if block is None or not outputs:
        return (), ()
    matrix = block[: genome.n_inputs, : len(outputs)].astype(np.float64)
    if not np.any(matrix):
        return (), ()
    left, values, right = np.linalg.svd(matrix, full_matrices=False)
    u, v = left[:, 0], right[0] * values[0]
    if u[int(np.argmax(np.abs(u)))] < 0:  # a singular vector's sign is arbitrary: fix it
        u, v = -u, -v
    fan_in = np.lexsort((np.arange(len(u)), -np.abs(u)))[:NEURON_FAN_IN]
    norm = float(np.linalg.norm(u[fan_in])) or 1.0
    inputs = genome.input_ids
    neuron_in = tuple((int(inputs[k]), float(u[k] / norm)) for k in fan_in if u[k] != 0)
    fan_out = np.lexsort((np.arange(len(v)), -np.abs(v)))
    neuron_out = tuple((int(outputs[k]), float(abs(v[k]))) for k in fan_out if v[k] != 0)
    return neuron_in, neuron_out
