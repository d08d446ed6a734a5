"""Write a trained network as an ONNX file and check it with onnxruntime: ``connevo export --format onnx``.

torch has two ONNX exporters. The torch.export-based one (torch's default) rebuilds its table of
operator translations and runs torch.export's decompositions on every call: about 0.8-1.0 s per
network on a 2-core machine, so the quick-start's 50 front networks took 48 s to export, 2.5x
the campaign. A connevo network is a static graph of matrix products, activations and
concatenations, which the TorchScript-based exporter traces in about 0.01 s (the same front: 5 s,
most of it imports). So that exporter writes the file while this torch still has it (torch
deprecates it), and the torch.export-based one where it is gone or fails. Whichever wrote it, the
file is run by onnxruntime against the torch module before the export succeeds.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from connevo.errors import ConnevoError
from connevo.search_space.quantize import Int8Network

if TYPE_CHECKING:
    from connevo.evolution.export import StandardizedNetwork

ONNX_TOLERANCE = 1e-4
"""Largest difference of logits between onnxruntime and torch that an ONNX export accepts."""
INPUT_NAME = "features"
"""The name of an ONNX export's input: float32 ``[batch, n_features]`` raw feature rows."""


def write_onnx(model: StandardizedNetwork, example: torch.Tensor, path: Path) -> None:
    """Write ``model`` to ``path`` as ONNX (input ``features``, output ``model.output_name``, a
    dynamic batch) and check the file with onnxruntime; ``example``: a few raw feature rows."""
    try:
        import onnx
        import onnxscript  # noqa: F401  (the torch.export-based exporter needs it)
    except ImportError as exc:
        raise ConnevoError(f"--format onnx needs the onnx packages ({exc.name} is missing): "
                           "pip install 'connevo[onnx]'") from None
    int8 = isinstance(model.network, Int8Network)
    quiet = logging.getLogger("torch.onnx")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # the exporters log their progress and absent optional packages
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")  # the deprecation of the TorchScript-based exporter, among others
            try:
                traced_export(model, example, path, int8)
            except Exception:  # noqa: BLE001  (gone from this torch, or failed: the other exporter decides)
                path.unlink(missing_ok=True)
                dynamo_export(model, example, path, int8)
    finally:
        quiet.setLevel(level)
    exported = onnx.load(str(path))
    for node in exported.graph.node:  # debugging records (stack traces, fx nodes) of the exporter
        del node.metadata_props[:]
    onnx.save(exported, str(path))
    check_onnx(model, example, path, int8)


def traced_export(model: StandardizedNetwork, example: torch.Tensor, path: Path, int8: bool) -> None:
    """torch's TorchScript-based exporter (``dynamo=False``); raises where this torch lacks it."""
    output = model.output_name
    # constant folding would turn the int8 weights and their cast into int32 constants
    torch.onnx.export(model, (example,), str(path), dynamo=False, input_names=[INPUT_NAME], output_names=[output],
                      dynamic_axes={INPUT_NAME: {0: "batch"}, output: {0: "batch"}}, do_constant_folding=not int8)


def dynamo_export(model: StandardizedNetwork, example: torch.Tensor, path: Path, int8: bool) -> None:
    """torch's torch.export-based exporter (``dynamo=True``, its default)."""
    # the exporter's optimizer would fold the int8 weights' cast into int32 constants
    torch.onnx.export(model, (example,), str(path), dynamo=True, input_names=[INPUT_NAME],
                      output_names=[model.output_name], dynamic_shapes={"x": {0: torch.export.Dim("batch")}},
                      external_data=False, optimize=not int8)


def check_onnx(model: StandardizedNetwork, example: torch.Tensor, path: Path, int8: bool) -> None:
    """The file, run by onnxruntime (when installed), gives the torch module's logits or
    predictions (int8: the same classes, outputs within 2% of their range: a rounding of an
    activation may fall the other way); else the file is removed and a ConnevoError raised."""
    try:
        import onnxruntime
    except ImportError:
        return
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rows = torch.cat([example, example * 0.5 + 1.0, example[:1]])  # another batch size too
    got = session.run([model.output_name], {INPUT_NAME: rows.numpy()})[0]
    want = model(rows).numpy()
    gap = float(np.abs(got - want).max())
    scale = 1.0 if want.ndim == 2 else max(1.0, float(np.abs(want).max()))  # a prediction in the target's units
    tolerance = ONNX_TOLERANCE * scale if not int8 else 0.02 * float(np.abs(want).max()) + ONNX_TOLERANCE
    classes_differ = int8 and want.ndim == 2 and not np.array_equal(got.argmax(axis=1), want.argmax(axis=1))
    if not gap <= tolerance or classes_differ:
        path.unlink(missing_ok=True)
        raise ConnevoError(f"the ONNX export of this network gives other {model.output_name} under onnxruntime "
                           f"than torch (largest difference {gap:.3g}); nothing was written")


__all__ = ["INPUT_NAME", "ONNX_TOLERANCE", "check_onnx", "dynamo_export", "traced_export", "write_onnx"]
