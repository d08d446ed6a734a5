"""What a candidate is: genomes, variation operators, compilation to torch, exact costs."""

from connevo.search_space.cost import COST_METRICS, CostMetrics, measure
from connevo.search_space.genome import (
    ACTIVATIONS,
    GENOME_FORMAT,
    GENOME_VERSION,
    ConnectionGene,
    Genome,
    NodeGene,
    Regularization,
)
from connevo.search_space.innovation import InnovationTracker
from connevo.search_space.layout import Layout, layered_layout
from connevo.search_space.mutations import MUTATIONS
from connevo.search_space.operators import (
    Limits,
    add_connection,
    add_node,
    change_activation,
    crossover,
    crossover_coins,
    minimal_genome,
    mutate_regularization,
    remove_connection,
    remove_node,
    repair,
    share_weights,
    toggle_connection,
    unshare_weights,
    within_limits,
)

__all__ = [
    "ACTIVATIONS",
    "COST_METRICS",
    "GENOME_FORMAT",
    "GENOME_VERSION",
    "MUTATIONS",
    "ConnectionGene",
    "CostMetrics",
    "Genome",
    "InnovationTracker",
    "Layout",
    "Limits",
    "NodeGene",
    "Regularization",
    "add_connection",
    "add_node",
    "change_activation",
    "crossover",
    "crossover_coins",
    "layered_layout",
    "measure",
    "minimal_genome",
    "mutate_regularization",
    "remove_connection",
    "remove_node",
    "repair",
    "share_weights",
    "toggle_connection",
    "unshare_weights",
    "within_limits",
]
