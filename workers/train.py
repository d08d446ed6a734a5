"""Train and score candidates with torch: pure, the same in-process or in a Ray worker.

Two paths give the same metrics within float rounding: :func:`workers.batched.train_batched`
(the default, ``TrainingSettings.batched``) trains a whole chunk together; :func:`train_one`
trains one candidate with its own :class:`search_space.compile.GenomeNetwork`.

Randomness of a candidate, in this fixed order and from its seed only: initial weights from
``torch.Generator().manual_seed(seed)`` (:func:`search_space.compile.compile_genome`); the
mini-batch order from a second ``Generator`` seeded with the seed, one ``randperm`` per epoch;
dropout masks from :func:`workers.batched.dropout_noise`, a hash of (seed, step, layer, row,
neuron). No global random state is touched. A network with one output on a two-class task
gives the logit of class 1 (:func:`workers.batched.class_logits`).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator, Sequence

import torch
from torch import nn

from search_space.compile import ACTIVATION_FUNCTIONS, GenomeNetwork, compile_genome
from search_space.cost import measure
from search_space.genome import ConnectionGene, Genome, NodeGene
from workers.batched import Adam, DataTensors, check_fits, class_logits, dropout_noise, seed_key, train_batched
from workers.hints import add_hints
from workers.records import Evaluation, EvaluationRequest, Status, TrainingSettings
from workers.tasks import Dataset

_Tensors = DataTensors  # the name this module used before


class _Diverged(Exception):
    pass


class _TimedOut(Exception):
    pass


def resolve_device(name: str) -> torch.device:
    """"auto" is CUDA when this process sees a GPU, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Train on one intra-op thread so results do not depend on how many threads a worker has."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
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
    ``settings.structure_hints`` (default) adds to every trained genome what its training learned
    about structure (:mod:`workers.hints`), for the training-informed operators.
    """
    device = resolve_device(settings.device)
    tensors = DataTensors(dataset, device)
    with single_thread():
        if settings.batched:
            evaluations = train_batched(requests, tensors, settings, device).evaluations
        else:
            evaluations = [train_one(request, tensors, settings, device) for request in requests]
        if settings.structure_hints:
            evaluations = add_hints(evaluations, tensors, device)
        return evaluations


def _forward(net: GenomeNetwork, x: torch.Tensor, key: torch.Tensor | None = None,
             dropout: torch.Tensor | None = None, step: int = 0) -> torch.Tensor:
    """``net``'s forward pass; with ``key`` (training), dropout from :func:`dropout_noise`."""
    acts = x
    last = len(net.weights) - 1
    for i, (weight, bias, groups) in enumerate(zip(net.effective_weights(), net.biases, net.layer_groups)):
        z = nn.functional.linear(acts, weight, bias)
        parts = [ACTIVATION_FUNCTIONS[act](z[:, start:end]) for act, start, end in groups]
        new = torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]
        if key is not None and dropout is not None and i < last:  # hidden layers only
            new = new * dropout_noise(key, dropout, step, i + 1, new.shape[0], new.shape[1])[0].to(new.dtype)
        acts = torch.cat([acts, new], dim=1)
    return acts[:, net.output_columns]


def _score(net: GenomeNetwork, x: torch.Tensor, y: torch.Tensor, autocast: contextlib.AbstractContextManager
           ) -> tuple[float, float]:
    with autocast:
        logits = _forward(net, x)
    logits = class_logits(logits.float())
    loss = nn.functional.cross_entropy(logits, y).item()
    accuracy = int((logits.argmax(dim=1) == y).sum()) / y.shape[0]
    return accuracy, loss


def export_weights(net: GenomeNetwork, genome: Genome) -> Genome:
    """A copy of ``genome`` (regularization genes kept) carrying ``net``'s weights on its
    effective connections and its biases on its live nodes."""
    weights = [w.detach().float().cpu().numpy() for w in net.effective_weights()]
    biases = [b.detach().float().cpu().numpy() for b in net.biases]
    position = {node: (layer, row) for layer, nodes in enumerate(net.layer_nodes) for row, node in enumerate(nodes)}
    column = net._column
    connections = []
    for c in genome.connections:
        if c.target in position and c.enabled:
            layer, row = position[c.target]
            c = ConnectionGene(c.innovation, c.source, c.target, c.enabled,
                               float(weights[layer][row, column[c.source]]), c.group)
        connections.append(c)
    nodes = []
    for n in genome.nodes:
        if n.id in position:
            layer, row = position[n.id]
            n = NodeGene(n.id, n.role, n.activation, float(biases[layer][row]), n.x, n.y)
        nodes.append(n)
    return Genome(tuple(nodes), tuple(connections), genome.regularization)


