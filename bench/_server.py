"""The server processes the HTTP/WebSocket benchmarks run against (not a benchmark itself).

``start_server()``: daphne on a free port with a scratch SQLite DATA_DIR, migrated, one
customer provisioned; returns a ``Server`` (base URL, WS URL, API key, ``stop()``).
``production=True``: a scratch PostgreSQL database and Redis (BENCH_DATABASE_URL,
BENCH_REDIS_URL) instead; ``workers=N`` adds N `manage.py live_worker` processes.

The other helpers, by concern: ``_streams`` (test speech and WAV framing), ``_latency``
(end of speech -> final, and the in-process engine baseline), ``_cpu`` (CPU the
processes used), ``_report`` (percentiles, ratios, load).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import _engine_common as common
import _streams
import httpx

ROOT = common.ROOT
BENCH_ENV = {
    "SECRET_KEY": "bench-secret",
    "JWT_SIGNING_KEY": "bench-jwt-signing-key-0123456789abcdef",
    "LOG_LEVEL": "WARNING",
}


@dataclass
class Server:
    url: str
    ws_url: str
    api_key: str
    data_dir: Path
    log_path: Path
    proc: subprocess.Popen
    keep: bool = False
    config_id: str = ""  # the provisioned customer's default config
    env: dict[str, str] = field(default_factory=dict, repr=False)  # the servers' environment
    workers: list[subprocess.Popen] = field(default_factory=list)
    # More daphne processes sharing the listening socket (the production shape: N servers).
    more_servers: list[subprocess.Popen] = field(default_factory=list)
    scratch_database: str | None = None
    _stopped: bool = field(default=False, repr=False)
    _problems: list[str] | None = field(default=None, repr=False)

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self.api_key}

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.headers, trust_env=False, **kwargs)

    def async_client(self, **kwargs) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, headers=self.headers, trust_env=False, **kwargs)

    @property
    def servers(self) -> list[subprocess.Popen]:
        return [self.proc, *self.more_servers]

    def manage(self, *args: str) -> str:
        """Run a manage.py command against the servers' database; its standard output."""
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    def log_problems(self) -> list[str]:
        """Server log lines that look like trouble (tracebacks, errors, warnings)."""
        if self._problems is not None:
            return self._problems
        lines = []
        logs = self.log_path.parent
        for path in [*sorted(logs.glob("server*.log")), *sorted(logs.glob("worker*.log"))]:
            with contextlib.suppress(OSError):
                lines += path.read_text(errors="replace").splitlines()
        marks = ("Traceback", "ERROR", "Error", "WARNING", "Exception")
        return [line for line in lines if any(m in line for m in marks)]

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        for proc in [*self.servers, *self.workers]:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
        self._problems = self.log_problems()
        if self.scratch_database:
            _drop_database(self.scratch_database)
        if not self.keep:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def report_problems(self, limit: int = 8) -> None:
        problems = self.log_problems()
        if not problems:
            print("server log: no errors or warnings")
            return
        print(
            f"server log: {len(problems)} error/warning lines, first {min(limit, len(problems))}:"
        )
        for line in problems[:limit]:
            print("   ", line[:200])

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _admin_connection():
    import psycopg

    url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    return psycopg.connect(url, autocommit=True), url


def _create_database() -> tuple[str, str]:
    """A scratch PostgreSQL database: (its name, its URL)."""
    from urllib.parse import urlsplit, urlunsplit

    name = f"parlance_bench_{os.getpid()}"
    conn, url = _admin_connection()
    with conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def _drop_database(name: str) -> None:
    conn, _ = _admin_connection()
    with conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _scratch_redis() -> str:
    import redis

    url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    redis.Redis.from_url(url).flushdb()
    return url


