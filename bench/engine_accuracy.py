"""Word error rate of batch and streaming on the synthesised WER set.

tests/fixtures/audio/wer/recNN.ogg + recNN.txt: espeak-ng voices/speeds mixed with noise.
Baseline (same run): raw WhisperModel.transcribe with the same options.
Streaming is fed in 100 ms frames as fast as possible (no partials: accuracy only).

Run: .venv/bin/python bench/engine_accuracy.py  (target: streaming WER within 2 points of batch)
"""

from __future__ import annotations

import _engine_common as common
from faster_whisper import decode_audio

from sessions_app.engine import (
    NoUtterances,
    StreamingOptions,
    StreamingTranscriber,
    decode_file,
    get_model,
    transcribe,
)


def raw_text(model, path) -> str:
    segments, _ = model.transcribe(
        decode_audio(str(path)),
        language="en",
        condition_on_previous_text=False,
        word_timestamps=True,
        vad_filter=True,
    )
    return " ".join(s.text for s in segments)


def batch_text(path) -> str:
    try:
        return " ".join(u.text for u in transcribe(path))
    except NoUtterances:
        return ""


def streaming_text(path) -> str:
    pcm = common.pcm16(decode_file(path).mono())
    stream = StreamingTranscriber(StreamingOptions(partials=False))
    events = []
    for i in range(0, len(pcm), 3200):
        events += stream.feed_sync(pcm[i : i + 3200])
    events += stream.finish_sync()
    return " ".join(e.text for e in events if e.is_final)


def main() -> None:
    model = get_model()
    rows = {"raw": [], "batch": [], "streaming": []}
    for path, ref in common.wer_set():
        hyps = {
            "raw": raw_text(model, path),
            "batch": batch_text(path),
            "streaming": streaming_text(path),
        }
        for k, h in hyps.items():
            rows[k].append((ref, h))
        print(
            f"{path.name}: batch WER {common.wer([(ref, hyps['batch'])]):5.1f}  "
            f"streaming WER {common.wer([(ref, hyps['streaming'])]):5.1f}"
        )
        if hyps["batch"] != hyps["streaming"]:
            print(f"    ref: {ref}\n    bat: {hyps['batch']}\n    str: {hyps['streaming']}")
    w = {k: common.wer(v) for k, v in rows.items()}
    n_words = sum(len(common.normalize(r)) for r, _ in rows["raw"])
    print(f"{len(rows['raw'])} recordings, {n_words} reference words")
    print(f"raw faster-whisper WER {w['raw']:.1f}%")
    print(
        f"engine batch WER       {w['batch']:.1f}%  (batch - raw: {w['batch'] - w['raw']:+.1f} points)"
    )
    print(
        f"engine streaming WER   {w['streaming']:.1f}%  (streaming - batch: {w['streaming'] - w['batch']:+.1f} points)"
    )
    ok = w["streaming"] - w["batch"] <= 2.0
    print("verdict:", "OK" if ok else "OVER TARGET (streaming more than 2 points worse than batch)")


if __name__ == "__main__":
    main()
