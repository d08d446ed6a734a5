"""A campaign's data, training settings and evaluator, as its spec asks."""

from __future__ import annotations

import json
import math
from functools import lru_cache
from typing import Any

from connevo.errors import ConnevoError
from connevo.evolution.spec import CampaignSpec, parse_spec
from connevo.results.metrics import prediction_metrics
from connevo.workers.evaluator import Evaluator, LocalEvaluator
from connevo.workers.records import TrainingSettings, rows_per_epoch
from connevo.workers.tasks import BUILTIN_DATASETS, Dataset, load_dataset
from connevo.workers.train import resolve_device


def load_task(spec: CampaignSpec) -> Dataset:
    """Load and split the spec's data set (raises DataError before anything is stored)."""
    task = spec.task
    return load_dataset(
        task.dataset,
        target=task.target,
        validation_fraction=task.validation_fraction,
        test_fraction=task.test_fraction,
        seed=spec.seed,
        samples=task.samples,
        noise=task.noise,
        bits=task.bits,
        base_dir=spec.base_dir,
        retina_goal=task.retina_goal,
        kind=task.kind,
    )


#: ``training.min_steps = "auto"``: every training takes at least this many optimizer steps ...
SMALL_DATA_STEPS = 100
#: ... and on plentiful multi-class data twice the steps of ``training.epochs``, up to this many ...
MULTICLASS_STEPS = 300
#: ... and on a two-class classification this many ...
BINARY_STEPS = 300
#: ... and on a regression this many, in at most ``REGRESSION_MAX_EPOCHS`` epochs.
REGRESSION_STEPS = 300
REGRESSION_MAX_EPOCHS = 50
#: Training rows per input feature from which data counts as plentiful (longer trainings pay there).
PLENTIFUL_ROWS_PER_INPUT = 10
#: ``training.batch_size = "auto"``: this many rows a step ...
AUTO_BATCH = 128
#: ... or on more training rows than this many steps of it take, as many as keep an epoch at this many steps.
MAX_EPOCH_STEPS = 100


def epoch_rows(spec: CampaignSpec, dataset: Dataset) -> int:
    """The training rows one epoch visits: all of them, at most ``training.epoch_rows``."""
    return rows_per_epoch(dataset.x_train.shape[0], spec.training.epoch_rows)


def auto_batch_size(spec: CampaignSpec, dataset: Dataset) -> int:
    """``training.batch_size = "auto"`` on ``dataset``: 128 rows a step; where an epoch (:func:`epoch_rows`)
    would take more than 100 steps of 128, as many rows as make it 100 steps (the rows / 100, rounded up).

    On small networks a step's time is mostly the fixed work of its operations (a step of 1,024
    rows cost about twice one of 128), so with steps of 128 rows a training's time grows with the
    rows: 45,000 training rows take 352 steps an epoch and a default campaign 20 minutes on 2 cores.
    Not the default: at equal generations the fewer steps cost 0.3-1.4% of held-out hypervolume
    (benchmarks/README.md, *Steps of more rows on large data*)."""
    rows = epoch_rows(spec, dataset)
    if rows <= AUTO_BATCH * MAX_EPOCH_STEPS:
        return AUTO_BATCH
    return math.ceil(rows / MAX_EPOCH_STEPS)


def batch_size(spec: CampaignSpec, dataset: Dataset) -> int:
    """Rows per optimizer step: ``training.batch_size``, resolved on ``dataset`` when it is "auto"."""
    value = spec.training.batch_size
    return auto_batch_size(spec, dataset) if value == "auto" else value


def steps_per_epoch(spec: CampaignSpec, dataset: Dataset) -> int:
    """Optimizer steps of one epoch over ``dataset``'s training rows (at most ``training.epoch_rows``)."""
    return max(1, math.ceil(epoch_rows(spec, dataset) / batch_size(spec, dataset)))


def plentiful_rows(dataset: Dataset) -> bool:
    """At least ``PLENTIFUL_ROWS_PER_INPUT`` training rows per input: data on which longer trainings
    were measured to pay; on thinner data larger networks overfit (:func:`auto_min_steps`)."""
    rows, inputs = dataset.x_train.shape[0], max(1, dataset.x_train.shape[1])
    return rows >= PLENTIFUL_ROWS_PER_INPUT * inputs


def plentiful_multiclass(dataset: Dataset) -> bool:
    """A classification of 3 or more classes with :func:`plentiful_rows`: the data on which twice
    the steps of ``training.epochs`` were measured to pay (:func:`auto_min_steps`)."""
    return dataset.kind == "classification" and dataset.n_classes >= 3 and plentiful_rows(dataset)


