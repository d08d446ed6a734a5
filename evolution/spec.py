"""The campaign spec: validated at the edge (pydantic, unknown keys rejected), from TOML or JSON."""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from connevo.errors import SpecError
from connevo.evolution.key_suggestions import suggestion
from connevo.evolution.time_limit import parse_seconds
from connevo.results.metrics import DEFAULT_OBJECTIVES, KINDS, metric, objective_names
from connevo.search_space.genome import ACTIVATIONS
from connevo.search_space.mutations import registered_mutations
from connevo.search_space.operators import HIDDEN_ACTIVATIONS
from connevo.workers.tasks import BUILTIN_DATASETS, builtin_kind


def _objective(sense: str) -> Any:
    """An objective's name, checked against the registry when a spec is validated (so a metric
    registered later, e.g. by ``connevo.run(metrics=...)``, is accepted)."""
    def check(name: str) -> str:
        known = objective_names(sense)  # type: ignore[arg-type]
        if name not in known:
            listed = ", ".join(repr(k) for k in known)
            raise ValueError(f"Input should be one of {listed}")
        return name

    return Annotated[str, AfterValidator(check)]
FILE_SUFFIXES = (".csv", ".npz", ".parquet")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class TaskSpec(_Strict):
    """The data: a built-in data set or a user file, what its target is, and how it is split."""

    dataset: str
    kind: Literal["classification", "regression"] = Field(
        "classification", description="classification: the target holds class labels; regression: a number "
        "(one output neuron, mean squared error on the standardized target, R^2/MSE/MAE as scores)")
    target: str = "label"
    validation_fraction: float = Field(
        0.3, gt=0, lt=1, description="selection's part: a larger one picks networks that hold up on new data")
    test_fraction: float = Field(0.1, gt=0, lt=1, description="reported only, never selected on")
    samples: int | None = Field(None, gt=0, description="rows to generate (generated data sets)")
    noise: float | None = Field(None, ge=0, description="noise level (generated data sets)")
    bits: int | None = Field(None, ge=2, le=16, description="input bits (parity)")
    retina_goal: Literal["and", "or"] = "and"

    @field_validator("dataset")
    @classmethod
    def _known_dataset(cls, value: str) -> str:
        if value in BUILTIN_DATASETS or value.lower().endswith(FILE_SUFFIXES):
            return value
        raise ValueError(
            f"{value!r} is neither a built-in data set ({', '.join(BUILTIN_DATASETS)}) "
            f"nor a file ending in {', '.join(FILE_SUFFIXES)}"
        )

    @model_validator(mode="after")
    def _fractions(self) -> TaskSpec:
        if self.dataset in BUILTIN_DATASETS and builtin_kind(self.dataset) != self.kind:
            raise ValueError(
                f"built-in data set {self.dataset!r} is a {builtin_kind(self.dataset)}: set "
                f"task.kind = {builtin_kind(self.dataset)!r} (got {self.kind!r})")
        if self.validation_fraction + self.test_fraction >= 1:
            raise ValueError(
                "validation_fraction + test_fraction must be < 1, got "
                f"{self.validation_fraction} + {self.test_fraction}"
            )
        return self


def _mutation_fields() -> dict[str, Any]:
    """One rate field per registered mutation operator (:mod:`search_space.mutations`)."""
    fields: dict[str, Any] = {
        m.name: (float, Field(m.rate, ge=0, le=1, description=m.description)) for m in registered_mutations()
    }
    fields["connection_step"] = (float, Field(
        0.3, ge=0, le=1,
        description="an add/remove-connection mutation acts 1 + Poisson(connection_step x connections) times",
    ))
    return fields


MutationSpec: type[_Strict] = create_model(
    "MutationSpec",
    __base__=_Strict,
    __doc__="""Probability that each operator is applied to a child (each drawn independently, each
    from a random stream of its own): one field per operator of the registry
    (:mod:`search_space.mutations`), with its default rate. The defaults lean on the
    training-informed operators, which read the parent's trained weights and training gradients;
    the blind ones keep exploring.""",
    **_mutation_fields(),
)


