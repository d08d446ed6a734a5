"""The baselines of benchmarks/frontier.py (see its docstring for what each one does and why).

Each arm takes the seed's 75% (``Split.x_fit``/``y_fit``), never looks at the held-out 25% while
training, and returns an :class:`ArmResult`: (held-out accuracy, connections) of every model it
made, and its training compute. The torch arms standardize with statistics of the 75% and split
off a stratified 20% of it for early stopping.
"""

from __future__ import annotations

import copy
import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.svm import l1_min_c
from torch import nn
from torch.nn.utils import prune

from benchmarks.frontier_data import FrontierData, Split

SAMPLE_EPOCHS = "sample-epochs"
SOLVER_ROWS = "solver-iterations x rows"


@dataclass(frozen=True)
class ArmResult:
    models: pd.DataFrame  # columns: accuracy (held-out), connections
    compute: float
    unit: str = SAMPLE_EPOCHS
    note: str = ""
    single_pick: pd.DataFrame | None = None  # the genome arms: one network per tie (information only)


@dataclass(frozen=True)
class Effort:
    """How much each baseline trains: the default run, or ``--quick``."""

    l1_values: int
    widths: tuple[int, ...]
    epochs: int  # most epochs of a training from scratch (early stopping usually ends it sooner)
    patience: int
    prune_width: int  # hidden width of the networks that magnitude pruning and RigL start from
    budgets: int  # connection budgets, geometric from 0.9 R down to 2
    finetune_epochs: int
    sparse_epochs: int  # epochs of a RigL/SET training (its topology changes over the first 75%)
    l1_tol: float  # stopping tolerance of the L1 solvers
    learning_rate: float = 0.01
    batch_size: int = 64

    @staticmethod
    def of(quick: bool) -> Effort:
        if quick:
            return Effort(l1_values=12, widths=(1, 2, 4, 8, 16, 32), epochs=60, patience=8, prune_width=24,
                          budgets=8, finetune_epochs=4, sparse_epochs=40, l1_tol=1e-3)
        return Effort(l1_values=25, widths=(1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64), epochs=150, patience=15,
                      prune_width=32, budgets=10, finetune_epochs=8, sparse_epochs=100, l1_tol=1e-4)


def derived_seed(*parts: object) -> int:
    """A training seed from the run's seed and the model's identity (method, architecture, budget)."""
    return zlib.crc32("/".join(map(str, parts)).encode())


def models_frame(points: list[tuple[float, int]]) -> pd.DataFrame:
    return pd.DataFrame(points, columns=["accuracy", "connections"], dtype=float)


# ------------------------------------------------------------------------------------------------
# L1-regularized logistic regression path


def l1_path(data: FrontierData, split: Split, seed: int, effort: Effort) -> ArmResult:
    """``LogisticRegression`` with an L1 penalty (``l1_ratio=1``, the spelling of ``penalty="l1"``
    since scikit-learn 1.8) over C from the smallest C with a non-zero coefficient upward
    (log-spaced over four decades: dense well before the end); liblinear for a binary task (one
    coefficient row), multinomial saga warm-started along the path otherwise."""
    scaler = StandardScaler().fit(split.x_fit)
    x_fit, x_hold = scaler.transform(split.x_fit), scaler.transform(split.x_hold)
    binary = data.n_classes == 2
    low = l1_min_c(x_fit, split.y_fit, loss="log")
    solver = "liblinear" if binary else "saga"
    model = LogisticRegression(l1_ratio=1.0, solver=solver, max_iter=5000, tol=effort.l1_tol, warm_start=not binary,
                               random_state=seed)
    points, iterations = [], 0
    for c in low * np.logspace(0.05, 4.0, effort.l1_values):
        model.set_params(C=float(c))
        model.fit(x_fit, split.y_fit)
        iterations += int(np.max(model.n_iter_))
        points.append((float(model.score(x_hold, split.y_hold)), int(np.count_nonzero(model.coef_))))
    return ArmResult(models_frame(points), float(iterations * len(x_fit)), SOLVER_ROWS, solver)


# ------------------------------------------------------------------------------------------------
# Torch MLPs: data, training with early stopping, exact scoring of (masked) networks


