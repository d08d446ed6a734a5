"""Costs are counted exactly and agree with the compiled torch module."""

import numpy as np
import pytest
import torch

from connevo.search_space import (
    ConnectionGene,
    Genome,
    InnovationTracker,
    NodeGene,
    layered_layout,
    measure,
    minimal_genome,
)
from connevo.search_space.compile import compile_genome
from tests.support import random_genome


def mlp(m: int, n: int, k: int) -> Genome:
    """A fully connected m-n-k network as a genome."""
    nodes = [NodeGene(i, "input") for i in range(m)]
    nodes += [NodeGene(m + j, "output") for j in range(k)]
    hidden = [m + k + h for h in range(n)]
    nodes += [NodeGene(h, "hidden", "relu") for h in hidden]
    conns, innov = [], 0
    for i in range(m):
        for h in hidden:
            conns.append(ConnectionGene(innov, i, h))
            innov += 1
    for h in hidden:
        for j in range(k):
            conns.append(ConnectionGene(innov, h, m + j))
            innov += 1
    return Genome(tuple(nodes), tuple(conns)).validate()


def test_fully_connected_mlp_costs_follow_the_essays_formulas():
    m, n, k = 5, 4, 3
    cost = measure(mlp(m, n, k))
    assert cost.connections == m * n + n * k
    assert cost.params == m * n + n * k + n + k
    assert cost.flops == 2 * (m * n + n * k)
    assert cost.depth == 2 and cost.hidden_nodes == n


@pytest.mark.parametrize("seed", range(8))
def test_params_equal_the_compiled_modules_unmasked_parameter_count(seed):
    genome = random_genome(seed)
    net = compile_genome(genome, seed=seed)
    own_weights = sum(int(m.sum()) for m in net.masks())
    shared_weights = net.shared.numel()
    biases = sum(b.numel() for b in net.biases)
    assert measure(genome).params == own_weights + shared_weights + biases == net.effective_parameter_count()
    grouped = sum(1 for c in genome.effective_connections if c.group is not None)
    assert measure(genome).connections == own_weights + grouped


@pytest.mark.parametrize("seed", range(8))
def test_dense_bytes_are_the_compiled_modules_layer_matrices_and_biases_in_float32(seed):
    from connevo.search_space.cost import dense_bytes

    net = compile_genome(random_genome(seed), seed=seed)
    assert dense_bytes(random_genome(seed)) == 4 * sum(w.numel() + b.numel() for w, b in zip(net.weights, net.biases))


@pytest.mark.parametrize("seed", range(5))
def test_forward_pass_honours_exactly_the_enabled_connections(seed):
    genome = random_genome(seed)
    net = compile_genome(genome, seed=seed)
    x = torch.randn(16, genome.n_inputs, requires_grad=True)
    net(x).sum().backward()
    # every weight gradient outside the mask is zero
    for weight, mask in zip(net.weights, net.masks()):
        assert torch.all(weight.grad[mask == 0] == 0)
    # an input with no path to an output does not influence any output
    reaching = {c.source for c in genome.effective_connections}
    for i, node in enumerate(genome.input_ids):
        if node not in reaching:
            assert torch.all(x.grad[:, i] == 0)


def test_forward_pass_computes_the_hand_written_network():
    nodes = (NodeGene(0, "input"), NodeGene(1, "input"), NodeGene(2, "output", bias=0.5),
             NodeGene(3, "hidden", "tanh", bias=-0.25))
    conns = (ConnectionGene(0, 0, 3, weight=2.0), ConnectionGene(1, 3, 2, weight=-1.5),
             ConnectionGene(2, 1, 2, weight=0.75), ConnectionGene(3, 0, 2, enabled=False, weight=9.0))
    genome = Genome(nodes, conns).validate()
    net = compile_genome(genome, use_genome_weights=True)
    x = torch.tensor([[0.3, -1.2], [1.0, 2.0]])
    expected = -1.5 * torch.tanh(2.0 * x[:, 0] - 0.25) + 0.75 * x[:, 1] + 0.5
    assert torch.allclose(net(x)[:, 1], expected)  # one output neuron: the logit of class 1


