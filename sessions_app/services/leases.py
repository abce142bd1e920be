"""Short leases in the shared cache: who processes a live session, who consumes its SSE.

With REDIS_URL the cache is Redis, so a lease holds across every server process;
without it, the cache is per process, which is right for the single process the
embedded default runs. A holder renews its lease while alive; a crashed holder's
lease runs out after `seconds`, and the next caller takes over.

Acquire, renew and release are each one atomic step (shared_cache.compare_and_act):
renew and release act only on a lease that still names this holder, so a holder
whose lease ran out and passed to another never extends or frees the new holder's.

A lease says who *should* be working, not who is: a holder stalled past its lease
learns it only at its next renew. What it writes meanwhile is fenced by the
database instead (sessions.claim_writer / Fenced): acquire the lease, then claim.
"""

import os
import uuid

from sessions_app.services.shared_cache import compare_and_act, shared_cache

# Identifies this process as a lease holder.
PROCESS_TOKEN = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"


class Lease:
    def __init__(self, name: str, seconds: int, holder: str | None = None):
        self.key = f"lease:{name}"
        self.seconds = seconds
        self.holder = holder or f"{PROCESS_TOKEN}-{uuid.uuid4().hex[:8]}"

    def acquire(self) -> bool:
        """Take the lease if nobody holds it; True also if this holder already does."""
        return compare_and_act().add(self.key, self.holder, self.seconds) or self.held()

    def held(self) -> bool:
        return shared_cache().get(self.key) == self.holder

    def taken(self) -> bool:
        """Whether anyone holds it."""
        return shared_cache().get(self.key) is not None

    def renew(self) -> bool:
        """Extend the lease by `seconds`; False, touching nothing, if it is no longer ours."""
        return compare_and_act().expire_if_equal(self.key, self.holder, self.seconds)

    def release(self) -> None:
        """Free the lease if it is still ours; another's is left alone."""
        compare_and_act().delete_if_equal(self.key, self.holder)
