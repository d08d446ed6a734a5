"""The data sets of benchmarks/frontier.py: fixed (generated with a fixed random state or shipped
with scikit-learn), no downloads. Each loader returns a :class:`FrontierData`: float64 features,
int labels 0..k-1, the hypervolume reference R (connections) and a short description.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_iris,
    load_wine,
    make_circles,
    make_classification,
    make_friedman1,
    make_gaussian_quantiles,
    make_hastie_10_2,
    make_moons,
)
from sklearn.model_selection import train_test_split

DATA_STATE = 20240611
"""random_state of the generated data sets: the data never changes with the benchmark's seed."""

HOLDOUT_FRACTION = 0.25


@dataclass(frozen=True)
class FrontierData:
    name: str
    x: np.ndarray  # (n, features) float64
    y: np.ndarray  # (n,) int64 class indices (a regression's: float64 targets)
    reference: int  # R: hypervolume reference point in connections
    description: str
    regression: bool = False
    """The target is a number (``benchmarks.regression_frontier``): the baselines' networks have one
    output, trained by mean squared error, scored by R^2."""

    @property
    def n_features(self) -> int:
        return int(self.x.shape[1])

    @property
    def n_classes(self) -> int:
        return int(self.y.max()) + 1

    @property
    def n_outputs(self) -> int:
        """Output units of a baseline network: one logit for a binary task, one for a regression."""
        return 1 if self.regression or self.n_classes == 2 else self.n_classes


@dataclass(frozen=True)
class Split:
    """The seed's stratified split: ``x_fit``/``y_fit`` (75%) go to every method, ``x_hold``/``y_hold``
    (25%) are only ever used to score the models the methods return."""

    x_fit: np.ndarray
    y_fit: np.ndarray
    x_hold: np.ndarray
    y_hold: np.ndarray


def split(data: FrontierData, seed: int) -> Split:
    x_fit, x_hold, y_fit, y_hold = train_test_split(
        data.x, data.y, test_size=HOLDOUT_FRACTION, stratify=data.y, random_state=seed)
    return Split(x_fit, y_fit, x_hold, y_hold)


def digits() -> FrontierData:
    bunch = load_digits()
    return FrontierData("digits", bunch.data.astype(np.float64), bunch.target.astype(np.int64), 1280,
                        "sklearn digits: 1797 rows, 64 pixels, 10 classes; R = 2 x 640 (dense linear)")


def breast_cancer() -> FrontierData:
    bunch = load_breast_cancer()
    return FrontierData("breast_cancer", bunch.data.astype(np.float64), bunch.target.astype(np.int64), 60,
                        "sklearn breast cancer: 569 rows, 30 features, binary; R = 2 x 30 (one logit)")


def clusters() -> FrontierData:
    """class_sep 3.0 rather than 1.5: at 1.5 every model is poor (held-out accuracy: linear 0.42, 32 hidden
    ReLUs 0.62); at 3.0 a linear model scores about 0.68 and one hidden layer of 16-32 ReLUs 0.91-0.93."""
    x, y = make_classification(n_samples=4000, n_features=40, n_informative=12, n_redundant=8, n_classes=10,
                               n_clusters_per_class=3, class_sep=3.0, flip_y=0.0, random_state=DATA_STATE)
    return FrontierData("clusters", x.astype(np.float64), y.astype(np.int64), 800,
                        "make_classification: 4000 rows, 40 features (12 informative, 8 redundant), "
                        "10 classes x 3 clusters, class_sep 3.0; R = 2 x 400 (dense linear)")


def sparse_xor() -> FrontierData:
    rng = np.random.default_rng(DATA_STATE)
    x = rng.standard_normal((3000, 16))
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)
    return FrontierData("sparse_xor", x, y, 32,
                        "3000 rows, 16 standard-normal features, label = x0 * x1 > 0 (14 noise features); "
                        "R = 2 x 16 (one logit)")


def wine() -> FrontierData:
    """Never used while tuning connevo's defaults: a check that they carry over."""
    bunch = load_wine()
    return FrontierData("wine", bunch.data.astype(np.float64), bunch.target.astype(np.int64), 78,
                        "sklearn wine: 178 rows, 13 features, 3 classes; R = 2 x 39 (dense linear)")


