"""A data set's train, validation and test parts as tensors on one device (both training paths)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["DataTensors"]


class DataTensors:
    """The data set's three parts as tensors on one device, made once per chunk."""

    def __init__(self, dataset: Any, device: torch.device) -> None:
        def t(a: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
            return torch.as_tensor(a, dtype=dtype, device=device)

        self.x_train, self.y_train = t(dataset.x_train, torch.float32), t(dataset.y_train, torch.long)
        self.x_val, self.y_val = t(dataset.x_val, torch.float32), t(dataset.y_val, torch.long)
        self.x_test, self.y_test = t(dataset.x_test, torch.float32), t(dataset.y_test, torch.long)
        self.n_features = int(self.x_train.shape[1])
        self.n_classes = int(getattr(dataset, "n_classes", int(self.y_train.max()) + 1))
