"""A network drawing orders each layer to keep connections from crossing, labels its neurons and
keeps its legend off them."""

from __future__ import annotations

import numpy as np
import pytest

from connevo.errors import SpecError
from connevo.results.drawing_layout import crossings, layered_positions
from connevo.results.plots import network_figure, network_layers


def _id_order(layer: dict[int, int]) -> dict[int, tuple[float, float]]:
    """Each layer in node-id order, spread as layered_positions spreads it (the drawing before)."""
    rows: dict[int, list[int]] = {}
    for node in sorted(layer):
        rows.setdefault(layer[node], []).append(node)
    return {n: ((k + 0.5) / len(ns) - 0.5, float(y)) for y, ns in rows.items() for k, n in enumerate(ns)}


def test_crossings_are_counted_between_connections_that_share_no_neuron():
    square = {0: (0.0, 0.0), 1: (1.0, 0.0), 2: (0.0, 1.0), 3: (1.0, 1.0)}
    assert crossings(square, [(0, 3), (1, 2)]) == 1  # an X
    assert crossings(square, [(0, 2), (1, 3)]) == 0  # parallel
    assert crossings(square, [(0, 3), (0, 2), (1, 3)]) == 0  # meeting at a neuron is no crossing


def test_a_permuted_matching_is_drawn_without_a_crossing():
    n = 8
    permutation = np.random.default_rng(3).permutation(n)
    layer = {i: 0 for i in range(n)} | {n + i: 1 for i in range(n)}
    edges = [(i, n + int(permutation[i])) for i in range(n)]
    assert crossings(_id_order(layer), edges) > 0
    assert crossings(layered_positions(layer, edges), edges) == 0


@pytest.mark.parametrize("seed", range(4))
def test_random_networks_never_cross_more_than_in_id_order(make_genome, seed):
    rng = np.random.default_rng(seed)
    genome = make_genome(n_in=10, n_out=3, hidden=6, weights=True)
    extra = [(int(rng.integers(10)), 10 + 3 + int(h)) for h in rng.integers(6, size=12)]  # inputs to hidden
    known = {(c["source"], c["target"]) for c in genome["connections"]}
    for k, (s, t) in enumerate(sorted(set(extra) - known)):
        genome["connections"].append({"innovation": 1000 + k, "source": s, "target": t, "enabled": True, "weight": 0.1})
    layer = network_layers(genome)
    edges = [(c["source"], c["target"]) for c in genome["connections"] if c["enabled"]]
    placed = layered_positions(layer, edges)
    assert set(placed) == set(layer) and all(placed[n][1] == layer[n] for n in layer)
    assert crossings(placed, edges) <= crossings(_id_order(layer), edges)


def test_neurons_carry_their_names_and_the_legend_covers_none(make_genome):
    genome = make_genome(n_in=4, n_out=2, hidden=3, weights=True)
    fig = network_figure(genome, input_names=["age", "dose", "weight", "height"], output_names=["no", "yes"])
    ax = fig.axes[0]
    texts = {t.get_text() for t in ax.texts}
    assert {"age", "dose", "weight", "height", "no", "yes"} <= texts
    assert {n["activation"] for n in genome["nodes"] if n["role"] == "hidden"} <= texts
    fig.canvas.draw()
    legend = fig.legends[0].get_window_extent()
    for collection in ax.collections[1:]:  # the neurons (the first collection is the connections)
        for x, y in ax.transData.transform(collection.get_offsets()):
            assert not legend.contains(x, y)


def test_default_names_and_a_binary_networks_one_output(make_genome):
    fig = network_figure(make_genome(n_in=2, n_out=1), output_names=["benign", "malignant"])
    assert {"x0", "x1", "malignant (vs benign)"} <= {t.get_text() for t in fig.axes[0].texts}
    with pytest.raises(SpecError, match="3 input_names for 2 input neurons"):
        network_figure(make_genome(n_in=2, n_out=1), input_names=["a", "b", "c"])
