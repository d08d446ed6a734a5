"""Specs are validated at the edge: every bad field is named with its bad value."""

import json

import pytest
from pydantic import BaseModel

from connevo.errors import SpecError
from connevo.evolution.key_suggestions import OTHER_NAMES
from connevo.evolution.spec import CampaignSpec, load_spec, parse_spec
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


@pytest.mark.parametrize(
    "change, message",
    [
        ({"evolution.epochs": 3}, r"unknown key 'evolution.epochs'; did you mean 'training.epochs'\?$"),
        ({"training.population": 3}, r"unknown key 'training.population'; did you mean 'evolution.population'\?$"),
        ({"dataset": "a.csv"}, r"unknown key 'dataset'; did you mean 'task.dataset'\?$"),
        ({"evolution.time_limitt": "1m"}, r"did you mean 'time_limit'\?$"),  # spelled like a key of its own table
        ({"regularization.time_limit": "1m"}, r"unknown key 'regularization.time_limit'$"),  # in two tables: no guess
    ],
)
def test_a_key_under_the_wrong_table_is_answered_with_its_place(change, message):
    with pytest.raises(SpecError, match=message):
        parse_spec(small_spec(**change))


@pytest.mark.parametrize(
    "change, message",
    [
        ({"task.label": "y"}, r"unknown key 'task.label'; did you mean 'target'\?$"),
        ({"label": "y"}, r"unknown key 'label'; did you mean 'task.target'\?$"),
        ({"evolution.pop_size": 8}, r"unknown key 'evolution.pop_size'; did you mean 'population'\?$"),
        ({"training.lr": 0.1}, r"unknown key 'training.lr'; did you mean 'learning_rate'\?$"),
        ({"workers.n_jobs": 2}, r"unknown key 'workers.n_jobs'; did you mean 'count'\?$"),
        ({"random_state": 1}, r"unknown key 'random_state'; did you mean 'seed'\?$"),
    ],
)
def test_a_key_named_as_other_tools_name_it_is_answered_with_connevos_name(change, message):
    with pytest.raises(SpecError, match=message):
        parse_spec(small_spec(**change))


def test_a_data_table_in_place_of_the_task_table_is_answered_with_task():
    data = small_spec()
    data["data"] = data.pop("task")
    with pytest.raises(SpecError, match=r"unknown key 'data'; did you mean 'task'\?"):
        parse_spec(data)


def test_every_other_tools_name_points_at_a_key_of_the_spec():
    def keys(model: type[BaseModel], prefix: str = "") -> set[str]:
        found = set()
        for name, field in model.model_fields.items():
            found.add(prefix + name)
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                found |= keys(annotation, f"{prefix}{name}.")
        return found

    known = keys(CampaignSpec)
    assert {"task.target", "training.epochs", "evolution.mutation.add_node"} <= known  # the walk goes deep
    assert {key for key in OTHER_NAMES.values() if key not in known} == set()


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
