"""The HTTP API fuzzed from its own OpenAPI schema with schemathesis.

Every operation of ``/openapi.json`` gets schemathesis' examples, coverage (boundary values, missing
and wrong-typed parameters, undocumented methods) and fuzzing phases, in positive and negative
modes, against an app over a temporary SQLite store that already holds a finished campaign (with
one failed candidate, so metrics are null somewhere). Path parameters are drawn either by the
fuzzer or from the store's real campaign and candidate ids, so the 200 answers are checked too.

Checks on every answer: no 5xx, a documented status code, a documented content type and headers,
a body that validates against the documented schema, invalid requests rejected with a 4xx, and
schema-valid requests not rejected as invalid (422).

Bounded and reproducible: a fixed schemathesis seed, derandomized Hypothesis, no example
database, ``MAX_EXAMPLES`` per operation and a deadline per request. ``POST /campaigns`` is
fuzzed too: the app's :class:`ServiceLimits` keep any campaign it launches tiny, and the
campaign threads are stopped and joined when the module ends.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import hypothesis.core
import hypothesis.vendor.pretty
import pytest
import schemathesis
import schemathesis.generation.hypothesis.builder  # noqa: F401 - runs schemathesis' one-time setup() now
from fastapi import FastAPI
from hypothesis import strategies as st
from schemathesis.python import asgi as schemathesis_asgi

from connevo.evolution.campaign import Campaign
from connevo.evolution.spec import parse_spec
from connevo.results.store import Store, open_store
from connevo.service.http import ServiceLimits, create_app
from connevo.workers.tasks import BUILTIN_DATASETS
from tests.support import small_spec

pytestmark = pytest.mark.slow

# schemathesis' setup() (run when its pytest plugin loads) swaps Hypothesis' printer, process-wide,
# for one that prints nothing: every other Hypothesis test of the session would then report its
# failing example as ``test(x=, y=)``. Put Hypothesis' own printer back.
hypothesis.core.RepresentationPrinter = hypothesis.vendor.pretty.RepresentationPrinter  # type: ignore[misc]

SEED = 20240601
MAX_EXAMPLES = 25
"""Fuzzing-phase examples per operation (the examples and coverage phases add their own, bounded)."""

LIMITS = ServiceLimits(max_population=4, max_generations=1, max_epochs=2, max_workers=1, max_samples=2_000,
                       max_concurrent=1, max_page_size=50)
"""Whatever a fuzzed request launches is tiny: at most 4 x 2 candidates of 2 epochs on 2000 rows."""

CONFIG = schemathesis.Config.from_dict({
    "seed": SEED,
    # What a request may take before the client gives up: exports train nothing but trace and
    # export networks, which on a loaded 2-core machine (two test processes) took over the default 10 s.
    "request-timeout": 120,
    "generation": {"mode": "all", "deterministic": True, "max-examples": MAX_EXAMPLES, "database": "none"},
    "phases": {"stateful": {"enabled": False}},
    "checks": {
        # A schema-valid request may still be refused by what the schema cannot say: an unknown
        # id (404), an objective name or data set that does not exist (400), a campaign that is
        # not running (409), the concurrency limit (429). A 422 for it is a schema/validation
        # mismatch and fails.
        "positive_data_acceptance": {"expected-statuses": ["2xx", 400, 404, 409, 429]},
    },
})


def _openapi_document() -> dict[str, Any]:
    """The app's OpenAPI document, from an app over a throwaway in-memory store.

    The document depends on the code and the limits only, so the test operations can be
    collected before the module's store and campaign exist. (schemathesis' lazy
    ``schemathesis.pytest.from_fixture`` would avoid this, but 4.32 breaks on pytest 9:
    ``'Function' object has no attribute '_nodeid'``.)
    """
    store = open_store("sqlite://")
    try:
        return create_app(store, limits=LIMITS).openapi()
    finally:
        store.close()


schema = schemathesis.openapi.from_dict(_openapi_document(), config=CONFIG)


@dataclass
class FuzzEnv:
    app: FastAPI
    store: Store
    campaign_id: str
    candidate_ids: list[str]
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)


_ENV: list[FuzzEnv] = []  # the module's environment, for the schema hook below


@pytest.fixture(scope="module")
def fuzz_env(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[FuzzEnv]:
    """An app over a store with one finished campaign (12 candidates) and one failed candidate."""
    root = tmp_path_factory.mktemp("fuzz")
    data = root / "data"
    data.mkdir()
    store = open_store(str(root / "store.db"))
    campaign_id = Campaign(parse_spec(small_spec(**{"evolution.generations": 1})), store).run()
    first = store.candidate(f"{campaign_id}-0")
    store.add_candidates(campaign_id, [{
        "number": 99, "generation": 1, "parents": [first["id"]], "genome": first["genome"], "status": "failed",
        "error": "RuntimeError: boom", "seed": 7,
    }])
    candidate_ids = [str(c) for c in store.candidates(campaign_id)["id"]]
    app = create_app(store, data_dir=data, limits=LIMITS)
    assert app.openapi() == schema.raw_schema, "the fuzzed document must be the app's own"
    env = FuzzEnv(app, store, campaign_id, candidate_ids)
    _ENV.append(env)
    threads_before = set(threading.enumerate())
    yield env
    _ENV.remove(env)
    manager = app.state.manager
    for launched in manager.running():
        manager.stop(launched)
    manager.shutdown(timeout=60)
    schemathesis_asgi.shutdown_lifespans()  # the app's lifespan, started by schemathesis' ASGI client
    leftover = [t for t in set(threading.enumerate()) - threads_before if t.name.startswith("campaign-")]
    assert not leftover, f"campaign threads still running: {leftover}"
    store.close()
    total = sum(env.statuses.values())
    by_status = Counter()
    for (_, status), n in env.statuses.items():
        by_status[status] += n
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"\nHTTP fuzz: {total} requests, answers by status {dict(sorted(by_status.items()))}")


@schema.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> st.SearchStrategy:
    """Fuzzed path parameters, or the store's real ids (so the routes' 200 answers are fuzzed too).
    Exports keep the fuzzed ids: each real one runs a `connevo export` process for seconds
    (``_known_cases`` and tests/service/test_http_exports.py export real networks)."""
    operation = getattr(context, "operation", None)
    if not path_parameters or not _ENV or str(getattr(operation, "path", "")).endswith("/export"):
        return st.just(path_parameters)
    env = _ENV[-1]
    options = [st.just(path_parameters)]
    if "campaign" in path_parameters:
        options.append(st.just({**path_parameters, "campaign": env.campaign_id}))
    if "candidate_id" in path_parameters:
        options.append(st.sampled_from(env.candidate_ids).map(lambda c: {**path_parameters, "candidate_id": c}))
    return st.one_of(options)


@schema.parametrize()
@hypothesis.settings(deadline=None, database=None, derandomize=True, max_examples=MAX_EXAMPLES)  # no timing
@pytest.mark.timeout(180)
def test_every_operation_answers_per_its_schema(case: schemathesis.Case, fuzz_env: FuzzEnv) -> None:
    response = case.call_and_validate(app=fuzz_env.app, base_url="http://testserver")
    fuzz_env.statuses[(f"{case.method} {case.operation.path}", response.status_code)] += 1


def _known_cases(env: FuzzEnv) -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    cid, candidate = env.campaign_id, env.candidate_ids[0]
    return [
        ("GET", "/campaigns", {}, {}),
        ("GET", "/campaigns", {}, {"status": "finished"}),
        ("GET", "/campaigns/{campaign}", {"campaign": cid}, {}),
        ("GET", "/campaigns/{campaign}", {"campaign": "tiny-xor"}, {}),  # by name
        ("GET", "/campaigns/{campaign}/front", {"campaign": cid}, {}),
        ("GET", "/campaigns/{campaign}/front", {"campaign": cid}, {"objectives": "val_accuracy,params",
                                                                    "include_failed": "true"}),
        ("GET", "/campaigns/{campaign}/candidates", {"campaign": cid}, {"sort": "connections", "order": "desc"}),
        ("GET", "/campaigns/{campaign}/candidates", {"campaign": cid}, {"status": "failed"}),
        ("GET", "/candidates/{candidate_id}", {"candidate_id": candidate}, {}),
        ("GET", "/candidates/{candidate_id}", {"candidate_id": f"{cid}-99"}, {}),  # the failed one
        ("GET", "/campaigns/{campaign}/plots/front.png", {"campaign": cid}, {}),
        ("GET", "/campaigns/{campaign}/plots/hypervolume.png", {"campaign": cid}, {}),
        ("GET", "/candidates/{candidate_id}/plots/network.png", {"candidate_id": candidate}, {}),
        ("GET", "/candidates/{candidate_id}/export", {"candidate_id": candidate}, {}),
        ("GET", "/campaigns/{campaign}/front/export", {"campaign": cid}, {"max_connections": "3"}),
    ]


def test_real_ids_answer_200_per_the_schema(fuzz_env: FuzzEnv) -> None:
    """Explicit examples: every read operation, with the store's real ids, answers 200 per the schema."""
    for method, path, path_parameters, query in _known_cases(fuzz_env):
        case = schema[path][method].Case(path_parameters=path_parameters, query=query)
        response = case.call_and_validate(app=fuzz_env.app, base_url="http://testserver")
        assert response.status_code == 200, (method, path, query, response.text)