def circles() -> FrontierData:
    """Never used while tuning connevo's defaults: a nonlinear boundary in 2 of 10 features."""
    rng = np.random.default_rng(DATA_STATE)
    x2, y = make_circles(n_samples=2000, noise=0.12, factor=0.5, random_state=DATA_STATE)
    x = np.hstack([x2, rng.standard_normal((2000, 8)) * 0.5])
    return FrontierData("circles", x.astype(np.float64), y.astype(np.int64), 20,
                        "make_circles (noise 0.12, factor 0.5) in 2 of 10 features (8 noise); binary; "
                        "R = 2 x 10 (one logit)")


def imbalanced() -> FrontierData:
    """Never used while tuning connevo's defaults: four classes of 55/25/13/7%, clusters per class."""
    x, y = make_classification(n_samples=3000, n_features=24, n_informative=6, n_redundant=4, n_classes=4,
                               n_clusters_per_class=2, weights=[0.55, 0.25, 0.13, 0.07], class_sep=1.5,
                               flip_y=0.0, random_state=DATA_STATE)
    return FrontierData("imbalanced", x.astype(np.float64), y.astype(np.int64), 192,
                        "make_classification: 3000 rows, 24 features (6 informative, 4 redundant), 4 classes "
                        "(55/25/13/7%) x 2 clusters, class_sep 1.5; R = 2 x 96 (dense linear)")


def wide() -> FrontierData:
    """Never used while tuning connevo's defaults: many features, few informative, few rows per feature."""
    x, y = make_classification(n_samples=1500, n_features=200, n_informative=10, n_redundant=10, n_classes=5,
                               n_clusters_per_class=2, class_sep=2.0, flip_y=0.0, random_state=DATA_STATE)
    return FrontierData("wide", x.astype(np.float64), y.astype(np.int64), 2000,
                        "make_classification: 1500 rows, 200 features (10 informative, 10 redundant), 5 classes "
                        "x 2 clusters, class_sep 2.0; R = 2 x 1000 (dense linear)")


def large() -> FrontierData:
    """Never used while tuning connevo's defaults: ten times the rows of the others, so one
    training costs more and a budget buys fewer of them."""
    x, y = make_classification(n_samples=20000, n_features=30, n_informative=10, n_redundant=5, n_classes=5,
                               n_clusters_per_class=2, class_sep=1.5, flip_y=0.01, random_state=DATA_STATE)
    return FrontierData("large", x.astype(np.float64), y.astype(np.int64), 300,
                        "make_classification: 20000 rows, 30 features (10 informative, 5 redundant), 5 classes "
                        "x 2 clusters, class_sep 1.5, 1% flipped labels; R = 2 x 150 (dense linear)")


def many_classes() -> FrontierData:
    """Never used while tuning connevo's defaults: twenty classes from sixteen features, so the
    output layer dominates a linear model's connections and a narrow hidden layer shared by all
    outputs can be cheaper (held-out accuracy: linear 0.68, one hidden layer of 16 ReLUs 0.78)."""
    x, y = make_classification(n_samples=4000, n_features=16, n_informative=8, n_redundant=2, n_classes=20,
                               n_clusters_per_class=1, class_sep=1.5, flip_y=0.0, random_state=DATA_STATE)
    return FrontierData("many_classes", x.astype(np.float64), y.astype(np.int64), 640,
                        "make_classification: 4000 rows, 16 features (8 informative, 2 redundant), 20 classes, "
                        "class_sep 1.5; R = 2 x 320 (dense linear)")


def iris() -> FrontierData:
    """Never used while tuning connevo's defaults: the smallest common data set (38 held-out rows,
    a validation split of about 22), where selection on validation accuracy is noisiest."""
    bunch = load_iris()
    return FrontierData("iris", bunch.data.astype(np.float64), bunch.target.astype(np.int64), 24,
                        "sklearn load_iris: 150 rows, 4 features, 3 classes; R = 2 x 12 (dense linear)")


def quantiles() -> FrontierData:
    """Never used while tuning connevo's defaults: classes are shells of a Gaussian in 6 features
    (4 more are noise), so a linear model is at chance (held-out accuracy 0.32) and hidden units
    that square their inputs are needed (one hidden layer of 8 ReLUs: 0.84)."""
    x6, y = make_gaussian_quantiles(n_samples=2500, n_features=6, n_classes=3, random_state=DATA_STATE)
    x = np.hstack([x6, np.random.default_rng(DATA_STATE).standard_normal((2500, 4))])
    return FrontierData("quantiles", x.astype(np.float64), y.astype(np.int64), 60,
                        "make_gaussian_quantiles: 2500 rows, 6 features + 4 noise features, 3 classes (shells); "
                        "R = 2 x 30 (dense linear)")


