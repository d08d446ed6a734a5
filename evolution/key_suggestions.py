"""What an unknown key of a spec probably meant: ``"; did you mean 'x'?"`` for the error message.

Three guesses, in this order:

1. a key of the same table spelled like it (``populaton`` -> ``population``; difflib);
2. the same key in another table (``evolution.epochs`` -> ``training.epochs``): a key written
   under the wrong header;
3. the name other tools give the setting (``task.label``, scikit-learn's and AutoGluon's word for
   the target column, -> ``task.target``; ``pop_size`` -> ``population``; a ``[data]`` table ->
   ``[task]``), from :data:`OTHER_NAMES`.

A guess names the key by its place in the table that holds the unknown one (``'population'``)
or, in another table, by its dotted path (``'training.epochs'``). No guess: an empty string.
"""

from __future__ import annotations

import difflib
import typing
from typing import Any

from pydantic import BaseModel

OTHER_NAMES: dict[str, str] = {
    # the target column (scikit-learn, AutoGluon, XGBoost, pandas users)
    "label": "task.target", "labels": "task.target", "label_column": "task.target",
    "target_column": "task.target", "y": "task.target", "class": "task.target", "target_col": "task.target",
    # the data file
    "data": "task", "path": "task.dataset", "file": "task.dataset", "csv": "task.dataset",
    "data_path": "task.dataset", "train_file": "task.dataset",
    # evolution's sizes (DEAP, neat-python, pymoo)
    "pop_size": "evolution.population", "population_size": "evolution.population",
    "n_generations": "evolution.generations", "ngen": "evolution.generations", "n_gen": "evolution.generations",
    "iterations": "evolution.generations",
    # training (PyTorch, Keras)
    "lr": "training.learning_rate", "n_epochs": "training.epochs", "max_epochs": "training.epochs",
    "batch": "training.batch_size", "early_stopping": "training.patience",
    # the workers
    "n_workers": "workers.count", "num_workers": "workers.count",
    "n_jobs": "workers.count", "address": "workers.ray_address",
    "random_state": "seed", "random_seed": "seed",
}
"""A setting's name in other tools -> connevo's dotted key (or table) for it."""


def _table_model(root: type[BaseModel], path: tuple[str, ...]) -> type[BaseModel] | None:
    """The model of the table at ``path`` below ``root`` (None: no such table)."""
    model: type[BaseModel] = root
    for part in path:
        field = model.model_fields.get(part)
        if field is None:
            return None
        options = [field.annotation, *typing.get_args(field.annotation)]
        found = next((t for t in options if isinstance(t, type) and issubclass(t, BaseModel)), None)
        if found is None:
            return None
        model = found
    return model


def _keys(root: type[BaseModel], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every key of ``root``, tables and leaves, as paths, in declaration order."""
    paths = []
    for name in root.model_fields:
        paths.append((*prefix, name))
        table = _table_model(root, (name,))
        if table is not None:
            paths.extend(_keys(table, (*prefix, name)))
    return paths


def _named(found: tuple[str, ...], table: tuple[str, ...]) -> str:
    """``found`` as the message names it: its own name within ``table``, else its dotted path."""
    return found[-1] if found[:-1] == table else ".".join(found)


def suggestion(root: type[BaseModel], location: tuple[Any, ...]) -> str:
    """``"; did you mean 'x'?"`` for the unknown key at ``location`` of a spec validated by
    ``root``, or ``""`` when nothing looks meant."""
    parts = tuple(str(p) for p in location)
    table, leaf = parts[:-1], parts[-1]
    model = _table_model(root, table)
    if model is None:
        return ""
    close = difflib.get_close_matches(leaf, list(model.model_fields), n=1, cutoff=0.75)
    if close:
        return f"; did you mean '{close[0]}'?"
    elsewhere = [path for path in _keys(root) if path[-1] == leaf]
    if len(elsewhere) == 1:
        return f"; did you mean '{_named(elsewhere[0], table)}'?"
    other = OTHER_NAMES.get(leaf.lower())
    if other is not None:
        return f"; did you mean '{_named(tuple(other.split('.')), table)}'?"
    return ""


__all__ = ["OTHER_NAMES", "suggestion"]
