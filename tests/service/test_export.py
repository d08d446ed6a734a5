"""An exported network runs without connevo (plain torch, or onnxruntime) on raw data and
reproduces the stored test accuracy, whatever the batch size; `connevo.load_model` gives the same
network in process."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

import connevo
from connevo.errors import ConnevoError
from tests.support import connevo as connevo_cli
from tests.support import small_spec

LOADERS = {
    "pt2": "m = torch.export.load(sys.argv[1]).module()\npredict = lambda x: m(torch.tensor(x)).argmax(1).tolist()\n",
    "torchscript": "m = torch.jit.load(sys.argv[1])\npredict = lambda x: m(torch.tensor(x)).argmax(1).tolist()\n",
    "onnx": ("import onnxruntime\ns = onnxruntime.InferenceSession(sys.argv[1], providers=['CPUExecutionProvider'])\n"
             "assert [i.name for i in s.get_inputs()] == ['features'] and s.get_inputs()[0].shape[0] == 'batch'\n"
             "predict = lambda x: s.run(['logits'], {'features': x})[0].argmax(1).tolist()\n"),
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished campaign on a CSV with the target in the middle and string classes; its most
    accurate front network, and the test split as raw rows (as connevo splits it)."""
    tmp = tmp_path_factory.mktemp("export")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3)) * [10.0, 0.1, 3.0] + [100.0, -5.0, 0.0]
    label = np.where(x[:, 0] - 100 + 30 * (x[:, 1] + 5) > 0, "yes", "no")
    pd.DataFrame({"a": x[:, 0], "klass": label, "b": x[:, 1], "c": x[:, 2]}).to_csv(tmp / "data.csv", index=False)
    spec = small_spec(**{"task.dataset": "data.csv", "task.target": "klass", "evolution.generations": 0,
                         "training.epochs": 30, "search_space.initial_density": [1.0, 1.0]})
    (tmp / "spec.json").write_text(json.dumps(spec))
    store = tmp / "s.db"
    result = connevo.run(connevo.load_spec(tmp / "spec.json"), str(store))  # in process: the export is the subject
    front = result.front().to_dict("records")
    best = max(front, key=lambda m: m["val_accuracy"])
    from connevo.evolution.task import load_task

    data = load_task(connevo.load_spec(tmp / "spec.json"))  # the campaign's own split
    raw_test = (data.x_test.astype(np.float64) * data.std + data.mean).astype(np.float32)
    np.save(tmp / "raw.npy", raw_test)
    return {"tmp": tmp, "store": store, "best": best, "data": data}


def predictions_without_connevo(models: dict, rows_path) -> dict[str, list[int]]:
    """Predictions of exported files (name -> (format, path)) in one Python without connevo on
    its path (-I): plain torch or onnxruntime only; the rows are fed as one batch and again one
    row at a time."""
    script = "import sys, json, numpy as np, torch\nx = np.load(sys.argv[1])\nout = {}\n"
    for name, (fmt, path) in models.items():
        script += (f"path = {str(path)!r}\n" + LOADERS[fmt].replace("sys.argv[1]", "path")
                   + "whole = predict(x)\nassert whole == [predict(x[i:i + 1])[0] for i in range(len(x))]\n"
                   + f"out[{name!r}] = whole\n")
    script += "print(json.dumps(out))\n"
    out = subprocess.run([sys.executable, "-I", "-c", script, str(rows_path)], capture_output=True, text=True,
                         timeout=180)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_exported_networks_reproduce_the_test_accuracy_on_raw_data_without_connevo(trained):
    from connevo.evolution.export import export_candidate
    from connevo.results.store import open_store

    tmp, best = trained["tmp"], trained["best"]
    done = connevo_cli("export", best["candidate_id"], "-o", str(tmp / "model.onnx"), store=trained["store"])
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "onnx: 3 features in, 2 class logits out"  # no exporter chatter
    models = {"model.onnx": ("onnx", tmp / "model.onnx")}
    with open_store(trained["store"]) as store:
        for name, fmt in (("model.pt2", None), ("model.bin", "onnx"), ("model.pt", "torchscript")):
            info = export_candidate(store, best["candidate_id"], tmp / name, fmt)
            models[name] = (info["format"], tmp / name)
    assert [f for f, _ in models.values()] == ["onnx", "pt2", "onnx", "torchscript"]
    for _, path in models.values():
        names = json.loads(path.with_suffix(".classes.json").read_text())
        assert names == {"classes": ["no", "yes"], "features": ["a", "b", "c"]}
    for name, predicted in predictions_without_connevo(models, tmp / "raw.npy").items():
        assert float((np.array(predicted) == trained["data"].y_test).mean()) == best["test_accuracy"], name


