"""Streaming latency at real-time pace: end of speech -> final, speech start -> first partial.

Feeds ~45 s of conversation (tests/fixtures/audio/wer, back to back) in 20 ms frames at
real-time pace, like the Bodhi clients. End of speech is the final's last word end.
Baseline (same run): raw WhisperModel.transcribe time on each final's audio span; the
floor for a non-speculative design is trailing_silence + that.

Run: .venv/bin/python bench/engine_streaming_latency.py  (targets: p50 <= 1.0 s, p95 <= 1.6 s)
"""

from __future__ import annotations

import time

import _engine_common as common

from sessions_app.engine import StreamingOptions, StreamingTranscriber, get_model

FRAME = 0.02


def main() -> None:
    audio = common.conversation_audio()
    pcm = common.pcm16(audio)
    model = get_model()
    opts = StreamingOptions()
    stream = StreamingTranscriber(opts)
    stream.feed_sync(b"\x00\x00" * 1600)  # warm the VAD session
    frame_bytes = int(FRAME * 16000) * 2
    finals, first_partial = [], {}
    t0 = time.monotonic()
    for k, i in enumerate(range(0, len(pcm), frame_bytes)):
        # Absolute schedule: a slow feed is followed by a catch-up burst, like a socket buffer.
        delay = t0 + k * FRAME - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        for ev in stream.feed_sync(pcm[i : i + frame_bytes]) + stream.poll():
            now = time.monotonic() - t0
            if ev.is_final:
                finals.append((ev, now))
            elif ev.is_partial:
                first_partial.setdefault(ev.segment, now)
    for ev in stream.finish_sync():
        finals.append((ev, time.monotonic() - t0))
    final_lat = [now - ev.end for ev, now in finals if ev.words]
    partial_lat = [
        first_partial[ev.segment] - ev.start for ev, _ in finals if ev.segment in first_partial
    ]
    # Raw baseline: one plain faster-whisper call per final's span.
    raw = []
    for ev, _ in finals:
        span = audio[int(ev.start * 16000) : int(ev.end * 16000) + 3200]
        t = time.perf_counter()
        list(
            model.transcribe(
                span, language="en", word_timestamps=True, condition_on_previous_text=False
            )[0]
        )
        raw.append(time.perf_counter() - t)
    raw_p50 = common.percentile(raw, 50)
    p50, p95 = common.percentile(final_lat, 50), common.percentile(final_lat, 95)
    print(
        f"audio {len(audio) / 16000:.1f} s, {len(finals)} finals, trailing silence {opts.trailing_silence} s"
    )
    print(f"raw faster-whisper per utterance: p50 {raw_p50:.3f} s")
    print(f"end of speech -> final : p50 {p50:.3f} s  p95 {p95:.3f} s  (targets 1.0 / 1.6)")
    print(
        f"  ratio p50 / (trailing_silence + raw p50) = {p50 / (opts.trailing_silence + raw_p50):.2f}"
    )
    print(
        f"speech start -> first partial: p50 {common.percentile(partial_lat, 50):.3f} s "
        f"p95 {common.percentile(partial_lat, 95):.3f} s over {len(partial_lat)} segments"
    )
    print(f"partials requested {stream.partials_requested}, dropped {stream.partials_dropped}")
    ok = p50 <= 1.0 and p95 <= 1.6
    print("verdict:", "OK" if ok else "OVER TARGET")


if __name__ == "__main__":
    main()
