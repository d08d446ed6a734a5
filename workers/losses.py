"""What a task's networks train on: the loss of their outputs, and what scoring reads of them.

One :class:`TaskLoss` per kind of task (:data:`LOSSES`): cross-entropy over the class logits
for a classification, the squared error of the single output against the standardized target
for a regression. The training loop, early stopping, scoring and the structure hints all call
the data's loss (:attr:`workers.data_tensors.DataTensors.loss`), so no code of theirs branches
on the kind of task.
"""

from __future__ import annotations

import abc

import torch

from connevo.workers import invariant
from connevo.workers.kernels import class_logits

__all__ = ["LOSSES", "CrossEntropy", "SquaredError", "TaskLoss"]


class TaskLoss(abc.ABC):
    """The loss of one kind of task. Every method takes the stacked outputs of ``C`` candidates,
    float32 ``(C, rows, outputs)``, and ``y`` the targets of those rows, ``(rows,)`` (the same
    rows for every candidate) or ``(C, rows)``, of :attr:`target_dtype`. Pure functions of their
    arguments: a candidate's values never depend on the others in the stack."""

    kind: str
    target_dtype: torch.dtype

    @abc.abstractmethod
    def rows(self, outputs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The loss of every row, ``(C, rows)``; its mean over the rows is what training minimizes."""

    @abc.abstractmethod
    def predictions(self, outputs: torch.Tensor) -> torch.Tensor:
        """What the prediction metrics read: class probabilities ``(C, rows, classes)``, or
        predicted values ``(C, rows)`` (on the scale the network trained on)."""

    @abc.abstractmethod
    def predicted_class(self, outputs: torch.Tensor) -> torch.Tensor | None:
        """The predicted class of every row ``(C, rows)``; None when the task has no classes."""


class CrossEntropy(TaskLoss):
    """Classification: cross-entropy over the class logits (a single output is the logit of class
    1 against class 0, :func:`workers.kernels.class_logits`: the logistic loss)."""

    kind = "classification"
    target_dtype = torch.long

    def rows(self, outputs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        # On every device from elementwise ops, an order-fixed sum and a gather, not torch's fused
        # cross-entropy: on the CPU its log-softmax over the rows computes the rows past the last
        # full vector with scalar code, so a mini-batch of 10 rows got other bits under AVX2 (8
        # lanes) than under AVX-512 (16). Elementwise exp and log give the same bits on both.
        return invariant.cross_entropy_rows(class_logits(outputs), y.expand(outputs.shape[0], -1))

    def predictions(self, outputs: torch.Tensor) -> torch.Tensor:
        return invariant.softmax(class_logits(outputs))

    def predicted_class(self, outputs: torch.Tensor) -> torch.Tensor:
        return class_logits(outputs).argmax(dim=2)


class SquaredError(TaskLoss):
    """Regression: the squared error of the one output against the standardized target (the
    mean over rows is the MSE in units of the target's standard deviation)."""

    kind = "regression"
    target_dtype = torch.float32

    def rows(self, outputs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.square(outputs[..., 0] - y)

    def predictions(self, outputs: torch.Tensor) -> torch.Tensor:
        return outputs[..., 0]

    def predicted_class(self, outputs: torch.Tensor) -> None:
        return None


LOSSES: dict[str, TaskLoss] = {"classification": CrossEntropy(), "regression": SquaredError()}
"""The loss of each kind of task (``task.kind``)."""