def test_exported_weights_rebuild_the_same_function():
    genome = random_genome(3)
    net = compile_genome(genome, seed=1)
    trained = net.export_weights(genome)
    again = compile_genome(Genome.from_json(trained.to_json()), use_genome_weights=True)
    net.eval(), again.eval()  # dropout genes act in training only
    x = torch.randn(8, genome.n_inputs)
    assert torch.allclose(net(x), again(x), atol=1e-6)


def test_wiring_length_is_the_sum_of_squared_distances_in_the_layered_layout():
    # inputs at x = -0.5, 0.5 (y 0); hidden at x = 0 (y 1); output at x = 0 (y 2)
    nodes = (NodeGene(0, "input"), NodeGene(1, "input"), NodeGene(2, "output"), NodeGene(3, "hidden"))
    conns = (ConnectionGene(0, 0, 3), ConnectionGene(1, 3, 2), ConnectionGene(2, 1, 2))
    genome = Genome(nodes, conns).validate()
    layout = layered_layout(genome)
    assert layout.coordinates == {0: (-0.5, 0.0), 1: (0.5, 0.0), 3: (0.0, 1.0), 2: (0.0, 2.0)}
    expected = (0.5**2 + 1) + (0 + 1) + (0.5**2 + 4)
    assert measure(genome).wiring_length == pytest.approx(expected)


@pytest.mark.parametrize("seed", range(12))
def test_each_live_neuron_sits_one_layer_above_its_deepest_source_and_outputs_on_top(seed):
    genome = random_genome(seed, steps=80)
    layout = layered_layout(genome)
    sources: dict[int, list[int]] = {}
    for c in genome.effective_connections:
        sources.setdefault(c.target, []).append(c.source)
    top = len(layout.layers) - 1
    assert set(layout.depth) == set(genome.input_ids) | genome.live_nodes
    for node, depth in layout.depth.items():
        if node in genome.input_ids:
            assert depth == 0
        elif node in genome.output_ids:
            assert depth == top
        else:
            assert depth == 1 + max((layout.depth[s] for s in sources.get(node, ())), default=0)
    assert all(layer == tuple(sorted(layer)) for layer in layout.layers)
    assert [n for layer in layout.layers for n in layer if layout.depth[n] != layout.layers.index(layer)] == []


def shared_genome() -> Genome:
    """3 inputs -> 2 outputs, four connections in one sharing group, one connection alone."""
    nodes = tuple(NodeGene(i, "input") for i in range(3)) + (NodeGene(3, "output"), NodeGene(4, "output"))
    conns = (
        ConnectionGene(0, 0, 3, group=7), ConnectionGene(1, 1, 3, group=7),
        ConnectionGene(2, 0, 4, group=7), ConnectionGene(3, 2, 4, group=7),
        ConnectionGene(4, 1, 4),
    )
    return Genome(nodes, conns).validate()


def test_a_shared_weight_counts_once_in_params_and_every_connection_counts():
    genome = shared_genome()
    cost = measure(genome)
    assert cost.connections == 5
    assert cost.params == 1 + 1 + 2  # one shared weight, one own weight, two biases
    net = compile_genome(genome, seed=0)
    assert net.effective_parameter_count() == cost.params
    assert sum(p.numel() for p in [net.shared]) == 1


def test_shared_connections_carry_one_trained_value():
    genome = shared_genome()
    net = compile_genome(genome, seed=0)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    x = torch.randn(32, 3)
    for _ in range(5):
        optimizer.zero_grad()
        net(x).pow(2).mean().backward()
        optimizer.step()
    trained = net.export_weights(genome)
    shared = {c.weight for c in trained.connections if c.group == 7}
    assert len(shared) == 1
    again = compile_genome(trained, use_genome_weights=True)
    assert torch.allclose(net(x), again(x), atol=1e-6)


def test_regularization_genes_round_trip_and_define_the_penalty():
    from connevo.search_space.genome import Regularization

    genome = Genome(shared_genome().nodes, shared_genome().connections, Regularization(0.5, 0.25, 0.1)).validate()
    assert Genome.from_json(genome.to_json()).regularization == Regularization(0.5, 0.25, 0.1)
    net = compile_genome(genome, use_genome_weights=False, seed=0)
    weights = torch.cat([net.weights[0][net.masks()[0].bool()], net.shared])
    expected = 0.5 * (0.25 * weights.abs().sum() + 0.75 * 0.5 * weights.pow(2).sum())
    assert torch.allclose(net.penalty(), expected)


