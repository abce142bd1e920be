"""CPU the benchmark's processes use, from /proc (not a benchmark itself)."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import _report

if TYPE_CHECKING:
    from _server import Server


def proc_cpu(stat: Path) -> float:
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def _server_cpu(server: Server) -> float:
    """CPU time (user + system, all threads) the daphne processes have used so far."""
    return sum(proc_cpu(Path(f"/proc/{p.pid}/stat")) for p in server.servers)


def _worker_cpu(server: Server) -> float:
    return sum(proc_cpu(Path(f"/proc/{w.pid}/stat")) for w in server.workers)


def _loop_cpu(server: Server) -> float:
    """CPU time of daphne's main threads: the asyncio event loops (Python, under the GIL)."""
    return sum(proc_cpu(Path(f"/proc/{p.pid}/task/{p.pid}/stat")) for p in server.servers)


@contextlib.contextmanager
def cpu_usage(server: Server, out: dict):
    """Record into `out` the wall time of the block and the CPU the server (all
    threads, and its event-loop thread alone) and this client used during it."""
    started = time.monotonic()
    cpu0, loop0 = _server_cpu(server), _loop_cpu(server)
    workers0 = _worker_cpu(server)
    mine0 = time.process_time()
    try:
        yield
    finally:
        out["wall"] = time.monotonic() - started
        out["server_cpu"] = (_server_cpu(server) - cpu0) / out["wall"]
        out["loop_cpu"] = (_loop_cpu(server) - loop0) / out["wall"]
        out["worker_cpu"] = (_worker_cpu(server) - workers0) / out["wall"]
        out["client_cpu"] = (time.process_time() - mine0) / out["wall"]
        out["load"] = _report.load_average()
