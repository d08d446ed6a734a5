"""Specs are validated at the edge: every bad field is named with its bad value."""

import json

import pytest

from connevo.errors import SpecError
from connevo.evolution.spec import load_spec, parse_spec
from tests.support import ROOT, small_spec


def test_the_shipped_examples_are_valid():
    for path in sorted((ROOT / "examples").glob("*.toml")):
        spec = load_spec(path)
        assert spec.name and spec.evolution.population > 0


def test_defaults_fill_everything_but_name_and_dataset():
    spec = parse_spec({"name": "x", "task": {"dataset": "iris"}})
    assert spec.evolution.algorithm == "nsga2"
    assert spec.objectives.names == ["val_accuracy", "connections"]
    assert spec.workers.ray_address == "" and spec.workers.count == 2


@pytest.mark.parametrize(
    "change, message",
    [
        ({"evolution.popsize": 3}, "unknown key 'evolution.popsize'"),
        ({"colour": "red"}, "unknown key 'colour'"),
        ({"evolution.population": 0}, r"'evolution.population': .*greater than 0.*got 0"),
        ({"evolution.population": -5}, r"'evolution.population'.*got -5"),
        ({"evolution.population": "many"}, r"'evolution.population'.*got 'many'"),
        ({"objectives.minimize": ["latency"]}, r"'objectives.minimize.0'.*got 'latency'"),
        ({"task.dataset": "imagenet"}, r"'task.dataset'.*'imagenet'.*built-in"),
        ({"evolution.algorithm": "cmaes"}, r"'evolution.algorithm'.*got 'cmaes'"),
        ({"task.validation_fraction": 0.6, "task.test_fraction": 0.5}, "validation_fraction \\+ test_fraction must be < 1"),
        ({"workers.gpus_per_worker": -1}, r"'workers.gpus_per_worker'"),
        ({"search_space.activations": ["relu", "gelu"]}, "gelu"),
        ({"training.polish_epochs": -2}, r"'training.polish_epochs'.*got -2"),
        ({"training.min_steps": "often"}, r"'training.min_steps'.*whole number.*or \"auto\".*got 'often'"),
        ({"training.min_steps": -1}, r"'training.min_steps'.*got -1"),
        ({"training.fan_in_boost": 0.5}, r"'training.fan_in_boost'.*greater than or equal to 1.*got 0.5"),
        ({"training.device": "tpu"}, r"'training.device'.*'auto', 'cpu' or 'cuda'.*got 'tpu'"),
        ({"training.polish_rows": "test"}, r"'training.polish_rows'.*'training\+validation' or 'all'.*got 'test'"),
    ],
)
def test_bad_values_are_rejected_naming_field_and_value(change, message):
    with pytest.raises(SpecError, match=message):
        parse_spec(small_spec(**change))


@pytest.mark.parametrize(
    "change, message",
    [
        ({"evolution.populaton": 3}, r"unknown key 'evolution.populaton'; did you mean 'population'\?$"),
        ({"trainng.epochs": 3}, r"unknown key 'trainng'; did you mean 'training'\?$"),
        ({"task.validaton_fraction": 0.3}, r"unknown key 'task.validaton_fraction'; did you mean 'validation_fraction'\?"),
        ({"evolution.mutation.add_nod": 0.3}, r"unknown key 'evolution.mutation.add_nod'; did you mean 'add_node'\?"),
        ({"colour": "red"}, r"unknown key 'colour'$"),  # nothing spelled like it: no guess
    ],
)
def test_a_misspelt_key_is_answered_with_the_key_spelled_like_it(change, message):
    with pytest.raises(SpecError, match=message):
        parse_spec(small_spec(**change))


def test_missing_name_is_reported():
    data = small_spec()
    del data["name"]
    with pytest.raises(SpecError, match="'name' is required"):
        parse_spec(data)


def test_json_and_toml_give_the_same_spec(tmp_path):
    (tmp_path / "s.json").write_text(json.dumps(small_spec()))
    (tmp_path / "s.toml").write_text(
        'name = "tiny-xor"\nseed = 3\n[task]\ndataset = "xor"\nsamples = 200\n'
        "[evolution]\npopulation = 6\ngenerations = 2\n"
        '[objectives]\nmaximize = ["val_accuracy"]\nminimize = ["connections"]\n'
        "[training]\nepochs = 5\nbatch_size = 64\nlearning_rate = 0.05\nmin_steps = 0\npolish_epochs = 0\n"
        '[workers]\ncount = 2\nbackend = "local"\n'
    )
    assert load_spec(tmp_path / "s.json") == load_spec(tmp_path / "s.toml")


def test_relative_data_paths_resolve_against_the_spec_folder(tmp_path):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(small_spec(**{"task.dataset": "data/train.csv"})))
    assert load_spec(path).base_dir == str(tmp_path)


@pytest.mark.parametrize("text, message", [("name = ", "not valid TOML"), ("[task\n", "not valid TOML")])
def test_unparseable_files_are_spec_errors(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(SpecError, match=message):
        load_spec(path)


def test_a_missing_spec_file_is_a_spec_error(tmp_path):
    with pytest.raises(SpecError, match="does not exist"):
        load_spec(tmp_path / "nope.toml")


def test_overrides_are_validated_again():
    spec = parse_spec(small_spec())
    assert spec.with_overrides(**{"workers.count": 1}).workers.count == 1
    with pytest.raises(SpecError, match="workers.count"):
        spec.with_overrides(**{"workers.count": 0})
