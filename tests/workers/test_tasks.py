"""Specifications of workers.tasks: built-in and file data sets, split and standardization."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import datasets as sk_datasets

from connevo.errors import DataError
from connevo.workers.tasks import BUILTIN_DATASETS, Dataset, builtin_kind, is_builtin, load_dataset

EXPECTED_SHAPES = {
    "xor": (2, 2),
    "parity": (6, 2),
    "moons": (2, 2),
    "circles": (2, 2),
    "spirals": (2, 2),
    "digits": (64, 10),
    "iris": (4, 3),
    "wine": (13, 3),
    "breast_cancer": (30, 2),
}
SKLEARN_LOADERS = {
    "digits": sk_datasets.load_digits,
    "iris": sk_datasets.load_iris,
    "wine": sk_datasets.load_wine,
    "breast_cancer": sk_datasets.load_breast_cancer,
}


def _raw(ds: Dataset, part: str) -> np.ndarray:
    """Undo the standardization of one part (float64)."""
    x = getattr(ds, f"x_{part}").astype(np.float64)
    return x * ds.std.astype(np.float64) + ds.mean.astype(np.float64)


def _parts(ds: Dataset) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(ds.x_train, ds.y_train), (ds.x_val, ds.y_val), (ds.x_test, ds.y_test)]


# ---------------------------------------------------------------------------------------------
# Built-in data sets


def test_builtin_names_are_the_contract_list() -> None:
    assert BUILTIN_DATASETS == (*EXPECTED_SHAPES, "retina", "diabetes")
    assert all(is_builtin(n) for n in BUILTIN_DATASETS)
    assert not is_builtin("retina.csv")
    assert not is_builtin("XOR")


@pytest.mark.parametrize("name", [n for n in BUILTIN_DATASETS if n != "retina" and builtin_kind(n) == "classification"])
def test_every_builtin_loads_with_right_shapes_dtypes_and_split_fractions(name: str) -> None:
    ds = load_dataset(name)
    n_features, n_classes = EXPECTED_SHAPES[name]
    assert ds.name == name
    assert (ds.n_features, ds.n_classes) == (n_features, n_classes)
    assert len(ds.feature_names) == n_features
    assert ds.class_names == tuple(str(i) for i in range(n_classes))
    assert ds.mean.shape == ds.std.shape == (n_features,)
    assert ds.mean.dtype == ds.std.dtype == np.float32
    for x, y in _parts(ds):
        assert x.dtype == np.float32 and y.dtype == np.int64
        assert x.ndim == 2 and x.shape[1] == n_features and y.shape == (x.shape[0],)
        assert np.isfinite(x).all()
        assert set(np.unique(y)) == set(range(n_classes))  # every class in every part
    summary = ds.summary()
    total = summary["n_train"] + summary["n_val"] + summary["n_test"]
    assert summary == {
        "name": name,
        "n_features": n_features,
        "n_classes": n_classes,
        "n_train": ds.x_train.shape[0],
        "n_val": ds.x_val.shape[0],
        "n_test": ds.x_test.shape[0],
    }
    assert abs(summary["n_test"] - 0.2 * total) <= 1
    assert abs(summary["n_val"] - 0.2 * total) <= 1


def test_sklearn_builtins_keep_sklearn_rows_and_feature_names() -> None:
    for name, loader in SKLEARN_LOADERS.items():
        bunch = loader()
        ds = load_dataset(name)
        assert ds.feature_names == tuple(str(f) for f in bunch.feature_names)
        assert all(type(f) is str for f in ds.feature_names)
        assert sum(x.shape[0] for x, _ in _parts(ds)) == bunch.data.shape[0]
        # class counts survive the split unchanged
        y_all = np.concatenate([y for _, y in _parts(ds)])
        np.testing.assert_array_equal(np.bincount(y_all), np.bincount(bunch.target))


def test_generated_sets_honour_samples_noise_and_bits() -> None:
    ds = load_dataset("parity", bits=4, samples=200)
    assert ds.n_features == 4 and ds.feature_names == ("x0", "x1", "x2", "x3")
    assert sum(ds.summary()[k] for k in ("n_train", "n_val", "n_test")) == 200
    for name in ("xor", "moons", "circles", "spirals"):
        ds = load_dataset(name, samples=100, noise=0.0)
        assert sum(x.shape[0] for x, _ in _parts(ds)) == 100
        assert ds.feature_names == ("x0", "x1")


def test_parity_label_is_the_parity_of_the_plus_one_count() -> None:
    ds = load_dataset("parity", bits=5, samples=300, seed=3)
    for part in ("train", "val", "test"):
        bits = np.rint(_raw(ds, part))
        assert set(np.unique(bits)) <= {-1.0, 1.0}
        np.testing.assert_array_equal((bits > 0).sum(axis=1) % 2, getattr(ds, f"y_{part}"))


def test_noiseless_xor_label_is_the_sign_of_the_product() -> None:
    ds = load_dataset("xor", noise=0.0, samples=300)
    for part in ("train", "val", "test"):
        raw = _raw(ds, part)
        assert np.abs(raw).max() <= 1.0 + 1e-5
        np.testing.assert_array_equal((raw[:, 0] * raw[:, 1] > 0).astype(np.int64), getattr(ds, f"y_{part}"))


def test_noiseless_circles_use_factor_one_half() -> None:
    ds = load_dataset("circles", noise=0.0, samples=200)
    radius = np.linalg.norm(_raw(ds, "train"), axis=1)
    inner = radius[ds.y_train == 1]
    outer = radius[ds.y_train == 0]
    np.testing.assert_allclose(inner, 0.5, atol=1e-5)
    np.testing.assert_allclose(outer, 1.0, atol=1e-5)


def test_generated_data_depends_on_seed_only() -> None:
    a = load_dataset("spirals", seed=7)
    b = load_dataset("spirals", seed=7)
    c = load_dataset("spirals", seed=8)
    np.testing.assert_array_equal(_raw(a, "train"), _raw(b, "train"))
    assert not np.array_equal(np.sort(_raw(a, "train"), axis=0), np.sort(_raw(c, "train"), axis=0))


# ---------------------------------------------------------------------------------------------
# Split


@pytest.mark.parametrize("name", ["digits", "wine", "breast_cancer"])
def test_split_is_stratified(name: str) -> None:
    ds = load_dataset(name, validation_fraction=0.25, test_fraction=0.15)
    y_all = np.concatenate([y for _, y in _parts(ds)])
    overall = np.bincount(y_all, minlength=ds.n_classes) / y_all.size
    for _, y in _parts(ds):
        share = np.bincount(y, minlength=ds.n_classes) / y.size
        # stratification rounds each class count to within one row of its share
        assert np.all(np.abs(share - overall) <= 1.5 / y.size + 1e-9)
    n = y_all.size
    assert abs(ds.x_test.shape[0] - 0.15 * n) <= 1
    assert abs(ds.x_val.shape[0] - 0.25 * n) <= 1


def test_split_is_deterministic_per_seed_and_differs_across_seeds() -> None:
    a = load_dataset("iris", seed=1)
    b = load_dataset("iris", seed=1)
    c = load_dataset("iris", seed=2)
    for part in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test", "mean", "std"):
        np.testing.assert_array_equal(getattr(a, part), getattr(b, part))
    assert not np.array_equal(_raw(a, "test"), _raw(c, "test"))
    assert not np.array_equal(a.mean, c.mean)


def test_parts_are_disjoint_and_cover_every_row() -> None:
    bunch = sk_datasets.load_wine()
    ds = load_dataset("wine", seed=5)
    rows = np.concatenate([_raw(ds, p) for p in ("train", "val", "test")])
    labels = np.concatenate([y for _, y in _parts(ds)])
    order_ds = np.lexsort(rows.T[::-1])
    order_raw = np.lexsort(bunch.data.T[::-1])
    np.testing.assert_allclose(rows[order_ds], bunch.data[order_raw], rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(labels[order_ds], bunch.target[order_raw])


# ---------------------------------------------------------------------------------------------
# Standardization


def test_standardization_uses_training_statistics_only() -> None:
    ds = load_dataset("breast_cancer", seed=3)
    raw_train, raw_val, raw_test = (_raw(ds, p) for p in ("train", "val", "test"))
    # recompute the statistics from the training part alone
    mean = raw_train.mean(axis=0)
    std = raw_train.std(axis=0)
    np.testing.assert_allclose(ds.mean, mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ds.std, std, rtol=1e-4)
    np.testing.assert_allclose(ds.x_train.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(ds.x_train.std(axis=0), 1.0, atol=1e-4)
    np.testing.assert_allclose(ds.x_val, (raw_val - mean) / std, atol=1e-4)
    np.testing.assert_allclose(ds.x_test, (raw_test - mean) / std, atol=1e-4)
    # ... and not from all rows
    full = sk_datasets.load_breast_cancer().data
    assert not np.allclose(ds.mean, full.mean(axis=0), rtol=1e-6, atol=0)
    # validation and test parts are not themselves centred
    assert np.abs(ds.x_val.mean(axis=0)).max() > 1e-3


def test_constant_feature_gets_std_one(tmp_path, make_frame) -> None:
    frame = make_frame()
    frame["constant"] = 4.0
    frame.to_csv(tmp_path / "c.csv", index=False)
    ds = load_dataset("c.csv", target="species", base_dir=tmp_path)
    col = ds.feature_names.index("constant")
    assert ds.std[col] == 1.0 and ds.mean[col] == 4.0
    for x, _ in _parts(ds):
        assert np.all(x[:, col] == 0.0)


def test_digits_constant_pixels_are_centred_with_std_one() -> None:
    ds = load_dataset("digits")
    constant = ds.std == 1.0
    assert constant.any()
    np.testing.assert_array_equal(ds.x_train[:, constant], 0.0)
    np.testing.assert_allclose(ds.x_train[:, ~constant].std(axis=0), 1.0, atol=1e-3)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"validation_fraction": 0.0}, "validation_fraction"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"validation_fraction": -0.1}, "validation_fraction"),
        ({"validation_fraction": "0.2"}, "validation_fraction"),
        ({"test_fraction": 0.0}, "test_fraction"),
        ({"test_fraction": 1.5}, "test_fraction"),
        ({"test_fraction": float("nan")}, "test_fraction"),
        ({"validation_fraction": 0.5, "test_fraction": 0.5}, r"validation_fraction \+ test_fraction"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"samples": 0}, "samples"),
        ({"noise": -1.0}, "noise"),
    ],
)
def test_bad_arguments_name_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(DataError, match=field):
        load_dataset("xor", **kwargs)


def test_bad_parity_bits() -> None:
    with pytest.raises(DataError, match="bits"):
        load_dataset("parity", bits=0)


def test_retina_is_all_256_patterns_in_every_part() -> None:
    from connevo.workers.retina import LEFT_OBJECTS, RIGHT_OBJECTS

    ds = load_dataset("retina")
    assert ds.n_features == 8 and ds.n_classes == 2
    for x, y in _parts(ds):
        assert x.shape == (256, 8) and set(np.unique(x)) == {-1.0, 1.0}
        assert len({tuple(row) for row in x}) == 256
        assert y.sum() == 64  # 8 left objects x 8 right objects
    # the right objects are the left ones mirrored
    assert [p[::-1] for p in LEFT_OBJECTS] == list(RIGHT_OBJECTS)
    # OR: all patterns but those with no object on either side: 256 - 8*... = 256 - (16-8)*(16-8)
    assert load_dataset("retina", retina_goal="or").y_train.sum() == 256 - (16 - 8) * (16 - 8) * 1
    with pytest.raises(DataError, match="retina_goal"):
        load_dataset("retina", retina_goal="xor")


def test_a_target_with_hundreds_of_classes_is_refused_before_training(tmp_path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=1500), "customer_id": np.repeat(np.arange(500), 3)})
    frame.to_csv(tmp_path / "ids.csv", index=False)
    with pytest.raises(DataError, match=r"'?customer_id'?.*500 distinct values, more than 200 classes.*id or a continuous"):
        load_dataset(tmp_path / "ids.csv", target="customer_id")


def test_a_continuous_target_is_refused_naming_values(tmp_path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=90), "price": rng.normal(100, 10, size=90)})
    frame.to_csv(tmp_path / "prices.csv", index=False)
    with pytest.raises(DataError, match=r"non-integer numbers.*continuous.*set task.kind = \"regression\""):
        load_dataset(tmp_path / "prices.csv", target="price")


# ---------------------------------------------------------------------------------------------
# Regression


def test_diabetes_is_a_regression_with_a_target_standardized_by_the_training_rows() -> None:
    bunch = sk_datasets.load_diabetes()
    ds = load_dataset("diabetes", kind="regression", validation_fraction=0.2, test_fraction=0.2, seed=5)
    assert (ds.kind, ds.n_features, ds.n_classes, ds.n_outputs, ds.class_names) == ("regression", 10, 0, 1, ())
    assert ds.feature_names == tuple(bunch.feature_names)
    assert (ds.x_train.shape[0], ds.x_val.shape[0], ds.x_test.shape[0]) == (266, 88, 88)  # 442 rows
    for x, y in _parts(ds):
        assert x.dtype == np.float32 and y.dtype == np.float32 and y.shape == (x.shape[0],)
    np.testing.assert_allclose(ds.x_train.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(ds.x_train.std(axis=0), 1, atol=1e-4)
    original = {part: ds.original(getattr(ds, f"y_{part}")) for part in ("train", "val", "test")}
    assert ds.y_mean == pytest.approx(original["train"].mean()) and ds.y_std == pytest.approx(original["train"].std())
    assert abs(float(ds.y_train.mean())) < 1e-5 and float(ds.y_train.std()) == pytest.approx(1, abs=1e-5)
    # every row exactly once, in the target's own units (a random split, not stratified)
    np.testing.assert_allclose(np.sort(np.concatenate(list(original.values()))), np.sort(bunch.target), atol=1e-4)
    assert ds.summary()["kind"] == "regression"
    again = load_dataset("diabetes", kind="regression", validation_fraction=0.2, test_fraction=0.2, seed=5)
    np.testing.assert_array_equal(again.y_val, ds.y_val)
    with pytest.raises(DataError, match=r"task.kind.*'diabetes'.*continuous.*set task.kind = \"regression\""):
        load_dataset("diabetes")
    with pytest.raises(DataError, match=r"task.kind.*'iris'.*class labels"):
        load_dataset("iris", kind="regression")


def test_a_float_target_in_a_csv_is_a_regression_and_a_non_numeric_one_is_refused(tmp_path, make_frame) -> None:
    rng = np.random.default_rng(0)
    price = rng.normal(100, 10, size=90)
    pd.DataFrame({"x": rng.normal(size=90), "price": price}).to_csv(tmp_path / "prices.csv", index=False)
    ds = load_dataset(tmp_path / "prices.csv", target="price", kind="regression")
    assert ds.kind == "regression" and ds.n_features == 1 and ds.y_train.dtype == np.float32
    np.testing.assert_allclose(np.sort(np.concatenate([ds.original(y) for _, y in _parts(ds)])), np.sort(price),
                               rtol=1e-6)
    make_frame().to_csv(tmp_path / "species.csv", index=False)
    with pytest.raises(DataError, match=r"target 'species' of .*species.csv.*regression.*numeric.*'cat'"):
        load_dataset(tmp_path / "species.csv", target="species", kind="regression")
    pd.DataFrame({"x": rng.normal(size=20), "price": 3.0}).to_csv(tmp_path / "flat.csv", index=False)
    with pytest.raises(DataError, match=r"'price'.*constant"):
        load_dataset(tmp_path / "flat.csv", target="price", kind="regression")


class _Payload:
    """Unpickling this would create a file: proof that code ran."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_an_npz_carrying_pickled_objects_is_refused_and_runs_no_code(tmp_path) -> None:
    marker = tmp_path / "pwned"
    features = np.empty((60, 2), dtype=object)
    features[:] = _Payload(str(marker))
    np.savez(tmp_path / "evil.npz", X=features, label=np.repeat([0, 1, 2], 20))
    with pytest.raises(DataError, match=r"evil.npz"):
        load_dataset(tmp_path / "evil.npz")
    assert not marker.exists()


def test_a_ray_worker_imports_no_data_set_library():
    """A worker receives its Dataset ready-made: scikit-learn and pandas (a second of import in
    every worker process) load only where a data set is read or split."""
    import subprocess
    import sys

    code = ("import sys, connevo.workers.ray_evaluator; "
            "print(sorted(m for m in ('sklearn', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
