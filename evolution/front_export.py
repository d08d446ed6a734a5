"""Export a campaign's whole Pareto front into one folder: ``connevo export --front``.

Each front network (the front ``connevo front`` lists, in its order) is written as
``<candidate id>.<suffix>`` by the code of :func:`evolution.export.export_candidate`, with its
names beside it, and ``front.csv`` lists them: one row per network, its file, connections and
every score of the front table. The campaign's data set is loaded once for all of them. Files of
an earlier export in the folder are overwritten; nothing else there is touched.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from connevo.errors import ConnevoError
from connevo.evolution.export import EXPORT_FORMATS, FORMAT_SUFFIXES, trained_model, write_model
from connevo.evolution.spec import parse_spec
from connevo.evolution.task import load_task
from connevo.results import queries
from connevo.results.storage import BaseStore

MANIFEST = "front.csv"
"""The folder's list of the exported networks."""
LEFT_OUT = ("parents", "error", "extra")
"""Front columns the manifest leaves out (lists and dicts, not one value per cell)."""


def export_front(store: BaseStore, campaign: str, folder: str | Path, fmt: str = "pt2", *,
                 max_connections: int | None = None,
                 on_progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Write every network of the front of ``campaign`` (id or name) into ``folder`` (made if
    absent; its parent must exist) in ``fmt``, and ``front.csv`` listing them; with
    ``max_connections``, only the networks of at most that many connections. ``on_progress(done,
    total)`` after each network. Returns the campaign id, format, folder, manifest path, the
    networks' files and what each takes in and gives out."""
    if fmt not in EXPORT_FORMATS:
        raise ConnevoError(f"format must be one of {EXPORT_FORMATS}, got {fmt!r}")
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ConnevoError(f"output {str(folder)!r} is a file; --front writes a folder of networks")
    if not folder.parent.is_dir():
        raise ConnevoError(f"output folder's parent {str(folder.parent)!r} does not exist")
    info = store.get_campaign(campaign)
    objectives = queries.campaign_objectives(info["spec"])
    front = queries.front(store, info["id"], objectives, max_connections=max_connections, genomes=False,
                          rank_accuracy_by=queries.spec_accuracy_ranking(info["spec"]))
    if front.empty:
        within = f" within {max_connections} connections" if max_connections is not None else ""
        raise ConnevoError(f"campaign {info['id']} ({info['name']!r}) has no trained network on its front{within}: "
                           f"nothing to export")
    folder.mkdir(exist_ok=True)
    dataset = load_task(parse_spec(info["spec"]))
    files, networks = [], []
    for done, candidate_id in enumerate(front["candidate_id"], start=1):
        path = folder / f"{candidate_id}{FORMAT_SUFFIXES[fmt]}"
        model, genome, _ = trained_model(store, candidate_id, dataset)
        written = write_model(model, genome, dataset, path, fmt)
        files.extend(written)
        networks.append(path.name)
        if on_progress is not None:
            on_progress(done, len(front))
    manifest = front.drop(columns=[c for c in LEFT_OUT if c in front.columns])
    manifest.insert(1, "file", networks)
    manifest.to_csv(folder / MANIFEST, index=False)
    return {"campaign_id": info["id"], "format": fmt, "folder": str(folder), "manifest": str(folder / MANIFEST),
            "files": files, "networks": len(networks), "n_features": dataset.n_features,
            "classes": list(dataset.class_names), "kind": dataset.kind}


__all__ = ["MANIFEST", "export_front"]
