"""What the user keeps: the campaign store, Pareto queries, hypervolume and plots.

``results`` imports none of ``evolution``, ``search_space``, ``workers`` or ``service``.
"""

from connevo.results.pareto import (
    OBJECTIVE_SENSES,
    hypervolume,
    normalized_hypervolume,
    pareto_front,
    pareto_mask,
)
from connevo.results.plots import network_layers, plot_front, plot_hypervolume, plot_network
from connevo.results.queries import DEFAULT_OBJECTIVES, compare_campaigns, front, hypervolume_history
from connevo.results.store import (
    CAMPAIGN_STATUSES,
    CANDIDATE_STATUSES,
    DEFAULT_STORE,
    SCHEMA_VERSION,
    STORE_ENV,
    Store,
    open_store,
    resolve_store_url,
)

__all__ = [
    "CAMPAIGN_STATUSES",
    "CANDIDATE_STATUSES",
    "DEFAULT_OBJECTIVES",
    "DEFAULT_STORE",
    "OBJECTIVE_SENSES",
    "SCHEMA_VERSION",
    "STORE_ENV",
    "Store",
    "compare_campaigns",
    "front",
    "hypervolume",
    "hypervolume_history",
    "network_layers",
    "normalized_hypervolume",
    "open_store",
    "pareto_front",
    "pareto_mask",
    "plot_front",
    "plot_hypervolume",
    "plot_network",
    "resolve_store_url",
]
