"""The genome: a feed-forward DAG of neurons as node genes and connection genes (NEAT style).

A genome is plain, immutable data: no torch, no DEAP. It serialises to versioned JSON and
validates itself. Operators in :mod:`search_space.operators` return new genomes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from operator import attrgetter
from typing import Any, Literal, TypeVar

import numpy as np

from connevo.errors import GenomeError
from connevo.search_space import graph
from connevo.search_space.connection_table import (
    COLUMNS,
    NO_GROUP,
    ConnectionTable,
    Insertion,
    dense_positions,
    fits_dense,
    positions_in,
    table_from,
)
from connevo.search_space.hints import StructureHints

_Derived = TypeVar("_Derived")

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


class NodeViews:
    """What a genome's nodes tell, computed once on first use: by id, ids per role, ids and role
    codes as arrays, positions. Genomes with the same nodes (a parent and the children that kept
    its nodes) share one, so what any of them computes, all have."""

    def __init__(self, nodes: tuple[NodeGene, ...]) -> None:
        self.nodes = nodes

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

    @cached_property
    def node_ids(self) -> np.ndarray:
        ids = np.fromiter(map(attrgetter("id"), self.nodes), dtype=np.int64, count=len(self.nodes))
        ids.setflags(write=False)
        return ids

    @cached_property
    def node_roles(self) -> np.ndarray:
        codes = {role: i for i, role in enumerate(ROLES)}
        roles = np.array([codes.get(n.role, -1) for n in self.nodes], dtype=np.int8)
        roles.setflags(write=False)
        return roles

    @cached_property
    def position_of(self) -> np.ndarray | None:
        """Node id -> position (-1: no such node) as a dense array, when ids are small enough
        for one (tracker ids are); else None (binary search instead)."""
        return dense_positions(self.node_ids)

    def positions(self, ids: np.ndarray) -> np.ndarray:
        """Each id's position in the nodes (-1 for an id no node has)."""
        return positions_in(ids, self.node_ids, self.position_of)

    def plus(self, node: NodeGene) -> NodeViews:
        """The views of these nodes and ``node`` (an id above every other), extended from what
        is computed here rather than rebuilt."""
        known = self.__dict__
        views = NodeViews((*self.nodes, node))
        values = views.__dict__
        if "node_by_id" in known:
            values["node_by_id"] = {**known["node_by_id"], node.id: node}
        for role in ROLES:
            if f"{role}_ids" in known:
                ids = known[f"{role}_ids"]
                values[f"{role}_ids"] = (*ids, node.id) if role == node.role else ids
        if "node_ids" in known and "node_roles" in known and node.role in ROLES:
            ids = np.append(known["node_ids"], np.int64(node.id))
            roles = np.append(known["node_roles"], np.int8(ROLES.index(node.role)))
            ids.setflags(write=False)
            roles.setflags(write=False)
            values["node_ids"], values["node_roles"] = ids, roles
        if known.get("position_of") is not None and fits_dense(node.id, len(views.nodes)):
            # dense_positions of the new ids: the old lookup, the new id at the end
            lookup = np.full(node.id + 1, -1, dtype=np.int64)
            lookup[:len(known["position_of"])] = known["position_of"]
            lookup[node.id] = len(self.nodes)
            values["position_of"] = lookup
        return views

    def minus(self, gone: set[int]) -> NodeViews:
        """The views of these nodes but ``gone`` (a few hidden ones), narrowed from what is
        computed here rather than rebuilt."""
        at = sorted(int(p) for p in self.positions(np.array(sorted(gone), dtype=np.int64)) if p >= 0)
        nodes: tuple[NodeGene, ...] = ()
        for start, stop in zip([0, *(p + 1 for p in at)], [*at, len(self.nodes)]):
            nodes += self.nodes[start:stop]
        known = self.__dict__
        views = NodeViews(nodes)
        values = views.__dict__
        if "node_by_id" in known:
            values["node_by_id"] = by_id = dict(known["node_by_id"])
            for node_id in gone:
                by_id.pop(node_id, None)
        for role in ROLES:
            if f"{role}_ids" in known:
                ids = known[f"{role}_ids"]
                values[f"{role}_ids"] = tuple(i for i in ids if i not in gone) if role == "hidden" else ids
        kept = np.ones(len(self.nodes), dtype=bool)  # a mask, not np.delete: its checks cost more than the copy
        kept[at] = False
        for name in ("node_ids", "node_roles"):
            if name in known:
                values[name] = known[name][kept]
                values[name].setflags(write=False)
        return views


