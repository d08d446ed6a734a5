"""Export a trained candidate for use without connevo, or load it as a torch module.

Every format takes raw feature rows (float32 ``[batch, n_features]``, the data file's columns in
file order, the target left out; any batch size) and returns class logits; the standardization
learned in training is inside. Class ``i`` is the i-th of the sorted distinct target values; the
class and feature names are written beside the model as ``<name>.classes.json``.

A regression's network (``task.kind = "regression"``) returns its prediction of every row,
float32 ``[batch]``, in the target's original units: the network predicts the standardized target
and the module undoes the standardization (``z * y_std + y_mean``) inside. No class names are
written for it; the feature names and the target's name go to ``<name>.features.json``; the ONNX
output is named ``prediction``.

- ``pt2`` (for a ``.pt2`` file, and the default): a ``torch.export`` program; load it with
  ``torch.export.load(path).module()``. The file name must end in ``.pt2`` (torch's rule).
- ``onnx`` (for a ``.onnx`` file; needs ``pip install 'connevo[onnx]'``): torch's ONNX exporter
  (:mod:`evolution.onnx_export`), input ``features``, output ``logits`` (a regression: ``prediction``), a dynamic batch; the file is checked with onnxruntime
  against the torch module before the export succeeds.
- ``torchscript``: ``torch.jit.trace``, which torch deprecates; kept for existing users.
- ``state-dict``: ``torch.save`` of the module's weights plus the standardization, with the
  topology (genome JSON) beside it as ``<name>.genome.json``.

A candidate compressed to int8 (``connevo compress --quantize int8``) exports as the int8
network connevo scored: int8 weights in the file, activations quantized per batch as it runs.

:func:`load_model` gives the same module in this process: eval mode, no autograd, with
``.classes`` and ``.features``.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from connevo.errors import ConnevoError
from connevo.evolution.onnx_export import write_onnx
from connevo.evolution.spec import parse_spec
from connevo.evolution.task import load_task, target_name
from connevo.results.storage import BaseStore
from connevo.search_space.compile import compile_genome
from connevo.search_space.genome import Genome
from connevo.search_space.quantize import Int8Network
from connevo.workers.tasks import Dataset

EXPORT_FORMATS = ("pt2", "onnx", "torchscript", "state-dict")
SUFFIX_FORMATS = {".pt2": "pt2", ".onnx": "onnx"}
"""The format a file name asks for when ``--format`` is not given (else ``pt2``)."""
FORMAT_SUFFIXES = {"pt2": ".pt2", "onnx": ".onnx", "torchscript": ".pt", "state-dict": ".pt"}
"""The suffix of a network's file in each format, where connevo names the file (``--front``, HTTP)."""


class StandardizedNetwork(nn.Module):
    """Raw features in, logits out: ``network((x - mean) / std)``, a missing value (NaN) taken
    as the training mean (0 once standardized), as connevo trained it."""

    def __init__(self, network: nn.Module, mean: torch.Tensor, std: torch.Tensor) -> None:
        super().__init__()
        self.network = network
        self.register_buffer("mean", mean.float())
        self.register_buffer("std", std.float())
        self.classes: list[str] = []
        self.features: list[str] = []

    output_name = "logits"
    """The name of the output of an ONNX export."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = (x.float() - self.mean) / self.std
        return self.network(torch.where(torch.isnan(z), torch.zeros_like(z), z))


class StandardizedRegressor(StandardizedNetwork):
    """Raw features in, the prediction of every row out (``[batch]``), in the target's original
    units: the network predicts the standardized target, ``y_std`` and ``y_mean`` (buffers) undo
    the standardization."""

    output_name = "prediction"

    def __init__(self, network: nn.Module, mean: torch.Tensor, std: torch.Tensor, y_mean: float, y_std: float) -> None:
        super().__init__(network, mean, std)
        self.register_buffer("y_mean", torch.tensor(y_mean, dtype=torch.float32))
        self.register_buffer("y_std", torch.tensor(y_std, dtype=torch.float32))
        self.target = ""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x)[:, 0] * self.y_std + self.y_mean


def load_model(candidate_id: str, store: BaseStore | str | None = None) -> StandardizedNetwork:
    """The trained network of ``candidate_id`` as a torch module: raw feature rows in, class
    logits out (a regression, :class:`StandardizedRegressor`: the predictions in the target's
    units, ``[batch]``), in eval mode without autograd; ``.classes`` and ``.features`` name its
    outputs (none for a regression) and inputs. ``store``: a store or its URL/path (default:
    ``$CONNEVO_STORE``, else ./connevo.db)."""
    from connevo.results.store import open_store

    opened = store if isinstance(store, BaseStore) else open_store(store)
    try:
        model, _genome, _dataset = trained_model(opened, candidate_id)
    finally:
        if opened is not store:
            opened.close()
    return model


def trained_model(store: BaseStore, candidate_id: str, dataset: Dataset | None = None
                  ) -> tuple[StandardizedNetwork, Genome, Dataset]:
    """The candidate's module, its genome and its campaign's data set (``dataset``: already
    loaded, as :func:`evolution.front_export.export_front` passes it once for a whole front)."""
    row = store.candidate(candidate_id)
    if row["status"] != "ok":
        raise ConnevoError(f"candidate {candidate_id} has status {row['status']!r}; only trained (ok) candidates "
                           "can be exported or loaded")
    genome = Genome.from_dict(row["genome"])
    spec = parse_spec(store.get_campaign(row["campaign_id"])["spec"])
    dataset = dataset if dataset is not None else load_task(spec)
    regression = dataset.kind == "regression"
    network: nn.Module = compile_genome(genome, use_genome_weights=True, two_class_logits=not regression).eval()
    extra = row.get("extra") if isinstance(row.get("extra"), dict) else {}
    if extra.get("quantization") == "int8":  # `connevo compress --quantize int8`: int8 as it was scored
        network = Int8Network(network)  # type: ignore[arg-type]
    mean, std = torch.as_tensor(dataset.mean), torch.as_tensor(dataset.std)
    model: StandardizedNetwork
    if regression:
        model = StandardizedRegressor(network, mean, std, dataset.y_mean, dataset.y_std)
        model.target = target_name(spec)
    else:
        model = StandardizedNetwork(network, mean, std)
    model.eval().requires_grad_(False)
    model.classes, model.features = list(dataset.class_names), list(dataset.feature_names)
    return model, genome, dataset


def export_format(path: str | Path, fmt: str | None) -> str:
    """The format to write: ``fmt``, else the one the file's suffix names, else ``pt2``."""
    chosen = fmt if fmt is not None else SUFFIX_FORMATS.get(Path(path).suffix.lower(), "pt2")
    if chosen not in EXPORT_FORMATS:
        raise ConnevoError(f"format must be one of {EXPORT_FORMATS}, got {chosen!r}")
    return chosen


