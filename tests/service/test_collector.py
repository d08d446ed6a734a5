"""The collector setting of the processes connevo owns (connevo.collector, service.freezing)."""

import gc

from connevo.collector import freeze_long_lived_objects, hold_collections
from connevo.evolution import run
from connevo.service import freezing
from tests.support import small_spec


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
