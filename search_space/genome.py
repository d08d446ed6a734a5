"""The genome: a feed-forward DAG of neurons as node genes and connection genes (NEAT style).

A genome is plain, immutable data: no torch, no DEAP. It serialises to versioned JSON and
validates itself. Operators in :mod:`search_space.operators` return new genomes.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from functools import cached_property
from operator import attrgetter
from typing import Any, Literal

import numpy as np

from connevo.errors import GenomeError
from connevo.search_space import graph
from connevo.search_space.hints import StructureHints

GENOME_FORMAT = "connevo.genome"
GENOME_VERSION = 1

ACTIVATIONS: tuple[str, ...] = ("relu", "tanh", "sigmoid", "identity", "steep_tanh")
Role = Literal["input", "hidden", "output"]
ROLES: tuple[str, ...] = ("input", "hidden", "output")


@dataclass(frozen=True)
class NodeGene:
    """One neuron. Inputs carry no bias or activation of their own (kept as ``identity``/0).

    ``x``/``y`` pin the neuron to fixed coordinates (fixed layouts such as the retina network);
    when any live node lacks them, coordinates come from the layered layout instead.
    """

    id: int
    role: Role
    activation: str = "identity"
    bias: float = 0.0
    x: float | None = None
    y: float | None = None


@dataclass(frozen=True)
class ConnectionGene:
    """One connection. ``weight`` is None until the genome has been trained.

    Connections with the same ``group`` share one trained weight (weight sharing); a connection
    without a group has a weight of its own.
    """

    innovation: int
    source: int
    target: int
    enabled: bool = True
    weight: float | None = None
    group: int | None = None


@dataclass(frozen=True)
class Regularization:
    """Regularization genes, applied in training.

    The penalty added to the loss is ``weight_decay * (l1_ratio * sum|w| + (1 - l1_ratio) / 2 *
    sum w^2)`` over the network's weights (elastic net; ``l1_ratio`` 1 is L1, 0 is L2), and
    ``dropout`` is the drop probability of every hidden neuron's output during training.
    """

    weight_decay: float = 0.0
    l1_ratio: float = 0.0
    dropout: float = 0.0

    def validate(self) -> Regularization:
        for name, low, high in (("weight_decay", 0.0, 10.0), ("l1_ratio", 0.0, 1.0), ("dropout", 0.0, 0.95)):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and low <= value <= high):
                raise GenomeError(f"regularization {name} must be in [{low}, {high}], got {value!r}")
        return self


@dataclass(frozen=True)
class Genome:
    """Node genes and connection genes of one network, sorted by id and innovation number.

    ``hints``: what the training of this genome learned about structure it lacks (set on trained
    genomes, read by the training-informed operators; :mod:`search_space.hints`).
    """

    nodes: tuple[NodeGene, ...]
    connections: tuple[ConnectionGene, ...] = field(default=())
    regularization: Regularization = field(default_factory=Regularization)
    hints: StructureHints | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "nodes", tuple(sorted(self.nodes, key=lambda n: n.id)))
        object.__setattr__(
            self, "connections", tuple(sorted(self.connections, key=lambda c: c.innovation))
        )

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickled as columns (numpy arrays where every value is of one plain type), not gene by
        gene, and without the cached views: half the bytes and time of the default pickle, which
        Ray pays for every request and result."""
        nodes = tuple(_pack(map(attrgetter(name), self.nodes)) for name in _NODE_FIELDS)
        connections = tuple(_pack(map(attrgetter(name), self.connections)) for name in _CONNECTION_FIELDS)
        return _unpickle_genome, (nodes, connections, self.regularization, self.hints)

    # ----- views -------------------------------------------------------------------------
    @cached_property
    def node_by_id(self) -> dict[int, NodeGene]:
        return {n.id: n for n in self.nodes}

    @cached_property
    def input_ids(self) -> tuple[int, ...]:
        return tuple(n.id for n in self.nodes if n.role == "input")

    @cached_property
    def output_ids(self) -> tuple[int, ...]:
        return tuple(n.id for n in self.nodes if n.role == "output")

    @cached_property
    def hidden_ids(self) -> tuple[int, ...]:
        return tuple(n.id for n in self.nodes if n.role == "hidden")

    @property
    def n_inputs(self) -> int:
        return len(self.input_ids)

    @property
    def n_outputs(self) -> int:
        return len(self.output_ids)

    @cached_property
    def enabled_connections(self) -> tuple[ConnectionGene, ...]:
        return tuple(c for c in self.connections if c.enabled)

    @cached_property
    def edges(self) -> tuple[tuple[int, int], ...]:
        """(source, target) of every enabled connection."""
        return tuple((c.source, c.target) for c in self.enabled_connections)

    @cached_property
    def live_nodes(self) -> frozenset[int]:
        """Non-input nodes that can reach an output over enabled connections (outputs included)."""
        required = graph.required_for_output(self.output_ids, self.edges)
        inputs = set(self.input_ids)
        return frozenset(n for n in required if n not in inputs)

    @cached_property
    def effective_connections(self) -> tuple[ConnectionGene, ...]:
        """Enabled connections that take part in the forward pass: their target is live.

        A connection whose target cannot reach an output changes nothing the network computes,
        so it carries no weight in the compiled module and no cost.
        """
        live = self.live_nodes
        return tuple(c for c in self.enabled_connections if c.target in live)

    def with_connections(self, connections: tuple[ConnectionGene, ...] | list[ConnectionGene]) -> Genome:
        return replace(self, connections=tuple(connections))

    def with_nodes(self, nodes: tuple[NodeGene, ...] | list[NodeGene]) -> Genome:
        return replace(self, nodes=tuple(nodes))

    @cached_property
    def shared_groups(self) -> tuple[int, ...]:
        """Weight-sharing groups used by effective connections: one trained weight each."""
        return tuple(sorted({c.group for c in self.effective_connections if c.group is not None}))

    # ----- validation --------------------------------------------------------------------
    def validate(self) -> Genome:
        """Raise :class:`GenomeError` unless the genome is a valid feed-forward network."""
        ids = [n.id for n in self.nodes]
        if len(set(ids)) != len(ids):
            raise GenomeError(f"node ids must be unique; duplicates: {sorted(_dupes(ids))}")
        for node in self.nodes:
            if node.role not in ROLES:
                raise GenomeError(f"node {node.id}: role {node.role!r} is not one of {ROLES}")
            if node.activation not in ACTIVATIONS:
                raise GenomeError(
                    f"node {node.id}: activation {node.activation!r} is not one of {ACTIVATIONS}"
                )
            if not math.isfinite(node.bias):
                raise GenomeError(f"node {node.id}: bias must be finite, got {node.bias!r}")
            for axis in ("x", "y"):
                value = getattr(node, axis)
                if value is not None and not math.isfinite(value):
                    raise GenomeError(f"node {node.id}: {axis} must be finite, got {value!r}")
        if not self.input_ids:
            raise GenomeError("a genome needs at least one input node")
        if not self.output_ids:
            raise GenomeError("a genome needs at least one output node")
        innovations = [c.innovation for c in self.connections]
        if len(set(innovations)) != len(innovations):
            raise GenomeError(
                f"innovation numbers must be unique; duplicates: {sorted(_dupes(innovations))}"
            )
        pairs = [(c.source, c.target) for c in self.connections]
        if len(set(pairs)) != len(pairs):
            raise GenomeError(f"duplicate connection genes for {sorted(_dupes(pairs))}")
        nodes = self.node_by_id
        for c in self.connections:
            if c.source not in nodes or c.target not in nodes:
                raise GenomeError(
                    f"connection {c.innovation} ({c.source}->{c.target}) names an unknown node"
                )
            if nodes[c.target].role == "input":
                raise GenomeError(f"connection {c.innovation} goes into input node {c.target}")
            if nodes[c.source].role == "output":
                raise GenomeError(f"connection {c.innovation} leaves output node {c.source}")
            if c.weight is not None and not math.isfinite(c.weight):
                raise GenomeError(f"connection {c.innovation}: weight must be finite, got {c.weight!r}")
            if c.group is not None and c.group < 0:
                raise GenomeError(f"connection {c.innovation}: group must be >= 0, got {c.group!r}")
        self.regularization.validate()
        if graph.topological_order(ids, pairs) is None:
            raise GenomeError("connections form a cycle; a genome must be acyclic")
        return self

    # ----- serialisation ----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": GENOME_FORMAT,
            "version": GENOME_VERSION,
            "nodes": [_node_dict(n) for n in self.nodes],
            "connections": [
                {
                    "innovation": c.innovation,
                    "source": c.source,
                    "target": c.target,
                    "enabled": c.enabled,
                    "weight": c.weight,
                    **({"group": c.group} if c.group is not None else {}),
                }
                for c in self.connections
            ],
            "regularization": {
                "weight_decay": self.regularization.weight_decay,
                "l1_ratio": self.regularization.l1_ratio,
                "dropout": self.regularization.dropout,
            },
            **({"hints": self.hints.to_dict()} if self.hints is not None else {}),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: Any) -> Genome:
        """Build and validate a genome from its JSON form; :class:`GenomeError` on any defect."""
        if not isinstance(data, dict):
            raise GenomeError(f"a genome must be a JSON object, got {type(data).__name__}")
        if data.get("format") != GENOME_FORMAT:
            raise GenomeError(f"genome 'format' must be {GENOME_FORMAT!r}, got {data.get('format')!r}")
        if data.get("version") != GENOME_VERSION:
            raise GenomeError(
                f"genome 'version' {data.get('version')!r} is not supported (expected {GENOME_VERSION})"
            )
        try:
            nodes = tuple(
                NodeGene(
                    id=_int(n["id"], "id"),
                    role=n["role"],
                    activation=n.get("activation", "identity"),
                    bias=float(n.get("bias", 0.0)),
                    x=None if n.get("x") is None else float(n["x"]),
                    y=None if n.get("y") is None else float(n["y"]),
                )
                for n in _list(data, "nodes")
            )
            connections = tuple(
                ConnectionGene(
                    innovation=_int(c["innovation"], "innovation"),
                    source=_int(c["source"], "source"),
                    target=_int(c["target"], "target"),
                    enabled=_bool(c.get("enabled", True)),
                    weight=None if c.get("weight") is None else float(c["weight"]),
                    group=None if c.get("group") is None else _int(c["group"], "group"),
                )
                for c in _list(data, "connections")
            )
            reg = data.get("regularization") or {}
            if not isinstance(reg, dict):
                raise GenomeError(f"genome 'regularization' must be an object, got {type(reg).__name__}")
            unknown = set(reg) - {"weight_decay", "l1_ratio", "dropout"}
            if unknown:
                raise GenomeError(f"unknown regularization gene(s) {sorted(unknown)}")
            regularization = Regularization(**{k: float(v) for k, v in reg.items()})
            hints = None if data.get("hints") is None else StructureHints.from_dict(data["hints"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise GenomeError(f"malformed genome JSON: {exc!r}") from exc
        return cls(nodes=nodes, connections=connections, regularization=regularization, hints=hints).validate()

    @classmethod
    def from_json(cls, text: str) -> Genome:
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, TypeError) as exc:
            raise GenomeError(f"genome is not valid JSON: {exc}") from exc
        return cls.from_dict(data)


_NODE_FIELDS = ("id", "role", "activation", "bias", "x", "y")
_CONNECTION_FIELDS = ("innovation", "source", "target", "enabled", "weight", "group")
_ARRAY_TYPES: dict[type, Any] = {int: np.int64, float: np.float64, bool: np.bool_}


def _pack(values: Any) -> Any:
    """A gene field's values as a numpy array when all are of one of ``int``/``float``/``bool``
    (and ints fit in int64), else as the list they are (None, text, mixed types)."""
    items = list(values)
    kinds = set(map(type, items))
    if len(kinds) == 1 and (kind := kinds.pop()) in _ARRAY_TYPES:
        try:
            return np.asarray(items, dtype=_ARRAY_TYPES[kind])
        except OverflowError:  # an int beyond int64
            pass
    return items


def _genes(cls: type, names: tuple[str, ...], columns: tuple[Any, ...], count: int) -> tuple[Any, ...]:
    """Genes from their columns, made as unpickling makes frozen dataclasses (no __init__)."""
    lists = [c.tolist() if isinstance(c, np.ndarray) else c for c in columns]
    genes = []
    for values in zip(*lists) if count else ():
        gene: Any = object.__new__(cls)
        gene.__dict__.update(zip(names, values))
        genes.append(gene)
    return tuple(genes)


def _unpickle_genome(nodes: tuple[Any, ...], connections: tuple[Any, ...], regularization: Regularization,
                     hints: StructureHints | None) -> Genome:
    genome = object.__new__(Genome)
    genome.__dict__.update(
        nodes=_genes(NodeGene, _NODE_FIELDS, nodes, len(nodes[0])),
        connections=_genes(ConnectionGene, _CONNECTION_FIELDS, connections, len(connections[0])),
        regularization=regularization, hints=hints)
    return genome


def _node_dict(n: NodeGene) -> dict[str, Any]:
    out: dict[str, Any] = {"id": n.id, "role": n.role, "activation": n.activation, "bias": n.bias}
    if n.x is not None or n.y is not None:
        out["x"], out["y"] = n.x, n.y
    return out


def _dupes(items: list[Any]) -> set[Any]:
    seen: set[Any] = set()
    return {x for x in items if x in seen or seen.add(x)}  # type: ignore[func-returns-value]


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    if not isinstance(value, list):
        raise GenomeError(f"genome {key!r} must be a list, got {type(value).__name__}")
    return value


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise GenomeError(f"genome field {name!r} must be an integer, got {value!r}")
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise GenomeError(f"genome field 'enabled' must be true or false, got {value!r}")
    return value
