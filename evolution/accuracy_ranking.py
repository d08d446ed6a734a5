"""``objectives.rank_accuracy_by``: which score ranks ``val_accuracy`` (or ``val_r2``) on the front, and ``"auto"`` resolved.

A classification's front holds, by default, every network that no other beats on the
validation accuracy *and* the validation loss at as few connections (``"accuracy_and_loss"``).
Both are estimates of how a network does on new rows, and both are noisy: the accuracy moves in
steps of a row and ties often, the cross-entropy tells sure from lucky but rewards caution.
Where they disagree (a larger network that is surer of the right class and no more accurate on
these rows), the validation rows cannot say which network is better on new ones, so the front
keeps both. It contains the front ranked by the accuracy (ties by the loss) and the front ranked
by the loss, and is about two to three times as large. Measured on 57 campaigns of
``benchmarks/frontier.py`` (19 data sets, seeds 0-2; benchmarks/README.md) against the rule
before it, which ranked by the accuracy from 100 validation rows up and by the loss below:
fronts chosen again among the stored unpolished candidates, each scored on the held-out rows,
+0.0048 of held-out hypervolume on average (51 gained, 6 level; a superset cannot lose), more
than a third of what choosing on the held-out rows themselves would gain; the exported,
polished fronts +0.0053 (48 gained, 9 level; waveform +0.021 on one seed, noisy +0.015, hastie
+0.013).

Before it, on a few dozen validation rows the loss ranked the front (on iris, 34 validation
rows, +0.013, 0.000 and +0.021 against the accuracy), and from 100 rows up the accuracy; the loss alone gained nothing on average there (-0.018 to
+0.008). ``"accuracy"`` and ``"loss"`` remain settings.

Only the front: selection still ranks by the accuracy (:meth:`evolution.strategies.Scoring.ranked`).
Ranked by the loss in selection too, a network learning a nonlinear boundary, sure and wrong on
some rows while it learns, was pushed out of the population by linear networks of lower loss:
-0.066 on wide, -0.247 on one seed of the 300-row sparse_xor.

A regression ranks its front by the loss over the training and validation rows together
(``"pooled"``): on a small, noisy regression many networks of a budget (different inputs, nearly
the same fit) differ on a hundred validation rows by less than those rows' noise, and the
pooled loss, on three times the rows, tells them apart. Measured on fronts chosen again from
stored campaigns of ``benchmarks/regression_frontier.py`` (each candidate scored on the held-out
rows, before the polish): diabetes (99 validation rows) +0.005, +0.009 and +0.075 of held-out
hypervolume on seeds 0-2, friedman1 and sparse_linear (300-400 validation rows) within +-0.001
(benchmarks/README.md).

A campaign resolves ``"auto"`` once, when it is created, and stores the ranking it chose in its
spec: its fronts are read without the data set, and resumes and extensions rank the same way
(a campaign stored before ``"accuracy_and_loss"`` keeps the ranking it stored).
The pooled loss of each candidate is stored with it (``extra["pooled_loss"]``, from its own
training and validation losses), so a stored front is ranked without the data set too.
"""

from __future__ import annotations

from connevo.evolution.spec import CampaignSpec
from connevo.results.pareto import ranks_by_pooled_loss


def resolved_ranking(setting: str, kind: str = "classification") -> str:
    """``"accuracy_and_loss"`` or ``"pooled"`` for ``"auto"`` (by the task's ``kind``); any other
    ``setting`` as it is."""
    if setting != "auto":
        return setting
    return "pooled" if kind == "regression" else "accuracy_and_loss"


def with_resolved_ranking(spec: CampaignSpec, kind: str) -> CampaignSpec:
    """``spec`` with ``objectives.rank_accuracy_by`` resolved (:func:`resolved_ranking`)."""
    ranking = resolved_ranking(spec.objectives.rank_accuracy_by, kind)
    if ranking == spec.objectives.rank_accuracy_by:
        return spec
    objectives = spec.objectives.model_copy(update={"rank_accuracy_by": ranking})
    return spec.model_copy(update={"objectives": objectives})


def ranking_line(spec: CampaignSpec, validation_rows: int, training_rows: int) -> str | None:
    """What ``connevo run`` says of a campaign whose front ranks its validation score by a loss:
    the validation loss, the accuracy and the validation loss both, or the loss pooled over
    ``training_rows`` and ``validation_rows`` (None when the score itself ranks it)."""
    ranking = spec.objectives.rank_accuracy_by
    if ranking == "pooled":
        scores = [name for name in spec.objectives.maximize if ranks_by_pooled_loss(name, "max")]
        if not scores:
            return None
        return (f"front: {', '.join(scores)} ranked by the loss over training and validation rows together "
                f"({training_rows} training + {validation_rows} validation rows; objectives.rank_accuracy_by)")
    if ranking not in ("loss", "accuracy_and_loss") or "val_accuracy" not in spec.objectives.maximize:
        return None
    if ranking == "accuracy_and_loss":
        return (f"front: every network that none with as few connections beats on both the validation accuracy and "
                f"the validation loss ({validation_rows} validation rows; objectives.rank_accuracy_by)")
    return (f"front: val_accuracy ranked by the validation loss ({validation_rows} validation rows; "
            "objectives.rank_accuracy_by)")


__all__ = ["ranking_line", "resolved_ranking", "with_resolved_ranking"]