def pixels() -> FrontierData:
    """Never used while tuning connevo's defaults: images of MNIST's size. scikit-learn's digits
    (8 x 8) enlarged to 28 x 28 by bilinear interpolation, with Gaussian pixel noise (sd 1 on the
    0-16 scale): 784 strongly correlated inputs, a dense linear model of 7,840 connections."""
    from scipy.ndimage import zoom

    bunch = load_digits()
    images = zoom(bunch.images.astype(np.float64), (1, 3.5, 3.5), order=1)
    noise = np.random.default_rng(DATA_STATE).standard_normal(images.shape)
    x = (images + noise).reshape(len(images), -1)
    return FrontierData("pixels", x, bunch.target.astype(np.int64), 15680,
                        "sklearn digits enlarged to 28 x 28 (bilinear) with pixel noise (sd 1): 1797 rows, "
                        "784 inputs, 10 classes; R = 2 x 7840 (dense linear)")


def moons() -> FrontierData:
    """Never used while tuning connevo's defaults: two interleaved half-moons in 2 of 12 features
    (10 are noise), where the best small networks have 2-4 hidden neurons fed by the 2 that matter."""
    x2, y = make_moons(n_samples=1200, noise=0.25, random_state=DATA_STATE)
    x = np.hstack([x2, np.random.default_rng(DATA_STATE + 1).standard_normal((1200, 10))])
    return FrontierData("moons", x.astype(np.float64), y.astype(np.int64), 24,
                        "make_moons: 1200 rows, noise 0.25, 2 features + 10 noise features, 2 classes; "
                        "R = 2 x 12 (dense linear)")


def hastie() -> FrontierData:
    """Never used while tuning connevo's defaults: Hastie et al.'s 10-feature task, the class set by
    whether the sum of squared features exceeds its median, which no linear model separates."""
    x, y = make_hastie_10_2(n_samples=2000, random_state=DATA_STATE)
    return FrontierData("hastie", x.astype(np.float64), (y > 0).astype(np.int64), 20,
                        "make_hastie_10_2: 2000 rows, 10 features, 2 classes (sum of squares); "
                        "R = 2 x 10 (dense linear)")


def noisy() -> FrontierData:
    """Never used while tuning connevo's defaults: a small, noisy binary task of the kind of
    medical tables (Pima diabetes: 768 rows, 8 features, about 0.75 accuracy at best), where
    the validation rows' noise rather than the model limits the accuracy."""
    x, y = make_classification(n_samples=768, n_features=8, n_informative=4, n_redundant=2, n_classes=2,
                               weights=[0.65, 0.35], flip_y=0.15, class_sep=0.7, random_state=DATA_STATE)
    return FrontierData("noisy", x.astype(np.float64), y.astype(np.int64), 16,
                        "make_classification: 768 rows, 8 features (4 informative), 2 classes of 65/35%, "
                        "15% of labels flipped; R = 2 x 8 (dense linear)")


def categorical() -> FrontierData:
    """Never used while tuning connevo's defaults: one-hot encoded categories (as in the car and
    mushroom tables) and a class given by a rule over a few of them, which no linear model of
    the indicators states exactly: (a = 0 and b != 2) or (c = 1 and d = 3), 5% of labels flipped."""
    rng = np.random.default_rng(DATA_STATE)
    levels = [3, 3, 4, 4, 3, 3]
    codes = np.stack([rng.integers(0, k, 2000) for k in levels], axis=1)
    x = np.hstack([np.eye(k)[codes[:, j]] for j, k in enumerate(levels)])
    rule = ((codes[:, 0] == 0) & (codes[:, 1] != 2)) | ((codes[:, 2] == 1) & (codes[:, 3] == 3))
    y = rule ^ (rng.random(2000) < 0.05)
    return FrontierData("categorical", x.astype(np.float64), y.astype(np.int64), 40,
                        "six categories of 3-4 levels, one-hot (20 indicators), 2000 rows, 2 classes by "
                        "(a = 0 and b != 2) or (c = 1 and d = 3), 5% of labels flipped; R = 2 x 20 (dense linear)")


LATE_STATE = 99173
"""random_state of the four sets added on 2026-12-05 (``sparse_binary`` to ``six_classes``), drawn
once when they were made, after connevo's defaults were settled; never tuned on."""


