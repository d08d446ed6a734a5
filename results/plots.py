"""PNG plots: the Pareto front, hypervolume over generations, one network.

Figures are drawn on ``matplotlib.figure.Figure`` with the Agg canvas directly, never through
``pyplot``: no global backend is switched, no figure registry grows, and plotting is safe from the
threads of the HTTP service. matplotlib and networkx are imported inside the functions.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from connevo.errors import GenomeError, SpecError
from connevo.results.pareto import (
    DEFAULT_ACCURACY_RANKING,
    OBJECTIVE_SENSES,
    POOLED_LOSS,
    TIE_BREAKERS,
    pareto_front,
    pareto_mask,
    ranks_by_pooled_loss,
)
from connevo.results.queries import superseded, with_metric_columns, with_pooled_loss

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_ROLE_COLOURS = {"input": "#4c72b0", "hidden": "#8c8c8c", "output": "#dd8452"}


def _new_figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: str | os.PathLike[str]) -> Path:
    out = Path(path)
    if not out.parent.is_dir():
        raise SpecError(f"cannot write plot {str(out)!r}: directory {str(out.parent)!r} does not exist")
    fig.savefig(out, format="png")
    return out


def _need_path(func: str, path: str | os.PathLike[str] | None) -> str | os.PathLike[str]:
    if path is None:
        raise TypeError(f"{func}() needs the output path, e.g. {func}(df, path='out.png')")
    return path


def _axes_for(objectives: Sequence[str], senses: Sequence[str]) -> tuple[str, str]:
    """(x, y): cost (first minimised) on x, accuracy (first maximised) on y."""
    by_sense = dict(zip(senses, objectives))
    if "min" in by_sense and "max" in by_sense:
        return by_sense["min"], by_sense["max"]
    return objectives[1], objectives[0]


def plot_front(
    candidates: pd.DataFrame,
    objectives: Sequence[str] = ("val_accuracy", "connections"),
    path: str | os.PathLike[str] | None = None,
    *,
    senses: Sequence[str] | None = None,
    title: str | None = None,
    rank_accuracy_by: str = DEFAULT_ACCURACY_RANKING,
) -> Path:
    """Scatter every candidate in grey and the Pareto front of the ``ok`` ones as a step line
    (an accuracy ranking as ``rank_accuracy_by`` says: :data:`results.pareto.ACCURACY_RANKINGS`).

    Cost on x, accuracy (or another maximized score: a regression's R^2) on y. Writes a PNG at
    ``path`` and returns it. An objective a candidate keeps under ``extra`` is read from there.
    A front network that the final polish replaced (:func:`results.queries.superseded`) is not
    drawn: its polish is.
    """
    out = _need_path("plot_front", path)
    candidates = candidates[~superseded(candidates)] if "id" in candidates else candidates
    objectives = list(objectives)
    if "extra" in candidates.columns:
        candidates = with_metric_columns(candidates, [o for o in objectives if o not in candidates.columns])
    if len(objectives) != 2:
        raise SpecError(f"plot_front draws two objectives, got {objectives!r}")
    if senses is None:
        unknown = [o for o in objectives if o not in OBJECTIVE_SENSES]
        if unknown:
            raise SpecError(f"no known sense for objective(s) {unknown!r}; pass senses=")
        senses = [OBJECTIVE_SENSES[o] for o in objectives]
    missing = [o for o in objectives if o not in candidates.columns]
    if missing:
        raise SpecError(f"objective column(s) {missing!r} not in the candidates table")
    x, y = _axes_for(objectives, senses)
    ok = candidates[candidates["status"] == "ok"] if "status" in candidates.columns else candidates
    other = candidates.drop(index=ok.index)
    front = pareto_front(with_pooled_loss(ok, rank_accuracy_by), objectives, senses, rank_accuracy_by)

    fig = _new_figure(7, 5)
    ax = fig.add_subplot()

    def xy(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        return (
            df[x].to_numpy(dtype=float, na_value=np.nan),
            df[y].to_numpy(dtype=float, na_value=np.nan),
        )

    ax.scatter(*xy(ok), s=14, color="0.7", alpha=0.7, label=f"candidates ({len(ok)})", zorder=1)
    if len(other):
        ax.scatter(*xy(other), s=14, marker="x", color="0.8", label=f"not ok ({len(other)})", zorder=1)
    # a front ranked by the loss is not a staircase of its accuracies: say so
    ranked = f", ranked by {TIE_BREAKERS[y]}" if rank_accuracy_by == "loss" and y in TIE_BREAKERS else ""
    if rank_accuracy_by == "pooled" and ranks_by_pooled_loss(y, "max"):
        ranked = f", ranked by {POOLED_LOSS}"
    if rank_accuracy_by == "accuracy_and_loss" and y in TIE_BREAKERS:
        ranked = f", by {y} and {TIE_BREAKERS[y]}"
    if len(front):
        fx, fy = xy(front)
        # the line: the staircase of the plotted scores (a member kept for its loss alone lies below it)
        sense_of = dict(zip(objectives, senses))
        stairs = pareto_mask(np.column_stack([fx, fy]), [sense_of[x], sense_of[y]])
        order = np.argsort(fx[stairs], kind="mergesort")
        ax.step(fx[stairs][order], fy[stairs][order], where="post", color="#c44e52", linewidth=1.5, zorder=2)
        ax.scatter(fx, fy, s=36, color="#c44e52", edgecolor="black", linewidth=0.5,
                   label=f"Pareto front ({len(set(zip(fx.tolist(), fy.tolist())))}{ranked})", zorder=3)  # distinct points
    ax.set_xlabel(f"{x} ({dict(zip(objectives, senses))[x]})")
    ax.set_ylabel(f"{y} ({dict(zip(objectives, senses))[y]})")
    ax.set_title(title or f"{y} against {x}")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    return _save(fig, out)


def plot_hypervolume(
    generations: pd.DataFrame,
    path: str | os.PathLike[str] | None = None,
    *,
    title: str | None = None,
    best: str = "val_accuracy",
) -> Path:
    """Hypervolume per generation (and the best of the first maximized objective, the
    ``best_val_accuracy`` column, on a second axis when present; ``best``: that objective's name,
    e.g. ``val_r2`` for a regression)."""
    out = _need_path("plot_hypervolume", path)
    for col in ("generation", "hypervolume"):
        if col not in generations.columns:
            raise SpecError(f"plot_hypervolume needs a {col!r} column, got {list(generations.columns)!r}")
    fig = _new_figure(7, 4.5)
    ax = fig.add_subplot()
    gx = generations["generation"].to_numpy(dtype=float)
    ax.plot(gx, generations["hypervolume"].to_numpy(dtype=float, na_value=np.nan),
            marker="o", markersize=3, color="#4c72b0", label="hypervolume")
    ax.set_xlabel("generation")
    ax.set_ylabel("hypervolume", color="#4c72b0")
    ax.grid(True, alpha=0.3)
    if "best_val_accuracy" in generations.columns and generations["best_val_accuracy"].notna().any():
        ax2 = ax.twinx()
        ax2.plot(gx, generations["best_val_accuracy"].to_numpy(dtype=float, na_value=np.nan),
                 linestyle="--", color="#dd8452", label=f"best {best}")
        ax2.set_ylabel(f"best {best}", color="#dd8452")
    ax.set_title(title or "hypervolume over generations")
    return _save(fig, out)


def network_layers(genome: Mapping[str, Any]) -> dict[int, int]:
    """Layer of each node: inputs 0, others the longest enabled path from an input, outputs on top."""
    import networkx as nx

    if genome.get("format") != "connevo.genome":
        raise GenomeError(f"not a connevo genome: format is {genome.get('format')!r}")
    nodes = genome.get("nodes") or []
    roles = {int(n["id"]): n.get("role", "hidden") for n in nodes}
    graph = nx.DiGraph()
    graph.add_nodes_from(roles)
    for c in genome.get("connections") or []:
        if c.get("enabled", True):
            s, t = int(c["source"]), int(c["target"])
            if s not in roles or t not in roles:
                raise GenomeError(f"connection {c.get('innovation')!r} references an unknown node ({s} -> {t})")
            graph.add_edge(s, t)
    try:
        order = list(nx.topological_sort(graph))
    except nx.NetworkXUnfeasible as exc:
        raise GenomeError("the genome's enabled connections contain a cycle") from exc
    layer: dict[int, int] = {}
    for node in order:
        if roles[node] == "input":
            layer[node] = 0
        else:
            layer[node] = max((layer[p] + 1 for p in graph.predecessors(node)), default=1)
    top = max([layer[n] for n in roles if roles[n] != "output"] + [0]) + 1
    for node, role in roles.items():
        if role == "output":
            layer[node] = top
    return layer


LABELLED_PER_LAYER = 30
"""Neurons of a layer are labelled (feature, activation, class) only up to this many: beyond it
the labels would overlap."""


def plot_network(
    genome: Mapping[str, Any],
    path: str | os.PathLike[str] | None = None,
    *,
    title: str | None = None,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
) -> Path:
    """:func:`network_figure` written to ``path`` as PNG."""
    out = _need_path("plot_network", path)
    return _save(network_figure(genome, title=title, input_names=input_names, output_names=output_names), out)


def network_figure(
    genome: Mapping[str, Any],
    *,
    title: str | None = None,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
) -> Figure:
    """Draw one network from its genome JSON: inputs at the bottom, outputs on top, each layer in
    the order that crosses the fewest connections found (:mod:`results.drawing_layout`).

    Only enabled connections are drawn; their width follows |weight| when weights are present
    (blue positive, red negative). Inputs are labelled with ``input_names`` (the data's feature
    names, in input order; default ``x0, x1, ...``), outputs with ``output_names`` (class names;
    default ``y0, ...``), hidden neurons with their activation; the legend sits below the drawing.
    """
    from matplotlib.collections import LineCollection

    from connevo.results.drawing_layout import layered_positions

    layer = network_layers(genome)
    nodes = {int(n["id"]): n for n in genome.get("nodes") or []}
    conns = [c for c in genome.get("connections") or [] if c.get("enabled", True)]
    pos = layered_positions(layer, [(int(c["source"]), int(c["target"])) for c in conns])

    widest = max(np.bincount(list(layer.values())).max() if layer else 1, 1)
    n_layers = (max(layer.values()) + 1) if layer else 1
    fig = _new_figure(min(max(6.0, 0.25 * widest), 30.0), min(max(4.0, 1.2 * n_layers + 1.0), 21.0))
    ax = fig.add_subplot()
    ax.set_axis_off()
    if conns:
        weights = np.array([np.nan if c.get("weight") is None else float(c["weight"]) for c in conns])
        segments = [(pos[int(c["source"])], pos[int(c["target"])]) for c in conns]
        if np.isfinite(weights).any():
            scale = np.nanmax(np.abs(weights)) or 1.0
            mag = np.nan_to_num(np.abs(weights) / scale, nan=0.0)
            widths = 0.3 + 2.7 * mag
            colours = ["#4c72b0" if w >= 0 else "#c44e52" for w in np.nan_to_num(weights)]
        else:
            widths = np.full(len(conns), 0.8)
            colours = ["0.45"] * len(conns)
        ax.add_collection(LineCollection(segments, linewidths=widths, colors=colours, alpha=0.7, zorder=1))

    size = 120 if len(nodes) <= 40 else max(12, 4000 // len(nodes))
    for role, colour in _ROLE_COLOURS.items():
        ids = [i for i, n in nodes.items() if n.get("role", "hidden") == role]
        if ids:
            xy = np.array([pos[i] for i in ids])
            ax.scatter(xy[:, 0], xy[:, 1], s=size, color=colour, edgecolor="black", linewidth=0.4,
                       label=f"{role} ({len(ids)})", zorder=2)
    for node_id, text in _node_labels(nodes, layer, input_names, output_names).items():
        role = nodes[node_id].get("role", "hidden")
        below = role == "input"
        ax.annotate(text, pos[node_id], xytext=(0, -9 if below else 9), textcoords="offset points",
                    ha="right" if below else "center", va="top" if below else "bottom", fontsize="x-small",
                    rotation=45 if below else 0, rotation_mode="anchor", zorder=3)
    if nodes:  # below the drawing: never over a neuron
        fig.legend(loc="outside lower center", ncol=3, fontsize="small", frameon=False)
    ax.autoscale_view()
    ax.margins(0.06, 0.12)
    ax.set_title(title or f"{len(nodes)} nodes, {len(conns)} enabled connections")
    return fig


def _node_labels(nodes: Mapping[int, Mapping[str, Any]], layer: Mapping[int, int],
                 input_names: Sequence[str] | None, output_names: Sequence[str] | None) -> dict[int, str]:
    """Label of each neuron in a layer small enough to be labelled: inputs and outputs by name (in
    id order, as the genome numbers them), hidden ones by activation."""
    per_layer = np.bincount(list(layer.values())) if layer else np.zeros(1, dtype=int)
    labels: dict[int, str] = {}
    for role, names, prefix in (("input", input_names, "x"), ("output", output_names, "y")):
        ids = sorted(i for i, n in nodes.items() if n.get("role") == role)
        if role == "output" and names is not None and len(ids) == 1 and len(names) == 2:
            names = [f"{names[1]} (vs {names[0]})"]  # a binary network's one output: the class-1 logit
        if names is not None and len(names) != len(ids):
            raise SpecError(f"plot_network: {len(names)} {role}_names for {len(ids)} {role} neurons")
        for k, node_id in enumerate(ids):
            labels[node_id] = str(names[k]) if names is not None else f"{prefix}{k}"
    for node_id, n in nodes.items():
        if n.get("role", "hidden") == "hidden":
            labels[node_id] = str(n.get("activation", ""))
    return {i: text for i, text in labels.items() if i in layer and per_layer[layer[i]] <= LABELLED_PER_LAYER}


__all__ = ["network_figure", "network_layers", "plot_front", "plot_hypervolume", "plot_network"]
