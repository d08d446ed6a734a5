"""An exported network runs with plain torch (no connevo) on raw data and reproduces the stored
test accuracy."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import torch

from tests.support import connevo, small_spec


def test_exported_torchscript_reproduces_the_test_accuracy_on_raw_data(tmp_path):
    # a CSV with the target in the middle and string classes
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3)) * [10.0, 0.1, 3.0] + [100.0, -5.0, 0.0]
    label = np.where(x[:, 0] - 100 + 30 * (x[:, 1] + 5) > 0, "yes", "no")
    frame = pd.DataFrame({"a": x[:, 0], "klass": label, "b": x[:, 1], "c": x[:, 2]})
    frame.to_csv(tmp_path / "data.csv", index=False)
    spec = small_spec(**{"task.dataset": "data.csv", "task.target": "klass", "evolution.generations": 0,
                         "training.epochs": 30, "search_space.initial_density": [1.0, 1.0]})
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    store = tmp_path / "s.db"
    run = connevo("run", str(tmp_path / "spec.json"), "--backend", "local", store=store)
    assert run.returncode == 0, run.stderr
    front = json.loads(connevo("front", run.stdout.split()[1], "--format", "json", store=store).stdout)
    best = max(front, key=lambda m: m["val_accuracy"])

    done = connevo("export", best["candidate_id"], "-o", str(tmp_path / "model.pt"), store=store)
    assert done.returncode == 0, done.stderr
    classes = json.loads((tmp_path / "model.classes.json").read_text())
    assert classes["classes"] == ["no", "yes"] and classes["features"] == ["a", "b", "c"]

    # the test split, as raw rows, recomputed the way connevo splits (same seed and fractions)
    from workers.tasks import load_dataset

    data = load_dataset(str(tmp_path / "data.csv"), target="klass", seed=spec["seed"])
    raw_test = data.x_test.astype(np.float64) * data.std + data.mean
    # load in a Python without connevo on its path: plain torch only
    script = (
        "import sys, json, torch, numpy as np\n"
        "m = torch.jit.load(sys.argv[1])\n"
        "x = torch.tensor(np.load(sys.argv[2]), dtype=torch.float32)\n"
        "print(json.dumps(m(x).argmax(1).tolist()))\n"
    )
    np.save(tmp_path / "raw.npy", raw_test)
    out = subprocess.run([sys.executable, "-I", "-c", script, str(tmp_path / "model.pt"), str(tmp_path / "raw.npy")],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    predictions = np.array(json.loads(out.stdout))
    accuracy = float((predictions == data.y_test).mean())
    assert accuracy == best["test_accuracy"]


def test_state_dict_export_writes_weights_and_topology(tmp_path):
    spec = small_spec(**{"evolution.generations": 0})
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    store = tmp_path / "s.db"
    run = connevo("run", str(tmp_path / "spec.json"), "--backend", "local", store=store)
    cid = run.stdout.split()[1]
    done = connevo("export", f"{cid}-0", "-o", str(tmp_path / "w.pt"), "--format", "state-dict", store=store)
    assert done.returncode == 0, done.stderr
    saved = torch.load(tmp_path / "w.pt")
    assert "state_dict" in saved and saved["class_names"] == ["0", "1"]
    assert json.loads((tmp_path / "w.genome.json").read_text())["format"] == "connevo.genome"
    missing = connevo("export", f"{cid}-0", "-o", str(tmp_path / "nope" / "m.pt"), store=store)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