def auto_min_steps(spec: CampaignSpec, dataset: Dataset) -> int:
    """``training.min_steps = "auto"`` on ``dataset``: 100 optimizer steps; on data with at least
    10 training rows per input (:func:`plentiful_rows`), a classification of two classes: 300 steps,
    of 3 or more: twice the steps of ``training.epochs``, at most 300; a regression: 300 steps, at
    most those of 50 epochs.

    Measured (benchmarks/README.md, *Twice the epochs*): twice the optimizer steps raised the
    held-out hypervolume on every multi-class data set of plentiful rows (by 0.001 to 0.022),
    while it cost the 200-feature set of 3.4 rows per input 0.009 (its larger networks overfit).
    On two-class data, 100 steps (13 epochs of 900 rows) left networks that need a bent boundary
    untrained: two spirals stayed at the linear models' accuracy (0.92x magnitude pruning); with
    300 steps they reach 1.12x, and the other two-class sets of plentiful rows moved up on 18
    campaigns of 27, down on 7; on the thin ones 300 steps cost 100 features of 450 rows 0.010
    at the median (benchmarks/README.md, *Two-class trainings of 300 steps*). Data sets whose 10
    epochs already take 300 steps (3,840 training rows or more at batch 128) keep them: more
    would only cost time. On regressions of 675 to 900 training rows, 300 steps (38-50 epochs)
    raised the median hypervolume of all five sets (by 0.0001 to 0.047; 10 campaigns of 15 up, 4
    down by at most 0.005), while on diabetes' 199 rows the 150 epochs they take lost 0.051 (75
    epochs: 0.018): the cap of 50 epochs leaves it its 100 steps (benchmarks/README.md,
    *Regressions of 300 steps*)."""
    if dataset.kind == "classification" and dataset.n_classes == 2 and plentiful_rows(dataset):
        return BINARY_STEPS
    if dataset.kind == "regression" and plentiful_rows(dataset):
        capped = REGRESSION_MAX_EPOCHS * steps_per_epoch(spec, dataset)
        return max(SMALL_DATA_STEPS, min(REGRESSION_STEPS, capped))
    if not plentiful_multiclass(dataset):
        return SMALL_DATA_STEPS
    doubled = 2 * spec.training.epochs * steps_per_epoch(spec, dataset)
    return max(SMALL_DATA_STEPS, min(MULTICLASS_STEPS, doubled))


def min_steps(spec: CampaignSpec, dataset: Dataset) -> int:
    """The least optimizer steps of a training: ``training.min_steps``, resolved on ``dataset``
    when it is "auto"."""
    value = spec.training.min_steps
    return auto_min_steps(spec, dataset) if value == "auto" else value


def training_settings(spec: CampaignSpec, dataset: Dataset) -> TrainingSettings:
    """The workers' training settings of ``spec`` on ``dataset``: epochs raised so that a
    training takes at least ``training.min_steps`` optimizer steps (:func:`min_steps`; a third of
    them for a child that inherited its parent's weights), however small the data set."""
    t = spec.training
    least = math.ceil(min_steps(spec, dataset) / steps_per_epoch(spec, dataset))
    epochs = max(t.epochs, least)
    warm = t.inherited_epochs if t.inherited_epochs is not None else min(epochs, max(t.warm_epochs, math.ceil(least / 3)))
    return TrainingSettings(
        epochs=epochs,
        batch_size=batch_size(spec, dataset),
        epoch_rows=t.epoch_rows,
        learning_rate=t.learning_rate,
        fan_in_boost=t.fan_in_boost,
        patience=t.patience,
        time_limit=t.time_limit,
        batched=t.batched,
        precision=t.precision,
        device=t.device,
        inherit_weights=t.inherit_weights,
        inherited_epochs=warm,
        structure_hints=t.structure_hints,
        rewire_fraction=t.rewire_fraction,
        rewire_every=t.rewire_every,
        measure_latency=t.measure_latency or "latency_us" in spec.objectives.names,
        polish_rows=t.polish_rows,
        prediction_metrics=prediction_metrics(dataset.kind),
    )


def polish_epochs(spec: CampaignSpec, dataset: Dataset) -> int:
    """Epochs of the final polish (0: none): ``training.polish_epochs``, or when unset
    :func:`default_polish_epochs`."""
    value = spec.training.polish_epochs
    return default_polish_epochs(spec, dataset) if value is None else value


