"""The registry of mutation operators: each under the name its rate has in the spec's
``[evolution.mutation]``, with its default rate and a one-line description.

Adding an operator is one function ``(genome, rng, innovations, limits) -> genome`` and one
:func:`register_mutation` call here: the spec then accepts its rate (``evolution.spec`` builds
``MutationSpec`` from this registry), the campaign applies it, and it draws from a random stream
of its own (:mod:`evolution.variation`), so no other operator's draws change. Operators are
applied to a child in registration order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from connevo.search_space.genome import Genome
from connevo.search_space.informed import add_neuron_gradient, grow_gradient, prune_magnitude, widen_neuron
from connevo.search_space.innovation import InnovationTracker
from connevo.search_space.limits import Limits
from connevo.search_space.operators import (
    add_connection,
    add_node,
    change_activation,
    mutate_regularization,
    remove_connection,
    remove_node,
    share_weights,
    toggle_connection,
    unshare_weights,
)

Operator = Callable[[Genome, np.random.Generator, InnovationTracker, Limits], Genome]


@dataclass(frozen=True)
class Mutation:
    """One registered operator: its spec name, the function, its default rate, what it does, and
    whether it reads the parent's training (trained weights, structure hints)."""

    name: str
    operator: Operator
    rate: float
    description: str
    informed: bool = False


_REGISTRY: dict[str, Mutation] = {}


def register_mutation(name: str, operator: Operator, *, rate: float, description: str,
                      informed: bool = False) -> Mutation:
    """Register ``operator`` under ``name`` with default ``rate``; returns the entry. The
    operator may be given a genome without connections (the spanning start holds one)."""
    if not name.isidentifier():
        raise ValueError(f"a mutation's name must be an identifier (it is a spec key), got {name!r}")
    if name in _REGISTRY:
        raise ValueError(f"a mutation named {name!r} is registered already")
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"the default rate of mutation {name!r} must be in [0, 1], got {rate!r}")
    entry = Mutation(name, operator, float(rate), description, informed)
    _REGISTRY[name] = entry
    return entry


def registered_mutations() -> tuple[Mutation, ...]:
    """Every registered operator, in registration (application) order."""
    return tuple(_REGISTRY.values())


class _Operators(Mapping[str, Operator]):
    """A live read-only view of the registry: name -> operator function."""

    def __getitem__(self, name: str) -> Operator:
        return _REGISTRY[name].operator

    def __iter__(self) -> Iterator[str]:
        return iter(_REGISTRY)

    def __len__(self) -> int:
        return len(_REGISTRY)


MUTATIONS: Mapping[str, Operator] = _Operators()
"""Every registered operator by name, in application order (blind ones, then informed ones)."""

# --- the blind operators: they need nothing of a parent's training -------------------------------
register_mutation("add_connection", add_connection, rate=0.05, description="wire two unconnected neurons")
register_mutation("remove_connection", remove_connection, rate=0.05, description="remove a connection")
register_mutation("add_node", add_node, rate=0.05, description="split a connection with a new neuron")
register_mutation("remove_node", remove_node, rate=0.05, description="remove a hidden neuron and its connections")
register_mutation("change_activation", change_activation, rate=0.05, description="give a hidden neuron another activation")
register_mutation("toggle_connection", toggle_connection, rate=0.0, description="disable or re-enable a connection")
register_mutation("mutate_regularization", mutate_regularization, rate=0.2,
                  description="perturb the regularization genes (used when regularization.evolve)")
register_mutation("share_weights", share_weights, rate=0.0, description="tie two connections to one shared weight")
register_mutation("unshare_weights", unshare_weights, rate=0.0, description="untie a shared weight")
# --- the training-informed operators (search_space/informed.py) ----------------------------------
register_mutation("prune_magnitude", prune_magnitude, rate=0.5, informed=True,
                  description="remove the weakest connections by trained magnitude")
register_mutation("grow_gradient", grow_gradient, rate=0.2, informed=True,
                  description="add the absent connections of largest training gradient")
register_mutation("add_neuron_gradient", add_neuron_gradient, rate=0.15, informed=True,
                  description="add a neuron wired where the gradient asks (GradMax)")
register_mutation("widen_neuron", widen_neuron, rate=0.05, informed=True,
                  description="copy a neuron, splitting its fan-out (Net2Net)")

__all__ = ["MUTATIONS", "Mutation", "Operator", "register_mutation", "registered_mutations"]