def sparse_binary() -> FrontierData:
    """Never used while tuning connevo's defaults: a binary task in 5 of 100 features, the other
    95 noise, one cluster per class (a quadratic Bayes boundary: the classes' covariances differ)."""
    x, y = make_classification(n_samples=1000, n_features=100, n_informative=5, n_redundant=0, n_classes=2,
                               n_clusters_per_class=1, class_sep=1.0, flip_y=0.02, random_state=LATE_STATE)
    return FrontierData("sparse_binary", x.astype(np.float64), y.astype(np.int64), 200,
                        "make_classification: 1000 rows, 100 features (5 informative), 2 classes, class_sep 1.0, "
                        "2% of labels flipped; R = 2 x 100 (one logit)")


def skewed() -> FrontierData:
    """Never used while tuning connevo's defaults: raw columns as a table holds them, not as a
    generator draws them: a log-normal amount, a column of scale 1,000 around 5,000, a 0/1 flag,
    a count; the class by a threshold on a sum of a linear, a squared and a product term."""
    rng = np.random.default_rng(LATE_STATE)
    z = rng.normal(size=(2000, 12))
    x = z.copy()
    x[:, 0] = np.exp(1.5 * z[:, 0])
    x[:, 1] = 1000.0 * z[:, 1] + 5000.0
    x[:, 2] = (z[:, 2] > 0.5).astype(np.float64)
    x[:, 3] = np.round(np.exp(z[:, 3]) * 3)
    score = z[:, 0] + 0.8 * z[:, 1] ** 2 - 1.0 * x[:, 2] + 0.5 * z[:, 3] * z[:, 4]
    y = (score + 0.3 * rng.normal(size=2000) > np.median(score)).astype(np.int64)
    return FrontierData("skewed", x, y, 24,
                        "12 raw columns (log-normal, scale 1000 around 5000, a 0/1 flag, a count, 8 normal), "
                        "2000 rows, 2 classes by a linear + squared + product score; R = 2 x 12 (one logit)")


def small_wide() -> FrontierData:
    """Never used while tuning connevo's defaults: few rows for many features (240 x 50, 5
    informative): 60 held-out rows, each worth 0.017 of accuracy."""
    x, y = make_classification(n_samples=240, n_features=50, n_informative=5, n_redundant=3, n_classes=2,
                               n_clusters_per_class=2, class_sep=1.2, flip_y=0.0, random_state=LATE_STATE)
    return FrontierData("small_wide", x.astype(np.float64), y.astype(np.int64), 100,
                        "make_classification: 240 rows, 50 features (5 informative, 3 redundant), 2 classes "
                        "x 2 clusters, class_sep 1.2; R = 2 x 50 (one logit)")


def six_classes() -> FrontierData:
    """Never used while tuning connevo's defaults: 60 features of which 20 informative and 10
    redundant, six classes of one cluster each."""
    x, y = make_classification(n_samples=2500, n_features=60, n_informative=20, n_redundant=10, n_classes=6,
                               n_clusters_per_class=1, class_sep=1.0, flip_y=0.01, random_state=LATE_STATE)
    return FrontierData("six_classes", x.astype(np.float64), y.astype(np.int64), 720,
                        "make_classification: 2500 rows, 60 features (20 informative, 10 redundant), 6 classes, "
                        "class_sep 1.0, 1% of labels flipped; R = 2 x 360 (dense linear)")


FINAL_STATE = 60581
"""random_state of the three sets added on 2026-12-05 in the evening (``friedman``, ``tabular`` and
``ordinal``), drawn once when they were made, after connevo's defaults were settled; never tuned on."""


def friedman() -> FrontierData:
    """Never used while tuning connevo's defaults: Friedman's smooth nonlinear function of 5 of 10
    uniform features (a sine of a product, a square, two linear terms), noisy, split at its median."""
    x, target = make_friedman1(n_samples=2000, n_features=10, noise=1.0, random_state=FINAL_STATE)
    y = (target > np.median(target)).astype(np.int64)
    return FrontierData("friedman", x.astype(np.float64), y, 20,
                        "make_friedman1: 2000 rows, 10 uniform features (5 used), noise 1.0, 2 classes split at "
                        "the median; R = 2 x 10 (one logit)")


