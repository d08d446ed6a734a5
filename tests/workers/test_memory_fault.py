"""A worker that runs out of memory: the candidate becomes ``failed`` (with the reason), the
others train as if nothing happened, and the campaign carries on.

The fault is real: the training runs in a child process whose address space is capped with
``setrlimit(RLIMIT_AS)`` a little above what it uses once warmed up, and one candidate is a
genome whose stacked weight matrices need far more than that cap, so numpy's or torch's
allocator really fails (``MemoryError`` / ``RuntimeError: DefaultCPUAllocator: can't allocate
memory``). The small candidates' results are checked against an unconstrained run, bit for bit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support import ROOT, small_spec

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="caps the address space with RLIMIT_AS, reads /proc")

EPOCHS = 3
BIG_WIDTH = 2500        # two hidden layers of 2500 neurons: dense 2500 x 2500 blocks, ~300 MB to train
MARGIN_MB = 120         # address space left to the child above what it uses once warmed up
BUCKET_WIDTH = 1000     # 4 MB blocks: one candidate trains within MARGIN, a stack of twelve cannot
BUCKET_SIZE = 12
BUCKET_MARGIN_MB = 300


# ----- genomes -------------------------------------------------------------------------------
def wide_genome(n_in: int, n_out: int, width: int):
    """inputs -> ``width`` relu neurons -> ``width`` tanh neurons -> outputs, one chain per
    neuron pair: few connections (3 x width), but two stacked layers of ``width`` neurons, so
    the trainers' dense blocks hold width x width weights (plus masks, gradients, Adam state)."""
    from connevo.search_space.genome import ConnectionGene, Genome, NodeGene

    first, second = n_in + n_out, n_in + n_out + width
    nodes = [NodeGene(i, "input") for i in range(n_in)] + [NodeGene(n_in + o, "output") for o in range(n_out)]
    nodes += [NodeGene(first + j, "hidden", "relu") for j in range(width)]
    nodes += [NodeGene(second + j, "hidden", "tanh") for j in range(width)]
    connections = []
    for j in range(width):
        for source, target in ((j % n_in, first + j), (first + j, second + j), (second + j, n_in + j % n_out)):
            connections.append(ConnectionGene(len(connections), source, target))
    return Genome(tuple(nodes), tuple(connections)).validate()


def small_genomes(dataset, n: int = 3):
    import numpy as np

    from connevo.search_space import InnovationTracker, minimal_genome
    from connevo.search_space.mutations import MUTATIONS
    from connevo.search_space.operators import Limits

    rng, tracker = np.random.default_rng(5), InnovationTracker()
    limits = Limits(max_hidden_nodes=4)
    out = []
    for i in range(n):
        genome = minimal_genome(dataset.n_features, dataset.n_classes, rng, tracker, 1.0)
        for _ in range(i):  # different shapes, so they train in different buckets
            genome = MUTATIONS["add_node"](genome, rng, tracker, limits)
        out.append(genome)
    return out


def xor():
    from connevo.workers import load_dataset

    return load_dataset("xor", seed=0, samples=200)


def outcome(evaluation) -> dict:
    return {"id": evaluation.candidate_id, "status": evaluation.status.value, "error": evaluation.error,
            "val_accuracy": evaluation.val_accuracy, "train_loss": evaluation.train_loss,
            "test_loss": evaluation.test_loss, "epochs": evaluation.epochs}


# ----- the child process -----------------------------------------------------------------------
def cap_address_space(margin_mb: int) -> int:
    """Cap this process's address space at its current size + ``margin_mb``; the cap in bytes."""
    import resource

    with open("/proc/self/status") as fh:
        size = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmSize:"))
    cap = size + margin_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (cap, resource.getrlimit(resource.RLIMIT_AS)[1]))
    return cap


