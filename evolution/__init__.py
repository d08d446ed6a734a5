"""How the population moves: the spec, DEAP selection, the campaign loop and its observers."""

from connevo.evolution.api import CampaignResult, run
from connevo.evolution.campaign import Campaign, candidate_seed, load_task, make_evaluator
from connevo.evolution.observers import CampaignObserver, GenerationSummary
from connevo.evolution.spec import CampaignSpec, load_spec, parse_spec

__all__ = [
    "Campaign",
    "CampaignObserver",
    "CampaignResult",
    "CampaignSpec",
    "GenerationSummary",
    "candidate_seed",
    "load_spec",
    "load_task",
    "make_evaluator",
    "parse_spec",
    "run",
]
