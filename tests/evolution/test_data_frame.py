"""A pandas DataFrame as the data of a campaign (`connevo.run(spec, store, data=frame)`): saved
once by content, named by the stored spec, so the campaign resumes and exports like any other."""

import numpy as np
import pandas as pd
import pytest

import connevo
from connevo.errors import SpecError
from connevo.evolution import Campaign, parse_spec
from connevo.results.store import open_store
from tests.support import Crash, CrashAfter, comparable


def frame(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(240, 3))
    return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2],
                         "label": np.where(x[:, 0] + x[:, 1] > 0, "pos", "neg")})


SPEC = {"name": "from-a-frame", "seed": 1, "evolution": {"population": 6, "generations": 2},
        "training": {"epochs": 5, "polish_epochs": 0, "min_steps": 0}, "workers": {"backend": "local"}}


def test_a_data_frame_is_saved_by_content_and_named_by_the_campaign(tmp_path):
    result = connevo.run(SPEC, str(tmp_path / "s.db"), data=frame())
    saved = result.info()["spec"]["task"]["dataset"]
    assert saved.startswith(str(tmp_path / "connevo-data")) and saved.endswith(".parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(saved), frame())
    assert result.info()["status"] == "finished" and len(result.front()) >= 1
    again = connevo.run(SPEC, str(tmp_path / "s.db"), data=frame())
    assert again.info()["spec"]["task"]["dataset"] == saved  # the same frame, the same file
    other = connevo.run(SPEC, str(tmp_path / "s.db"), data=frame(seed=1))
    assert other.info()["spec"]["task"]["dataset"] != saved
    model = connevo.load_model(result.front()["candidate_id"].iloc[-1], store=result.store)
    assert model.classes == ["neg", "pos"] and model.features == ["a", "b", "c"]


def test_a_campaign_on_a_data_frame_resumes_to_the_uninterrupted_result(tmp_path):
    reference = connevo.run(SPEC, str(tmp_path / "ref.db"), data=frame())
    path = reference.info()["spec"]["task"]["dataset"]
    store = open_store(str(tmp_path / "cut.db"))
    campaign = Campaign(parse_spec({**SPEC, "task": {"dataset": path}}), store, observers=[CrashAfter(1)])
    with pytest.raises(Crash):
        campaign.run()
    resumed = connevo.resume(campaign.id, store)
    assert comparable(resumed.candidates(), resumed.campaign_id) == \
        comparable(reference.candidates(), reference.campaign_id)


def test_x_y_arrays_are_a_frame_with_the_target_column(tmp_path):
    table = frame()
    x, y = table[["a", "b", "c"]].to_numpy(), table["label"].to_numpy()
    result = connevo.run({**SPEC, "task": {"target": "kind"}}, str(tmp_path / "s.db"), data=(x, y))
    saved = pd.read_parquet(result.info()["spec"]["task"]["dataset"])
    assert list(saved.columns) == ["x0", "x1", "x2", "kind"] and (saved["kind"] == table["label"]).all()
    np.testing.assert_array_equal(saved[["x0", "x1", "x2"]].to_numpy(), x)
    assert result.info()["status"] == "finished"
    named = connevo.run(SPEC, str(tmp_path / "s.db"), data=(table[["a", "b", "c"]], list(y)))
    assert named.info()["spec"]["task"]["dataset"] == connevo.run(SPEC, str(tmp_path / "s.db"), data=table).info()[
        "spec"]["task"]["dataset"]  # a DataFrame X keeps its names: the same content, the same file


@pytest.mark.parametrize(("data", "words"), [
    ([[1, 2]], "data: give a pandas DataFrame or \\(X, y\\), got a sequence of 1"),
    ("table.csv", "data must be a pandas DataFrame, got str"),
    (pd.DataFrame(), "data: the data frame has no rows"),
    ((np.zeros(3), np.zeros(3)), "data: X must be 2-D"),
    ((np.zeros((3, 2)), np.zeros((3, 1))), "data: y must be 1-D"),
    ((np.zeros((3, 2)), np.zeros(4)), "data: X has 3 rows but y has 4"),
    ((pd.DataFrame({"label": [1, 2]}), [0, 1]), "data: X has a column named 'label'"),
])
def test_data_that_is_no_usable_frame_is_refused_naming_data(tmp_path, data, words):
    with pytest.raises(SpecError, match=words):
        connevo.run(SPEC, str(tmp_path / "s.db"), data=data)
