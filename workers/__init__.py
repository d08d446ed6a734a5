"""How a candidate is scored: data sets, torch training, in-process and Ray evaluators.

:mod:`workers.ray_evaluator` (which imports Ray) is loaded only when asked for.
"""

from connevo.workers.evaluator import Evaluator, LocalEvaluator
from connevo.workers.records import Evaluation, EvaluationRequest, Status, TrainingSettings
from connevo.workers.tasks import BUILTIN_DATASETS, Dataset, load_dataset
from connevo.workers.train import train

__all__ = [
    "BUILTIN_DATASETS",
    "Dataset",
    "Evaluation",
    "EvaluationRequest",
    "Evaluator",
    "LocalEvaluator",
    "Status",
    "TrainingSettings",
    "load_dataset",
    "train",
]
