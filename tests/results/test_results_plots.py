"""Plots written as real PNG files from real store data and genome JSON."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from connevo.errors import GenomeError, SpecError
from connevo.results.plots import network_layers, plot_front, plot_hypervolume, plot_network
from connevo.results.queries import hypervolume_history
from connevo.results.store import Store

Factory = Callable[..., dict[str, Any]]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _assert_png(path: Path, min_bytes: int = 5_000) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert len(data) > min_bytes, len(data)


def _filled_store(store: Store, make_candidate: Factory, make_summary: Factory) -> str:
    cid = store.create_campaign("plots", {}, 5)
    number = 0
    for gen in range(4):
        cands = []
        for k in range(6):
            conns = 2 + (number * 7) % 30
            acc = min(0.99, 0.5 + 0.015 * conns - 0.02 * (k % 3))
            status = "failed" if number % 11 == 5 else "ok"
            cands.append(make_candidate(number, generation=gen, status=status,
                                        val_accuracy=None if status == "failed" else acc, connections=conns))
            number += 1
        store.commit_generation(
            cid, gen, cands,
            make_summary([f"{cid}-{c['number']}" for c in cands], hypervolume=0.2 + 0.1 * gen,
                         best_val_accuracy=0.8 + 0.03 * gen),
            {},
        )
    return cid


def test_plot_front_writes_a_png(
    store: Store, make_candidate: Factory, make_summary: Factory, tmp_path: Path
) -> None:
    cid = _filled_store(store, make_candidate, make_summary)
    out = plot_front(store.candidates(cid), ("val_accuracy", "connections"), tmp_path / "front.png")
    assert out == tmp_path / "front.png"
    _assert_png(out)


def test_plot_front_of_no_candidates_still_writes_a_png(store: Store, tmp_path: Path) -> None:
    cid = store.create_campaign("none", {}, 1)
    _assert_png(plot_front(store.candidates(cid), path=tmp_path / "empty.png"), min_bytes=1_000)


def test_plot_front_needs_a_path_and_two_known_objectives(store: Store, tmp_path: Path) -> None:
    df = store.candidates(store.create_campaign("x", {}, 1))
    with pytest.raises(TypeError, match="path"):
        plot_front(df)
    with pytest.raises(SpecError, match="two objectives"):
        plot_front(df, ("val_accuracy", "connections", "params"), tmp_path / "x.png")
    with pytest.raises(SpecError, match="does not exist"):
        plot_front(df, path=tmp_path / "missing" / "x.png")


def test_plot_hypervolume_writes_a_png(
    store: Store, make_candidate: Factory, make_summary: Factory, tmp_path: Path
) -> None:
    cid = _filled_store(store, make_candidate, make_summary)
    _assert_png(plot_hypervolume(store.generations(cid), tmp_path / "hv.png"))
    _assert_png(plot_hypervolume(hypervolume_history(store, cid), path=tmp_path / "hv2.png"))


def test_network_layers_put_inputs_at_the_bottom_and_outputs_on_top(make_genome: Factory) -> None:
    g = make_genome(n_in=2, n_out=2, hidden=3)  # inputs 0,1; outputs 2,3; hidden chain 0->4->5->6->2
    assert network_layers(g) == {0: 0, 1: 0, 4: 1, 5: 2, 6: 3, 2: 4, 3: 4}
    assert network_layers(make_genome()) == {0: 0, 1: 0, 2: 1}


def test_disabled_connections_do_not_count_for_layers(make_genome: Factory) -> None:
    g = make_genome(n_in=1, n_out=1, hidden=2)  # 0->1, 0->2->3->1
    for c in g["connections"]:
        if (c["source"], c["target"]) == (2, 3):
            c["enabled"] = False
    layers = network_layers(g)
    assert layers[2] == 1 and layers[3] == 1 and layers[1] == 2  # 3 has no enabled input left


def test_plot_network_with_and_without_weights(make_genome: Factory, tmp_path: Path) -> None:
    _assert_png(plot_network(make_genome(n_in=4, n_out=2, hidden=3, weights=True), tmp_path / "w.png"))
    _assert_png(plot_network(make_genome(n_in=4, n_out=2, hidden=3), path=tmp_path / "nw.png"))


def test_plot_network_of_a_wide_genome(make_genome: Factory, tmp_path: Path) -> None:
    # the digits task: 64 inputs, 10 outputs
    _assert_png(plot_network(make_genome(n_in=64, n_out=10, hidden=5, weights=True), tmp_path / "digits.png"))


def test_plot_network_rejects_what_is_not_a_valid_genome(make_genome: Factory, tmp_path: Path) -> None:
    with pytest.raises(GenomeError, match="format"):
        plot_network({"nodes": [], "connections": []}, tmp_path / "x.png")
    cyclic = make_genome(n_in=1, n_out=1, hidden=2)
    cyclic["connections"].append({"innovation": 99, "source": 3, "target": 2, "enabled": True, "weight": None})
    with pytest.raises(GenomeError, match="cycle"):
        plot_network(cyclic, tmp_path / "x.png")
    dangling = make_genome()
    dangling["connections"].append({"innovation": 9, "source": 0, "target": 77, "enabled": True, "weight": None})
    with pytest.raises(GenomeError, match="77"):
        plot_network(dangling, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_the_front_legend_counts_distinct_points(
    store: Store, make_candidate: Factory, make_summary: Factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import connevo.results.plots as plots

    cid = store.create_campaign("twins", {}, 1)
    cands = [make_candidate(n, val_accuracy=acc, connections=conns)
             for n, (acc, conns) in enumerate([(0.9, 10), (0.9, 10), (0.9, 10), (0.7, 4), (0.5, 12)])]
    store.commit_generation(cid, 0, cands, make_summary([f"{cid}-{c['number']}" for c in cands]), {})
    figures = []
    monkeypatch.setattr(plots, "_save", lambda fig, path: figures.append(fig) or Path(path))
    plot_front(store.candidates(cid), ("val_accuracy", "connections"), tmp_path / "f.png")
    plot_front(store.candidates(cid), ("val_accuracy", "connections"), tmp_path / "g.png", rank_accuracy_by="loss")
    labels = [[t.get_text() for t in figure.axes[0].get_legend().get_texts()] for figure in figures]
    # three copies of one network are one point of the front; the legend says a front ranked by the loss
    assert "Pareto front (2)" in labels[0] and "Pareto front (2, ranked by val_loss)" in labels[1]


def test_a_front_ranked_by_accuracy_and_loss_draws_its_staircase_and_every_member(
    store: Store, make_candidate: Factory, make_summary: Factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import connevo.results.plots as plots

    cid = store.create_campaign("sure", {}, 1)
    # 12 connections: less accurate than 10 but surer, so on the front, below its staircase
    scores = [(0.9, 0.3, 10), (0.7, 0.6, 4), (0.85, 0.2, 12), (0.5, 0.9, 14)]
    cands = [make_candidate(n, val_accuracy=acc, val_loss=loss, connections=conns)
             for n, (acc, loss, conns) in enumerate(scores)]
    store.commit_generation(cid, 0, cands, make_summary([f"{cid}-{c['number']}" for c in cands]), {})
    figures = []
    monkeypatch.setattr(plots, "_save", lambda fig, path: figures.append(fig) or Path(path))
    plot_front(store.candidates(cid), ("val_accuracy", "connections"), tmp_path / "f.png",
               rank_accuracy_by="accuracy_and_loss")
    axes = figures[0].axes[0]
    assert "Pareto front (3, by val_accuracy and val_loss)" in [t.get_text() for t in axes.get_legend().get_texts()]
    line = axes.get_lines()[0]
    assert list(line.get_xdata()) == [4, 10] and list(line.get_ydata()) == [0.7, 0.9]
