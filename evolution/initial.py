"""The first generation: how a campaign's population starts (the spec's ``search_space.start``).

- ``spanning`` (default): the population spans the connection budgets from the start. Half are
  sparse linear networks at log-spaced densities between ``initial_density``'s bounds; half
  have one hidden layer, widths on a doubling ladder up to ``max_hidden_nodes`` (at most 32),
  each hidden neuron reading a log-spaced share of the inputs, from a tenth to all of them.
  Training-informed operators then prune, grow and widen them. ``start_wiring = "gradient"``:
  the sparse linear networks wire the input -> output pairs of largest loss gradient at zero
  weights (:mod:`search_space.start_wiring`) instead of random ones, and where the inputs' scores
  concentrate on few inputs the hidden-layer starts read the strongest, each of their hidden
  neurons the same ones (an input's score: the larger of its gradient, summed over the outputs,
  and its magnitude's, which finds inputs whose classes differ in spread, not in mean);
  ``"auto"`` (the default): random ones, and on many inputs sparser starts that wire the
  strongest pairs; the hidden-layer starts as with ``"gradient"`` from 20 inputs on
  (:func:`wiring_plan`). The population's last network has no connection: its outputs' biases
  alone, the front's end at zero connections.
- ``minimal``: NEAT's start, inputs wired to outputs keeping a random share.
- ``random``: minimal networks after ``random_start_steps`` random structural mutations.

Every draw comes from the generator passed in; the same spec and seed give the same genomes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from connevo.search_space.fixed_layouts import fixed_layout_genome
from connevo.search_space.genome import Genome, Regularization
from connevo.search_space.innovation import InnovationTracker
from connevo.search_space.limits import Limits
from connevo.search_space.mutations import MUTATIONS
from connevo.search_space.operators import (
    linear_connection_count,
    linear_genome,
    minimal_genome,
    repair,
    within_limits,
)
from connevo.search_space.start_wiring import concentrated, strongest_pairs
from connevo.search_space.starts import hidden_layer_genome

MAX_START_WIDTH = 32
"""The widest hidden layer of a ``spanning`` start."""
LEAST_INPUT_SHARE = 0.1
"""The sparsest input wiring of a ``spanning`` start's hidden layer."""
AUTO_INPUTS_PER_OUTPUT = 20
"""``start_wiring = "auto"``: on many inputs the sparse linear starts reach down to this many
inputs per output on average."""
AUTO_SCORED_INPUTS = 20
"""``start_wiring = "auto"``: the hidden-layer starts score the inputs from this many inputs on,
where the sparsest share (:data:`LEAST_INPUT_SHARE`) reads two inputs or more. On fewer, every
neuron of the sparsest starts would read the same single strongest input, where random shares
give each neuron its own: on circles (10 inputs, a boundary additive in two of them) scored
starts lost on 5 of 6 seeds, on skewed (12) on 6 of 6 (benchmarks/README.md, *Scored hidden-layer
starts on few inputs*)."""


@dataclass(frozen=True)
class WiringPlan:
    """The sparse linear starts' densities and which of them wire the strongest pairs; whether
    the hidden-layer starts score the inputs."""

    density: tuple[float, float]
    """The lowest and highest density of the sparse linear starts."""
    gradient: bool
    """Whether some starts wire the pairs of largest loss gradient at zero weights."""
    gradient_below: float
    """The starts of a lower density wire the strongest pairs; the others random pairs."""
    scored_hidden: bool = False
    """Whether the hidden-layer starts score the inputs (:class:`InitialPopulation`'s
    ``hidden_scores``)."""


def wiring_plan(start_wiring: str, density: tuple[float, float], n_inputs: int, start: str = "spanning",
                layout: str = "evolved") -> WiringPlan:
    """``random``: random pairs within ``density``; ``gradient``: the strongest pairs within it;
    ``auto``: random pairs within ``density`` and, where its lowest density still wires more than
    :data:`AUTO_INPUTS_PER_OUTPUT` inputs per output on average, sparser linear starts down to
    that many that wire the strongest pairs (a random few of many inputs would miss the
    informative ones). ``gradient`` scores the inputs for the hidden-layer starts, ``auto`` from
    :data:`AUTO_SCORED_INPUTS` inputs on. Only a ``spanning`` start of the ``evolved`` layout has
    starts to wire; any other start keeps ``density`` and needs no gradients."""
    low, high = density
    if start != "spanning" or layout != "evolved" or start_wiring == "random":
        return WiringPlan((low, high), False, math.inf)
    if start_wiring == "gradient":
        return WiringPlan((low, high), True, math.inf, scored_hidden=True)
    sparsest = min(low, AUTO_INPUTS_PER_OUTPUT / max(1, n_inputs))
    if sparsest >= low:
        return WiringPlan((low, high), False, math.inf, scored_hidden=n_inputs >= AUTO_SCORED_INPUTS)
    return WiringPlan((sparsest, high), True, low, scored_hidden=True)


