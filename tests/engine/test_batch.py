from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from sessions_app.engine import (
    Hotword,
    ModelNotAvailable,
    NoUtterances,
    TranscribeOptions,
    transcribe,
    transcribe_async,
)
from sessions_app.engine.asr import collapse_text_repeats
from tests.support.audio import JFK_REFERENCE, words_of

SHARED_HOTWORDS = Path("/work/shared/audio/hotwords.mp3")


def test_jfk_is_transcribed_word_for_word(fixtures, model):
    utterances = transcribe(fixtures / "jfk.ogg")
    text = " ".join(u.text for u in utterances)
    assert words_of(text) == words_of(JFK_REFERENCE)
    words = [w for u in utterances for w in u.words]
    assert [w.word.lower().strip(",.") for w in words] == words_of(JFK_REFERENCE)
    assert all(0.0 <= w.start <= w.end <= 11.1 for w in words)
    assert all(0.0 < w.confidence <= 1.0 for w in words)
    assert {u.speaker for u in utterances} == {"Speaker_0"}
    assert all(u.asr_confidence > 0.5 for u in utterances)


def test_silence_gives_no_utterances(model):
    with pytest.raises(NoUtterances):
        transcribe(np.zeros(16000 * 5, dtype=np.float32))


def test_noise_gives_no_utterances(model):
    noise = np.random.default_rng(1).normal(0, 0.05, 16000 * 5).astype(np.float32)
    with pytest.raises(NoUtterances):
        transcribe(noise)


def test_two_channel_file_gives_two_speakers(fixtures, model):
    utterances = transcribe(fixtures / "two_speakers.flac")
    assert {u.speaker for u in utterances} == {"Speaker_0", "Speaker_1"}
    left = " ".join(u.text for u in utterances if u.speaker == "Speaker_0").lower()
    right = " ".join(u.text for u in utterances if u.speaker == "Speaker_1").lower()
    assert "wizard" in left and "curtain" in left
    assert "horizon" in right and "distant" in right
    assert [u.t_start for u in utterances] == sorted(u.t_start for u in utterances)


def test_identical_channels_give_one_speaker(fixtures, model):
    from sessions_app.engine import decode_file

    mono = decode_file(fixtures / "speech.ogg").mono()
    utterances = transcribe(np.stack([mono, mono]))
    assert {u.speaker for u in utterances} == {"Speaker_0"}
    assert "help you today" in " ".join(u.text for u in utterances).lower()


def test_compressed_upload_is_transcribed(fixtures, model):
    text = " ".join(u.text for u in transcribe(fixtures / "speech.mp3")).lower()
    assert "thank you for calling" in text


def test_unknown_model_fails_before_decoding(fixtures):
    with pytest.raises(ModelNotAvailable, match=r"^model 'nope' is not available$"):
        transcribe(fixtures / "speech.wav", TranscribeOptions(model="nope"))


def test_repetition_loops_are_collapsed():
    assert collapse_text_repeats("thank you thank you thank you thank you") == "thank you thank you"
    assert collapse_text_repeats("no no no no no no") == "no no"
    assert collapse_text_repeats("ask not what your country") == "ask not what your country"


def test_async_batch_runs_on_the_scheduler(fixtures, model):
    utterances = asyncio.run(transcribe_async(fixtures / "speech.ogg"))
    assert "help you today" in " ".join(u.text for u in utterances).lower()


@pytest.mark.skipif(not SHARED_HOTWORDS.exists(), reason="shared hotwords recording not present")
def test_hotwords_bias_recognition_towards_the_phrase(model):
    opts = TranscribeOptions(hotwords=[Hotword("ComfyUI", 2.5)])
    text = " ".join(u.text for u in transcribe(SHARED_HOTWORDS, opts))
    assert "comfyui" in text.lower().replace(" ", "")


def test_hotwords_become_a_prompt_with_heavier_phrases_repeated():
    opts = TranscribeOptions(hotwords=[Hotword("ComfyUI"), Hotword("Parlance", 4.5)])
    assert opts.hotwords_text() == "ComfyUI, Parlance, Parlance"
    assert TranscribeOptions().hotwords_text() is None


def test_long_input_is_cut_into_pieces_at_quiet_points():
    from sessions_app.engine.batch import iter_pieces

    rng = np.random.default_rng(2)
    loud = rng.normal(0, 0.3, (1, 16000 * 25)).astype(np.float32)
    loud[:, 16000 * 8 : 16000 * 8 + 1600] = 0.0  # a 100 ms pause at 8 s
    chunks = np.array_split(loud, 13, axis=1)
    pieces = list(iter_pieces(chunks, piece_seconds=10.0))
    assert len(pieces) >= 2
    offset, first = pieces[0]
    assert offset == 0.0 and 8.0 <= first.shape[1] / 16000 <= 8.1
    assert sum(p.shape[1] for _, p in pieces) == loud.shape[1]
    assert [o for o, _ in pieces] == sorted(o for o, _ in pieces)
