"""Django's ASGI handler, with each request's sync work on a pooled thread.

Django runs the thread-sensitive sync code of a request (signal receivers, sync
middleware and views, database_sync_to_async) in a ThreadSensitiveContext. Without
an executor, that context starts a thread for each request and another to join it
at the end, and the event loop waits for each start. On a loaded machine that
waiting was over a third of the event loop's time per chunk upload.

Here each request borrows a one-thread executor from a pool and gives it back.
The semantics stay Django's: one thread per request at a time, so a transaction
spanning several hops stays on its thread and connection. But no thread is
started per request, and a thread keeps its database connection between
requests where the settings allow it (SQLite).
"""

from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext
from django.core.handlers.asgi import ASGIHandler


class ExecutorPool:
    """One-thread executors lent to requests. Used from the event loop only, so it
    needs no lock. Idle executors beyond `keep` are shut down as they come back."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self._idle: list[ThreadPoolExecutor] = []

    def borrow(self) -> ThreadPoolExecutor:
        if self._idle:
            return self._idle.pop()  # the most recently used: its thread is warm
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="request")

    def give_back(self, executor: ThreadPoolExecutor) -> None:
        if len(self._idle) < self.keep:
            self._idle.append(executor)
        else:
            executor.shutdown(wait=False)

    @property
    def idle(self) -> int:
        return len(self._idle)


class PooledThreadASGIHandler(ASGIHandler):
    def __init__(self, keep_threads: int = 32) -> None:
        super().__init__()
        self.threads = ExecutorPool(keep_threads)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        executor = self.threads.borrow()
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            # Work a cancelled request left running finishes first; the next
            # borrower's calls queue behind it on the same thread.
            self.threads.give_back(executor)


def get_asgi_application() -> PooledThreadASGIHandler:
    """django.core.asgi.get_asgi_application, with this handler."""
    import django

    django.setup(set_prefix=False)
    return PooledThreadASGIHandler()
