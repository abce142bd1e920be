"""N simultaneous real-time streams on one process (asyncio, the engine's async API).

Each stream sends ~25 s of conversation (tests/fixtures/audio/wer, rotated per stream)
in 100 ms frames at real-time pace, start times staggered over 1 s. Reports per N:
end of speech -> final latency p50/p95, share of partials dropped, streams refused
(EngineOverloaded at admission or mid-stream).
Baseline (same run): N=1; ratios are p95(N) / p95(1).

Run: .venv/bin/python bench/engine_concurrency.py   (target: largest N with p95 <= 2 s >= 8)
"""

from __future__ import annotations

import asyncio
import sys
import time

import _engine_common as common
import numpy as np

from sessions_app.engine import (
    EngineOverloaded,
    Scheduler,
    StreamingOptions,
    StreamingTranscriber,
    get_model,
)

FRAME = 0.1
SECONDS = 25.0
LEVELS = [int(a) for a in sys.argv[1:]] or [1, 4, 8, 16]


async def one_stream(idx: int, audio: np.ndarray, sched: Scheduler, out: dict) -> None:
    shift = int(idx * 3.7 * 16000) % len(audio)
    clip = np.roll(audio, -shift)[: int(SECONDS * 16000)]
    pcm = common.pcm16(clip)
    stream = StreamingTranscriber(StreamingOptions(), scheduler=sched)
    frame_bytes = int(FRAME * 16000) * 2
    await asyncio.sleep((idx * 0.137) % 1.0)
    t0 = time.monotonic()
    try:
        sched.ensure_capacity()  # what a surface does before accepting a session
        for k, i in enumerate(range(0, len(pcm), frame_bytes)):
            delay = t0 + k * FRAME - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            for ev in await stream.feed(pcm[i : i + frame_bytes]) + stream.poll():
                if ev.is_final and ev.words:
                    out["final"].append(time.monotonic() - t0 - ev.end)
        for ev in await stream.finish():
            if ev.words:
                out["final"].append(time.monotonic() - t0 - ev.end)
    except EngineOverloaded:
        out["refused"] += 1
    out["requested"] += stream.partials_requested
    out["dropped"] += stream.partials_dropped


async def run_level(n: int, audio: np.ndarray) -> dict:
    sched = Scheduler()  # fresh stats per level; same sizing as the process-wide one
    out = {"final": [], "refused": 0, "requested": 0, "dropped": 0}
    await asyncio.gather(*(one_stream(i, audio, sched, out) for i in range(n)))
    out["shed"] = sched.stats.partials_dropped
    sched.shutdown()
    return out


def main() -> None:
    get_model()
    audio = common.conversation_audio()
    print(f"{SECONDS:.0f} s of audio per stream, {FRAME * 1000:.0f} ms frames, real-time pace")
    base = None
    best = 0
    for n in LEVELS:
        r = asyncio.run(run_level(n, audio))
        p50 = common.percentile(r["final"], 50)
        p95 = common.percentile(r["final"], 95)
        base = base or p95
        share = r["dropped"] / max(1, r["requested"])
        print(
            f"N={n:2d}: finals {len(r['final']):3d}  final p50 {p50:5.2f} s  p95 {p95:5.2f} s "
            f"(x{p95 / base:4.2f} vs N=1)  partials dropped {share:6.1%} "
            f"({r['dropped']}/{r['requested']})  refused streams {r['refused']}"
        )
        if p95 <= 2.0 and r["refused"] == 0:
            best = n
    print(f"largest N with final p95 <= 2 s: {best} (target >= 8)")


if __name__ == "__main__":
    main()