def start_server(
    *,
    credits: int = 1_000_000,
    env: dict[str, str] | None = None,
    warm: bool = True,
    keep: bool = False,
    timeout: float = 60.0,
    production: bool = False,
    workers: int = 0,
    worker_nice: int = 10,
    worker_idle: bool = False,
    servers: int = 1,
) -> Server:
    """Start daphne on a scratch DATA_DIR; `warm` loads the model in it (one tiny /analyze).
    `production`: scratch PostgreSQL + Redis instead of SQLite + in-process layers;
    `workers`: that many live workers (implies `production`), niced by `worker_nice`,
    at idle CPU priority with `worker_idle`; `servers` daphne processes share one
    listening socket, as N servers behind a proxy would share the requests."""
    data_dir = Path(tempfile.mkdtemp(prefix="parlance-bench-"))
    full_env = {**os.environ, **BENCH_ENV, "DATA_DIR": str(data_dir), **(env or {})}
    full_env.pop("DATABASE_URL", None)
    full_env.pop("REDIS_URL", None)
    scratch_database = None
    if production or workers or servers > 1:
        scratch_database, full_env["DATABASE_URL"] = _create_database()
        full_env["REDIS_URL"] = _scratch_redis()
    if workers:
        full_env["LIVE_WORKERS"] = "true"
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=full_env, check=True)
    made = json.loads(
        subprocess.run(
            [*manage, "provision", "--customer", "Bench", "--credits", str(credits), "--json"],
            cwd=ROOT,
            env=full_env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    listener.set_inheritable(True)
    port = listener.getsockname()[1]
    log_path = data_dir / "server.log"
    procs = []
    for i in range(servers):
        with open(data_dir / f"server{i or ''}.log", "wb") as log:
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "daphne",
                        "--fd",
                        str(listener.fileno()),
                        "config.asgi:application",
                    ],
                    cwd=ROOT,
                    env=full_env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    pass_fds=(listener.fileno(),),
                )
            )
    listener.close()  # the servers hold it now
    proc = procs[0]
    server = Server(
        url=f"http://127.0.0.1:{port}",
        ws_url=f"ws://127.0.0.1:{port}",
        api_key=made["api_key"],
        config_id=made["config_id"],
        env=full_env,
        data_dir=data_dir,
        log_path=log_path,
        proc=proc,
        more_servers=procs[1:],
        keep=keep,
        scratch_database=scratch_database,
    )
    for i in range(workers):
        with open(data_dir / f"worker{i}.log", "wb") as worker_log:
            server.workers.append(
                subprocess.Popen(
                    [
                        *manage,
                        "live_worker",
                        "--nice",
                        str(worker_nice),
                        *(["--idle"] if worker_idle else []),
                    ],
                    cwd=ROOT,
                    env=full_env,
                    stdout=worker_log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # as a service manager starts it
                )
            )
    try:
        deadline = time.monotonic() + timeout
        with server.client(timeout=5) as client:
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"daphne exited ({proc.returncode}):\n{log_path.read_text()[-2000:]}"
                    )
                with contextlib.suppress(httpx.TransportError):
                    if client.get("/healthz").status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError("daphne did not answer /healthz in time")
                time.sleep(0.1)
            if warm:
                warm_up(server, client)
    except BaseException:
        tail = log_path.read_text(errors="replace").splitlines()[-40:] if log_path.exists() else []
        server.stop()
        if tail:
            print("server log (last lines):\n  " + "\n  ".join(tail), file=sys.stderr)
        raise
    return server


def warm_up(server: Server, client: httpx.Client | None = None) -> None:
    """Load the model and the agents in the server: one /analyze of a 3 s sentence."""
    clip = _streams.sentence_clips()[0].audio
    own = client is None
    client = client or server.client()
    try:
        r = client.post(
            "/analyze",
            files={"file": ("warm.wav", _streams.wav_bytes(clip), "audio/wav")},
            timeout=120,
        )
        if r.status_code != 200:
            raise RuntimeError(f"warm-up /analyze failed: {r.status_code} {r.text[:300]}")
    finally:
        if own:
            client.close()
