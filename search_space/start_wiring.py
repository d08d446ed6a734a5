"""Which input -> output pairs the first generation's sparse linear networks wire.

``search_space.start_wiring = "gradient"``: the pairs of largest loss gradient at zero weights,
the criterion RigL grows connections by, applied to the empty network. For a softmax
classifier whose biases give the class frequencies ``p``, the gradient of the summed cross
entropy with respect to the weight ``i -> c`` at zero weights is ``sum_n x_ni (p_c - y_nc)``:
how differently input ``i`` sits in class ``c`` than overall. The same form holds for one logit
(binary: ``y - mean(y)``) and for a regression's squared error (``y`` standardized). One pass
over the training rows, in the driver, before the first generation.

A sparse linear start of ``k`` connections then wires the ``k`` pairs of largest magnitude
(ties in random order): on many inputs, few of them informative, a random subset of that size
would miss most of the informative ones. The hidden-layer starts score each input by the larger
of its gradient summed over the outputs and the same gradient of its standardized magnitude
``|x|`` (:func:`hidden_input_scores`): an input whose classes differ in spread but not in mean
(make_classification's informative features often do) has no gradient at zero weights, yet a
hidden neuron folding it about its mean separates them. Where those scores concentrate on few
inputs (:func:`concentrated`), the hidden-layer starts read the strongest (:mod:`evolution.initial`).
"""

from __future__ import annotations

import math

import numpy as np


def zero_weight_gradients(x: np.ndarray, y: np.ndarray, kind: str, n_outputs: int) -> np.ndarray:
    """``|d loss / d w_ic|`` at zero weights for every input ``i`` and output ``c``, shape
    ``(n_inputs, n_outputs)``: ``x`` the standardized training features, ``y`` class indices (a
    regression: the target), ``n_outputs`` 1 for a binary task or a regression."""
    x = np.asarray(x, dtype=np.float64)
    if kind == "regression":
        target = np.asarray(y, dtype=np.float64).reshape(-1, 1)
        residual = target - target.mean()
    elif n_outputs == 1:  # one logit: the probability of class 1
        target = (np.asarray(y) == 1).astype(np.float64).reshape(-1, 1)
        residual = target - target.mean()
    else:
        onehot = np.zeros((len(y), n_outputs))
        onehot[np.arange(len(y)), np.asarray(y, dtype=np.int64)] = 1.0
        residual = onehot - onehot.mean(axis=0)
    scores: np.ndarray = np.abs(_row_by_row_product(x, residual))
    return scores


_BLOCK_ELEMENTS = 1 << 21
"""Products held at once by :func:`_row_by_row_product` (16 MiB of float64)."""


def magnitude_gradients(x: np.ndarray, y: np.ndarray, kind: str, n_outputs: int) -> np.ndarray:
    """:func:`zero_weight_gradients` of each input's standardized magnitude ``|x|`` instead of the
    input itself, shape ``(n_inputs, n_outputs)``: what a hidden neuron folding the input about
    its mean (a pair of tanh units, a ReLU pair) could read. An input whose classes differ in
    spread, not in mean, has no gradient at zero weights, and these scores find it."""
    magnitude = np.abs(np.asarray(x, dtype=np.float64))
    spread = magnitude.std(axis=0)  # numpy reduces the first axis row after row: no BLAS, the same bits anywhere
    spread[spread == 0] = 1.0
    return zero_weight_gradients((magnitude - magnitude.mean(axis=0)) / spread, y, kind, n_outputs)


def hidden_input_scores(pair_scores: np.ndarray, magnitude_scores: np.ndarray) -> np.ndarray:
    """Each input's score for a hidden neuron, shape ``(n_inputs, 1)``: the larger of its summed
    gradient (:func:`input_scores`) and its magnitude's (:func:`magnitude_gradients`)."""
    scores: np.ndarray = np.maximum(input_scores(pair_scores), input_scores(magnitude_scores))
    return scores


def _row_by_row_product(x: np.ndarray, residual: np.ndarray) -> np.ndarray:
    """``x.T @ residual`` summed over the rows in their order, not by a BLAS matmul: a BLAS picks
    its summation order by machine and build, and the ranking of near-equal gradients must not
    depend on it (a seed fixes a campaign on every machine). Numpy reduces the first axis of a
    C-ordered array one row after another, so every machine adds the same numbers in the same
    order."""
    n_inputs, n_outputs = x.shape[1], residual.shape[1]
    total = np.zeros((n_inputs, n_outputs))
    step = max(1, _BLOCK_ELEMENTS // max(1, n_inputs * n_outputs))
    for start in range(0, x.shape[0], step):
        block = x[start:start + step, :, None] * residual[start:start + step, None, :]
        total += block.sum(axis=0)
    return total


def strongest_pairs(scores: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Flat indices ``input * n_outputs + output`` of the ``count`` largest ``scores`` (equal
    scores in an order drawn from ``rng``), ascending."""
    flat = scores.reshape(-1)
    count = max(1, min(int(count), flat.size))
    order = rng.permutation(flat.size)  # a random order among ties
    ranked = order[np.argsort(-flat[order], kind="stable")]
    return np.sort(ranked[:count])


CONCENTRATED_SHARE = 0.25
""":func:`concentrated`: the share of the summed gradient the strongest tenth of the inputs must
carry (2.5 times an even spread)."""


def input_scores(scores: np.ndarray) -> np.ndarray:
    """Each input's pair scores summed over the outputs, shape ``(n_inputs, 1)``: added one
    output after another, so that the sums, and the ranking of near-equal ones, are the same bits
    on every machine (a reduction's order of additions is the library's choice)."""
    scores = np.asarray(scores, dtype=np.float64)
    total = np.zeros(scores.shape[0])
    for column in range(scores.shape[1]):
        total = total + scores[:, column]
    return total.reshape(-1, 1)


def concentrated(scores: np.ndarray) -> bool:
    """Whether the strongest tenth of the inputs carries more than :data:`CONCENTRATED_SHARE` of
    the gradient of ``scores`` (pair scores, summed over the outputs: :func:`input_scores`; or
    :func:`hidden_input_scores`, one column): few inputs carry the signal. Measured on
    benchmarks/frontier.py's sets: the pair scores 0.44 on 200 features of which 10 are informative
    (wide), 0.14 on 784 pixels whose strongest neighbour and repeat each other; the hidden-layer
    starts' scores about 0.36 on wide, 0.33 on sparse_binary (5 of 100 informative) and 0.14 on
    pixels. Sums by ``math.fsum``: exact, whatever the order."""
    by_input = np.sort(input_scores(scores)[:, 0])[::-1]
    total = math.fsum(by_input)
    tenth = max(1, len(by_input) // 10)
    return total > 0 and math.fsum(by_input[:tenth]) > CONCENTRATED_SHARE * total


__all__ = ["CONCENTRATED_SHARE", "concentrated", "hidden_input_scores", "input_scores", "magnitude_gradients",
           "strongest_pairs", "zero_weight_gradients"]