def train_one(
    request: EvaluationRequest,
    data: DataTensors,
    settings: TrainingSettings,
    device: torch.device,
) -> Evaluation:
    """Train one candidate from fresh weights seeded by ``request.seed`` or, warm-started
    (:meth:`TrainingSettings.warm_start`), from the weights and biases its genome carries."""
    start = time.perf_counter()
    genome = request.genome
    costs: dict = {}
    epochs_run = 0
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=settings.precision == "bfloat16")
    try:
        costs = dict(request.costs) if request.costs is not None else measure(genome).as_dict()
        check_fits(genome, data.n_features, data.n_classes)
        shuffle = torch.Generator().manual_seed(request.seed)
        warm, epochs = settings.start(request)
        net = compile_genome(genome, seed=request.seed, use_genome_weights=warm,
                             new_weight_scale=settings.new_weight_scale).to(device)
        key = torch.tensor([seed_key(request.seed)], dtype=torch.int64, device=device)
        dropout = torch.tensor([net.dropout], dtype=torch.float32, device=device) if net.dropout > 0 else None
        optimizer = Adam(list(net.parameters()), settings.learning_rate)
        n = data.x_train.shape[0]
        best_val = math.inf
        best_state = None
        stale = 0
        step = 0
        for epoch in range(epochs):
            net.train()
            order = torch.randperm(n, generator=shuffle).to(device)
            epoch_loss = torch.zeros((), device=device)
            for begin in range(0, n, settings.batch_size):
                index = order[begin : begin + settings.batch_size]
                with autocast:
                    logits = _forward(net, data.x_train[index], key, dropout, step)
                loss = nn.functional.cross_entropy(class_logits(logits.float()), data.y_train[index])
                objective = loss + net.penalty() if net.weight_decay > 0 else loss
                objective.backward()
                optimizer.step()
                epoch_loss += loss.detach()
                step += 1
                if time.perf_counter() - start > settings.time_limit:
                    raise _TimedOut(
                        f"training ran past the time limit of {settings.time_limit:g} s in epoch {epoch + 1}"
                    )
            epochs_run = epoch + 1
            if not math.isfinite(epoch_loss.item()):
                raise _Diverged(f"training loss became {epoch_loss.item()} in epoch {epochs_run}")
            if settings.patience is not None:
                net.eval()
                with torch.no_grad():
                    _, val_loss = _score(net, data.x_val, data.y_val, autocast)
                if val_loss < best_val - 1e-6:
                    best_val, stale = val_loss, 0
                    best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
                else:
                    stale += 1
                    if stale >= settings.patience:
                        break
        if best_state is not None:
            net.load_state_dict(best_state)
        net.eval()
        with torch.no_grad():
            train_acc, train_loss = _score(net, data.x_train, data.y_train, autocast)
            val_acc, val_loss = _score(net, data.x_val, data.y_val, autocast)
            test_acc, test_loss = _score(net, data.x_test, data.y_test, autocast)
        if not all(math.isfinite(v) for v in (train_loss, val_loss, test_loss)):
            raise _Diverged("final loss is not finite")
        return Evaluation(
            candidate_id=request.candidate_id,
            status=Status.OK,
            train_accuracy=train_acc,
            val_accuracy=val_acc,
            test_accuracy=test_acc,
            train_loss=train_loss,
            val_loss=val_loss,
            test_loss=test_loss,
            epochs=epochs_run,
            seconds=time.perf_counter() - start,
            costs=costs,
            trained_genome=export_weights(net, genome),
            device=str(device),
        )
    except _Diverged as exc:
        status, error = Status.DIVERGED, str(exc)
    except _TimedOut as exc:
        status, error = Status.TIMEOUT, str(exc)
    except Exception as exc:  # a failing candidate is data, not a crash of the campaign
        status, error = Status.FAILED, f"{type(exc).__name__}: {exc}"
    return Evaluation(
        candidate_id=request.candidate_id,
        status=status,
        error=error,
        epochs=epochs_run,
        seconds=time.perf_counter() - start,
        costs=costs,
        device=str(device),
    )


__all__ = ["export_weights", "resolve_device", "single_thread", "train", "train_one"]
