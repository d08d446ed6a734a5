"""Genomes stored compactly: the JSON document's lists of genes as typed columns, compressed.

A genome's JSON (``Genome.to_dict``) spends most of its bytes on connection genes, each an
object of five keys with its weight as decimal text: about 120 bytes a connection. Here every
list of objects that share their keys becomes one array per key (integers as int64, booleans
as bytes, text as codes into its distinct values, numbers as float32 where that loses nothing,
else float64), the rest of the document stays JSON, and the whole is zlib-compressed. Decoding
gives back exactly the document that was encoded (the same keys in the same order, the same
Python types and values): the codec does not know genomes, so any JSON document round-trips.

Written by hand because no library keeps a JSON document's exact types while storing its
record lists column-wise (Parquet and Arrow IPC would for the columns, at several times the
size and cost for a document of a few hundred genes, and not for the document around them).
"""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any

import numpy as np

MAGIC = b"CNVG\x01"
"""The first bytes of an encoded genome (format version 1)."""

TABLE_KEY = "\x00table"  # marks a packed list in the JSON skeleton
ESCAPE = "\x00"  # a document's own keys that start with it get another one (so none is TABLE_KEY)
MIN_ROWS = 4  # shorter lists of objects stay JSON: columns would not pay for themselves


def _column(values: list[Any]) -> tuple[str, np.ndarray, list[str] | None] | None:
    """(kind, array, categories) of one key's values, or None when they are not of one plain type."""
    kinds = {type(v) for v in values}
    if kinds == {bool}:
        return "bool", np.fromiter(values, dtype=np.uint8, count=len(values)), None
    if kinds == {int}:
        if all(-(2**63) <= v < 2**63 for v in values):
            return "int", np.asarray(values, dtype=np.int64), None
        return None
    if kinds == {float}:
        wide = np.asarray(values, dtype=np.float64)
        narrow = wide.astype(np.float32)
        if np.array_equal(narrow.astype(np.float64), wide, equal_nan=True) and not np.isnan(wide).any():
            return "float32", narrow, None
        return "float64", wide, None
    if kinds == {str}:
        categories = sorted(set(values))
        index = {c: i for i, c in enumerate(categories)}
        return "str", np.asarray([index[v] for v in values], dtype=np.int32), categories
    return None


def encode(document: dict[str, Any]) -> bytes:
    """The compact bytes of a JSON document (a genome's dict)."""
    arrays: list[np.ndarray] = []

    def pack(value: Any) -> Any:
        if isinstance(value, dict):
            return {(ESCAPE + k if k.startswith(ESCAPE) else k): pack(v) for k, v in value.items()}
        if isinstance(value, list):
            table = _table(value)
            return table if table is not None else [pack(v) for v in value]
        return value

    def _table(rows: list[Any]) -> dict[str, Any] | None:
        if len(rows) < MIN_ROWS or not all(isinstance(r, dict) for r in rows):
            return None
        keys = list(rows[0])
        if not keys or any(list(r) != keys for r in rows):
            return None
        columns = []
        for key in keys:
            column = _column([r[key] for r in rows])
            if column is None:
                return None
            columns.append((key, *column))
        described = []
        for key, kind, array, categories in columns:
            described.append([key, kind, len(arrays), categories])
            arrays.append(array)
        return {TABLE_KEY: described, "rows": len(rows)}

    skeleton = json.dumps(pack(document), separators=(",", ":"), allow_nan=True).encode()
    layout = [[a.dtype.str, a.size] for a in arrays]
    head = json.dumps(layout, separators=(",", ":")).encode()
    body = b"".join(np.ascontiguousarray(a).tobytes() for a in arrays)
    return MAGIC + zlib.compress(struct.pack("<II", len(skeleton), len(head)) + skeleton + head + body, 6)


def decode(blob: bytes) -> dict[str, Any]:
    """The JSON document :func:`encode` was given."""
    if not blob.startswith(MAGIC):
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

    def _rows(table: dict[str, Any]) -> list[dict[str, Any]]:
        columns = []
        for key, kind, position, categories in table[TABLE_KEY]:
            array = arrays[position]
            if kind == "bool":
                values: list[Any] = [bool(v) for v in array]
            elif kind == "str":
                values = [categories[i] for i in array.tolist()]
            else:  # int, float32, float64: tolist() gives Python ints and floats
                values = array.astype(np.float64).tolist() if kind == "float32" else array.tolist()
            columns.append((key, values))
        keys = [k for k, _ in columns]
        return [dict(zip(keys, row)) for row in zip(*(v for _, v in columns))]

    document: dict[str, Any] = unpack(skeleton)
    return document


def read(value: Any) -> dict[str, Any] | None:
    """A stored genome column value as its document: encoded bytes, or the JSON text (or
    already-parsed JSON) of stores written before genomes were encoded."""
    if value is None or isinstance(value, dict):
        return value
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes) and value.startswith(MAGIC):
        return decode(value)
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("utf-8")
    document = json.loads(value)
    if not isinstance(document, dict):
        raise ValueError(f"a stored genome must be a JSON object, got {type(document).__name__}")
    return document


__all__ = ["MAGIC", "decode", "encode", "read"]
