"""Experiment trackers: a campaign's progress reported to MLflow and TensorBoard as it runs.

Each tracker is a :class:`~evolution.observers.CampaignObserver` that the campaign adds when its
spec's ``tracking`` table names one (:func:`trackers_for`), so a run, a resume, an extension and
a campaign launched over HTTP report alike. Per finished generation: the hypervolume, the best
value of the first maximized objective (validation accuracy, or R^2 for a regression), the front
size and the candidates evaluated so far (step = the generation);
the polish's compute; at the end, the final front as a table. The libraries are optional
extras: a spec that names one that is not installed is refused before anything is stored.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from connevo.errors import SpecError
from connevo.evolution.observers import CampaignObserver, GenerationSummary
from connevo.results import queries
from connevo.results.metrics import HEADLINE

if TYPE_CHECKING:
    from connevo.evolution.campaign import Campaign
    from connevo.evolution.spec import CampaignSpec

FRONT_TABLE_COLUMNS = ("candidate_id", "generation", "val_accuracy", "test_accuracy", "train_accuracy",
                       "connections", "params", "flops", "wiring_length", "depth", "hidden_nodes")
"""The columns of the final front's table (those the campaign's objectives add come too); a
regression's scores (:data:`results.metrics.HEADLINE`) take the accuracies' place."""


def generation_metrics(summary: GenerationSummary) -> dict[str, float]:
    """What a tracker records per generation (the best of the first maximized objective, e.g.
    ``best_val_accuracy`` or a regression's ``best_val_r2``, only once a candidate has one)."""
    values = {
        "hypervolume": float(summary.hypervolume),
        "front_size": float(summary.front_size),
        "candidates_done": float(summary.candidates_done),
        "failed": float(summary.failed),
    }
    if summary.best_val_accuracy is not None:
        values[f"best_{summary.best_objective}"] = float(summary.best_val_accuracy)
    return values


def front_table(campaign: Campaign) -> pd.DataFrame:
    """The campaign's front over its objectives, as the final table artifact."""
    front = queries.front(campaign.store, campaign.id, campaign.objectives, senses=campaign.senses)
    leading = list(FRONT_TABLE_COLUMNS)
    if campaign.spec.task.kind != "classification":
        scores = list(HEADLINE[campaign.spec.task.kind])
        leading = leading[:2] + scores + [c for c in leading[2:] if not c.endswith("_accuracy")]
    columns = [c for c in (*leading, *campaign.objectives) if c in front.columns]
    return front[list(dict.fromkeys(columns))].reset_index(drop=True)


def flat_spec(spec: CampaignSpec) -> dict[str, str]:
    """The spec as dotted keys and text values (MLflow parameters)."""
    flat: dict[str, str] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{prefix}{key}.")
        else:
            flat[prefix[:-1]] = str(node)

    walk(spec.model_dump(mode="json", exclude={"base_dir", "tracking"}), "")
    return flat


def tensorboard_folder(spec: CampaignSpec) -> Path | None:
    """``tracking.tensorboard`` as a path (relative ones from the spec file's folder), or None."""
    if spec.tracking.tensorboard is None:
        return None
    folder = Path(spec.tracking.tensorboard).expanduser()
    if not folder.is_absolute() and spec.base_dir is not None:
        folder = Path(spec.base_dir) / folder
    return folder


def trackers_for(spec: CampaignSpec) -> list[CampaignObserver]:
    """The trackers ``spec.tracking`` asks for; :class:`SpecError` naming the key when its
    library is not installed."""
    trackers: list[CampaignObserver] = []
    if spec.tracking.mlflow is not None:
        try:
            from connevo.evolution.tracking_mlflow import MlflowTracker
        except ImportError as exc:
            raise SpecError(f"'tracking.mlflow' needs MLflow, which is not installed ({exc}): "
                            "pip install 'connevo[mlflow]'") from None
        trackers.append(MlflowTracker(spec.tracking.mlflow, spec.tracking.mlflow_experiment))
    folder = tensorboard_folder(spec)
    if folder is not None:
        try:
            from connevo.evolution.tracking_tensorboard import TensorBoardTracker
        except ImportError as exc:
            raise SpecError(f"'tracking.tensorboard' needs TensorBoard, which is not installed ({exc}): "
                            "pip install 'connevo[tensorboard]'") from None
        trackers.append(TensorBoardTracker(folder))
    return trackers


__all__ = ["FRONT_TABLE_COLUMNS", "flat_spec", "front_table", "generation_metrics", "tensorboard_folder",
           "trackers_for"]
