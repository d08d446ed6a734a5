"""The collector setting of the processes connevo owns (connevo.collector, service.freezing)."""

import gc
import subprocess
import sys

from connevo.collector import freeze_long_lived_objects, hold_collections
from connevo.evolution import run
from connevo.service import freezing
from tests.support import ROOT, small_spec


def test_collections_held_for_the_imports_run_again_once_what_is_alive_is_frozen():
    import torch  # noqa: F401  (what a campaign or a server has imported by then)

    try:
        hold_collections()
        assert not gc.isenabled()
        freeze_long_lived_objects()
        assert gc.isenabled()
        frozen = gc.get_freeze_count()
        assert frozen > 100_000  # the modules' objects (torch alone holds more)
        assert len(gc.get_objects()) < frozen  # a full collection now scans far fewer
    finally:
        gc.unfreeze()
        gc.enable()


def test_a_campaign_process_freezes_once_more_after_its_first_generation(store_path, monkeypatch):
    freezes = []
    monkeypatch.setattr(freezing, "freeze_long_lived_objects", lambda: freezes.append(gc.get_count()))
    observer = freezing.FreezeAfterFirstGeneration()
    run(small_spec(**{"evolution.generations": 2}), str(store_path), observers=[observer])
    assert len(freezes) == 1 and observer.done


FROZEN_AT_EXIT = """
import gc, sys
from connevo.service.cli import main
sys.argv = ["connevo", "ls", "--store", sys.argv[1]]
status = main()  # the command line's own process
print("@", status, gc.get_freeze_count(), len(gc.get_objects()))
gc.unfreeze()
status = main(["ls", "--store", sys.argv[3]])  # a program calling main() itself
print("@", status, gc.get_freeze_count())
"""


def test_a_command_line_command_freezes_what_is_alive_before_its_process_exits(tmp_path):
    """The interpreter's collections at exit then skip every live object (with torch imported a
    process's exit took 0.37 s, 0.18 s so); a program calling main() itself keeps its collector."""
    done = subprocess.run([sys.executable, "-c", FROZEN_AT_EXIT, str(tmp_path / "s.db")], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    first, second = [line.split()[1:] for line in done.stdout.splitlines() if line.startswith("@ ")]
    status, frozen, left = map(int, first)
    assert status == 0 and frozen > 50_000 and left < frozen / 100
    assert second == ["0", "0"]


def test_a_process_that_imported_triton_is_left_to_collect_at_exit_as_usual():
    """triton's native bindings report the objects a frozen cycle still holds as leaked at exit."""
    code = ("import gc, sys; sys.modules.setdefault('triton', type(sys)('triton')); "
            "from connevo.collector import freeze_before_exit; freeze_before_exit(); print(gc.get_freeze_count())")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0"]
