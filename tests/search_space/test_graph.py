"""The array graph helpers agree with the plain-Python ones on graphs of every depth."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from connevo.search_space import graph


def random_dag(seed: int, n: int, chain: int) -> tuple[np.ndarray, np.ndarray]:
    """Random forward edges over ``n`` nodes plus a chain ``0 -> 1 -> ... -> chain`` (deep)."""
    rng = np.random.default_rng(seed)
    pairs = {(int(a), int(b)) for a, b in rng.integers(0, n, size=(2 * n, 2)) if a < b}
    pairs |= {(k, k + 1) for k in range(min(chain, n - 1))}
    edges = np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)
    return edges[:, 0], edges[:, 1]


@settings(max_examples=80, deadline=None, derandomize=True)
@given(st.integers(0, 10**6), st.integers(2, 60), st.integers(0, 60), st.integers(1, 3))
def test_reaching_finds_what_required_for_output_finds(seed, n, chain, n_starts):
    sources, targets = random_dag(seed, n, chain)
    starts = np.random.default_rng(seed).choice(n, size=min(n, n_starts), replace=False)
    expected = graph.required_for_output(starts.tolist(), zip(sources.tolist(), targets.tolist()))
    reached = graph.reaching(n, sources, targets, starts)
    assert set(np.flatnonzero(reached).tolist()) == expected


@settings(max_examples=80, deadline=None, derandomize=True)
@given(st.integers(0, 10**6), st.integers(2, 40), st.integers(0, 40), st.booleans())
def test_is_acyclic_agrees_with_a_topological_sort(seed, n, chain, close_a_cycle):
    sources, targets = random_dag(seed, n, chain)
    if close_a_cycle and len(sources):
        sources, targets = np.append(sources, targets[-1]), np.append(targets, sources[-1])
    expected = graph.topological_order(range(n), zip(sources.tolist(), targets.tolist())) is not None
    assert graph.is_acyclic(n, sources, targets) == expected