# ----- POST /campaigns with bodies near a valid spec -----------------------------------------
# The schema fuzzer's bodies almost never name a data set that exists, so they all end in 400
# before anything runs. These start from a valid tiny spec and change a few fields, so they
# reach the limits, the data loading and the launch itself.
def _field_values() -> dict[str, st.SearchStrategy[Any]]:
    ints = st.integers(min_value=-3, max_value=10**15)
    return {
        "task.dataset": st.sampled_from([*BUILTIN_DATASETS, "xor.csv", "../outside.csv", "/etc/passwd.csv",
                                         "missing.npz", "", "XOR", "x" * 300]),
        "task.samples": st.one_of(st.none(), ints, st.sampled_from([1, 2, 3, 2_000, 2_001, 10**13])),
        "task.bits": st.one_of(st.none(), st.integers(min_value=-1, max_value=40)),
        "task.noise": st.one_of(st.none(), st.floats(min_value=-1, max_value=1e9, allow_nan=False)),
        "task.validation_fraction": st.floats(min_value=-0.5, max_value=1.5, allow_nan=False),
        "task.test_fraction": st.floats(min_value=0, max_value=1, allow_nan=False),
        "evolution.population": st.integers(min_value=-1, max_value=6),
        "evolution.generations": st.integers(min_value=-1, max_value=2),
        "evolution.algorithm": st.sampled_from(["nsga2", "weighted", "random"]),
        "training.epochs": st.integers(min_value=-1, max_value=3),
        "training.batch_size": st.one_of(ints, st.just("64")),
        "training.learning_rate": st.floats(min_value=-1, max_value=1e6, allow_nan=False, allow_infinity=False),
        "workers.count": st.integers(min_value=-1, max_value=2),
        "workers.backend": st.sampled_from(["local", "threads", None]),
        "objectives.minimize": st.lists(st.sampled_from(["connections", "params", "flops", "beauty"]), max_size=3),
        "objectives.maximize": st.lists(st.sampled_from(["val_accuracy", "connections"]), max_size=2),
        "search_space.max_hidden_nodes": st.one_of(ints, st.just(None)),
        "search_space.initial_density": st.lists(st.floats(min_value=-1, max_value=2, allow_nan=False),
                                                 max_size=3),
        "seed": st.one_of(ints, st.just(-(2**70)), st.just("3")),
        "name": st.text(max_size=20),
    }


