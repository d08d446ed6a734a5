"""A campaign's last write survives the interrupt that ended it, and the next one.

When Ctrl-C (or a failure) ends a campaign, its driver writes the campaign's final status. Two
things could keep that write from happening:

- the interrupt may have cut a store write short anywhere inside SQLAlchemy, and the frames of
  its traceback keep what that write held (its connection, with an open SQLite transaction and
  the file's write lock) until they are freed: :func:`release_interrupted`;
- a second Ctrl-C (or SIGTERM) while the status is being written raises in the middle of that
  write, and the campaign is left ``running`` with a dead driver (resumable, but shown as
  running): :func:`interrupts_deferred` holds those signals back until the write is done, and
  they are delivered then.
"""

from __future__ import annotations

import gc
import signal
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

DEFERRED_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})
"""The signals held back while a campaign writes its end."""


def release_interrupted(exc: BaseException) -> None:
    """Let go of what the code ``exc`` interrupted still holds, before the campaign's last write.

    Once in 100 Ctrl-Cs sent at random moments the final status could otherwise not be written
    ("database is locked" after the 30 s busy timeout; none in 170 more with this). Clearing the
    finished frames' locals and collecting returns such a connection to SQLAlchemy's pool, which
    rolls it back; the traceback keeps its files and line numbers."""
    traceback.clear_frames(exc.__traceback__)
    gc.collect()


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back while the block runs (in the main thread, where Python runs
    signal handlers): one that arrives meanwhile is raised again when the block ends, to the
    handler that was in place (Ctrl-C's KeyboardInterrupt, :mod:`service.signals`' SIGTERM).
    Python's own handlers are swapped, not the thread's signal mask: a process-directed signal
    goes to any thread that does not block it, and Python would still interrupt the main one.
    Elsewhere (another thread) the block runs as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []

    def hold(received: int, _frame: Any) -> None:
        held.append(received)

    previous: dict[int, Any] = {}
    for signum in DEFERRED_SIGNALS:
        handler = signal.getsignal(signum)
        if handler is not None:  # None: a handler not installed from Python, which cannot be put back
            previous[signum] = signal.signal(signum, hold)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            if signal.getsignal(signum) is hold:  # the block may have set one of its own (an observer's restore)
                signal.signal(signum, handler)
        if held:
            signal.raise_signal(held[0])


__all__ = ["DEFERRED_SIGNALS", "interrupts_deferred", "release_interrupted"]
