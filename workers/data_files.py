"""Reading a user's data file (CSV, Parquet, NPZ) into features, raw targets and feature names,
with an error naming the file and column for every bad input."""

from __future__ import annotations

import difflib
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from connevo.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

TARGET_NAMES: tuple[str, ...] = ("label", "labels", "target", "class", "y", "outcome", "response")
"""Names a data file's target column often has: guessed when the spec's ``task.target`` is absent."""


def meant_target(target: str, columns: Sequence[str]) -> str | None:
    """The column a ``task.target`` absent from ``columns`` probably meant: the same name in
    another case (``type`` for ``Type``), one of :data:`TARGET_NAMES` in any case (for the
    default ``label``, a file whose target is ``class``), else one spelled like it; None if none."""
    by_lower: dict[str, list[str]] = {}
    for column in columns:
        by_lower.setdefault(column.lower(), []).append(column)
    same = by_lower.get(target.lower(), [])
    if len(same) == 1:
        return same[0]
    if target.lower() in TARGET_NAMES:
        usual = [by_lower[name][0] for name in TARGET_NAMES if len(by_lower.get(name, [])) == 1]
        if len(usual) == 1:
            return usual[0]
    close = difflib.get_close_matches(target.lower(), list(by_lower), n=1, cutoff=0.8)
    return by_lower[close[0]][0] if close and len(by_lower[close[0]]) == 1 else None


def _meant_target_hint(target: str, columns: Sequence[str]) -> str:
    """``"; did you mean 'x'? (task.target = 'x')"`` for :func:`meant_target`'s guess, or ``""``."""
    guess = meant_target(target, columns)
    return "" if guess is None else f"; did you mean {guess!r}? (task.target = {guess!r})"


NPZ_FEATURE_NAMES: tuple[str, ...] = ("X", "x", "features")
"""Names an NPZ file's feature array may have (besides being the one array that is not the target)."""

# Exceptions the readers raise for empty, unparseable or truncated files.
READ_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,  # pandas ParserError/EmptyDataError, pyarrow ArrowInvalid, numpy format errors
    OSError,  # pyarrow ArrowIOError, truncated reads
    EOFError,
    KeyError,
    TypeError,
    UnicodeDecodeError,
    zipfile.BadZipFile,
    zlib.error,
)


