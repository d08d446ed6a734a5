"""Train and score candidates with torch: pure, the same in-process or in a Ray worker."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator, Sequence

import torch
from torch import nn

from search_space.compile import compile_genome
from search_space.cost import measure
from workers.records import Evaluation, EvaluationRequest, Status, TrainingSettings
from workers.tasks import Dataset


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


class _Tensors:
    """The data set's three parts as tensors on one device, made once per chunk."""

    def __init__(self, dataset: Dataset, device: torch.device) -> None:
        def t(a, dtype):
            return torch.as_tensor(a, dtype=dtype, device=device)

        self.x_train, self.y_train = t(dataset.x_train, torch.float32), t(dataset.y_train, torch.long)
        self.x_val, self.y_val = t(dataset.x_val, torch.float32), t(dataset.y_val, torch.long)
        self.x_test, self.y_test = t(dataset.x_test, torch.float32), t(dataset.y_test, torch.long)


def train(
    requests: Sequence[EvaluationRequest],
    dataset: Dataset,
    settings: TrainingSettings,
) -> list[Evaluation]:
    """Train every requested candidate on ``dataset``; one Evaluation each, in request order.

    A candidate that raises becomes ``failed``, one whose loss is NaN or infinite ``diverged``,
    one that runs past ``settings.time_limit`` ``timeout``: never an exception to the caller.
    """
    device = resolve_device(settings.device)
    tensors = _Tensors(dataset, device)
    with single_thread():
        return [train_one(request, tensors, settings, device) for request in requests]


def _score(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    logits = net(x)
    loss = nn.functional.cross_entropy(logits, y).item()
    accuracy = (logits.argmax(dim=1) == y).float().mean().item()
    return accuracy, loss


def train_one(
    request: EvaluationRequest,
    data: _Tensors,
    settings: TrainingSettings,
    device: torch.device,
) -> Evaluation:
    """Train one candidate from fresh weights seeded by ``request.seed``."""
    start = time.perf_counter()
    genome = request.genome
    costs: dict = {}
    epochs_run = 0
    try:
        costs = measure(genome).as_dict()
        torch.manual_seed(request.seed)
        shuffle = torch.Generator().manual_seed(request.seed)
        net = compile_genome(genome, seed=request.seed).to(device)
        optimizer = torch.optim.Adam(net.parameters(), lr=settings.learning_rate)
        n = data.x_train.shape[0]
        best_val = math.inf
        best_state = None
        stale = 0
        for epoch in range(settings.epochs):
            net.train()
            order = torch.randperm(n, generator=shuffle).to(device)
            epoch_loss = torch.zeros((), device=device)
            for begin in range(0, n, settings.batch_size):
                index = order[begin : begin + settings.batch_size]
                loss = nn.functional.cross_entropy(net(data.x_train[index]), data.y_train[index])
                objective = loss + net.penalty() if net.weight_decay > 0 else loss
                optimizer.zero_grad(set_to_none=True)
                objective.backward()
                optimizer.step()
                epoch_loss += loss.detach()
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
                    _, val_loss = _score(net, data.x_val, data.y_val)
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
            train_acc, train_loss = _score(net, data.x_train, data.y_train)
            val_acc, val_loss = _score(net, data.x_val, data.y_val)
            test_acc, test_loss = _score(net, data.x_test, data.y_test)
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
            trained_genome=net.export_weights(genome),
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
