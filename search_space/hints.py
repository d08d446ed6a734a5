"""What training learned about a network's structure, carried by its trained genome.

A worker that trains a candidate measures, on training rows after training, which changes of
structure would lower the training loss fastest; the training-informed operators
(:mod:`search_space.informed`) read it from the parent they mutate:

- ``grow``: connections the genome lacks, best first, each with ``|dL/dw|`` at ``w = 0``: the
  mean over rows of (source activation x target delta), as RigL (Evci et al. 2020) grows;
- ``neuron_in`` / ``neuron_out``: a new hidden neuron between the inputs and the outputs that
  would lower the loss fastest (GradMax, Evci et al. 2022): its fan-in weights from the top
  singular vector of the input-output gradient matrix, and the outputs its fan-out would reach,
  with their gradient weight.

Hints are plain data (no torch), serialised with the genome, so a resumed campaign mutates
exactly as an uninterrupted one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from connevo.errors import GenomeError


@dataclass(frozen=True)
class StructureHints:
    """Training's advice on structure: connections to grow, a neuron to add (see the module doc)."""

    grow: tuple[tuple[int, int, float], ...] = ()
    """(source, target, |gradient|) of absent connections, the largest gradient first."""
    neuron_in: tuple[tuple[int, float], ...] = ()
    """(input id, initial weight) of a proposed neuron's fan-in, the largest weight first."""
    neuron_out: tuple[tuple[int, float], ...] = ()
    """(output id, |gradient|) of a proposed neuron's fan-out, the largest first."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "grow": [[s, t, g] for s, t, g in self.grow],
            "neuron_in": [[n, w] for n, w in self.neuron_in],
            "neuron_out": [[n, g] for n, g in self.neuron_out],
        }

    @classmethod
    def from_dict(cls, data: Any) -> StructureHints:
        """Hints from their JSON form; :class:`GenomeError` naming the defect."""
        if not isinstance(data, dict):
            raise GenomeError(f"genome 'hints' must be an object, got {type(data).__name__}")
        unknown = set(data) - {"grow", "neuron_in", "neuron_out"}
        if unknown:
            raise GenomeError(f"unknown genome hint(s) {sorted(unknown)}")
        grow = tuple((_id(s), _id(t), _number(g)) for s, t, g in _rows(data, "grow", 3))
        neuron_in = tuple((_id(n), _number(w)) for n, w in _rows(data, "neuron_in", 2))
        neuron_out = tuple((_id(n), _number(g)) for n, g in _rows(data, "neuron_out", 2))
        return cls(grow, neuron_in, neuron_out)


def _rows(data: dict[str, Any], key: str, width: int) -> list[list[Any]]:
    rows = data.get(key, [])
    if not isinstance(rows, list) or any(not isinstance(r, list) or len(r) != width for r in rows):
        raise GenomeError(f"genome hints {key!r} must be a list of {width}-element lists")
    return rows


def _id(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise GenomeError(f"a node id in genome hints must be an integer, got {value!r}")
    return value


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise GenomeError(f"a value in genome hints must be a finite number, got {value!r}")
    return float(value)