def csv_dialect(path: Path) -> dict[str, str]:
    """``pandas.read_csv``'s ``sep`` and ``decimal`` for ``path``, from its first two lines: a
    header without a comma but with semicolons or tabs names its separator (the semicolon files
    of locales whose decimal mark is a comma, and TSV named .csv); semicolon-separated rows holding
    commas write their decimals with commas. Anything else: commas and points, pandas' defaults.
    By hand, not ``csv.Sniffer``: it guesses from characters' frequencies and takes a header of
    letters and digits for one column of a letter-separated file."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            header, row = handle.readline(), handle.readline()
    except OSError:
        return {}  # read_csv names the problem
    if "," in header:
        return {}
    if ";" in header:
        return {"sep": ";", "decimal": ","} if "," in row else {"sep": ";"}
    if "\t" in header:
        return {"sep": "\t"}
    return {}


def read_frame(path: Path, suffix: str) -> pd.DataFrame:
    """A CSV or Parquet file as a frame of ``str`` column names, each name once."""
    import pandas as pd  # here, not with the module: Ray workers import it and never read a file

    kind = "CSV" if suffix == ".csv" else "Parquet"
    try:
        if suffix == ".csv":
            # skipinitialspace: "a, b, label" (a space after each comma) names columns a, b and label
            frame = pd.read_csv(path, low_memory=False, skipinitialspace=True, **csv_dialect(path))
        else:
            frame = pd.read_parquet(path)
    except Exception as exc:  # ParserError, EmptyDataError, ArrowInvalid, OSError, UnicodeDecodeError...
        raise DataError(f"cannot read {kind} file {str(path)!r}: {type(exc).__name__}: {exc}") from exc

    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    if len(set(columns)) != len(columns):
        dupes = sorted({c for c in columns if columns.count(c) > 1})
        raise DataError(f"{kind} file {str(path)!r} has duplicate column names: {dupes}")
    return frame


def read_table(path: Path, target: str, suffix: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Features, raw targets and feature names of a CSV or Parquet file."""
    kind = "CSV" if suffix == ".csv" else "Parquet"
    frame = read_frame(path, suffix)
    columns = list(frame.columns)
    if target not in columns:
        shown = columns if len(columns) <= 20 else [*columns[:20], f"... {len(columns) - 20} more"]
        headless = kind == "CSV" and all(_is_number(c) for c in columns)
        hint = ("; its first line holds numbers: connevo reads that line as the column names, so add a header "
                "line (e.g. x0,x1,...,label)" if headless else
                _meant_target_hint(target, columns) or "; set task.target to the column to predict")
        raise DataError(f"target column {target!r} not found in {str(path)!r}; available columns: {shown}" + hint)
    if len(frame) == 0:
        raise DataError(f"{kind} file {str(path)!r} has no data rows")
    feature_cols = [c for c in columns if c != target]
    if not feature_cols:
        raise DataError(f"{kind} file {str(path)!r} has no feature columns besides target {target!r}")

    text = non_numeric_columns(frame, feature_cols)
    if text:  # every one named at once: a user fixes them in one go
        col = text[0]
        others = f" (and {len(text) - 1} more: {text[1:] if len(text) <= 11 else [*text[1:11], '...']})" \
            if len(text) > 1 else ""
        raise DataError(
            f"feature column {col!r} of {str(path)!r} is not numeric "
            f"(dtype {frame[col].dtype}); example bad value: {example_non_numeric(frame[col])!r}{others}; encode "
            f"categories as numbers first, e.g. one column per category: pandas.get_dummies(frame, columns={text!r})"
        )
    blocks = []
    for col in feature_cols:
        series = frame[col]
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        _check_finite(values, col, str(path))
        blocks.append(values)
    x = np.column_stack(blocks)

    y_series = frame[target]
    n_missing = int(y_series.isna().sum())
    if n_missing:
        raise DataError(f"target column {target!r} of {str(path)!r} has {n_missing} missing value(s)")
    return x, y_series.to_numpy(), tuple(feature_cols)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def non_numeric_columns(frame: pd.DataFrame, columns: Sequence[str]) -> list[str]:
    """Those of ``columns`` whose values are neither numbers nor booleans (text, categories, dates)."""
    import pandas as pd

    return [c for c in columns
            if not (pd.api.types.is_numeric_dtype(frame[c].dtype) or pd.api.types.is_bool_dtype(frame[c].dtype))]


def example_non_numeric(series: pd.Series) -> object:
    """The first non-missing value of ``series`` that does not parse as a number."""
    import pandas as pd

    non_null = series.dropna()
    if non_null.empty:
        return None
    parsed = pd.to_numeric(non_null.astype(str), errors="coerce")
    bad = non_null[parsed.isna().to_numpy()]
    value = bad.iloc[0] if not bad.empty else non_null.iloc[0]
    return value.item() if isinstance(value, np.generic) else value


def _check_finite(values: np.ndarray, column: str, file: str) -> None:
    """Missing values (NaN) are allowed: they become the training rows' mean
    (:func:`workers.tasks`); a column with no value at all, or an infinite one, is refused."""
    n_nan = int(np.isnan(values).sum())
    if n_nan and n_nan == values.shape[0]:
        raise DataError(f"feature column {column!r} of {file!r} has no values: all {n_nan} are missing (NaN); "
                        "drop the column from the file: it tells the networks nothing")
    n_inf = int(np.isinf(values).sum())
    if n_inf:
        raise DataError(f"feature column {column!r} of {file!r} has {n_inf} infinite value(s)")