def tabular() -> FrontierData:
    """Never used while tuning connevo's defaults: a typical mid-sized table, 20 features of which 6
    informative and 4 redundant, three classes of two clusters each, 3% of labels flipped."""
    x, y = make_classification(n_samples=1500, n_features=20, n_informative=6, n_redundant=4, n_classes=3,
                               n_clusters_per_class=2, class_sep=1.0, flip_y=0.03, random_state=FINAL_STATE)
    return FrontierData("tabular", x.astype(np.float64), y.astype(np.int64), 120,
                        "make_classification: 1500 rows, 20 features (6 informative, 4 redundant), 3 classes "
                        "x 2 clusters, class_sep 1.0, 3% of labels flipped; R = 2 x 60 (dense linear)")


def ordinal() -> FrontierData:
    """Never used while tuning connevo's defaults: four ordered classes (quartiles of a score) from
    15 columns: counts, a skewed amount, flags and normals; the score has a linear part, a
    saturating one and an interaction with a flag."""
    rng = np.random.default_rng(FINAL_STATE)
    n = 1200
    z = rng.normal(size=(n, 15))
    x = z.copy()
    x[:, 0] = rng.poisson(3.0, size=n)
    x[:, 1] = rng.poisson(0.7, size=n)
    x[:, 2] = np.exp(0.8 * z[:, 2])
    x[:, 3] = (z[:, 3] > 0).astype(np.float64)
    x[:, 4] = (z[:, 4] > 1).astype(np.float64)
    score = (0.5 * x[:, 0] - 0.8 * x[:, 1] + np.tanh(z[:, 2]) + 1.2 * x[:, 3] * z[:, 5]
             + 0.7 * z[:, 6] - 0.6 * x[:, 4] + 0.5 * rng.normal(size=n))
    y = np.searchsorted(np.quantile(score, [0.25, 0.5, 0.75]), score).astype(np.int64)
    return FrontierData("ordinal", x, y, 120,
                        "15 columns (two counts, a log-normal amount, two flags, 10 normal), 1200 rows, 4 "
                        "classes by the quartiles of a noisy score; R = 2 x 60 (dense linear)")


CLASSIC_STATE = 71227
"""random_state of the three classic generated tasks added on 2026-12-06 (``waveform``, ``led24``
and ``checkerboard``), drawn once when they were made, after connevo's defaults were settled;
never tuned on."""


WAVE_PAIRS = ((0, 1), (0, 2), (1, 2))
"""The waveform task's classes: the pair of triangular waves each row mixes."""

LED_SEGMENTS = np.array([  # a b c d e f g of the digits 0-9
    [1, 1, 1, 0, 1, 1, 1], [0, 0, 1, 0, 0, 1, 0], [1, 0, 1, 1, 1, 0, 1], [1, 0, 1, 1, 0, 1, 1],
    [0, 1, 1, 1, 0, 1, 0], [1, 1, 0, 1, 0, 1, 1], [1, 1, 0, 1, 1, 1, 1], [1, 0, 1, 0, 0, 1, 0],
    [1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 1, 1]])
"""The seven segments the LED task's digits light (``benchmarks.bayes_bounds`` sums its Bayes accuracy)."""


def wave_peaks() -> list[np.ndarray]:
    """The waveform task's three triangular waves over its 21 points."""
    points = np.arange(1, 22)
    return [np.maximum(6 - np.abs(points - centre), 0).astype(np.float64) for centre in (11, 7, 15)]


def waveform() -> FrontierData:
    """Never used while tuning connevo's defaults: Breiman's waveform task (CART, 1984; UCI
    "Waveform Database Generator"): each row is a random convex mix of two of three triangular
    waves over 21 points, plus unit Gaussian noise; the class says which pair. Bayes accuracy
    about 0.86, a linear model near it."""
    rng = np.random.default_rng(CLASSIC_STATE)
    n = 2500
    peaks = wave_peaks()
    y = rng.integers(0, 3, n)
    mix = rng.random(n)[:, None]
    first = np.stack([peaks[WAVE_PAIRS[c][0]] for c in y])
    second = np.stack([peaks[WAVE_PAIRS[c][1]] for c in y])
    x = mix * first + (1 - mix) * second + rng.normal(size=(n, 21))
    return FrontierData("waveform", x, y.astype(np.int64), 126,
                        "Breiman's waveform: 2500 rows, 21 noisy points of a mix of two of three triangular "
                        "waves, 3 classes; R = 2 x 63 (dense linear)")


