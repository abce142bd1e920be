"""Shared helpers for the HTTP/WebSocket benchmarks (not a benchmark itself).

* ``start_server()``: daphne on a free port with a scratch SQLite DATA_DIR, migrated, one
  customer provisioned; returns a ``Server`` (base URL, WS URL, API key, ``stop()``).
  ``production=True``: a scratch PostgreSQL database and Redis (BENCH_DATABASE_URL,
  BENCH_REDIS_URL) instead; ``workers=N`` adds N `manage.py live_worker` processes.
* Test speech streams: the WER sentences (tests/fixtures/audio/wer, two per file) cut at
  their speech edges and joined with 1-2 s of digital silence, so the end of speech of
  every utterance is known from the construction (``build_stream``).
* ``match_latencies``: end of speech (wall clock of the frame/chunk that carried it) ->
  the final that covers it.
* ``engine_baseline``: the same stream fed in process to StreamingTranscriber at
  real-time pace, the raw baseline the HTTP/WS figures are divided by.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import _engine_common as common
import httpx
import numpy as np

ROOT = common.ROOT
SR = 16000
BENCH_ENV = {
    "SECRET_KEY": "bench-secret",
    "JWT_SIGNING_KEY": "bench-jwt-signing-key-0123456789abcdef",
    "LOG_LEVEL": "WARNING",
}


# -- the server ------------------------------------------------------------------------
@dataclass
class Server:
    url: str
    ws_url: str
    api_key: str
    data_dir: Path
    log_path: Path
    proc: subprocess.Popen
    keep: bool = False
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

    def cpu_seconds(self) -> float:
        """CPU time (user + system, all threads) the daphne processes have used so far."""
        return sum(_proc_cpu(Path(f"/proc/{p.pid}/stat")) for p in self.servers)

    def worker_cpu_seconds(self) -> float:
        return sum(_proc_cpu(Path(f"/proc/{w.pid}/stat")) for w in self.workers)

    def main_thread_cpu_seconds(self) -> float:
        """CPU time of daphne's main threads: the asyncio event loops (Python, under the GIL)."""
        return sum(_proc_cpu(Path(f"/proc/{p.pid}/task/{p.pid}/stat")) for p in self.servers)

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


def _proc_cpu(stat: Path) -> float:
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


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


def wav_bytes(samples: np.ndarray, rate: int = SR) -> bytes:
    pcm = common.to_pcm16(samples)
    return wav_header(len(pcm), rate) + pcm


def wav_header(data_bytes: int = 0xFFFFFFFF - 36, rate: int = SR) -> bytes:
    """A 44-byte PCM16 mono header; the default size is the 'streaming, unknown' maximum."""
    return (
        b"RIFF"
        + struct.pack("<I", min(0xFFFFFFFF, data_bytes + 36))
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
        + b"data"
        + struct.pack("<I", data_bytes)
    )


def warm_up(server: Server, client: httpx.Client | None = None) -> None:
    """Load the model and the agents in the server: one /analyze of a 3 s sentence."""
    clip = sentence_clips()[0].audio
    own = client is None
    client = client or server.client()
    try:
        r = client.post(
            "/analyze",
            files={"file": ("warm.wav", wav_bytes(clip), "audio/wav")},
            timeout=120,
        )
        if r.status_code != 200:
            raise RuntimeError(f"warm-up /analyze failed: {r.status_code} {r.text[:300]}")
    finally:
        if own:
            client.close()


# -- test streams ----------------------------------------------------------------------
@dataclass(frozen=True)
class Clip:
    audio: np.ndarray
    speech_start: float  # seconds into `audio`
    speech_end: float
    text: str


def _speech_spans(audio: np.ndarray, min_gap: float = 0.4) -> list[tuple[float, float]]:
    """Speech regions by 20 ms energy (noise floor x3 or 3 % of peak), gaps >= min_gap."""
    hop = SR // 50
    n = len(audio) // hop
    rms = np.sqrt((audio[: n * hop].reshape(n, hop) ** 2).mean(axis=1))
    threshold = max(float(np.percentile(rms, 10)) * 3, float(rms.max()) * 0.03)
    spans: list[tuple[float, float]] = []
    start = last = None
    for i, active in enumerate(rms > threshold):
        if active:
            if start is None:
                start = i
            elif (i - last - 1) * 0.02 >= min_gap:
                spans.append((start * 0.02, (last + 1) * 0.02))
                start = i
            last = i
    if start is not None:
        spans.append((start * 0.02, (last + 1) * 0.02))
    return [(s, e) for s, e in spans if e - s >= 0.3]


_CLIPS: list[Clip] | None = None


def sentence_clips() -> list[Clip]:
    """The 12 WER sentences, each with 0.15 s of its own background around the speech."""
    global _CLIPS
    if _CLIPS is None:
        from sessions_app.engine import decode_file

        clips = []
        for path, ref in common.wer_set():
            audio = decode_file(path).mono()
            sentences = [s.strip() + "." for s in ref.split(".") if s.strip()]
            spans = _speech_spans(audio)
            for k, (s, e) in enumerate(spans):
                a = max(0, int((s - 0.15) * SR))
                b = min(len(audio), int((e + 0.15) * SR))
                text = sentences[k] if len(spans) == len(sentences) else ref
                clips.append(Clip(audio[a:b].copy(), s - a / SR, e - a / SR, text))
        _CLIPS = clips
    return _CLIPS


GAPS = [1.2, 1.8, 1.0, 1.5, 2.0, 1.3, 1.6, 1.1]


@dataclass(frozen=True)
class TestStream:
    audio: np.ndarray  # float32 16 kHz mono
    truth: list[tuple[float, float]]  # (speech start, speech end) of each utterance

    @property
    def seconds(self) -> float:
        return len(self.audio) / SR