@dataclass(frozen=True)
class InitialPopulation:
    """Makes the first generation's genomes for a data set of ``n_inputs`` features and
    ``n_outputs`` output neurons (one for a two-class task)."""

    start: str
    n_inputs: int
    n_outputs: int
    density: tuple[float, float]
    activation: str
    layout: str = "evolved"
    random_steps: int = 0
    regularization: Regularization = Regularization()
    pair_scores: np.ndarray | None = None
    """Each input -> output pair's loss gradient at zero weights
    (:func:`search_space.start_wiring.zero_weight_gradients`); the sparse linear starts wire the
    strongest. None: random pairs."""
    hidden_scores: np.ndarray | None = None
    """Each input's score for the hidden-layer starts, ``(n_inputs, 1)``
    (:func:`search_space.start_wiring.hidden_input_scores`: the larger of its summed gradient and
    its magnitude's); where they concentrate on few inputs
    (:func:`search_space.start_wiring.concentrated`), every hidden neuron of a hidden-layer start
    reads the strongest. None: random inputs."""
    gradient_below: float = math.inf
    """With ``pair_scores``: only the sparse linear starts of a lower density wire the strongest
    pairs, the denser ones random pairs (``start_wiring = "auto"``)."""

    def genomes(self, count: int, rng: np.random.Generator, innovations: InnovationTracker,
                limits: Limits) -> list[Genome]:
        spanned = count - 1 if self._ends_empty(count) else count
        out = [self._genome(i, spanned, rng, innovations, limits) for i in range(spanned)]
        out = [g if within_limits(g, limits) else repair(g, rng, limits) for g in out]
        if spanned < count:  # the front's end at zero connections: the outputs' biases alone
            out.append(linear_genome(self.n_inputs, self.n_outputs, np.empty(0, dtype=np.int64), innovations,
                                     self.regularization))
        return out

    def _ends_empty(self, count: int) -> bool:
        """A spanning start of more than one network on an evolved layout includes one without a
        connection: trained, its outputs' biases are the class prior (a regression's mean), the
        most accurate network of zero connections, which no operator reaches (they keep one)."""
        return self.start == "spanning" and self.layout == "evolved" and count > 1

    def _genome(self, index: int, count: int, rng: np.random.Generator, innovations: InnovationTracker,
                limits: Limits) -> Genome:
        low, high = self.density
        if self.layout != "evolved":
            density = _log_uniform(rng, low, high)
            return fixed_layout_genome(self.layout, rng, innovations, density, activation=self.activation,
                                       regularization=self.regularization)
        if self.start == "spanning":
            return self._spanning(index, count, rng, innovations, limits)
        genome = minimal_genome(self.n_inputs, self.n_outputs, rng, innovations, _log_uniform(rng, low, high),
                                regularization=self.regularization)
        if self.start == "random":
            growth = (MUTATIONS["add_node"], MUTATIONS["add_connection"], MUTATIONS["change_activation"])
            for _ in range(self.random_steps):
                genome = growth[int(rng.integers(len(growth)))](genome, rng, innovations, limits)
        return genome

    def _spanning(self, index: int, count: int, rng: np.random.Generator, innovations: InnovationTracker,
                  limits: Limits) -> Genome:
        """Even indices: linear at the (index/2)-th of log-spaced densities; odd: one hidden
        layer, widths cycling up the doubling ladder, input shares log-spaced; with
        ``hidden_scores`` concentrated on few inputs, they read the strongest inputs (a
        random tenth of many inputs, few informative, reads mostly noise; where the gradient is
        spread, as over image pixels whose strongest neighbour and repeat each other, random
        shares are better: benchmarks/README.md, *Hidden-layer starts on the strongest inputs*)."""
        linear = (count + 1) // 2
        if index % 2 == 0 or limits.max_hidden_nodes < 1:
            low, high = self.density
            density = _spread(index // 2, linear, low, high)
            if self.pair_scores is not None and density < self.gradient_below:
                keep = linear_connection_count(density, self.n_inputs, self.n_outputs)
                return linear_genome(self.n_inputs, self.n_outputs, strongest_pairs(self.pair_scores, keep, rng),
                                     innovations, self.regularization)
            return minimal_genome(self.n_inputs, self.n_outputs, rng, innovations, density,
                                  regularization=self.regularization)
        k = index // 2
        widths = _ladder(min(MAX_START_WIDTH, limits.max_hidden_nodes))
        width = widths[k % len(widths)]
        share = _spread(k, count // 2, LEAST_INPUT_SHARE, 1.0)
        inputs = None
        if self.hidden_scores is not None and concentrated(self.hidden_scores):  # the strongest inputs
            fan_in = max(1, round(share * self.n_inputs))
            inputs = strongest_pairs(self.hidden_scores, fan_in, rng)
        return hidden_layer_genome(self.n_inputs, self.n_outputs, width, rng, innovations, share,
                                   activation=self.activation, regularization=self.regularization, inputs=inputs)


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def _spread(k: int, n: int, low: float, high: float) -> float:
    """The ``k``-th of ``n`` log-spaced values from ``high`` down to ``low``."""
    if n <= 1:
        return high
    return float(math.exp(math.log(high) + (math.log(low) - math.log(high)) * k / (n - 1)))


def _ladder(widest: int) -> list[int]:
    """1, 2, 4, ... up to ``widest`` (and ``widest`` itself)."""
    widths = [1]
    while widths[-1] * 2 <= widest:
        widths.append(widths[-1] * 2)
    if widths[-1] != widest:
        widths.append(widest)
    return widths
