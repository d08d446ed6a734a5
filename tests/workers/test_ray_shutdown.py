"""Stopping the Ray this process started: its autoscaler monitor first (it would hang for a second
on Ray's SIGTERM), then Ray's own shutdown, leaving no process of it behind."""

import json
import subprocess
import sys

from tests.support import ROOT

# In a process of its own: this session's other tests keep one Ray running (tests/conftest.py).
STOPPING = """
import json, os
import ray
from connevo.workers.ray_evaluator import _kill_local_monitor, ensure_ray, shutdown_ray
from tests.support import descendants

def monitors():
    return [pid for pid, command in descendants(os.getpid()).items() if "autoscaler" in command and "monitor.py" in command]

@ray.remote
def one():
    return 1

seen = {"started": ensure_ray(num_cpus=1), "monitors": len(monitors())}
seen["killed"] = _kill_local_monitor()
seen["monitors_after"] = len(monitors())
seen["ray_works"] = ray.get(one.remote()) == 1
shutdown_ray()
seen["ray_down"] = not ray.is_initialized()
seen["left"] = sorted(descendants(os.getpid()).values())
seen["again"] = ensure_ray(num_cpus=1) and ray.get(one.remote()) == 1
shutdown_ray()
print(json.dumps(seen))
"""


def test_the_monitor_goes_first_ray_still_works_and_shutdown_leaves_no_process():
    done = subprocess.run([sys.executable, "-c", STOPPING], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={"RAY_DISABLE_USAGE_STATS": "1", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["started"] and seen["monitors"] == 1
    assert seen["killed"] and seen["monitors_after"] == 0
    assert seen["ray_works"] and seen["ray_down"] and seen["again"]
    assert seen["left"] == []