class FidelitySpec(_Strict):
    """Successive halving inside each generation (multi-fidelity).

    Every child first trains for ``rungs[0]`` of its full training; the best ``keep`` share by
    non-dominated sorting (or weighted fitness) continues from those weights up to ``rungs[1]``,
    and so on; the last rung is the full training. A candidate not promoted keeps the record of
    its short training, with its fidelity, and takes no part in selection.
    """

    rungs: list[float] = Field(
        default_factory=lambda: [0.25, 1.0], min_length=1, max_length=8,
        description="increasing fractions of the full training; the last is 1",
    )
    keep: float = Field(0.5, gt=0, le=1, description="share of a rung's candidates promoted to the next")

    @field_validator("rungs")
    @classmethod
    def _increasing_to_one(cls, rungs: list[float]) -> list[float]:
        for value in rungs:
            if not 0 < value <= 1:
                raise ValueError(f"every rung must be in (0, 1], got {value}")
        if any(b <= a for a, b in zip(rungs, rungs[1:])):
            raise ValueError(f"rungs must increase strictly, got {rungs}")
        if rungs[-1] != 1:
            raise ValueError(f"the last rung must be 1 (the full training), got {rungs[-1]}")
        return rungs


class EvolutionSpec(_Strict):
    """How the population moves."""

    algorithm: Literal["nsga2", "weighted"] = "nsga2"
    population: int = Field(48, gt=0, le=100_000)
    generations: int = Field(20, ge=0, le=100_000)
    cost_weight: float = Field(
        0.1, ge=0, description="lambda of the weighted fitness val_accuracy - lambda * cost / reference cost"
    )
    crossover_rate: float = Field(0.25, ge=0, le=1)
    niches: int | None = Field(
        None, ge=0, description="budget niches whose best candidate always survives (None: a third of the "
        "population under nsga2, none under weighted; 0: plain selection)")
    niche_parents: bool = Field(
        True, description="each budget niche's best candidate that another candidate dominates is the first parent "
        "of one child per generation, at most a sixteenth of the children (NSGA-II's tournaments rarely pick a "
        "dominated candidate, so the budgets beyond the front's largest network would not move)")
    mutation: MutationSpec = MutationSpec()
    fidelity: FidelitySpec | None = Field(
        None, description="successive halving inside each generation; None: every child trains fully"
    )
    time_limit: float | None = Field(
        None, description="seconds (or text: '90s', '10m', '1.5h') a run may take: no generation starts that, with "
        "the final polish, would end past it (estimated from the last generation); None: all generations run. "
        "Each generation reached is the one the seed fixes; how many depends on the machine (evolution.time_limit)")

    @field_validator("time_limit", mode="before")
    @classmethod
    def _time_limit(cls, value: object) -> float | None:
        return None if value is None else parse_seconds(value)

    @property
    def niche_count(self) -> int:
        """Budget niches in use: ``niches``, else a third of the population under NSGA-II and
        none under the weighted fitness (which asks for one trade-off, not a front)."""
        if self.niches is not None:
            return self.niches
        return self.population // 3 if self.algorithm == "nsga2" else 0


class ObjectivesSpec(_Strict):
    """What selection maximizes and minimizes. Left out, a classification maximizes
    ``val_accuracy`` and a regression (``task.kind``) ``val_r2``; both minimize ``connections``."""

    maximize: list[_objective("max")] = ["val_accuracy"]  # type: ignore[valid-type]
    minimize: list[_objective("min")] = ["connections"]  # type: ignore[valid-type]
    probability: dict[str, float] = Field(
        default_factory=dict,
        description="stochastic Pareto dominance: objective -> probability it takes part in a comparison",
    )
    rank_accuracy_by: Literal["auto", "accuracy", "loss", "pooled", "accuracy_and_loss"] = Field(
        "auto",
        description="how val_accuracy (a regression: val_r2) ranks the networks of the front (connevo front, the "
        "final polish, export, plots): 'accuracy' (ties decided by the validation loss), 'loss' (the validation "
        "cross-entropy, lower first: steadier than the accuracy of a few dozen rows), 'pooled' (the loss over the "
        "training and validation rows together, lower first), 'accuracy_and_loss' (both: a network stays on the "
        "front unless another with no more connections is at least as accurate and has no higher validation "
        "loss), or 'auto': a regression 'pooled', a classification 'accuracy_and_loss' "
        "(connevo.evolution.accuracy_ranking; the campaign stores what it chose). Selection always ranks by the "
        "validation score",
    )

    @model_validator(mode="after")
    def _some(self) -> ObjectivesSpec:
        if not self.maximize:
            raise ValueError("objectives.maximize must name a score to maximize (val_accuracy, or val_r2 for a "
                             "regression)")
        if len(set(self.minimize)) != len(self.minimize):
            raise ValueError(f"objectives.minimize has duplicates: {self.minimize}")
        for name, p in self.probability.items():
            if name not in self.names:
                raise ValueError(f"objectives.probability names {name!r}, which is not an objective of this spec ({', '.join(self.names)})")
            if not 0 < p <= 1:
                raise ValueError(f"objectives.probability[{name!r}] must be in (0, 1], got {p}")
        return self

    @property
    def probabilities(self) -> list[float]:
        return [self.probability.get(name, 1.0) for name in self.names]

    @property
    def names(self) -> list[str]:
        return [*self.maximize, *self.minimize]

    @property
    def senses(self) -> list[str]:
        return ["max"] * len(self.maximize) + ["min"] * len(self.minimize)


