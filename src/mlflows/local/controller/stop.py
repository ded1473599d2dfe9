"""The event that stops a run (or one node: its deadline), and that wakes whoever waits on it.

A thread blocked on something else — a process, a parallelism slot — registers a listener while
it waits, so setting the event wakes it at once; nothing polls the event.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class StopEvent(threading.Event):
    """A :class:`threading.Event` that also calls its listeners when it is set."""

    def __init__(self) -> None:
        super().__init__()
        self._listeners: list[Callable[[], None]] = []
        self._listeners_lock = threading.Lock()

    def set(self) -> None:
        super().set()
        with self._listeners_lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener()

    @contextmanager
    def listening(self, listener: Callable[[], None]) -> Iterator[None]:
        """Call ``listener`` when the event is set while the block runs (at once if it is)."""
        with self._listeners_lock:
            self._listeners.append(listener)
        try:
            if self.is_set():
                listener()
            yield
        finally:
            with self._listeners_lock:
                self._listeners.remove(listener)
