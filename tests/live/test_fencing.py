"""Fencing a live session's writers: a lease acts only for its own holder."""

import threading
import time
import uuid
from collections.abc import Callable

import pytest

from sessions_app.services.leases import Lease
from sessions_app.services.shared_cache import shared_cache

# -- leases --------------------------------------------------------------------------


class TakeoverAtFirstLook:
    """Between a stale holder's look at its lease and what it does next, the lease
    runs out and another holder takes it (on another thread, as another worker would).

    The takeover starts at the holder's first `get` of the lease key and is given a
    moment to finish before that `get` returns; where the holder's check and act are
    one atomic step, there is no such moment, and the takeover happens after it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, stale: Lease, successor: Lease):
        self.stale, self.successor = stale, successor
        self.thread: threading.Thread | None = None
        cache = shared_cache()
        original_get = cache.get
        holder_thread = threading.get_ident()

        def get(key, *args, **kwargs):
            value = original_get(key, *args, **kwargs)
            if key == stale.key and threading.get_ident() == holder_thread:
                self._start()
                self.thread.join(timeout=0.3)  # blocked only if check-and-act is atomic
            return value

        monkeypatch.setattr(cache, "get", get)

    def _start(self) -> None:
        if self.thread is None:

            def take_over() -> None:
                shared_cache().delete(self.stale.key)  # its time ran out
                assert self.successor.acquire()

            self.thread = threading.Thread(target=take_over, daemon=True)
            self.thread.start()

    def run(self, act: Callable[[], object]) -> None:
        act()
        self._start()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive()


def _leases(seconds_stale: int, seconds_successor: int) -> tuple[Lease, Lease]:
    name = f"fence-test-{uuid.uuid4().hex}"
    stale = Lease(name, seconds_stale, holder="stale")
    successor = Lease(name, seconds_successor, holder="successor")
    assert stale.acquire()
    return stale, successor


def test_renew_never_extends_or_shortens_a_lease_that_passed_to_another_holder(monkeypatch):
    stale, successor = _leases(seconds_stale=1, seconds_successor=60)
    TakeoverAtFirstLook(monkeypatch, stale, successor).run(stale.renew)
    monkeypatch.undo()
    # A renew that reached the successor's entry would have cut it to the stale one's 1 s.
    time.sleep(1.3)
    assert successor.held()
    assert not stale.renew()
    assert successor.held()


def test_release_never_frees_a_lease_that_passed_to_another_holder(monkeypatch):
    stale, successor = _leases(seconds_stale=30, seconds_successor=30)
    TakeoverAtFirstLook(monkeypatch, stale, successor).run(stale.release)
    monkeypatch.undo()
    assert successor.held()
    stale.release()
    assert successor.held()
    successor.release()


def test_renew_and_release_act_on_the_holders_own_lease():
    lease = Lease(f"fence-test-{uuid.uuid4().hex}", 1)
    assert lease.acquire()
    lease.seconds = 60
    assert lease.renew()
    time.sleep(1.3)  # past the first term: the renewal extended it
    assert lease.held()
    lease.release()
    assert not lease.taken()
    assert not lease.renew()