def child_main(kind: str, args: dict) -> None:
    """What the capped child runs; prints ``RESULT <json>`` last."""
    from connevo.workers import EvaluationRequest, TrainingSettings

    result: dict = {}
    if kind == "evaluator":
        from connevo.workers.evaluator import LocalEvaluator

        dataset = xor()
        small = small_genomes(dataset)
        big = wide_genome(dataset.n_features, dataset.n_classes, BIG_WIDTH)
        requests = [EvaluationRequest("s0", small[0], 10), EvaluationRequest("big", big, 11),
                    EvaluationRequest("s1", small[1], 12), EvaluationRequest("s2", small[2], 13)]
        for batched in (True, False):
            settings = TrainingSettings(epochs=EPOCHS, batch_size=64, device="cpu", batched=batched)
            LocalEvaluator(dataset, settings).evaluate(requests[:1])  # warm up before the cap
        cap_address_space(MARGIN_MB)
        for batched in (True, False):
            settings = TrainingSettings(epochs=EPOCHS, batch_size=64, device="cpu", batched=batched)
            result[str(batched)] = [outcome(e) for e in LocalEvaluator(dataset, settings).evaluate(requests)]
    elif kind == "bucket":
        import torch

        from connevo.workers.batched import DataTensors, train_batched

        dataset = xor()
        genome = wide_genome(dataset.n_features, dataset.n_classes, BUCKET_WIDTH)
        from connevo.search_space.cost import measure

        costs = measure(genome).as_dict()
        requests = [EvaluationRequest(f"m{i}", genome, 100 + i, costs) for i in range(BUCKET_SIZE)]
        settings = TrainingSettings(epochs=1, batch_size=64, device="cpu")
        data, cpu = DataTensors(dataset, torch.device("cpu")), torch.device("cpu")
        train_batched(requests[:1], data, settings, cpu)  # warm up before the cap
        cap_address_space(BUCKET_MARGIN_MB)
        done = train_batched(requests, data, settings, cpu)
        result = {"evaluations": [outcome(e) for e in done.evaluations], "buckets": done.stats.bucket_sizes}
    elif kind == "campaign":
        import dataclasses

        from connevo.evolution import Campaign, parse_spec
        from connevo.results.store import open_store

        class PlantedCampaign(Campaign):
            """A real campaign whose initial population holds one genome too big for the memory."""

            def _initial_population(self):
                population = super()._initial_population()
                big = wide_genome(self.dataset.n_features, self.dataset.n_classes, BIG_WIDTH)
                population[2] = dataclasses.replace(population[2], genome=big)
                return population

        spec = parse_spec(small_spec(**{"training.epochs": EPOCHS}))
        warm = Campaign(parse_spec(small_spec(**{"evolution.population": 2, "evolution.generations": 1,
                                                  "training.epochs": 1})), open_store("sqlite://"))
        warm.run()  # every code path of a campaign imported and warmed up before the cap
        store = open_store(args["store"])
        campaign = PlantedCampaign(spec, store)
        campaign.create()
        cap_address_space(MARGIN_MB)
        campaign.run()
        result = {"campaign": campaign.id, "big": campaign.candidate_id(2)}
    print("RESULT " + json.dumps(result), flush=True)


