"""Specifications of user data files (workers.data_files through workers.tasks.load_dataset):
CSV, Parquet and NPZ loaders, and the clear error of every bad file or argument."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from connevo.errors import DataError
from connevo.workers.tasks import Dataset, load_dataset


def _raw(ds: Dataset, part: str) -> np.ndarray:
    """Undo the standardization of one part (float64)."""
    x = getattr(ds, f"x_{part}").astype(np.float64)
    return x * ds.std.astype(np.float64) + ds.mean.astype(np.float64)


def _parts(ds: Dataset) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(ds.x_train, ds.y_train), (ds.x_val, ds.y_val), (ds.x_test, ds.y_test)]


# ---------------------------------------------------------------------------------------------
# Files


def test_csv_with_string_target_loads(tmp_path, make_frame) -> None:
    frame = make_frame()
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


def test_a_saved_index_or_an_id_of_row_numbers_is_noted_and_kept_as_a_feature(tmp_path, make_frame) -> None:
    frame = make_frame()
    frame.insert(0, "id", np.arange(1, len(frame) + 1))
    path = tmp_path / "indexed.csv"
    frame.to_csv(path)  # pandas writes its index too, as a column without a name
    ds = load_dataset(str(path), target="species", seed=4)
    assert ds.feature_names == ("Unnamed: 0", "id", "height", "weight")  # kept: the user decides
    assert [note.split(" holds")[0] for note in ds.notes] == ["data: feature column 'Unnamed: 0'",
                                                              "data: feature column 'id'"]
    assert "(0..59 in file order)" in ds.notes[0] and "(1..60 in file order)" in ds.notes[1]
    assert "index=False" in ds.notes[0]


def test_ids_out_of_order_and_files_without_them_get_no_note(tmp_path, make_frame) -> None:
    frame = make_frame()
    frame.insert(0, "id", np.random.default_rng(0).permutation(len(frame)))
    frame.to_csv(tmp_path / "shuffled.csv", index=False)
    assert load_dataset(str(tmp_path / "shuffled.csv"), target="species", seed=4).notes == ()
    assert load_dataset("iris", seed=0).notes == ()


@pytest.mark.parametrize("sep, decimal", [(";", ","), (";", "."), ("\t", "."), (",", ".")])
def test_csv_separated_by_semicolons_or_tabs_loads_as_with_commas(tmp_path, make_frame, sep, decimal) -> None:
    """Locales whose decimal mark is a comma write semicolon-separated files; TSV is often named .csv."""
    frame = make_frame()
    frame.to_csv(tmp_path / "commas.csv", index=False)
    frame.to_csv(tmp_path / "other.csv", index=False, sep=sep, decimal=decimal)
    expected = load_dataset(str(tmp_path / "commas.csv"), target="species", seed=4)
    got = load_dataset(str(tmp_path / "other.csv"), target="species", seed=4)
    assert got.feature_names == expected.feature_names == ("height", "weight")
    assert got.class_names == expected.class_names
    for (x, y), (x_expected, y_expected) in zip(_parts(got), _parts(expected)):
        assert np.array_equal(x, x_expected) and np.array_equal(y, y_expected)


def test_csv_with_a_space_after_each_comma_loads_as_without(tmp_path, make_frame) -> None:
    frame = make_frame()
    frame.to_csv(tmp_path / "tight.csv", index=False)
    (tmp_path / "spaced.csv").write_text((tmp_path / "tight.csv").read_text().replace(",", ", "))
    expected = load_dataset(str(tmp_path / "tight.csv"), target="species", seed=4)
    got = load_dataset(str(tmp_path / "spaced.csv"), target="species", seed=4)
    assert got.feature_names == ("height", "weight") and got.class_names == ("cat", "dog", "emu")
    for (x, y), (x_expected, y_expected) in zip(_parts(got), _parts(expected)):
        assert np.array_equal(x, x_expected) and np.array_equal(y, y_expected)


def test_csv_relative_path_resolves_against_base_dir_and_cwd(tmp_path, monkeypatch, make_frame) -> None:
    sub = tmp_path / "data"
    sub.mkdir()
    make_frame().to_csv(sub / "a.csv", index=False)
    ds = load_dataset("data/a.csv", target="species", base_dir=tmp_path)
    monkeypatch.chdir(tmp_path)
    ds2 = load_dataset("data/a.csv", target="species")
    np.testing.assert_array_equal(ds.x_train, ds2.x_train)


def test_integer_target_classes_sort_numerically(tmp_path, make_frame) -> None:
    frame = make_frame().drop(columns="species")
    frame["label"] = np.repeat([10, 2, -1], 20)
    frame.to_csv(tmp_path / "ints.csv", index=False)
    ds = load_dataset(tmp_path / "ints.csv")  # default target "label"
    assert ds.class_names == ("-1", "2", "10")


def test_parquet_loads(tmp_path, make_frame) -> None:
    frame = make_frame()
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
def test_truncated_binary_file(tmp_path, ext: str, make_frame) -> None:
    full = tmp_path / f"full{ext}"
    frame = make_frame()
    if ext == ".npz":
        np.savez_compressed(full, X=frame[["height", "weight"]].to_numpy(), label=frame["species"].to_numpy())
    else:
        frame.to_parquet(full)
    data = full.read_bytes()
    cut = tmp_path / f"cut{ext}"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=rf"cannot read .*cut{ext}"):
        load_dataset(str(cut), target="species" if ext == ".parquet" else "label")


@pytest.mark.parametrize(("name", "content", "words"), [
    ("g.parquet", b"this is not parquet", r"g\.parquet"),
    ("g.npz", b"this is not npz", r"g\.npz"),
    ("bin.csv", b"a,label\n\xff\xfe\x00,1\n", r"bin\.csv"),
    ("h.csv", b"a,b,label\n", r"h\.csv.*no data rows"),
    ("blank.csv", b"\n\n", r"blank\.csv"),
])
def test_garbage_headers_only_and_blank_files_are_refused_naming_them(tmp_path, name, content, words) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(DataError, match=words):
        load_dataset(tmp_path / name)


def test_an_npy_named_npz_is_refused(tmp_path) -> None:
    np.save(tmp_path / "bare.npy", np.arange(4))
    (tmp_path / "bare.npy").rename(tmp_path / "bare.npz")
    with pytest.raises(DataError, match=r"bare\.npz.*not an \.npz archive"):
        load_dataset(tmp_path / "bare.npz")


def test_truncated_csv_row_is_reported_as_a_missing_label(tmp_path, make_frame) -> None:
    text = make_frame().to_csv(index=False)
    path = tmp_path / "t.csv"
    path.write_text(text + "9.5")  # last row cut after its first field
    with pytest.raises(DataError, match=r"'species'.*1 missing"):
        load_dataset(path, target="species")


def test_missing_target_column_names_column_file_and_columns(tmp_path, make_frame) -> None:
    make_frame().to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(DataError, match=r"'kind'.*a\.csv.*\['height', 'weight', 'species'\]"):
        load_dataset(tmp_path / "a.csv", target="kind")
    make_frame().to_parquet(tmp_path / "a.parquet")
    with pytest.raises(DataError, match=r"'label'.*a\.parquet.*species"):
        load_dataset(tmp_path / "a.parquet")
    with pytest.raises(DataError, match=r"target"):
        load_dataset(tmp_path / "a.csv", target=None)


@pytest.mark.parametrize(
    "columns, target, meant",
    [
        (["Type", "price", "weight"], "type", "Type"),              # another case
        (["x0", "x1", "Class"], "label", "Class"),                  # the default target, the usual name another
        (["x0", "x1", "target"], "labels", "target"),
        (["height", "weight", "specis"], "species", "specis"),      # spelled like it
    ],
)
def test_a_missing_target_column_is_answered_with_the_column_meant(tmp_path, columns, target, meant) -> None:
    frame = pd.DataFrame(np.arange(30.0).reshape(10, 3) % 2, columns=columns)
    frame.to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(DataError, match=rf"target column '{target}' not found.*; did you mean '{meant}'\? "
                                        rf"\(task\.target = '{meant}'\)$"):
        load_dataset(tmp_path / "a.csv", target=target)


@pytest.mark.parametrize(
    "columns, target",
    [
        (["height", "weight", "species"], "kind"),                  # nothing like it
        (["x0", "class", "y"], "label"),                            # two usual names: no guess between them
        (["Type", "TYPE", "w"], "type"),                            # two columns in other cases
    ],
)
def test_a_missing_target_column_without_one_meant_gets_no_guess(tmp_path, columns, target) -> None:
    pd.DataFrame(np.zeros((10, 3)), columns=columns).to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(DataError, match=r"; set task\.target to the column to predict$"):
        load_dataset(tmp_path / "a.csv", target=target)


def test_a_missing_target_array_of_an_npz_is_answered_with_the_array_meant(tmp_path) -> None:
    np.savez(tmp_path / "a.npz", X=np.ones((40, 2)), Y=np.repeat([0, 1], 20))
    with pytest.raises(DataError, match=r"target array 'y'.*\['X', 'Y'\]; did you mean 'Y'\?"):
        load_dataset(tmp_path / "a.npz", target="y")


def test_a_csv_without_a_header_line_is_told_to_add_one(tmp_path) -> None:
    rows = "\n".join(f"{i * 0.1:.1f},{i % 3 * 1.5},{i % 2}" for i in range(1, 40))
    (tmp_path / "bare.csv").write_text(rows + "\n")
    with pytest.raises(DataError, match=r"'label' not found.*its first line holds numbers.*add a header line"):
        load_dataset(tmp_path / "bare.csv")


def test_a_missing_target_among_many_columns_lists_the_first_twenty(tmp_path) -> None:
    pd.DataFrame(np.zeros((30, 45)), columns=[f"f{i}" for i in range(45)]).to_csv(tmp_path / "wide.csv", index=False)
    with pytest.raises(DataError, match=r"\['f0', .*'f19', '\.\.\. 25 more'\]; set task\.target to the column"):
        load_dataset(tmp_path / "wide.csv")


def test_non_numeric_feature_names_column_and_bad_value(tmp_path, make_frame) -> None:
    frame = make_frame()
    frame["colour"] = ["1.5"] * 59 + ["blue"]
    frame.to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(DataError, match=r"'colour'.*not numeric.*'blue'"):
        load_dataset(tmp_path / "a.csv", target="species")
    frame.to_parquet(tmp_path / "a.parquet")
    with pytest.raises(DataError, match=r"'colour'.*'blue'"):
        load_dataset(tmp_path / "a.parquet", target="species")
    frame["size"] = "large"
    frame.to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(DataError, match=r"'colour'.*'blue' \(and 1 more: \['size'\]\).*"
                                         r"pandas.get_dummies\(frame, columns=\['colour', 'size'\]\)"):
        load_dataset(tmp_path / "b.csv", target="species")


def test_missing_feature_values_become_the_training_mean(tmp_path, make_frame) -> None:
    frame = make_frame()
    frame.loc[[3, 7, 11, 20, 33], "height"] = np.nan
    frame.to_csv(tmp_path / "a.csv", index=False)
    ds = load_dataset(tmp_path / "a.csv", target="species")
    for x, _ in _parts(ds):
        assert np.isfinite(x).all()
    imputed = ds.x_train[:, 0] == 0.0  # standardized: the training mean is 0
    assert 1 <= imputed.sum() <= 5
    assert ds.mean[0] == pytest.approx(_raw(ds, "train")[~imputed, 0].mean(), rel=1e-5)  # of the values given
    x = np.random.default_rng(0).normal(size=(40, 2))
    x[5, 1] = np.nan
    np.savez(tmp_path / "n.npz", X=x, label=np.repeat([0, 1], 20))
    assert np.isfinite(np.concatenate([p for p, _ in _parts(load_dataset(tmp_path / "n.npz"))])).all()


def test_a_wholly_missing_or_infinite_feature_is_refused_naming_it(tmp_path, make_frame) -> None:
    frame = make_frame()
    frame["height"] = np.nan
    frame.to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(DataError, match=r"'height'.*no values.*60 are missing.*drop the column"):
        load_dataset(tmp_path / "a.csv", target="species")
    x = np.ones((40, 2))
    x[5, 1] = np.inf
    np.savez(tmp_path / "n.npz", X=x, label=np.repeat([0, 1], 20))
    with pytest.raises(DataError, match=r"'x1'.*1 infinite"):
        load_dataset(tmp_path / "n.npz")


def test_missing_target_values(tmp_path, make_frame) -> None:
    frame = make_frame()
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


def test_a_target_of_many_numbers_is_pointed_at_a_regression(tmp_path, make_frame) -> None:
    frame = make_frame().drop(columns="species")
    frame["price"] = np.arange(len(frame)) % 30
    frame.loc[0, "price"] = 99
    frame.to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(DataError, match=r"class '0' has only 1 row.*31 of the 31 classes.*31 distinct numbers.*task.kind = \"regression\""):
        load_dataset(tmp_path / "a.csv", target="price")
    frame["price"] = np.arange(len(frame)) % 4  # few numbers: category codes, no regression hint
    frame.loc[0, "price"] = 9
    frame.to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(DataError, match=r"class '9' has only 1 row.*drop the rows") as raised:
        load_dataset(tmp_path / "b.csv", target="price")
    assert "regression" not in str(raised.value)


def test_fewer_than_two_classes(tmp_path, make_frame) -> None:
    frame = make_frame()
    frame["species"] = "cat"
    frame.to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(DataError, match=r"'species'.*at least 2 classes"):
        load_dataset(tmp_path / "a.csv", target="species")


def test_class_too_small_for_a_stratified_split(tmp_path, make_frame) -> None:
    frame = make_frame()
    frame.loc[0, "species"] = "yak"
    frame.to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(DataError, match=r"class 'yak' has only 1 row.*only one\); drop the rows"):
        load_dataset(tmp_path / "a.csv", target="species")
    with pytest.raises(DataError, match=r"test part.*test_fraction"):
        load_dataset("iris", test_fraction=0.01)
    with pytest.raises(DataError, match=r"validation part.*validation_fraction"):
        load_dataset("iris", validation_fraction=0.01)


