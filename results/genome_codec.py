"""Genomes stored compactly: the JSON document's lists of genes as typed columns, compressed.

A genome's JSON (``Genome.to_dict``) spends most of its bytes on connection genes, each an
object of five keys with its weight as decimal text: about 120 bytes a connection. Here every
list of objects that share their keys, and every list of equally long lists (the structure
hints' ``[source, target, score]`` rows), becomes one array per key or position; the rest of
the document stays JSON, and the whole is zlib-compressed. Decoding gives back exactly the
document that was encoded (the same keys in the same order, the same Python types and values):
the codec does not know genomes, so any JSON document round-trips.

Columns (format version 2): integers in the narrowest of int8/16/32/64 that holds them, as
differences from the previous value where that is narrower or repeats more (node ids and
innovation numbers mostly climb by small steps); booleans as bytes; text as codes into its
distinct values; numbers as float32 where that loses nothing, else float64, their bytes
regrouped by significance (all first bytes, then all second bytes...) so that zlib finds the
repeats in signs and exponents. Version 1 blobs (int64 columns, floats as they are, record
lists only) still decode.

The search hands a trained genome's connection genes over as columns (:class:`Records`:
packed exactly as the list of objects they stand for, without making them) and reads them back
the same way (``decode(..., columns=True)``); a document of plain JSON types is encoded as it
is (``strict``), without the JSON round trip that would normalize anything else.

Written by hand because no library keeps a JSON document's exact types while storing its
record lists column-wise (Parquet and Arrow IPC would for the columns, at several times the
size and cost for a document of a few hundred genes, and not for the document around them).
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterator
from operator import itemgetter
from typing import Any

import numpy as np

MAGIC = b"CNVG\x02"
"""The first bytes of an encoded genome (format version 2)."""
MAGIC_V1 = b"CNVG\x01"
"""Format version 1's first bytes: still read."""
HEADERS = (MAGIC, MAGIC_V1)
"""The first bytes of an encoded genome of any format this codec reads."""
INTEGER_TYPES = (np.int8, np.int16, np.int32, np.int64)
SAFE_DELTA = 2**62  # values within +-2**62 have differences that fit in int64

TABLE_KEY = "\x00table"  # marks a packed list in the JSON skeleton
ESCAPE = "\x00"  # a document's own keys that start with it get another one (so none is TABLE_KEY)
MIN_ROWS = 4  # shorter lists of objects stay JSON: columns would not pay for themselves
SMALL_COLUMN = 64
"""Integer columns of at most this many values are sized in Python (:func:`_small_integers`)."""


def _column(values: list[Any]) -> tuple[str, np.ndarray, list[str] | None] | None:
    """(kind, array, categories) of one key's values, or None when they are not of one plain type."""
    kinds = set(map(type, values))
    if kinds == {bool}:
        return "bool", np.fromiter(values, dtype=np.uint8, count=len(values)), None
    if kinds == {int}:
        low, high = min(values), max(values)
        if -(2**63) <= low and high < 2**63:
            if len(values) <= SMALL_COLUMN:
                return _small_integers(values, low, high)
            return _integers(np.asarray(values, dtype=np.int64))
        return None
    if kinds == {float}:
        return _floats(np.asarray(values, dtype=np.float64))
    if kinds == {str}:
        categories = sorted(set(values))
        index = {c: i for i, c in enumerate(categories)}
        return "str", np.asarray([index[v] for v in values], dtype=np.int32), categories
    return None


def _array_column(array: np.ndarray) -> tuple[str, np.ndarray, list[str] | None] | None:
    """What :func:`_column` gives for ``array.tolist()``, from the array itself (bool, integer
    or float dtypes; None for any other)."""
    if array.dtype == np.bool_:
        return "bool", array.astype(np.uint8), None
    if array.dtype.kind in "iu" and array.dtype.itemsize <= 8 and not (array.dtype == np.uint64 and array.size
                                                                       and int(array.max()) >= 2**63):
        return _integers(array.astype(np.int64))
    if array.dtype.kind == "f":
        return _floats(array.astype(np.float64))
    return None


def _floats(wide: np.ndarray) -> tuple[str, np.ndarray, None]:
    """Float values as float32 where that loses nothing (and none is NaN), else float64."""
    with np.errstate(over="ignore"):  # beyond float32's range: inf, so kept as float64
        narrow = wide.astype(np.float32)
    if np.array_equal(narrow.astype(np.float64), wide, equal_nan=True) and not np.isnan(wide).any():
        return "float32", _shuffled(narrow), None
    return "float64", _shuffled(wide), None