class SearchSpaceSpec(_Strict):
    """Limits of the search space, how the first generation starts and how it may grow."""

    max_hidden_nodes: int = Field(32, ge=0)
    max_connections: int | None = Field(None, gt=0)
    max_layers: int | None = Field(
        None, ge=1, description="the most layers of computation a network may have, the outputs' layer included "
        "(a network with one hidden layer has 2); a child beyond it loses random neurons of its deepest hidden "
        "layer until it fits. None: any depth")
    activations: list[str] = list(HIDDEN_ACTIVATIONS)
    initial_density: tuple[float, float] = (0.3, 1.0)
    start_wiring: Literal["random", "gradient", "auto"] = Field(
        "auto", description="which input -> output pairs a spanning start's sparse linear networks wire: random; "
        "gradient: those of largest loss gradient at zero weights (RigL's growth criterion on the empty network; "
        "connevo.search_space.start_wiring), and, where the inputs' scores (the larger of that gradient and that "
        "of an input's magnitude |x|) concentrate on few inputs, hidden-layer starts that read the strongest; "
        "auto: random, and on many inputs sparser starts down to 20 inputs per output that wire the strongest "
        "pairs; the hidden-layer starts as with gradient from 20 inputs on "
        "(connevo.evolution.initial.wiring_plan)")
    start: Literal["spanning", "minimal", "random"] = Field(
        "spanning", description="spanning: sparse linear and one-hidden-layer networks across the budgets, and one "
        "without connections (the outputs' biases: the front's end at zero connections); "
        "minimal: inputs wired to outputs (NEAT); random: minimal plus random_start_steps mutations")
    random_start_steps: int = Field(5, ge=0, le=1000, description="mutations applied to each 'random' start")
    layout: Literal["evolved", "retina"] = "evolved"
    growth: Literal["none", "linear", "log", "exp"] = "none"
    growth_start: int | None = Field(None, gt=0, description="connection budget of generation 0")
    growth_end: int | None = Field(None, gt=0, description="connection budget of the last generation")

    @model_validator(mode="after")
    def _growth(self) -> SearchSpaceSpec:
        if self.growth != "none" and (self.growth_start is None or self.growth_end is None):
            raise ValueError(f"growth = {self.growth!r} needs growth_start and growth_end (connection budgets)")
        return self

    def connection_budget(self, generation: int, generations: int) -> int | None:
        """The most connections a genome may have in ``generation`` (None: unlimited)."""
        cap = self.max_connections
        if self.growth != "none":
            start, end = float(self.growth_start), float(self.growth_end)  # type: ignore[arg-type]
            t = generation / generations if generations else 1.0
            if self.growth == "linear":
                budget = start + (end - start) * t
            elif self.growth == "log":
                budget = start + (end - start) * math.log1p(generation) / math.log1p(max(generations, 1))
            else:  # exp: geometric interpolation
                budget = start * (end / start) ** t
            budget_int = max(1, int(round(budget)))
            cap = budget_int if cap is None else min(cap, budget_int)
        return cap


    @field_validator("activations")
    @classmethod
    def _activations(cls, value: list[str]) -> list[str]:
        unknown = [a for a in value if a not in ACTIVATIONS]
        if unknown or not value:
            raise ValueError(f"unknown activation(s) {unknown or value}; choose from {', '.join(ACTIVATIONS)}")
        return value

    @field_validator("initial_density")
    @classmethod
    def _density(cls, value: tuple[float, float]) -> tuple[float, float]:
        low, high = value
        if not 0 < low <= high <= 1:
            raise ValueError(f"initial_density must be [low, high] with 0 < low <= high <= 1, got {list(value)}")
        return value


