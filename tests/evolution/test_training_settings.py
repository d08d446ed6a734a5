"""Training settings follow the data: ``training.min_steps`` raises short trainings, and its
default ("auto") gives plentiful multi-class data twice the optimizer steps, up to 300, and
there a final polish as long as a whole training, and two-class data of as many rows 300 steps,
as it does regressions, in at most 50 epochs."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch

from connevo.errors import SpecError
from connevo.evolution.spec import CampaignSpec, parse_spec
from connevo.evolution.task import (
    batch_size,
    make_evaluator,
    min_steps,
    polish_epochs,
    steps_per_epoch,
    training_settings,
    training_summary,
)
from connevo.search_space import InnovationTracker, minimal_genome
from connevo.workers import EvaluationRequest, train
from connevo.workers.tasks import Dataset


@pytest.fixture
def make_dataset() -> Callable[..., Dataset]:
    """A standardized-looking data set of ``rows`` training rows, ``inputs`` features and
    ``classes`` classes (0: a regression)."""
    def make(rows: int, inputs: int, classes: int) -> Dataset:
        x = np.zeros((rows, inputs), dtype=np.float32)
        small = np.zeros((4, inputs), dtype=np.float32)
        kind = "regression" if classes == 0 else "classification"
        y = np.zeros(rows, dtype=np.float32 if classes == 0 else np.int64)
        return Dataset(name="made", x_train=x, y_train=y, x_val=small, y_val=y[:4], x_test=small, y_test=y[:4],
                       feature_names=tuple(f"f{i}" for i in range(inputs)),
                       class_names=tuple(str(c) for c in range(classes)), mean=np.zeros(inputs),
                       std=np.ones(inputs), kind=kind)
    return make


def spec(**training: object) -> CampaignSpec:
    return parse_spec({"name": "settings", "task": {"dataset": "digits"}, "training": training})


def test_min_steps_raises_the_epochs_of_small_data_and_a_third_of_them_after_inheritance(make_dataset):
    tiny = make_dataset(rows=200, inputs=4, classes=2)  # 2 steps an epoch at batch 128
    settings = training_settings(spec(epochs=10, min_steps=100), tiny)
    assert (settings.epochs, settings.inherited_epochs) == (50, 17)


def test_an_integer_min_steps_is_taken_as_it_is_on_any_data(make_dataset):
    plentiful = make_dataset(rows=2000, inputs=16, classes=20)  # 16 steps an epoch
    assert min_steps(spec(min_steps=0), plentiful) == 0
    assert training_settings(spec(epochs=10, min_steps=0), plentiful).epochs == 10


def test_epoch_rows_shortens_the_epochs_of_large_data_and_the_summary_says_so(make_dataset):
    large = make_dataset(rows=50000, inputs=20, classes=3)
    settings = training_settings(spec(epoch_rows=12800), large)
    assert settings.epoch_rows == 12800 and settings.epochs == 10
    assert training_summary(spec(epoch_rows=12800), large) == (
        "training: 10 epochs a network (3 after weight inheritance), 100 steps an epoch (batch 128, 50,000 training "
        "rows, 12,800 of them sampled afresh each epoch: training.epoch_rows)")
    small = make_dataset(rows=1000, inputs=64, classes=10)  # fewer rows than epoch_rows: every row, as before
    assert training_summary(spec(epoch_rows=12800), small) == training_summary(spec(), small)


def test_epoch_rows_below_one_is_an_error_naming_the_key():
    with pytest.raises(SpecError, match="epoch_rows"):
        spec(epoch_rows=0)


@pytest.mark.parametrize(
    "rows, inputs, classes, expected",
    [
        (2000, 16, 2, 300),     # two classes: 300 (16 steps an epoch: 19 epochs)
        (400, 40, 2, 300),      # two classes, 10 rows per input: plentiful ...
        (390, 40, 2, 100),      # ... and thinner: 100 (longer trainings overfit there)
        (2000, 16, 0, 300),     # a regression: 300 ...
        (400, 10, 0, 200),      # ... in at most 50 epochs (4 steps an epoch) ...
        (199, 10, 0, 100),      # ... and never under 100 (diabetes: 2 steps an epoch)
        (150, 16, 0, 100),      # a regression of 9.4 rows per input: thin
        (1000, 200, 5, 100),    # 5 rows per input: thin
        (160, 16, 20, 100),     # 10 rows per input, 2 steps an epoch: 100 is more than twice 10 epochs' 20
        (1000, 64, 10, 160),    # 8 steps an epoch: twice 10 epochs
        (1920, 16, 20, 300),    # 15 steps an epoch: twice 10 epochs is 300
        (6400, 16, 20, 300),    # 50 steps an epoch: at most 300
        (48000, 784, 10, 300),  # 375 steps an epoch: 10 epochs already take more
    ],
)
def test_auto_min_steps_doubles_plentiful_multiclass_trainings_up_to_300_and_gives_two_classes_and_regressions_300(
        make_dataset, rows, inputs, classes, expected):
    assert min_steps(spec(), make_dataset(rows, inputs, classes)) == expected


def test_auto_is_the_default_and_gives_plentiful_multiclass_data_twice_the_epochs(make_dataset):
    assert spec().training.min_steps == "auto"
    settings = training_settings(spec(), make_dataset(rows=1000, inputs=64, classes=10))
    assert (settings.epochs, settings.inherited_epochs) == (20, 7)


def test_auto_trains_a_regression_300_steps_in_at_most_50_epochs_and_its_polish_a_third(make_dataset):
    plentiful = make_dataset(rows=2000, inputs=16, classes=0)  # 16 steps an epoch
    settings = training_settings(spec(), plentiful)
    assert (settings.epochs, settings.inherited_epochs, polish_epochs(spec(), plentiful)) == (19, 7, 7)
    fewer_rows = make_dataset(rows=400, inputs=10, classes=0)  # 4 steps an epoch: 50 epochs are 200 steps
    assert (training_settings(spec(), fewer_rows).epochs, polish_epochs(spec(), fewer_rows)) == (50, 17)


def test_auto_leaves_data_whose_epochs_take_300_steps_as_they_are(make_dataset):
    settings = training_settings(spec(), make_dataset(rows=48000, inputs=784, classes=10))
    assert (settings.epochs, settings.inherited_epochs) == (10, 3)


def test_the_training_summary_says_the_epochs_and_why_they_were_raised(make_dataset):
    raised = training_summary(spec(), make_dataset(rows=1000, inputs=64, classes=10))
    assert raised == ('training: 20 epochs a network (7 after weight inheritance), 8 steps an epoch (batch 128, '
                      '1,000 training rows); raised from training.epochs = 10 to take training.min_steps ("auto") '
                      '= 160 steps')
    plain = training_summary(spec(epochs=12, min_steps=0, inherit_weights=False), make_dataset(2000, 16, 2))
    assert plain == "training: 12 epochs a network, 16 steps an epoch (batch 128, 2,000 training rows)"


@pytest.mark.parametrize(
    "rows, inputs, classes, expected",
    [
        (1000, 64, 10, 20),     # auto doubled the trainings: the polish is a whole training's 20 epochs
        (1920, 16, 20, 20),     # the same, at the 300-step cap
        (2000, 16, 2, 7),       # two classes: trainings raised to 300 steps (19 epochs), the polish a third
        (1000, 200, 5, 5),      # thin multi-class data: trainings raised to 100 steps, the polish a third of them
        (200, 4, 3, 17),        # plentiful but small: 100 steps is more than twice 10 epochs' 20
        (48000, 784, 10, 3),    # plentiful, but auto left the 10 epochs as they were
    ],
)
def test_the_default_polish_is_a_whole_training_where_auto_lengthened_multiclass_trainings(
        make_dataset, rows, inputs, classes, expected):
    dataset = make_dataset(rows, inputs, classes)
    assert polish_epochs(spec(), dataset) == expected
    assert polish_epochs(spec(min_steps=0), dataset) == 3  # a fixed min_steps: an inheriting child's epochs


def test_a_set_polish_epochs_is_taken_as_it_is(make_dataset):
    plentiful = make_dataset(rows=1000, inputs=64, classes=10)
    assert polish_epochs(spec(polish_epochs=5), plentiful) == 5
    assert polish_epochs(spec(polish_epochs=0), plentiful) == 0


def test_the_device_reaches_the_workers_and_auto_is_the_default(make_dataset):
    data = make_dataset(rows=500, inputs=4, classes=2)
    assert training_settings(spec(), data).device == "auto"
    assert training_settings(spec(device="cpu"), data).device == "cpu"


def test_cuda_without_a_gpu_is_an_error_naming_the_key(make_dataset, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # as on a machine without a GPU
    data = make_dataset(rows=500, inputs=4, classes=2)
    local = parse_spec({"name": "gpu", "task": {"dataset": "digits"}, "training": {"device": "cuda"},
                        "workers": {"backend": "local"}})
    with pytest.raises(SpecError, match=r"training.device = 'cuda'.*no CUDA device.*\"auto\" or \"cpu\""):
        make_evaluator(local, data)  # the local backend trains in this process: it says so at once
    with pytest.raises(SpecError, match=r"training.device = 'cuda'"):  # a worker says so for its candidates
        train([EvaluationRequest("c", minimal_genome(4, 2, np.random.default_rng(0), InnovationTracker(), 1.0), 1)],
              data, training_settings(local, data))


@pytest.mark.parametrize(
    "rows, expected_batch, expected_steps",
    [
        (1000, 128, 8),         # small data: 128 rows a step, as always
        (12800, 128, 100),      # 100 steps of 128: still 128
        (12801, 129, 100),      # more: as many rows as make an epoch 100 steps
        (60000, 600, 100),
        (45001, 451, 100),
    ],
)
def test_auto_batch_size_keeps_an_epoch_at_100_steps_on_large_data(make_dataset, rows, expected_batch, expected_steps):
    dataset = make_dataset(rows=rows, inputs=20, classes=4)
    auto = spec(batch_size="auto")
    assert batch_size(auto, dataset) == expected_batch
    assert training_settings(auto, dataset).batch_size == expected_batch
    assert steps_per_epoch(auto, dataset) == expected_steps


def test_the_default_batch_is_128_on_any_data_and_auto_counts_the_rows_an_epoch_visits(make_dataset):
    large = make_dataset(rows=60000, inputs=20, classes=4)
    assert spec().training.batch_size == 128
    assert training_settings(spec(), large).batch_size == 128
    assert steps_per_epoch(spec(), large) == 469
    assert batch_size(spec(batch_size="auto", epoch_rows=12800), large) == 128  # 12,800 rows an epoch: 100 steps
    assert batch_size(spec(batch_size="auto", epoch_rows=25600), large) == 256


def test_on_large_data_the_training_summary_names_auto_and_what_it_would_do(make_dataset):
    assert training_summary(spec(), make_dataset(rows=60000, inputs=20, classes=4)) == (
        'training: 10 epochs a network (3 after weight inheritance), 469 steps an epoch (batch 128, 60,000 training '
        'rows; training.batch_size = "auto" would take 100 steps an epoch instead)')


def test_the_training_summary_names_auto_only_where_it_would_raise_the_batch(make_dataset):
    small_steps = spec(batch_size=32)  # 125 steps an epoch on 4,000 rows, but auto would keep 128 rows a step
    assert "auto" not in training_summary(small_steps, make_dataset(rows=4000, inputs=20, classes=4))
    assert "auto" not in training_summary(spec(batch_size=2000), make_dataset(rows=60000, inputs=20, classes=4))


def test_the_training_summary_says_when_auto_raised_the_batch(make_dataset):
    assert training_summary(spec(batch_size="auto"), make_dataset(rows=60000, inputs=20, classes=4)) == (
        'training: 10 epochs a network (3 after weight inheritance), 100 steps an epoch (batch 600, 60,000 training '
        'rows; batch raised from 128 by training.batch_size ("auto") to keep an epoch at 100 steps)')


@pytest.mark.parametrize("value", [0, -5, True, "64", 2.5, "big"])
def test_a_batch_size_that_is_not_a_positive_whole_number_or_auto_is_an_error_naming_the_key(value):
    with pytest.raises(SpecError, match="batch_size"):
        spec(batch_size=value)


def test_the_workers_train_with_the_batch_auto_gave(make_dataset):
    local = parse_spec({"name": "batch", "task": {"dataset": "digits"}, "training": {"batch_size": "auto"},
                        "workers": {"backend": "local"}})
    assert make_evaluator(local, make_dataset(rows=30000, inputs=8, classes=3)).settings.batch_size == 300
