"""Counters for GET /metrics, shared across processes through the cache (Redis in production)."""

from collections import Counter
from collections.abc import Iterable

from sessions_app.services.shared_cache import shared_cache

_PREFIX = "metrics:events:"


def count_events(names: list[str]) -> None:
    for name, count in Counter(names).items():
        key = _PREFIX + name
        # add() is a no-op when the key exists; incr() is atomic on Redis and locmem.
        shared_cache().add(key, 0, timeout=None)
        try:
            shared_cache().incr(key, count)
        except ValueError:  # evicted between add and incr
            shared_cache().set(key, count, timeout=None)


def event_counts(names: Iterable[str]) -> dict[str, int]:
    names = list(names)
    values = shared_cache().get_many([_PREFIX + name for name in names])
    return {name: int(values.get(_PREFIX + name, 0)) for name in names}
