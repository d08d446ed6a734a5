"""``objectives.rank_accuracy_by``: which score ranks ``val_accuracy``, and ``"auto"`` resolved.

On a few dozen validation rows the accuracy moves in steps of several percent, so most
candidates tie or differ by a row or two, and the front's best network is often the one that was
luckiest on those rows; the validation loss (cross-entropy) still tells sure from lucky. But a
network learning a nonlinear boundary is sometimes sure and wrong, which the loss punishes far
beyond one row, and ranked by the loss such networks can be pushed out of the population by
linear ones of lower loss. Measured with ``benchmarks/frontier.py`` (benchmarks/README.md): on
iris's 34 validation rows the loss lifted the held-out hypervolume by 0.004-0.024 on four seeds;
on sparse_xor, quantiles and wide, with hundreds of rows, it lost up to 0.066; on sparse_xor cut to
300 rows (67 validation rows) it gained 0.008 and 0.007 on two seeds and lost 0.247 on the third.
So the accuracy ranks by default; ``"loss"`` and ``"auto"`` (the loss below
:data:`LOSS_RANKING_BELOW_ROWS` validation rows) are there for data known to be nearly linear.

A campaign resolves ``"auto"`` once, when it is created, and stores the ranking it chose in its
spec: its fronts (read without the data set), resumes and extensions rank the same way.
"""

from __future__ import annotations

from connevo.evolution.spec import CampaignSpec

LOSS_RANKING_BELOW_ROWS = 100
"""``"auto"`` ranks by the loss where a classification's validation part has fewer rows than
this (one row is then more than 1% of accuracy)."""


def resolved_ranking(setting: str, validation_rows: int, kind: str = "classification") -> str:
    """``"accuracy"`` or ``"loss"``: ``setting`` itself unless it is ``"auto"``."""
    if setting != "auto":
        return setting
    return "loss" if kind == "classification" and validation_rows < LOSS_RANKING_BELOW_ROWS else "accuracy"


def with_resolved_ranking(spec: CampaignSpec, validation_rows: int, kind: str) -> CampaignSpec:
    """``spec`` with ``objectives.rank_accuracy_by`` resolved (:func:`resolved_ranking`)."""
    ranking = resolved_ranking(spec.objectives.rank_accuracy_by, validation_rows, kind)
    if ranking == spec.objectives.rank_accuracy_by:
        return spec
    objectives = spec.objectives.model_copy(update={"rank_accuracy_by": ranking})
    return spec.model_copy(update={"objectives": objectives})


def ranking_line(spec: CampaignSpec, validation_rows: int) -> str | None:
    """What ``connevo run`` says of a campaign whose validation loss ranks ``val_accuracy``
    (None when the accuracy ranks it, as it always did)."""
    if spec.objectives.rank_accuracy_by != "loss" or "val_accuracy" not in spec.objectives.maximize:
        return None
    return (f"selection: val_accuracy ranked by the validation loss ({validation_rows} validation rows; "
            "objectives.rank_accuracy_by)")


__all__ = ["LOSS_RANKING_BELOW_ROWS", "ranking_line", "resolved_ranking", "with_resolved_ranking"]