@dataclass(frozen=True)
class Tensors:
    """The 75% standardized and split 80/20 (stratified) into training and early-stopping parts,
    and the held-out 25% standardized the same way (used only to score finished models); a
    regression's target standardized too, by the 75%'s mean and deviation (R^2 does not change)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_hold: torch.Tensor
    y_hold: torch.Tensor
    n_outputs: int
    regression: bool = False

    @staticmethod
    def of(data: FrontierData, split: Split, seed: int) -> Tensors:
        scaler = StandardScaler().fit(split.x_fit)
        if data.regression:
            mean, sd = float(split.y_fit.mean()), float(split.y_fit.std()) or 1.0
            x_train, x_val, y_train, y_val = train_test_split(
                scaler.transform(split.x_fit), (split.y_fit - mean) / sd, test_size=0.2, random_state=seed)

            def targets(y: np.ndarray) -> torch.Tensor:
                return torch.as_tensor(y, dtype=torch.float32)

            return Tensors(floats(x_train), targets(y_train), floats(x_val), targets(y_val),
                           floats(scaler.transform(split.x_hold)), targets((split.y_hold - mean) / sd), 1, True)
        x_train, x_val, y_train, y_val = train_test_split(
            scaler.transform(split.x_fit), split.y_fit, test_size=0.2, stratify=split.y_fit, random_state=seed)

        def labels(y: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(y, dtype=torch.int64)

        return Tensors(floats(x_train), labels(y_train), floats(x_val), labels(y_val),
                       floats(scaler.transform(split.x_hold)), labels(split.y_hold), data.n_outputs)

    @property
    def binary(self) -> bool:
        return self.n_outputs == 1 and not self.regression

    def loss(self, outputs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Cross-entropy (:func:`loss_of`), or a regression's mean squared error."""
        if self.regression:
            return F.mse_loss(outputs[:, 0], y)
        return loss_of(outputs, y, self.binary)

    def held_out_score(self, outputs: torch.Tensor) -> float:
        """The held-out accuracy of ``outputs`` (the network's on ``x_hold``), or a regression's R^2."""
        if self.regression:
            y, predicted = self.y_hold.double().numpy(), outputs[:, 0].double().numpy()
            return float(1.0 - ((y - predicted) ** 2).sum() / ((y - y.mean()) ** 2).sum())
        return float((predictions(outputs, self.binary) == self.y_hold).float().mean())