def test_dropout_acts_only_in_training_mode_and_only_on_hidden_neurons():
    from connevo.search_space.genome import Regularization

    genome = mlp(4, 16, 2)
    genome = Genome(genome.nodes, genome.connections, Regularization(dropout=0.5)).validate()
    net = compile_genome(genome, seed=0)
    x = torch.randn(64, 4)
    net.eval()
    assert torch.equal(net(x), net(x))
    net.train()
    torch.manual_seed(0)
    assert not torch.equal(net(x), net(x))


def test_fixed_coordinates_define_the_wiring_length():
    nodes = (NodeGene(0, "input", x=0.0, y=0.0), NodeGene(1, "input", x=3.0, y=0.0), NodeGene(2, "output", x=0.0, y=4.0))
    conns = (ConnectionGene(0, 0, 2), ConnectionGene(1, 1, 2))
    genome = Genome(nodes, conns).validate()
    assert measure(genome).wiring_length == pytest.approx(16 + 25)


def test_modularity_of_two_separate_modules_is_high_and_of_one_block_is_zero():
    # two disjoint 2-2 modules joined only at the output layer: inputs 0,1 -> hidden 6; 2,3 -> hidden 7
    nodes = tuple(NodeGene(i, "input") for i in range(4)) + (NodeGene(4, "output"), NodeGene(5, "output"),
                                                             NodeGene(6, "hidden"), NodeGene(7, "hidden"))
    conns = (ConnectionGene(0, 0, 6), ConnectionGene(1, 1, 6), ConnectionGene(2, 6, 4),
             ConnectionGene(3, 2, 7), ConnectionGene(4, 3, 7), ConnectionGene(5, 7, 5))
    two_modules = Genome(nodes, conns).validate()
    assert measure(two_modules).modularity == pytest.approx(0.5)
    # a complete bipartite 2-2 block has no split better than the whole
    block = minimal_genome(2, 2, np.random.default_rng(0), InnovationTracker(), density=1.0)
    assert measure(block).modularity == pytest.approx(0.0, abs=1e-9)
    empty = Genome((NodeGene(0, "input"), NodeGene(1, "output")), ()).validate()
    assert measure(empty).modularity == 0.0


def test_a_single_output_genome_is_a_binary_classifier():
    nodes = (NodeGene(0, "input"), NodeGene(1, "output", bias=0.5))
    genome = Genome(nodes, (ConnectionGene(0, 0, 1, weight=2.0),)).validate()
    logits = compile_genome(genome, use_genome_weights=True)(torch.tensor([[1.0], [-1.0]]))
    assert torch.allclose(logits, torch.tensor([[0.0, 2.5], [0.0, -1.5]]))


def test_modularity_matches_networkx_louvain_and_is_deterministic_across_threads():
    from concurrent.futures import ThreadPoolExecutor

    import networkx as nx

    from connevo.search_space.cost import modularity
    from connevo.search_space.mutations import MUTATIONS
    from connevo.search_space.operators import Limits

    rng = np.random.default_rng(4)
    tracker = InnovationTracker()
    genomes = []
    for _ in range(12):
        genome = minimal_genome(8, 3, rng, tracker, density=0.5)
        for _ in range(25):
            genome = MUTATIONS[("add_node", "add_connection")[int(rng.integers(2))]](genome, rng, tracker, Limits())
        genomes.append(genome)
    ours = [modularity(g) for g in genomes]
    for genome, q in zip(genomes, ours):
        graph = nx.Graph((c.source, c.target) for c in genome.effective_connections)
        reference = max(nx.community.modularity(graph, nx.community.louvain_communities(graph, seed=s)) for s in range(3))
        assert q == pytest.approx(reference, abs=0.02)
    with ThreadPoolExecutor(4) as pool:
        again = list(pool.map(modularity, genomes * 3))
    assert again == ours * 3


def test_counts_without_modularity_are_the_same_counts():
    genome = minimal_genome(6, 3, np.random.default_rng(1), InnovationTracker(), density=0.7)
    full, counts = measure(genome).as_dict(), measure(genome, with_modularity=False).as_dict()
    assert counts.pop("modularity") == 0.0 and full.pop("modularity") > 0
    assert counts == full
