"""Batch transcription of files and arrays into speaker-attributed utterances.

Long inputs are processed in pieces of ``PIECE_SECONDS`` decoded from disk (bounded
memory); each piece is cut at the quietest point of its last seconds so words are
not split between pieces. Two-channel recordings whose channels differ are
transcribed per channel (Speaker_0 = left, Speaker_1 = right) and merged by time;
identical channels (a mono source stored as stereo) give one speaker.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import BinaryIO

import numpy as np

from .asr import recognize
from .audio import SAMPLE_RATE, DecodedAudio, channels_identical, iter_decode
from .errors import NoUtterances
from .models import load_spec, resolve_model
from .scheduler import Priority, Scheduler, get_scheduler
from .types import TranscribeOptions, Utterance

PIECE_SECONDS = 300.0
_CUT_SEARCH_SECONDS = 5.0
BatchSource = str | os.PathLike[str] | BinaryIO | np.ndarray | DecodedAudio


def _quietest_cut(piece: np.ndarray) -> int:
    """Index in the last few seconds of ``piece`` (C, n) with the least energy (20 ms frames)."""
    n = piece.shape[1]
    search = min(n, int(_CUT_SEARCH_SECONDS * SAMPLE_RATE))
    frame = SAMPLE_RATE // 50
    tail = piece[:, n - search :].mean(axis=0)
    frames = len(tail) // frame
    if frames < 2:
        return n
    energy = (tail[: frames * frame].reshape(frames, frame) ** 2).mean(axis=1)
    return n - search + int(np.argmin(energy)) * frame + frame // 2


def iter_pieces(
    chunks: Iterable[np.ndarray], piece_seconds: float = PIECE_SECONDS
) -> Iterator[tuple[float, np.ndarray]]:
    """Regroup decoded (C, n) chunks into (offset_seconds, piece) cut at quiet points."""
    target = int(piece_seconds * SAMPLE_RATE)
    buf: np.ndarray | None = None
    offset = 0
    for chunk in chunks:
        buf = chunk if buf is None else np.concatenate([buf, chunk], axis=1)
        while buf.shape[1] >= target + int(_CUT_SEARCH_SECONDS * SAMPLE_RATE):
            cut = _quietest_cut(buf[:, :target])
            yield offset / SAMPLE_RATE, buf[:, :cut]
            offset += cut
            buf = buf[:, cut:]
    if buf is not None and buf.shape[1]:
        yield offset / SAMPLE_RATE, buf


def _as_chunks(source: BatchSource) -> Iterable[np.ndarray]:
    if isinstance(source, DecodedAudio):
        return [source.samples]
    if isinstance(source, np.ndarray):
        arr = source.astype(np.float32, copy=False)
        return [arr.reshape(1, -1) if arr.ndim == 1 else arr]
    return iter_decode(source, chunk_seconds=min(PIECE_SECONDS, 60.0))


def _segments_to_utterances(segments, speaker: str) -> list[Utterance]:
    return [
        Utterance(
            speaker=speaker,
            t_start=s.start,
            t_end=s.end,
            text=s.text,
            words=s.words,
            asr_confidence=round(s.confidence, 4),
        )
        for s in segments
    ]


def transcribe(
    source: BatchSource,
    options: TranscribeOptions | None = None,
    *,
    split_channels: bool = True,
) -> list[Utterance]:
    """Transcribe a file/array; raises NoUtterances when nothing was said.

    Runs in the calling thread: from async code use ``transcribe_async``.
    """
    opts = options or TranscribeOptions()
    spec = resolve_model(opts.model)  # raises ModelNotAvailable before any decoding
    model = load_spec(spec)
    language = opts.language or spec.language or ("en" if spec.english_only else None)
    utterances: list[Utterance] = []
    per_channel: bool | None = None
    for offset, piece in iter_pieces(_as_chunks(source)):
        if per_channel is None:  # decided once, on the first piece
            per_channel = split_channels and piece.shape[0] == 2 and not channels_identical(piece)
        if per_channel:
            channels = [(f"Speaker_{i}", piece[i]) for i in range(piece.shape[0])]
        else:
            mono = piece[0] if piece.shape[0] == 1 else piece.mean(axis=0).astype(np.float32)
            channels = [("Speaker_0", mono)]
        for speaker, audio in channels:
            segs = recognize(
                model,
                np.ascontiguousarray(audio),
                opts,
                language=language,
                offset=offset,
                vad_filter=True,
            )
            utterances.extend(_segments_to_utterances(segs, speaker))
    if not utterances:
        raise NoUtterances("no speech found in audio")
    utterances.sort(key=lambda u: (u.t_start, u.speaker))
    return utterances


async def transcribe_async(
    source: BatchSource,
    options: TranscribeOptions | None = None,
    *,
    split_channels: bool = True,
    scheduler: Scheduler | None = None,
) -> list[Utterance]:
    """``transcribe`` run on the shared scheduler (BATCH priority, behind finals).

    Raises EngineOverloaded when the queue is full.
    """
    sched = scheduler or get_scheduler()
    return await sched.run(
        lambda: transcribe(source, options, split_channels=split_channels), Priority.BATCH
    )
