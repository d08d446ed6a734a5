"""The extension-point examples of docs/architecture.md run as they are written."""

import subprocess
import sys

from tests.support import ROOT

RUNNER = r'''
import json, os, sys
blocks = [b.split("```")[0] for b in open(sys.argv[1]).read().split("```python\n")[1:]]
mutation, metric, evaluator, observer, queries_block = blocks
exec(mutation)  # registers the operator before evolution (and its spec model) is imported
exec(metric)  # and the objective
os.chdir(sys.argv[2])
scope = {}
exec(evaluator, scope)
exec(observer.split("connevo.run(")[0], scope)
from connevo.evolution.campaign import Campaign, load_task, training_settings
from connevo.evolution.spec import parse_spec
from connevo.results.store import open_store
from tests.support import small_spec
spec = parse_spec(small_spec(**{"evolution.mutation": {"drop_one_output_connection": 1.0},
                                "objectives.minimize": ["connections", "inputs_used"],
                                "training.polish_epochs": None}))
dataset = load_task(spec)
store = open_store("runs.db")
Campaign(spec, store, evaluator=scope["ThreadEvaluator"](dataset, training_settings(spec, dataset)),
         observers=[scope["JsonLines"]("gens.jsonl")]).run()
exec(queries_block.replace('"postgresql+psycopg://me@db/connevo"', '"runs.db"').replace('"digits-quickstart"', '"tiny-xor"'), scope)
rows = store.candidates(store.list_campaigns()["id"].iloc[0])
assert all("inputs_used" in e for e in rows["extra"]), "the computed objective is stored with every candidate"
print(json.dumps({"lines": open("gens.jsonl").read().count("\n"), "front": scope["front"]["candidate_id"].tolist(),
                  "before_polish": scope["before_polish"]["candidate_id"].tolist(), "history": len(scope["history"])}))
'''


def test_the_mutation_metric_evaluator_observer_and_query_examples_run(tmp_path):
    done = subprocess.run([sys.executable, "-c", RUNNER, str(ROOT / "docs" / "architecture.md"), str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=240,
                          env={"PYTHONPATH": str(ROOT), "RAY_DISABLE_USAGE_STATS": "1", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    import json

    seen = json.loads(done.stdout.splitlines()[-1])
    assert seen["lines"] == 3 and seen["history"] == 3  # the observer wrote a line per generation
    assert any("-p" in c for c in seen["front"])  # polished copies compete on the front
    assert seen["before_polish"] and not any("-p" in c for c in seen["before_polish"])
