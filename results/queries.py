"""Queries over a store (:class:`~results.storage.BaseStore`) that return pandas DataFrames."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from connevo.errors import SpecError
from connevo.results.metrics import metrics
from connevo.results.pareto import (
    ACCURACY_RANKINGS,
    DEFAULT_ACCURACY_RANKING,
    POOLED_LOSS,
    check_accuracy_ranking,
    pareto_front,
)
from connevo.results.storage import BaseStore

DEFAULT_OBJECTIVES: tuple[str, str] = ("val_accuracy", "connections")

FRONT_LEADING_COLUMNS: tuple[str, ...] = (
    "candidate_id",
    "generation",
    "val_accuracy",
    "test_accuracy",
    "train_accuracy",
    "connections",
    "params",
    "flops",
    "wiring_length",
    "status",
)


def _with_extra_objectives(df: pd.DataFrame, objectives: Sequence[str]) -> pd.DataFrame:
    """Lift objectives that are not columns out of the ``extra`` JSON column, when present there."""
    lifted = [o for o in objectives if o not in df.columns]
    if not lifted:
        return df
    extras = df["extra"] if "extra" in df.columns else pd.Series([{}] * len(df), index=df.index)
    unknown = [o for o in lifted if not any(isinstance(e, dict) and o in e for e in extras)]
    if unknown and len(df):
        hint = (" (latency_us is measured only in campaigns that select on it or set training.measure_latency = true)"
                if "latency_us" in unknown else "")
        raise SpecError(
            f"objective(s) {unknown!r} are neither candidate columns nor keys of 'extra'{hint}; "
            f"columns are {list(df.columns)!r}"
        )
    df = df.copy()
    for obj in lifted:
        df[obj] = pd.to_numeric(
            pd.Series([e.get(obj) if isinstance(e, dict) else None for e in extras], index=df.index, dtype=object),
            errors="coerce",
        ).astype("float64")
    return df


def with_metric_columns(df: pd.DataFrame, objectives: Sequence[str] = ()) -> pd.DataFrame:
    """``df`` (a store's candidates) with ``objectives`` and every registered metric a candidate
    keeps in ``extra`` (a regression's R^2, MSE, MAE; ROC AUC; ...) as columns too."""
    return _with_extra_metrics(_with_extra_objectives(df, objectives))


def with_pooled_loss(df: pd.DataFrame, ranking: str) -> pd.DataFrame:
    """With the ``"pooled"`` ranking, each candidate's pooled loss (:data:`results.pareto.POOLED_LOSS`,
    kept in ``extra``) as a column: NaN where a candidate has none (ranked below every one with one)."""
    if ranking != "pooled" or POOLED_LOSS in df.columns or "extra" not in df.columns:
        return df
    values = [e.get(POOLED_LOSS) if isinstance(e, dict) else None for e in df["extra"]]
    return df.assign(**{POOLED_LOSS: pd.to_numeric(pd.Series(values, index=df.index, dtype=object), errors="coerce")})


def _with_extra_metrics(df: pd.DataFrame) -> pd.DataFrame:
    """Every registered metric a candidate keeps in ``extra`` (computed from its genome or its
    confusion matrices) as a column too, where some candidate has it."""
    if "extra" not in df.columns or not len(df):
        return df
    names = [m.name for m in metrics()
             if m.name not in df.columns and any(isinstance(e, dict) and m.name in e for e in df["extra"])]
    return _with_extra_objectives(df, names) if names else df


POLISHED_FROM = "polished_from"
"""Key of a polished candidate's ``extra`` (:mod:`evolution.polish`): the id of the front network
it replaces."""


def _polished_from(df: pd.DataFrame) -> pd.Series:
    """Per candidate, the id of the candidate it is a polished copy of (None for the others): the
    ``polished_from`` column (schema version 4), else ``extra[POLISHED_FROM]``."""
    if POLISHED_FROM in df:
        return df[POLISHED_FROM].where(df[POLISHED_FROM].notna(), None)
    if "extra" not in df:
        return pd.Series(None, index=df.index, dtype=object)
    return pd.Series([e.get(POLISHED_FROM) if isinstance(e, dict) else None for e in df["extra"]], index=df.index,
                     dtype=object)


def superseded(df: pd.DataFrame) -> pd.Series:
    """Per candidate, whether an ``ok`` polished candidate in ``df`` replaces it."""
    sources = _polished_from(df)
    ok = df["status"] == "ok" if "status" in df else pd.Series(True, index=df.index)
    return df["id"].isin(set(sources[ok & sources.notna()]))


def polished(df: pd.DataFrame) -> pd.Series:
    """Per candidate, whether it is a polished copy (:mod:`evolution.polish`)."""
    return _polished_from(df).notna().astype(bool)


def fidelity(df: pd.DataFrame) -> pd.Series:
    """Per candidate, the share of its full training behind its metrics: the ``fidelity`` column
    (``extra["fidelity"]``), 1 for every candidate of a campaign without multi-fidelity rungs."""
    if "fidelity" in df:
        return df["fidelity"].astype("float64").fillna(1.0)
    if "extra" not in df:
        return pd.Series(1.0, index=df.index, dtype="float64")
    return pd.Series([e.get("fidelity", 1.0) if isinstance(e, dict) else 1.0 for e in df["extra"]],
                     index=df.index, dtype="float64")


def accuracy_ranking(store: BaseStore, campaign: str) -> str:
    """How the campaign's accuracy objectives rank candidates (:func:`spec_accuracy_ranking`)."""
    return spec_accuracy_ranking(store.get_campaign(campaign).get("spec"))


def spec_accuracy_ranking(spec: Mapping[str, Any] | None) -> str:
    """A stored campaign spec's ``objectives.rank_accuracy_by`` (:data:`results.pareto.ACCURACY_RANKINGS`);
    the default where it names none."""
    objectives = spec.get("objectives") if isinstance(spec, Mapping) else None
    ranking = objectives.get("rank_accuracy_by") if isinstance(objectives, Mapping) else None
    return ranking if ranking in ACCURACY_RANKINGS else DEFAULT_ACCURACY_RANKING


def front(
    store: BaseStore,
    campaign: str,
    objectives: Sequence[str] = DEFAULT_OBJECTIVES,
    *,
    max_connections: int | None = None,
    include_failed: bool = False,
    senses: Sequence[str] | None = None,
    distinct: bool = True,
    include_partial: bool = False,
    unpolished: bool = False,
    genomes: bool | str = True,
    rank_accuracy_by: str | None = None,
) -> pd.DataFrame:
    """The Pareto front of a campaign (id or name) over ``objectives``.

    Only ``ok`` candidates unless ``include_failed``: then failed, diverged and timed-out
    candidates with scores compete too, and those without a score for every objective (a
    training that failed) are listed after the front, by number; with ``max_connections`` only candidates
    with at most that many connections. Columns start with :data:`FRONT_LEADING_COLUMNS`.
    An objective that is not a column is read from each candidate's ``extra`` metrics.
    With ``distinct`` (the default), candidates with identical objective values are listed once
    (the earliest), and the ``duplicates`` column counts the others. Candidates stopped at a
    short multi-fidelity rung (:func:`fidelity` below 1) only with ``include_partial``. A front
    network that the final polish replaced (:func:`superseded`) is left out, its polished copy
    competes; with ``unpolished``, the front as evolution left it (the polished copies left out).
    Without ``genomes``, no genome is read (the front's other columns are the same); with
    ``"columns"``, genomes are read for ``Genome.from_dict`` (:meth:`BaseStore.candidates`).
    An accuracy objective ranks as ``rank_accuracy_by`` says (:data:`results.pareto.ACCURACY_RANKINGS`;
    None: as the campaign's spec says, :func:`accuracy_ranking`).
    """
    ranking = accuracy_ranking(store, campaign) if rank_accuracy_by is None else check_accuracy_ranking(rank_accuracy_by)
    ids, duplicates = _front_ids(store, campaign, objectives, max_connections=max_connections,
                                 include_failed=include_failed, senses=senses, include_partial=include_partial,
                                 unpolished=unpolished, distinct=distinct, rank_accuracy_by=ranking)
    df = store.candidates(campaign, genomes=genomes, ids=ids)
    df = _competing(df, unpolished=unpolished, include_failed=include_failed, include_partial=include_partial,
                    max_connections=max_connections)
    df = with_pooled_loss(_with_extra_metrics(_with_extra_objectives(df, objectives)), ranking)
    result = pareto_front(df, objectives, senses, ranking).rename(columns={"id": "candidate_id"})
    if distinct and len(result):
        result = result.assign(duplicates=result["candidate_id"].map(duplicates).astype(int)).reset_index(drop=True)
    if include_failed:
        unscored = df[df[list(objectives)].isna().any(axis=1)].rename(columns={"id": "candidate_id"})
        if len(unscored):
            unscored = unscored.sort_values("number").assign(duplicates=0)
            result = pd.concat([result, unscored[[c for c in result.columns if c in unscored.columns]]],
                               ignore_index=True) if len(result) else unscored.reset_index(drop=True)
    lead = [c for c in FRONT_LEADING_COLUMNS if c in result.columns]
    return result[lead + [c for c in result.columns if c not in lead]]


def _competing(df: pd.DataFrame, *, unpolished: bool, include_failed: bool, include_partial: bool,
               max_connections: int | None) -> pd.DataFrame:
    """The candidates that compete for a front, as :func:`front`'s options say."""
    df = df[~polished(df)] if unpolished else df[~superseded(df)]
    if not include_failed:
        df = df[df["status"] == "ok"]
    if not include_partial:
        df = df[fidelity(df) >= 1.0]
    if max_connections is not None:
        df = df[df["connections"].le(max_connections).fillna(False).astype(bool)]
    return df


def _front_ids(store: BaseStore, campaign: str, objectives: Sequence[str], *, max_connections: int | None,
               include_failed: bool, senses: Sequence[str] | None, include_partial: bool, unpolished: bool,
               distinct: bool, rank_accuracy_by: str) -> tuple[list[str], dict[str, int]]:
    """The first pass of :func:`front`: the ids of the candidates it lists, from a few columns of
    every candidate (no genome, no ``extra`` JSON unless an objective lives there), and with
    ``distinct`` how many others share each one's scores (only the earliest of them is listed,
    and read); the second pass reads those candidates whole and gives the same front (a front's
    members are their own front)."""
    from connevo.results.pareto import TIE_BREAKERS
    from connevo.results.schema import CANDIDATE_COLUMNS

    wanted = ["id", "number", "status", "connections", "fidelity", POLISHED_FROM, *objectives,
              *(TIE_BREAKERS[o] for o in objectives if o in TIE_BREAKERS)]
    if any(o not in CANDIDATE_COLUMNS for o in objectives) or rank_accuracy_by == "pooled":
        wanted.append("extra")
    df = store.candidates(campaign, columns=[c for c in dict.fromkeys(wanted) if c in CANDIDATE_COLUMNS])
    df = _competing(df, unpolished=unpolished, include_failed=include_failed, include_partial=include_partial,
                    max_connections=max_connections)
    df = with_pooled_loss(_with_extra_objectives(df, objectives), rank_accuracy_by)
    members = pareto_front(df, objectives, senses, rank_accuracy_by)
    duplicates: dict[str, int] = {}
    if distinct and len(members):
        keys = [members[o].round(12) if members[o].dtype.kind == "f" else members[o] for o in objectives]
        groups = members.groupby(keys, sort=False, dropna=False)
        first = members["number"] == groups["number"].transform("min")
        members = members.assign(duplicates=groups["number"].transform("size") - 1)[first]
        duplicates = dict(zip(members["id"], members["duplicates"].astype(int).tolist(), strict=True))
    ids = list(members["id"])
    if include_failed:  # a failed training's candidate; not a compressed copy unscored on the rows it learned from
        ids += list(df.loc[df[list(objectives)].isna().any(axis=1) & df["status"].ne("ok"), "id"])
    return ids, duplicates


def hypervolume_history(store: BaseStore, campaign: str) -> pd.DataFrame:
    """Per generation: generation, hypervolume, front_size, best_val_accuracy, evaluations and
    cumulative_evaluations (to plot hypervolume against the number of evaluations)."""
    gens = store.generations(campaign, summaries_only=True)
    out = gens[["generation", "hypervolume", "front_size", "best_val_accuracy", "evaluations"]].copy()
    out["cumulative_evaluations"] = out["evaluations"].cumsum().astype("int64")
    return out.reset_index(drop=True)


def compare_campaigns(
    store: BaseStore, campaigns: Sequence[str], objectives: Sequence[str] = DEFAULT_OBJECTIVES
) -> pd.DataFrame:
    """One row per campaign (id or name): id, name, status, generations_done, candidates,
    front_size (of its ok candidates over ``objectives``), best_val_accuracy, last_hypervolume."""
    rows = []
    for ref in campaigns:
        info = store.get_campaign(ref)
        cands = store.candidates(info["id"], status="ok", genomes=False)
        cands = cands[(fidelity(cands) >= 1.0) & ~superseded(cands)]
        gens = store.generations(info["id"])
        ranking = spec_accuracy_ranking(info.get("spec"))
        best = cands["val_accuracy"].max() if len(cands) else np.nan
        rows.append(
            {
                "id": info["id"],
                "name": info["name"],
                "status": info["status"],
                "generations_done": info["generations_done"],
                "candidates": info["candidates"],
                "front_size": len(pareto_front(with_pooled_loss(_with_extra_objectives(cands, objectives), ranking),
                                               objectives, rank_accuracy_by=ranking)),
                "best_val_accuracy": float(best) if pd.notna(best) else np.nan,
                "last_hypervolume": float(gens["hypervolume"].iloc[-1]) if len(gens) else np.nan,
            }
        )
    columns = [
        "id",
        "name",
        "status",
        "generations_done",
        "candidates",
        "front_size",
        "best_val_accuracy",
        "last_hypervolume",
    ]
    return pd.DataFrame(rows, columns=columns)


def campaign_kind(spec: Mapping[str, Any]) -> str:
    """The task kind of a stored campaign spec (its JSON): ``classification`` or ``regression``."""
    return str((spec.get("task") or {}).get("kind", "classification"))


def campaign_objectives(spec: Mapping[str, Any], *, first_two: bool = False) -> list[str]:
    """The objectives of a stored campaign spec (its JSON): the maximized ones, then the minimized.

    With ``first_two``, only the first of each: the accuracy/cost pair a front plot draws.
    """
    maximize, minimize = list(spec["objectives"]["maximize"]), list(spec["objectives"]["minimize"])
    return [maximize[0], minimize[0]] if first_two else [*maximize, *minimize]


CANDIDATE_SORT_COLUMNS: tuple[str, ...] = (
    "number", "generation", "val_accuracy", "test_accuracy", "train_accuracy", "val_loss", "connections",
    "params", "flops", "wiring_length", "depth", "hidden_nodes", "epochs", "seconds",
)
"""Columns :func:`candidate_page` sorts by (``GET /campaigns/{id}/candidates``)."""


class CandidatePage(NamedTuple):
    """One page of candidates: its rows and how many candidates matched over all pages."""

    items: pd.DataFrame
    total: int


def check_page(sort: str, offset: int, limit: int) -> None:
    """:class:`SpecError` naming ``sort``, ``offset`` or ``limit`` when one is not allowed."""
    if sort not in CANDIDATE_SORT_COLUMNS:
        raise SpecError(f"'sort': cannot sort candidates by {sort!r}; choose from {', '.join(CANDIDATE_SORT_COLUMNS)}")
    if offset < 0:
        raise SpecError(f"'offset': must be 0 or more, got {offset}")
    if limit < 1:
        raise SpecError(f"'limit': must be 1 or more, got {limit}")


def candidate_page(
    frame: pd.DataFrame,
    *,
    status: str | None = None,
    generation: int | None = None,
    min_val_accuracy: float | None = None,
    max_connections: int | None = None,
    sort: str = "number",
    descending: bool = False,
    offset: int = 0,
    limit: int = 100,
) -> CandidatePage:
    """Candidates of ``frame`` (a store's :meth:`~results.storage.BaseStore.candidates`) filtered,
    sorted and paged.

    Filters: ``status``, ``generation``, at least ``min_val_accuracy``, at most
    ``max_connections`` (a candidate without that metric does not match the last two). Sorted by
    ``sort`` (one of :data:`CANDIDATE_SORT_COLUMNS`), missing values last in either direction,
    ties by ``number`` ascending; then ``limit`` rows from ``offset`` (an empty page past the
    end). ``total`` counts the matching candidates over all pages. A bad ``sort``, ``offset`` or
    ``limit`` raises :class:`SpecError` naming it.
    """
    check_page(sort, offset, limit)
    if sort not in frame.columns:
        raise SpecError(f"'sort': the candidates have no column {sort!r}")
    if status is not None:
        frame = frame[frame["status"] == status]
    if generation is not None:
        frame = frame[frame["generation"] == generation]
    if min_val_accuracy is not None:
        frame = frame[frame["val_accuracy"].ge(min_val_accuracy).fillna(False).astype(bool)]
    if max_connections is not None:
        frame = frame[frame["connections"].le(max_connections).fillna(False).astype(bool)]
    keys = [sort] if sort == "number" else [sort, "number"]
    frame = frame.sort_values(keys, ascending=[not descending, True][: len(keys)], kind="mergesort",
                              na_position="last")
    return CandidatePage(items=frame.iloc[offset: offset + limit], total=len(frame))


__all__ = ["CANDIDATE_SORT_COLUMNS", "DEFAULT_OBJECTIVES", "FRONT_LEADING_COLUMNS", "POLISHED_FROM", "CandidatePage",
           "accuracy_ranking", "campaign_kind", "campaign_objectives", "candidate_page", "check_page", "compare_campaigns", "front", "hypervolume_history", "polished",
           "spec_accuracy_ranking", "superseded", "with_metric_columns", "with_pooled_loss"]