def test_load_model_gives_the_network_in_process(trained):
    model = connevo.load_model(trained["best"]["candidate_id"], store=str(trained["store"]))
    assert not model.training and not any(p.requires_grad for p in model.parameters())
    assert model.classes == ["no", "yes"] and model.features == ["a", "b", "c"]
    rows = torch.as_tensor(np.load(trained["tmp"] / "raw.npy"))
    predicted = model(rows).argmax(dim=1).numpy()
    assert float((predicted == trained["data"].y_test).mean()) == trained["best"]["test_accuracy"]


def test_a_missing_value_counts_as_the_training_mean_in_every_export(trained):
    """A NaN in a raw row is read as the training mean of its column, as connevo trained it."""
    from connevo.evolution.export import export_candidate
    from connevo.results.store import open_store

    tmp, cid = trained["tmp"], trained["best"]["candidate_id"]
    model = connevo.load_model(cid, store=str(trained["store"]))
    rows = np.load(tmp / "raw.npy")
    with_nan, with_mean = rows.copy(), rows.copy()
    with_nan[::2, 0], with_mean[::2, 0] = np.nan, float(model.mean[0])  # the campaign's training mean
    np.save(tmp / "both.npy", np.concatenate([with_nan, with_mean]))
    assert torch.allclose(model(torch.as_tensor(with_nan)), model(torch.as_tensor(with_mean)))
    with open_store(trained["store"]) as store:
        for name in ("nan.onnx", "nan.pt2"):
            export_candidate(store, cid, tmp / name)
    models = {"onnx": ("onnx", tmp / "nan.onnx"), "pt2": ("pt2", tmp / "nan.pt2")}
    n = len(rows)
    for name, predicted in predictions_without_connevo(models, tmp / "both.npy").items():
        assert predicted[:n] == predicted[n:], name


def test_onnx_without_its_packages_names_the_extra(trained, monkeypatch):
    from connevo.evolution.export import export_candidate
    from connevo.results.store import open_store

    monkeypatch.setitem(sys.modules, "onnxscript", None)  # as if not installed
    with open_store(trained["store"]) as store, pytest.raises(ConnevoError, match=r"pip install 'connevo\[onnx\]'"):
        export_candidate(store, trained["best"]["candidate_id"], trained["tmp"] / "x.onnx")
    assert not (trained["tmp"] / "x.onnx").exists()


def test_state_dict_export_writes_weights_and_topology_and_bad_paths_are_refused(trained):
    from connevo.evolution.export import export_candidate
    from connevo.results.store import open_store

    tmp, cid = trained["tmp"], trained["best"]["candidate_id"]
    done = connevo_cli("export", cid, "-o", str(tmp / "w.pt"), "--format", "state-dict", store=trained["store"])
    assert done.returncode == 0, done.stderr
    saved = torch.load(tmp / "w.pt")
    assert "state_dict" in saved and saved["class_names"] == ["no", "yes"]
    assert json.loads((tmp / "w.genome.json").read_text())["format"] == "connevo.genome"
    with open_store(trained["store"]) as store:
        with pytest.raises(ConnevoError, match="does not exist"):
            export_candidate(store, cid, tmp / "nope" / "m.pt2")
        with pytest.raises(ConnevoError, match="a pt2 export is a file ending in .pt2"):
            export_candidate(store, cid, tmp / "m.pt")
    assert not (tmp / "m.pt").exists()


def test_an_int8_candidate_exports_as_int8_with_the_predictions_connevo_scored(trained):
    from connevo.evolution.export import export_candidate
    from connevo.results.store import open_store

    tmp = trained["tmp"]
    with open_store(trained["store"]) as store:
        row = connevo.compress(store, trained["best"]["candidate_id"], quantize="int8")
        for name in ("int8.onnx", "int8.pt2"):
            export_candidate(store, row["id"], tmp / name)
    models = {"onnx": ("onnx", tmp / "int8.onnx"), "pt2": ("pt2", tmp / "int8.pt2")}
    for name, predicted in predictions_without_connevo(models, tmp / "raw.npy").items():
        assert float((np.array(predicted) == trained["data"].y_test).mean()) == row["test_accuracy"], name
    import onnx

    weights = [t for t in onnx.load(str(tmp / "int8.onnx")).graph.initializer if "qweight" in t.name]
    assert weights and all(t.data_type == onnx.TensorProto.INT8 for t in weights)