def floats(x: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(x, dtype=torch.float32)


def loss_of(logits: torch.Tensor, y: torch.Tensor, binary: bool) -> torch.Tensor:
    if binary:
        return F.binary_cross_entropy_with_logits(logits[:, 0], y.float())
    return F.cross_entropy(logits, y)


def predictions(logits: torch.Tensor, binary: bool) -> torch.Tensor:
    return (logits[:, 0] > 0).long() if binary else logits.argmax(dim=1)


def mlp(n_in: int, widths: tuple[int, ...], n_out: int, seed: int) -> nn.Sequential:
    torch.manual_seed(seed)
    sizes = [n_in, *widths, n_out]
    layers: list[nn.Module] = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def linears(model: nn.Sequential) -> list[nn.Linear]:
    return [m for m in model if isinstance(m, nn.Linear)]


def dense_connections(n_in: int, widths: tuple[int, ...], n_out: int) -> int:
    sizes = [n_in, *widths, n_out]
    return sum(a * b for a, b in zip(sizes, sizes[1:]))


StepHook = Callable[[int, torch.optim.Optimizer], None]


def fit(model: nn.Sequential, t: Tensors, effort: Effort, seed: int, *, epochs: int, min_epochs: int = 0,
        after_step: StepHook | None = None) -> int:
    """Adam on mini-batches; early stopping on the validation loss once ``min_epochs`` have passed
    (``effort.patience`` epochs without improvement); the best weights (and masks) are restored.
    Returns the epochs trained."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=effort.learning_rate)
    best, best_state, waited, step, epoch = math.inf, copy.deepcopy(model.state_dict()), 0, 0, 0
    for epoch in range(1, epochs + 1):
        model.train()
        for index in torch.randperm(len(t.x_train), generator=generator).split(effort.batch_size):
            optimizer.zero_grad(set_to_none=True)
            t.loss(model(t.x_train[index]), t.y_train[index]).backward()
            optimizer.step()
            step += 1
            if after_step is not None:
                after_step(step, optimizer)
        with torch.no_grad():
            val = float(t.loss(model.eval()(t.x_val), t.y_val))
        if val < best - 1e-5:
            best, best_state, waited = val, copy.deepcopy(model.state_dict()), 0
        else:
            waited += 1
            if waited >= effort.patience and epoch >= min_epochs:
                break
    model.load_state_dict(best_state)
    return epoch


def effective_layers(model: nn.Sequential) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """(weight, 0/1 mask, bias) of each layer; a layer without a pruning mask is dense."""
    layers = []
    for layer in linears(model):
        mask = getattr(layer, "weight_mask", None)
        weight = getattr(layer, "weight_orig", layer.weight).detach()
        mask = torch.ones_like(weight) if mask is None else mask.detach()
        layers.append((weight * mask, mask.clone(), layer.bias.detach().clone()))
    return layers


def live_network(model: nn.Sequential) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """The same function with only the connections that count: a hidden unit left without an
    incoming connection outputs the constant relu(bias), so its outgoing weights are folded into
    the next layer's biases and dropped; then every connection into a unit that no longer reaches
    the output is dropped. What remains is exactly the set of weights on an input-to-output path."""
    layers = effective_layers(model)
    for i in range(len(layers) - 1):
        weight, mask, bias = layers[i]
        dead = mask.sum(dim=1) == 0
        if dead.any():
            w_next, m_next, b_next = layers[i + 1]
            b_next += w_next[:, dead] @ torch.relu(bias[dead])
            w_next[:, dead] = 0.0
            m_next[:, dead] = 0.0
    for i in reversed(range(len(layers) - 1)):
        unused = layers[i + 1][1].sum(dim=0) == 0
        layers[i][0][unused] = 0.0
        layers[i][1][unused] = 0.0
    return layers


def score(model: nn.Sequential, t: Tensors) -> tuple[float, int]:
    """(held-out accuracy, or a regression's R^2; connections) of the model's live network (the same
    function as the model)."""
    layers = live_network(model)
    h = t.x_hold
    with torch.no_grad():
        for i, (weight, _mask, bias) in enumerate(layers):
            h = F.linear(h, weight, bias)
            if i < len(layers) - 1:
                h = torch.relu(h)
    return t.held_out_score(h), int(sum(int(mask.sum()) for _w, mask, _b in layers))


def architectures(n_in: int, n_out: int, widths: tuple[int, ...], reference: int) -> list[tuple[int, ...]]:
    """No hidden layer, one and two equal hidden layers of each width, within R connections."""
    shapes = [(), *((w,) for w in widths), *((w, w) for w in widths)]
    return [s for s in shapes if dense_connections(n_in, s, n_out) < reference]


def budgets(reference: int, count: int) -> list[int]:
    """``count`` connection budgets from just under R down to 2, geometric, distinct, descending."""
    values = np.geomspace(reference * 0.9, 2, count)
    return sorted({max(2, int(round(v))) for v in values}, reverse=True)


# ------------------------------------------------------------------------------------------------
# Dense MLPs


def dense_mlp(data: FrontierData, split: Split, seed: int, effort: Effort) -> ArmResult:
    t = Tensors.of(data, split, seed)
    points, compute = [], 0
    for shape in architectures(data.n_features, t.n_outputs, effort.widths, data.reference):
        model = mlp(data.n_features, shape, t.n_outputs, derived_seed(seed, "dense", shape))
        compute += fit(model, t, effort, derived_seed(seed, "dense-fit", shape), epochs=effort.epochs) * len(t.x_train)
        points.append(score(model, t))
    return ArmResult(models_frame(points), float(compute))


# ------------------------------------------------------------------------------------------------
# Global magnitude pruning with fine-tuning


def pruning_shapes(width: int) -> list[tuple[int, ...]]:
    return [(), (width,), (width, width)]


def pruning_steps(dense: int, targets: list[int]) -> list[int]:
    """Connections after each pruning step: every budget below ``dense``, with geometric steps in
    between wherever one step would remove more than 60% of the remaining weights."""
    steps, current = [], dense
    for budget in (b for b in targets if b < dense):
        parts = math.ceil(math.log(current / budget) / math.log(2.5))
        steps += [round(budget * (current / budget) ** (k / parts)) for k in range(parts - 1, 0, -1)] + [budget]
        current = budget
    return steps


def magnitude_pruning(data: FrontierData, split: Split, seed: int, effort: Effort) -> ArmResult:
    """Train each dense network, then prune it globally by |weight| (``prune.L1Unstructured``
    over every weight matrix) step by step (at most 60% of the remaining weights at a time) to
    each budget, fine-tuning after every step; every step's model is one of the method's models."""
    t = Tensors.of(data, split, seed)
    points, compute = [], 0
    for shape in pruning_shapes(effort.prune_width):
        model = mlp(data.n_features, shape, t.n_outputs, derived_seed(seed, "prune", shape))
        compute += fit(model, t, effort, derived_seed(seed, "prune-fit", shape), epochs=effort.epochs) * len(t.x_train)
        points.append(score(model, t))
        active = dense_connections(data.n_features, shape, t.n_outputs)
        targets = [(lin, "weight") for lin in linears(model)]
        for step in pruning_steps(active, budgets(data.reference, effort.budgets)):
            prune.global_unstructured(targets, pruning_method=prune.L1Unstructured, amount=active - step)
            active = step
            epochs = fit(model, t, effort, derived_seed(seed, "prune-tune", shape, step),
                         epochs=effort.finetune_epochs)
            compute += epochs * len(t.x_train)
            points.append(score(model, t))
    return ArmResult(models_frame(points), float(compute))


# ------------------------------------------------------------------------------------------------
# RigL / SET: dynamic sparse training at a fixed number of connections


def erk_counts(shapes: list[tuple[int, int]], budget: int) -> list[int]:
    """Connections per layer (shape = (out, in)) by Erdos-Renyi-Kernel: density proportional to
    (in + out) / (in x out), a layer that would exceed density 1 is dense; at least one each."""
    sizes = [o * i for o, i in shapes]
    if budget >= sum(sizes):
        return sizes
    raw = [(o + i) / (o * i) for o, i in shapes]
    dense: set[int] = set()
    while True:
        rest = budget - sum(sizes[k] for k in dense)
        scale = rest / sum(raw[k] * sizes[k] for k in range(len(shapes)) if k not in dense)
        over = {k for k in range(len(shapes)) if k not in dense and scale * raw[k] > 1}
        if not over:
            break
        dense |= over
    wanted = [float(sizes[k]) if k in dense else scale * raw[k] * sizes[k] for k in range(len(shapes))]
    counts = [max(1, min(sizes[k], int(wanted[k]))) for k in range(len(shapes))]
    order = sorted(range(len(shapes)), key=lambda k: wanted[k] - int(wanted[k]), reverse=True)
    for k in order:
        if sum(counts) < budget and counts[k] < sizes[k]:
            counts[k] += 1
    for k in sorted(range(len(shapes)), key=lambda k: counts[k], reverse=True):
        if sum(counts) > budget and counts[k] > 1:
            counts[k] -= 1
    return counts


class DynamicSparsity:
    """Every ``interval`` steps until ``end``: per layer, drop the ``fraction`` (0.3, cosine-decayed
    to 0) of active weights with the smallest magnitude and grow as many where the dense gradient
    of a fresh mini-batch is largest (RigL) or at random (SET); grown weights and their Adam
    moments start at 0."""

    def __init__(self, model: nn.Sequential, t: Tensors, effort: Effort, seed: int, *, interval: int, end: int,
                 regrowth: str) -> None:
        self.model, self.t, self.effort = model, t, effort
        self.interval, self.end, self.regrowth = interval, end, regrowth
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, step: int, optimizer: torch.optim.Optimizer) -> None:
        if step % self.interval or step >= self.end:
            return
        fraction = 0.15 * (1 + math.cos(math.pi * step / self.end))
        grads = self.dense_gradients() if self.regrowth == "rigl" else None
        for k, layer in enumerate(linears(self.model)):
            self.update(layer, fraction, None if grads is None else grads[k], optimizer)

    def dense_gradients(self) -> list[torch.Tensor]:
        index = torch.randint(len(self.t.x_train), (self.effort.batch_size,), generator=self.generator)
        weights = [(lin.weight_orig * lin.weight_mask).detach().requires_grad_() for lin in linears(self.model)]
        h = self.t.x_train[index]
        for i, (weight, lin) in enumerate(zip(weights, linears(self.model))):
            h = F.linear(h, weight, lin.bias.detach())
            if i < len(weights) - 1:
                h = torch.relu(h)
        self.t.loss(h, self.t.y_train[index]).backward()
        return [w.grad for w in weights]

    def update(self, layer: nn.Linear, fraction: float, grad: torch.Tensor | None,
               optimizer: torch.optim.Optimizer) -> None:
        mask, weight = layer.weight_mask, layer.weight_orig
        active = mask.flatten().nonzero().squeeze(1)
        n = int(fraction * len(active))
        if n == 0 or len(active) == mask.numel():
            return
        with torch.no_grad():
            flat_mask, flat_weight = mask.view(-1), weight.data.view(-1)
            dropped = active[flat_weight[active].abs().argsort()[:n]]
            flat_mask[dropped] = 0.0
            inactive = (flat_mask == 0).nonzero().squeeze(1)
            if grad is None:
                grown = inactive[torch.randperm(len(inactive), generator=self.generator)[:n]]
            else:
                grown = inactive[grad.view(-1)[inactive].abs().argsort(descending=True)[:n]]
            flat_mask[grown] = 1.0
            changed = torch.cat([dropped, grown])
            flat_weight[changed] = 0.0
            for moment in optimizer.state.get(weight, {}).values():
                if torch.is_tensor(moment) and moment.shape == weight.shape:
                    moment.view(-1)[changed] = 0.0


def sparse_model(data: FrontierData, shape: tuple[int, ...], n_out: int, budget: int, seed: int) -> nn.Sequential:
    """An MLP with ``budget`` connections at random positions, spread over the layers by ERK."""
    model = mlp(data.n_features, shape, n_out, seed)
    layers = linears(model)
    counts = erk_counts([tuple(lin.weight.shape) for lin in layers], budget)
    generator = torch.Generator().manual_seed(seed)
    for lin, count in zip(layers, counts):
        mask = torch.zeros(lin.weight.numel())
        mask[torch.randperm(lin.weight.numel(), generator=generator)[:count]] = 1.0
        prune.custom_from_mask(lin, "weight", mask.view_as(lin.weight))
    return model


def dynamic_sparse(data: FrontierData, split: Split, seed: int, effort: Effort, regrowth: str = "rigl") -> ArmResult:
    """RigL (default) or SET for each network of :func:`pruning_shapes` at each budget below its
    dense size: topology updates once per epoch over the first 75% of the epochs (no early stop
    before they end)."""
    t = Tensors.of(data, split, seed)
    steps_per_epoch = math.ceil(len(t.x_train) / effort.batch_size)
    update_epochs = int(0.75 * effort.sparse_epochs)
    points, compute = [], 0
    for shape in pruning_shapes(effort.prune_width):
        dense = dense_connections(data.n_features, shape, t.n_outputs)
        for budget in (b for b in budgets(data.reference, effort.budgets) if len(shape) + 1 <= b < dense):
            model = sparse_model(data, shape, t.n_outputs, budget, derived_seed(seed, regrowth, shape, budget))
            schedule = DynamicSparsity(model, t, effort, derived_seed(seed, regrowth, "drop-grow", shape, budget),
                                       interval=steps_per_epoch, end=update_epochs * steps_per_epoch,
                                       regrowth=regrowth)
            epochs = fit(model, t, effort, derived_seed(seed, regrowth, "fit", shape, budget), epochs=effort.sparse_epochs,
                         min_epochs=update_epochs, after_step=schedule)
            compute += epochs * len(t.x_train)
            points.append(score(model, t))
    return ArmResult(models_frame(points), float(compute), note=regrowth)
