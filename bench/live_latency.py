"""Live capture latency: end of speech -> final_transcript on the SSE stream.

One command: `.venv/bin/python bench/live_latency.py [--seconds 38] [--chunk 0.1]`

Builds ~38 s of speech (the WER sentences joined by 1-2 s of silence, >= 6 utterances,
end of speech of each known from the construction), then, in the same run:
  1. baseline: sessions_app.engine.StreamingTranscriber in process, fed the same audio in
     the same 100 ms frames at real-time pace (end of speech -> final event);
  2. daphne on a scratch DATA_DIR: POST /analyze/live/start, SSE on events_endpoint,
     chunk 0 = WAV header + PCM16 16 kHz mono, then 100 ms of PCM per chunk at real-time
     pace, finalize; end of speech -> `event: final_transcript` received.
End of speech is mapped to the wall clock at which the chunk/frame holding it was sent.
Prints p50/p95 of both and the ratio HTTP+SSE / engine alone (target: HTTP p50 <= 1.2 s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

import _engine_common as common
import _latency
import _report
import _server as srv
import _streams
import httpx


async def read_sse(
    client: httpx.AsyncClient,
    path: str,
    finals: list[_latency.Final],
    counts: dict[str, int],
    opened: asyncio.Event,
    ended: asyncio.Event,
) -> None:
    """Collect final_transcript events (with their arrival time) until done/error."""
    timeout = httpx.Timeout(10.0, read=60.0)
    async with client.stream("GET", path, timeout=timeout) as response:
        response.raise_for_status()
        name, data = "message", []
        async for line in response.aiter_lines():
            opened.set()
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
            elif not line and data:
                now = time.monotonic()
                payload = json.loads("\n".join(data))
                counts[name] = counts.get(name, 0) + 1
                if name == "final_transcript":
                    finals.append(
                        _latency.Final(
                            payload["t_start"], payload["t_end"], now, payload.get("text", "")
                        )
                    )
                if name in ("done", "error"):
                    if name == "error":
                        counts["error_payload"] = payload
                    ended.set()
                    return
                name, data = "message", []


async def live_session(
    server: srv.Server, stream: _streams.TestStream, chunk: float, drain: float
) -> dict:
    limits = httpx.Limits(max_connections=10, max_keepalive_connections=10)
    async with server.async_client(timeout=30, limits=limits) as client:
        r = await client.post("/analyze/live/start", json={"filename": "bench.wav"})
        r.raise_for_status()
        info = r.json()
        finals: list[_latency.Final] = []
        counts: dict[str, int] = {}
        opened, ended = asyncio.Event(), asyncio.Event()
        reader = asyncio.create_task(
            read_sse(client, info["events_endpoint"], finals, counts, opened, ended)
        )
        await asyncio.wait_for(opened.wait(), 10)
        pcm = common.pcm16(stream.audio)
        step = int(chunk * _streams.SR) * 2
        sends: list[float] = []
        acks: list[float] = []
        t0 = time.monotonic()
        try:
            for k, i in enumerate(range(0, len(pcm), step)):
                delay = t0 + k * chunk - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                body = pcm[i : i + step]
                if k == 0:
                    body = _streams.wav_header() + body
                sends.append(time.monotonic())
                r = await client.post(
                    info["chunk_endpoint"],
                    data={"chunk_seq": str(k)},
                    files={"chunk": (f"c{k}.wav", body, "application/octet-stream")},
                )
                acks.append(time.monotonic() - sends[-1])
                if r.status_code != 200:
                    raise RuntimeError(f"chunk {k}: {r.status_code} {r.text[:200]}")
            sent_at = time.monotonic()
            r = await client.post(info["control_endpoint"], json={"action": "finalize"})
            r.raise_for_status()
            try:
                await asyncio.wait_for(ended.wait(), drain)
            except TimeoutError:
                print(f"warning: no done event {drain:.0f} s after finalize", file=sys.stderr)
            done_after = time.monotonic() - sent_at
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
    latencies, missed = _latency.match_latencies(stream.truth, finals, sends, chunk)
    return {
        "latencies": latencies,
        "missed": missed,
        "finals": finals,
        "acks": acks,
        "counts": counts,
        "done_after": done_after,
        "behind": max(0.0, sends[-1] - (t0 + (len(sends) - 1) * chunk)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=38.0, help="audio length (s)")
    parser.add_argument("--chunk", type=float, default=0.1, help="chunk/frame length (s)")
    parser.add_argument("--drain", type=float, default=60.0, help="wait for done (s)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch DATA_DIR")
    args = parser.parse_args()

    stream = _streams.build_stream(args.seconds)
    print(
        f"audio {stream.seconds:.1f} s, {len(stream.truth)} utterances, "
        f"{args.chunk * 1000:.0f} ms chunks at real-time pace; {_report.load_average()} at start"
    )
    base = _latency.engine_baseline(stream, args.chunk)
    server = srv.start_server(keep=args.keep)
    try:
        live = asyncio.run(live_session(server, stream, args.chunk, args.drain))
        load = _report.load_average()
    finally:
        server.stop()

    b50, b95 = _report.pct(base.latencies, 50), _report.pct(base.latencies, 95)
    h50, h95 = _report.pct(live["latencies"], 50), _report.pct(live["latencies"], 95)
    print()
    print("end of speech -> final")
    print(
        f"  engine alone (in process)      {_report.fmt_s(base.latencies)}  "
        f"finals {len(base.finals)}, unmatched utterances {base.missed}"
    )
    print(
        f"  HTTP chunks + SSE (daphne)     {_report.fmt_s(live['latencies'])}  "
        f"finals {len(live['finals'])}, unmatched utterances {live['missed']}"
    )
    print(
        f"  ratio HTTP+SSE / engine alone  p50 {_report.ratio(h50, b50)}  p95 {_report.ratio(h95, b95)}"
    )
    print(
        f"  added by the HTTP+SSE path     p50 {(h50 - b50) * 1000:+.0f} ms  p95 {(h95 - b95) * 1000:+.0f} ms"
    )
    print(f"chunk POST acknowledgement       {_report.fmt_ms(live['acks'])}")
    print(
        f"events seen: {json.dumps({k: v for k, v in live['counts'].items() if k != 'error_payload'})}"
    )
    if "error_payload" in live["counts"]:
        print(f"error event: {live['counts']['error_payload']}")
    print(
        f"finalize -> done: {live['done_after']:.2f} s; sender fell behind by {live['behind']:.2f} s"
    )
    print(f"{load} at the end (machine shared: figures are noisy)")
    print("verdict:", "OK" if h50 <= 1.2 else "OVER TARGET", "(target HTTP p50 <= 1.2 s)")
    server.report_problems()


if __name__ == "__main__":
    main()
