"""Short leases in the shared cache: who processes a live session, who consumes its SSE.

With REDIS_URL the cache is Redis, so a lease holds across every server process;
without it, the cache is per process, which is right for the single process the
embedded default runs. A holder renews its lease while alive; a crashed holder's
lease runs out after `seconds`, and the next caller takes over.
"""

import os
import uuid

from sessions_app.services.shared_cache import shared_cache

# Identifies this process as a lease holder.
PROCESS_TOKEN = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"


class Lease:
    def __init__(self, name: str, seconds: int, holder: str | None = None):
        self.key = f"lease:{name}"
        self.seconds = seconds
        self.holder = holder or f"{PROCESS_TOKEN}-{uuid.uuid4().hex[:8]}"

    def acquire(self) -> bool:
        # cache.add is atomic "set if absent" on Redis (SET NX) and locmem.
        return shared_cache().add(self.key, self.holder, timeout=self.seconds) or self.held()

    def held(self) -> bool:
        return shared_cache().get(self.key) == self.holder

    def taken(self) -> bool:
        """Whether anyone holds it."""
        return shared_cache().get(self.key) is not None

    def renew(self) -> bool:
        if not self.held():
            return False
        shared_cache().touch(self.key, timeout=self.seconds)
        return True

    def release(self) -> None:
        if self.held():
            shared_cache().delete(self.key)