def read_npz(path: Path, target: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Features, raw targets and feature names of an NPZ file."""
    # Open the file ourselves: np.load leaks its handle when the archive is corrupt.
    with open(path, "rb") as handle:
        try:
            loaded = np.load(handle, allow_pickle=False)
        except READ_ERRORS as exc:
            raise DataError(f"cannot read NPZ file {str(path)!r}: {type(exc).__name__}: {exc}") from exc
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise DataError(f"NPZ file {str(path)!r} is not an .npz archive (it holds a single bare array)")
        try:
            with loaded as archive:
                arrays = {name: archive[name] for name in archive.files}
        except READ_ERRORS as exc:  # a truncated or corrupt member
            raise DataError(f"cannot read NPZ file {str(path)!r}: {type(exc).__name__}: {exc}") from exc

    names = sorted(arrays)
    if target not in arrays:
        raise DataError(f"target array {target!r} not found in {str(path)!r}; available arrays: {names}"
                        + _meant_target_hint(target, names))
    others = [n for n in names if n != target]
    if len(others) == 1:
        feature_key = others[0]
    else:
        found = [n for n in NPZ_FEATURE_NAMES if n in arrays and n != target]
        if not found:
            raise DataError(
                f"cannot tell the feature array of {str(path)!r}: expected exactly one array besides "
                f"target {target!r}, or one named {' / '.join(NPZ_FEATURE_NAMES)}; arrays: {names}"
            )
        feature_key = found[0]

    x = arrays[feature_key]
    if x.ndim == 1:
        x = x.reshape(-1, 1)
    if x.ndim != 2:
        raise DataError(
            f"feature array {feature_key!r} of {str(path)!r} must be 1-D or 2-D, got shape {x.shape}"
        )
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_) or np.iscomplexobj(x):
        raise DataError(
            f"feature array {feature_key!r} of {str(path)!r} is not numeric (dtype {x.dtype}); "
            f"example bad value: {x.flat[0].item() if x.size else None!r}"
        )
    x = x.astype(np.float64)
    feature_names = tuple(f"x{i}" for i in range(x.shape[1]))
    for i, col in enumerate(feature_names):
        _check_finite(x[:, i], col, str(path))

    y = arrays[target]
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.ndim != 1:
        raise DataError(f"target array {target!r} of {str(path)!r} must be 1-D, got shape {y.shape}")
    if y.shape[0] != x.shape[0]:
        raise DataError(
            f"target array {target!r} of {str(path)!r} has {y.shape[0]} rows but feature array "
            f"{feature_key!r} has {x.shape[0]}"
        )
    if x.shape[0] == 0:
        raise DataError(f"NPZ file {str(path)!r} has no data rows")
    if x.shape[1] == 0:
        raise DataError(f"feature array {feature_key!r} of {str(path)!r} has no feature columns")
    if y.dtype.kind == "f" and np.isnan(y).any():
        raise DataError(
            f"target array {target!r} of {str(path)!r} has {int(np.isnan(y).sum())} missing (NaN) value(s)"
        )
    return x, y, feature_names


def row_number_notes(x: np.ndarray, names: Sequence[str]) -> tuple[str, ...]:
    """One note for each feature column of ``x`` holding the row numbers in file order (0..n-1 or
    1..n): a pandas index that ``DataFrame.to_csv`` saved (its column read back as ``Unnamed: 0``),
    or an id. As an input it means nothing, or leaks the label where the file is sorted by it."""
    n = x.shape[0]
    if n < 3:
        return ()
    steps = np.arange(n, dtype=np.float64)
    notes = []
    for j, name in enumerate(names):
        for first in (0, 1):
            if np.array_equal(x[:, j], steps + first):
                notes.append(f"data: feature column {name!r} holds the row numbers ({first}..{n - 1 + first} in file "
                             "order): a saved index or an id, an input of every network; drop it from the file unless "
                             "it is a feature (pandas: DataFrame.to_csv(..., index=False))")
    return tuple(notes)


# --------------------------------------------------------------------------------------------
# Classes, split, standardization


__all__ = ["NPZ_FEATURE_NAMES", "READ_ERRORS", "TARGET_NAMES", "csv_dialect", "example_non_numeric", "meant_target",
           "non_numeric_columns", "read_frame", "read_npz", "read_table", "row_number_notes"]