class Genome:
    """Node genes and connection genes of one network, sorted by id and innovation number.

    The connection genes are held as columns (:class:`~search_space.connection_table.ConnectionTable`,
    ``genome.table``), which variation, costs, storage and the Ray transport use; ``connections``
    makes the per-gene objects when asked. Immutable: every change makes a new genome.

    ``hints``: what the training of this genome learned about structure it lacks (set on trained
    genomes, read by the training-informed operators; :mod:`search_space.hints`).
    """

    nodes: tuple[NodeGene, ...]
    table: ConnectionTable
    regularization: Regularization
    hints: StructureHints | None
    _views: NodeViews

    def __init__(self, nodes: Iterable[NodeGene] = (),
                 connections: ConnectionTable | Iterable[ConnectionGene] = (),
                 regularization: Regularization | None = None, hints: StructureHints | None = None) -> None:
        values = self.__dict__
        values["nodes"] = tuple(sorted(nodes, key=attrgetter("id")))
        values["table"] = table_from(connections).sorted()
        values["regularization"] = Regularization() if regularization is None else regularization
        values["hints"] = hints
        values["_views"] = NodeViews(values["nodes"])

    @classmethod
    def _of(cls, nodes: tuple[NodeGene, ...], table: ConnectionTable, regularization: Regularization,
            hints: StructureHints | None, like: Genome | None = None, views: NodeViews | None = None) -> Genome:
        """A genome from parts already sorted (nodes by id, rows by innovation): no checks, no
        copies. When ``like`` holds the same nodes, the views of them are shared with it (one
        object: what either computes, both have); ``views`` gives them outright."""
        genome = object.__new__(cls)
        if views is None:
            views = like._views if like is not None and like.nodes is nodes else NodeViews(nodes)
        if like is not None and like.nodes is nodes and like.table is table:
            # same nodes and connections (new hints or regularization): every view computed of
            # them holds here too (each is a function of nodes and table, and read-only)
            genome.__dict__.update({k: v for k, v in like.__dict__.items() if k not in _FIELDS})
        genome.__dict__.update(nodes=nodes, table=table, regularization=regularization, hints=hints, _views=views)
        return genome

    def _plus_node(self, node: NodeGene, table: ConnectionTable, hints: StructureHints | None = None) -> Genome:
        """A genome of this one's nodes and ``node`` (an id above every other), ``table`` as its
        connections (sorted here), and this one's node views extended by one, not rebuilt."""
        nodes = self.nodes
        if nodes and node.id <= nodes[-1].id:
            return Genome((*nodes, node), table, self.regularization, hints)
        return Genome._of((*nodes, node), table.sorted(), self.regularization, hints, views=self._views.plus(node))

    def _plus_connections(self, new: ConnectionTable, node: NodeGene | None = None,
                          hints: StructureHints | None = None) -> Genome:
        """This genome with the rows ``new`` added to its connections (and ``node``, a hidden
        neuron with an id above every other, to its nodes), with ``hints``. The views computed
        here (node positions of the rows, live and effective masks) are extended rather than
        recomputed when the new rows leave every old node as live as it was (see
        :meth:`_extended_views`): what growing a trained network's connections and neurons does."""
        if node is not None and self.nodes and node.id <= self.nodes[-1].id:
            return Genome((*self.nodes, node), self.table.concat(new), self.regularization, hints)
        views = self._views if node is None else self._views.plus(node)
        nodes = self.nodes if node is None else (*self.nodes, node)
        parts, live = self._extended_views(new, views, node is not None)
        # The new rows go in by innovation number: inserted, not appended and sorted again
        # (the table is sorted, and the new rows are few).
        insertion = Insertion.of(self.table.innovation, new.innovation)
        table = self.table.inserted(new, insertion)
        rows = {name: insertion.merged(getattr(self, name), part) for name, part in parts.items()}
        genome = Genome._of(nodes, table, self.regularization, hints, views=views)
        for name, array in [*rows.items(), *([("live_mask", live)] if live is not None else [])]:
            array.setflags(write=False)
            genome.__dict__[name] = array
        return genome

    def _extended_views(self, new: ConnectionTable, views: NodeViews,
                        grew_node: bool) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
        """Per-row views of the rows ``new`` (their values, in ``new``'s order: this genome's own
        are its attributes of the same names), and the live mask of ``views``' nodes,
        from those computed here; only those that carry over exactly.

        The masks carry over when every new row is enabled, leads into a node that is live (an
        old live one, or the new neuron made live by its own rows) and not an input, and leaves
        a live node or one that nothing leads into (an input, as a rule): then the only nodes
        that turn live are those sources, and no old row's target changes."""
        known = self.__dict__
        rows: dict[str, np.ndarray] = {}
        if "live_mask" not in known or "effective_mask" not in known:
            return rows, None  # nothing worth extending: the child computes its views if asked
        sources, targets = views.positions(new.source), views.positions(new.target)
        old_targets = self.target_positions
        rows["source_positions"] = sources
        rows["target_positions"] = targets
        if not bool(new.enabled.all()) or bool((sources < 0).any()) or bool((targets < 0).any()):
            return rows, None
        live = np.concatenate([known["live_mask"], np.zeros(int(grew_node), dtype=bool)])
        if grew_node:
            newest = len(live) - 1
            live[newest] = bool(live[targets[sources == newest]].any())
        if not bool(live[targets].all()):
            return rows, None
        input_role = ROLES.index("input")
        if bool((views.node_roles[targets] == input_role).any()):
            return rows, None
        turning = sources[~live[sources]]
        if len(turning):
            marked = np.zeros(len(live), dtype=bool)
            marked[turning] = True
            if bool(marked[old_targets[old_targets >= 0]].any()):
                return rows, None  # what leads into a node that turns live turns live too: search afresh
            live[turning] = True
        rows["effective_mask"] = np.ones(len(new), dtype=bool)
        return rows, live

    def _same_pairs(self, table: ConnectionTable, regularization: Regularization,
                    hints: StructureHints | None) -> Genome:
        """This genome's nodes with ``table``: this genome's rows in their order, with the same
        innovations, sources and targets (weights, groups or enabled flags may differ). The node
        positions of the rows carry over, and the live and effective masks too when no row's
        enabled flag changed (they depend on nothing else), or when the only changes enable rows
        between two live nodes (:meth:`_enabled_between_live`)."""
        genome = Genome._of(self.nodes, table, regularization, hints, like=self)
        known = self.__dict__
        names = ["source_positions", "target_positions"]
        changed = None if table.enabled is self.table.enabled else np.flatnonzero(table.enabled != self.table.enabled)
        if changed is None or not len(changed):
            names += ["live_mask", "live_nodes", "effective_mask"]
        elif self._enabled_between_live(changed, table):
            effective = known["effective_mask"].copy()
            effective[changed] = True
            effective.setflags(write=False)
            genome.__dict__["effective_mask"] = effective
            names += ["live_mask", "live_nodes"]
        for name in names:
            if name in known:
                genome.__dict__[name] = known[name]
        return genome

    def _enabled_between_live(self, changed: np.ndarray, table: ConnectionTable) -> bool:
        """Whether the rows ``changed`` (positions whose enabled flag differs in ``table``, this
        genome's rows) were all enabled there, each from a live node into a live node that is
        not an input. Then no node turns live or dead (a path that exists already is only
        joined by another), and each such row becomes effective: the crossover of relatives,
        which re-enables a few genes a split had disabled."""
        known = self.__dict__
        if "live_mask" not in known or "effective_mask" not in known or not bool(table.enabled[changed].all()):
            return False
        sources, targets = self.source_positions[changed], self.target_positions[changed]
        if bool((sources < 0).any()) or bool((targets < 0).any()):
            return False
        live = known["live_mask"]
        return bool(live[sources].all() and live[targets].all()
                    and not (self.node_roles[targets] == ROLES.index("input")).any())

    def _reweighted(self, nodes: tuple[NodeGene, ...], weight: np.ndarray, hints: StructureHints | None) -> Genome:
        """This genome with the connection weights ``weight`` and the nodes ``nodes`` (this
        genome's, in order, only their biases changed), with ``hints``: what training or
        stripping the weights makes. The structure is the same, so every view of it computed
        here (ids per role, node positions of the rows, live and effective masks) carries over."""
        known, views = self._views.__dict__, NodeViews(nodes)
        for name in ("input_ids", "output_ids", "hidden_ids", "node_ids", "node_roles", "position_of"):
            if name in known:
                views.__dict__[name] = known[name]
        genome = Genome._of(nodes, self.table.replace(weight=weight), self.regularization, hints, views=views)
        for name in (*_STRUCTURAL_VIEWS, "n_enabled", "edges", "shared_groups"):
            if name in self.__dict__:
                genome.__dict__[name] = self.__dict__[name]
        if "_derived" in self.__dict__:  # views of the structure only (:meth:`derived`): the layout
            genome.__dict__["_derived"] = dict(self.__dict__["_derived"])
        return genome

    def _minus_rows(self, keep: np.ndarray) -> Genome:
        """This genome without the connection rows ``keep`` (a boolean mask) leaves out; the
        node positions of the kept rows carry over (the nodes are the same)."""
        genome = Genome._of(self.nodes, self.table.take(keep), self.regularization, self.hints, views=self._views)
        for name in ("source_positions", "target_positions"):
            if name in self.__dict__:
                kept = self.__dict__[name][keep]
                kept.setflags(write=False)
                genome.__dict__[name] = kept
        return genome

    def _minus_nodes(self, gone: set[int], table: ConnectionTable) -> Genome:
        """A genome of this one's nodes but ``gone`` (a few hidden ones), ``table`` as its
        connections (sorted by innovation already), and this one's node views narrowed, not rebuilt."""
        views = self._views.minus(gone)
        return Genome._of(views.nodes, table, self.regularization, self.hints, views=views)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"a Genome is immutable: cannot set {name!r} (use replace())")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"a Genome is immutable: cannot delete {name!r}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Genome):
            return NotImplemented
        return (self.nodes == other.nodes and self.regularization == other.regularization
                and self.hints == other.hints and self.table.equals(other.table))

    def __hash__(self) -> int:
        return hash((self.nodes, self.regularization, self.hints,
                     *(column.tobytes() for column in self.table.columns())))

    def __repr__(self) -> str:
        return (f"Genome({len(self.nodes)} nodes, {len(self.table)} connections "
                f"({self.n_enabled} enabled), {self.regularization!r}, hints={self.hints is not None})")

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickled as columns (node fields as numpy arrays where every value is of one plain
        type; the connection table's arrays as they are), without the cached views."""
        nodes = tuple(_pack(map(attrgetter(name), self.nodes)) for name in _NODE_FIELDS)
        return _unpickle_genome, (nodes, self.table.columns(), self.regularization, self.hints)

    def derived(self, key: str, compute: Callable[[Genome], _Derived]) -> _Derived:
        """``compute(self)``, computed once per genome object and kept with it, so it goes when the
        genome goes (a genome is immutable: what is derived from it never changes). For views
        other modules derive, such as the layout: a cache keyed by genomes (``lru_cache``) would
        hash every connection on each look-up and keep hundreds of genomes alive after their
        campaign has dropped them. ``compute`` must depend on the structure only (the nodes' ids,
        roles, activations and coordinates; the connections' pairs, enabled flags and groups),
        never on weights or biases: a genome made with new hints or regularization (:meth:`_of`),
        or with trained weights and biases (:meth:`_reweighted`), keeps what was derived."""
        memo: dict[str, Any] = self.__dict__.setdefault("_derived", {})
        if key not in memo:
            memo[key] = compute(self)
        return memo[key]  # type: ignore[no-any-return]

    def replace(self, **changes: Any) -> Genome:
        """This genome with some of ``nodes``, ``connections`` (genes or a table),
        ``regularization`` and ``hints`` replaced."""
        unknown = set(changes) - {"nodes", "connections", "table", "regularization", "hints"}
        if unknown:
            raise TypeError(f"Genome has no field(s) {sorted(unknown)}")
        nodes = changes.get("nodes", self.nodes)
        if "nodes" in changes:
            nodes = tuple(sorted(nodes, key=attrgetter("id")))
        table = self.table
        if "connections" in changes or "table" in changes:
            table = table_from(changes["table"] if "table" in changes else changes["connections"]).sorted()
        return Genome._of(nodes, table, changes.get("regularization", self.regularization),
                          changes.get("hints", self.hints), like=self)

    # ----- views -------------------------------------------------------------------------
    @cached_property
    def connections(self) -> tuple[ConnectionGene, ...]:
        """The connection genes as objects, by innovation number (made on first use)."""
        return self.table.genes()

    @property
    def node_by_id(self) -> dict[int, NodeGene]:
        return self._views.node_by_id

    @property
    def input_ids(self) -> tuple[int, ...]:
        return self._views.input_ids

    @property
    def output_ids(self) -> tuple[int, ...]:
        return self._views.output_ids

    @property
    def hidden_ids(self) -> tuple[int, ...]:
        return self._views.hidden_ids

    @property
    def n_inputs(self) -> int:
        return len(self.input_ids)

    @property
    def n_outputs(self) -> int:
        return len(self.output_ids)

    @cached_property
    def n_enabled(self) -> int:
        """How many connection genes are enabled."""
        return int(np.count_nonzero(self.table.enabled))

    @property
    def node_ids(self) -> np.ndarray:
        """Node ids in order (ascending), as an array."""
        return self._views.node_ids

    @property
    def node_roles(self) -> np.ndarray:
        """Each node's role as an index into :data:`ROLES` (0 input, 1 hidden, 2 output; -1 other)."""
        return self._views.node_roles

    def positions(self, ids: np.ndarray) -> np.ndarray:
        """Each id's position in :attr:`nodes` (-1 for an id no node has)."""
        return self._views.positions(ids)

    @cached_property
    def enabled_connections(self) -> tuple[ConnectionGene, ...]:
        return tuple(c for c in self.connections if c.enabled)

    @cached_property
    def edges(self) -> tuple[tuple[int, int], ...]:
        """(source, target) of every enabled connection."""
        table = self.table
        on = table.enabled
        return tuple(zip(table.source[on].tolist(), table.target[on].tolist()))

    @cached_property
    def source_positions(self) -> np.ndarray:
        """Per connection row: its source's position in :attr:`nodes` (-1: no such node)."""
        at = self.positions(self.table.source)
        at.setflags(write=False)
        return at

    @cached_property
    def target_positions(self) -> np.ndarray:
        """Per connection row: its target's position in :attr:`nodes` (-1: no such node)."""
        at = self.positions(self.table.target)
        at.setflags(write=False)
        return at

    @cached_property
    def live_mask(self) -> np.ndarray:
        """Per node (in :attr:`nodes` order): whether it can reach an output over enabled
        connections (outputs included; inputs too when they feed a live node)."""
        return self.live_mask_over(None)

    def live_mask_over(self, rows: np.ndarray | None) -> np.ndarray:
        """:attr:`live_mask` as it would be with only the connection rows ``rows`` selects (a
        boolean mask over the table; None: every row), without making that genome first."""
        if not self.nodes:  # no node to reach (and none for a row to name)
            return np.zeros(0, dtype=bool)
        on = self.table.enabled if rows is None else self.table.enabled & rows
        live = self.node_roles == ROLES.index("output")
        sources, targets = self.source_positions, self.target_positions
        # every row names two nodes (the rule): two reductions, not two comparisons and two ands
        named = int(sources.min(initial=0)) >= 0 and int(targets.min(initial=0)) >= 0
        known = on if named else on & (sources >= 0) & (targets >= 0)
        # Rows outside ``known`` index the last node (-1) in the gathers below and are masked
        # out after: no copies of a wide table's columns.
        is_input = self.node_roles == ROLES.index("input")
        if (is_input[targets] & known).any():  # not a valid genome: search every edge
            reached = graph.reaching(len(self.nodes), sources[known], targets[known], np.flatnonzero(live))
        else:
            # Nothing leads into an input, so the inputs' edges (most of a wide network's) take
            # part in one pass after the search over the others has found every live neuron.
            from_input = is_input[sources]
            inner = known & ~from_input
            reached = graph.reaching(len(self.nodes), sources[inner], targets[inner], np.flatnonzero(live))
            feeding = known & from_input & reached[targets]
            if named:  # one counting pass (every row's source is a node), not a gather and a scatter
                reached |= np.bincount(sources, weights=feeding, minlength=len(reached)) > 0
            else:
                reached[sources[feeding]] = True
        reached.setflags(write=False)
        return reached

    @cached_property
    def live_nodes(self) -> frozenset[int]:
        """Non-input nodes that can reach an output over enabled connections (outputs included)."""
        keep = self.live_mask & (self.node_roles != ROLES.index("input"))
        return frozenset(self.node_ids[keep].tolist())

    @cached_property
    def effective_mask(self) -> np.ndarray:
        """Per connection row: enabled and into a live node (it takes part in the forward pass)."""
        # Per node, whether a row into it counts; one more entry (False) read by the rows whose
        # target is no node (position -1): one gather per row.
        counts = np.append(self.live_mask & (self.node_roles != ROLES.index("input")), False)
        mask: np.ndarray = self.table.enabled & counts.take(self.target_positions)
        mask.setflags(write=False)
        return mask

    @cached_property
    def carries_weights(self) -> bool:
        """Whether an effective connection carries a weight (a trained genome, or a child of
        trained parents): what a warm start and the informed operators ask."""
        effective = self.effective_mask
        # A trained genome has a weight on every row but those variation just added (a few): its
        # first effective row answers without a pass over the table.
        if len(effective):
            first = int(effective.argmax())
            if effective[first] and not np.isnan(self.table.weight[first]):
                return True
        return bool((effective & self.table.has_weight).any())

    @cached_property
    def effective_table(self) -> ConnectionTable:
        """The rows of :attr:`effective_mask`."""
        return self.table.take(self.effective_mask)

    @cached_property
    def effective_connections(self) -> tuple[ConnectionGene, ...]:
        """Enabled connections that take part in the forward pass: their target is live.

        A connection whose target cannot reach an output changes nothing the network computes,
        so it carries no weight in the compiled module and no cost.
        """
        mask = self.effective_mask.tolist()
        return tuple(c for c, keep in zip(self.connections, mask) if keep)

    def with_connections(self, connections: ConnectionTable | Iterable[ConnectionGene]) -> Genome:
        return self.replace(connections=connections)

    def with_table(self, table: ConnectionTable) -> Genome:
        """This genome with ``table`` as its connections (sorted here if it is not)."""
        return Genome._of(self.nodes, table.sorted(), self.regularization, self.hints, like=self)

    def with_nodes(self, nodes: Iterable[NodeGene]) -> Genome:
        return self.replace(nodes=tuple(nodes))

    @cached_property
    def shared_groups(self) -> tuple[int, ...]:
        """Weight-sharing groups used by effective connections: one trained weight each."""
        groups = self.table.group[self.effective_mask]
        return tuple(np.unique(groups[groups >= 0]).tolist())

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
        table = self.table
        innovation = table.innovation
        if len(np.unique(innovation)) != len(innovation):
            raise GenomeError(
                f"innovation numbers must be unique; duplicates: {sorted(_dupes(innovation.tolist()))}"
            )
        pairs = list(zip(table.source.tolist(), table.target.tolist()))
        if len(set(pairs)) != len(pairs):
            raise GenomeError(f"duplicate connection genes for {sorted(_dupes(pairs))}")
        sources, targets = self.source_positions, self.target_positions
        roles = self.node_roles

        def first(bad: np.ndarray) -> int | None:
            rows = np.flatnonzero(bad)
            return int(rows[0]) if len(rows) else None

        if (k := first((sources < 0) | (targets < 0))) is not None:
            raise GenomeError(f"connection {innovation[k]} ({table.source[k]}->{table.target[k]}) names an unknown node")
        if (k := first(roles[targets] == ROLES.index("input"))) is not None:
            raise GenomeError(f"connection {innovation[k]} goes into input node {table.target[k]}")
        if (k := first(roles[sources] == ROLES.index("output"))) is not None:
            raise GenomeError(f"connection {innovation[k]} leaves output node {table.source[k]}")
        if (k := first(np.isinf(table.weight))) is not None:
            raise GenomeError(f"connection {innovation[k]}: weight must be finite, got {float(table.weight[k])!r}")
        if (k := first(table.group < NO_GROUP)) is not None:
            raise GenomeError(f"connection {innovation[k]}: group must be >= 0, got {int(table.group[k])!r}")
        self.regularization.validate()
        if not graph.is_acyclic(len(self.nodes), sources, targets):
            raise GenomeError("connections form a cycle; a genome must be acyclic")
        return self

    # ----- serialisation ----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return self.document(_connection_dicts(self.table))

    def document(self, connections: Any) -> dict[str, Any]:
        """The JSON form (:meth:`to_dict`) with ``connections`` in place of the connection
        genes' list of objects (the store gives them as columns: ``evolution.candidates``)."""
        return {
            "format": GENOME_FORMAT,
            "version": GENOME_VERSION,
            "nodes": [_node_dict(n) for n in self.nodes],
            "connections": connections,
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
            given: Any = data.get("connections")
            connections: ConnectionTable | tuple[ConnectionGene, ...] | None = _column_connections(given)
            if connections is None:
                rows: list[Any] = given.rows() if _is_records(given) else _list(data, "connections")
                connections = _plain_connections(rows)
                connections = connections if connections is not None else tuple(
                    ConnectionGene(
                        innovation=_int(c["innovation"], "innovation"),
                        source=_int(c["source"], "source"),
                        target=_int(c["target"], "target"),
                        enabled=_bool(c.get("enabled", True)),
                        weight=None if c.get("weight") is None else float(c["weight"]),
                        group=None if c.get("group") is None else _int(c["group"], "group"),
                    )
                    for c in rows
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
_FIELDS = ("nodes", "table", "regularization", "hints", "_views")
"""What a Genome is made of; everything else in its ``__dict__`` is a view computed from nodes and table."""
_STRUCTURAL_VIEWS = ("source_positions", "target_positions", "live_mask", "live_nodes", "effective_mask")
"""Views that depend only on the node ids and roles and the rows' pairs and enabled flags."""
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


def _unpickle_genome(nodes: tuple[Any, ...], connections: tuple[np.ndarray, ...], regularization: Regularization,
                     hints: StructureHints | None) -> Genome:
    lists = [c.tolist() if isinstance(c, np.ndarray) else c for c in nodes]
    genes = []
    for values in zip(*lists) if len(nodes[0]) else ():
        gene: Any = object.__new__(NodeGene)  # as unpickling makes frozen dataclasses (no __init__)
        gene.__dict__.update(zip(_NODE_FIELDS, values))
        genes.append(gene)
    table = ConnectionTable.of(*connections)
    return Genome._of(tuple(genes), table, regularization, hints)


_NONE = type(None)


def _plain_connections(rows: list[Any]) -> ConnectionTable | None:
    """The columns of JSON connection genes when every field has its plain type (objects with
    int ids, bool flags, number or null weights, int or null groups), read column by column;
    None when any row needs the gene-by-gene path (which names the defect)."""
    if not all(type(r) is dict for r in rows):
        return None
    try:
        ids = [[r["innovation"] for r in rows], [r["source"] for r in rows], [r["target"] for r in rows]]
    except KeyError:
        return None
    enabled = [r.get("enabled", True) for r in rows]
    weight = [r.get("weight") for r in rows]
    group = [r.get("group") for r in rows]
    if (any(set(map(type, column)) - {int} for column in ids) or set(map(type, enabled)) - {bool}
            or set(map(type, weight)) - {float, int, _NONE} or set(map(type, group)) - {int, _NONE}):
        return None
    if _NONE in set(map(type, weight)):
        weight = [np.nan if w is None else w for w in weight]
    elif any(w != w for w in weight):  # a NaN given as a weight: the gene-by-gene path refuses it
        return None
    if any(g is not None and g < 0 for g in group):  # refused by name on the gene-by-gene path
        return None
    if _NONE in set(map(type, group)):
        group = [NO_GROUP if g is None else g for g in group]
    try:
        return ConnectionTable.of(ids[0], ids[1], ids[2], enabled, weight, group)
    except OverflowError:  # an id beyond 64 bits: refused by name on the gene-by-gene path
        return None


_CONNECTION_KEYS = frozenset(COLUMNS)


def _is_records(value: Any) -> bool:
    """Connection genes given as columns: an object with ``keys`` (a tuple of names), ``columns``
    (numpy arrays) and ``rows()`` (the objects they stand for), as ``results.genome_codec.Records``
    (not imported here: the search space does not depend on the store)."""
    return isinstance(getattr(value, "keys", None), tuple) and isinstance(getattr(value, "columns", None), tuple)


def _column_connections(value: Any) -> ConnectionTable | None:
    """The table of connection genes given as columns (:func:`_is_records`) of the plain types
    (integer ids, boolean flags, weights without NaN, groups of 0 or more), read without a Python
    object per gene; None for anything else (then read as objects, which names any defect)."""
    if not _is_records(value):
        return None
    columns = dict(zip(value.keys, value.columns, strict=True))
    if not {"innovation", "source", "target"} <= set(columns) or not set(columns) <= _CONNECTION_KEYS:
        return None
    ints = [columns[k] for k in ("innovation", "source", "target", "group") if k in columns]
    if any(c.dtype.kind != "i" for c in ints) or columns.get("enabled", np.ones(0, bool)).dtype != np.bool_:
        return None
    weight = columns.get("weight")
    if weight is not None and (weight.dtype.kind != "f" or np.isnan(weight).any()):
        return None
    group = columns.get("group")
    if group is not None and len(group) and int(group.min()) < 0:
        return None
    try:
        return ConnectionTable.of(columns["innovation"], columns["source"], columns["target"],
                                  columns.get("enabled", True), np.nan if weight is None else weight,
                                  NO_GROUP if group is None else group)
    except OverflowError:
        return None


def _connection_dicts(table: ConnectionTable) -> list[dict[str, Any]]:
    """The JSON objects of the connection genes, from the columns (no gene objects made or kept)."""
    out = []
    for innovation, source, target, enabled, weight, group in zip(*table.plain_columns()):
        row = {"innovation": innovation, "source": source, "target": target, "enabled": enabled, "weight": weight}
        if group is not None:
            row["group"] = group
        out.append(row)
    return out


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
