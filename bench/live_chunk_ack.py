"""Live capture chunk acknowledgement latency with 1 and 10 concurrent sessions.

One command: `.venv/bin/python bench/live_chunk_ack.py [--levels 1,10] [--seconds 20]`

Starts daphne on a scratch DATA_DIR. Per level, N live sessions (POST /analyze/live/start,
an SSE consumer each unless --no-sse) upload 100 ms chunks of speech (WAV header in chunk 0,
then PCM16 16 kHz mono) at real-time pace for --seconds, phases staggered; the time for
each POST chunk to return is measured. Baseline in the same run and under the same load:
GET /healthz every 100 ms from its own client (no auth, no database). Then the sessions
are finalized and drained. Prints p50/p95 of both and the ratios (target: chunk ack
p95 <= 50 ms with 10 sessions).
"""

from __future__ import annotations

import argparse
import asyncio
import time

import _cpu
import _engine_common as common
import _latency
import _report
import _server as srv
import _streams
import httpx
from live_latency import read_sse


async def idle_health(server: srv.Server, count: int) -> list[float]:
    samples = []
    async with server.async_client(timeout=10) as client:
        for _ in range(count):
            start = time.monotonic()
            r = await client.get("/healthz")
            samples.append(time.monotonic() - start)
            r.raise_for_status()
    return samples


async def health_poller(
    server: srv.Server, begin: float, stop: asyncio.Event, out: list[float]
) -> None:
    async with server.async_client(timeout=10) as client:
        t0 = begin + 0.05  # between the sessions' chunk phases, like any other request
        await asyncio.sleep(max(0.0, t0 - time.monotonic()))
        k = 0
        while not stop.is_set():
            delay = t0 + k * 0.1 - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            start = time.monotonic()
            r = await client.get("/healthz")
            out.append(time.monotonic() - start)
            r.raise_for_status()
            k += 1


async def one_session(
    idx: int,
    server: srv.Server,
    stream: _streams.TestStream,
    args: argparse.Namespace,
    begin: float,
    out: dict,
) -> None:
    limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
    async with server.async_client(timeout=30, limits=limits) as client:
        r = await client.post("/analyze/live/start", json={"filename": f"bench{idx}.wav"})
        r.raise_for_status()
        info = r.json()
        finals: list[_latency.Final] = []
        counts: dict[str, int] = {}
        opened, ended = asyncio.Event(), asyncio.Event()
        reader = None
        if not args.no_sse:
            reader = asyncio.create_task(
                read_sse(client, info["events_endpoint"], finals, counts, opened, ended)
            )
            await asyncio.wait_for(opened.wait(), 15)
        pcm = common.pcm16(stream.audio)
        step = int(args.chunk * _streams.SR) * 2
        t0 = begin + (idx * 0.137) % 1.0
        sent = 0.0  # seconds of audio acknowledged
        try:
            k = 0
            for k, i in enumerate(range(0, len(pcm), step)):
                delay = t0 + k * args.chunk - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                if time.monotonic() > begin + args.max_level:
                    out["truncated"] += 1  # the server cannot keep up: stop, keep the run short
                    break
                body = pcm[i : i + step]
                if k == 0:
                    body = _streams.wav_header() + body
                start = time.monotonic()
                r = await client.post(
                    info["chunk_endpoint"],
                    data={"chunk_seq": str(k)},
                    files={"chunk": (f"c{k}.wav", body, "application/octet-stream")},
                )
                elapsed = time.monotonic() - start
                if r.status_code != 200:
                    out["errors"].append(f"s{idx} chunk {k}: {r.status_code} {r.text[:120]}")
                    break
                (out["first"] if k == 0 else out["acks"]).append(elapsed)
                sent = min(len(pcm), i + step) / 2 / _streams.SR
            out["behind"] = max(out["behind"], time.monotonic() - (t0 + k * args.chunk))
            out["senders_left"] -= 1
            if out["senders_left"] == 0:
                out["stop"].set()
            r = await client.post(info["control_endpoint"], json={"action": "finalize"})
            if r.status_code != 200:
                out["errors"].append(f"s{idx} finalize: {r.status_code} {r.text[:120]}")
            elif reader is not None:
                try:
                    await asyncio.wait_for(ended.wait(), args.drain)
                except TimeoutError:
                    out["errors"].append(f"s{idx}: no done event {args.drain:.0f} s after finalize")
        finally:
            if reader is not None:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)
        out["finals"] += len(finals)
        out["utterances"] += sum(1 for start, _ in stream.truth if start < sent)
        if "error_payload" in counts:
            out["errors"].append(f"s{idx} error event: {counts['error_payload']}")