def led24() -> FrontierData:
    """Never used while tuning connevo's defaults: Breiman's LED display task (UCI "LED Display
    Domain", 24 attributes): the seven segments of a digit, each flipped with probability 0.1, and
    17 irrelevant random bits; 10 classes, Bayes accuracy about 0.74."""
    rng = np.random.default_rng(CLASSIC_STATE + 1)
    n = 2000
    y = rng.integers(0, 10, n)
    shown = LED_SEGMENTS[y] ^ (rng.random((n, 7)) < 0.1)
    x = np.hstack([shown, rng.integers(0, 2, (n, 17))]).astype(np.float64)
    return FrontierData("led24", x, y.astype(np.int64), 480,
                        "Breiman's LED-24: 2000 rows, 7 segments flipped with probability 0.1 and 17 random bits, "
                        "10 classes; R = 2 x 240 (dense linear)")


def checkerboard() -> FrontierData:
    """Never used while tuning connevo's defaults: a 3 x 3 checkerboard in 2 of 12 uniform features
    (10 are noise), 3% of labels flipped: no linear model does better than the majority class,
    and a small network needs hidden neurons on both informative features and a second level."""
    rng = np.random.default_rng(CLASSIC_STATE + 2)
    n = 2000
    x = rng.uniform(-1.5, 1.5, size=(n, 12))
    cells = np.floor(x[:, 0] + 1.5) + np.floor(x[:, 1] + 1.5)
    y = (cells.astype(np.int64) % 2) ^ (rng.random(n) < 0.03)
    return FrontierData("checkerboard", x, y.astype(np.int64), 24,
                        "3 x 3 checkerboard in 2 of 12 uniform features, 2000 rows, 2 classes, 3% of labels flipped; "
                        "R = 2 x 12 (one logit)")


FRESH_STATE = 91033
"""The data state of the sets added on 2026-12-06 (later), drawn once and run with every method
before anything else was looked at."""


def spirals() -> FrontierData:
    """Never used while tuning connevo's defaults: two interleaved spirals of one and a half turns
    in 2 of 10 features (8 are noise), radial noise 0.3: a logistic regression on all ten reaches
    about 0.64 (3-fold cross-validation), the spirals' turns need hidden neurons."""
    rng = np.random.default_rng(FRESH_STATE)
    n = 2000
    y = rng.integers(0, 2, n)
    t = np.sqrt(rng.random(n)) * 3.0 * np.pi
    radius = t + rng.normal(scale=0.3, size=n)
    angle = t + np.pi * y
    x = rng.normal(size=(n, 10))
    x[:, 0], x[:, 1] = radius * np.cos(angle), radius * np.sin(angle)
    return FrontierData("spirals", x, y.astype(np.int64), 20,
                        "two spirals of 1.5 turns in 2 of 10 features, 2000 rows, radial noise 0.3; "
                        "R = 2 x 10 (one logit)")


def redundant() -> FrontierData:
    """Never used while tuning connevo's defaults: correlated columns, as tables hold them: 5
    informative features, 15 linear mixes of them and 5 exact copies among 30, four classes."""
    x, y = make_classification(n_samples=3000, n_features=30, n_informative=5, n_redundant=15, n_repeated=5,
                               n_classes=4, n_clusters_per_class=1, class_sep=1.0, flip_y=0.02,
                               random_state=FRESH_STATE)
    return FrontierData("redundant", x.astype(np.float64), y.astype(np.int64), 240,
                        "make_classification: 3000 rows, 30 features (5 informative, 15 redundant, 5 repeated), "
                        "4 classes, class_sep 1.0, 2% of labels flipped; R = 2 x 120 (dense linear)")


def teacher() -> FrontierData:
    """Never used while tuning connevo's defaults: labels from a random teacher network, 20
    inputs, 8 tanh hidden units, 4 classes (the largest logit), 5% of labels redrawn at random."""
    rng = np.random.default_rng(FRESH_STATE + 1)
    n = 3000
    x = rng.normal(size=(n, 20))
    hidden = np.tanh(x @ rng.normal(scale=0.6, size=(20, 8)) + rng.normal(scale=0.5, size=8))
    y = np.argmax(hidden @ rng.normal(size=(8, 4)), axis=1)
    redrawn = rng.random(n) < 0.05
    y[redrawn] = rng.integers(0, 4, int(redrawn.sum()))
    return FrontierData("teacher", x, y.astype(np.int64), 160,
                        "labels of a random 20-8-4 tanh teacher network, 3000 rows, 5% redrawn; "
                        "R = 2 x 80 (dense linear)")


