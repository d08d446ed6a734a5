"""Export a trained candidate for use without connevo.

``torchscript`` (default): a TorchScript module that takes raw feature rows (float tensor, the
data file's columns in file order, target left out) and returns class logits; the
standardization learned in training is inside. Class ``i`` is the i-th of the sorted distinct
target values; the names are saved beside the model as ``<name>.classes.json``. Load it with
plain ``torch.jit.load``.

``state-dict``: ``torch.save`` of the module's weights plus the standardization, with the
topology (genome JSON) beside it as ``<name>.genome.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from connevo.errors import ConnevoError
from evolution.campaign import load_task
from evolution.spec import parse_spec
from results.storage import BaseStore
from search_space.compile import GenomeNetwork, compile_genome
from search_space.genome import Genome

EXPORT_FORMATS = ("torchscript", "state-dict")


class StandardizedNetwork(nn.Module):
    """Raw features in, logits out: ``network((x - mean) / std)``."""

    def __init__(self, network: GenomeNetwork, mean: torch.Tensor, std: torch.Tensor) -> None:
        super().__init__()
        self.network = network
        self.register_buffer("mean", mean.float())
        self.register_buffer("std", std.float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network((x.float() - self.mean) / self.std)


def export_candidate(store: BaseStore, candidate_id: str, path: str | Path, fmt: str = "torchscript") -> dict[str, Any]:
    """Write the candidate's trained network to ``path``; returns what was written."""
    if fmt not in EXPORT_FORMATS:
        raise ConnevoError(f"format must be one of {EXPORT_FORMATS}, got {fmt!r}")
    row = store.candidate(candidate_id)
    if row["status"] != "ok":
        raise ConnevoError(f"candidate {candidate_id} has status {row['status']!r}; only trained (ok) candidates can be exported")
    genome = Genome.from_dict(row["genome"])
    spec = parse_spec(store.get_campaign(row["campaign_id"])["spec"])
    dataset = load_task(spec)
    network = compile_genome(genome, use_genome_weights=True).eval()
    model = StandardizedNetwork(network, torch.as_tensor(dataset.mean), torch.as_tensor(dataset.std)).eval()
    path = Path(path)
    if not path.parent.is_dir():
        raise ConnevoError(f"output folder {str(path.parent)!r} does not exist")
    written = [str(path)]
    if fmt == "torchscript":
        with torch.no_grad():
            traced = torch.jit.trace(model, torch.zeros(2, dataset.n_features))
        torch.jit.save(traced, str(path))
        classes = path.with_suffix(".classes.json")
        classes.write_text(json.dumps({"classes": list(dataset.class_names), "features": list(dataset.feature_names)}, indent=2))
        written.append(str(classes))
    else:
        torch.save({"state_dict": model.state_dict(), "class_names": list(dataset.class_names),
                    "feature_names": list(dataset.feature_names)}, str(path))
        topology = path.with_suffix(".genome.json")
        topology.write_text(json.dumps(genome.to_dict(), indent=2))
        written.append(str(topology))
    return {"candidate_id": candidate_id, "format": fmt, "files": written,
            "n_features": dataset.n_features, "classes": list(dataset.class_names)}
