import gc
import threading

import pytest

from service.gcpause import freeze_startup_objects, gc_paused


@pytest.fixture
def collector_enabled():
    was_enabled = gc.isenabled()
    gc.enable()
    yield
    if not was_enabled:
        gc.disable()


def test_paused_inside_and_restored_after(collector_enabled):
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_nested_blocks_restore_once(collector_enabled):
    with gc_paused():
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_restored_after_exception(collector_enabled):
    with pytest.raises(ValueError), gc_paused():
        raise ValueError("boom")
    assert gc.isenabled()


def test_disabled_collector_stays_disabled(collector_enabled):
    gc.disable()
    with gc_paused():
        pass
    assert not gc.isenabled()
    gc.enable()


def test_overlapping_threads_restore_collector(collector_enabled):
    first_inside, release_first = threading.Event(), threading.Event()

    def hold():
        with gc_paused():
            first_inside.set()
            release_first.wait(5)

    thread = threading.Thread(target=hold)
    thread.start()
    first_inside.wait(5)
    # The second block leaves while the first is still inside: still paused.
    with gc_paused():
        pass
    assert not gc.isenabled()

    release_first.set()
    thread.join(5)
    assert gc.isenabled()


def test_freeze_moves_objects_out_of_collections():
    try:
        freeze_startup_objects()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
