"""The cache as one object per process, for code that runs on many threads.

`django.core.cache.cache` is a different object in every thread and async context,
and Django's Redis backend keeps its connection pool on that object. Async views
run their sync work on a fresh thread per request, so through it every chunk
upload would open (and leak) a Redis connection. One backend per process keeps one
pool; redis-py's pool and the local-memory backend are both thread-safe.
"""

from functools import cache as once

from django.core.cache import BaseCache, caches


@once
def shared_cache() -> BaseCache:
    return caches.create_connection("default")
