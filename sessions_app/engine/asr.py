"""One recognition call on an in-memory array, with guards against Whisper failure modes.

Shared by batch and streaming so both apply the same rules:

* ``condition_on_previous_text=False``: a hallucination cannot feed the next window.
* Silence gate: faster-whisper drops a segment when ``no_speech_prob`` is high *and*
  ``avg_logprob`` is low; we also drop any segment whose ``avg_logprob`` is below a hard
  floor (confident-looking text on noise still has a poor log-prob).
* Repetition gate: segments over the compression-ratio threshold are dropped, and runs
  of the same 1-4 word n-gram repeated more than twice are collapsed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .types import TranscribeOptions, Word

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

MAX_REPEATS = 2  # "no, no" is speech; "no no no no no" from Whisper is a loop
_NORM = re.compile(r"[^\w']+")


@dataclass(frozen=True, slots=True)
class Segment:
    start: float
    end: float
    text: str
    words: tuple[Word, ...]
    avg_logprob: float
    no_speech_prob: float

    @property
    def confidence(self) -> float:
        if self.words:
            return float(sum(w.confidence for w in self.words) / len(self.words))
        return float(math.exp(min(0.0, self.avg_logprob)))


def _norm(word: str) -> str:
    return _NORM.sub("", word.lower())


def collapse_repeats(words: list[Word], max_repeats: int = MAX_REPEATS) -> list[Word]:
    """Drop consecutive repetitions of any 1-4 word n-gram beyond ``max_repeats``."""
    out = list(words)
    for n in (1, 2, 3, 4):
        i = 0
        while i + n <= len(out):
            gram = [_norm(w.word) for w in out[i : i + n]]
            reps = 1
            j = i + n
            while j + n <= len(out) and [_norm(w.word) for w in out[j : j + n]] == gram:
                reps += 1
                j += n
            if reps > max_repeats and any(gram):
                del out[i + n * max_repeats : j]
            i += 1
    return out


def collapse_text_repeats(text: str, max_repeats: int = MAX_REPEATS) -> str:
    words = [Word(w, 0.0, 0.0, 1.0) for w in text.split()]
    return " ".join(w.word for w in collapse_repeats(words, max_repeats))


def recognize(
    model: WhisperModel,
    audio: np.ndarray,
    opts: TranscribeOptions,
    *,
    language: str | None = None,
    offset: float = 0.0,
    vad_filter: bool = False,
    prefix: str | None = None,
    beam_size: int | None = None,
    word_timestamps: bool | None = None,
) -> list[Segment]:
    """Transcribe a 16 kHz mono float32 array; times are shifted by ``offset`` seconds."""
    vad_parameters = None
    if vad_filter:
        vad_parameters = {
            "min_silence_duration_ms": opts.vad_min_silence_ms,
            "speech_pad_ms": opts.vad_speech_pad_ms,
        }
    want_words = opts.word_timestamps if word_timestamps is None else word_timestamps
    segments, _info = model.transcribe(
        audio,
        language=language or opts.language,
        beam_size=beam_size or opts.beam_size,
        condition_on_previous_text=False,
        compression_ratio_threshold=opts.compression_ratio_threshold,
        log_prob_threshold=opts.log_prob_threshold,
        no_speech_threshold=opts.no_speech_threshold,
        word_timestamps=want_words,
        vad_filter=vad_filter,
        vad_parameters=vad_parameters,
        hotwords=opts.hotwords_text() if prefix is None else None,
        prefix=prefix or None,
    )
    out: list[Segment] = []
    for seg in segments:  # a generator: decoding happens while iterating
        if seg.avg_logprob < opts.hard_log_prob_floor:
            continue
        if (
            opts.compression_ratio_threshold is not None
            and seg.compression_ratio > opts.compression_ratio_threshold
        ):
            continue
        if (
            seg.no_speech_prob > opts.no_speech_threshold
            and seg.avg_logprob < opts.log_prob_threshold
        ):
            continue
        words: list[Word] = []
        for w in seg.words or ():
            words.append(
                Word(
                    w.word.strip(),
                    round(w.start + offset, 3),
                    round(w.end + offset, 3),
                    round(float(w.probability), 4),
                )
            )
        words = [w for w in words if w.word]
        if words:
            words = collapse_repeats(words)
            text = " ".join(w.word for w in words)
            start, end = words[0].start, words[-1].end
        else:
            text = collapse_text_repeats(seg.text.strip())
            start, end = round(seg.start + offset, 3), round(seg.end + offset, 3)
        if not text:
            continue
        out.append(Segment(start, end, text, tuple(words), seg.avg_logprob, seg.no_speech_prob))
    return out