async def run_level(server: srv.Server, n: int, args: argparse.Namespace) -> dict:
    out = {
        "acks": [],
        "first": [],
        "health": [],
        "errors": [],
        "finals": 0,
        "utterances": 0,
        "behind": 0.0,
        "truncated": 0,
        "senders_left": n,
        "stop": asyncio.Event(),
    }
    streams = [_streams.build_stream(args.seconds, rotate=3 * i) for i in range(n)]
    begin = time.monotonic() + 1.0  # sessions start (and attach SSE) in the meantime
    poller = asyncio.create_task(health_poller(server, begin, out["stop"], out["health"]))
    with _cpu.cpu_usage(server, out):
        try:
            await asyncio.gather(
                *(one_session(i, server, streams[i], args, begin, out) for i in range(n))
            )
        finally:
            out["stop"].set()
            await asyncio.gather(poller, return_exceptions=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--levels", default="1,10", help="concurrent sessions, comma-separated")
    parser.add_argument("--seconds", type=float, default=20.0, help="audio per session (s)")
    parser.add_argument("--chunk", type=float, default=0.1, help="chunk length (s)")
    parser.add_argument("--drain", type=float, default=20.0, help="wait for done (s)")
    parser.add_argument(
        "--max-level",
        type=float,
        default=40.0,
        help="stop uploading after this long per level when the server falls behind (s)",
    )
    parser.add_argument("--no-sse", action="store_true", help="no SSE consumers")
    parser.add_argument(
        "--production",
        action="store_true",
        help="PostgreSQL + Redis (BENCH_DATABASE_URL, BENCH_REDIS_URL) instead of the embedded default",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="live workers (LIVE_WORKERS=true, implies --production); 0: daphne processes sessions",
    )
    parser.add_argument(
        "--servers",
        type=int,
        default=1,
        help="daphne processes sharing the listening socket (more than 1 implies --production)",
    )
    parser.add_argument(
        "--worker-nice", type=int, default=10, help="niceness of the live workers (0-19)"
    )
    parser.add_argument(
        "--worker-idle",
        action="store_true",
        help="live workers at idle CPU priority (live_worker --idle, Linux SCHED_IDLE)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch DATA_DIR")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",") if x.strip()]

    print(
        f"{args.chunk * 1000:.0f} ms chunks at real-time pace, ~{args.seconds:.0f} s per session, "
        f"SSE consumers {'off' if args.no_sse else 'on'}; {_report.load_average()} at start"
    )
    daphnes = f"{args.servers} daphne processes" if args.servers > 1 else "daphne"
    shape = (
        f"PostgreSQL + Redis, {daphnes} + {args.workers} live worker(s) at "
        + ("idle CPU priority" if args.worker_idle else f"nice {args.worker_nice}")
        if args.workers
        else f"PostgreSQL + Redis, {daphnes} alone"
        if args.production or args.servers > 1
        else "embedded default (SQLite, in-process layers), daphne alone"
    )
    print(f"shape: {shape}")
    server = srv.start_server(
        keep=args.keep,
        production=args.production,
        workers=args.workers,
        worker_nice=args.worker_nice,
        worker_idle=args.worker_idle,
        servers=args.servers,
    )
    results = {}
    try:
        idle = asyncio.run(idle_health(server, 100))
        for n in levels:
            results[n] = asyncio.run(run_level(server, n, args))
    finally:
        server.stop()

    print()
    print(f"GET /healthz, idle server            {_report.fmt_ms(idle)}")
    for n, r in results.items():
        a50, a95 = _report.pct(r["acks"], 50), _report.pct(r["acks"], 95)
        h50, h95 = _report.pct(r["health"], 50), _report.pct(r["health"], 95)
        print(f"N={n:2d} sessions ({r['wall']:.0f} s wall, {r['load']} at the end)")
        print(f"  POST chunk ack                     {_report.fmt_ms(r['acks'])}")
        print(f"  GET /healthz under the same load   {_report.fmt_ms(r['health'])}")
        print(
            f"  ratio chunk ack / healthz          p50 {_report.ratio(a50, h50)}  p95 {_report.ratio(a95, h95)}"
        )
        print(
            f"  first chunk (starts the processor) {_report.fmt_ms(r['first'])}; "
            f"max sender lag {r['behind'] * 1000:.0f} ms"
            + (
                f"; {r['truncated']} sessions stopped at --max-level {args.max_level:.0f} s"
                if r["truncated"]
                else ""
            )
        )
        print(
            f"  finals received {r['finals']} for {r['utterances']} utterances sent (in part or whole); "
            f"errors {len(r['errors'])}; CPU used: daphne {r['server_cpu']:.2f} cores "
            f"(event-loop thread {r['loop_cpu']:.2f}), live workers {r['worker_cpu']:.2f}, "
            f"this client {r['client_cpu']:.2f} cores"
        )
        for line in r["errors"][:5]:
            print("   ", line)
    top = max(results) if results else 0
    if top:
        p95 = _report.pct(results[top]["acks"], 95)
        print(
            "verdict:",
            "OK" if p95 <= 0.050 else "OVER TARGET",
            f"(target chunk ack p95 <= 50 ms with {top} sessions: {p95 * 1000:.1f} ms)",
        )
    print(f"{_report.load_average()} at the end (machine shared: figures are noisy)")
    server.report_problems()


if __name__ == "__main__":
    main()
