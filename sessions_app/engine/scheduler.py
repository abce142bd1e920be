"""Process-wide inference scheduler: a bounded priority queue in front of the model.

Why not a plain ThreadPoolExecutor: its queue is unbounded (work would be served
arbitrarily late) and FIFO (a stream's final would wait behind other streams' partials).

Sizes come from the engine settings (``engine.settings.current()``), installed at start-up:

* ``workers`` threads (ENGINE_WORKERS, default 2 = the cores of the reference box);
  CTranslate2 releases the GIL, so they run inference in parallel.
* At most ``queue_size`` jobs wait (ENGINE_QUEUE_SIZE, default 16). Jobs run in priority
  order: FINAL, then SPEECH (a voice call's text-to-speech), then BATCH, then PARTIAL;
  FIFO within a priority. Speech shares the cores with recognition but never runs
  before a queued final, so one call's reply cannot starve another call's finals.
* Partials are best effort: they may only use half of the queue, a queued partial is
  evicted when a more important job needs its slot, and a partial that waited longer
  than ``partial_max_wait`` is dropped instead of run (its result would be stale).
  Dropped partials complete with ``PartialDropped``.
* When the queue is full of non-partial work, ``submit`` raises ``EngineOverloaded``
  immediately: refusing is better than answering late. The same happens when the
  expected wait exceeds ENGINE_MAX_WAIT (new batch jobs, admission via
  ``ensure_capacity``) or twice that (finals and speech of running calls), except for the
  patient finals of streams that keep their audio and may fall behind (live capture).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import heapq
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, TypeVar

from .errors import EngineOverloaded, PartialDropped
from .settings import current

T = TypeVar("T")


class Priority(IntEnum):
    FINAL = 0
    SPEECH = 1  # below finals, above batch files: a caller is waiting to hear the reply
    BATCH = 2
    PARTIAL = 3


@dataclass(order=True, slots=True)
class _Job:
    priority: int
    seq: int
    fn: Callable[[], Any] = field(compare=False)
    future: concurrent.futures.Future = field(compare=False)
    enqueued: float = field(compare=False, default=0.0)
    cancelled: bool = field(compare=False, default=False)


@dataclass(slots=True)
class SchedulerStats:
    submitted: int = 0
    completed: int = 0
    refused: int = 0  # EngineOverloaded raised
    partials_dropped: int = 0  # partials refused, evicted or expired
    max_depth: int = 0


class Scheduler:
    def __init__(
        self,
        workers: int | None = None,
        queue_size: int | None = None,
        *,
        partial_max_wait: float = 1.0,
    ) -> None:
        settings = current()
        self.workers = workers or settings.workers
        self.queue_size = queue_size or settings.queue_size
        self.partial_limit = max(1, self.queue_size // 2)
        # Partials and batch jobs never occupy every worker: one stays free for finals,
        # so a final waits for at most one other final, not for best-effort work.
        self.partial_running_limit = max(1, self.workers - 1)
        self.batch_limit = max(1, self.workers - 1)
        self.partial_max_wait = partial_max_wait
        # Admission budget: a new session/batch job is refused when the queued work ahead
        # of it would take longer than this to drain (ENGINE_MAX_WAIT seconds).
        self.max_wait = settings.max_wait
        # Finals of running streams get twice the budget before they are refused.
        self.final_max_wait = 2 * self.max_wait
        self.avg_job_seconds = 0.45  # EWMA of job run time; tiny.en on one core
        self.stats = SchedulerStats()
        self._heap: list[_Job] = []
        self._running: dict[int, int] = {p: 0 for p in Priority}
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._closed = False
        self._threads = [
            threading.Thread(target=self._worker, name=f"engine-worker-{i}", daemon=True)
            for i in range(self.workers)
        ]
        for t in self._threads:
            t.start()

    # -- introspection -------------------------------------------------------------
    @staticmethod
    def _live(job: _Job) -> bool:
        return not job.cancelled and not job.future.done()

    def _queued(self, priority: Priority | None = None) -> int:
        return sum(
            1 for j in self._heap if self._live(j) and (priority is None or j.priority == priority)
        )

    @property
    def depth(self) -> int:
        """Jobs waiting (not running)."""
        return self._queued()

    @property
    def running(self) -> int:
        return sum(self._running.values())

    def busy(self) -> float:
        """Load in [0, 1+]: 1.0 means every worker busy and the queue half full."""
        return (self.running + self.depth) / (self.workers + self.partial_limit)

    def expected_wait(self) -> float:
        """Seconds before a new FINAL/BATCH job would start (queued + running work)."""
        ahead = self.depth - self._queued(Priority.PARTIAL) + self.running
        return max(0, ahead - self.workers + 1) * self.avg_job_seconds / self.workers

    def has_capacity(self) -> bool:
        """Admission check for a new session or batch job: queue room and a short wait."""
        with self._cond:
            queued = self.depth - self._queued(Priority.PARTIAL)
            return queued < self.queue_size and self.expected_wait() <= self.max_wait

    def ensure_capacity(self) -> None:
        """Raise EngineOverloaded when a new session should be refused."""
        if not self.has_capacity():
            raise EngineOverloaded("speech engine is at capacity")

    # -- submission ---------------------------------------------------------------
    @staticmethod
    def _fail(job: _Job, exc: BaseException) -> None:
        job.cancelled = True
        # The caller may have cancelled it meanwhile: then there is nothing to report.
        with contextlib.suppress(concurrent.futures.InvalidStateError):
            job.future.set_exception(exc)

    def _evict_partial(self) -> bool:
        # Evict the newest queued partial: older ones are closer to running.
        victims = [j for j in self._heap if self._live(j) and j.priority == Priority.PARTIAL]
        if not victims:
            return False
        self.stats.partials_dropped += 1
        self._fail(max(victims, key=lambda j: j.seq), PartialDropped("partial shed under load"))
        return True

    def submit(
        self, fn: Callable[[], T], priority: Priority = Priority.BATCH, *, patient: bool = False
    ) -> concurrent.futures.Future:
        """Queue ``fn`` for a worker; raises EngineOverloaded/PartialDropped when refused.

        ``patient``: a FINAL whose stream keeps its audio and can fall behind (live
        capture) queues however long the wait; it is never refused for load. Each such
        stream awaits its final before feeding more, so they cannot flood the queue."""
        future: concurrent.futures.Future = concurrent.futures.Future()
        with self._cond:
            if self._closed:
                raise EngineOverloaded("speech engine is shutting down")
            live = self.depth
            if patient and priority == Priority.FINAL:
                pass  # never refused for load: see the docstring
            elif priority == Priority.PARTIAL:
                if self._queued(Priority.PARTIAL) >= self.partial_limit or live >= self.queue_size:
                    self.stats.partials_dropped += 1
                    raise PartialDropped("partial refused: queue busy")
            elif live >= self.queue_size and not self._evict_partial():
                self.stats.refused += 1
                raise EngineOverloaded("speech engine queue is full")
            elif priority == Priority.BATCH and self.expected_wait() > self.max_wait:
                # New batch work waits behind streams' finals; refuse rather than be late.
                self.stats.refused += 1
                raise EngineOverloaded("speech engine is saturated")
            elif (
                priority in (Priority.FINAL, Priority.SPEECH)
                and self.expected_wait() > self.final_max_wait
            ):
                # Streams wait for their finals, so a queue of finals never fills up; when
                # the machine is saturated (or starved by other processes) latency would
                # grow without bound. Refusing sheds streams so the others stay live.
                # Speech is a running call's too: a reply spoken seconds late is no reply.
                self.stats.refused += 1
                raise EngineOverloaded("speech engine is saturated")
            heapq.heappush(
                self._heap, _Job(int(priority), next(self._seq), fn, future, time.monotonic())
            )
            self.stats.submitted += 1
            self.stats.max_depth = max(self.stats.max_depth, self.depth)
            self._cond.notify()
        return future

    async def run(self, fn: Callable[[], T], priority: Priority = Priority.BATCH) -> T:
        """Await ``fn`` on a worker without blocking the event loop."""
        return await asyncio.wrap_future(self.submit(fn, priority))

    def call(self, fn: Callable[[], T], priority: Priority = Priority.BATCH) -> T:
        """Blocking variant of ``run`` for synchronous callers."""
        return self.submit(fn, priority).result()

    # -- workers ----------------------------------------------------------------------
    def _eligible(self, job: _Job) -> bool:
        if job.priority == Priority.BATCH:
            return self._running[Priority.BATCH] < self.batch_limit
        if job.priority == Priority.PARTIAL:
            return self._running[Priority.PARTIAL] < self.partial_running_limit
        return True

    def _pick(self) -> _Job | None:
        """Highest-priority eligible job, dropping dead and expired entries on the way."""
        self._heap = [j for j in self._heap if self._live(j)]
        heapq.heapify(self._heap)
        now = time.monotonic()
        for job in sorted(self._heap):
            if job.priority == Priority.PARTIAL and now - job.enqueued > self.partial_max_wait:
                self.stats.partials_dropped += 1  # stale: the stream has moved on
                self._fail(job, PartialDropped("partial expired"))
                continue
            if not self._eligible(job):
                continue
            self._heap.remove(job)
            heapq.heapify(self._heap)
            if not job.future.set_running_or_notify_cancel():
                continue
            return job
        return None

    def _next_job(self) -> _Job | None:
        with self._cond:
            while True:
                job = self._pick()
                if job is not None:
                    self._running[job.priority] += 1
                    return job
                if self._closed:
                    return None
                # Timed wait: queued partials expire even when nothing else happens.
                self._cond.wait(timeout=0.5 if self._heap else None)

    def _worker(self) -> None:
        while (job := self._next_job()) is not None:
            started = time.monotonic()
            try:
                result = job.fn()
            except BaseException as exc:  # delivered to the awaiting caller
                job.future.set_exception(exc)
            else:
                job.future.set_result(result)
            finally:
                with self._cond:
                    self._running[job.priority] -= 1
                    self.stats.completed += 1
                    if job.priority != Priority.BATCH:  # batch jobs are whole files
                        took = time.monotonic() - started
                        self.avg_job_seconds = 0.9 * self.avg_job_seconds + 0.1 * took
                    # a finished job may make a held-back partial/batch job eligible
                    self._cond.notify_all()

    def shutdown(self, wait: bool = True) -> None:
        with self._cond:
            self._closed = True
            for job in self._heap:
                job.future.cancel()
            self._heap.clear()
            self._cond.notify_all()
        if wait:
            for t in self._threads:
                t.join()


_scheduler: Scheduler | None = None
_lock = threading.Lock()


def get_scheduler() -> Scheduler:
    """The process-wide scheduler (created on first use, sized from the installed settings)."""
    global _scheduler
    if _scheduler is None:
        with _lock:
            if _scheduler is None:
                _scheduler = Scheduler()
    return _scheduler