def huge() -> FrontierData:
    """Large data (opt-in, ``--datasets big``): 100,000 rows, so that connevo trains on 45,000 and a
    training's steps, not its networks, set a campaign's time."""
    x, y = make_classification(n_samples=100_000, n_features=20, n_informative=10, n_redundant=4, n_classes=4,
                               n_clusters_per_class=3, random_state=DATA_STATE)
    return FrontierData("huge", x.astype(np.float64), y.astype(np.int64), 160,
                        "make_classification: 100000 rows, 20 features (10 informative, 4 redundant), 4 classes "
                        "x 3 clusters; R = 2 x 80 (dense linear)")


def expression2() -> FrontierData:
    """Far more features than rows (opt-in, ``--datasets p_over_n``), as gene expression tables have
    them: 300 rows of 1,000 features, 10 informative; connevo trains on 135 rows."""
    x, y = make_classification(n_samples=300, n_features=1000, n_informative=10, n_redundant=5, n_classes=2,
                               n_clusters_per_class=2, class_sep=1.0, flip_y=0.02, random_state=123)
    return FrontierData("expression2", x.astype(np.float64), y.astype(np.int64), 2000,
                        "make_classification: 300 rows, 1000 features (10 informative, 5 redundant), 2 classes x 2 "
                        "clusters, 2% of labels flipped; R = 2 x 1000 (one logit)")


def expression3() -> FrontierData:
    """Far more features than rows, three classes (opt-in, ``--datasets p_over_n``): 400 rows of
    600 features, 12 informative; connevo trains on 180 rows."""
    x, y = make_classification(n_samples=400, n_features=600, n_informative=12, n_redundant=4, n_classes=3,
                               n_clusters_per_class=1, class_sep=1.2, flip_y=0.02, random_state=321)
    return FrontierData("expression3", x.astype(np.float64), y.astype(np.int64), 3600,
                        "make_classification: 400 rows, 600 features (12 informative, 4 redundant), 3 classes, "
                        "2% of labels flipped; R = 2 x 1800 (dense linear)")


LARGE_DATASETS: dict[str, Callable[[], FrontierData]] = {"huge": huge}
"""Data sets of 50,000 rows and more, not in the default list (a campaign takes minutes): ``--datasets big``
names them with the real tables of as many rows (benchmarks/real_tables.py)."""


DATASETS: dict[str, Callable[[], FrontierData]] = {
    "digits": digits,
    "breast_cancer": breast_cancer,
    "clusters": clusters,
    "sparse_xor": sparse_xor,
    "wine": wine,
    "circles": circles,
    "imbalanced": imbalanced,
    "wide": wide,
    "large": large,
    "many_classes": many_classes,
    "iris": iris,
    "quantiles": quantiles,
    "pixels": pixels,
    "moons": moons,
    "hastie": hastie,
    "noisy": noisy,
    "categorical": categorical,
    "sparse_binary": sparse_binary,
    "skewed": skewed,
    "small_wide": small_wide,
    "six_classes": six_classes,
    "friedman": friedman,
    "tabular": tabular,
    "ordinal": ordinal,
    "waveform": waveform,
    "led24": led24,
    "checkerboard": checkerboard,
    "spirals": spirals,
    "redundant": redundant,
    "teacher": teacher,
}
"""The first four shaped connevo's defaults; ``wine`` and ``circles``, then ``imbalanced`` and
``wide``, then ``large``, then ``many_classes``, then ``iris`` and ``quantiles``, then ``pixels``,
then ``moons`` and ``hastie``, then ``noisy`` and ``categorical``, then ``sparse_binary``,
``skewed``, ``small_wide`` and ``six_classes``, then ``friedman``, ``tabular`` and ``ordinal``,
then ``waveform``, ``led24`` and ``checkerboard``, then ``spirals``, ``redundant`` and ``teacher``,
were added after, to check that the defaults carry over to data they were not tuned on."""


P_OVER_N_DATASETS: dict[str, Callable[[], FrontierData]] = {"expression2": expression2, "expression3": expression3}
"""Far more features than rows, not in the default list: ``--datasets p_over_n``. Added on 2026-12-07
after a probe of these two draws (benchmarks/README.md, *Far more features than rows*), not before
looking at connevo's results as the other sets were."""
