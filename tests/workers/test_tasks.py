"""Specifications of workers.tasks: built-in and file data sets, split and standardization."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import datasets as sk_datasets

from connevo.errors import DataError
from workers.tasks import BUILTIN_DATASETS, Dataset, is_builtin, load_dataset

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


def _frame(n_per_class: int = 20, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    labels = np.repeat(["cat", "dog", "emu"], n_per_class)
    return pd.DataFrame(
        {
            "height": rng.normal(10, 3, labels.size),
            "weight": rng.integers(0, 100, labels.size),
            "species": labels,
        }
    )


# ---------------------------------------------------------------------------------------------
# Built-in data sets


def test_builtin_names_are_the_contract_list() -> None:
    assert BUILTIN_DATASETS == (*EXPECTED_SHAPES, "retina")
    assert all(is_builtin(n) for n in BUILTIN_DATASETS)
    assert not is_builtin("retina.csv")
    assert not is_builtin("XOR")


@pytest.mark.parametrize("name", [n for n in BUILTIN_DATASETS if n != "retina"])
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


def test_constant_feature_gets_std_one(tmp_path) -> None:
    frame = _frame()
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


# ---------------------------------------------------------------------------------------------
# Files


def test_csv_with_string_target_loads(tmp_path) -> None:
    frame = _frame()
    path = tmp_path / "animals.csv"
    frame.to_csv(path, index=False)
    ds = load_dataset(str(path), target="species", seed=4)
    assert ds.name == "animals.csv"
    assert ds.feature_names == ("height", "weight")
    assert ds.class_names == ("cat", "dog", "emu")
    assert ds.summary()["n_train"] + ds.summary()["n_val"] + ds.summary()["n_test"] == 60
    # every training row is a row of the file, with its label
    values = frame[["height", "weight"]].to_numpy(dtype=np.float64)
    for row, label in zip(_raw(ds, "train"), ds.y_train):
        match = np.flatnonzero(np.all(np.isclose(values, row, rtol=1e-5, atol=1e-4), axis=1))
        assert match.size == 1
        assert frame["species"].iloc[match[0]] == ds.class_names[label]


def test_csv_relative_path_resolves_against_base_dir_and_cwd(tmp_path, monkeypatch) -> None:
    sub = tmp_path / "data"
    sub.mkdir()
    _frame().to_csv(sub / "a.csv", index=False)
    ds = load_dataset("data/a.csv", target="species", base_dir=tmp_path)
    monkeypatch.chdir(tmp_path)
    ds2 = load_dataset("data/a.csv", target="species")
    np.testing.assert_array_equal(ds.x_train, ds2.x_train)


def test_integer_target_classes_sort_numerically(tmp_path) -> None:
    frame = _frame().drop(columns="species")
    frame["label"] = np.repeat([10, 2, -1], 20)
    frame.to_csv(tmp_path / "ints.csv", index=False)
    ds = load_dataset(tmp_path / "ints.csv")  # default target "label"
    assert ds.class_names == ("-1", "2", "10")


def test_parquet_loads(tmp_path) -> None:
    frame = _frame()
    frame["flag"] = np.arange(len(frame)) % 3 == 0  # booleans are numeric features
    path = tmp_path / "animals.parquet"
    frame.to_parquet(path)
    ds = load_dataset(str(path), target="species")
    assert ds.name == "animals.parquet"
    assert ds.feature_names == ("height", "weight", "flag")
    assert ds.class_names == ("cat", "dog", "emu")
    csv = tmp_path / "animals.csv"
    frame.to_csv(csv, index=False)
    ds_csv = load_dataset(str(csv), target="species")
    np.testing.assert_allclose(ds.x_test, ds_csv.x_test, atol=1e-6)
    np.testing.assert_array_equal(ds.y_test, ds_csv.y_test)


def test_npz_with_one_feature_array_loads(tmp_path) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    y = np.repeat(np.array(["a", "b"]), 30)
    np.savez(tmp_path / "d.npz", data=x, label=y)
    ds = load_dataset("d.npz", base_dir=tmp_path)
    assert ds.name == "d.npz"
    assert ds.feature_names == ("x0", "x1", "x2")
    assert ds.class_names == ("a", "b")
    rows = np.concatenate([_raw(ds, p) for p in ("train", "val", "test")])
    np.testing.assert_allclose(np.sort(rows, axis=0), np.sort(x, axis=0), atol=1e-5)


def test_npz_picks_the_array_named_x_and_accepts_1d_features(tmp_path) -> None:
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", X=rng.normal(size=(40, 2)), y=np.repeat([0, 1], 20), extra=np.zeros(3))
    ds = load_dataset(tmp_path / "d.npz", target="y")
    assert ds.n_features == 2
    np.savez(tmp_path / "one.npz", features=rng.normal(size=40), y=np.repeat([0, 1], 20), w=np.ones(40))
    ds = load_dataset(tmp_path / "one.npz", target="y")
    assert ds.feature_names == ("x0",)


# ---------------------------------------------------------------------------------------------
# Bad inputs


def test_unknown_name_lists_builtins_and_extensions() -> None:
    with pytest.raises(DataError, match=r"'mnist'.*xor.*breast_cancer.*\.csv.*\.npz.*\.parquet"):
        load_dataset("mnist")
    with pytest.raises(DataError, match=r"'data\.txt'"):
        load_dataset("data.txt")


def test_missing_file(tmp_path) -> None:
    with pytest.raises(DataError, match=r"not found.*nope\.csv"):
        load_dataset("nope.csv", base_dir=tmp_path)


@pytest.mark.parametrize("ext", [".csv", ".npz", ".parquet"])
def test_zero_byte_file(tmp_path, ext: str) -> None:
    path = tmp_path / f"empty{ext}"
    path.write_bytes(b"")
    with pytest.raises(DataError, match=rf"empty{ext}"):
        load_dataset(str(path))


@pytest.mark.parametrize("ext", [".npz", ".parquet"])
def test_truncated_binary_file(tmp_path, ext: str) -> None:
    full = tmp_path / f"full{ext}"
    frame = _frame()
    if ext == ".npz":
        np.savez_compressed(full, X=frame[["height", "weight"]].to_numpy(), label=frame["species"].to_numpy())
    else:
        frame.to_parquet(full)
    data = full.read_bytes()
    cut = tmp_path / f"cut{ext}"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=rf"cannot read .*cut{ext}"):
        load_dataset(str(cut), target="species" if ext == ".parquet" else "label")


def test_garbage_files(tmp_path) -> None:
    (tmp_path / "g.parquet").write_text("this is not parquet")
    with pytest.raises(DataError, match=r"g\.parquet"):
        load_dataset(tmp_path / "g.parquet")
    (tmp_path / "g.npz").write_text("this is not npz")
    with pytest.raises(DataError, match=r"g\.npz"):
        load_dataset(tmp_path / "g.npz")
    np.save(tmp_path / "bare.npy", np.arange(4))
    (tmp_path / "bare.npy").rename(tmp_path / "bare.npz")
    with pytest.raises(DataError, match=r"bare\.npz.*not an \.npz archive"):
        load_dataset(tmp_path / "bare.npz")
    (tmp_path / "bin.csv").write_bytes(b"a,label\n\xff\xfe\x00,1\n")
    with pytest.raises(DataError, match=r"bin\.csv"):
        load_dataset(tmp_path / "bin.csv")


def test_csv_header_only_or_blank(tmp_path) -> None:
    (tmp_path / "h.csv").write_text("a,b,label\n")
    with pytest.raises(DataError, match=r"h\.csv.*no data rows"):
        load_dataset(tmp_path / "h.csv")
    (tmp_path / "blank.csv").write_text("\n\n")
    with pytest.raises(DataError, match=r"blank\.csv"):
        load_dataset(tmp_path / "blank.csv")


def test_truncated_csv_row_is_reported_as_missing_values(tmp_path) -> None:
    text = _frame().to_csv(index=False)
    path = tmp_path / "t.csv"
    path.write_text(text + "9.5")  # last row cut after its first field
    with pytest.raises(DataError, match=r"'weight'.*1 missing"):
        load_dataset(path, target="species")


def test_missing_target_column_names_column_file_and_columns(tmp_path) -> None:
    _frame().to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(DataError, match=r"'kind'.*a\.csv.*\['height', 'weight', 'species'\]"):
        load_dataset(tmp_path / "a.csv", target="kind")
    _frame().to_parquet(tmp_path / "a.parquet")
    with pytest.raises(DataError, match=r"'label'.*a\.parquet.*species"):
        load_dataset(tmp_path / "a.parquet")
    with pytest.raises(DataError, match=r"target"):
        load_dataset(tmp_path / "a.csv", target=None)


def test_non_numeric_feature_names_column_and_bad_value(tmp_path) -> None:
    frame = _frame()
    frame["colour"] = ["1.5"] * 59 + ["blue"]
    frame.to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(DataError, match=r"'colour'.*not numeric.*'blue'"):
        load_dataset(tmp_path / "a.csv", target="species")
    frame.to_parquet(tmp_path / "a.parquet")
    with pytest.raises(DataError, match=r"'colour'.*'blue'"):
        load_dataset(tmp_path / "a.parquet", target="species")


def test_nan_feature_names_column_and_count(tmp_path) -> None:
    frame = _frame()
    frame.loc[[3, 7, 11], "height"] = np.nan
    frame.to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(DataError, match=r"'height'.*3 missing"):
        load_dataset(tmp_path / "a.csv", target="species")
    x = np.ones((40, 2))
    x[5, 1] = np.nan
    np.savez(tmp_path / "n.npz", X=x, label=np.repeat([0, 1], 20))
    with pytest.raises(DataError, match=r"'x1'.*1 missing"):
        load_dataset(tmp_path / "n.npz")


def test_missing_target_values(tmp_path) -> None:
    frame = _frame()
    frame.loc[4, "species"] = None
    frame.to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(DataError, match=r"'species'.*1 missing"):
        load_dataset(tmp_path / "a.csv", target="species")


def test_npz_bad_arrays(tmp_path) -> None:
    y = np.repeat([0, 1], 20)
    np.savez(tmp_path / "a.npz", a=np.ones((40, 2)), b=np.ones((40, 2)), label=y)
    with pytest.raises(DataError, match=r"feature array.*\['a', 'b', 'label'\]"):
        load_dataset(tmp_path / "a.npz")
    with pytest.raises(DataError, match=r"target array 'cls'.*\['a', 'b', 'label'\]"):
        load_dataset(tmp_path / "a.npz", target="cls")
    np.savez(tmp_path / "s.npz", X=np.array([["a", "b"]] * 40), label=y)
    with pytest.raises(DataError, match=r"'X'.*not numeric"):
        load_dataset(tmp_path / "s.npz")
    np.savez(tmp_path / "3d.npz", X=np.ones((40, 2, 2)), label=y)
    with pytest.raises(DataError, match=r"'X'.*1-D or 2-D"):
        load_dataset(tmp_path / "3d.npz")
    np.savez(tmp_path / "rows.npz", X=np.ones((41, 2)), label=y)
    with pytest.raises(DataError, match=r"40 rows.*41"):
        load_dataset(tmp_path / "rows.npz")


def test_fewer_than_two_classes(tmp_path) -> None:
    frame = _frame()
    frame["species"] = "cat"
    frame.to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(DataError, match=r"'species'.*at least 2 classes"):
        load_dataset(tmp_path / "a.csv", target="species")


def test_class_too_small_for_a_stratified_split(tmp_path) -> None:
    frame = _frame()
    frame.loc[0, "species"] = "yak"
    frame.to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(DataError, match=r"class 'yak' has only 1 row"):
        load_dataset(tmp_path / "a.csv", target="species")
    with pytest.raises(DataError, match=r"test part.*test_fraction"):
        load_dataset("iris", test_fraction=0.01)
    with pytest.raises(DataError, match=r"validation part.*validation_fraction"):
        load_dataset("iris", validation_fraction=0.01)


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
    from workers.retina import LEFT_OBJECTS, RIGHT_OBJECTS

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
    with pytest.raises(DataError, match=r"non-integer numbers.*continuous"):
        load_dataset(tmp_path / "prices.csv", target="price")


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