class RegularizationSpec(_Strict):
    """Regularization genes of every genome: fixed at these values, or evolving from them.

    The default is a light L1 penalty (lasso): it drives the weights training does not need
    toward zero, so magnitude pruning removes connections the network can do without (on held-out
    data it gave better fronts than no penalty or an evolving one: benchmarks/README.md)."""

    evolve: bool = False
    weight_decay: float = Field(0.001, ge=0, le=10, description="strength of the elastic-net penalty")
    l1_ratio: float = Field(1.0, ge=0, le=1, description="1: L1 (lasso), 0: L2 (ridge), between: elastic net")
    dropout: float = Field(0.0, ge=0, le=0.95, description="drop probability of hidden neurons in training")

class TrainingSpec(_Strict):
    epochs: int = Field(10, gt=0, le=100_000)
    batch_size: int | Literal["auto"] = Field(
        128, description="rows per optimizer step; \"auto\": 128, and on more than 12,800 training rows (an epoch of "
        "over 100 steps at 128) as many as make an epoch 100 steps (the rows / 100): a training's steps, whose "
        "time on small networks is mostly fixed work, stop growing with the data, for about half "
        "the time and 0.3-1.4% of held-out hypervolume on 24,000-45,000 training rows (evolution.task.auto_batch_size)")
    min_steps: int | Literal["auto"] = Field(
        "auto", description="epochs are raised so that a training takes at least this many optimizer steps "
        "(a third of them after weight inheritance): small data sets still train to convergence. \"auto\": 100; "
        "on a classification of 3 or more classes with at least 10 training rows per input, twice the steps of "
        "`epochs`, at most 300; on a two-class classification of as many rows, 300; on a regression of as many rows, "
        "300, at most those of 50 epochs (evolution.task.auto_min_steps)")
    epoch_rows: int | None = Field(
        None, gt=0, description="the most training rows one epoch visits, a fresh seeded sample of them each epoch "
        "(on large data a training's cost stops growing with its rows); unset: every row")
    learning_rate: float = Field(0.01, gt=0, lt=1e3)
    fan_in_boost: float = Field(
        3.0, ge=1.0, le=100.0, description="a neuron with n < 10 incoming connections trains its incoming weights "
        "and bias at learning_rate x min(fan_in_boost, 10 / n) (Adam's step per weight is about the learning rate, so "
        "a neuron's input moves with its fan-in: small neurons would otherwise learn slowly); 1: one rate for all")
    patience: int | None = Field(None, gt=0, description="early stopping on validation loss")
    time_limit: float = Field(300.0, gt=0, description="seconds per candidate")
    batched: bool = Field(True, description="train each chunk in stacks of candidates of one shape (on the CPU, "
                          "shapes of one depth padded to one, each network still multiplying on its own shape) "
                          "(False: each candidate alone: the same results, less memory)")
    precision: Literal["float32", "bfloat16"] = Field("float32", description="bfloat16: autocast the matmuls")
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="where workers train: \"auto\" (CUDA when the worker has a GPU: workers.gpus_per_worker; "
        "the local backend: when this process sees one), \"cpu\", or \"cuda\" (a worker without a GPU fails its "
        "candidates with an error saying so). \"cpu\" keeps a local campaign off a GPU (speeds measured in "
        "benchmarks/README.md)")
    inherit_weights: bool = Field(
        True, description="Lamarckian: a child starts from its parent's trained weights (new connections small)"
    )
    inherited_epochs: int | None = Field(
        None, ge=0, description="epochs of a child that inherited weights (default: a third of epochs, at least 1)"
    )
    polish_epochs: int | None = Field(
        None, ge=0, description="after the last generation, each front network trains this many more epochs from its "
        "weights on the rows of polish_rows and takes its place on the front (default: as many as "
        "a child that inherited weights trains, or a whole training's epochs where min_steps \"auto\" doubled the "
        "trainings of plentiful multi-class data; 0: no polish)")
    polish_rows: Literal["training+validation", "all"] = Field(
        "training+validation", description="what the final polish trains on: \"training+validation\" (the test "
        "rows stay unseen and each polished network's test scores are its own) or \"all\" (every row of the data "
        "set, for users who score the front on data of their own; a polished network's test scores are then those "
        "of the network it polishes, measured before the polish)")
    structure_hints: bool = Field(
        True, description="after training, measure the loss gradient of absent connections and the best new "
        "neuron (the training-informed operators read them)")
    measure_latency: bool = Field(
        False, description="after training, each worker times single-row CPU inference of the network it trained "
        "(latency_us, stored with the candidate; on whenever latency_us is an objective, whose selection then "
        "depends on measured time and is not fixed by the seed)")
    rewire_fraction: float = Field(
        0.0, ge=0.0, lt=1.0, description="sparse dynamics inside a training (RigL at a fixed budget): every "
        "rewire_every epochs, this share of a network's connections, the weakest, is swapped for the absent ones of "
        "largest loss gradient (decaying to 0 over the training), and the network is stored as rewired; 0: off")
    rewire_every: int | None = Field(
        None, gt=0, description="epochs between two rewirings (with rewire_fraction > 0; default: a quarter of the "
        "training's epochs, at least 1: three rewirings per training)")

    @field_validator("batch_size", mode="before")
    @classmethod
    def _batch_size(cls, value: Any) -> Any:
        if value == "auto" or (isinstance(value, int) and not isinstance(value, bool) and value > 0):
            return value
        raise ValueError('must be a whole number of rows (> 0) or "auto"')

    @field_validator("min_steps", mode="before")
    @classmethod
    def _min_steps(cls, value: Any) -> Any:
        if value == "auto" or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
            return value
        raise ValueError('must be a whole number of optimizer steps (>= 0) or "auto"')

    @model_validator(mode="after")
    def _inherited_epochs(self) -> TrainingSpec:
        if self.inherited_epochs is not None and self.inherited_epochs > self.epochs:
            raise ValueError(
                f"training.inherited_epochs ({self.inherited_epochs}) must not exceed training.epochs ({self.epochs})"
            )
        return self

    @property
    def warm_epochs(self) -> int:
        """Epochs of a child that inherited its parent's weights."""
        return self.inherited_epochs if self.inherited_epochs is not None else max(1, round(self.epochs / 3))