class Records:
    """A list of JSON objects that share their keys, held as one numpy column per key (bool,
    integer or float): :func:`encode` packs it exactly as it packs ``rows()``, the list of
    objects, without making them (a genome's connection genes: no Python object per gene)."""

    __slots__ = ("columns", "keys")

    def __init__(self, keys: tuple[str, ...], columns: tuple[np.ndarray, ...]) -> None:
        if len(keys) != len(columns) or len({len(c) for c in columns}) > 1:
            raise ValueError("Records needs one column per key, all of one length")
        self.keys, self.columns = keys, columns

    def __len__(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """The objects, one by one (code that loops over a genome's connection genes reads these
        as it read the list)."""
        keys = self.keys
        for values in zip(*(c.tolist() for c in self.columns)):
            yield dict(zip(keys, values))

    def __repr__(self) -> str:
        return f"Records({len(self)} rows of {list(self.keys)})"

    def rows(self) -> list[dict[str, Any]]:
        """The objects, with plain Python values (``tolist``)."""
        return list(self)


_INTEGER_RANGES = [(dtype, int(np.iinfo(dtype).min), int(np.iinfo(dtype).max)) for dtype in INTEGER_TYPES]


def _integer_type(low: int, high: int) -> type[np.integer]:
    """The narrowest of :data:`INTEGER_TYPES` that holds ``low..high`` (int64 beyond them all:
    the callers' values are int64 already)."""
    for dtype, smallest, largest in _INTEGER_RANGES:
        if smallest <= low and high <= largest:
            return dtype
    return np.int64


def _narrowest(values: np.ndarray, low: int | None = None, high: int | None = None) -> np.ndarray:
    """``values`` in the narrowest integer type that holds them (``low``/``high``: their
    minimum and maximum, when the caller knows them)."""
    if low is None or high is None:
        low, high = (int(values.min()), int(values.max())) if values.size else (0, 0)
    return values.astype(_integer_type(low, high))


def _integers(values: np.ndarray) -> tuple[str, np.ndarray, None]:
    """``("int", narrowest values)`` or ``("delta", narrowest differences)``, whichever is narrower
    (on a tie, the one with fewer distinct values)."""
    low, high = (int(values.min()), int(values.max())) if values.size else (0, 0)
    plain = _narrowest(values, low, high)
    if values.size < 2 or low < -SAFE_DELTA or high > SAFE_DELTA:
        return "int", plain, None
    steps = np.empty_like(values)  # np.diff(values, prepend=0), without its concatenation
    steps[0] = values[0]
    np.subtract(values[1:], values[:-1], out=steps[1:])
    steps = _narrowest(steps)
    if steps.itemsize != plain.itemsize:  # the narrower wins; distinct values count only on a tie
        return ("delta", steps, None) if steps.itemsize < plain.itemsize else ("int", plain, None)
    if _distinct(steps) < _distinct(plain):
        return "delta", steps, None
    return "int", plain, None


def _small_integers(values: list[int], low: int, high: int) -> tuple[str, np.ndarray, None]:
    """What :func:`_integers` gives for a short list of ints (``low``/``high`` its extremes),
    decided in Python: on a few dozen values numpy's per-call cost is most of the work (a
    candidate row's confusion matrices are 30 such columns)."""
    plain = _integer_type(low, high)
    if len(values) < 2 or low < -SAFE_DELTA or high > SAFE_DELTA:
        return "int", np.array(values, dtype=plain), None
    steps = [values[0], *(b - a for a, b in zip(values, values[1:]))]
    stepped = _integer_type(min(steps), max(steps))
    wider = np.dtype(stepped).itemsize - np.dtype(plain).itemsize
    if wider < 0 or (wider == 0 and len(set(steps)) < len(set(values))):
        return "delta", np.array(steps, dtype=stepped), None
    return "int", np.array(values, dtype=plain), None


def _distinct(values: np.ndarray) -> int:
    """How many distinct values ``values`` holds (a set for the short columns of most genomes,
    where np.unique's sort costs several times more)."""
    return len(set(values.tolist())) if values.size <= 4096 else int(np.unique(values).size)


def _shuffled(values: np.ndarray) -> np.ndarray:
    """Little-endian float bytes regrouped by significance (byte planes), as uint8."""
    planes = np.ascontiguousarray(values.astype(values.dtype.newbyteorder("<"))).view(np.uint8)
    return np.ascontiguousarray(planes.reshape(-1, values.itemsize).T).reshape(-1)


def _unshuffled(planes: np.ndarray, dtype: str) -> np.ndarray:
    width = np.dtype(dtype).itemsize
    return np.ascontiguousarray(planes.reshape(width, -1).T).reshape(-1).view(np.dtype(dtype))


class NotPlain(TypeError):
    """:func:`encode` with ``strict``: the document holds a value that is not exactly a JSON type."""


_PLAIN_SCALARS = frozenset({str, int, float, bool, type(None)})


def encode(document: dict[str, Any], *, strict: bool = False) -> bytes:
    """The compact bytes of a JSON document (a genome's dict).

    ``strict``: raise :class:`NotPlain` unless every value is exactly of a JSON type (``dict``
    with ``str`` keys, ``list``, ``str``, ``int``, ``float``, ``bool``, ``None``; no subclass,
    tuple or numpy scalar). A document that passes is one a JSON round trip leaves unchanged,
    so the bytes are those of its round trip, without its cost (a millisecond a genome).
    """
    arrays: list[np.ndarray] = []

    def pack(value: Any) -> Any:
        kind = type(value)
        if kind is dict or (not strict and isinstance(value, dict)):
            if strict and any(type(k) is not str for k in value):
                raise NotPlain(f"a key of type {next(type(k) for k in value if type(k) is not str).__name__}")
            return {(ESCAPE + k if k.startswith(ESCAPE) else k): pack(v) for k, v in value.items()}
        if kind is list or (not strict and isinstance(value, list)):
            table = _table(value)
            return table if table is not None else [pack(v) for v in value]
        if kind is Records:
            table = _columns_table(value)
            return table if table is not None else pack(value.rows())
        if strict and kind not in _PLAIN_SCALARS:
            raise NotPlain(f"a value of type {kind.__name__}")
        return value

    def _table(rows: list[Any]) -> dict[str, Any] | None:
        if len(rows) < MIN_ROWS or (strict and any(type(r) is not dict and type(r) is not list for r in rows)):
            return None  # strict: rows of other types are refused by pack, one by one
        if all(isinstance(r, dict) for r in rows):
            keys: list[Any] = list(rows[0])
            if not keys or any(list(r) != keys for r in rows):
                return None
            if strict and any(type(k) is not str for k in keys):
                raise NotPlain(f"a key of type {next(type(k) for k in keys if type(k) is not str).__name__}")
        elif all(isinstance(r, list) for r in rows):  # rows as lists: keys are positions
            keys = list(range(len(rows[0])))
            if not keys or any(len(r) != len(keys) for r in rows):
                return None
        else:
            return None
        columns = []
        for key in keys:
            column = _column(list(map(itemgetter(key), rows)))
            if column is None:
                return None
            columns.append((key, *column))
        return _assembled(columns, len(rows), lists=isinstance(rows[0], list))

    def _columns_table(records: Records) -> dict[str, Any] | None:
        """The table of :class:`Records`, as :func:`_table` makes it of their rows."""
        if len(records) < MIN_ROWS or not records.keys or (strict and any(type(k) is not str for k in records.keys)):
            return None
        columns = []
        for key, values in zip(records.keys, records.columns):
            column = _array_column(values)
            if column is None:
                return None
            columns.append((key, *column))
        return _assembled(columns, len(records), lists=False)

    def _assembled(columns: list[tuple[Any, str, np.ndarray, list[str] | None]], n_rows: int, lists: bool
                   ) -> dict[str, Any]:
        described = []
        for key, kind, array, categories in columns:
            described.append([key, kind, len(arrays), categories])
            arrays.append(array)
        table: dict[str, Any] = {TABLE_KEY: described, "rows": n_rows}
        if lists:
            table["lists"] = True
        return table

    skeleton = json.dumps(pack(document), separators=(",", ":"), allow_nan=True).encode()
    layout = [[a.dtype.str, a.size] for a in arrays]
    head = json.dumps(layout, separators=(",", ":")).encode()
    body = b"".join(np.ascontiguousarray(a).tobytes() for a in arrays)
    # level 1: 2-4% more bytes than level 6 at a third of its time (a 10^5-connection genome:
    # 3.56 against 3.49 bytes a connection, 8 against 21 ms); decoding reads any level
    return MAGIC + zlib.compress(struct.pack("<II", len(skeleton), len(head)) + skeleton + head + body, 1)


_NUMERIC_KINDS = frozenset({"bool", "int", "delta", "float32", "float64"})


def decode(blob: bytes, *, columns: bool = False) -> dict[str, Any]:
    """The JSON document :func:`encode` was given; with ``columns``, each packed list of objects
    whose values are all booleans and numbers comes back as :class:`Records` (numpy columns:
    bool, int64, float64) instead of the objects (``Genome.from_dict`` reads either; only that
    list is not plain JSON then)."""
    if blob.startswith(MAGIC):
        version = 2
    elif blob.startswith(MAGIC_V1):
        version = 1
    else:
        raise ValueError("not an encoded genome (no connevo genome header)")
    raw = zlib.decompress(blob[len(MAGIC):])
    n_skeleton, n_head = struct.unpack_from("<II", raw)
    offset = 8
    skeleton = json.loads(raw[offset:offset + n_skeleton])
    offset += n_skeleton
    layout = json.loads(raw[offset:offset + n_head])
    offset += n_head
    arrays = []
    for dtype, size in layout:
        array = np.frombuffer(raw, dtype=np.dtype(dtype), count=size, offset=offset)
        offset += array.nbytes
        arrays.append(array)

    def unpack(value: Any) -> Any:
        if isinstance(value, dict):
            if TABLE_KEY in value:
                return _rows(value)
            return {(k[1:] if k.startswith(ESCAPE) else k): unpack(v) for k, v in value.items()}
        if isinstance(value, list):
            return [unpack(v) for v in value]
        return value

    def _rows(table: dict[str, Any]) -> list[dict[str, Any]] | list[list[Any]] | Records:
        if columns and version >= 2 and not table.get("lists") and all(
                kind in _NUMERIC_KINDS for _, kind, _, _ in table[TABLE_KEY]):
            return _records(table)
        decoded = []
        for key, kind, position, categories in table[TABLE_KEY]:
            array = arrays[position]
            if kind == "bool":
                values: list[Any] = [bool(v) for v in array]
            elif kind == "str":
                values = [categories[i] for i in array.tolist()]
            elif kind == "delta":
                values = np.cumsum(array.astype(np.int64)).tolist()
            elif kind in ("float32", "float64") and version >= 2:
                values = _unshuffled(array, "<f4" if kind == "float32" else "<f8").astype(np.float64).tolist()
            else:  # int, and version 1's floats: tolist() gives Python ints and floats
                values = array.astype(np.float64).tolist() if kind == "float32" else array.tolist()
            decoded.append((key, values))
        if table.get("lists"):
            return [list(row) for row in zip(*(v for _, v in decoded))]
        keys = [k for k, _ in decoded]
        return [dict(zip(keys, row)) for row in zip(*(v for _, v in decoded))]

    def _records(table: dict[str, Any]) -> Records:
        keys, taken = [], []
        for key, kind, position, _ in table[TABLE_KEY]:
            array = arrays[position]
            if kind == "bool":
                array = array.astype(bool)
            elif kind == "delta":
                array = np.cumsum(array.astype(np.int64))
            elif kind == "int":
                array = array.astype(np.int64)
            else:
                array = _unshuffled(array, "<f4" if kind == "float32" else "<f8").astype(np.float64)
            keys.append(key)
            taken.append(array)
        return Records(tuple(keys), tuple(taken))

    document: dict[str, Any] = unpack(skeleton)
    return document


def read(value: Any, *, columns: bool = False) -> dict[str, Any] | None:
    """A stored genome column value as its document: encoded bytes, or the JSON text (or
    already-parsed JSON) of stores written before genomes were encoded; ``columns``: as
    :func:`decode` gives them (JSON text gives objects)."""
    if value is None or isinstance(value, dict):
        return value
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes) and value.startswith(HEADERS):
        return decode(value, columns=columns)
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("utf-8")
    document = json.loads(value)
    if not isinstance(document, dict):
        raise ValueError(f"a stored genome must be a JSON object, got {type(document).__name__}")
    return document


__all__ = ["HEADERS", "MAGIC", "MAGIC_V1", "NotPlain", "Records", "decode", "encode", "read"]