def default_polish_epochs(spec: CampaignSpec, dataset: Dataset) -> int:
    """The polish's epochs when ``training.polish_epochs`` is unset: as many as a child that
    inherited weights trains; where ``training.min_steps = "auto"`` doubled the trainings of
    :func:`plentiful_multiclass` data (:func:`auto_min_steps` above 100 steps, raising the epochs
    above ``training.epochs``), as many as a whole training.

    Measured (benchmarks/README.md, *A whole training's polish*): on the five plentiful
    multi-class sets of ``benchmarks/frontier.py`` a polish of a whole training's epochs raised the
    held-out hypervolume on 11 of 15 campaigns (medians -0.0001 to +0.005) at a few seconds more;
    on the small and binary sets a longer polish lost (breast_cancer -0.005)."""
    settings = training_settings(spec, dataset)
    doubled = (spec.training.min_steps == "auto" and plentiful_multiclass(dataset)
               and auto_min_steps(spec, dataset) > SMALL_DATA_STEPS)
    lengthened = doubled and settings.epochs > spec.training.epochs
    return settings.epochs if lengthened else settings.inherited_epochs


def training_summary(spec: CampaignSpec, dataset: Dataset) -> str:
    """How every candidate of the campaign trains, in one line (``connevo run`` prints it first):
    epochs, after weight inheritance, steps an epoch, and why the epochs were raised, if they were."""
    settings = training_settings(spec, dataset)
    rows, per_epoch = dataset.x_train.shape[0], steps_per_epoch(spec, dataset)
    line = f"training: {settings.epochs} epochs a network"
    if settings.inherit_weights:
        line += f" ({settings.inherited_epochs} after weight inheritance)"
    line += f", {per_epoch} steps an epoch (batch {settings.batch_size}, {rows:,} training rows"
    if settings.epoch_rows is not None and settings.epoch_rows < rows:
        line += f", {settings.epoch_rows:,} of them sampled afresh each epoch: training.epoch_rows"
    auto = auto_batch_size(spec, dataset)
    if spec.training.batch_size == "auto" and settings.batch_size > AUTO_BATCH:
        line += f"; batch raised from {AUTO_BATCH} by training.batch_size (\"auto\") to keep an epoch at {MAX_EPOCH_STEPS} steps"
    elif spec.training.batch_size != "auto" and auto > max(settings.batch_size, AUTO_BATCH):
        auto_steps = math.ceil(epoch_rows(spec, dataset) / auto)
        line += f'; training.batch_size = "auto" would take {auto_steps} steps an epoch instead'
    line += ")"
    if settings.epochs > spec.training.epochs:
        rule = ' ("auto")' if spec.training.min_steps == "auto" else ""
        line += (f"; raised from training.epochs = {spec.training.epochs} to take training.min_steps{rule} = "
                 f"{min_steps(spec, dataset)} steps")
    return line


def make_evaluator(spec: CampaignSpec, dataset: Dataset) -> Evaluator:
    """The evaluator the spec asks for: Ray (embedded or a cluster) by default, or in-process."""
    settings = training_settings(spec, dataset)
    w = spec.workers
    if w.backend == "local":
        resolve_device(settings.device)  # this process trains: no GPU for "cuda" is an error now, not per chunk
        return LocalEvaluator(dataset, settings, chunk_size=w.chunk_size)
    from connevo.workers.ray_evaluator import RayEvaluator

    return RayEvaluator(
        dataset,
        settings,
        workers=w.count,
        ray_address=w.ray_address,
        gpus_per_worker=w.gpus_per_worker,
        cpus_per_worker=w.cpus_per_worker,
        chunk_size=w.chunk_size,
        max_retries=w.max_retries,
    )


def network_names(spec: Any) -> tuple[list[str], list[str]] | None:
    """(input names, output names) of a campaign's networks, for drawings: the features of its
    data, and its class names (a regression: the target's name). ``spec``: the stored spec (a
    dict) or a parsed one. None when its data cannot be loaded any more (a file moved)."""
    document = spec.model_dump(mode="json") if isinstance(spec, CampaignSpec) else spec
    return _names(json.dumps(document, sort_keys=True))


@lru_cache(maxsize=32)  # the HTTP service draws networks of the same few campaigns again and again
def _names(spec_json: str) -> tuple[list[str], list[str]] | None:
    try:
        spec = parse_spec(json.loads(spec_json))
        dataset = load_task(spec)
    except ConnevoError:
        return None
    outputs = [target_name(spec)] if dataset.kind == "regression" else list(dataset.class_names)
    return list(dataset.feature_names), outputs


def target_name(spec: CampaignSpec) -> str:
    """The name of what a campaign predicts: its file's target column, "target" for a built-in
    data set (whose ``task.target`` names no column)."""
    return "target" if spec.task.dataset in BUILTIN_DATASETS else spec.task.target


__all__ = ["auto_batch_size", "auto_min_steps", "batch_size", "default_polish_epochs", "epoch_rows", "load_task",
           "make_evaluator", "min_steps", "network_names", "plentiful_multiclass", "polish_epochs", "steps_per_epoch",
           "target_name", "training_settings", "training_summary"]
