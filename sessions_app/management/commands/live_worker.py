"""`manage.py live_worker`: run live sessions' analysis away from the servers."""

import asyncio
import os
import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from sessions_app.pipeline.live_worker import serve
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
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        warm_up()
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(stop)
