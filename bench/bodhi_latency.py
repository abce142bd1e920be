"""Bodhi streaming WebSocket: end of speech -> "complete" message, 1..N concurrent streams.

One command: `.venv/bin/python bench/bodhi_latency.py [--levels 1,4,8] [--seconds 24]`

Each stream sends ~24 s of speech (the WER sentences joined by 1-2 s of silence, rotated
per stream so streams differ; end of speech known from the construction) as PCM16 16 kHz
in 20 ms binary frames at real-time pace to ws://.../ (x-api-key header, config
{"sample_rate": 16000, "transaction_id": uuid4, "model": "en-general-v2-8khz"}), then
{"eof": 1}; stream starts are staggered over 1 s. End of speech (wall clock of the frame
holding it) -> the "complete" message covering it. Baseline in the same run: the engine
alone (StreamingTranscriber in process, stream 0's audio in the same 20 ms frames at
real-time pace, the same options the consumer builds). Prints p50/p95 per N, ratios to the
baseline, and the largest N whose p95 <= 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid

import _cpu
import _engine_common as common
import _latency
import _report
import _server as srv
import _streams
from websockets.asyncio.client import connect

MODEL = "en-general-v2-8khz"


def final_of(message: dict, now: float) -> _latency.Final:
    meta = message.get("segment_meta") or {}
    start = float(meta.get("start_time", 0.0))
    words = meta.get("words") or []
    end = float(words[-1]["end_time"]) if words else start + 0.01
    return _latency.Final(start, end, now, message.get("text", ""))


async def one_stream(
    idx: int, server: srv.Server, stream: _streams.TestStream, args, begin: float, out: dict
) -> None:
    finals: list[_latency.Final] = []
    sends: list[float] = []
    pcm = common.pcm16(stream.audio)
    step = int(args.frame * _streams.SR) * 2
    await asyncio.sleep(max(0.0, begin - time.monotonic()))
    try:
        async with connect(
            server.ws_url + "/",
            additional_headers={"x-api-key": server.api_key},
            proxy=None,
            ping_interval=None,
            open_timeout=30,
            close_timeout=5,
            max_size=None,
        ) as ws:
            config = {
                "sample_rate": _streams.SR,
                "transaction_id": str(uuid.uuid4()),
                "model": MODEL,
            }
            await ws.send(json.dumps({"config": config}))

            async def receive() -> None:
                async for raw in ws:
                    now = time.monotonic()
                    message = json.loads(raw)
                    if "error" in message:
                        out["errors"].append(f"s{idx}: {message}")
                        return
                    if message.get("type") == "complete":
                        finals.append(final_of(message, now))
                    if message.get("eos"):
                        out["eos"] += 1
                        return

            receiver = asyncio.create_task(receive())
            t0 = time.monotonic()
            try:
                for k, i in enumerate(range(0, len(pcm), step)):
                    delay = t0 + k * args.frame - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    if receiver.done():
                        break  # the server ended the stream (error)
                    sends.append(time.monotonic())
                    await ws.send(pcm[i : i + step])
                out["behind"] = max(out["behind"], time.monotonic() - (t0 + k * args.frame))
                if not receiver.done():
                    await ws.send(json.dumps({"eof": 1}))
                await asyncio.wait_for(receiver, args.drain)
            except TimeoutError:
                out["errors"].append(f"s{idx}: no eos {args.drain:.0f} s after eof")
            finally:
                receiver.cancel()
                await asyncio.gather(receiver, return_exceptions=True)
    except Exception as exc:  # a refused or dropped connection is a result, not a crash
        out["errors"].append(f"s{idx}: {type(exc).__name__}: {exc}")
    latencies, missed = _latency.match_latencies(stream.truth, finals, sends, args.frame)
    out["latencies"] += latencies
    out["missed"] += missed
    out["finals"] += len(finals)


async def run_level(server: srv.Server, n: int, args) -> dict:
    out = {"latencies": [], "missed": 0, "finals": 0, "eos": 0, "errors": [], "behind": 0.0}
    streams = [_streams.build_stream(args.seconds, rotate=3 * i) for i in range(n)]
    begin = time.monotonic() + 0.2
    with _cpu.cpu_usage(server, out):
        await asyncio.gather(
            *(
                one_stream(i, server, streams[i], args, begin + (i * 0.137) % 1.0, out)
                for i in range(n)
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--levels", default="1,4,8", help="concurrent streams, comma-separated")
    parser.add_argument("--seconds", type=float, default=24.0, help="audio per stream (s)")
    parser.add_argument("--frame", type=float, default=0.02, help="frame length (s)")
    parser.add_argument("--drain", type=float, default=30.0, help="wait for eos after eof (s)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch DATA_DIR")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",") if x.strip()]

    stream0 = _streams.build_stream(args.seconds)
    print(
        f"~{stream0.seconds:.1f} s and {len(stream0.truth)} utterances per stream, "
        f"{args.frame * 1000:.0f} ms frames at real-time pace; {_report.load_average()} at start"
    )
    base = _latency.engine_baseline(stream0, args.frame, _latency.engine_options(MODEL, None))
    server = srv.start_server(keep=args.keep)
    results = {}
    try:
        for n in levels:
            results[n] = asyncio.run(run_level(server, n, args))
    finally:
        server.stop()

    b50, b95 = _report.pct(base.latencies, 50), _report.pct(base.latencies, 95)
    print()
    print("end of speech -> complete")
    print(
        f"  engine alone, 1 stream (in process)  {_report.fmt_s(base.latencies)}  "
        f"unmatched {base.missed}"
    )
    best = 0
    for n, r in results.items():
        p50, p95 = _report.pct(r["latencies"], 50), _report.pct(r["latencies"], 95)
        ok = bool(r["latencies"]) and p95 <= 2.0 and not r["errors"] and not r["missed"]
        if ok and n > best:
            best = n
        print(
            f"  N={n:2d} WebSocket streams             {_report.fmt_s(r['latencies'])}  "
            f"ratio to engine p50 {_report.ratio(p50, b50)} p95 {_report.ratio(p95, b95)}"
        )
        print(
            f"        finals {r['finals']}, unmatched utterances {r['missed']}, eos {r['eos']}/{n}, "
            f"errors {len(r['errors'])}, max sender lag {r['behind'] * 1000:.0f} ms"
        )
        print(
            f"        CPU used: daphne {r['server_cpu']:.2f} cores "
            f"(event-loop thread {r['loop_cpu']:.2f}), this client "
            f"{r['client_cpu']:.2f} cores; {r['load']} at the end"
        )
        for line in r["errors"][:3]:
            print("         ", line[:200])
    print(f"largest N with p95 <= 2 s (all utterances answered, no errors): {best or 'none'}")
    print(f"{_report.load_average()} (machine shared: figures are noisy)")
    server.report_problems()


if __name__ == "__main__":
    main()
