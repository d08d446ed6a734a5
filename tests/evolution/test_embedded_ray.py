"""A campaign on the embedded Ray loads its data set while Ray starts, and leaves no Ray behind."""

import json
import subprocess
import sys
import threading

from connevo.evolution.embedded_ray import trains_on_embedded_ray
from connevo.evolution.spec import parse_spec
from tests.support import ROOT, small_spec

# In a process of its own: this session's other tests keep one Ray running (tests/conftest.py).
BESIDE_RAY = """
import json, sys
import numpy as np
import ray
from connevo.errors import DataError
from connevo.evolution.embedded_ray import data_loaded_beside_embedded_ray
from connevo.evolution.spec import parse_spec
from connevo.evolution.task import load_task

spec = parse_spec(json.loads(sys.argv[1]))
seen = {}
with data_loaded_beside_embedded_ray(spec) as dataset:
    seen["ray_up_inside"] = ray.is_initialized()
    alone = load_task(spec)
    seen["same_data"] = all(np.array_equal(getattr(dataset, part), getattr(alone, part))
                            for part in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"))
seen["ray_down_after"] = not ray.is_initialized()
broken = parse_spec(dict(json.loads(sys.argv[1]), task={"dataset": sys.argv[2]}))
try:
    with data_loaded_beside_embedded_ray(broken):
        pass
except DataError as exc:
    seen["error"] = str(exc)
seen["ray_down_after_error"] = not ray.is_initialized()
print(json.dumps(seen))
"""


def test_the_data_set_loads_while_the_embedded_ray_starts_and_ray_stops_after(tmp_path):
    spec = small_spec(**{"workers.backend": "ray"})
    missing = tmp_path / "missing.csv"
    done = subprocess.run([sys.executable, "-c", BESIDE_RAY, json.dumps(spec), str(missing)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["ray_up_inside"] and seen["same_data"] and seen["ray_down_after"]
    assert "missing.csv" in seen["error"] and seen["ray_down_after_error"]  # the data set's error, Ray stopped


def test_only_a_campaign_that_would_start_the_embedded_ray_here_starts_it_early():
    assert not trains_on_embedded_ray(parse_spec(small_spec(**{"workers.backend": "local"})))
    assert not trains_on_embedded_ray(parse_spec(small_spec(**{"workers.backend": "ray",
                                                               "workers.ray_address": "ray://head:10001"})))
    from_a_thread = []
    thread = threading.Thread(target=lambda: from_a_thread.append(
        trains_on_embedded_ray(parse_spec(small_spec(**{"workers.backend": "ray"})))))
    thread.start()
    thread.join()
    assert from_a_thread == [False]  # Ray starts only from the main thread: the campaign starts it later