def _tiny(**overrides: Any) -> dict[str, Any]:
    """A valid spec within LIMITS (it launches), with ``overrides``."""
    return small_spec(**{"evolution.population": 4, "evolution.generations": 1, "training.epochs": 2,
                         "workers.count": 1, "task.samples": 100, **overrides})


@st.composite
def near_valid_specs(draw: st.DrawFn) -> Any:
    fields = _field_values()
    chosen = draw(st.lists(st.sampled_from(sorted(fields)), min_size=0, max_size=3, unique=True))
    overrides = {name: draw(fields[name]) for name in chosen}
    return _tiny(**overrides)


NOT_SPECS = st.one_of(st.none(), st.integers(), st.text(max_size=10), st.lists(st.integers(), max_size=3),
                      st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=8), max_size=4))
BODIES = st.integers(min_value=0, max_value=4).flatmap(lambda k: near_valid_specs() if k else NOT_SPECS)
"""Four bodies in five near a valid spec, the others not a spec at all."""


@hypothesis.given(body=BODIES)
# Explicit examples, always run first: each limit of LIMITS just beyond its value, a path out of
# the data folder, and rows that do not fit in memory (a 500, a MemoryError while the request
# generated them, before ServiceLimits.max_samples).
@hypothesis.example(body=_tiny(**{"task.samples": 10**13}))
@hypothesis.example(body=_tiny(**{"task.samples": 2_001}))
@hypothesis.example(body=_tiny(**{"evolution.population": 5}))
@hypothesis.example(body=_tiny(**{"evolution.generations": 2}))
@hypothesis.example(body=_tiny(**{"training.epochs": 3}))
@hypothesis.example(body=_tiny(**{"workers.count": 2}))
@hypothesis.example(body=_tiny(**{"task.dataset": "../outside.csv"}))
@hypothesis.example(body=_tiny())
@hypothesis.settings(max_examples=60, deadline=None, database=None, derandomize=True,
                     suppress_health_check=[hypothesis.HealthCheck.too_slow,
                                            hypothesis.HealthCheck.function_scoped_fixture])
