"""A data set's train, validation and test parts as tensors on one device (both training paths)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from connevo.workers.losses import LOSSES, TaskLoss

__all__ = ["DataTensors"]


class DataTensors:
    """The data set's three parts as tensors on one device, made once per chunk, with the loss
    of its kind of task (:mod:`workers.losses`): class indices for a classification, the
    standardized float target for a regression."""

    def __init__(self, dataset: Any, device: torch.device) -> None:
        self.kind: str = getattr(dataset, "kind", "classification")
        self.loss: TaskLoss = LOSSES[self.kind]
        target = self.loss.target_dtype

        def t(a: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
            return torch.as_tensor(a, dtype=dtype, device=device)

        self.x_train, self.y_train = t(dataset.x_train, torch.float32), t(dataset.y_train, target)
        self.x_val, self.y_val = t(dataset.x_val, torch.float32), t(dataset.y_val, target)
        self.x_test, self.y_test = t(dataset.x_test, torch.float32), t(dataset.y_test, target)
        self.n_features = int(self.x_train.shape[1])
        if self.kind == "regression":
            self.n_classes = 0
        else:
            self.n_classes = int(getattr(dataset, "n_classes", int(self.y_train.max()) + 1))
        # a regression's standardized values to the target's units (Dataset.original); None for a classification
        self.original: Callable[[np.ndarray], np.ndarray] | None = (
            dataset.original if self.kind == "regression" else None)

    @property
    def outputs_needed(self) -> int:
        """What :func:`workers.plans.check_fits` compares a genome's outputs with: the class count
        (one output fits two classes), one for a regression."""
        return 1 if self.kind == "regression" else self.n_classes
