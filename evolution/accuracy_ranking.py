"""``objectives.rank_accuracy_by``: which score ranks ``val_accuracy`` (or ``val_r2``) on the front, and ``"auto"`` resolved.

On a few dozen validation rows the accuracy moves in steps of several percent, so most
candidates tie or differ by a row or two, and the front's network of a budget is often the one
that was luckiest on those rows; the validation loss (cross-entropy) still tells sure from lucky.
So below :data:`LOSS_RANKING_BELOW_ROWS` validation rows the loss chooses the front's networks
(``"auto"``, the default): on iris (34 validation rows) the held-out hypervolume rose by 0.013,
0.000 and 0.021 on three seeds; on circles and sparse_xor cut to 300 rows (67 validation rows) it
moved by -0.005 to +0.017 (benchmarks/README.md).

Only the front: selection still ranks by the accuracy (:meth:`evolution.strategies.Scoring.ranked`).
Ranked by the loss in selection too, a network learning a nonlinear boundary, sure and wrong on
some rows while it learns, was pushed out of the population by linear networks of lower loss:
-0.066 on wide, -0.247 on one seed of the 300-row sparse_xor. On hundreds of validation rows the
loss-ranked front gains nothing on average (-0.018 to +0.008), so there the accuracy ranks.

A regression ranks its front by the loss over the training and validation rows together
(``"pooled"``): on a small, noisy regression many networks of a budget (different inputs, nearly
the same fit) differ on a hundred validation rows by less than those rows' noise, and the
pooled loss, on three times the rows, tells them apart. Measured on fronts chosen again from
stored campaigns of ``benchmarks/regression_frontier.py`` (each candidate scored on the held-out
rows, before the polish): diabetes (99 validation rows) +0.005, +0.009 and +0.075 of held-out
hypervolume on seeds 0-2, friedman1 and sparse_linear (300-400 validation rows) within +-0.001
(benchmarks/README.md). For a classification it was no better: on iris and wine (34 and 40
validation rows, the exported fronts of seeds 0-5) -0.018 to +0.019, mean +0.0015, the three-seed
medians moving one up and one down; on breast_cancer (128 rows, before the polish) -0.007 to
+0.003. So a classification keeps the rule above.

A campaign resolves ``"auto"`` once, when it is created, and stores the ranking it chose in its
spec: its fronts are read without the data set, and resumes and extensions rank the same way.
The pooled loss of each candidate is stored with it (``extra["pooled_loss"]``, from its own
training and validation losses), so a stored front is ranked without the data set too.
"""

from __future__ import annotations

from connevo.evolution.spec import CampaignSpec
from connevo.results.pareto import ranks_by_pooled_loss

LOSS_RANKING_BELOW_ROWS = 100
"""``"auto"`` ranks by the loss where a classification's validation part has fewer rows than
this (one row is then more than 1% of accuracy)."""


def resolved_ranking(setting: str, validation_rows: int, kind: str = "classification") -> str:
    """``"accuracy"``, ``"loss"`` or ``"pooled"``: ``setting`` itself unless it is ``"auto"``."""
    if setting != "auto":
        return setting
    if kind == "regression":
        return "pooled"
    return "loss" if validation_rows < LOSS_RANKING_BELOW_ROWS else "accuracy"


def with_resolved_ranking(spec: CampaignSpec, validation_rows: int, kind: str) -> CampaignSpec:
    """``spec`` with ``objectives.rank_accuracy_by`` resolved (:func:`resolved_ranking`)."""
    ranking = resolved_ranking(spec.objectives.rank_accuracy_by, validation_rows, kind)
    if ranking == spec.objectives.rank_accuracy_by:
        return spec
    objectives = spec.objectives.model_copy(update={"rank_accuracy_by": ranking})
    return spec.model_copy(update={"objectives": objectives})


def ranking_line(spec: CampaignSpec, validation_rows: int, training_rows: int) -> str | None:
    """What ``connevo run`` says of a campaign whose front ranks its validation score by a loss:
    the validation loss, or the loss pooled over ``training_rows`` and ``validation_rows``
    (None when the score itself ranks it)."""
    ranking = spec.objectives.rank_accuracy_by
    if ranking == "pooled":
        scores = [name for name in spec.objectives.maximize if ranks_by_pooled_loss(name, "max")]
        if not scores:
            return None
        return (f"front: {', '.join(scores)} ranked by the loss over training and validation rows together "
                f"({training_rows} training + {validation_rows} validation rows; objectives.rank_accuracy_by)")
    if ranking != "loss" or "val_accuracy" not in spec.objectives.maximize:
        return None
    return (f"front: val_accuracy ranked by the validation loss ({validation_rows} validation rows; "
            "objectives.rank_accuracy_by)")


__all__ = ["LOSS_RANKING_BELOW_ROWS", "ranking_line", "resolved_ranking", "with_resolved_ranking"]