class WorkersSpec(_Strict):
    count: int = Field(2, gt=0, le=4096)
    backend: Literal["ray", "local"] = "ray"
    ray_address: str = ""
    gpus_per_worker: float = Field(0.0, ge=0)
    cpus_per_worker: float = Field(1.0, gt=0, description="Ray CPUs each worker reserves (fractional allowed)")
    chunk_size: int | None = Field(None, gt=0)
    max_retries: int = Field(2, ge=0, description="a chunk whose worker or node dies is retried on another worker this often")


class TrackingSpec(_Strict):
    """Where a campaign reports its progress besides its store (:mod:`evolution.tracking`)."""

    mlflow: str | None = Field(
        None, min_length=1,
        description="an MLflow tracking URI (sqlite:///mlflow.db, http://host:5000): a run per campaign with "
                    "per-generation metrics and the final front as a table (pip install 'connevo[mlflow]')")
    mlflow_experiment: str = Field("connevo", min_length=1, max_length=500,
                                   description="the MLflow experiment the campaigns' runs go to")
    tensorboard: str | None = Field(
        None, min_length=1,
        description="a folder: each campaign writes TensorBoard event files to <folder>/<name>-<id> "
                    "(relative paths from the spec file's folder; pip install 'connevo[tensorboard]')")