def build_stream(
    seconds: float, rotate: int = 0, lead: float = 0.5, tail: float = 1.5
) -> TestStream:
    """Sentences back to back with 1-2 s of silence, until about `seconds` long.

    `rotate` starts at another sentence (concurrent streams then differ).
    """
    clips = sentence_clips()
    parts = [np.zeros(int(lead * SR), np.float32)]
    truth: list[tuple[float, float]] = []
    pos = len(parts[0])
    for k in range(4 * len(clips)):
        clip = clips[(rotate + k) % len(clips)]
        gap = int(GAPS[(rotate + k - 1) % len(GAPS)] * SR) if k else 0
        if truth and (pos + gap + len(clip.audio)) / SR + tail > seconds:
            break
        if gap:
            parts.append(np.zeros(gap, np.float32))
            pos += gap
        truth.append((pos / SR + clip.speech_start, pos / SR + clip.speech_end))
        parts.append(clip.audio)
        pos += len(clip.audio)
    parts.append(np.zeros(int(tail * SR), np.float32))
    return TestStream(np.concatenate(parts).astype(np.float32), truth)


# -- latency bookkeeping -----------------------------------------------------------------
@dataclass(frozen=True)
class Final:
    start: float  # audio timeline (s)
    end: float
    received: float  # time.monotonic() when the client had it
    text: str = ""


def match_latencies(
    truth: list[tuple[float, float]],
    finals: list[Final],
    send_times: list[float],
    frame: float,
) -> tuple[list[float], int]:
    """For each utterance: the final covering its end of speech (the overlapping final
    that ends last), received time minus the send time of the frame holding that end.
    Returns (latencies, utterances with no final)."""
    latencies, missed = [], 0
    for s, e in truth:
        covering = [f for f in finals if f.start < e and f.end > s]
        if not covering or not send_times:
            missed += 1
            continue
        final = max(covering, key=lambda f: (f.end, -f.received))
        idx = min(len(send_times) - 1, int(e / frame))
        latencies.append(final.received - send_times[idx])
    return latencies, missed


def pct(values: list[float], q: float) -> float:
    return common.percentile(values, q)


def fmt_ms(values: list[float]) -> str:
    if not values:
        return "p50    n/a      p95    n/a     (no samples)"
    return f"p50 {pct(values, 50) * 1000:7.1f} ms  p95 {pct(values, 95) * 1000:7.1f} ms  (n={len(values)})"


def fmt_s(values: list[float]) -> str:
    if not values:
        return "p50   n/a    p95   n/a   (no samples)"
    return f"p50 {pct(values, 50):6.3f} s  p95 {pct(values, 95):6.3f} s  (n={len(values)})"


def ratio(a: float, b: float) -> str:
    if not (b and np.isfinite(a) and np.isfinite(b)):
        return "  n/a"
    return f"{a / b:5.2f}x"


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


# -- the engine alone ----------------------------------------------------------------------
@dataclass
class BaselineResult:
    latencies: list[float]
    missed: int
    finals: list[Final]


def engine_options(model: str = "tiny.en", language: str | None = "en"):
    """What the server builds from the provisioned default config (500 ms endpoint, partials)."""
    from sessions_app.engine import StreamingOptions, TranscribeOptions

    return StreamingOptions(
        sample_rate=SR,
        trailing_silence=0.5,
        partials=True,
        transcribe=TranscribeOptions(model=model, language=language),
    )


def engine_baseline(stream: TestStream, frame: float, options=None) -> BaselineResult:
    """StreamingTranscriber in process, fed `frame`-second frames on an absolute real-time
    schedule; same end-of-speech -> final measurement as the HTTP/WS benchmarks."""
    from sessions_app.engine import StreamingTranscriber

    options = options or engine_options()
    warm = StreamingTranscriber(options)  # model, VAD and Whisper warm, off the clock
    warm.feed_sync(common.to_pcm16(sentence_clips()[1].audio))
    warm.finish_sync()

    transcriber = StreamingTranscriber(options)
    pcm = common.to_pcm16(stream.audio)
    step = int(frame * SR) * 2
    finals: list[Final] = []
    sends: list[float] = []

    def collect(events) -> None:
        now = time.monotonic()
        for ev in events:
            if ev.is_final:
                finals.append(Final(ev.start, ev.end, now, ev.text))

    t0 = time.monotonic()
    for k, i in enumerate(range(0, len(pcm), step)):
        delay = t0 + k * frame - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        sends.append(time.monotonic())
        collect(transcriber.feed_sync(pcm[i : i + step]) + transcriber.poll())
    collect(transcriber.finish_sync())
    latencies, missed = match_latencies(stream.truth, finals, sends, frame)
    return BaselineResult(latencies, missed, finals)


@contextlib.contextmanager
def cpu_usage(server: Server, out: dict):
    """Record into `out` the wall time of the block and the CPU the server (all
    threads, and its event-loop thread alone) and this client used during it."""
    started = time.monotonic()
    cpu0, loop0 = server.cpu_seconds(), server.main_thread_cpu_seconds()
    workers0 = server.worker_cpu_seconds()
    mine0 = time.process_time()
    try:
        yield
    finally:
        out["wall"] = time.monotonic() - started
        out["server_cpu"] = (server.cpu_seconds() - cpu0) / out["wall"]
        out["loop_cpu"] = (server.main_thread_cpu_seconds() - loop0) / out["wall"]
        out["worker_cpu"] = (server.worker_cpu_seconds() - workers0) / out["wall"]
        out["client_cpu"] = (time.process_time() - mine0) / out["wall"]
        out["load"] = load_average()