def test_onnx_is_traced_and_goes_through_torch_export_where_tracing_is_gone(trained, monkeypatch):
    """The TorchScript-based exporter writes the file (the torch.export-based one takes about a
    second a network); where this torch lacks it or it fails, the torch.export-based one writes a
    file that predicts the same, float and int8 alike."""
    from connevo.evolution import onnx_export
    from connevo.evolution.export import export_candidate
    from connevo.results.store import open_store

    tmp, cid = trained["tmp"], trained["best"]["candidate_id"]
    used: list[str] = []
    traced, dynamo = onnx_export.traced_export, onnx_export.dynamo_export
    monkeypatch.setattr(onnx_export, "traced_export", lambda *a: (used.append("traced"), traced(*a)))
    monkeypatch.setattr(onnx_export, "dynamo_export", lambda *a: (used.append("dynamo"), dynamo(*a)))
    with open_store(trained["store"]) as store:
        int8 = connevo.compress(store, cid, quantize="int8")
        export_candidate(store, cid, tmp / "traced.onnx")
        assert used == ["traced"]

        def gone(*_args):
            used.append("traced")
            raise TypeError("export() got an unexpected keyword argument 'dynamo'")

        monkeypatch.setattr(onnx_export, "traced_export", gone)
        export_candidate(store, cid, tmp / "dynamo.onnx")
        export_candidate(store, int8["id"], tmp / "dynamo-int8.onnx")
    assert used == ["traced", "traced", "dynamo", "traced", "dynamo"]
    models = {name: ("onnx", tmp / f"{name}.onnx") for name in ("traced", "dynamo", "dynamo-int8")}
    predicted = predictions_without_connevo(models, tmp / "raw.npy")
    assert predicted["traced"] == predicted["dynamo"]
    assert float((np.array(predicted["dynamo-int8"]) == trained["data"].y_test).mean()) == int8["test_accuracy"]


def test_a_whole_front_exports_into_one_folder_each_network_with_its_test_accuracy(trained):
    """`connevo export --front`: every network `connevo front` lists, in its order, one file each,
    and front.csv naming them; each file alone reproduces its row's test accuracy."""
    tmp, store = trained["tmp"], trained["store"]
    listed = json.loads(connevo_cli("front", "tiny-xor", "--format", "json", store=store).stdout)
    done = connevo_cli("export", "tiny-xor", "--front", "-o", str(tmp / "front"), "--format", "onnx", store=store)
    assert done.returncode == 0, done.stderr
    manifest = pd.read_csv(tmp / "front" / "front.csv")
    assert list(manifest["candidate_id"]) == [m["candidate_id"] for m in listed]
    assert list(manifest["file"]) == [f"{m['candidate_id']}.onnx" for m in listed]
    assert list(manifest["connections"]) == [m["connections"] for m in listed]
    assert done.stdout.split() == [str(tmp / "front" / "front.csv"), *(
        str(tmp / "front" / f"{m['candidate_id']}{suffix}") for m in listed for suffix in (".onnx", ".classes.json"))]
    assert f"onnx: {len(listed)} front networks of campaign" in done.stderr
    models = {row["file"]: ("onnx", tmp / "front" / row["file"]) for _, row in manifest.iterrows()}
    predicted = predictions_without_connevo(models, tmp / "raw.npy")
    for _, row in manifest.iterrows():
        assert float((np.array(predicted[row["file"]]) == trained["data"].y_test).mean()) == row["test_accuracy"]


def test_a_front_export_within_a_connection_budget_and_its_bad_inputs(trained):
    from connevo.evolution.front_export import export_front
    from connevo.results.store import open_store

    tmp, store = trained["tmp"], trained["store"]
    with open_store(store) as opened:
        everything = export_front(opened, "tiny-xor", tmp / "all")
        budget = int(pd.read_csv(tmp / "all" / "front.csv")["connections"].median())
        cheap = export_front(opened, "tiny-xor", tmp / "cheap", max_connections=budget)
        kept = pd.read_csv(tmp / "cheap" / "front.csv")
        assert 0 < cheap["networks"] < everything["networks"] or budget == kept["connections"].max()
        assert (kept["connections"] <= budget).all() and kept["file"].str.endswith(".pt2").all()
        # a budget of zero: the network without connections, whose outputs are its biases alone
        assert export_front(opened, "tiny-xor", tmp / "zero", max_connections=0)["networks"] == 1
        zero = pd.read_csv(tmp / "zero" / "front.csv")
        assert list(zero["connections"]) == [0]
        constant = torch.export.load(str(tmp / "zero" / zero["file"].iloc[0])).module()
        scores = constant(torch.randn(7, 3) * 100)
        assert scores.shape[0] == 7 and bool((scores == scores[0]).all())
        (tmp / "a-file").write_text("")
        with pytest.raises(ConnevoError, match="is a file; --front writes a folder"):
            export_front(opened, "tiny-xor", tmp / "a-file")
        with pytest.raises(ConnevoError, match="parent .* does not exist"):
            export_front(opened, "tiny-xor", tmp / "nope" / "front")
        with pytest.raises(connevo.NotFoundError, match="no campaign with id or name 'absent'"):
            export_front(opened, "absent", tmp / "absent")
    refused = connevo_cli("export", trained["best"]["candidate_id"], "-o", str(tmp / "m.pt2"),
                          "--max-connections", "5", store=store)
    assert refused.returncode == 2 and "give it with --front" in refused.stderr
