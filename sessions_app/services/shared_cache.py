"""The cache as one object per process, for code that runs on many threads.

`django.core.cache.cache` is a different object in every thread and async context,
and Django's Redis backend keeps its connection pool on that object. Async views
run their sync work on a fresh thread per request, so through it every chunk
upload would open (and leak) a Redis connection. One backend per process keeps one
pool; redis-py's pool and the local-memory backend are both thread-safe.

`compare_and_act()` adds what the cache API lacks and leases need: "extend this
key's expiry / delete this key, only if it still holds my value", as one step. A
`get` followed by `touch` or `delete` leaves a gap in which the key can expire and be
taken by someone else, whose entry the `touch` / `delete` then hits.

    ops = compare_and_act()
    ops.add(key, value, seconds)              # set if absent (atomic in the cache already)
    ops.expire_if_equal(key, value, seconds)  # True if it held `value` and was extended
    ops.delete_if_equal(key, value)           # True if it held `value` and was deleted
"""

import threading
from functools import cache as once
from typing import Any, Protocol

from django.core.cache import BaseCache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import ImproperlyConfigured


@once
def shared_cache() -> BaseCache:
    return caches.create_connection("default")


class CompareAndAct(Protocol):
    def add(self, key: str, value: Any, seconds: int) -> bool: ...

    def expire_if_equal(self, key: str, value: Any, seconds: int) -> bool: ...

    def delete_if_equal(self, key: str, value: Any) -> bool: ...


# Each runs in Redis as one command: nothing else runs between its GET and its act.
_EXPIRE_IF_EQUAL = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('expire', KEYS[1], ARGV[2])
end
return 0
"""
_DELETE_IF_EQUAL = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class _RedisCompareAndAct:
    def __init__(self, cache: RedisCache):
        self._cache = cache
        # Django's backend has no public door to its client or serializer; the script
        # must see the key and value exactly as cache.add stored them.
        self._client = cache._cache
        writer = self._client.get_client(write=True)
        self._expire = writer.register_script(_EXPIRE_IF_EQUAL)
        self._delete = writer.register_script(_DELETE_IF_EQUAL)

    def add(self, key: str, value: Any, seconds: int) -> bool:
        return self._cache.add(key, value, timeout=seconds)

    def expire_if_equal(self, key: str, value: Any, seconds: int) -> bool:
        return bool(self._expire(keys=[self._key(key)], args=[self._value(value), seconds]))

    def delete_if_equal(self, key: str, value: Any) -> bool:
        return bool(self._delete(keys=[self._key(key)], args=[self._value(value)]))

    def _key(self, key: str) -> str:
        return self._cache.make_and_validate_key(key)

    def _value(self, value: Any) -> Any:
        return self._client._serializer.dumps(value)


class _LocalCompareAndAct:
    """The local-memory cache is seen by this process only, so one lock held over every
    write through here makes each compare-and-act atomic. `add` takes it too: otherwise
    a key could expire and be taken between the compare and the act."""

    def __init__(self, cache: LocMemCache):
        self._cache = cache
        self._lock = threading.Lock()

    def add(self, key: str, value: Any, seconds: int) -> bool:
        with self._lock:
            return self._cache.add(key, value, timeout=seconds)

    def expire_if_equal(self, key: str, value: Any, seconds: int) -> bool:
        with self._lock:
            return self._cache.get(key) == value and self._cache.touch(key, timeout=seconds)

    def delete_if_equal(self, key: str, value: Any) -> bool:
        with self._lock:
            return self._cache.get(key) == value and self._cache.delete(key)


@once
def compare_and_act() -> CompareAndAct:
    cache = shared_cache()
    if isinstance(cache, RedisCache):
        return _RedisCompareAndAct(cache)
    if isinstance(cache, LocMemCache):
        return _LocalCompareAndAct(cache)
    # Another backend may be shared between processes, where a lock here protects nothing.
    raise ImproperlyConfigured(f"leases need the Redis or local-memory cache, not {cache!r}")
