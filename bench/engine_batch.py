"""Batch overhead: engine.transcribe vs raw WhisperModel.transcribe, same model/options/files.

Run: .venv/bin/python bench/engine_batch.py   (target: time ratio <= 1.10)
"""

from __future__ import annotations

import time

import _engine_common as common
from faster_whisper import decode_audio

from sessions_app.engine import TranscribeOptions, decode_file, get_model, transcribe

ROUNDS = 3


def raw_transcribe(model, path, opts: TranscribeOptions) -> str:
    # Exactly what the engine asks faster-whisper for, minus the engine around it.
    segments, _ = model.transcribe(
        decode_audio(str(path)),
        language="en",
        beam_size=opts.beam_size,
        condition_on_previous_text=False,
        compression_ratio_threshold=opts.compression_ratio_threshold,
        log_prob_threshold=opts.log_prob_threshold,
        no_speech_threshold=opts.no_speech_threshold,
        word_timestamps=True,
        vad_filter=True,
        vad_parameters={
            "min_silence_duration_ms": opts.vad_min_silence_ms,
            "speech_pad_ms": opts.vad_speech_pad_ms,
        },
    )
    return " ".join(s.text.strip() for s in segments)


def main() -> None:
    files = [p for p, _ in common.wer_set()] + [common.FIXTURES / "jfk.ogg"]
    if (common.SHARED / "jfk.flac").exists():
        files.append(common.SHARED / "jfk.flac")
    audio_seconds = sum(decode_file(p).duration for p in files)
    opts = TranscribeOptions()
    model = get_model()
    raw_transcribe(model, files[0], opts)  # warm-up both paths
    transcribe(files[0], opts)
    raw_t = engine_t = 0.0
    for r in range(ROUNDS):  # alternate the order so drift/noise hits both alike
        for first in ("raw", "engine") if r % 2 == 0 else ("engine", "raw"):
            t0 = time.perf_counter()
            for p in files:
                if first == "raw":
                    raw_transcribe(model, p, opts)
                else:
                    transcribe(p, opts)
            dt = time.perf_counter() - t0
            if first == "raw":
                raw_t += dt
            else:
                engine_t += dt
    total_audio = audio_seconds * ROUNDS
    print(f"files: {len(files)}, audio per round: {audio_seconds:.1f} s, rounds: {ROUNDS}")
    print(f"raw faster-whisper : {raw_t:7.2f} s  RTF {raw_t / total_audio:.3f}")
    print(f"engine batch       : {engine_t:7.2f} s  RTF {engine_t / total_audio:.3f}")
    ratio = engine_t / raw_t
    verdict = "OK" if ratio <= 1.10 else "OVER TARGET"
    print(f"time ratio engine/raw: {ratio:.3f} (target <= 1.10) {verdict}")


if __name__ == "__main__":
    main()