def export_candidate(store: BaseStore, candidate_id: str, path: str | Path, fmt: str | None = None) -> dict[str, Any]:
    """Write the candidate's trained network to ``path`` in ``fmt`` (:func:`export_format`);
    returns what was written."""
    fmt = export_format(path, fmt)
    path = Path(path)
    _check_output(path, fmt)
    if not path.parent.is_dir():
        raise ConnevoError(f"output folder {str(path.parent)!r} does not exist")
    model, genome, dataset = trained_model(store, candidate_id)
    written = write_model(model, genome, dataset, path, fmt)
    return {"candidate_id": candidate_id, "format": fmt, "files": written,
            "n_features": dataset.n_features, "classes": model.classes, "kind": dataset.kind}


def _check_output(path: Path, fmt: str) -> None:
    """A ConnevoError unless ``path`` may hold a ``fmt`` export."""
    if fmt == "pt2" and path.suffix.lower() != ".pt2":  # torch.export.save/load insist on it
        raise ConnevoError(f"a pt2 export is a file ending in .pt2 (torch.export), got {str(path)!r}: name it "
                           f"{path.stem}.pt2, or choose another --format (onnx, torchscript, state-dict)")


def write_model(model: StandardizedNetwork, genome: Genome, dataset: Dataset, path: Path, fmt: str) -> list[str]:
    """Write ``model`` (of :func:`trained_model`) to ``path`` in ``fmt``, with its names beside it;
    returns the files written."""
    example = torch.as_tensor(np.asarray(dataset.x_test[:4], dtype=np.float64) * dataset.std + dataset.mean,
                              dtype=torch.float32)
    if example.shape[0] < 2:  # a dynamic batch needs an example of two rows or more
        example = torch.zeros(2, dataset.n_features)
    written = [str(path)]
    if fmt == "state-dict":
        torch.save({"state_dict": model.state_dict(), "class_names": model.classes,
                    "feature_names": model.features}, str(path))
        topology = path.with_suffix(".genome.json")
        topology.write_text(json.dumps(genome.to_dict(), indent=2))
        written.append(str(topology))
    else:
        {"pt2": _write_pt2, "onnx": write_onnx, "torchscript": _write_torchscript}[fmt](model, example, path)
        if isinstance(model, StandardizedRegressor):  # no classes: the features and the target predicted
            names = path.with_suffix(".features.json")
            names.write_text(json.dumps({"features": model.features, "target": model.target}, indent=2))
        else:
            names = path.with_suffix(".classes.json")
            names.write_text(json.dumps({"classes": model.classes, "features": model.features}, indent=2))
        written.append(str(names))
    return written


def _batch_dims() -> dict[str, Any]:
    return {"x": {0: torch.export.Dim("batch")}}


def _write_pt2(model: StandardizedNetwork, example: torch.Tensor, path: Path) -> None:
    program = torch.export.export(model, (example,), dynamic_shapes=_batch_dims())
    torch.export.save(program, str(path))


def _write_torchscript(model: StandardizedNetwork, example: torch.Tensor, path: Path) -> None:
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch deprecates TorchScript: pt2 replaces it
        traced = torch.jit.trace(model, example)
    torch.jit.save(traced, str(path))


__all__ = ["EXPORT_FORMATS", "FORMAT_SUFFIXES", "StandardizedNetwork", "StandardizedRegressor", "export_candidate",
           "export_format", "load_model", "trained_model", "write_model"]