def run_child(kind: str, timeout: float = 120, **args) -> dict:
    code = ("import json, sys; from tests.workers.test_memory_fault import child_main; "
            "child_main(sys.argv[1], json.loads(sys.argv[2]))")
    done = subprocess.run([sys.executable, "-c", code, kind, json.dumps(args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "RAY_DISABLE_USAGE_STATS": "1"})
    assert done.returncode == 0, done.stderr[-4000:]
    [line] = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    return json.loads(line[len("RESULT "):])


def reference(requests, batched: bool = True, epochs: int = EPOCHS) -> dict[str, dict]:
    """The same candidates trained here, without any memory cap."""
    from connevo.workers import TrainingSettings
    from connevo.workers.evaluator import LocalEvaluator

    settings = TrainingSettings(epochs=epochs, batch_size=64, device="cpu", batched=batched)
    return {e.candidate_id: outcome(e) for e in LocalEvaluator(xor(), settings).evaluate(requests)}


def is_out_of_memory(error: str | None) -> bool:
    text = (error or "").lower()
    return "memory" in text and ("can't allocate" in text or "unable to allocate" in text or "memoryerror" in text)


# ----- tests -----------------------------------------------------------------------------------
@pytest.mark.slow
def test_an_out_of_memory_candidate_fails_and_the_others_train_unharmed():
    from connevo.workers import EvaluationRequest

    result = run_child("evaluator")
    dataset = xor()
    small = small_genomes(dataset)
    requests = [EvaluationRequest(f"s{i}", g, seed) for i, (g, seed) in enumerate(zip(small, (10, 12, 13)))]
    for batched in (True, False):
        got = {row["id"]: row for row in result[str(batched)]}
        assert [row["id"] for row in result[str(batched)]] == ["s0", "big", "s1", "s2"]  # request order
        big = got.pop("big")
        assert big["status"] == "failed", big
        assert is_out_of_memory(big["error"]), big["error"]
        assert big["val_accuracy"] is None and big["epochs"] == 0
        # the small candidates, trained in the same capped process after (and before) the big
        # one ran out of memory, train and score exactly as without any cap: nothing was lost
        assert all(row["status"] == "ok" and row["epochs"] == EPOCHS for row in got.values()), got
        assert got == reference(requests, batched), batched


@pytest.mark.slow
def test_a_bucket_that_runs_out_of_memory_is_retried_one_candidate_at_a_time():
    from connevo.search_space.cost import measure
    from connevo.workers import EvaluationRequest

    result = run_child("bucket")
    genome = wide_genome(2, 2, BUCKET_WIDTH)
    costs = measure(genome).as_dict()
    requests = [EvaluationRequest(f"m{i}", genome, 100 + i, costs) for i in range(BUCKET_SIZE)]
    assert result["buckets"] == [1] * BUCKET_SIZE  # the stack of twelve ran out of memory, then one by one
    got = {row["id"]: row for row in result["evaluations"]}
    assert all(row["status"] == "ok" for row in got.values()), got
    # as trained in one stack without a cap, within float rounding (a stack of one rounds apart)
    expected = reference(requests, epochs=1)
    approx = ("val_accuracy", "train_loss", "test_loss")
    for name, row in got.items():
        exact = [k for k in row if k not in approx]
        assert {k: row[k] for k in exact} == {k: expected[name][k] for k in exact}
        assert [row[k] for k in approx] == pytest.approx([expected[name][k] for k in approx], rel=1e-5)


@pytest.fixture(scope="module")
def planted_campaign(tmp_path_factory):
    store = tmp_path_factory.mktemp("oom") / "oom.db"
    result = run_child("campaign", store=str(store))
    return {**result, "store": store}


def cli_result(done) -> tuple[int, str, str]:
    """A ``cli`` fixture result as (exit status, stdout, stderr)."""
    return done.returncode, done.stdout, done.stderr


@pytest.mark.slow
def test_a_campaign_goes_on_past_a_candidate_out_of_memory_and_shows_it(planted_campaign, cli):
    from connevo.results.store import open_store

    cid, big_id, path = planted_campaign["campaign"], planted_campaign["big"], planted_campaign["store"]
    with open_store(path) as store:
        info = store.get_campaign(cid)
        assert info["status"] == "finished" and info["error"] is None
        assert info["generations_done"] == 3 and info["candidates"] == 18
        candidates = store.candidates(cid).set_index("id")
    big = candidates.loc[big_id]
    assert big["status"] == "failed" and is_out_of_memory(big["error"]), big["error"]
    assert int(big["connections"]) == 3 * BIG_WIDTH  # its costs were measured and stored
    others = candidates.drop(index=big_id)
    assert (others["status"] == "ok").all(), others[["status", "error"]]
    assert others["val_accuracy"].notna().all()

    code, out, err = cli_result(cli("show", big_id, "--format", "json", store=path))
    assert code == 0, err
    row = json.loads(out)
    assert row["status"] == "failed" and is_out_of_memory(row["error"])
    code, out, err = cli_result(cli("show", big_id, store=path))
    assert code == 0, err
    assert "failed" in out and "allocate" in out

    code, out, err = cli_result(cli("front", cid, "--include-failed", "--format", "json", store=path))
    assert code == 0, err
    assert json.loads(out)


@pytest.mark.slow
def test_front_include_failed_lists_the_candidate_that_ran_out_of_memory(planted_campaign, cli):
    code, out, err = cli_result(cli("front", planted_campaign["campaign"], "--include-failed", "--format", "json",
                                    store=planted_campaign["store"]))
    assert code == 0, err
    assert planted_campaign["big"] in [m["candidate_id"] for m in json.loads(out)]
