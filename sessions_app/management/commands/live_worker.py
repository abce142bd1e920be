"""`manage.py live_worker`: run live sessions' analysis away from the servers."""

import asyncio
import contextlib
import os
import signal
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from sessions_app.pipeline.capture_worker import serve
from sessions_app.warmup import warm_up


class Command(BaseCommand):
    help = (
        "Process live sessions (ASR, agents, billing) for servers started with "
        "LIVE_WORKERS=true. Run one or more; SIGTERM hands their sessions back."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--nice",
            type=int,
            default=0,
            help="lower this process's CPU priority by this much (0-19), so that servers "
            "on the same machine answer requests first",
        )
        parser.add_argument(
            "--idle",
            action="store_true",
            help="run only on CPU time nothing else wants (Linux SCHED_IDLE): servers on "
            "the same machine are never kept waiting by analysis, which falls behind "
            "while they are busy and catches up after",
        )

    def handle(self, *args, nice: int, idle: bool, **options):
        if not settings.LIVE_WORKERS:
            raise CommandError(
                "live workers only serve servers started with LIVE_WORKERS=true (and REDIS_URL)"
            )
        if not 0 <= nice <= 19:
            raise CommandError("--nice must be between 0 and 19")
        if nice:
            os.nice(nice)
        if idle:
            if not hasattr(os, "SCHED_IDLE"):
                raise CommandError("--idle needs Linux (SCHED_IDLE)")
            # Before warm-up: the inference threads it starts inherit the policy.
            _run_on_idle_cpu_only()
        warm_up()
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(stop)


def _run_on_idle_cpu_only() -> None:
    os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    # With autogroup scheduling the kernel first shares the CPU between sessions,
    # whatever their processes' policies, so a busy worker's session would still
    # hold back the database's. A worker that leads its own session (as a service
    # manager starts it) gives that session the lowest weight too. It never touches
    # another session: that would be the operator's shell.
    autogroup = Path("/proc/self/autogroup")
    if os.getsid(0) == os.getpid() and autogroup.exists():
        with contextlib.suppress(OSError):
            autogroup.write_text("19")