class CampaignSpec(_Strict):
    """Everything that defines a campaign; with ``seed``, it fixes the campaign's result."""

    name: str = Field(min_length=1, max_length=200)
    seed: int = Field(0, ge=0, lt=2**32)
    task: TaskSpec
    evolution: EvolutionSpec = EvolutionSpec()
    objectives: ObjectivesSpec = ObjectivesSpec()
    search_space: SearchSpaceSpec = SearchSpaceSpec()
    regularization: RegularizationSpec = RegularizationSpec()
    training: TrainingSpec = TrainingSpec()
    workers: WorkersSpec = WorkersSpec()
    tracking: TrackingSpec = TrackingSpec()
    base_dir: str | None = Field(
        None, description="folder that relative data paths are resolved against (the spec file's folder)"
    )

    @property
    def budget_niches(self) -> int:
        """Budget niches in use (:attr:`EvolutionSpec.niche_count`); none when no objective is
        minimized: without a cost there are no budgets to divide."""
        return self.evolution.niche_count if self.objectives.minimize else 0

    @model_validator(mode="before")
    @classmethod
    def _default_objectives(cls, data: Any) -> Any:
        """Objectives left out are those of the task's kind (:data:`results.metrics.DEFAULT_OBJECTIVES`):
        a regression maximizes ``val_r2`` (the default maximize list is a classification's)."""
        if not isinstance(data, dict):
            return data
        task = data.get("task")
        kind = task.get("kind") if isinstance(task, dict) else getattr(task, "kind", None)
        if kind not in KINDS or kind == "classification":
            return data
        objectives = data.get("objectives")
        if objectives is None:
            objectives = {}
        if not isinstance(objectives, dict):
            return data
        maximize, minimize = DEFAULT_OBJECTIVES[kind]
        filled = {"maximize": list(maximize), "minimize": list(minimize), **objectives}
        return {**data, "objectives": filled}

    @model_validator(mode="after")
    def _objectives_fit_the_task(self) -> CampaignSpec:
        kind = self.task.kind
        for field, names in (("objectives.maximize", self.objectives.maximize),
                             ("objectives.minimize", self.objectives.minimize)):
            for name in names:
                belongs = metric(name).kind
                if belongs is not None and belongs != kind:
                    own = ", ".join(repr(n) for n in objective_names(metric(name).sense, kind) if metric(n).kind)
                    raise ValueError(f"{field}: {name!r} is a {belongs} metric, and task.kind is {kind!r}"
                                     + (f" (its scores: {own})" if own else ""))
        return self

    @model_validator(mode="after")
    def _layout_needs_its_task(self) -> CampaignSpec:
        if self.search_space.layout == "retina" and self.task.dataset != "retina":
            raise ValueError(f"search_space.layout = 'retina' needs task.dataset = 'retina', got {self.task.dataset!r}")
        if self.search_space.layout != "evolved" and self.training.rewire_fraction > 0:
            raise ValueError(f"training.rewire_fraction = {self.training.rewire_fraction} needs search_space.layout = "
                             f"'evolved': rewiring would grow connections outside the fixed "
                             f"{self.search_space.layout!r} layout")
        return self

    def with_overrides(self, **changes: Any) -> CampaignSpec:
        """A copy with dotted-key changes, validated again (``{"workers.count": 1}``)."""
        data = self.model_dump()
        for dotted, value in changes.items():
            node = data
            *parents, leaf = dotted.split(".")
            for part in parents:
                node = node[part]
            node[leaf] = value
        return parse_spec(data)


def _describe(error: dict[str, Any]) -> str:
    location = ".".join(str(p) for p in error["loc"]) or "spec"
    if error["type"] == "extra_forbidden":
        return f"unknown key '{location}'" + suggestion(CampaignSpec, error["loc"])
    if error["type"] == "missing":
        return f"'{location}' is required"
    message = error["msg"].removeprefix("Value error, ")
    if not error["loc"]:  # a check of the whole spec: its message names the fields (the input is the spec)
        return message
    return f"'{location}': {message} (got {error.get('input')!r})"


def parse_spec(data: Any) -> CampaignSpec:
    """Validate a spec given as a dict; :class:`SpecError` names every bad field and value."""
    if not isinstance(data, dict):
        raise SpecError(f"a spec must be a table/object, got {type(data).__name__}")
    try:
        return CampaignSpec.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(_describe(e) for e in exc.errors())
        raise SpecError(f"invalid spec: {problems}") from None


def load_spec(source: str | Path | dict[str, Any]) -> CampaignSpec:
    """Load a spec from a TOML or JSON file (by suffix), or validate a dict.

    Relative data paths in a file's spec are resolved against the file's folder.
    """
    if isinstance(source, dict):
        return parse_spec(source)
    path = Path(source)
    if not path.is_file():
        raise SpecError(f"spec file {str(path)!r} does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read spec file {str(path)!r}: {exc}") from None
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            data = tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SpecError(f"spec file {str(path)!r} is not valid {path.suffix.lstrip('.').upper() or 'TOML'}: {exc}") from None
    if isinstance(data, dict) and "base_dir" not in data:
        data["base_dir"] = str(path.resolve().parent)
    return parse_spec(data)
