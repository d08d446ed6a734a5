"""A second Ctrl-C while a campaign writes its end waits until the end is written."""

from __future__ import annotations

import signal
import threading

import pytest

from connevo.evolution import Campaign, CampaignObserver, parse_spec
from connevo.evolution.interrupts import interrupts_deferred
from connevo.results.store import open_store
from connevo.service.signals import GracefulTermination
from tests.support import small_spec


def test_a_signal_in_the_block_is_raised_when_it_ends_to_the_handler_in_place() -> None:
    before = signal.getsignal(signal.SIGINT)
    reached_the_end = False
    with pytest.raises(KeyboardInterrupt):
        with interrupts_deferred():
            signal.raise_signal(signal.SIGINT)
            reached_the_end = True
    assert reached_the_end
    assert signal.getsignal(signal.SIGINT) is before


def test_a_handler_the_block_sets_stays_after_it() -> None:
    """An observer that puts its predecessor back inside the block (service.signals' SIGTERM
    handler, on the campaign's end) is not undone when the block ends."""
    before = signal.getsignal(signal.SIGTERM)

    def own(signum, frame) -> None:
        pass

    try:
        with interrupts_deferred():
            signal.signal(signal.SIGTERM, own)
        assert signal.getsignal(signal.SIGTERM) is own
    finally:
        signal.signal(signal.SIGTERM, before)


def test_a_block_without_signals_changes_nothing_and_other_threads_are_left_alone() -> None:
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    with interrupts_deferred():
        pass
    assert {s: signal.getsignal(s) for s in before} == before
    seen: list[object] = []

    def elsewhere() -> None:
        with interrupts_deferred():  # no handler can be set outside the main thread: nothing is swapped
            seen.append(signal.getsignal(signal.SIGINT))

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join()
    assert seen == [before[signal.SIGINT]]


class CtrlC(CampaignObserver):
    """Ctrl-C after generation 1's commit."""

    def on_generation_end(self, campaign, summary, rows, checkpoint) -> None:
        if summary.generation == 1:
            raise KeyboardInterrupt


def test_a_second_ctrl_c_while_the_end_is_written_leaves_the_campaign_stopped(tmp_path) -> None:
    store = open_store(tmp_path / "s.db")
    write_end = store.set_campaign_status

    def pressed_again_meanwhile(*args, **kwargs):
        signal.raise_signal(signal.SIGINT)  # the second Ctrl-C, as the end is being written
        return write_end(*args, **kwargs)

    store.set_campaign_status = pressed_again_meanwhile  # type: ignore[method-assign]
    sigterm_before = signal.getsignal(signal.SIGTERM)
    campaign = Campaign(parse_spec(small_spec(**{"evolution.generations": 3})), store,
                        observers=[CtrlC(), GracefulTermination()])
    with pytest.raises(KeyboardInterrupt):
        campaign.run()
    assert signal.getsignal(signal.SIGTERM) is sigterm_before  # the SIGTERM observer's handler is gone
    info = store.get_campaign(campaign.id)
    assert (info["status"], info["driver"], info["generations_done"]) == ("stopped", None, 2)
    assert info["error"] == "KeyboardInterrupt: "
