"""Pausing Python's cyclic garbage collector while a request body becomes Python objects.

Decoding 100,000 points with orjson creates 100,000 small lists. Every 700 new
container objects start a collection, so the older generations are scanned again
and again while the lists pile up. The serving benchmark in docs/benchmarks.md
measures orjson on such a body with the collector running, with the start-up
objects frozen, and with the collector paused as well. The lists are freed by
reference counting when the request ends, so pausing leaks nothing.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cyclic collector inside the block; nested and threaded use is safe.

    The first block to enter disables it, and the last to leave restores the
    state it found, so a collector that was already disabled stays disabled.
    """
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()


def freeze_startup_objects() -> None:
    """Move every object alive now into the permanent generation, out of later collections.

    After start-up the process has about 200,000 objects from torch, FastAPI and
    pydantic that live as long as it does, and a full collection would otherwise
    walk all of them each time. The entry points call this once the app is built.
    """
    gc.freeze()