@pytest.mark.timeout(180)
def test_launching_answers_per_the_schema(body: Any, fuzz_env: FuzzEnv) -> None:
    case = schema["/campaigns"]["POST"].Case(body=body, media_type="application/json")
    response = case.call_and_validate(app=fuzz_env.app, base_url="http://testserver")
    fuzz_env.statuses[("POST /campaigns (near-valid)", response.status_code)] += 1
    assert response.status_code in (202, 400, 422, 429), response.text
    if response.status_code == 202:
        # The launched campaign is tiny; wait for it so the next example is not refused with 429.
        campaign_id = response.json()["id"]
        assert fuzz_env.app.state.manager.wait(campaign_id, timeout=60)
        status = fuzz_env.store.get_campaign(campaign_id)["status"]
        assert status in ("finished", "failed"), status


# ----- what the guard answers before any route -----------------------------------------------
def test_the_guards_answers_are_documented(fuzz_env: FuzzEnv) -> None:
    """With a token, every operation documents 401 and answers it per its schema; 413 likewise."""
    app = create_app(fuzz_env.store, token="s3cret", limits=ServiceLimits(max_body_bytes=2_000))
    document = app.openapi()
    assert document["components"]["securitySchemes"] == {"bearer": {"type": "http", "scheme": "bearer"}}
    guarded = schemathesis.openapi.from_dict(document, config=CONFIG)
    ids = {"campaign": fuzz_env.campaign_id, "candidate_id": fuzz_env.candidate_ids[0]}
    for result in guarded.get_all_operations():
        operation = result.ok()
        parameters = {p: ids[p] for p in ids if "{" + p + "}" in operation.path}
        case = operation.Case(path_parameters=parameters)
        response = case.call_and_validate(app=app, base_url="http://testserver", headers={"Authorization": "Bearer no"})
        assert response.status_code == 401, (operation.label, response.text)
    big = _tiny(name="x" * 3_000)
    response = guarded["/campaigns"]["POST"].Case(body=big, media_type="application/json").call_and_validate(
        app=app, base_url="http://testserver", headers={"Authorization": "Bearer s3cret"})
    assert response.status_code == 413
